// Diamond-shaped graphs (several paths to one dependency) are not cycles, for
// daemons and for coordinators; and a deep ladder stays cheap to check.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    Top,
    Left,
    Right,
    Bottom,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    Ok(())
}

#[daemon(DaemonType::Top, runner = run)]
pub struct Top;
#[daemon(DaemonType::Left, runner = run, depends_on = [DaemonType::Top])]
pub struct Left;
#[daemon(DaemonType::Right, runner = run, depends_on = [DaemonType::Top])]
pub struct Right;
#[daemon(DaemonType::Bottom, runner = run, depends_on = [DaemonType::Left, DaemonType::Right, DaemonType::Top])]
pub struct Bottom;

macro_rules! trivial_coordinator {
    ($name:ident $(, $dep:ident)*) => {
        #[coordinator(depends_on = [$($dep),*])]
        pub struct $name;

        impl Coordinator for $name {
            async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                Ok(Self)
            }
        }
    };
}

trivial_coordinator!(A);
trivial_coordinator!(B, A);
trivial_coordinator!(C, A);
trivial_coordinator!(D, B, C, A);
trivial_coordinator!(E, D, C, B);
trivial_coordinator!(F, E, D, C);
trivial_coordinator!(G, F, E, D);

fn main() {
    let order = coord::startup_order().expect("a diamond is acyclic");
    assert_eq!(order.levels(), &[vec!["top"], vec!["left", "right"], vec!["bottom"]]);
    let coordinators = coord::registry().coordinator_order().expect("acyclic");
    assert_eq!(coordinators.levels().len(), 6);
}
