// Four coordinators, spread over modules, depend on each other in a circle.

mod routing {
    use coord::prelude::*;

    #[coordinator(depends_on = [super::promotion::PromotionController])]
    pub struct EventRouterCoordinator;

    impl Coordinator for EventRouterCoordinator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

mod pipeline {
    use coord::prelude::*;

    #[coordinator(depends_on = [super::routing::EventRouterCoordinator])]
    pub struct DataPipelineOrchestrator;

    impl Coordinator for DataPipelineOrchestrator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }

    #[coordinator(depends_on = [DataPipelineOrchestrator])]
    pub struct EvaluationCoordinator;

    impl Coordinator for EvaluationCoordinator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

mod promotion {
    use coord::prelude::*;

    #[coordinator(depends_on = [super::pipeline::EvaluationCoordinator])]
    pub struct PromotionController;

    impl Coordinator for PromotionController {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

fn main() {}
