//! Why the state store cannot be used, each with what to do about it.

use std::path::PathBuf;

use super::SCHEMA_VERSION;
use crate::util::Millis;

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
