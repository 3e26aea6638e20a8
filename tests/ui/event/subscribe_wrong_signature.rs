// Three handlers with signatures the bus cannot call: not async, the event
// taken by value, and no `&self`.
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
    fn on_sync(&self, _event: &TrainingCompleted) -> Result<(), BoxError> {
        Ok(())
    }

    #[subscribe]
    async fn on_by_value(&self, _event: TrainingCompleted) -> Result<(), BoxError> {
        Ok(())
    }

    #[subscribe]
    async fn on_static(_event: &TrainingCompleted) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
