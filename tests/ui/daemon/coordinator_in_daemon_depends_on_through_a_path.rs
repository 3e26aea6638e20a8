// A coordinator named through a module path in a daemon's depends_on.
use coord::prelude::*;

mod coordinators {
    use coord::prelude::*;

    #[coordinator]
    pub struct EventRouterCoordinator {
        pub routes: usize,
    }

    impl Coordinator for EventRouterCoordinator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self { routes: 0 })
        }
    }
}

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::AutoSync, runner = run,
         depends_on = [crate::coordinators::EventRouterCoordinator])]
pub struct AutoSync;

fn main() {}
