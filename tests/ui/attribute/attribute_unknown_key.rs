// A misspelt key in `#[daemon(...)]`.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    AutoSync,
}

#[daemon(DaemonType::EventRouter, runner = run)]
pub struct EventRouter;

#[daemon(DaemonType::AutoSync, runner = run, depend_on = [DaemonType::EventRouter])]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
