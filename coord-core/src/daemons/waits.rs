//! Waiting before a run: for dependencies, hard ones until ready or down
//! for good (a restarting one is waited for, the wait marked as blocked),
//! enabled soft ones until ready, down or restarting; and, for a singleton
//! in cluster mode, for its lease.

use tokio_util::sync::CancellationToken;

use super::exit::AcrossRuns;
use super::manager::DaemonManager;
use super::status::{DaemonState, DaemonStatus};

impl DaemonManager {
    /// Whether `i` may run at once: not a singleton in cluster mode, and
    /// nothing it depends on to wait for (then no boxed wait is made).
    pub(super) fn may_run_now(&self, i: usize) -> bool {
        let plan = self.plan();
        let settled = |d: usize, hard: bool| {
            self.inner.slots[d].status.read(|s| s.state.is_ready()) || (!hard && !self.is_active(d))
        };
        self.singleton_link(i).is_none()
            && plan.deps[i].iter().all(|&d| settled(d, true))
            && plan.soft_deps[i].iter().all(|&d| settled(d, false))
    }

    /// Waits for `i`'s dependencies and, for a singleton in cluster mode, its
    /// lease (kept in `kept`): `None` if it must not run, else the fencing
    /// token of the run, a singleton's.
    pub(super) async fn before_run(
        &self,
        i: usize,
        stop: &CancellationToken,
        kept: &mut Option<Box<AcrossRuns>>,
    ) -> Option<Option<u64>> {
        let spec = self.plan().specs[i];
        loop {
            match self.wait_for_dependencies(i, stop).await {
                Ok(()) => {}
                Err(DependencyProblem::Stopped) => {
                    self.update(i, |s| s.state = DaemonState::Stopped);
                    return None;
                }
                Err(DependencyProblem::Down { dependency, error }) => {
                    // Not this daemon's fault: it waits, stopped, for the dependency to be restarted.
                    tracing::warn!(daemon = spec.name, %error, "not started");
                    self.update(i, |s| {
                        s.state = DaemonState::Stopped;
                        s.stopped_because = Some(dependency);
                        s.last_error = Some(error);
                    });
                    return None;
                }
            }
            let Some(link) = self.singleton_link(i) else {
                return Some(None);
            };
            let kept = kept.get_or_insert_with(|| self.across_runs(i));
            if let Some(keeper) = kept.lease.take_if(|k| k.is_lost(stop)) {
                keeper.release().await;
            }
            if kept.lease.is_none() {
                match self.acquire_lease(i, &link, stop).await {
                    Some(keeper) => kept.lease = Some(keeper),
                    None => {
                        self.update(i, |s| s.state = DaemonState::Stopped);
                        return None;
                    }
                }
            }
            if let Some(keeper) = &kept.lease {
                return Some(Some(keeper.token));
            }
        }
    }

    /// Waits until hard dependencies are ready and enabled soft ones settled.
    pub(super) async fn wait_for_dependencies(
        &self,
        i: usize,
        stop: &CancellationToken,
    ) -> Result<(), DependencyProblem> {
        let plan = self.plan();
        // One registration with the stop signal for every wait below, not one each.
        let mut stopped = std::pin::pin!(stop.cancelled());
        for (&d, hard) in plan.deps[i]
            .iter()
            .map(|d| (d, true))
            .chain(plan.soft_deps[i].iter().map(|d| (d, false)))
        {
            let cell = &self.inner.slots[d].status;
            if cell.read(|s| s.state.is_ready()) {
                continue;
            }
            if !hard && !self.is_active(d) {
                // A soft dependency orders the start only when it is being started too.
                continue;
            }
            let dependency = plan.specs[d].name;
            // Down and not coming back by itself: failed, or stopped because of a failure.
            let down = |s: &DaemonStatus| {
                s.state == DaemonState::Failed
                    || (s.state == DaemonState::Stopped && (!hard || s.stopped_because.is_some()))
            };
            let restarting =
                |s: &DaemonStatus| matches!(s.state, DaemonState::Backoff | DaemonState::Retrying);
            loop {
                // The dependency's own supervisor times its readiness from when it
                // runs, so time spent waiting on its own dependencies does not count.
                // Only a hard dependency that is down needs more than the
                // outcome: its error, copied then and only then.
                let outcome = tokio::select! {
                    outcome = cell.wait(|s| {
                        if hard && down(s) {
                            Some(Err(format!(
                                "[coord::E0304] dependency '{dependency}' is {}: {}",
                                s.state,
                                s.last_error.as_deref().unwrap_or("no error recorded")
                            )))
                        } else {
                            (s.state.is_ready() || down(s) || restarting(s)).then(|| Ok(restarting(s)))
                        }
                    }) => outcome,
                    _ = &mut stopped => return Err(DependencyProblem::Stopped),
                };
                let restarting_now = match outcome {
                    Ok(restarting_now) => restarting_now,
                    Err(error) => return Err(DependencyProblem::Down { dependency, error }),
                };
                if !hard || !restarting_now {
                    break;
                }
                // It comes back by itself: keep waiting, and let a start
                // request know this daemon will not be up before it is.
                self.update(i, |s| s.blocked = true);
                tokio::select! {
                    () = cell.wait(|s| (!restarting(s)).then_some(())) => {}
                    _ = &mut stopped => return Err(DependencyProblem::Stopped),
                }
            }
            self.update(i, |s| {
                s.blocked = false;
                s.waiting_on.retain(|w| *w != dependency);
            });
        }
        Ok(())
    }
}

/// Why a daemon did not get past waiting for its dependencies.
pub(super) enum DependencyProblem {
    /// It was stopped while waiting.
    Stopped,
    /// A hard dependency is down and will not come back by itself.
    Down {
        dependency: &'static str,
        error: String,
    },
}
