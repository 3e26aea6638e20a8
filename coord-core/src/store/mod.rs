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

use rusqlite::Connection;

mod dead_letters;
mod error;
mod files;
mod open;
mod owner;
mod retention;
mod runs;
mod schema;
mod service;

pub use dead_letters::{DeadLetterChanges, DeadLetterRecord};
pub use error::StoreError;
pub use files::DEFAULT_FILE_MODE;
pub use open::{data_dir_from_env, file_mode, prepare_data_dir};
pub use owner::{
    HEARTBEAT_PERIOD, LOCK_FILE, LockState, Owner, OwnerLock, Probe, SECRET_FILE, STALE_AFTER,
    new_secret, probe, read_secret,
};
pub use retention::Retention;
pub use runs::{DaemonRecord, RunRecord};
use runs::{insert_transition, upsert_daemon_state};
pub use service::{CommandRecord, CoordinatorRecord, EventRecord, Tick};

/// The data directory when `COORD_DATA_DIR` is not set, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "data/coordination";
/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "coord.db";
/// Marks a SQLite file as coord's (`PRAGMA application_id`, "CORD").
const APPLICATION_ID: i32 = 0x434f_5244;
/// The schema version this coord writes and reads.
pub const SCHEMA_VERSION: i32 = 4;

/// The state store of one data directory.
#[derive(Debug)]
pub struct StateStore {
    connection: Mutex<Connection>,
    path: PathBuf,
    dir: PathBuf,
}

impl StateStore {
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
        open::corrupt_or_sql(&self.path, source)
    }
}
