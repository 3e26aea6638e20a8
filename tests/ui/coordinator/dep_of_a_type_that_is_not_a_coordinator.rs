// ctx.dep::<String>(): String is not a coordinator (and must not be told to
// implement Coordinator or to join depends_on).
use coord::prelude::*;

#[coordinator]
pub struct Trainer;

impl Coordinator for Trainer {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _name = ctx.dep::<String>();
        Ok(Self)
    }
}

fn main() {}
