// A registry spread over several modules, with soft dependencies and a
// coordinator chain, compiles and orders as declared.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    DataPipeline,
    FeedbackLoop,
    AutoSync,
    Evaluation,
    AutoPromotion,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

mod core_daemons {
    use super::{run, DaemonType};
    use coord::prelude::*;

    #[daemon(DaemonType::EventRouter, runner = run)]
    pub struct EventRouter;

    #[daemon(DaemonType::DataPipeline, runner = run, depends_on = [DaemonType::EventRouter])]
    pub struct DataPipeline;
}

mod sync_daemons {
    use super::{run, DaemonType};
    use coord::prelude::*;

    #[daemon(DaemonType::FeedbackLoop, runner = run, depends_on = [DaemonType::EventRouter])]
    pub struct FeedbackLoop;

    #[daemon(DaemonType::AutoSync, runner = run,
             depends_on = [DaemonType::DataPipeline, DaemonType::FeedbackLoop],
             soft_depends_on = [DaemonType::Evaluation], category = "sync", restart = always)]
    pub struct AutoSync;
}

mod model_daemons {
    use super::DaemonType;
    use coord::prelude::*;

    #[daemon(DaemonType::Evaluation, runner = super::run, depends_on = [DaemonType::EventRouter])]
    pub struct Evaluation;

    #[daemon(DaemonType::AutoPromotion, runner = crate::run, depends_on = [DaemonType::Evaluation])]
    pub struct AutoPromotion;
}

mod coordinators {
    pub mod routing {
        use coord::prelude::*;

        #[coordinator]
        pub struct EventRouterCoordinator;

        impl Coordinator for EventRouterCoordinator {
            async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                Ok(Self)
            }
        }
    }

    pub mod pipeline {
        use super::routing::EventRouterCoordinator;
        use coord::prelude::*;

        #[coordinator(depends_on = [EventRouterCoordinator])]
        pub struct DataPipelineOrchestrator;

        impl Coordinator for DataPipelineOrchestrator {
            async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                let _router = ctx.dep::<EventRouterCoordinator>();
                Ok(Self)
            }
        }
    }
}

fn main() {
    coord::validate_registry().expect("registry is complete");
    let order = coord::startup_order().expect("acyclic");
    assert_eq!(
        order.levels(),
        &[
            vec!["event_router"],
            vec!["data_pipeline", "feedback_loop", "evaluation"],
            vec!["auto_sync", "auto_promotion"],
        ]
    );
    let coordinators = coord::registry().coordinator_order().expect("acyclic");
    assert_eq!(
        coordinators.iter().collect::<Vec<_>>(),
        ["event_router_coordinator", "data_pipeline_orchestrator"]
    );
    assert_eq!("AUTO_SYNC".parse::<DaemonType>(), Ok(DaemonType::AutoSync));
    assert_eq!(DaemonType::AutoSync.name(), "auto_sync");
}
