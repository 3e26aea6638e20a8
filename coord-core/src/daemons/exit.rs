//! What a supervisor does when a run ends: records it, applies the restart
//! policy and waits out the backoff, or fails the daemon for good and stops
//! its dependents.

use std::time::SystemTime;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::lease::LeaseKeeper;
use super::manager::DaemonManager;
use super::restart::{RestartDecision, RestartTracker};
use super::status::{CriticalFailure, DaemonState};
use crate::error::BoxError;
use crate::interface::{RestartPolicy, format_duration};

/// What a supervisor keeps across restarts, boxed: an idle daemon's
/// supervisor future carries only what its steady state needs.
pub(super) struct AcrossRuns {
    /// A singleton's lease in cluster mode, released once, at the end.
    pub(super) lease: Option<LeaseKeeper>,
    pub(super) tracker: RestartTracker,
}

/// How an instance ended.
pub(super) enum Exit {
    /// Its runner returned (or panicked, as an error).
    Finished(Result<(), String>),
    /// It was stopped; `aborted` if it had to be dropped after its timeout.
    Stopped { aborted: bool },
}

impl Exit {
    /// The end of a runner that returned or panicked.
    pub(super) fn finished(outcome: Result<Result<(), BoxError>, String>) -> Self {
        Self::Finished(match outcome {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(panic) => Err(format!("[coord::E0307] panicked: {panic}")),
        })
    }
}

impl DaemonManager {
    /// Records that a run of `i` was stopped on request (`aborted` if it
    /// had to be dropped after its shutdown timeout).
    pub(super) fn record_stopped(&self, i: usize, aborted: bool) {
        if aborted {
            let timeout = self.plan().configs[i].shutdown_timeout;
            tracing::warn!(
                daemon = self.plan().specs[i].name,
                ?timeout,
                "did not stop in time; aborted"
            );
        }
        self.update(i, |s| {
            s.state = DaemonState::Stopped;
            s.aborted = aborted;
        });
    }

    /// What `i`'s supervisor keeps across restarts, made when first needed.
    pub(super) fn across_runs(&self, i: usize) -> Box<AcrossRuns> {
        let config = self.plan().configs[i].restart_config;
        Box::new(AcrossRuns {
            lease: None,
            tracker: RestartTracker::new(config, i as u64 + 1),
        })
    }

    /// After a run of `i` that started at `started` ended with `outcome`:
    /// records it and applies the restart policy; `true` to run again.
    pub(super) async fn after_run(
        &self,
        i: usize,
        stop: &CancellationToken,
        kept: &mut AcrossRuns,
        started: Instant,
        outcome: Exit,
    ) -> bool {
        let plan = self.plan();
        let spec = plan.specs[i];
        let config = &plan.configs[i];
        if kept.lease.as_ref().is_some_and(|k| k.is_lost(stop)) {
            tracing::warn!(
                daemon = spec.name,
                "stepped down: the lease was lost; standing by"
            );
            self.update(i, |s| {
                s.state = DaemonState::Standby;
                s.leader = None;
                s.fencing_token = None;
            });
            return true;
        }
        let error = match outcome {
            Exit::Stopped { aborted } => {
                self.record_stopped(i, aborted);
                return false;
            }
            Exit::Finished(Ok(())) => None,
            Exit::Finished(Err(error)) => Some(error),
        };
        let restart = match config.restart {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => error.is_some(),
            RestartPolicy::Never => false,
        };
        if !restart {
            match error {
                None => {
                    tracing::info!(daemon = spec.name, "finished");
                    self.update(i, |s| s.state = DaemonState::Stopped);
                }
                Some(error) => {
                    tracing::error!(daemon = spec.name, %error, "failed; restart policy is never");
                    self.fail(i, error).await;
                }
            }
            return false;
        }
        let failed = error.is_some();
        let tracker = &mut kept.tracker;
        let (delay, state) = match tracker.on_exit(started.elapsed(), failed) {
            RestartDecision::GiveUp { restarts } => {
                let stable = format_duration(config.restart_config.stable_after);
                let last = error.unwrap_or_else(|| "exited".into());
                let error = format!(
                    "[coord::E0303] failed {} times in a row, each run shorter than {stable} (stable_after), after {restarts} restarts, the limit (max_restarts); staying down until started by hand (last error: {last})",
                    restarts + 1
                );
                tracing::error!(daemon = spec.name, %error, "giving up");
                self.fail(i, error).await;
                return false;
            }
            RestartDecision::RetryTier { every, restarts } => {
                tracing::error!(
                    daemon = spec.name,
                    error = ?error,
                    restarts,
                    every = %format_duration(every),
                    "out of restarts; retrying at the slow interval (after_give_up)"
                );
                (every, DaemonState::Retrying)
            }
            RestartDecision::After(delay) => {
                tracing::warn!(daemon = spec.name, error = ?error, ?delay, "ended; restarting after backoff");
                (delay, DaemonState::Backoff)
            }
        };
        self.update(i, |s| {
            s.state = state;
            s.counted_restarts = tracker.counted();
            s.restarts_total = tracker.total();
            s.next_restart_at = Some(SystemTime::now() + delay);
            if error.is_some() {
                s.last_error = error;
            }
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => {
                self.update(i, |s| {
                    s.state = DaemonState::Stopped;
                    s.next_restart_at = None;
                });
                return false;
            }
        }
        self.update(i, |s| s.next_restart_at = None);
        true
    }

    /// Marks `i` failed for good and stops its dependents; a critical one
    /// among them (or `i` itself) tells the service to stop.
    pub(super) async fn fail(&self, i: usize, error: String) {
        self.update(i, |s| {
            s.state = DaemonState::Failed;
            s.last_error = Some(error.clone());
            s.next_restart_at = None;
        });
        // Stopping waits for the dependents' supervisors, never for this one.
        let stopped = self.stop_dependents(i).await;
        let plan = self.plan();
        let name = plan.specs[i].name;
        let critical = std::iter::once(i)
            .chain(stopped)
            .find(|&d| plan.configs[d].critical);
        if let Some(d) = critical {
            let failure = CriticalFailure {
                daemon: plan.specs[d].name,
                error: if d == i {
                    error
                } else {
                    format!("stopped because its dependency '{name}' failed for good: {error}")
                },
            };
            tracing::error!(%failure, "stopping the service");
            self.inner.critical.send_if_modified(|current| {
                let first = current.is_none();
                if first {
                    *current = Some(failure);
                }
                first
            });
        }
    }
}
