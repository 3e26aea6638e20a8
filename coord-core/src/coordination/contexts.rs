//! A daemon's and an initialiser's reach into the service they run in: the
//! coordinators and the event bus, through the `Coordination` handle.
//!
//! These methods of `DaemonContext` and `InitContext` live here, with the
//! handle, because the contexts (`interface`) sit below the handle and
//! cannot name it.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Coordination;
use crate::bootstrap::NotInitialized;
use crate::events::{PublishedBy, Publisher};
use crate::interface::{
    BoxFuture, Coordinator, DaemonConfig, DaemonContext, InitContext, ReadyWatch,
};

impl DaemonContext {
    /// A context with the daemon's config and the coordinators it can reach.
    pub fn with(
        name: &'static str,
        cancel: CancellationToken,
        config: DaemonConfig,
        coordination: Option<Coordination>,
    ) -> (Self, ReadyWatch) {
        let service = coordination.map(|c| Arc::new(c) as _);
        Self::in_service(name, cancel, Arc::new(config), service, None)
    }
}

impl<D: ?Sized> DaemonContext<D> {
    /// The coordination this daemon runs under, if any.
    pub fn coordination(&self) -> Option<&Coordination> {
        self.service()?.downcast_ref::<Coordination>()
    }

    /// An initialised coordinator, or why it is not there.
    pub fn coordinator<T: Coordinator>(&self) -> Result<Arc<T>, NotInitialized> {
        match self.coordination() {
            Some(coordination) => coordination.get::<T>(),
            None => Err(NotInitialized::NotEnabled {
                type_name: std::any::type_name::<T>(),
            }),
        }
    }

    /// Publishes `event`, which this daemon declares in `publishes = [...]`,
    /// with the daemon as its source.
    pub fn publish<E: PublishedBy<D>>(&self, event: E) -> BoxFuture<'static, ()> {
        Publisher::<D>::new(self.coordination().map(Coordination::events), self.name())
            .publish(event)
    }
}

impl<C> InitContext<'_, C> {
    /// A publisher of the events this coordinator declares in
    /// `publishes = [...]`: keep it in the coordinator to publish from its
    /// handlers and tasks. Events carry the coordinator's name as source.
    pub fn publisher(&self) -> Publisher<C> {
        let service = self.service();
        let coordination = service
            .as_ref()
            .and_then(|s| s.downcast_ref::<Coordination>());
        Publisher::new(coordination.map(Coordination::events), self.name())
    }

    /// Publishes `event`, which this coordinator declares in `publishes = [...]`.
    pub fn publish<E: PublishedBy<C>>(&self, event: E) -> BoxFuture<'static, ()> {
        self.publisher().publish(event)
    }
}
