// A health check that takes no context.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

async fn check() -> Result<(), BoxError> {
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, health = check)]
pub struct AutoSync;

fn main() {}
