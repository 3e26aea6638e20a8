//! What the daemon manager reports: states, statuses, transitions, and the
//! errors of its operations.

use std::fmt;
use std::time::SystemTime;

use crate::error::UnknownName;

/// Where a daemon is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Not running.
    Stopped,
    /// Waiting for its dependencies before it runs.
    Starting,
    /// Its runner is running but has not signalled ready.
    Running,
    /// Running and ready; dependents may start.
    Ready,
    /// Cancelled; waiting for its runner to return.
    Stopping,
    /// Waiting to be restarted after it ended.
    Backoff,
    /// Down for good until started by hand.
    Failed,
    /// Ready, but its health probe is failing.
    Degraded,
    /// Out of restarts, tried again at a slow interval (`after_give_up`).
    Retrying,
    /// A singleton in cluster mode that another node runs; this node takes
    /// over when that node's lease lapses.
    Standby,
}

impl DaemonState {
    /// The lower-case name used in status output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Ready => "ready",
            Self::Stopping => "stopping",
            Self::Backoff => "backoff",
            Self::Failed => "failed",
            Self::Degraded => "degraded",
            Self::Retrying => "retrying",
            Self::Standby => "standby",
        }
    }

    /// Whether dependents may start on it.
    pub fn is_ready(self) -> bool {
        // A standby singleton runs on another node: what depends on it may start.
        matches!(self, Self::Ready | Self::Degraded | Self::Standby)
    }

    /// Whether a start request has run its course: ready, or not coming up by itself.
    pub(super) fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Ready
                | Self::Degraded
                | Self::Failed
                | Self::Stopped
                | Self::Backoff
                | Self::Retrying
                | Self::Standby
        )
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One daemon's state, for status output.
#[derive(Debug, Clone)]
pub struct DaemonStatus {
    /// The daemon.
    pub name: &'static str,
    /// Where it is.
    pub state: DaemonState,
    /// When it entered that state.
    pub since: SystemTime,
    /// Failed runs shorter than `stable_after` since the last stable run:
    /// at `max_restarts` the next one gives up.
    pub counted_restarts: u32,
    /// Restarts since it was last started by hand.
    pub restarts_total: u64,
    /// Why it last ended badly.
    pub last_error: Option<String>,
    /// When it is due to restart, in `backoff` and `retrying`.
    pub next_restart_at: Option<SystemTime>,
    /// Dependencies it waits on, in `starting`.
    pub waiting_on: Vec<&'static str>,
    /// In `starting`: a dependency it waits on is restarting (backoff or
    /// retrying), so it will not come up until that one does.
    pub blocked: bool,
    /// The dependency whose failure or stop stopped it.
    pub stopped_because: Option<&'static str>,
    /// Whether its last stop had to abort it after its shutdown timeout.
    pub aborted: bool,
    /// When its runner was last launched.
    pub started_at: Option<SystemTime>,
    /// When it last signalled ready.
    pub ready_at: Option<SystemTime>,
    /// A singleton in cluster mode: the node running it (this one when it runs here).
    pub leader: Option<String>,
    /// A singleton in cluster mode: the leader's fencing token.
    pub fencing_token: Option<u64>,
}

/// One daemon state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonTransition {
    /// The daemon.
    pub name: &'static str,
    /// The state it entered.
    pub state: DaemonState,
    /// When.
    pub at: SystemTime,
    /// Its last error at that moment (why it failed, or backs off).
    pub error: Option<String>,
}

impl DaemonStatus {
    pub(super) fn stopped(name: &'static str) -> Self {
        Self::stopped_since(name, SystemTime::now())
    }

    /// A daemon that has not run, stopped since `since`.
    pub(super) fn stopped_since(name: &'static str, since: SystemTime) -> Self {
        Self {
            name,
            state: DaemonState::Stopped,
            since,
            counted_restarts: 0,
            restarts_total: 0,
            last_error: None,
            next_restart_at: None,
            waiting_on: Vec::new(),
            blocked: false,
            stopped_because: None,
            aborted: false,
            started_at: None,
            ready_at: None,
            leader: None,
            fencing_token: None,
        }
    }

    /// Whether a start request has run its course: ready, or not coming up
    /// by itself soon (down, restarting, or waiting on one that is).
    pub(super) fn is_settled(&self) -> bool {
        self.state.is_settled() || (self.state == DaemonState::Starting && self.blocked)
    }
}

/// A `critical` daemon failed for good: the service should stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[coord::E0309] critical daemon '{daemon}' failed for good: {error}")]
pub struct CriticalFailure {
    /// The critical daemon.
    pub daemon: &'static str,
    /// Why: its last error, or the dependency whose failure stopped it.
    pub error: String,
}

/// What to do when a daemon is started while a dependency is not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingDependency {
    /// Start the dependency first (systemd's `Requires=`).
    #[default]
    StartIt,
    /// Refuse, naming the dependency.
    Refuse,
}

/// Why a daemon operation could not be done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DaemonError {
    /// The daemon or profile name is not known.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// A dependency is not running and the manager is set to refuse.
    #[error(
        "[coord::E0301] cannot start daemon '{daemon}': its dependency '{dependency}' is not running; \
         start '{dependency}' first, or let the manager start dependencies (MissingDependency::StartIt)"
    )]
    DependencyNotRunning {
        /// The daemon asked for.
        daemon: &'static str,
        /// Its dependency that is down.
        dependency: &'static str,
    },
}

/// `daemon_manager()` was called before the manager was started.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "[coord::E0302] the daemon manager is not started: call `coordination.start_daemon_manager()` \
     (after `bootstrap()`), then `start_all()` or `start(daemon)`"
)]
pub struct DaemonManagerNotStarted;

/// A summary of many daemons: liveness or readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSummary {
    /// Whether the summary holds for every daemon considered.
    pub ok: bool,
    /// The daemons that break it.
    pub offending: Vec<&'static str>,
}

/// What `start_all()` or `start_profile()` left running.
#[derive(Debug, Clone)]
pub struct StartReport {
    /// Daemons that are ready, in startup order.
    pub ready: Vec<&'static str>,
    /// Daemons that are not, with their state and error.
    pub not_ready: Vec<DaemonStatus>,
}

impl StartReport {
    /// Whether every daemon started is ready.
    pub fn is_ok(&self) -> bool {
        self.not_ready.is_empty()
    }
}

/// What `shutdown()` did.
#[derive(Debug, Clone, Default)]
pub struct DaemonShutdownReport {
    /// Daemons stopped, in the order they were.
    pub stopped: Vec<&'static str>,
    /// Daemons that had to be aborted after their timeout or the total bound.
    pub aborted: Vec<&'static str>,
}
