// A generic coordinator: one error, no cascade.
use coord::prelude::*;

#[coordinator]
pub struct Cache<T> {
    pub entries: Vec<T>,
}

impl<T: Send + Sync + 'static> Coordinator for Cache<T> {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self { entries: Vec::new() })
    }
}

fn main() {}
