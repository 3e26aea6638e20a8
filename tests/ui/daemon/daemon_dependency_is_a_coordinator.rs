// A daemon's `depends_on` names a coordinator instead of a daemon variant.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[coordinator]
pub struct EventRouterCoordinator;

impl Coordinator for EventRouterCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[daemon(DaemonType::AutoSync, runner = run, depends_on = [EventRouterCoordinator])]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
