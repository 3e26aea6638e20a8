//! The daemon contract: the `DaemonType` enum's trait, a daemon's settings
//! and restart policy, and the context its runner receives.

use std::any::Any;
use std::fmt::{self, Debug};
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::node::DaemonGraph;
use super::options::{DaemonOptions, GiveUp, HealthCheck};
use super::runner::BoxFuture;
use crate::error::{BoxError, UnknownName};
use crate::util;

/// The service a daemon runs in, as its context carries it: the
/// `Coordination` handle, held without naming its type.
pub(crate) type Service = Arc<dyn Any + Send + Sync>;

/// How the daemon manager reaches the service it runs daemons for, to hand
/// each daemon a context. The `Coordination` handle implements it; a narrow
/// trait here lets the manager do so without knowing that type.
pub(crate) trait ServiceLink: Send + Sync + Debug {
    /// The service, while it is alive.
    fn service(&self) -> Option<Service>;
}

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

/// Backoff, intensity limit and quiet period of a daemon's restarts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartConfig {
    /// Delay before the first restart.
    pub initial_backoff: Duration,
    /// Factor applied to the delay after each restart.
    pub multiplier: f64,
    /// Longest delay.
    pub max_backoff: Duration,
    /// Random spread of each delay, as a fraction (0.1 = +-10%).
    pub jitter: f64,
    /// Counted restarts (after runs shorter than `stable_after` that failed)
    /// before the daemon gives up.
    pub max_restarts: u32,
    /// A run at least this long resets the backoff and the count.
    pub stable_after: Duration,
    /// What giving up means: failed for good, or a slow retry tier.
    pub after_give_up: GiveUp,
}

impl Default for RestartConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(300),
            jitter: 0.1,
            max_restarts: 5,
            stable_after: Duration::from_secs(60),
            after_give_up: GiveUp::Stop,
        }
    }
}

/// The effective settings of one daemon: the builder's defaults, then its
/// attribute, then the config file and the builder's per-daemon settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// When it is restarted.
    pub restart: RestartPolicy,
    /// Backoff and restart limits.
    pub restart_config: RestartConfig,
    /// How long it has to signal ready once running; past it, the run is
    /// cancelled and counts as failed.
    pub ready_timeout: Duration,
    /// How long it has to stop once cancelled before it is aborted.
    pub shutdown_timeout: Duration,
    /// The health check from `#[daemon(health = ...)]`, if any.
    pub health: Option<HealthCheck>,
    /// Time between health checks; also each check's time limit.
    pub health_interval: Duration,
    /// Failed health checks in a row that restart the daemon.
    pub health_threshold: u32,
    /// Whether the service stops when this daemon fails for good.
    pub critical: bool,
    /// Whether, in cluster mode, it runs on one node at a time (a lease decides which).
    pub singleton: bool,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            restart: RestartPolicy::OnFailure,
            restart_config: RestartConfig::default(),
            ready_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            health: None,
            health_interval: Duration::from_secs(30),
            health_threshold: 3,
            critical: false,
            singleton: false,
        }
    }
}

impl DaemonConfig {
    /// This config with `options` applied where they say something.
    pub fn with_options(mut self, options: &DaemonOptions) -> Self {
        let restart = &mut self.restart_config;
        if let Some(policy) = options.restart {
            self.restart = policy;
        }
        if let Some(timeout) = options.ready_timeout {
            self.ready_timeout = timeout;
        }
        if let Some(timeout) = options.shutdown_timeout {
            self.shutdown_timeout = timeout;
        }
        if let Some(max) = options.max_restarts {
            restart.max_restarts = max;
        }
        if let Some(backoff) = options.backoff {
            restart.initial_backoff = backoff.initial;
            restart.max_backoff = backoff.max;
        }
        if let Some(stable) = options.stable_after {
            restart.stable_after = stable;
        }
        if let Some(rule) = options.after_give_up {
            restart.after_give_up = rule;
        }
        if options.health.is_some() {
            self.health = options.health;
        }
        if let Some(interval) = options.health_interval {
            self.health_interval = interval;
        }
        if let Some(threshold) = options.health_threshold {
            self.health_threshold = threshold;
        }
        if let Some(singleton) = options.singleton {
            self.singleton = singleton;
        }
        if let Some(critical) = options.critical {
            self.critical = critical;
        }
        self
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
///
/// `D` is the daemon's `#[daemon]` struct when its runner names it
/// (`DaemonContext<MyDaemon>`): then `ctx.publish(event)` compiles for the
/// events `MyDaemon` declares in `publishes = [...]`. A runner that takes a
/// plain `DaemonContext` can do everything else.
pub struct DaemonContext<D: ?Sized = UnnamedDaemon> {
    inner: Arc<ContextInner>,
    _daemon: PhantomData<fn() -> D>,
}

/// The daemon of a [`DaemonContext`] whose runner does not name its daemon:
/// it may not publish (it declares nothing).
#[derive(Debug)]
pub enum UnnamedDaemon {}

impl<D: ?Sized> Clone for DaemonContext<D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _daemon: PhantomData,
        }
    }
}

impl<D: ?Sized> fmt::Debug for DaemonContext<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaemonContext")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// A context type a runner of daemon `D` may take: `DaemonContext` or
/// `DaemonContext<D>` (`#[daemon]` implements the latter for its struct).
#[diagnostic::on_unimplemented(
    message = "[coord::E0022] the runner of daemon `{D}` takes `{Self}`, not a context of `{D}`",
    label = "a runner of `{D}` takes `DaemonContext` or `DaemonContext<{D}>`",
    note = "the runner's signature: `async fn run(ctx: DaemonContext<{D}>) -> Result<(), BoxError>` (or a plain `DaemonContext` when it publishes nothing)"
)]
pub trait RunnerContext<D: ?Sized> {
    /// The context the manager made, as the runner takes it.
    fn from_context(ctx: DaemonContext) -> Self;
}

impl<D: ?Sized> RunnerContext<D> for DaemonContext {
    fn from_context(ctx: DaemonContext) -> Self {
        ctx
    }
}

#[derive(Debug)]
struct ContextInner {
    name: &'static str,
    cancel: CancellationToken,
    ready: Arc<ReadySignal>,
    config: Arc<DaemonConfig>,
    /// The service the daemon runs in (the `Coordination` handle), erased:
    /// the handle composes daemons, so this contract cannot name it. Its
    /// methods on `DaemonContext` live with the handle.
    service: Option<Service>,
    health: Mutex<Option<HealthProbe>>,
    health_registered: Notify,
    /// A singleton's fencing token in cluster mode.
    fencing_token: Option<u64>,
}

/// Whether a daemon signalled ready, shared by its context and its watch.
///
/// Not a `tokio::sync::watch<bool>`: its channel holds eight notify shards
/// (a third of an idle daemon's heap, measured); one `Notify` does here.
#[derive(Debug, Default)]
struct ReadySignal {
    /// `PENDING`, `READY`, or `GONE` (the context dropped before ready).
    state: AtomicU8,
    changed: Notify,
}

const PENDING: u8 = 0;
const READY: u8 = 1;
const GONE: u8 = 2;

impl Drop for ContextInner {
    fn drop(&mut self) {
        // The last clone of the context is gone: a daemon that never became
        // ready never will.
        let _ =
            self.ready
                .state
                .compare_exchange(PENDING, GONE, Ordering::AcqRel, Ordering::Acquire);
        self.ready.changed.notify_waiters();
    }
}

/// The supervisor's side of a [`DaemonContext`]: observes readiness.
#[derive(Debug, Clone)]
pub struct ReadyWatch {
    ready: Arc<ReadySignal>,
}

impl ReadyWatch {
    /// Whether the daemon has called [`DaemonContext::ready`].
    pub fn is_ready(&self) -> bool {
        self.ready.state.load(Ordering::Acquire) == READY
    }

    /// Waits until the daemon is ready; `false` if its context was dropped first.
    pub async fn wait(&mut self) -> bool {
        loop {
            // Made before the check, so a change in between still wakes it.
            let changed = self.ready.changed.notified();
            match self.ready.state.load(Ordering::Acquire) {
                READY => return true,
                GONE => return false,
                _ => changed.await,
            }
        }
    }
}

impl DaemonContext {
    /// A context for the daemon `name`, cancelled through `cancel`.
    pub fn new(name: &'static str, cancel: CancellationToken) -> (Self, ReadyWatch) {
        Self::in_service(name, cancel, Arc::default(), None, None)
    }

    /// A context with the daemon's config and the service it runs in.
    pub(crate) fn in_service(
        name: &'static str,
        cancel: CancellationToken,
        config: Arc<DaemonConfig>,
        service: Option<Service>,
        fencing_token: Option<u64>,
    ) -> (Self, ReadyWatch) {
        let ready = Arc::new(ReadySignal::default());
        let watch = Arc::clone(&ready);
        let ctx = Self {
            _daemon: PhantomData,
            inner: Arc::new(ContextInner {
                name,
                cancel,
                ready,
                config,
                service,
                health: Mutex::new(None),
                health_registered: Notify::new(),
                fencing_token,
            }),
        };
        (ctx, ReadyWatch { ready: watch })
    }

    /// This context as the context of daemon `D` (what `#[daemon]` hands a
    /// runner that names its daemon).
    #[doc(hidden)]
    pub fn named<D: ?Sized>(self) -> DaemonContext<D> {
        DaemonContext {
            inner: self.inner,
            _daemon: PhantomData,
        }
    }
}

impl<D: ?Sized> DaemonContext<D> {
    /// In cluster mode, a singleton's fencing token: greater than that of any
    /// earlier leader. Pass it with every write to shared state, and have the
    /// store refuse writes with a smaller token than it has seen, so a leader
    /// that was paused past its lease cannot overwrite its successor's work.
    /// `None` for a daemon that is not a singleton, or outside cluster mode.
    pub fn fencing_token(&self) -> Option<u64> {
        self.inner.fencing_token
    }

    /// The daemon's effective settings.
    pub fn config(&self) -> &DaemonConfig {
        &self.inner.config
    }

    /// The service this daemon runs in, erased (see the `service` field).
    pub(crate) fn service(&self) -> Option<&Service> {
        self.inner.service.as_ref()
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
        *util::lock(&self.inner.health) = Some(probe);
        self.inner.health_registered.notify_one();
    }

    /// Completes once a health probe is registered (without taking it).
    pub(crate) async fn health_probe_registered(&self) {
        loop {
            let notified = self.inner.health_registered.notified();
            if util::lock(&self.inner.health).is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Waits for a health probe to be registered, and takes it.
    pub(crate) async fn take_health_probe(&self) -> HealthProbe {
        loop {
            let notified = self.inner.health_registered.notified();
            if let Some(probe) = util::lock(&self.inner.health).take() {
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
        self.inner.ready.state.store(READY, Ordering::Release);
        self.inner.ready.changed.notify_waiters();
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
