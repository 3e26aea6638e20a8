//! Why a command could not do its work, each error saying what to do next.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::ConfigError;
use crate::daemons::DaemonError;
use crate::error::UnknownName;
use crate::logging::LoggingError;
use crate::registry::BuildError;
use crate::store::StoreError;

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The state store could not be opened, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A name on the command line matches nothing.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// The coordination could not be built from the application's configuration.
    #[error("[coord::E0801] the service's configuration is invalid: {0}")]
    Build(#[from] BuildError),
    /// The config file cannot be used.
    #[error(transparent)]
    Config(Box<ConfigError>),
    /// Logging could not be set up from the environment.
    #[error(transparent)]
    Logging(#[from] LoggingError),
    /// A daemon operation was refused.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// The cluster could not be joined or read.
    #[error(transparent)]
    Cluster(#[from] crate::interface::ClusterError),
    /// Nothing has run with this data directory.
    #[error(
        "[coord::E0802] no state store at {}: nothing has run with this data directory; start the service \
         with `{app} run`, or point --data-dir (or COORD_DATA_DIR) at the one it uses",
        .path.display()
    )]
    NoStore {
        /// The database file looked for.
        path: PathBuf,
        /// The application's name.
        app: String,
    },
    /// The store has no run to show.
    #[error("[coord::E0803] no run recorded in {}; start one with `{app} run`", .path.display())]
    NoRun {
        /// The database file.
        path: PathBuf,
        /// The application's name.
        app: String,
    },
    /// A request that only the running process can carry out, with no process running.
    #[error(
        "[coord::E0804] run {run} is not running ({state}); only its process can {what}: start the service \
         with `{app} run` and try again"
    )]
    NotRunning {
        /// The latest run.
        run: i64,
        /// How it ended.
        state: String,
        /// What was asked.
        what: &'static str,
        /// The application's name.
        app: String,
    },
    /// The running process did not carry out a request in time.
    #[error(
        "[coord::E0805] process {pid} did not answer the {action} request within {waited:?}; it answers while \
         it records its state (twice a second), so it may be stuck or shutting down: see `{app} status`"
    )]
    NoAnswer {
        /// The running process.
        pid: u32,
        /// What was asked.
        action: String,
        /// How long the CLI waited.
        waited: Duration,
        /// The application's name.
        app: String,
    },
    /// `dlq replay` named a dead letter in a run whose queue is empty.
    #[error(
        "[coord::E0806] there is no dead letter {id}: the dead-letter queue of run {run} is empty \
         (as the service last recorded it; it records its dead letters every 10 s)"
    )]
    NoDeadLetters {
        /// The latest run.
        run: i64,
        /// The id asked for.
        id: u64,
    },
    /// This user cannot ask the running service to do something.
    #[error(
        "[coord::E0809] only the user that runs the service can ask it to {what} ({reason}); \
         run this command as that user"
    )]
    NotAllowed {
        /// What was asked.
        what: &'static str,
        /// Why the secret could not be read.
        reason: String,
    },
    /// An environment variable holds something unusable.
    #[error("[coord::E0810] COORD_HTTP: {0}")]
    BadEnv(String),
    /// The running process refused a request.
    #[error("[coord::E0807] the running service refused: {0}")]
    Refused(String),
    /// Signal handlers could not be installed, or stdout could not be written.
    #[error("[coord::E0808] {what}: {source}")]
    Io {
        /// What failed.
        what: &'static str,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl From<ConfigError> for CliError {
    fn from(error: ConfigError) -> Self {
        Self::Config(Box::new(error))
    }
}
