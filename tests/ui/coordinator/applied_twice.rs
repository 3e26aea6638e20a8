// `#[coordinator]` twice on one struct.
use coord::prelude::*;

#[coordinator]
pub struct EventRouterCoordinator;

impl Coordinator for EventRouterCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator]
#[coord::coordinator(depends_on = [EventRouterCoordinator])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
