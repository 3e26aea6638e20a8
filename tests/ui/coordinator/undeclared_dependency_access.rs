// An initializer fetches a coordinator it did not declare in `depends_on`.
use coord::prelude::*;

#[coordinator]
pub struct EventRouterCoordinator;

impl Coordinator for EventRouterCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _router = ctx.dep::<EventRouterCoordinator>();
        Ok(Self)
    }
}

fn main() {}
