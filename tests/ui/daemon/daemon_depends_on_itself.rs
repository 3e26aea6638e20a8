// A daemon lists its own variant in `depends_on`.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[daemon(DaemonType::AutoSync, runner = run, depends_on = [DaemonType::AutoSync])]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
