//! Runtime of coord: the contracts the macros target, the registry and its
//! compile-time checks, bootstrap, daemons, events, the `Coordination`
//! handle that composes them, the state store and the command line.
//!
//! Use it through the `coord` facade crate, which re-exports this crate and the
//! macros.
//!
//! # Map (imports point down this list, never up)
//! - `util`, `error`, `location`: shared helpers and the leaf types.
//! - `interface`: the contracts: `Coordinator`, `DaemonKind`, contexts,
//!   runners, and the compile-time nodes the macros emit.
//! - `registry`: specs of what was registered, the const-evaluated checks,
//!   dependency order.
//! - `bootstrap`, `daemons`, `events`: one concept each; none imports another.
//! - `coordination`: the `Coordination` handle, the one place composing them.
//! - `config`: the config file, applied to the handle's builder.
//! - `logging`, `store`, `cli`: operating a service.

mod bootstrap;
pub mod cli;
mod config;
mod coordination;
mod daemons;
mod error;
mod events;
mod interface;
mod location;
mod logging;
mod registry;
mod store;
/// Testing a service's coordinators and daemons (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing;
mod util;

pub use bootstrap::{
    BootstrapReport, BootstrapStatus, CoordinatorState, CoordinatorStatus, DEFAULT_INIT_TIMEOUT,
    DEFAULT_SHUTDOWN_TIMEOUT, InitError, NotInitialized, SharedError, ShutdownError,
    ShutdownReport,
};
pub use config::{
    ConfigError, CoordinatorSection, DEFAULT_CONFIG_FILE, DaemonSection, ServiceConfig,
};
pub use coordination::{
    Coordination, CoordinationBuilder, EventWiring, RunReport, SubscriptionStatus, UnhandledEvent,
    event_wiring, shutdown_signal, unhandled_events, validate_registry,
};
pub use daemons::{
    CriticalFailure, DaemonError, DaemonManager, DaemonManagerNotStarted, DaemonRef,
    DaemonShutdownReport, DaemonState, DaemonStatus, DaemonTransition, HealthSummary,
    MissingDependency, StartReport,
};
pub use error::{BoxError, UnknownName};
pub use events::{
    AdoptReport, BusConfig, DeadLetter, DeadLetterState, Envelope, Event, EventBus, EventCounts,
    EventId, EventMeta, EventObserver, Handler, HandlerContext, HandlerLatency, HandlerResult,
    LATENCY_BUCKETS, PublishedBy, Publisher, SubscribeError, SubscribingCoordinator,
    SubscriptionSpec, subscription_specs,
};
pub use interface::{
    AnyCoordinator, Backoff, BoxFuture, ConfigError as CoordinatorConfigError, Coordinator,
    CoordinatorConfig, DaemonConfig, DaemonContext, DaemonKind, DaemonOptions, DaemonRunner,
    DependencyOf, EventRef, GiveUp, HealthCheck, HealthProbe, InitContext, Instances, ReadyWatch,
    RegisteredCoordinator, RestartConfig, RestartPolicy, RunnerContext, RunnerFn, SettingError,
    UnnamedDaemon,
};
/// Cluster mode: the contract a cluster engine implements, and what crosses nodes.
pub mod cluster {
    pub use crate::interface::{
        ClusterConnector, ClusterError, ClusterLink, ClusterOptions, ClusterSnapshot, ConsumerSpec,
        DEFAULT_LEASE, DeliverFn, Delivery, DeliveryOutcome, LeaseClaim, LeaseHolder, NodeDaemon,
        NodeReport, OutgoingEvent, PublishFailed, Scope, unix_millis,
    };
}
pub use location::Location;
pub use logging::{LoggingError, init_logging, log_filter_from_env};
pub use registry::{
    BuildError, CoordinatorRegistration, CoordinatorSpec, CycleStep, DaemonKindSpec, DaemonSpec,
    DroppedSoftEdge, OrderError, Registry, RegistryProblem, RegistryProblems, StartupOrder,
    registry, startup_order,
};
pub use store::{
    CommandRecord, CoordinatorRecord, DATABASE_FILE, DEFAULT_DATA_DIR, DEFAULT_FILE_MODE,
    DaemonRecord, DeadLetterRecord, EventRecord, HEARTBEAT_PERIOD, LOCK_FILE, LockState, Owner,
    OwnerLock, Probe, Retention, RunRecord, SCHEMA_VERSION, SECRET_FILE, STALE_AFTER, StateStore,
    StoreError, data_dir_from_env, prepare_data_dir, probe,
};

/// The functions generated code passes your items through; their bounds are
/// where a runner or a handler with the wrong shape is reported.
pub mod contract {
    pub use crate::events::{HandlerContextOf, handler_context, subscribe_method};
    pub use crate::interface::{HealthOutput, RunnerOutput, health_future, runner_future};
}

/// Items the macros expand to; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::events::{BindingInfo, BindingRequest, published_event};
    pub use crate::interface::Scope;
    pub use crate::interface::{
        Category, CoordNode, CoordNodeRef, DaemonEntrySpec, DaemonGraph, DaemonNode, DaemonNodeRef,
        DaemonSlot, HARD, SOFT, category_name, node_id, repeat_position,
    };
    pub use crate::registry::check::{
        Finding, Message, check_coordinator, check_daemon_entry, check_setting,
        explain_coordinator, explain_daemon_entry, fail, setting_backoff, setting_duration,
        setting_give_up,
    };
    pub use inventory;
}
