//! The coordinator trait and what an initialiser can reach.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::BoxError;
use crate::static_check::NodeRef;

/// A component initialised once at bootstrap, after its `depends_on` list.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Coordinator`",
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

/// Implemented by `#[coordinator]`: the item's name and compile-time graph node.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a coordinator",
    label = "not a `#[coordinator]` type",
    note = "only types marked `#[coordinator(...)]` can be named in a coordinator's `depends_on`; add `#[coordinator]` to `{Self}` or remove it from the list"
)]
pub trait CoordinatorNode: 'static {
    /// The snake_case name used in config, on the CLI and in logs.
    const NAME: &'static str;
    /// The node the compile-time cycle check walks.
    const NODE: NodeRef;
}

/// Implemented by `#[coordinator(depends_on = [T])]` for each declared `T`.
#[diagnostic::on_unimplemented(
    message = "coordinator `{Self}` does not declare a dependency on `{T}`",
    label = "`{T}` is not in the `depends_on` list of `{Self}`",
    note = "add `{T}` to `#[coordinator(depends_on = [...])]` on `{Self}`: only declared dependencies are initialised before it"
)]
pub trait DependsOn<T> {}

/// Initialised coordinators, by type.
#[derive(Default, Clone)]
pub struct Instances {
    by_type: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Instances {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an initialised coordinator, replacing one of the same type.
    pub fn insert_erased(&mut self, type_id: TypeId, instance: Arc<dyn Any + Send + Sync>) {
        self.by_type.insert(type_id, instance);
    }

    /// Removes the coordinator of `type_id`, returning it.
    pub fn remove_erased(&mut self, type_id: TypeId) -> Option<Arc<dyn Any + Send + Sync>> {
        self.by_type.remove(&type_id)
    }

    /// The coordinator of type `T`, if initialised.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.by_type
            .get(&TypeId::of::<T>())
            .and_then(|any| Arc::clone(any).downcast::<T>().ok())
    }

    /// Whether a coordinator of `type_id` is present.
    pub fn contains(&self, type_id: TypeId) -> bool {
        self.by_type.contains_key(&type_id)
    }

    /// Removes every coordinator.
    pub fn clear(&mut self) {
        self.by_type.clear();
    }
}

/// What the initializer of coordinator `C` can reach: its declared dependencies.
pub struct InitContext<'a, C> {
    instances: &'a Instances,
    _coordinator: PhantomData<fn() -> C>,
}

impl<'a, C: CoordinatorNode> InitContext<'a, C> {
    /// A context over already-initialised coordinators.
    pub fn new(instances: &'a Instances) -> Self {
        Self {
            instances,
            _coordinator: PhantomData,
        }
    }

    /// The name of the coordinator being initialised.
    pub fn name(&self) -> &'static str {
        C::NAME
    }

    /// A declared dependency, already initialised.
    pub fn dep<T: Coordinator>(&self) -> Arc<T>
    where
        C: DependsOn<T>,
    {
        match self.instances.get::<T>() {
            Some(dep) => dep,
            // Bootstrap runs an initializer only once every declared dependency is in
            // `instances`, and `DependsOn` proves T is declared: reaching this is a coord bug.
            None => panic!(
                "coord bug: `{}` was initialised before its dependency `{}`",
                C::NAME,
                std::any::type_name::<T>()
            ),
        }
    }
}
