//! The coordinator contract: the trait you implement, what `#[coordinator]`
//! implements, and what an initialiser can reach.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use super::EventRef;
use super::daemon::{Service, ServiceLink};
use super::node::CoordNodeRef;
use crate::error::BoxError;
use crate::location::Location;
use crate::util::{self, TypeIdHash};

/// An initialised coordinator, erased.
pub type AnyCoordinator = Arc<dyn Any + Send + Sync>;

/// A component initialised once at bootstrap, after its `depends_on` list.
#[diagnostic::on_unimplemented(
    message = "[coord::E0012] `{Self}` does not implement `Coordinator`",
    label = "missing `impl Coordinator for {Self}`",
    note = "every `#[coordinator]` type needs an initializer:\n      impl Coordinator for {Self} {{\n          async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {{ /* build it */ }}\n      }}"
)]
pub trait Coordinator: Sized + Send + Sync + 'static {
    /// Builds the coordinator; its declared dependencies are reachable through `ctx`.
    fn initialize(
        ctx: &InitContext<'_, Self>,
    ) -> impl Future<Output = Result<Self, BoxError>> + Send;

    /// Releases what `initialize` acquired; awaited at shutdown and reset.
    fn shutdown(&self) -> impl Future<Output = Result<(), BoxError>> + Send {
        async { Ok(()) }
    }
}

/// Implemented by `#[coordinator]`: what the item is called and how it is linked.
///
/// Every item here comes from the struct's own definition, so a coordinator
/// named through an alias, a re-export or a macro fragment is the same
/// coordinator.
#[diagnostic::on_unimplemented(
    message = "[coord::E0010] `{Self}` is not a coordinator",
    label = "not a `#[coordinator]` type",
    note = "only types marked `#[coordinator]` can be listed in a coordinator's `depends_on` or reached with `ctx.dep::<T>()`",
    note = "a daemon is never a coordinator's dependency (every coordinator is initialised before any daemon starts); a type from another crate cannot be a coordinator here"
)]
pub trait RegisteredCoordinator: Send + Sync + 'static {
    /// The coordinator type itself (lets bounds on it be checked only once it is a coordinator).
    #[doc(hidden)]
    type Itself: ?Sized;
    /// The default runtime name: snake_case of the struct, or `#[coordinator(name = "...")]`.
    const NAME: &'static str;
    /// The struct's name as written.
    const TYPE_NAME: &'static str;
    /// Where the struct is declared (module path, file, line).
    const LOCATION: Location;
    /// Identity of the struct (a hash of its full path).
    #[doc(hidden)]
    const ID: u64;
    /// Identities of the `depends_on` entries, in the order written.
    #[doc(hidden)]
    const DEP_IDS: &'static [u64];
    /// The node the compile-time checks walk.
    #[doc(hidden)]
    const NODE: CoordNodeRef;
    /// The events it declares it publishes (`publishes = [...]`).
    const PUBLISHES: &'static [EventRef] = &[];
}

/// Implemented by `#[coordinator(depends_on = [T])]` for each `T` it declares,
/// as `T: DependencyOf<ThatCoordinator>`.
///
/// `REPEAT` is 0 except for an entry that repeats an earlier one under another
/// spelling; that mistake is reported by the compile-time check instead of a
/// conflict between two impls.
#[diagnostic::on_unimplemented(
    message = "[coord::E0011] coordinator `{C}` does not declare a dependency on `{Self}`",
    label = "`{Self}` is not in the `depends_on` list of `{C}`",
    note = "add `{Self}` to `#[coordinator(depends_on = [...])]` on `{C}`: only declared dependencies are initialised before it"
)]
pub trait DependencyOf<C: ?Sized, const REPEAT: usize = 0> {}

/// Initialised coordinators, shared by concurrent initialisers.
///
/// Keyed by name (what bootstrap manages) with an index by type (what
/// `ctx.dep::<T>()` and `get::<T>()` ask for).
#[derive(Default)]
pub struct Instances {
    maps: RwLock<InstanceMaps>,
    /// The service the coordinators run in, for initialisers' publishers.
    service: std::sync::OnceLock<Arc<dyn ServiceLink>>,
}

#[derive(Default)]
struct InstanceMaps {
    by_name: HashMap<&'static str, (TypeId, AnyCoordinator)>,
    by_type: HashMap<TypeId, AnyCoordinator, TypeIdHash>,
}

impl std::fmt::Debug for Instances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let maps = self.read();
        f.debug_set().entries(maps.by_name.keys()).finish()
    }
}

impl Instances {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `coordinators` without growing.
    pub fn with_capacity(coordinators: usize) -> Self {
        Self {
            maps: RwLock::new(InstanceMaps {
                by_name: HashMap::with_capacity(coordinators),
                by_type: HashMap::with_capacity_and_hasher(coordinators, TypeIdHash),
            }),
            service: std::sync::OnceLock::new(),
        }
    }

    // Each update is one insert or remove, so a panic elsewhere cannot leave
    // the maps half-updated.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, InstanceMaps> {
        util::read(&self.maps)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, InstanceMaps> {
        util::write(&self.maps)
    }

    /// Links the service these instances belong to (once).
    pub(crate) fn link_service(&self, link: Arc<dyn ServiceLink>) {
        let _ = self.service.set(link);
    }

    /// The service these instances belong to, while it is alive.
    pub(crate) fn service(&self) -> Option<Service> {
        self.service.get()?.service()
    }

    /// Adds the initialised coordinator `name`, replacing an earlier instance.
    pub fn insert(&self, name: &'static str, type_id: TypeId, instance: AnyCoordinator) {
        let mut maps = self.write();
        maps.by_type.insert(type_id, Arc::clone(&instance));
        maps.by_name.insert(name, (type_id, instance));
    }

    /// Removes coordinator `name`, returning its instance.
    pub fn remove(&self, name: &str) -> Option<AnyCoordinator> {
        let mut maps = self.write();
        let (type_id, instance) = maps.by_name.remove(name)?;
        if maps
            .by_type
            .get(&type_id)
            .is_some_and(|current| Arc::ptr_eq(current, &instance))
        {
            maps.by_type.remove(&type_id);
        }
        Some(instance)
    }

    /// The instance of coordinator `name`.
    pub fn get_by_name(&self, name: &str) -> Option<AnyCoordinator> {
        self.read().by_name.get(name).map(|(_, i)| Arc::clone(i))
    }

    /// The coordinator of type `T`, if initialised.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let instance = Arc::clone(self.read().by_type.get(&TypeId::of::<T>())?);
        instance.downcast::<T>().ok()
    }

    /// How many coordinators are initialised.
    pub fn len(&self) -> usize {
        self.read().by_name.len()
    }

    /// Whether none is initialised.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every coordinator.
    pub fn clear(&self) {
        let mut maps = self.write();
        maps.by_name.clear();
        maps.by_type.clear();
    }
}

/// A coordinator's configuration: its `[coordinators.NAME]` table of the
/// config file, or a value given to the builder.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinatorConfig {
    /// The table.
    pub table: toml::Table,
    /// Where it came from, for messages: `[coordinators.store] in /srv/coord.toml`.
    pub origin: String,
}

/// A coordinator's configuration did not deserialise into the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "[coord::E0206] coordinator '{coordinator}': its configuration ({origin}) is not a `{type_name}`: {}{problem}; \
     fix the table, or the type's fields (`Option` or `#[serde(default)]` for keys that may be missing)",
    .key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default()
)]
pub struct ConfigError {
    /// The coordinator.
    pub coordinator: &'static str,
    /// Where the table came from, e.g. `[coordinators.store] in /srv/coord.toml`.
    pub origin: String,
    /// The type asked for.
    pub type_name: &'static str,
    /// The key at fault, when one is.
    pub key: Option<String>,
    /// What is wrong with it.
    pub problem: String,
}

/// What the initializer of coordinator `C` can reach: its declared
/// dependencies and its configuration.
pub struct InitContext<'a, C> {
    instances: &'a Instances,
    name: &'static str,
    config: Option<&'a CoordinatorConfig>,
    _coordinator: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for InitContext<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitContext")
            .field("coordinator", &self.name)
            .finish_non_exhaustive()
    }
}

impl<'a, C> InitContext<'a, C> {
    /// A context over already-initialised coordinators, for the coordinator called `name`.
    pub fn new(instances: &'a Instances, name: &'static str) -> Self {
        Self {
            instances,
            name,
            config: None,
            _coordinator: PhantomData,
        }
    }

    /// The same context with this coordinator's configuration.
    pub fn with_config(mut self, config: Option<&'a CoordinatorConfig>) -> Self {
        self.config = config;
        self
    }

    /// The coordinator's configuration as `T`: its `[coordinators.NAME]`
    /// table (an empty one when there is none, so `T`'s defaults apply).
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let (table, origin) = match self.config {
            Some(config) => (config.table.clone(), config.origin.clone()),
            None => (toml::Table::new(), "no configuration given".to_owned()),
        };
        table.try_into().map_err(|error: toml::de::Error| {
            let message = error.to_string().trim().to_owned();
            // toml names the key on a last line: "... \nin `batch_size`".
            let (problem, key) = match message.rsplit_once("\nin `") {
                Some((problem, key)) => (
                    problem.trim().to_owned(),
                    Some(key.trim_end_matches('`').to_owned()),
                ),
                None => (message, None),
            };
            ConfigError {
                coordinator: self.name,
                origin,
                type_name: std::any::type_name::<T>(),
                key,
                problem,
            }
        })
    }

    /// The runtime name of the coordinator being initialised.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The service it is initialised in (erased; see `Instances::service`).
    pub(crate) fn service(&self) -> Option<Service> {
        self.instances.service()
    }

    /// A declared dependency, already initialised.
    pub fn dep<T: RegisteredCoordinator>(&self) -> Arc<T>
    where
        T::Itself: DependencyOf<C>,
    {
        match self.instances.get::<T>() {
            Some(dep) => dep,
            // Bootstrap runs an initializer only once every declared dependency is in
            // `instances`, and `DependencyOf` proves T is declared: reaching this is a coord bug.
            None => panic!(
                "coord bug: `{}` was initialised before its dependency `{}`",
                self.name,
                T::TYPE_NAME
            ),
        }
    }
}
