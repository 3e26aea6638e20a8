// The same coordinator under two spellings in one depends_on.
use coord::prelude::*;

mod routing {
    use coord::prelude::*;

    #[coordinator]
    pub struct EventRouterCoordinator;

    impl Coordinator for EventRouterCoordinator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

use routing::EventRouterCoordinator;

#[coordinator(depends_on = [EventRouterCoordinator, crate::routing::EventRouterCoordinator])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _router = ctx.dep::<EventRouterCoordinator>();
        Ok(Self)
    }
}

fn main() {}
