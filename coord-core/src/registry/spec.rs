//! What the registry lists: one spec per daemon entry, per `DaemonType`
//! enum and per coordinator, and the registrations the macros submit.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use crate::error::BoxError;
use crate::interface::{
    AnyCoordinator, BoxFuture, CoordNodeRef, Coordinator, CoordinatorConfig, DaemonGraph,
    DaemonOptions, EventRef, InitContext, Instances, RegisteredCoordinator, RunnerFn,
};
use crate::location::Location;

type InitFn = fn(
    Arc<Instances>,
    &'static str,
    Option<Arc<CoordinatorConfig>>,
) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>>;
type ShutdownFn = for<'a> fn(&'a (dyn Any + Send + Sync)) -> BoxFuture<'a, Result<(), BoxError>>;

/// One daemon, as the registry lists it: its entry, named by its enum.
#[derive(Debug)]
pub struct DaemonSpec {
    /// snake_case name, e.g. `auto_sync`.
    pub name: &'static str,
    /// The enum the variant belongs to, e.g. `DaemonType`.
    pub kind: &'static str,
    /// The variant as written, e.g. `AutoSync`.
    pub variant: &'static str,
    /// Names of daemons that must be ready before this one starts.
    pub depends_on: &'static [&'static str],
    /// Names of daemons that, when enabled, start before this one.
    pub soft_depends_on: &'static [&'static str],
    /// Free-form grouping, e.g. `sync`.
    pub category: Option<&'static str>,
    /// The settings its attribute gives; the builder's defaults fill the
    /// rest, and the config file and the builder may override them.
    pub options: DaemonOptions,
    /// Runs the daemon.
    pub runner: RunnerFn,
    /// The events it declares it publishes (`publishes = [...]`).
    pub publishes: &'static [EventRef],
    /// Where the entry was declared.
    pub location: Location,
}

/// One `#[derive(DaemonType)]` enum, registered by the derive.
#[derive(Debug)]
pub struct DaemonKindSpec {
    /// The enum's name, e.g. `DaemonType`.
    pub type_name: &'static str,
    /// The enum's type, which identifies it (two enums may share a name).
    pub type_id: fn() -> TypeId,
    /// Its variants and their entries.
    pub graph: &'static DaemonGraph,
    /// Where the enum was declared.
    pub location: Location,
}

impl DaemonKindSpec {
    /// Variants as written, in declaration order.
    pub fn variants(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.graph.nodes.iter().map(|n| n.get().variant())
    }

    /// snake_case names, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.graph.nodes.iter().map(|n| n.get().name())
    }
}

/// One `#[coordinator]` type as the registry lists it.
pub struct CoordinatorSpec {
    /// The runtime name, e.g. `data_pipeline_orchestrator`; qualified with its
    /// module path when two linked coordinators would otherwise share it.
    pub name: &'static str,
    /// The struct's name as written.
    pub type_name: &'static str,
    /// Runtime names of the coordinators initialised before this one.
    pub depends_on: &'static [&'static str],
    /// Where the type was declared.
    pub location: Location,
    /// The events it declares it publishes (`publishes = [...]`).
    pub publishes: &'static [EventRef],
    pub(super) type_id: fn() -> TypeId,
    pub(super) init: InitFn,
    pub(super) shutdown: ShutdownFn,
}

impl fmt::Debug for CoordinatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoordinatorSpec")
            .field("name", &self.name)
            .field("depends_on", &self.depends_on)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl CoordinatorSpec {
    /// A spec for coordinator type `C` under a name and dependency list of
    /// your choosing, for programs that assemble coordinator sets at run time
    /// (plugins, tests, benchmarks). `#[coordinator]` is the usual way.
    pub fn named<C: Coordinator + RegisteredCoordinator>(
        name: &'static str,
        depends_on: &'static [&'static str],
        location: Location,
    ) -> Self {
        Self {
            name,
            type_name: C::TYPE_NAME,
            depends_on,
            location,
            publishes: C::PUBLISHES,
            type_id: TypeId::of::<C>,
            init: init_erased::<C>,
            shutdown: shutdown_erased::<C>,
        }
    }

    /// The `TypeId` of the coordinator type it registers.
    pub fn instance_type(&self) -> TypeId {
        (self.type_id)()
    }

    /// Runs the initializer against already-initialised dependencies, with
    /// the coordinator's configuration if it has one.
    pub fn initialize(
        &self,
        instances: Arc<Instances>,
        config: Option<Arc<CoordinatorConfig>>,
    ) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
        (self.init)(instances, self.name, config)
    }

    /// Runs the coordinator's shutdown hook on an instance built by [`Self::initialize`].
    pub fn shutdown<'a>(
        &self,
        instance: &'a (dyn Any + Send + Sync),
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        (self.shutdown)(instance)
    }
}

/// What `#[coordinator]` registers; the registry turns it into a [`CoordinatorSpec`].
pub struct CoordinatorRegistration {
    pub(super) node: CoordNodeRef,
    pub(super) name: &'static str,
    pub(super) publishes: &'static [EventRef],
    pub(super) type_id: fn() -> TypeId,
    pub(super) init: InitFn,
    pub(super) shutdown: ShutdownFn,
}

impl fmt::Debug for CoordinatorRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoordinatorRegistration")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CoordinatorRegistration {
    /// The registration of coordinator `C`; `#[coordinator]` calls this.
    pub const fn of<C: Coordinator + RegisteredCoordinator>() -> Self {
        Self {
            node: C::NODE,
            name: C::NAME,
            publishes: C::PUBLISHES,
            type_id: TypeId::of::<C>,
            init: init_erased::<C>,
            shutdown: shutdown_erased::<C>,
        }
    }
}

fn init_erased<C: Coordinator>(
    instances: Arc<Instances>,
    name: &'static str,
    config: Option<Arc<CoordinatorConfig>>,
) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
    Box::pin(async move {
        let ctx = InitContext::<C>::new(&instances, name).with_config(config.as_deref());
        let instance = C::initialize(&ctx).await?;
        Ok(Arc::new(instance) as AnyCoordinator)
    })
}

fn shutdown_erased<C: Coordinator>(
    instance: &(dyn Any + Send + Sync),
) -> BoxFuture<'_, Result<(), BoxError>> {
    match instance.downcast_ref::<C>() {
        Some(instance) => Box::pin(instance.shutdown()),
        None => Box::pin(async {
            Err(format!(
                "coord bug: shutdown of `{}` was given another type",
                std::any::type_name::<C>()
            )
            .into())
        }),
    }
}

inventory::collect!(DaemonKindSpec);
inventory::collect!(CoordinatorRegistration);
