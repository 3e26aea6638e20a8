//! The registry: everything `#[daemon]`, `#[coordinator]` and
//! `#[derive(DaemonType)]` registered, the checks the compiler runs on it,
//! and the dependency order of what it lists.
//!
//! May use: `interface`, `util`, `error`, `location`. Bootstrap, daemons and
//! events read it; nothing here knows them.

mod catalog;
pub(crate) mod check;
mod order;
mod problem;
mod spec;

pub use catalog::{Registry, registry, startup_order};
pub(crate) use catalog::{duplicate_daemon_names, find_coordinator};
pub use order::{CycleStep, DroppedSoftEdge, StartupOrder};
pub(crate) use order::{OrderNode, levels};
pub use problem::{BuildError, OrderError, RegistryProblem, RegistryProblems};
pub use spec::{CoordinatorRegistration, CoordinatorSpec, DaemonKindSpec, DaemonSpec};
