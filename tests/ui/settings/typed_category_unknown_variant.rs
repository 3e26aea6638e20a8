// A typed category whose variant does not exist: a typo caught by the compiler.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[derive(Debug)]
pub enum Category {
    Sync,
}

#[daemon(DaemonType::AutoSync, runner = run, category = Category::Snyc)]
pub struct AutoSync;

fn main() {}
