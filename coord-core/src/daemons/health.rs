//! A ready daemon's watch: its runner, a stop request, and its health
//! checks once it registers a probe (degraded while they fail, restarted
//! after too many failures in a row).

use std::pin::Pin;

use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::exit::Exit;
use super::manager::DaemonManager;
use super::status::DaemonState;
use super::supervisor::{Instance, Running};
use crate::interface::{DaemonContext, HealthProbe};

impl DaemonManager {
    /// Watches a ready instance of daemon `i` until it ends or is stopped
    /// through `stop`. This is where an idle daemon waits, so it holds only
    /// the runner, the stop signal and a wake-up for a registered health
    /// probe; health checks run in [`watch_health`](Self::watch_health), boxed.
    pub(super) async fn serve_ready(
        &self,
        i: usize,
        stop: &CancellationToken,
        running: Running,
    ) -> Exit {
        let Running {
            own_cancel,
            mut run,
            ctx,
        } = running;
        let mut stopped = std::pin::pin!(stop.cancelled());
        if self.plan().configs[i].health.is_none() {
            tokio::select! {
                // A stop request first: the runner may share its token and
                // end on it in this same wake-up, which is a stop, not a finish.
                biased;
                _ = &mut stopped => return self.stop_instance(i, own_cancel.as_ref().unwrap_or(stop), &mut run).await,
                result = &mut run => return Exit::finished(result),
                () = ctx.health_probe_registered() => {}
            }
        }
        Box::pin(self.watch_health(
            i,
            own_cancel.as_ref().unwrap_or(stop),
            &mut run,
            &mut stopped,
            ctx,
        ))
        .await
    }

    /// [`serve_ready`](Self::serve_ready) once the daemon has a health probe.
    async fn watch_health(
        &self,
        i: usize,
        cancel: &CancellationToken,
        run: &mut Instance,
        stopped: &mut Pin<&mut WaitForCancellationFuture<'_>>,
        probe_ctx: DaemonContext,
    ) -> Exit {
        let plan = self.plan();
        let spec = plan.specs[i];
        let config = &plan.configs[i];
        // Ready: the runner, a stop request, and health checks: the
        // attribute's from the start, replaced by one the runner registers
        // (the check timer exists only while there is a probe).
        let mut health: Option<(HealthProbe, Pin<Box<tokio::time::Sleep>>)> =
            config.health.map(|check| {
                let ctx = probe_ctx.clone();
                let probe = HealthProbe {
                    interval: config.health_interval,
                    threshold: config.health_threshold,
                    check: Box::new(move || (check.0)(ctx.clone())),
                };
                let first_check = Box::pin(tokio::time::sleep(probe.interval));
                (probe, first_check)
            });
        let mut registration = Box::pin(probe_ctx.take_health_probe());
        let mut failures = 0u32;
        loop {
            tokio::select! {
                biased;
                _ = &mut *stopped => return Box::pin(self.stop_instance(i, cancel, run)).await,
                result = &mut *run => return Exit::finished(result),
                probe = &mut registration => {
                    let first_check = Box::pin(tokio::time::sleep(probe.interval));
                    health = Some((probe, first_check));
                    failures = 0;
                    registration = Box::pin(probe_ctx.take_health_probe());
                }
                _ = next_check(&mut health), if health.is_some() => {
                    let Some((p, timer)) = health.as_mut() else { continue };
                    timer.as_mut().reset(Instant::now() + p.interval);
                    let result = match Box::pin(tokio::time::timeout(p.interval, (p.check)())).await {
                        Ok(result) => result.map_err(|e| e.to_string()),
                        Err(_) => Err(format!("[coord::E0306] health check took longer than {:?}", p.interval)),
                    };
                    match result {
                        Ok(()) => {
                            failures = 0;
                            if self.status_of(i).state == DaemonState::Degraded {
                                self.update(i, |s| s.state = DaemonState::Ready);
                            }
                        }
                        Err(error) => {
                            failures += 1;
                            tracing::warn!(daemon = spec.name, failures, %error, "health check failed");
                            if failures >= p.threshold {
                                cancel.cancel();
                                let _ = Box::pin(tokio::time::timeout(config.shutdown_timeout, &mut *run)).await;
                                return Exit::Finished(Err(format!(
                                    "[coord::E0306] health check failed {failures} times in a row: {error}"
                                )));
                            }
                            self.update(i, |s| {
                                if s.state.is_ready() {
                                    s.state = DaemonState::Degraded;
                                }
                                s.last_error = Some(format!("[coord::E0306] health check: {error}"));
                            });
                        }
                    }
                }
            }
        }
    }
}

/// Completes when the health timer fires; pending while there is no probe.
async fn next_check(health: &mut Option<(HealthProbe, Pin<Box<tokio::time::Sleep>>)>) {
    match health {
        Some((_, timer)) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}
