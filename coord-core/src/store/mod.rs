//! The state store: a SQLite database (WAL) under the data directory.
//!
//! It records runs, bootstrap results and daemon states, so a `status`
//! command in another process can see a running service. It never overwrites
//! what it does not recognise: a file that is not SQLite, another
//! application's database, a corrupt one or a newer schema is an error that
//! says so and leaves the file as it was.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::bootstrap::BootstrapStatus;
use crate::manager::{DaemonStatus, DaemonTransition};

mod schema;
mod service;

pub use service::{CommandRecord, CoordinatorRecord, DeadLetterRecord, EventRecord};

/// The data directory when `COORD_DATA_DIR` is not set, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "data/coordination";
/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "coord.db";
/// Marks a SQLite file as coord's (`PRAGMA application_id`, "CORD").
const APPLICATION_ID: i32 = 0x434f_5244;
/// The schema version this coord writes and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// Why the state store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory does not exist and cannot be created.
    #[error(
        "[coord::E0601] cannot create the data directory {}: {source}; create it by hand (`mkdir -p {}`) \
         or set COORD_DATA_DIR to a directory you can write",
        .path.display(), .path.display()
    )]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The data directory exists but a file cannot be written in it.
    #[error(
        "[coord::E0602] the data directory {} is not writable: {source}; fix its permissions \
         (e.g. `chmod u+rwx {}`) or set COORD_DATA_DIR to a directory you can write",
        .path.display(), .path.display()
    )]
    NotWritable {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The database file is not SQLite, or is another application's database.
    #[error(
        "[coord::E0603] {} is not a coord state database ({detail}); it was left untouched: move it away \
         or set COORD_DATA_DIR to another directory",
        .path.display()
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        detail: String,
    },
    /// The database fails SQLite's integrity check.
    #[error(
        "[coord::E0604] the state database {} is corrupt ({detail}); it was left untouched: move it away \
         (e.g. `mv {} {}.corrupt`) and coord creates a new one",
        .path.display(), .path.display(), .path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the check reported.
        detail: String,
    },
    /// The database was written by a newer coord.
    #[error(
        "[coord::E0605] the state database {} has schema version {found}, newer than this coord's {SCHEMA_VERSION}; \
         upgrade coord or set COORD_DATA_DIR to another directory",
        .path.display()
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i32,
    },
    /// The database file exists but cannot be read.
    #[error("[coord::E0606] cannot read the state database {}: {source}; check its permissions", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A query failed.
    #[error("[coord::E0607] state database {}: {source}", .path.display())]
    Sql {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// One run of a service, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    /// The run's id in the store.
    pub id: i64,
    /// The process that ran it.
    pub pid: u32,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// When it ended, if it has.
    pub ended_at_ms: Option<i64>,
    /// How it ended: `clean`, an error, or that it ended abnormally.
    pub outcome: Option<String>,
    /// The application that ran, as its CLI names itself.
    pub app: Option<String>,
    /// The daemon profile it started, if not all daemons.
    pub profile: Option<String>,
    /// When the running process last wrote its state.
    pub heartbeat_at_ms: Option<i64>,
}

/// A daemon's last recorded state within a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DaemonRecord {
    /// The daemon.
    pub name: String,
    /// Its state, as `DaemonState::as_str` spells it.
    pub state: String,
    /// When it entered that state, in milliseconds since the Unix epoch.
    pub since_ms: i64,
    /// Restarts since it was last started by hand.
    pub restarts_total: i64,
    /// Why it last ended badly.
    pub last_error: Option<String>,
    /// When its runner was first launched in this run.
    pub first_started_at_ms: Option<i64>,
    /// When it first signalled ready in this run.
    pub first_ready_at_ms: Option<i64>,
}

/// The state store of one data directory.
#[derive(Debug)]
pub struct StateStore {
    connection: Mutex<Connection>,
    path: PathBuf,
}

/// Now, in milliseconds since the Unix epoch, as the store keeps times.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn system_time_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The data directory: `COORD_DATA_DIR`, or [`DEFAULT_DATA_DIR`].
pub fn data_dir_from_env() -> PathBuf {
    std::env::var_os("COORD_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

impl StateStore {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let requested = data_dir.as_ref();
        std::fs::create_dir_all(requested).map_err(|source| StoreError::CreateDir {
            path: requested.to_path_buf(),
            source,
        })?;
        // Resolved once, so later messages and the logs name the real place.
        let dir = requested
            .canonicalize()
            .map_err(|source| StoreError::CreateDir {
                path: requested.to_path_buf(),
                source,
            })?;
        let probe = dir.join(format!(".coord-write-test-{}", std::process::id()));
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .map_err(|source| StoreError::NotWritable {
                path: dir.clone(),
                source,
            })?;
        let path = dir.join(DATABASE_FILE);
        let existed = path.exists();
        if existed {
            check_header(&path)?;
        }
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Sql {
            path: path.clone(),
            source,
        })?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        if existed {
            let application_id: i32 = connection
                .pragma_query_value(None, "application_id", |r| r.get(0))
                .map_err(|source| corrupt_or_sql(&path, source))?;
            let has_tables: bool = connection
                .query_row("SELECT count(*) > 0 FROM sqlite_master", [], |r| r.get(0))
                .map_err(|source| corrupt_or_sql(&path, source))?;
            if application_id != APPLICATION_ID && has_tables {
                return Err(StoreError::Foreign {
                    path,
                    detail: format!(
                        "a SQLite database of another application (application_id {application_id:#x})"
                    ),
                });
            }
            let check: String = connection
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|source| corrupt_or_sql(&path, source))?;
            if check != "ok" {
                return Err(StoreError::Corrupt {
                    path,
                    detail: check,
                });
            }
        }
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let store = Self {
            connection: Mutex::new(connection),
            path,
        };
        store.migrate()?;
        tracing::info!(path = %store.path.display(), "state store open");
        Ok(store)
    }

    /// The database file's absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection cannot leave it half-written:
        // SQLite rolls back an unfinished transaction.
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Records the start of a run by this process; first marks earlier runs
    /// whose process is gone without ending them as ended abnormally.
    pub fn begin_run(&self) -> Result<i64, StoreError> {
        let connection = self.lock();
        let unfinished: Vec<(i64, u32)> = {
            let mut query = connection
                .prepare("SELECT id, pid FROM runs WHERE ended_at IS NULL")
                .map_err(|e| self.sql(e))?;
            let rows = query
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.sql(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
        };
        for (id, pid) in unfinished {
            if !process_alive(pid) {
                connection
                    .execute(
                        "UPDATE runs SET ended_at = ?1, outcome = ?2 WHERE id = ?3",
                        params![
                            now_ms(),
                            format!(
                                "ended abnormally: process {pid} stopped without shutting down"
                            ),
                            id
                        ],
                    )
                    .map_err(|e| self.sql(e))?;
            }
        }
        connection
            .execute(
                "INSERT INTO runs (pid, started_at) VALUES (?1, ?2)",
                params![std::process::id(), now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        Ok(connection.last_insert_rowid())
    }

    /// Records how run `run_id` ended.
    pub fn end_run(&self, run_id: i64, outcome: &str) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE runs SET ended_at = ?1, outcome = ?2 WHERE id = ?3",
                params![now_ms(), outcome, run_id],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// The most recent run, if any.
    pub fn latest_run(&self) -> Result<Option<RunRecord>, StoreError> {
        self.lock()
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1"),
                [],
                run_record,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Every recorded run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id"))
            .map_err(|e| self.sql(e))?;
        let rows = query.query_map([], run_record).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Records every coordinator's bootstrap result for run `run_id`.
    pub fn record_bootstrap(
        &self,
        run_id: i64,
        status: &BootstrapStatus,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        for c in &status.coordinators {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO bootstrap (run_id, coordinator, state, duration_ms, error, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        run_id,
                        c.name,
                        c.state.as_str(),
                        c.init_duration.map(|d| d.as_millis() as i64),
                        c.error.as_ref().map(ToString::to_string),
                        c.started_at.map(system_time_ms)
                    ],
                )
                .map_err(|e| self.sql(e))?;
        }
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Records a daemon's status for run `run_id`, and the transition if its
    /// state changed since the last record. (An observer of
    /// [`DaemonManager::subscribe_transitions`](crate::DaemonManager::subscribe_transitions)
    /// records every transition with [`Self::record_transition`] and the
    /// status with [`Self::record_daemon_state`] instead.)
    pub fn record_daemon(&self, run_id: i64, status: &DaemonStatus) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        let previous: Option<String> = transaction
            .query_row(
                "SELECT state FROM daemon_state WHERE run_id = ?1 AND daemon = ?2",
                params![run_id, status.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        if previous.as_deref() != Some(status.state.as_str()) {
            insert_transition(
                &transaction,
                run_id,
                status.name,
                status.state.as_str(),
                system_time_ms(status.since),
                status.last_error.as_deref(),
            )
            .map_err(|e| self.sql(e))?;
        }
        upsert_daemon_state(&transaction, run_id, status).map_err(|e| self.sql(e))?;
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Records a daemon's current status for run `run_id`, without a transition.
    pub fn record_daemon_state(
        &self,
        run_id: i64,
        status: &DaemonStatus,
    ) -> Result<(), StoreError> {
        upsert_daemon_state(&self.lock(), run_id, status).map_err(|e| self.sql(e))
    }

    /// Records one daemon state change of run `run_id`.
    pub fn record_transition(
        &self,
        run_id: i64,
        transition: &DaemonTransition,
    ) -> Result<(), StoreError> {
        insert_transition(
            &self.lock(),
            run_id,
            transition.name,
            transition.state.as_str(),
            system_time_ms(transition.at),
            transition.error.as_deref(),
        )
        .map_err(|e| self.sql(e))
    }

    /// Run `run_id`'s recorded transitions of `daemon`, oldest first: (state, at ms, error).
    pub fn transitions(
        &self,
        run_id: i64,
        daemon: &str,
    ) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT state, at, error FROM daemon_transitions
                 WHERE run_id = ?1 AND daemon = ?2 ORDER BY at, id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map(params![run_id, daemon], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The last recorded state of every daemon in run `run_id`, by name.
    pub fn daemons(&self, run_id: i64) -> Result<Vec<DaemonRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT daemon, state, since, restarts_total, last_error, first_started_at, first_ready_at
                 FROM daemon_state WHERE run_id = ?1 ORDER BY daemon",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map([run_id], |r| {
                Ok(DaemonRecord {
                    name: r.get(0)?,
                    state: r.get(1)?,
                    since_ms: r.get(2)?,
                    restarts_total: r.get(3)?,
                    last_error: r.get(4)?,
                    first_started_at_ms: r.get(5)?,
                    first_ready_at_ms: r.get(6)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }
}

fn insert_transition(
    connection: &Connection,
    run_id: i64,
    daemon: &str,
    state: &str,
    at_ms: i64,
    error: Option<&str>,
) -> rusqlite::Result<()> {
    connection
        .execute(
            "INSERT INTO daemon_transitions (run_id, daemon, state, at, error) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![run_id, daemon, state, at_ms, error],
        )
        .map(|_| ())
}

fn upsert_daemon_state(
    connection: &Connection,
    run_id: i64,
    status: &DaemonStatus,
) -> rusqlite::Result<()> {
    connection
        .execute(
            // The first start and ready times are kept: the critical chain is about coming up.
            "INSERT INTO daemon_state (run_id, daemon, state, since, restarts_total, last_error,
                                       first_started_at, first_ready_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (run_id, daemon) DO UPDATE SET
                 state = excluded.state, since = excluded.since,
                 restarts_total = excluded.restarts_total, last_error = excluded.last_error,
                 first_started_at = coalesce(first_started_at, excluded.first_started_at),
                 first_ready_at = coalesce(first_ready_at, excluded.first_ready_at)",
            params![
                run_id,
                status.name,
                status.state.as_str(),
                system_time_ms(status.since),
                status.restarts_total as i64,
                status.last_error,
                status.started_at.map(system_time_ms),
                status.ready_at.map(system_time_ms)
            ],
        )
        .map(|_| ())
}

/// The columns [`run_record`] reads, in its order.
const RUN_COLUMNS: &str = "id, pid, started_at, ended_at, outcome, app, profile, heartbeat_at";

/// A `runs` row selected as [`RUN_COLUMNS`].
fn run_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        pid: row.get(1)?,
        started_at_ms: row.get(2)?,
        ended_at_ms: row.get(3)?,
        outcome: row.get(4)?,
        app: row.get(5)?,
        profile: row.get(6)?,
        heartbeat_at_ms: row.get(7)?,
    })
}

/// Refuses a file that is not SQLite before SQLite touches it.
fn check_header(path: &Path) -> Result<(), StoreError> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut header))
        .map_err(|source| StoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    // An empty file is what an interrupted first open can leave: SQLite initialises it.
    if read == 0 || (read == header.len() && header == *b"SQLite format 3\0") {
        return Ok(());
    }
    Err(StoreError::Foreign {
        path: path.to_path_buf(),
        detail: "not a SQLite database".to_owned(),
    })
}

fn corrupt_or_sql(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
            StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: source.to_string(),
            }
        }
        _ => StoreError::Sql {
            path: path.to_path_buf(),
            source,
        },
    }
}

impl RunRecord {
    /// Whether the run has not ended and its process still exists.
    pub fn is_live(&self) -> bool {
        self.ended_at_ms.is_none() && process_alive(self.pid)
    }
}

/// Whether process `pid` exists (Linux: `/proc/<pid>`). Where that cannot be
/// told, it is assumed alive: a run is marked abnormal only on evidence.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}
