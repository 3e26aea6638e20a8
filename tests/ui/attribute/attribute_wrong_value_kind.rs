// Values of the wrong kind: a single path where a list is expected, a path
// where a string is expected, and an unknown restart policy.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    AutoSync,
}

#[daemon(DaemonType::EventRouter, runner = run, category = core)]
pub struct EventRouter;

#[daemon(DaemonType::AutoSync, runner = run, depends_on = DaemonType::EventRouter, restart = sometimes)]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
