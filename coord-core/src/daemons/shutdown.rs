//! Stopping daemons: one with its dependents first, or all of them level by
//! level, dependents before dependencies, within a total bound.

use std::collections::HashMap;

use tokio::time::Instant;

use super::manager::{DaemonManager, Supervisor};
use super::status::{DaemonShutdownReport, DaemonState};
use crate::util::lock;

impl DaemonManager {
    /// Stops every daemon, dependents before dependencies, within the total bound.
    pub async fn shutdown(&self) -> DaemonShutdownReport {
        let plan = self.plan();
        let deadline = Instant::now() + plan.shutdown_bound;
        let mut report = DaemonShutdownReport::default();
        for level in plan.levels.iter().rev() {
            let stopping: Vec<(usize, Supervisor)> = level
                .iter()
                .filter_map(|&i| lock(&self.inner.slots[i].supervisor).take().map(|s| (i, s)))
                .collect();
            for (_, supervisor) in &stopping {
                supervisor.stop.cancel();
            }
            for (i, supervisor) in stopping {
                let abort = supervisor.task.abort_handle();
                if tokio::time::timeout_at(deadline, supervisor.task)
                    .await
                    .is_err()
                {
                    abort.abort();
                    tracing::warn!(
                        daemon = plan.specs[i].name,
                        "aborted: shutdown bound reached"
                    );
                    self.update(i, |s| {
                        s.state = DaemonState::Stopped;
                        s.aborted = true;
                    });
                }
                report.stopped.push(plan.specs[i].name);
                if self.inner.slots[i].status.read(|s| s.aborted) {
                    report.aborted.push(plan.specs[i].name);
                }
            }
        }
        report
    }

    /// Stops the running transitive dependents of `i`, last-started first,
    /// marking each as stopped because of `i`; returns them.
    pub(super) async fn stop_dependents(&self, i: usize) -> Vec<usize> {
        let plan = self.plan();
        let mut dependents = Vec::new();
        let mut stack = plan.dependents[i].clone();
        while let Some(d) = stack.pop() {
            if !dependents.contains(&d) {
                dependents.push(d);
                stack.extend(&plan.dependents[d]);
            }
        }
        let rank: HashMap<usize, usize> = plan
            .startup_order()
            .enumerate()
            .map(|(r, i)| (i, r))
            .collect();
        dependents.sort_by_key(|d| std::cmp::Reverse(rank[d]));
        let cause = plan.specs[i].name;
        let mut stopped = Vec::new();
        for d in dependents {
            if self.stop_one(d).await {
                tracing::warn!(
                    daemon = plan.specs[d].name,
                    because = cause,
                    "stopped because its dependency is down"
                );
                self.update(d, |s| {
                    s.state = DaemonState::Stopped;
                    s.stopped_because = Some(cause);
                    if s.last_error.is_none() {
                        s.last_error =
                            Some(format!("[coord::E0304] stopped because '{cause}' is down"));
                    }
                });
                stopped.push(d);
            }
        }
        stopped
    }

    /// Stops one daemon's supervisor; returns whether it was running.
    pub(super) async fn stop_one(&self, i: usize) -> bool {
        let supervisor = lock(&self.inner.slots[i].supervisor).take();
        let Some(supervisor) = supervisor else {
            return false;
        };
        supervisor.stop.cancel();
        let was_running = !supervisor.task.is_finished();
        // The supervisor applies the daemon's shutdown timeout itself.
        let _ = supervisor.task.await;
        was_running
    }
}
