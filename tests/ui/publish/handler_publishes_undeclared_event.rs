// A handler publishes, through its context, an event its coordinator does
// not declare.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(external)]
pub struct TrainingCompleted {
    pub model: String,
}

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ModelPromoted {
    pub model: String,
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
        event: &TrainingCompleted,
        ctx: &HandlerContext<Self>,
    ) -> Result<(), BoxError> {
        ctx.publish(ModelPromoted {
            model: event.model.clone(),
        })
        .await;
        Ok(())
    }
}

fn main() {}
