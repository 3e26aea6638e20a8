// A runner whose future holds a non-Send value across an await: rustc's own
// explanation (which value, which await) must come through.
use std::rc::Rc;

use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run_auto_sync(ctx: DaemonContext) -> Result<(), BoxError> {
    let peers = Rc::new(vec!["a", "b"]);
    ctx.ready();
    ctx.cancelled().await;
    println!("{}", peers.len());
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]
pub struct AutoSync;

fn main() {}
