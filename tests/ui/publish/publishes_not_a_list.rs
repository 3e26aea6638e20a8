// `publishes` takes a list in brackets.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GamesSynced {
    pub total: u64,
}

#[coordinator(publishes = GamesSynced)]
pub struct DataPipeline;

impl Coordinator for DataPipeline {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
