// A duration given as a number, not text with a unit.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, shutdown_timeout = 10)]
pub struct AutoSync;

fn main() {}
