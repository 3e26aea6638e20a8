// A coordinator lists itself in `depends_on`.
use coord::prelude::*;

#[coordinator(depends_on = [DataPipelineOrchestrator])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
