// A daemon's struct in a coordinator's depends_on: the message must not tell
// the user to make the daemon a coordinator.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run)]
pub struct AutoSync;

#[coordinator(depends_on = [AutoSync])]
pub struct Trainer;

impl Coordinator for Trainer {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
