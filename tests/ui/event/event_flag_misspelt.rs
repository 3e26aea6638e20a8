// `#[event(...)]` takes the flag `distributed`, spelt out.
use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
#[event(distribute)]
pub struct ModelPromoted {
    pub model: String,
}

fn main() {}
