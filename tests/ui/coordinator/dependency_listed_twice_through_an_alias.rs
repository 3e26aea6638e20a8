// The same coordinator through a type alias of another name: rustc reports
// the two impls it makes as conflicting, then coord says it is listed twice.
use coord::prelude::*;

mod routing {
    use coord::prelude::*;

    #[coordinator]
    pub struct EventRouterCoordinator;

    impl Coordinator for EventRouterCoordinator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

use routing::EventRouterCoordinator;
type Router = routing::EventRouterCoordinator;

#[coordinator(depends_on = [EventRouterCoordinator, Router])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _router = ctx.dep::<EventRouterCoordinator>();
        Ok(Self)
    }
}

fn main() {}
