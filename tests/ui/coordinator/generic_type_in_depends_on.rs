// A generic type in depends_on: the coordinator is `Store`, not `Arc<Store>`.
use coord::prelude::*;

#[coordinator]
pub struct Store;

impl Coordinator for Store {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [std::sync::Arc<Store>])]
pub struct Trainer;

impl Coordinator for Trainer {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

fn main() {}
