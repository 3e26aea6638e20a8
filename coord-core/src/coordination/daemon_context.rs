//! A daemon's reach into the service it runs in: the coordinators and the
//! event bus, through the `Coordination` handle its context carries.
//!
//! These methods of `DaemonContext` live here, with the handle, because the
//! daemon contract (`interface`) sits below the handle and cannot name it.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Coordination;
use crate::bootstrap::NotInitialized;
use crate::events::Event;
use crate::interface::{Coordinator, DaemonConfig, DaemonContext, ReadyWatch};

impl DaemonContext {
    /// A context with the daemon's config and the coordinators it can reach.
    pub fn with(
        name: &'static str,
        cancel: CancellationToken,
        config: DaemonConfig,
        coordination: Option<Coordination>,
    ) -> (Self, ReadyWatch) {
        let service = coordination.map(|c| Arc::new(c) as _);
        Self::in_service(name, cancel, config, service, None)
    }

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

    /// Publishes `event` with this daemon as its source.
    pub async fn publish<E: Event>(&self, event: E) {
        if let Some(coordination) = self.coordination() {
            coordination.events().publish_from(self.name(), event).await;
        }
    }
}
