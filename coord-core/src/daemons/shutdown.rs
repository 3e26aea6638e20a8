//! Stopping daemons: one with its dependents first, or all of them level by
//! level, dependents before dependencies, within a total bound.

use std::collections::HashMap;

use tokio::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::manager::DaemonManager;
use super::status::{DaemonShutdownReport, DaemonState};
use crate::util::lock;

impl DaemonManager {
    /// Stops every daemon, dependents before dependencies, within the total bound.
    ///
    /// Each daemon is cancelled as soon as everything that depends on it (hard,
    /// or soft where the order kept the edge) has stopped: the order is kept
    /// without waiting for a whole level, so one slow daemon holds up only
    /// what it depends on. Once called, it goes on to the end even if the
    /// caller stops waiting for it.
    pub async fn shutdown(&self) -> DaemonShutdownReport {
        self.as_task(|manager| async move { manager.shutdown_in_order().await })
            .await
    }

    /// The work of [`shutdown`](Self::shutdown), wherever it runs.
    async fn shutdown_in_order(&self) -> DaemonShutdownReport {
        let plan = self.plan();
        let deadline = Instant::now() + plan.shutdown_bound;
        let n = plan.specs.len();
        // For each daemon: how many of the daemons that depend on it still run.
        let mut waiting = vec![0usize; n];
        for i in 0..n {
            for &d in plan.deps[i].iter().chain(&plan.soft_deps[i]) {
                waiting[d] += 1;
            }
        }
        let mut report = DaemonShutdownReport::default();
        let mut due: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
        // Started last first, as the level-by-level order did.
        due.reverse();
        let mut stopping = FuturesUnordered::new();
        // Abort handles of the supervisors being waited for: one deadline for
        // all of them rather than a timer each (a timer per daemon was a
        // visible part of the shutdown profile).
        let mut aborts: Vec<Option<tokio::task::AbortHandle>> = vec![None; n];
        let mut past_deadline = false;
        let mut bound = std::pin::pin!(tokio::time::sleep_until(deadline));
        let mut stopped = 0;
        while stopped < n {
            for i in due.drain(..) {
                // Not there if never started or stopped already: nothing to wait for.
                let supervisor = lock(&self.inner.slots[i].supervisor).take();
                if let Some(supervisor) = &supervisor {
                    supervisor.stop.cancel();
                    if past_deadline {
                        supervisor.task.abort();
                    } else {
                        aborts[i] = Some(supervisor.task.abort_handle());
                    }
                }
                stopping.push(async move {
                    match supervisor {
                        // An aborted supervisor ends with a cancelled join error.
                        Some(supervisor) => (i, supervisor.task.await.is_ok(), true),
                        None => (i, true, false),
                    }
                });
            }
            let next = if past_deadline {
                stopping.next().await
            } else {
                tokio::select! {
                    biased;
                    next = stopping.next() => next,
                    () = &mut bound => {
                        past_deadline = true;
                        for abort in aborts.iter_mut().filter_map(Option::take) {
                            abort.abort();
                        }
                        continue;
                    }
                }
            };
            let Some((i, in_time, was_running)) = next else {
                break;
            };
            aborts[i] = None;
            stopped += 1;
            if !in_time {
                tracing::warn!(
                    daemon = plan.specs[i].name,
                    "aborted: shutdown bound reached"
                );
                self.update(i, |s| {
                    s.state = DaemonState::Stopped;
                    s.aborted = true;
                });
            }
            if was_running {
                report.stopped.push(plan.specs[i].name);
                if self.inner.slots[i].status.read(|s| s.aborted) {
                    report.aborted.push(plan.specs[i].name);
                }
            }
            for &d in plan.deps[i].iter().chain(&plan.soft_deps[i]) {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    due.push(d);
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
        let mut stack = plan.dependents[i].to_vec();
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
