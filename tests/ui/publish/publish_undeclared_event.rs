// A coordinator publishes an event it does not declare in `publishes`.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GamesSynced {
    pub total: u64,
}

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainingCompleted {
    pub loss: f64,
}

#[coordinator(publishes = [GamesSynced])]
pub struct DataPipeline;

impl Coordinator for DataPipeline {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        ctx.publish(GamesSynced { total: 1 }).await;
        ctx.publish(TrainingCompleted { loss: 0.5 }).await;
        Ok(Self)
    }
}

fn main() {}
