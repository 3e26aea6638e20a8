// `depends_on` names a variant that does not exist (a typo).
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    AutoSync,
}

#[daemon(DaemonType::EventRouter, runner = run)]
pub struct EventRouter;

#[daemon(DaemonType::AutoSync, runner = run, depends_on = [DaemonType::EventRuter])]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
