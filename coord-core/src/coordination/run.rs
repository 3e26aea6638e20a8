//! Running a whole service: bootstrap, daemons, wait, ordered shutdown.

use std::future::Future;

use super::Coordination;
use crate::bootstrap::{BootstrapReport, ShutdownReport};
use crate::daemons::{CriticalFailure, DaemonShutdownReport, StartReport};

/// What a run did, phase by phase.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Coordinator bootstrap.
    pub bootstrap: BootstrapReport,
    /// Daemon start.
    pub start: StartReport,
    /// What ended the run: the shutdown future's output, or a critical
    /// daemon's failure.
    pub ended_by: String,
    /// The critical daemon whose failure ended the run, if one did.
    pub critical_failure: Option<CriticalFailure>,
    /// Daemon shutdown (dependents first).
    pub daemons_stopped: DaemonShutdownReport,
    /// Coordinator shutdown (dependents first).
    pub coordinators_stopped: ShutdownReport,
}

/// Listens for SIGINT, SIGTERM and SIGHUP from the moment it is called; the
/// returned future completes with the signal's name when one arrives.
///
/// SIGHUP (the terminal went away) shuts down like SIGTERM instead of killing
/// the process with no shutdown at all. Registration happens here, not on
/// first poll, so a signal sent while the service is still starting is not
/// lost. Must be called inside a tokio runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut hangup = signal(SignalKind::hangup())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
                _ = hangup.recv() => "SIGHUP",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        })
    }
}

impl Coordination {
    /// Bootstraps, starts every enabled daemon, waits for `shutdown` (or a
    /// `critical` daemon failing for good), then stops the daemons and the
    /// coordinators, dependents first each time.
    ///
    /// `shutdown` is usually [`shutdown_signal`]; its output says what ended the run.
    pub async fn run_until<F, T>(&self, shutdown: F) -> RunReport
    where
        F: Future<Output = T>,
        T: std::fmt::Debug,
    {
        let bootstrap = self.bootstrap().await;
        let manager = self.start_daemon_manager();
        let start = manager.start_all().await;
        let (ended_by, critical_failure) = tokio::select! {
            ended = shutdown => (format!("{ended:?}"), None),
            failure = manager.critical_failure() => (failure.to_string(), Some(failure)),
        };
        tracing::info!(ended_by = %ended_by, "shutting down");
        let daemons_stopped = manager.shutdown().await;
        // Handlers of distributed events stop taking deliveries before the
        // coordinators they run on go; queued publishes are flushed.
        if let Some(link) = self.cluster() {
            link.close().await;
        }
        let coordinators_stopped = self.shutdown().await;
        RunReport {
            bootstrap,
            start,
            ended_by,
            critical_failure,
            daemons_stopped,
            coordinators_stopped,
        }
    }
}
