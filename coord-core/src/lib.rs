//! Runtime of coord: the registry, ordering and the contracts the macros target.
//!
//! Use it through the `coord` facade crate, which re-exports this crate and the
//! macros.

mod bootstrap;
pub mod cli;
mod coordinator;
mod daemon;
mod error;
mod events;
mod location;
mod logging;
mod manager;
mod order;
mod registry;
mod restart;
mod run;
mod static_check;
mod store;
mod util;

pub use bootstrap::{
    BootstrapReport, BootstrapStatus, BuildError, Coordination, CoordinationBuilder,
    CoordinatorState, CoordinatorStatus, DEFAULT_INIT_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, InitError,
    NotInitialized, SharedError, ShutdownError, ShutdownReport, SubscriptionStatus,
};
pub use coordinator::{Coordinator, DependencyOf, InitContext, Instances, RegisteredCoordinator};
pub use daemon::{
    BoxFuture, DaemonConfig, DaemonContext, DaemonKind, DaemonRunner, HealthProbe, ReadyWatch,
    RestartPolicy,
};
pub use error::{BoxError, UnknownName};
pub use events::{
    BusConfig, DeadLetter, DeadLetterState, Envelope, Event, EventBus, EventCounts, EventId,
    EventMeta, Handler, HandlerResult, SubscribeError, SubscribingCoordinator, SubscriptionSpec,
    subscription_specs,
};
pub use location::Location;
pub use logging::{LoggingError, init_logging, log_filter_from_env};
pub use manager::{
    DaemonError, DaemonManager, DaemonManagerNotStarted, DaemonRef, DaemonShutdownReport,
    DaemonState, DaemonStatus, DaemonTransition, HealthSummary, MissingDependency, StartReport,
};
pub use order::StartupOrder;
pub use order::{CycleStep, DroppedSoftEdge};
pub use registry::{
    AnyCoordinator, CoordinatorRegistration, CoordinatorSpec, DaemonKindSpec, DaemonSpec,
    OrderError, Registry, RegistryProblem, RegistryProblems, RunnerFn, registry, startup_order,
    validate_registry,
};
pub use restart::RestartConfig;
pub use run::{RunReport, shutdown_signal};
pub use store::{
    CommandRecord, CoordinatorRecord, DATABASE_FILE, DEFAULT_DATA_DIR, DEFAULT_FILE_MODE,
    DaemonRecord, DeadLetterRecord, EventRecord, HEARTBEAT_PERIOD, LOCK_FILE, LockState, Owner,
    OwnerLock, Probe, Retention, RunRecord, SCHEMA_VERSION, SECRET_FILE, STALE_AFTER, StateStore,
    StoreError, data_dir_from_env, prepare_data_dir, probe,
};

/// The functions generated code passes your items through; their bounds are
/// where a runner or a handler with the wrong shape is reported.
pub mod contract {
    pub use crate::daemon::{RunnerOutput, runner_future};
    pub use crate::events::subscribe_method;
}

/// Items the macros expand to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::events::{BindingInfo, BindingRequest};
    pub use crate::static_check::{
        CoordNode, CoordNodeRef, DaemonEntrySpec, DaemonGraph, DaemonNode, DaemonNodeRef,
        DaemonSlot, Finding, HARD, Message, SOFT, check_coordinator, check_daemon_entry,
        explain_coordinator, explain_daemon_entry, fail, node_id, repeat_position,
    };
    pub use inventory;
}
