// The handler's argument is a type without `#[derive(Event)]`.
use coord::prelude::*;

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

#[subscriptions]
impl Pipeline {
    #[subscribe]
    async fn on_training_completed(&self, _event: &TrainingCompleted) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
