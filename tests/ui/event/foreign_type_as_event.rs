// A type from another crate as an event: the fix is a wrapper of one's own,
// never a derive on `String`.
use coord::prelude::*;

#[coordinator]
pub struct Trainer;

impl Coordinator for Trainer {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Trainer {
    #[subscribe]
    async fn on_name(&self, _name: &String) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
