//! What bootstrap reports: each coordinator's state, errors with their root
//! cause, and the reports of a bootstrap or shutdown pass.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// An error shared between the status, the report and dependents' causes.
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// Default time an initializer may take.
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a coordinator's shutdown hook may take.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a coordinator is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoordinatorState {
    /// Not initialised yet.
    Pending,
    /// Its initializer is running.
    Initializing,
    /// Initialised and reachable.
    Ready,
    /// Its initializer failed, panicked or timed out.
    Failed,
    /// Not started because a dependency is not initialised.
    Skipped,
    /// Shut down.
    Stopped,
}

impl CoordinatorState {
    /// The lower-case name used in status output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Initializing => "initializing",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Stopped => "stopped",
        }
    }

    pub(super) fn is_settled(self) -> bool {
        matches!(self, Self::Ready | Self::Failed | Self::Skipped)
    }
}

impl fmt::Display for CoordinatorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a coordinator is not initialised.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InitError {
    /// Its initializer returned an error.
    #[error("[coord::E0201] coordinator '{name}' failed to initialize: {source}")]
    Failed {
        /// The coordinator.
        name: &'static str,
        /// What the initializer returned.
        source: SharedError,
    },
    /// Its initializer panicked.
    #[error("[coord::E0202] coordinator '{name}' panicked while initializing: {message}")]
    Panicked {
        /// The coordinator.
        name: &'static str,
        /// The panic's message.
        message: String,
    },
    /// Its initializer ran past its timeout and was cancelled.
    #[error(
        "[coord::E0203] coordinator '{name}' did not finish initializing within {after:?} and was cancelled; \
         find what it waits on, or raise its limit with `coordinator_timeout(\"{name}\", ...)`"
    )]
    TimedOut {
        /// The coordinator.
        name: &'static str,
        /// The limit it ran past.
        after: Duration,
    },
    /// A dependency is not initialised, so it was not started.
    #[error(
        "[coord::E0204] Coordinator '{name}' depends on '{dependency}' which is not initialized (root cause: {})",
        .cause.root_cause()
    )]
    DependencyNotInitialized {
        /// The coordinator that was skipped.
        name: &'static str,
        /// Its dependency that is not initialised.
        dependency: &'static str,
        /// Why the dependency is not initialised.
        #[source]
        cause: Arc<InitError>,
    },
    /// A dependency outside this run has never been initialised.
    #[error("[coord::E0205] coordinator '{name}' has not been initialized; run bootstrap() first")]
    NotStarted {
        /// The coordinator.
        name: &'static str,
    },
}

impl InitError {
    /// The coordinator this error is about.
    pub fn coordinator(&self) -> &'static str {
        match self {
            Self::Failed { name, .. }
            | Self::Panicked { name, .. }
            | Self::TimedOut { name, .. }
            | Self::DependencyNotInitialized { name, .. }
            | Self::NotStarted { name } => name,
        }
    }

    /// The failure at the bottom of a chain of skipped dependencies.
    pub fn root_cause(&self) -> &InitError {
        let mut error = self;
        while let Self::DependencyNotInitialized { cause, .. } = error {
            error = cause;
        }
        error
    }
}

/// One coordinator's bootstrap state.
#[derive(Debug, Clone)]
pub struct CoordinatorStatus {
    /// The coordinator.
    pub name: &'static str,
    /// Where it is now.
    pub state: CoordinatorState,
    /// When its initializer last started.
    pub started_at: Option<SystemTime>,
    /// How long its initializer last took.
    pub init_duration: Option<Duration>,
    /// Why it is failed or skipped.
    pub error: Option<InitError>,
}

/// The bootstrap state of every enabled coordinator.
#[derive(Debug, Clone)]
pub struct BootstrapStatus {
    /// Every enabled coordinator is ready, failed or skipped.
    pub is_complete: bool,
    /// Ready coordinators, in initialisation order.
    pub initialized_coordinators: Vec<&'static str>,
    /// Errors of failed and skipped coordinators, in initialisation order.
    pub errors: Vec<InitError>,
    /// Every enabled coordinator, in initialisation order.
    pub coordinators: Vec<CoordinatorStatus>,
}

impl BootstrapStatus {
    /// The status of coordinator `name`.
    pub fn coordinator(&self, name: &str) -> Option<&CoordinatorStatus> {
        self.coordinators.iter().find(|c| c.name == name)
    }
}

/// What a call to `bootstrap()` or `reinitialize_coordinator()` did.
#[derive(Debug, Clone)]
pub struct BootstrapReport {
    /// Bootstrap had already completed, so nothing ran.
    pub already_complete: bool,
    /// The state afterwards.
    pub status: BootstrapStatus,
}

impl BootstrapReport {
    /// Whether every enabled coordinator is ready.
    pub fn is_ok(&self) -> bool {
        self.status.errors.is_empty() && self.status.is_complete
    }
}

/// A shutdown hook that did not finish cleanly.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ShutdownError {
    /// The hook returned an error.
    #[error("[coord::E0211] coordinator '{name}' failed to shut down: {source}")]
    Failed {
        /// The coordinator.
        name: &'static str,
        /// What the hook returned.
        source: SharedError,
    },
    /// The hook panicked.
    #[error("[coord::E0212] coordinator '{name}' panicked while shutting down: {message}")]
    Panicked {
        /// The coordinator.
        name: &'static str,
        /// The panic's message.
        message: String,
    },
    /// The hook ran past its timeout and was aborted.
    #[error(
        "[coord::E0213] coordinator '{name}' did not shut down within {after:?}; its hook was aborted"
    )]
    TimedOut {
        /// The coordinator.
        name: &'static str,
        /// The limit it ran past.
        after: Duration,
    },
}

/// What a shutdown or reset did.
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Coordinators shut down, in the order they were.
    pub stopped: Vec<&'static str>,
    /// Hooks that failed, panicked or timed out (the coordinator is stopped anyway).
    pub errors: Vec<ShutdownError>,
}

/// Why `get::<T>()` has no instance to give.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotInitialized {
    /// `T` is not among this handle's coordinators.
    #[error(
        "[coord::E0221] `{type_name}` is not a coordinator of this Coordination: mark it `#[coordinator]` \
         and make sure the builder enables it"
    )]
    NotEnabled {
        /// The type asked for.
        type_name: &'static str,
    },
    /// It has not been initialised (yet, or since a reset or shutdown).
    #[error(
        "[coord::E0222] coordinator '{name}' is {state}: it is reachable once bootstrap() has initialised it"
    )]
    NotStarted {
        /// The coordinator.
        name: &'static str,
        /// Where it is.
        state: CoordinatorState,
    },
    /// It failed, or was skipped because of a dependency.
    #[error(transparent)]
    Failed(InitError),
}
