// `AutoSync` of another enum is not this daemon itself: it is a daemon of
// another enum, which a `depends_on` cannot name.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Legacy {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(Legacy::AutoSync, runner = run)]
pub struct LegacySync;

#[daemon(DaemonType::AutoSync, runner = run, depends_on = [Legacy::AutoSync])]
pub struct AutoSync;

fn main() {}
