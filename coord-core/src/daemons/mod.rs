//! Daemons: the plan of enabled daemons, the manager that starts them in
//! dependency order, one supervisor per daemon, restart policy and health
//! checks, and shutdown, dependents first.
//!
//! # Invariants
//! 1. A daemon's runner runs inside its supervisor task, so a restart never
//!    overlaps the instance before it.
//! 2. A daemon starts only once every hard dependency is ready and every
//!    enabled soft dependency has settled; a dependency that fails for good
//!    stops its dependents, which come back when it is started again.
//!
//! May use: `interface`, `registry`, `util`, `error`. Nothing here knows
//! bootstrap, events or the `Coordination` handle: a daemon's context reaches
//! the service through `interface::ServiceLink`.

mod exit;
mod health;
mod lease;
mod manager;
mod plan;
mod restart;
mod shutdown;
mod start;
mod status;
mod status_cell;
mod supervisor;
mod waits;

pub use manager::DaemonManager;
pub use plan::DaemonRef;
pub(crate) use plan::{DaemonOverride, DaemonPlan, DaemonSettings, RunnerOverride};
pub use status::{
    CriticalFailure, DaemonError, DaemonManagerNotStarted, DaemonShutdownReport, DaemonState,
    DaemonStatus, DaemonTransition, HealthSummary, MissingDependency, StartReport,
};
