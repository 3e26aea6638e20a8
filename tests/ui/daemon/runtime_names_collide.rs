// Two variants whose runtime names are the same: `io_worker`.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    IoWorker,
    IOWorker,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::IoWorker, runner = run)]
pub struct IoWorker;

#[daemon(DaemonType::IOWorker, runner = run)]
pub struct IoWorkerAgain;

fn main() {}
