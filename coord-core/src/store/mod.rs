//! The state store: a SQLite database (WAL) under the data directory.
//!
//! It records runs, bootstrap results and daemon states, so a `status`
//! command in another process can see a running service. It never overwrites
//! what it does not recognise: a file that is not SQLite, another
//! application's database, a corrupt or damaged one, a newer schema, or
//! anything that is not a plain file is an error that says so and leaves it
//! as it was. The service opens it read-write ([`StateStore::open`], only
//! once it owns the directory, see [`OwnerLock`]); everything that only
//! looks opens it read-only ([`StateStore::open_read_only`]) and creates,
//! changes or truncates nothing.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::bootstrap::BootstrapStatus;
use crate::daemons::{DaemonStatus, DaemonTransition};
use crate::util::{Millis, now_ms, system_time_ms};

mod files;
mod owner;
mod retention;
mod schema;
mod service;

pub use files::DEFAULT_FILE_MODE;
pub use owner::{
    HEARTBEAT_PERIOD, LOCK_FILE, LockState, Owner, OwnerLock, Probe, SECRET_FILE, STALE_AFTER,
    new_secret, probe, read_secret,
};
pub use retention::Retention;
pub use service::{
    CommandRecord, CoordinatorRecord, DeadLetterChanges, DeadLetterRecord, EventRecord, Tick,
};

/// The data directory when `COORD_DATA_DIR` is not set, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "data/coordination";
/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "coord.db";
/// Marks a SQLite file as coord's (`PRAGMA application_id`, "CORD").
const APPLICATION_ID: i32 = 0x434f_5244;
/// The schema version this coord writes and reads.
pub const SCHEMA_VERSION: i32 = 3;

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
    /// Something that is not a plain file or directory is where coord keeps its files.
    #[error(
        "[coord::E0608] {} is {found}, not {expected}; coord uses only plain files and \
         directories it owns and left it untouched: remove it, or set COORD_DATA_DIR to another directory",
        .path.display()
    )]
    NotAPlainFile {
        /// The path.
        path: PathBuf,
        /// What is there.
        found: &'static str,
        /// What coord expected.
        expected: &'static str,
    },
    /// The database has coord's schema version, but its tables differ.
    #[error(
        "[coord::E0609] the state database {} is damaged ({detail}); it was left untouched: \
         move it aside (e.g. `mv {} {}.damaged`) and coord creates a new one",
        .path.display(), .path.display(), .path.display()
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The database was written by an older coord, which `run` migrates.
    #[error(
        "[coord::E0610] the state database {} has schema version {found}, older than this coord's \
         {SCHEMA_VERSION}; `run` migrates it (inspecting commands never write)",
        .path.display()
    )]
    TooOld {
        /// The file.
        path: PathBuf,
        /// Its schema version.
        found: i32,
    },
    /// Another process runs a service on this data directory.
    #[error(
        "[coord::E0611] the data directory {} is in use by process {pid} on {host}, running since {}; \
         one service runs per data directory: stop that one, or start this one with another \
         --data-dir (or COORD_DATA_DIR)",
        .dir.display(), Millis(*.started_at_ms)
    )]
    Owned {
        /// The data directory.
        dir: PathBuf,
        /// The owner's process id (0 if it has not written it yet).
        pid: u32,
        /// The owner's host.
        host: String,
        /// When the owner took the directory, ms since the Unix epoch.
        started_at_ms: i64,
    },
    /// `COORD_DATA_MODE` is not a mode coord can use.
    #[error(
        "[coord::E0612] COORD_DATA_MODE={given:?} is not a file mode coord can use: give octal \
         permission bits that keep read and write for the owner and no write for others, e.g. `600` (the default) or `640`"
    )]
    Mode {
        /// What was given.
        given: String,
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
    dir: PathBuf,
}

/// The data directory: `COORD_DATA_DIR`, or [`DEFAULT_DATA_DIR`].
pub fn data_dir_from_env() -> PathBuf {
    std::env::var_os("COORD_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// The mode of the files coord creates: `COORD_DATA_MODE`, `0600` by default.
pub fn file_mode() -> Result<u32, StoreError> {
    files::file_mode_from_env()
}

/// The data directory for a service: created (with the mode `COORD_DATA_MODE`
/// gives, `0700` by default) when missing, refused when it is not a directory.
pub fn prepare_data_dir(requested: &Path) -> Result<PathBuf, StoreError> {
    let mode = files::file_mode_from_env()?;
    files::create_dir(requested, files::dir_mode(mode))
}

/// What opens a database file: read-write for the service, read-only to look.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Write,
    Read,
}

/// How long a statement waits for another process's write lock.
const BUSY_WAIT: Duration = Duration::from_secs(5);

impl StateStore {
    /// Opens the store in `data_dir` for writing, creating the directory and
    /// the database (with the mode `COORD_DATA_MODE` gives, `0600` by default)
    /// when missing.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mode = files::file_mode_from_env()?;
        let dir = files::create_dir(data_dir.as_ref(), files::dir_mode(mode))?;
        let path = dir.join(DATABASE_FILE);
        check_companions(&path)?;
        // Created here, so it gets its mode and is never a link SQLite follows.
        drop(files::open_own(&path, mode)?);
        check_header(&path)?;
        let store = Self::connect(dir, path, Access::Write)?;
        store.migrate()?;
        store.verify_schema()?;
        tracing::info!(path = %store.path.display(), "state store open");
        Ok(store)
    }

    /// Opens the store in `data_dir` to look at it: creates, changes and
    /// truncates nothing, and works for a user who may only read. `None`
    /// when there is no store (or an empty one a service is creating).
    pub fn open_read_only(data_dir: impl AsRef<Path>) -> Result<Option<Self>, StoreError> {
        let Some(dir) = files::existing_dir(data_dir.as_ref())? else {
            return Ok(None);
        };
        let path = dir.join(DATABASE_FILE);
        if !files::regular_file(&path)? || !check_header(&path)? {
            return Ok(None);
        }
        check_companions(&path)?;
        let store = Self::connect(dir, path, Access::Read)?;
        let version = store.version()?;
        if version == 0 {
            // A service is creating it: nothing recorded yet.
            return Ok(None);
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: store.path.clone(),
                found: version,
            });
        }
        if version < SCHEMA_VERSION {
            return Err(StoreError::TooOld {
                path: store.path.clone(),
                found: version,
            });
        }
        store.check_owner()?;
        store.verify_schema()?;
        Ok(Some(store))
    }

    fn connect(dir: PathBuf, path: PathBuf, access: Access) -> Result<Self, StoreError> {
        let flags = match access {
            Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE,
            Access::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let connection =
            Connection::open_with_flags(&path, flags).map_err(|e| corrupt_or_sql(&path, e))?;
        connection
            .busy_timeout(BUSY_WAIT)
            .map_err(|e| corrupt_or_sql(&path, e))?;
        let mut store = Self {
            connection: Mutex::new(connection),
            path,
            dir,
        };
        match access {
            Access::Write => {
                // Before anything is written: another application's file is left as it is.
                store.check_owner()?;
                let sql = |source| corrupt_or_sql(&store.path, source);
                let connection = store.lock();
                let fresh: bool = connection
                    .query_row("SELECT count(*) = 0 FROM sqlite_master", [], |r| r.get(0))
                    .map_err(sql)?;
                if fresh {
                    // Small pages: the recorder's commits are a few rows each,
                    // and every commit writes whole pages to the log.
                    connection
                        .pragma_update(None, "page_size", 512)
                        .map_err(sql)?;
                }
                connection
                    .pragma_update(None, "journal_mode", "WAL")
                    .map_err(sql)?;
                connection
                    .pragma_update(None, "synchronous", "NORMAL")
                    .map_err(sql)?;
            }
            Access::Read => {
                // A reader of a WAL database needs its shared-memory file; in a
                // directory this user cannot write, with no service running,
                // there is none: read the file as it is instead.
                if let Err(error) = store.version() {
                    let readable = matches!(
                        error,
                        StoreError::Sql { ref source, .. }
                            if matches!(
                                source.sqlite_error_code(),
                                Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
                            )
                    );
                    if !readable {
                        return Err(error);
                    }
                    let uri = format!("file:{}?immutable=1", uri_path(&store.path));
                    let connection = Connection::open_with_flags(
                        &uri,
                        OpenFlags::SQLITE_OPEN_READ_ONLY
                            | OpenFlags::SQLITE_OPEN_NO_MUTEX
                            | OpenFlags::SQLITE_OPEN_NOFOLLOW
                            | OpenFlags::SQLITE_OPEN_URI,
                    )
                    .map_err(|source| corrupt_or_sql(&store.path, source))?;
                    store.connection = Mutex::new(connection);
                }
            }
        }
        Ok(store)
    }

    /// The schema version the file says it has.
    fn version(&self) -> Result<i32, StoreError> {
        self.lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|source| corrupt_or_sql(&self.path, source))
    }

    /// Refuses another application's database.
    fn check_owner(&self) -> Result<(), StoreError> {
        let connection = self.lock();
        let application_id: i32 = connection
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|source| corrupt_or_sql(&self.path, source))?;
        let has_tables: bool = connection
            .query_row("SELECT count(*) > 0 FROM sqlite_master", [], |r| r.get(0))
            .map_err(|source| corrupt_or_sql(&self.path, source))?;
        if application_id != APPLICATION_ID && has_tables {
            return Err(StoreError::Foreign {
                path: self.path.clone(),
                detail: format!(
                    "a SQLite database of another application (application_id {application_id:#x})"
                ),
            });
        }
        Ok(())
    }

    /// The database file's absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data directory, resolved.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection cannot leave it half-written:
        // SQLite rolls back an unfinished transaction.
        crate::util::lock(&self.connection)
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        corrupt_or_sql(&self.path, source)
    }

    /// Records the start of a run by this process; first marks earlier runs
    /// that never ended as ended abnormally. Call it as the directory's owner
    /// ([`OwnerLock`]): holding the lock is what proves they are over.
    pub fn begin_run(&self) -> Result<i64, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        let unfinished: Vec<(i64, u32)> = {
            let mut query = transaction
                .prepare("SELECT id, pid FROM runs WHERE ended_at IS NULL")
                .map_err(|e| self.sql(e))?;
            let rows = query
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.sql(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
        };
        for (id, pid) in unfinished {
            transaction
                .execute(
                    "UPDATE runs SET ended_at = ?1, outcome = ?2 WHERE id = ?3",
                    params![
                        now_ms(),
                        format!("ended abnormally: process {pid} stopped without shutting down"),
                        id
                    ],
                )
                .map_err(|e| self.sql(e))?;
        }
        transaction
            .execute(
                "INSERT INTO runs (pid, started_at) VALUES (?1, ?2)",
                params![std::process::id(), now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        let id = transaction.last_insert_rowid();
        transaction.commit().map_err(|e| self.sql(e))?;
        Ok(id)
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

pub(super) fn insert_transition(
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

pub(super) fn upsert_daemon_state(
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

/// Refuses a file that is not SQLite before SQLite touches it; `false` for
/// an empty file (one a first open has not written yet).
fn check_header(path: &Path) -> Result<bool, StoreError> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let read = files::open_read(path)?
        .read(&mut header)
        .map_err(|source| StoreError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if read == 0 {
        return Ok(false);
    }
    if read == header.len() && header == *b"SQLite format 3\0" {
        return Ok(true);
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

/// SQLite's log and shared-memory files beside `path`: plain files or absent,
/// never links (SQLite refuses a link only for the database itself).
fn check_companions(path: &Path) -> Result<(), StoreError> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        files::regular_file(Path::new(&companion))?;
    }
    Ok(())
}

/// `path` for an SQLite URI: `%`, `?` and `#` escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}
