//! The `Coordination` handle: the one place that composes bootstrap,
//! daemons and events into a service. Its methods delegate; the work is in
//! those folders. The handle also wires coordinators' event handlers as they
//! come and go (`wiring.rs`) and gives daemons' contexts their reach into
//! the service (`contexts.rs`).
//!
//! May use: `bootstrap`, `daemons`, `events`, and what they use. Only `store`
//! and `cli` sit above it.

mod builder;
mod cluster;
mod contexts;
mod event_wiring;
mod run;
mod wiring;

use std::sync::{Arc, OnceLock, Weak};

pub use builder::CoordinationBuilder;
pub use event_wiring::{
    EventWiring, UnhandledEvent, event_wiring, unhandled_events, validate_registry,
};
pub use run::{RunReport, shutdown_signal};
pub use wiring::SubscriptionStatus;

use crate::bootstrap::{
    BootstrapReport, BootstrapStatus, Bootstrapper, NotInitialized, ShutdownReport,
};
use crate::daemons::{DaemonManager, DaemonManagerNotStarted, DaemonPlan};
use crate::error::UnknownName;
use crate::events::{Event, EventBus};
use crate::interface::{ClusterLink, Coordinator, Instances, Service, ServiceLink};
use wiring::Wiring;

#[derive(Debug)]
struct Inner {
    bootstrap: Bootstrapper,
    daemon_plan: Arc<DaemonPlan>,
    manager: OnceLock<DaemonManager>,
    bus: EventBus,
    /// The cluster, in cluster mode.
    cluster: Option<Arc<dyn ClusterLink>>,
    /// When this handle was built, for the node's heartbeat.
    started_ms: u64,
}

/// The handle to a service: its coordinators, daemons and events.
#[derive(Debug, Clone)]
pub struct Coordination {
    inner: Arc<Inner>,
}

/// How the daemon manager, which the handle owns, reaches the handle
/// without keeping it alive: daemons get a strong handle only while they run.
#[derive(Debug)]
struct WeakCoordination(Weak<Inner>);

impl ServiceLink for WeakCoordination {
    fn service(&self) -> Option<Service> {
        let inner = self.0.upgrade()?;
        Some(Arc::new(Coordination { inner }))
    }
}

impl Coordination {
    /// A builder over every registered coordinator.
    pub fn builder() -> CoordinationBuilder {
        CoordinationBuilder::default()
    }

    fn wiring(&self) -> Wiring<'_> {
        Wiring::new(&self.inner.bus, &self.inner.bootstrap)
    }

    /// Starts the daemon manager (once; later calls return the same one).
    ///
    /// Starting the manager starts no daemon: call `start_all()`,
    /// `start_profile()` or `start()` on it.
    pub fn start_daemon_manager(&self) -> DaemonManager {
        self.inner
            .manager
            .get_or_init(|| {
                let manager = DaemonManager::new(
                    Arc::clone(&self.inner.daemon_plan),
                    Arc::new(WeakCoordination(Arc::downgrade(&self.inner))),
                );
                if let Some(link) = &self.inner.cluster {
                    manager.attach_cluster(Arc::clone(link));
                    self.start_heartbeat();
                }
                manager
            })
            .clone()
    }

    /// The daemon manager, once [`Self::start_daemon_manager`] has started it.
    pub fn daemon_manager(&self) -> Result<DaemonManager, DaemonManagerNotStarted> {
        self.inner
            .manager
            .get()
            .cloned()
            .ok_or(DaemonManagerNotStarted)
    }

    /// The event bus coordinators' handlers are wired to.
    pub fn events(&self) -> &EventBus {
        &self.inner.bus
    }

    /// Publishes `event` to every subscriber.
    pub async fn publish<E: Event>(&self, event: E) {
        self.inner.bus.publish(event).await;
    }

    /// The initialised coordinators, for daemons and handlers to reach.
    pub fn instances(&self) -> &Arc<Instances> {
        self.inner.bootstrap.instances()
    }

    /// The enabled coordinators' names, in initialisation order.
    pub fn coordinator_names(&self) -> Vec<&'static str> {
        self.inner.bootstrap.coordinator_names()
    }

    /// Initialises every pending coordinator in dependency order.
    ///
    /// Idempotent: once every coordinator is ready, failed or skipped, a call
    /// does nothing and reports `already_complete`. Failed ones are retried
    /// with [`Self::reinitialize_coordinator`].
    pub async fn bootstrap(&self) -> BootstrapReport {
        self.inner.bootstrap.bootstrap(&self.wiring()).await
    }

    /// Every enabled coordinator's state, start time, duration and error.
    pub fn bootstrap_status(&self) -> BootstrapStatus {
        self.inner.bootstrap.bootstrap_status()
    }

    /// The initialised coordinator of type `T`, or why there is none.
    pub fn get<T: Coordinator>(&self) -> Result<Arc<T>, NotInitialized> {
        self.inner.bootstrap.get::<T>()
    }

    /// Shuts down and re-initialises `name`, then its dependents, in order.
    ///
    /// Coordinators that do not depend on `name` are left alone.
    pub async fn reinitialize_coordinator(
        &self,
        name: &str,
    ) -> Result<BootstrapReport, UnknownName> {
        self.inner
            .bootstrap
            .reinitialize_coordinator(name, &self.wiring())
            .await
    }

    /// Shuts every coordinator down and clears all state, so bootstrap can run again.
    pub async fn reset_bootstrap(&self) -> ShutdownReport {
        self.inner.bootstrap.reset(&self.wiring()).await
    }

    /// Shuts every initialised coordinator down, dependents first.
    pub async fn shutdown(&self) -> ShutdownReport {
        self.inner.bootstrap.shutdown(&self.wiring()).await
    }
}
