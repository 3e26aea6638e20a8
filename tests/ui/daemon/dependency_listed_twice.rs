// The same dependency under two spellings.
use coord::prelude::*;

mod kinds {
    use coord::prelude::*;

    #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum DaemonType {
        EventRouter,
        DataPipeline,
    }
}

use kinds::DaemonType;
use kinds::DaemonType as Kind;

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::EventRouter, runner = run)]
pub struct EventRouter;

#[daemon(DaemonType::DataPipeline, runner = run,
         depends_on = [DaemonType::EventRouter, crate::kinds::DaemonType::EventRouter])]
pub struct DataPipeline;

// Through an alias in soft_depends_on too.
#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Other {
    A,
    B,
}

#[daemon(Other::A, runner = run)]
pub struct A;

#[daemon(Other::B, runner = run, soft_depends_on = [Other::A, self::Other::A])]
pub struct B;

#[allow(dead_code)]
fn use_alias(_: Kind) {}

fn main() {}
