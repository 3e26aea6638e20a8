//! One daemon's supervisor: waits for its dependencies (`waits`), runs its
//! runner inline (so a restart never overlaps the instance before it), and
//! on exit applies the restart policy (`exit`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::SystemTime;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::exit::{AcrossRuns, Exit};
use super::manager::DaemonManager;
use super::status::DaemonState;
use crate::error::BoxError;
use crate::interface::format_duration;
use crate::interface::{BoxFuture, DaemonContext, ReadyWatch};
use crate::util::{CatchUnwind, lock};

/// A launched instance that signalled ready.
pub(super) struct Running {
    /// A singleton run's own token (see `launch`); `None` when the runner
    /// sees the supervisor's stop token cancelled.
    pub(super) own_cancel: Option<CancellationToken>,
    pub(super) run: Instance,
    /// A clone of the runner's context, for the health probe it may register.
    pub(super) ctx: DaemonContext,
}

/// How launching an instance went.
enum Launch {
    Ready(Running),
    Ended(Exit),
}

impl DaemonManager {
    /// The supervisor of daemon `i`: runs it until stopped, applying its restart policy.
    ///
    /// Every path but the steady one (waiting for dependencies, a lease,
    /// readiness, a restart's backoff) runs boxed: this future is held by
    /// every idle daemon, so it carries only a ready instance's watch inline.
    pub(super) async fn supervise(self, i: usize, stop: CancellationToken) {
        let mut stop = stop;
        let mut kept: Option<Box<AcrossRuns>> = None;
        loop {
            let next = if self.may_run_now(i) {
                Some(None)
            } else {
                Box::pin(self.before_run(i, &stop, &mut kept)).await
            };
            let Some(fencing_token) = next else {
                break;
            };
            // A singleton's run stops when its lease is lost; any other's on
            // the stop token. Borrowed, not cloned: this future is every idle
            // daemon's, and a clone of a token takes its tree's lock.
            let run_stop = match (fencing_token, kept.as_ref().and_then(|k| k.lease.as_ref())) {
                (Some(_), Some(keeper)) => &keeper.lost,
                _ => &stop,
            };
            let started = Instant::now();
            let mut outcome = match self.launch(i, run_stop, fencing_token).await {
                Launch::Ready(running) => self.serve_ready(i, run_stop, running).await,
                Launch::Ended(exit) => exit,
            };
            // A run that shared the stop token and was cancelled on its own
            // (readiness deadline, failed health checks) cancelled that token
            // too: unless a stop was requested, go on with a fresh one.
            if fencing_token.is_none()
                && stop.is_cancelled()
                && let Some(fresh) = self.renew_stop(i)
            {
                stop = fresh;
                // Nobody asked this daemon to stop (its runner cancelled its
                // own token): a run that ended on that is a run that finished.
                if let Exit::Stopped { .. } = outcome {
                    outcome = Exit::Finished(Ok(()));
                }
            }
            // A stop is how most supervisors end: recorded here, without a
            // box, unless a lost lease makes it a step down.
            let lease_lost = kept
                .as_ref()
                .and_then(|k| k.lease.as_ref())
                .is_some_and(|lease| lease.is_lost(&stop));
            if let (Exit::Stopped { aborted }, false) = (&outcome, lease_lost) {
                self.record_stopped(i, *aborted);
                break;
            }
            let kept = kept.get_or_insert_with(|| self.across_runs(i));
            if !Box::pin(self.after_run(i, &stop, kept, started, outcome)).await {
                break;
            }
        }
        if let Some(keeper) = kept.and_then(|k| k.lease) {
            keeper.release().await;
            self.update(i, |s| {
                s.leader = None;
                s.fencing_token = None;
            });
        }
    }

    /// A fresh stop token for `i`'s supervisor, put where a stop request
    /// finds it; `None` if a stop was requested (every request takes the
    /// supervisor out of its slot before cancelling its token).
    fn renew_stop(&self, i: usize) -> Option<CancellationToken> {
        let mut slot = lock(&self.inner.slots[i].supervisor);
        let supervisor = slot.as_mut()?;
        supervisor.stop = CancellationToken::new();
        Some(supervisor.stop.clone())
    }

    /// Launches an instance of daemon `i` and waits until it is ready, ends
    /// or is stopped; only a runner not ready on its first poll makes the
    /// (boxed) wait.
    async fn launch(
        &self,
        i: usize,
        stop: &CancellationToken,
        fencing_token: Option<u64>,
    ) -> Launch {
        let plan = self.plan();
        let spec = plan.specs[i];
        let config = &plan.configs[i];
        // What the runner sees cancelled. A singleton's run has its own token,
        // as its stop signal is the lease (lost, or the daemon stopped). Any
        // other run shares the supervisor's stop token rather than making one
        // per run: when the supervisor cancels a run on its own, it renews
        // its token (`renew_stop`).
        let own_cancel = fencing_token.map(|_| CancellationToken::new());
        let cancel = own_cancel.as_ref().unwrap_or(stop);
        let (ctx, ready) = DaemonContext::in_service(
            spec.name,
            cancel.clone(),
            Arc::clone(config),
            self.inner.service.service(),
            fencing_token,
        );
        let now = SystemTime::now();
        self.update_at(i, Some(now), |s| {
            s.state = DaemonState::Running;
            // Freed rather than cleared: it is not needed again until a restart.
            s.waiting_on = Vec::new();
            s.aborted = false;
            s.blocked = false;
            s.started_at = Some(now);
            s.ready_at = None;
        });
        tracing::debug!(daemon = spec.name, "running");
        let probe_ctx = ctx.clone();
        let mut run = CatchUnwind(plan.run(i, ctx));

        // Most runners signal ready on their first poll: poll once before
        // arming the readiness deadline, so they never pay for a timer.
        let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut run).poll(cx))).await;
        if let Poll::Ready(result) = first {
            return Launch::Ended(Exit::finished(result));
        }
        if ready.is_ready() {
            // Ready within its first poll: stamped with the launch's clock
            // reading, which that poll followed at once.
            self.mark_ready(i, now);
        } else if let Some(exit) =
            Box::pin(self.wait_until_ready(i, stop, cancel, &mut run, ready)).await
        {
            return Launch::Ended(exit);
        }
        Launch::Ready(Running {
            own_cancel,
            run,
            ctx: probe_ctx,
        })
    }

    /// Until a launched instance of `i` is ready: its runner, a stop request,
    /// the ready signal, and the deadline past which the run is cancelled
    /// and counts as failed. How the run ended, if it did not become ready.
    async fn wait_until_ready(
        &self,
        i: usize,
        stop: &CancellationToken,
        cancel: &CancellationToken,
        run: &mut Instance,
        mut ready: ReadyWatch,
    ) -> Option<Exit> {
        let plan = self.plan();
        let config = &plan.configs[i];
        let deadline = tokio::time::sleep(config.ready_timeout);
        tokio::select! {
            // A stop request first, as in `serve_ready`.
            biased;
            _ = stop.cancelled() => Some(self.stop_instance(i, cancel, run).await),
            result = &mut *run => Some(Exit::finished(result)),
            is_ready = ready.wait() => {
                if is_ready {
                    self.mark_ready(i, SystemTime::now());
                }
                None
            }
            () = deadline => {
                let waited = format_duration(config.ready_timeout);
                tracing::error!(daemon = plan.specs[i].name, %waited, "did not signal ready in time; cancelling this run");
                self.stop_instance(i, cancel, run).await;
                Some(Exit::Finished(Err(format!(
                    "[coord::E0305] did not signal ready within {waited} (ready_timeout); the run was cancelled"
                ))))
            }
        }
    }

    /// Records that `i` became ready at `at`.
    pub(super) fn mark_ready(&self, i: usize, at: SystemTime) {
        tracing::info!(daemon = self.plan().specs[i].name, "ready");
        self.update_at(i, Some(at), |s| {
            s.state = DaemonState::Ready;
            s.ready_at = Some(at);
        });
    }

    /// Asks a running instance to stop, waits its shutdown timeout, then drops it.
    pub(super) async fn stop_instance(
        &self,
        i: usize,
        cancel: &CancellationToken,
        run: &mut Instance,
    ) -> Exit {
        cancel.cancel();
        self.update(i, |s| s.state = DaemonState::Stopping);
        // Most runners end as soon as they see the cancellation: one poll
        // first, and only one that has to wait arms the shutdown timer.
        let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *run).poll(cx))).await;
        if first.is_ready() {
            return Exit::Stopped { aborted: false };
        }
        match Box::pin(tokio::time::timeout(self.shutdown_timeout(i), run)).await {
            Ok(_) => Exit::Stopped { aborted: false },
            // Dropping the future is the abort: the instance ends with it.
            Err(_) => Exit::Stopped { aborted: true },
        }
    }
}

/// One running instance of a daemon: its runner's future, panics caught.
pub(super) type Instance = CatchUnwind<BoxFuture<'static, Result<(), BoxError>>>;
