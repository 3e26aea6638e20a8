// `#[subscribe]` takes nothing, or `once`.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(distributed)]
pub struct ModelPromoted {
    pub model: String,
}

#[coordinator]
pub struct Promotion;

impl Coordinator for Promotion {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Promotion {
    #[subscribe(one)]
    async fn on_promoted(&self, _event: &ModelPromoted) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
