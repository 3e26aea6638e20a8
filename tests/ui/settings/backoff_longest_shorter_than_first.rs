// A backoff whose longest delay is shorter than its first.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, backoff = "5m..1s")]
pub struct AutoSync;

fn main() {}
