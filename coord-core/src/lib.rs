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

pub use bootstrap::{
    BootstrapReport, BootstrapStatus, BuildError, Coordination, CoordinationBuilder,
    CoordinatorState, CoordinatorStatus, DEFAULT_INIT_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, InitError,
    NotInitialized, SharedError, ShutdownError, ShutdownReport, SubscriptionStatus,
};
pub use coordinator::{Coordinator, DependsOn, InitContext, Instances};
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
pub use registry::{
    AnyCoordinator, CoordinatorSpec, DaemonKindSpec, DaemonSpec, OrderError, Registry,
    RegistryProblem, RegistryProblems, RunnerFn, registry, startup_order, validate_registry,
};
pub use restart::RestartConfig;
pub use run::{RunReport, shutdown_signal};
pub use store::{
    CommandRecord, CoordinatorRecord, DATABASE_FILE, DEFAULT_DATA_DIR, DaemonRecord,
    DeadLetterRecord, EventRecord, RunRecord, SCHEMA_VERSION, StateStore, StoreError,
    data_dir_from_env,
};

/// Items the macros expand to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::coordinator::CoordinatorNode;
    pub use crate::events::{BindingRequest, wire_method};
    pub use crate::static_check::{
        CoordNode, DaemonEntry, NodeRef, Verdict, check_coordinator_cycles, check_daemon_kind,
        node_id,
    };
    pub use inventory;

    use crate::{BoxError, BoxFuture, DaemonContext, DaemonRunner};

    /// Runs `runner`; the bound is where a wrong runner signature is reported.
    pub fn run_daemon<R: DaemonRunner>(
        runner: R,
        ctx: DaemonContext,
    ) -> BoxFuture<'static, Result<(), BoxError>> {
        runner.run(ctx)
    }
}
