// `#[subscribe]` in an impl that is not marked `#[subscriptions]`: nothing
// would ever wire it (the failure the replaced system had in 10 of 13 cases).
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainingCompleted {
    pub model: String,
}

#[coordinator]
pub struct Pipeline;

impl Coordinator for Pipeline {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

impl Pipeline {
    #[subscribe]
    async fn on_training_completed(&self, _event: &TrainingCompleted) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
