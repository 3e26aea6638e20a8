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
        BoxError, Coordination, Coordinator, DaemonContext, DaemonKind, Event, InitContext,
        RestartPolicy,
    };
    pub use coord_macros::{DaemonType, Event, coordinator, daemon, subscribe, subscriptions};
}

#[doc(hidden)]
pub use coord_core::__private;
