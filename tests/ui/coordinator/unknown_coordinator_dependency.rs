// `depends_on` names a type that does not exist.
use coord::prelude::*;

#[coordinator(depends_on = [EventRouterCoordinatr])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
