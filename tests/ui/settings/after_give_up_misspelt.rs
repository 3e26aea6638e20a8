// An `after_give_up` rule that is neither "stop" nor "retry_every(D)".
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run, after_give_up = "retry_every 30m")]
pub struct AutoSync;

fn main() {}
