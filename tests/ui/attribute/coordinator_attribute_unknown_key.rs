// `#[coordinator]` takes only `depends_on`; the dependents still compile.
use coord::prelude::*;

#[coordinator(depends = [])]
pub struct EventRouterCoordinator;

impl Coordinator for EventRouterCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [EventRouterCoordinator])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
