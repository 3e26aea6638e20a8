//! Recovery and shutdown: re-initialising one coordinator and its
//! dependents, resetting everything, and shutdown hooks run dependents first,
//! each contained (a panic or a hang is reported, never spread).

use std::sync::Arc;

use super::bootstrapper::{Bootstrapper, Lifecycle, Record};
use super::status::{BootstrapReport, CoordinatorState, ShutdownError, ShutdownReport};
use crate::error::UnknownName;
use crate::registry::{CoordinatorSpec, find_coordinator};
use crate::util;

impl Bootstrapper {
    /// Shuts down and re-initialises `name`, then its dependents, in order.
    ///
    /// Coordinators that do not depend on `name` are left alone.
    pub(crate) async fn reinitialize_coordinator(
        &self,
        name: &str,
        hooks: &dyn Lifecycle,
    ) -> Result<BootstrapReport, UnknownName> {
        let plan = &self.plan;
        let ordered: Vec<&'static CoordinatorSpec> =
            plan.order.iter().map(|&i| plan.specs[i]).collect();
        let root = plan.position[find_coordinator(&ordered, name)?.name];
        let _operation = self.operations.lock().await;
        let mut affected = vec![false; plan.specs.len()];
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if !affected[i] {
                affected[i] = true;
                stack.extend(&plan.dependents[i]);
            }
        }
        let targets: Vec<usize> = plan
            .order
            .iter()
            .copied()
            .filter(|&i| affected[i])
            .collect();
        tracing::info!(
            coordinator = name,
            affected = targets.len(),
            "reinitializing"
        );
        self.shut_down(&targets, CoordinatorState::Pending, hooks)
            .await;
        self.run(&targets, hooks).await;
        Ok(BootstrapReport {
            already_complete: false,
            status: self.bootstrap_status(),
        })
    }

    /// Shuts every coordinator down and clears all state, so bootstrap can run again.
    pub(crate) async fn reset(&self, hooks: &dyn Lifecycle) -> ShutdownReport {
        let _operation = self.operations.lock().await;
        let all = self.plan.order.clone();
        let report = self.shut_down(&all, CoordinatorState::Pending, hooks).await;
        self.instances.clear();
        report
    }

    /// Shuts every initialised coordinator down, dependents first.
    pub(crate) async fn shutdown(&self, hooks: &dyn Lifecycle) -> ShutdownReport {
        let _operation = self.operations.lock().await;
        let all = self.plan.order.clone();
        self.shut_down(&all, CoordinatorState::Stopped, hooks).await
    }

    /// Runs the shutdown hooks of `targets` (given in initialisation order) in
    /// reverse, and leaves each of them in `after`.
    async fn shut_down(
        &self,
        targets: &[usize],
        after: CoordinatorState,
        hooks: &dyn Lifecycle,
    ) -> ShutdownReport {
        let plan = &self.plan;
        let mut report = ShutdownReport::default();
        for &i in targets.iter().rev() {
            let spec = plan.specs[i];
            let was_ready = self.records()[i].state == CoordinatorState::Ready;
            // Its handlers go first: no event reaches a coordinator being shut down.
            hooks.stopping(spec);
            let instance = self.instances.remove(spec.name);
            self.records()[i] = Record {
                state: after,
                ..Record::pending()
            };
            let (true, Some(instance)) = (was_ready, instance) else {
                continue;
            };
            // A task, so a panicking hook is contained and a hung one can be aborted.
            let hook = tokio::spawn(async move { spec.shutdown(&*instance).await });
            let abort = hook.abort_handle();
            let limit = plan.shutdown_timeout;
            let outcome = match tokio::time::timeout(limit, hook).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(source))) => Some(ShutdownError::Failed {
                    name: spec.name,
                    source: Arc::from(source),
                }),
                Ok(Err(join)) => Some(ShutdownError::Panicked {
                    name: spec.name,
                    message: util::join_message(join),
                }),
                Err(_) => {
                    abort.abort();
                    Some(ShutdownError::TimedOut {
                        name: spec.name,
                        after: limit,
                    })
                }
            };
            report.stopped.push(spec.name);
            if let Some(error) = outcome {
                tracing::warn!(coordinator = spec.name, %error, "shutdown hook did not finish cleanly");
                report.errors.push(error);
            } else {
                tracing::debug!(coordinator = spec.name, "shut down");
            }
        }
        report
    }
}
