// Three daemons, declared in two modules, wait on each other in a circle.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    DataPipeline,
    FeedbackLoop,
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

mod pipeline {
    use super::{run, DaemonType};
    use coord::prelude::*;

    #[daemon(DaemonType::EventRouter, runner = run)]
    pub struct EventRouter;

    #[daemon(DaemonType::DataPipeline, runner = run, depends_on = [DaemonType::EventRouter, DaemonType::FeedbackLoop])]
    pub struct DataPipeline;
}

mod sync {
    use super::{run, DaemonType};
    use coord::prelude::*;

    #[daemon(DaemonType::FeedbackLoop, runner = run, depends_on = [DaemonType::AutoSync])]
    pub struct FeedbackLoop;

    #[daemon(DaemonType::AutoSync, runner = run, depends_on = [DaemonType::DataPipeline])]
    pub struct AutoSync;
}

fn main() {}
