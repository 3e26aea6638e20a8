//! The contracts between your code and coord: the traits you implement or
//! derive (`Coordinator`, `DaemonKind`), the contexts your initialisers and
//! runners receive, and the compile-time graph nodes the macros emit.
//!
//! May use: `util`, `error`, `location`. Everything else builds on this;
//! nothing here knows the registry, bootstrap, daemons, events or the
//! `Coordination` handle (a daemon's context reaches the handle through the
//! narrow [`ServiceLink`] trait).

mod cluster;
mod coordinator;
mod daemon;
mod node;
mod options;
mod published;
mod runner;

pub use cluster::{
    ClusterConnector, ClusterError, ClusterLink, ClusterOptions, ClusterSnapshot, ConsumerSpec,
    DEFAULT_LEASE, DeliverFn, Delivery, DeliveryOutcome, LeaseClaim, LeaseHolder, NodeDaemon,
    NodeReport, OutgoingEvent, PublishFailed, Scope, unix_millis,
};
pub use coordinator::{
    AnyCoordinator, ConfigError, Coordinator, CoordinatorConfig, DependencyOf, InitContext,
    Instances, RegisteredCoordinator,
};
pub use daemon::{
    DaemonConfig, DaemonContext, DaemonKind, HealthProbe, ReadyWatch, RestartConfig, RestartPolicy,
    RunnerContext, UnnamedDaemon,
};
pub(crate) use daemon::{Service, ServiceLink};
pub use node::{
    Category, CoordNode, CoordNodeRef, DaemonEntrySpec, DaemonGraph, DaemonNode, DaemonNodeRef,
    DaemonSlot, HARD, SOFT, category_name, node_id, repeat_position,
};
pub use options::{
    Backoff, DaemonOptions, GiveUp, HealthCheck, SettingError, format_duration, parse_backoff,
    parse_give_up, parse_positive_duration,
};
pub use published::EventRef;
pub use runner::{
    BoxFuture, DaemonRunner, HealthOutput, RunnerFn, RunnerOutput, health_future, runner_future,
};
