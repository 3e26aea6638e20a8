// An entry for a variant the enum does not have.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::EventRouter, runner = run)]
pub struct EventRouter;

#[daemon(DaemonType::EventRuoter, runner = run)]
pub struct Misspelt;

fn main() {}
