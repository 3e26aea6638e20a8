//! coord: start and keep alive the coordinators and daemons of a service, with
//! every wiring mistake the compiler can see rejected by the compiler.
//!
//! ```ignore
//! use coord::prelude::*;
//!
//! #[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
//! pub enum DaemonType { EventRouter, AutoSync }
//!
//! #[daemon(DaemonType::EventRouter, runner = run_router)]
//! pub struct EventRouter;
//!
//! #[daemon(DaemonType::AutoSync, runner = run_sync, depends_on = [DaemonType::EventRouter])]
//! pub struct AutoSync;
//! ```

pub use coord_core::*;
pub use coord_macros::{DaemonType, Event, coordinator, daemon, subscribe, subscriptions};
/// The token that cancels a daemon, from tokio-util.
pub use tokio_util::sync::CancellationToken;

/// What most coord programs need in scope.
pub mod prelude {
    pub use coord_core::{
        BoxError, Coordination, Coordinator, DaemonContext, DaemonKind, Event, HandlerContext,
        InitContext, Publisher, RestartPolicy,
    };
    pub use coord_macros::{DaemonType, Event, coordinator, daemon, subscribe, subscriptions};
}

#[doc(hidden)]
pub use coord_core::__private;

/// Testing a service's coordinators and daemons: `TestCoordination` (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing {
    pub use coord_core::testing::*;
}

/// Cluster mode on NATS JetStream: `coord::nats::connect(options)` (feature `nats`).
#[cfg(feature = "nats")]
pub mod nats {
    pub use coord_nats::*;
}

/// The command line of a coord service; with the `nats` feature, `run
/// --cluster` connects through [`nats`](crate::nats).
pub mod cli {
    pub use coord_core::cli::*;

    /// Runs the command line of `app` from the process's arguments; returns the exit code.
    pub async fn run(app: App) -> std::process::ExitCode {
        coord_core::cli::run(with_cluster(app)).await
    }

    /// Runs the command line of `app` from `args` (the first is the program name).
    pub async fn run_with_args<I, T>(app: App, args: I) -> std::process::ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        coord_core::cli::run_with_args(with_cluster(app), args).await
    }

    /// `app` able to join a cluster when coord is built with it.
    fn with_cluster(app: App) -> App {
        #[cfg(feature = "nats")]
        let app = app.cluster_connector(coord_nats::connector);
        app
    }
}
