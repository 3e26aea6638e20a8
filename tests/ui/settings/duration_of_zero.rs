// A zero duration where zero makes no sense.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, stable_after = "0s")]
pub struct AutoSync;

fn main() {}
