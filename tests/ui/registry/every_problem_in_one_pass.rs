// One `cargo check` reports every registry problem of the crate: two missing
// entries, a duplicate entry, a self-dependency, two disjoint daemon cycles
// and a coordinator cycle. None hides another.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    DataPipeline,
    FeedbackLoop,
    Evaluation,
    AutoPromotion,
    Unregistered,
    Forgotten,
    Loner,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

mod routing {
    use super::{DaemonType, run};
    use coord::prelude::*;

    #[daemon(DaemonType::EventRouter, runner = run)]
    pub struct EventRouter;

    #[daemon(DaemonType::EventRouter, runner = run)]
    pub struct EventRouterAgain;
}

mod pipeline {
    use super::{DaemonType, run};
    use coord::prelude::*;

    #[daemon(DaemonType::DataPipeline, runner = run, depends_on = [DaemonType::FeedbackLoop])]
    pub struct DataPipeline;

    #[daemon(DaemonType::FeedbackLoop, runner = run, depends_on = [DaemonType::DataPipeline])]
    pub struct FeedbackLoop;
}

mod models {
    use super::{DaemonType, run};
    use coord::prelude::*;

    #[daemon(DaemonType::Evaluation, runner = run, depends_on = [DaemonType::AutoPromotion])]
    pub struct Evaluation;

    #[daemon(DaemonType::AutoPromotion, runner = run, depends_on = [DaemonType::Evaluation])]
    pub struct AutoPromotion;

    #[daemon(DaemonType::Loner, runner = run, depends_on = [DaemonType::Loner])]
    pub struct Loner;
}

#[coordinator(depends_on = [Scheduler])]
pub struct Planner;

impl Coordinator for Planner {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [Planner])]
pub struct Scheduler;

impl Coordinator for Scheduler {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
