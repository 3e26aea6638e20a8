// Two entries claim the same variant, in different modules.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

mod first {
    use super::{run, DaemonType};
    use coord::prelude::*;

    #[daemon(DaemonType::EventRouter, runner = run)]
    pub struct EventRouter;
}

mod second {
    use super::{run, DaemonType};
    use coord::prelude::*;

    #[daemon(DaemonType::EventRouter, runner = run)]
    pub struct RouterAgain;
}

fn main() {}
