//! Opening a store: read-write for the service that owns the directory,
//! read-only for everyone who looks; and refusing what is not coord's.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{
    APPLICATION_ID, DATABASE_FILE, DEFAULT_DATA_DIR, SCHEMA_VERSION, StateStore, StoreError, files,
};

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

pub(super) fn corrupt_or_sql(path: &Path, source: rusqlite::Error) -> StoreError {
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
