//! The coordinators of one `Coordination`: their plan, instances and
//! records, and the operations on them (bootstrap here; the scheduler and
//! recovery in their own files), one operation at a time.

use std::any::TypeId;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::plan::CoordinatorPlan;
use super::status::{
    BootstrapReport, BootstrapStatus, CoordinatorState, CoordinatorStatus, InitError,
    NotInitialized,
};
use crate::interface::{AnyCoordinator, Coordinator, Instances};
use crate::registry::CoordinatorSpec;
use crate::util;

/// What the rest of the service does as coordinators come and go. The
/// `Coordination` handle implements it to wire each ready coordinator's
/// `#[subscribe]` handlers and to unwire them before it shuts down.
pub(crate) trait Lifecycle: Sync {
    /// `spec`'s instance is initialised (before its dependents start).
    fn ready(&self, spec: &'static CoordinatorSpec, instance: &AnyCoordinator);
    /// `spec` is about to shut down or initialise again.
    fn stopping(&self, spec: &'static CoordinatorSpec);
    /// A bootstrap pass has finished.
    fn bootstrapped(&self);
}

/// What bootstrap knows of one coordinator.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) state: CoordinatorState,
    pub(super) started_at: Option<SystemTime>,
    pub(super) init_duration: Option<Duration>,
    pub(super) error: Option<InitError>,
}

impl Record {
    pub(super) fn pending() -> Self {
        Self {
            state: CoordinatorState::Pending,
            started_at: None,
            init_duration: None,
            error: None,
        }
    }
}

/// The enabled coordinators, their instances and what happened to each.
#[derive(Debug)]
pub(crate) struct Bootstrapper {
    pub(super) plan: CoordinatorPlan,
    pub(super) instances: Arc<Instances>,
    records: Mutex<Vec<Record>>,
    /// Serialises bootstrap, reinitialise, reset and shutdown.
    pub(super) operations: tokio::sync::Mutex<()>,
}

impl Bootstrapper {
    /// Nothing initialised yet.
    pub(crate) fn new(plan: CoordinatorPlan) -> Self {
        let records = vec![Record::pending(); plan.specs.len()];
        // Sized for the plan: bootstrap then never rehashes it.
        let instances = Arc::new(Instances::with_capacity(plan.specs.len()));
        Self {
            plan,
            instances,
            records: Mutex::new(records),
            operations: tokio::sync::Mutex::new(()),
        }
    }

    /// The enabled coordinators, in initialisation order.
    pub(crate) fn specs_in_order(&self) -> impl Iterator<Item = &'static CoordinatorSpec> + '_ {
        self.plan.order.iter().map(|&i| self.plan.specs[i])
    }

    pub(super) fn records(&self) -> MutexGuard<'_, Vec<Record>> {
        // Records are plain data updated in one assignment: a panic elsewhere
        // while the lock was held cannot leave them inconsistent.
        util::lock(&self.records)
    }

    /// The initialised coordinators, for daemons and handlers to reach.
    pub(crate) fn instances(&self) -> &Arc<Instances> {
        &self.instances
    }

    /// The enabled coordinators' names, in initialisation order.
    pub(crate) fn coordinator_names(&self) -> Vec<&'static str> {
        let plan = &self.plan;
        plan.order.iter().map(|&i| plan.specs[i].name).collect()
    }

    /// Initialises every pending coordinator in dependency order.
    ///
    /// Idempotent: once every coordinator is ready, failed or skipped, a call
    /// does nothing and reports `already_complete`. Failed ones are retried
    /// with `reinitialize_coordinator`.
    pub(crate) async fn bootstrap(&self, hooks: &dyn Lifecycle) -> BootstrapReport {
        let _operation = self.operations.lock().await;
        let pending: Vec<usize> = {
            let records = self.records();
            let plan = &self.plan;
            plan.order
                .iter()
                .copied()
                .filter(|&i| !records[i].state.is_settled())
                .collect()
        };
        if pending.is_empty() {
            tracing::info!("bootstrap already complete; nothing to do");
            return BootstrapReport {
                already_complete: true,
                status: self.bootstrap_status(),
            };
        }
        let started = Instant::now();
        self.run(&pending, hooks).await;
        hooks.bootstrapped();
        let status = self.bootstrap_status();
        if status.errors.is_empty() {
            tracing::info!(
                coordinators = status.initialized_coordinators.len(),
                elapsed = ?started.elapsed(),
                "bootstrap complete"
            );
        } else {
            tracing::warn!(
                initialized = status.initialized_coordinators.len(),
                errors = status.errors.len(),
                "bootstrap finished with errors"
            );
        }
        BootstrapReport {
            already_complete: false,
            status,
        }
    }

    /// Every enabled coordinator's state, start time, duration and error.
    pub(crate) fn bootstrap_status(&self) -> BootstrapStatus {
        let records = self.records();
        let plan = &self.plan;
        let coordinators: Vec<CoordinatorStatus> = plan
            .order
            .iter()
            .map(|&i| CoordinatorStatus {
                name: plan.specs[i].name,
                state: records[i].state,
                started_at: records[i].started_at,
                init_duration: records[i].init_duration,
                error: records[i].error.clone(),
            })
            .collect();
        BootstrapStatus {
            is_complete: coordinators.iter().all(|c| c.state.is_settled()),
            initialized_coordinators: coordinators
                .iter()
                .filter(|c| c.state == CoordinatorState::Ready)
                .map(|c| c.name)
                .collect(),
            errors: coordinators
                .iter()
                .filter_map(|c| c.error.clone())
                .collect(),
            coordinators,
        }
    }

    /// The initialised coordinator of type `T`, or why there is none.
    pub(crate) fn get<T: Coordinator>(&self) -> Result<Arc<T>, NotInitialized> {
        if let Some(instance) = self.instances.get::<T>() {
            return Ok(instance);
        }
        let plan = &self.plan;
        let id = TypeId::of::<T>();
        let Some(i) = plan.specs.iter().position(|s| s.instance_type() == id) else {
            return Err(NotInitialized::NotEnabled {
                type_name: std::any::type_name::<T>(),
            });
        };
        let record = self.records()[i].clone();
        match record.error {
            Some(error) => Err(NotInitialized::Failed(error)),
            None => Err(NotInitialized::NotStarted {
                name: plan.specs[i].name,
                state: record.state,
            }),
        }
    }
}
