// A runner that returns something other than Result<(), E>.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run_auto_sync(ctx: DaemonContext) -> u32 {
    ctx.ready();
    0
}

#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]
pub struct AutoSync;

fn main() {}
