// A handler must say whether it succeeded: it returns `()`.
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

#[subscriptions]
impl Pipeline {
    #[subscribe]
    async fn on_training_completed(&self, _event: &TrainingCompleted) -> Option<()> {
        None
    }
}

fn main() {}
