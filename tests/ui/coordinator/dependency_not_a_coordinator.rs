// `depends_on` names a type that exists but is not a coordinator.
use coord::prelude::*;

pub struct Settings;

#[coordinator(depends_on = [Settings])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
