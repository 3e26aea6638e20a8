// `#[event(...)]` takes only `name`.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(nmae = "model_trained")]
pub struct TrainingCompleted {
    pub model: String,
}

fn main() {}
