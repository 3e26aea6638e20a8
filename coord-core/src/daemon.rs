//! Daemon identities, the runner contract and the context a runner receives.

use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::error::{BoxError, UnknownName};

/// A boxed, sendable future, the erased form of runners and initialisers.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An enum whose variants name the daemons of a service; use `#[derive(DaemonType)]`.
pub trait DaemonKind:
    Copy + Eq + Hash + Debug + Send + Sync + 'static + FromStr<Err = UnknownName>
{
    /// The enum's name as written, e.g. `DaemonType`.
    const TYPE_NAME: &'static str;
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
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

/// What a running daemon receives: its name, readiness and shutdown signals.
#[derive(Clone, Debug)]
pub struct DaemonContext {
    inner: Arc<ContextInner>,
}

#[derive(Debug)]
struct ContextInner {
    name: &'static str,
    cancel: CancellationToken,
    ready: watch::Sender<bool>,
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
        let (ready, watch) = watch::channel(false);
        let ctx = Self {
            inner: Arc::new(ContextInner {
                name,
                cancel,
                ready,
            }),
        };
        (ctx, ReadyWatch { ready: watch })
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
    message = "`{Self}` cannot be used as a daemon runner",
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
