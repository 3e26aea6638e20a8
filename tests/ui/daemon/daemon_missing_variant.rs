// `#[daemon]` without the variant it registers.
use coord::prelude::*;

#[daemon(runner = run)]
pub struct AutoSync;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
