// Handlers live on coordinators; `Settings` is a plain struct.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainingCompleted {
    pub model: String,
}

pub struct Settings;

#[subscriptions]
impl Settings {
    #[subscribe]
    async fn on_training_completed(&self, _event: &TrainingCompleted) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
