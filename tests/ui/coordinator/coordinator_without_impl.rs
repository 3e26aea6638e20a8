// `#[coordinator]` on a type that never implements `Coordinator`.
use coord::prelude::*;

#[coordinator]
pub struct EventRouterCoordinator;

fn main() {}
