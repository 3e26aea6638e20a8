// The flag is `singleton`; a misspelt one is refused, not ignored.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    Promotion,
}

#[daemon(DaemonType::Promotion, runner = promote, singelton)]
pub struct Promotion;

async fn promote(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

fn main() {}
