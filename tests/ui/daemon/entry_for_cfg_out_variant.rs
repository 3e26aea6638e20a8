// The variant is compiled out while its entry stays: the entry must not
// silently register nothing.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    #[cfg(target_os = "windows")]
    GpuTrainer,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::EventRouter, runner = run)]
pub struct EventRouter;

#[daemon(DaemonType::GpuTrainer, runner = run)]
pub struct GpuTrainer;

fn main() {}
