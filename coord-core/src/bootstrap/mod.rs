//! Bootstrap: the coordinators of a service initialised in dependency order,
//! concurrently where independent, each failure contained and its
//! dependents skipped with it as root cause; then recovery (re-initialise
//! one coordinator and its dependents, reset) and shutdown, dependents first.
//!
//! May use: `interface`, `registry`, `util`, `error`. Nothing here knows
//! daemons or events: the `Coordination` handle wires event handlers as
//! coordinators come and go, through the [`Lifecycle`] hooks.

mod bootstrapper;
mod plan;
mod recovery;
mod scheduler;
mod status;

pub(crate) use bootstrapper::{Bootstrapper, Lifecycle};
pub(crate) use plan::{CoordinatorPlan, CoordinatorSettings};
pub use status::{
    BootstrapReport, BootstrapStatus, CoordinatorState, CoordinatorStatus, DEFAULT_INIT_TIMEOUT,
    DEFAULT_SHUTDOWN_TIMEOUT, InitError, NotInitialized, SharedError, ShutdownError,
    ShutdownReport,
};
