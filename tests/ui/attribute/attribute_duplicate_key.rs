// The same key given twice.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[daemon(DaemonType::AutoSync, runner = run, runner = run_again)]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

async fn run_again(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
