// `critical` written as a string.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, critical = "yes")]
pub struct AutoSync;

fn main() {}
