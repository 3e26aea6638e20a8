// A variant was added to the enum, but no `#[daemon]` entry registers it.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    AutoSync,
}

#[daemon(DaemonType::EventRouter, runner = run)]
pub struct EventRouter;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
