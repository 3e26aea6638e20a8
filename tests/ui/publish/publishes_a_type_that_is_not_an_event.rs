// `publishes` lists a type that is not an event.
use coord::prelude::*;

pub struct NotAnEvent;

#[coordinator(publishes = [NotAnEvent])]
pub struct DataPipeline;

impl Coordinator for DataPipeline {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
