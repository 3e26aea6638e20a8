// A health check that returns nothing, and one that takes no context.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

async fn check_nothing(_ctx: DaemonContext) {}

#[daemon(DaemonType::AutoSync, runner = run, health = check_nothing)]
pub struct AutoSync;

fn main() {}
