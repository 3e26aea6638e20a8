// The runner is a plain fn returning `()`, not an async fn returning a Result.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]
pub struct AutoSync;

fn run_auto_sync(ctx: DaemonContext) {
    ctx.ready();
}

fn main() {}
