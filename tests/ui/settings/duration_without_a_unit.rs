// A duration written without its unit.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, ready_timeout = "30")]
pub struct AutoSync;

fn main() {}
