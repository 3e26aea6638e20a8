// `max_restarts` as text, and a zero `health_threshold`.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

async fn check(_ctx: DaemonContext) -> Result<(), BoxError> {
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, max_restarts = "3", health = check, health_threshold = 0)]
pub struct AutoSync;

fn main() {}
