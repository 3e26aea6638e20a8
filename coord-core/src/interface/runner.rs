//! The runner contract: what `#[daemon(runner = ...)]` accepts, and the
//! erased form the registry keeps.

use std::future::Future;
use std::pin::Pin;

use super::daemon::DaemonContext;
use crate::error::BoxError;

/// A boxed, sendable future, the erased form of runners and initialisers.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The erased runner of a daemon.
pub type RunnerFn = fn(DaemonContext) -> BoxFuture<'static, Result<(), BoxError>>;

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

/// What a health check's call returns: a future of `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0021] `{Self}` is not what a health check returns",
    label = "expected `async fn(ctx: DaemonContext) -> Result<(), E>`",
    note = "a health check is an async fn that takes the daemon's context by value and returns `Result<(), E>` where `E: Into<BoxError>`, e.g.\n      async fn check_sync(ctx: DaemonContext) -> Result<(), BoxError> {{ Ok(()) }}"
)]
pub trait HealthOutput {
    /// Boxes the future, erasing its error type.
    fn boxed(self) -> BoxFuture<'static, Result<(), BoxError>>
    where
        Self: Send + 'static;
}

#[diagnostic::do_not_recommend]
impl<F, E> HealthOutput for F
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

/// Erases a health check's future; `#[daemon(health = ...)]` calls it.
pub fn health_future<F>(future: F) -> BoxFuture<'static, Result<(), BoxError>>
where
    F: HealthOutput + Send + 'static,
{
    future.boxed()
}
