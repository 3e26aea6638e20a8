// A handler takes the context of another coordinator, to publish as it.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(external)]
pub struct TrainingCompleted {
    pub model: String,
}

#[coordinator]
pub struct Router;

impl Coordinator for Router {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator]
pub struct PromotionController;

impl Coordinator for PromotionController {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl PromotionController {
    #[subscribe]
    async fn on_training_completed(
        &self,
        _event: &TrainingCompleted,
        _ctx: &HandlerContext<Router>,
    ) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
