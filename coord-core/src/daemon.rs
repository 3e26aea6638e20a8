//! Daemon identities, the runner contract and the context a runner receives.

use std::fmt::{self, Debug};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::bootstrap::{Coordination, NotInitialized};
use crate::coordinator::Coordinator;
use crate::error::{BoxError, UnknownName};
use crate::restart::RestartConfig;
use crate::static_check::DaemonGraph;

/// A boxed, sendable future, the erased form of runners and initialisers.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An enum whose variants name the daemons of a service; use `#[derive(DaemonType)]`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0009] `{Self}` is not a daemon type",
    label = "`{Self}` does not `#[derive(DaemonType)]`",
    note = "`#[daemon(Enum::Variant, ...)]` registers a variant of an enum marked `#[derive(DaemonType)]`; add the derive to `{Self}`:\n      #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]"
)]
pub trait DaemonKind:
    Copy + Eq + Hash + Debug + Send + Sync + 'static + FromStr<Err = UnknownName>
{
    /// The enum's name as written, e.g. `DaemonType`.
    const TYPE_NAME: &'static str;
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// Every variant's and its entry's compile-time node; read by the checks.
    #[doc(hidden)]
    const GRAPH: &'static DaemonGraph;
    /// The snake_case name used in config, on the CLI and in logs.
    fn name(&self) -> &'static str;
    /// The variant's position in declaration order.
    fn index(&self) -> usize;
}

/// What a daemon does when its runner ends (Erlang/OTP's child restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestartPolicy {
    /// Restart whenever it ends, even with `Ok` (OTP `permanent`).
    Always,
    /// Restart only after an error or a panic (OTP `transient`).
    OnFailure,
    /// Never restart (OTP `temporary`).
    Never,
}

impl RestartPolicy {
    /// The spelling used in `#[daemon(restart = ...)]` and in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::OnFailure => "on_failure",
            Self::Never => "never",
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(Self::Always),
            "on_failure" | "on-failure" => Ok(Self::OnFailure),
            "never" => Ok(Self::Never),
            other => Err(UnknownName::new(
                "restart policy",
                other,
                ["always", "on_failure", "never"],
            )),
        }
    }
}

/// The effective settings of one daemon: its attribute, then config overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// When it is restarted.
    pub restart: RestartPolicy,
    /// Backoff and restart-intensity limits.
    pub restart_config: RestartConfig,
    /// How long dependents wait for it to signal ready.
    pub ready_timeout: Duration,
    /// How long it has to stop once cancelled before it is aborted.
    pub shutdown_timeout: Duration,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            restart: RestartPolicy::OnFailure,
            restart_config: RestartConfig::default(),
            ready_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// A check the manager runs every `interval`; `threshold` failures in a row restart the daemon.
pub struct HealthProbe {
    /// Time between checks; also each check's time limit.
    pub interval: Duration,
    /// Consecutive failures that restart the daemon.
    pub threshold: u32,
    /// The check.
    pub check: Box<dyn Fn() -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>,
}

impl fmt::Debug for HealthProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthProbe")
            .field("interval", &self.interval)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

/// What a running daemon receives: its name, config, readiness and shutdown
/// signals, and the initialised coordinators.
#[derive(Clone, Debug)]
pub struct DaemonContext {
    inner: Arc<ContextInner>,
}

#[derive(Debug)]
struct ContextInner {
    name: &'static str,
    cancel: CancellationToken,
    ready: watch::Sender<bool>,
    config: DaemonConfig,
    coordination: Option<Coordination>,
    health: Mutex<Option<HealthProbe>>,
    health_registered: Notify,
}

/// The supervisor's side of a [`DaemonContext`]: observes readiness.
#[derive(Debug, Clone)]
pub struct ReadyWatch {
    ready: watch::Receiver<bool>,
}

impl ReadyWatch {
    /// Whether the daemon has called [`DaemonContext::ready`].
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until the daemon is ready; `false` if its context was dropped first.
    pub async fn wait(&mut self) -> bool {
        self.ready.wait_for(|ready| *ready).await.is_ok()
    }
}

impl DaemonContext {
    /// A context for the daemon `name`, cancelled through `cancel`.
    pub fn new(name: &'static str, cancel: CancellationToken) -> (Self, ReadyWatch) {
        Self::with(name, cancel, DaemonConfig::default(), None)
    }

    /// A context with the daemon's config and the coordinators it can reach.
    pub fn with(
        name: &'static str,
        cancel: CancellationToken,
        config: DaemonConfig,
        coordination: Option<Coordination>,
    ) -> (Self, ReadyWatch) {
        let (ready, watch) = watch::channel(false);
        let ctx = Self {
            inner: Arc::new(ContextInner {
                name,
                cancel,
                ready,
                config,
                coordination,
                health: Mutex::new(None),
                health_registered: Notify::new(),
            }),
        };
        (ctx, ReadyWatch { ready: watch })
    }

    /// The daemon's effective settings.
    pub fn config(&self) -> &DaemonConfig {
        &self.inner.config
    }

    /// An initialised coordinator, or why it is not there.
    pub fn coordinator<T: Coordinator>(&self) -> Result<Arc<T>, NotInitialized> {
        match &self.inner.coordination {
            Some(coordination) => coordination.get::<T>(),
            None => Err(NotInitialized::NotEnabled {
                type_name: std::any::type_name::<T>(),
            }),
        }
    }

    /// Publishes `event` with this daemon as its source.
    pub async fn publish<E: crate::events::Event>(&self, event: E) {
        if let Some(coordination) = &self.inner.coordination {
            coordination
                .events()
                .publish_from(self.inner.name, event)
                .await;
        }
    }

    /// The coordination this daemon runs under, if any.
    pub fn coordination(&self) -> Option<&Coordination> {
        self.inner.coordination.as_ref()
    }

    /// Registers a health check: the manager runs `check` every `interval`,
    /// reports the daemon degraded while it fails, and restarts it after
    /// `threshold` failures in a row. A later call replaces the probe.
    pub fn set_health_probe<F, Fut>(&self, interval: Duration, threshold: u32, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let probe = HealthProbe {
            interval,
            threshold: threshold.max(1),
            check: Box::new(move || Box::pin(check())),
        };
        *self.inner.health.lock().unwrap_or_else(|p| p.into_inner()) = Some(probe);
        self.inner.health_registered.notify_one();
    }

    /// Waits for a health probe to be registered, and takes it.
    pub(crate) async fn take_health_probe(&self) -> HealthProbe {
        loop {
            let notified = self.inner.health_registered.notified();
            if let Some(probe) = self
                .inner
                .health
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                return probe;
            }
            notified.await;
        }
    }

    /// The daemon's snake_case name.
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// Tells the manager this daemon can serve; dependents start after this.
    pub fn ready(&self) {
        self.inner.ready.send_replace(true);
    }

    /// Completes when shutdown of this daemon is requested.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.inner.cancel.cancelled()
    }

    /// Whether shutdown of this daemon has been requested.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// The token that cancels this daemon, to hand to sub-tasks.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.inner.cancel
    }
}

/// A function that can run a daemon: `async fn(DaemonContext) -> Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0013] `{Self}` cannot be used as a daemon runner",
    label = "expected `async fn(ctx: DaemonContext) -> Result<(), E>`",
    note = "a runner takes the context by value and returns `Result<(), E>` where `E: Into<BoxError>`, e.g.\n      async fn run_my_daemon(ctx: DaemonContext) -> Result<(), BoxError> {{ ctx.ready(); ctx.cancelled().await; Ok(()) }}\n  its future must be `Send + 'static`"
)]
pub trait DaemonRunner: Send + Sync + 'static {
    /// Starts one run of the daemon.
    fn run(&self, ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>>;
}

// Report a bad runner as "not a daemon runner" with the expected signature,
// rather than as whichever bound below it happens to miss first.
#[diagnostic::do_not_recommend]
impl<F, Fut, E> DaemonRunner for F
where
    F: Fn(DaemonContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn run(&self, ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
        let fut = self(ctx);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

/// What a daemon runner's call returns: a future of `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0013] `{Self}` is not what a daemon runner returns",
    label = "expected `async fn(ctx: DaemonContext) -> Result<(), E>`",
    note = "a runner is an async fn that takes the context by value and returns `Result<(), E>` where `E: Into<BoxError>`, e.g.\n      async fn run_my_daemon(ctx: DaemonContext) -> Result<(), BoxError> {{ ctx.ready(); ctx.cancelled().await; Ok(()) }}"
)]
pub trait RunnerOutput {
    /// Boxes the future, erasing its error type.
    fn boxed(self) -> BoxFuture<'static, Result<(), BoxError>>
    where
        Self: Send + 'static;
}

#[diagnostic::do_not_recommend]
impl<F, E> RunnerOutput for F
where
    F: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    fn boxed(self) -> BoxFuture<'static, Result<(), BoxError>>
    where
        Self: Send + 'static,
    {
        Box::pin(async move { self.await.map_err(Into::into) })
    }
}

/// Erases a runner's future; `#[daemon]` calls it on `runner(ctx)`.
///
/// `Send` is required here, on the future itself, so that a value held across
/// an `.await` that is not `Send` is reported by rustc with the value and the
/// `.await` it is held across.
pub fn runner_future<F>(future: F) -> BoxFuture<'static, Result<(), BoxError>>
where
    F: RunnerOutput + Send + 'static,
{
    future.boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_is_observed_by_the_watch() {
        let (ctx, mut watch) = DaemonContext::new("d", CancellationToken::new());
        assert!(!watch.is_ready());
        ctx.ready();
        assert!(watch.wait().await);
    }

    #[tokio::test]
    async fn a_dropped_context_never_reports_ready() {
        let (ctx, mut watch) = DaemonContext::new("d", CancellationToken::new());
        drop(ctx);
        assert!(!watch.wait().await);
    }
}
