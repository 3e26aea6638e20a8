//! One owner per data directory: the `run` that holds an exclusive lock on
//! `coord.lock` for its whole life, and what it writes about itself there.
//!
//! The kernel releases the lock when the process dies, however it dies, so
//! "the lock is held" is the fact a reader can trust, across pid namespaces
//! and after a pid is reused. Readers check the lock without taking it (on
//! Linux, `/proc/locks`), and read the owner's record: who it is and its
//! heartbeat, rewritten in place every [`HEARTBEAT_PERIOD`] by the running
//! service. A run is live when the lock is held and the heartbeat is fresh.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::StoreError;
use super::files;
use crate::util::now_ms;

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "coord.lock";
/// The per-run secret requests must carry; readable by the owner's user only.
pub const SECRET_FILE: &str = "coord.secret";
/// How often a running service rewrites its heartbeat.
pub const HEARTBEAT_PERIOD: Duration = Duration::from_secs(1);
/// A heartbeat older than this is stale: three missed beats.
pub const STALE_AFTER: Duration = Duration::from_secs(3);
/// How long `run` retries the lock: readers that fall back to a shared lock
/// hold it for a moment only.
const ACQUIRE_PATIENCE: Duration = Duration::from_millis(1500);
/// The record is rewritten in place, padded to this size, never truncated.
const RECORD_SIZE: usize = 256;
/// The record starts with this, so the heartbeat fields that follow sit at a
/// fixed offset and a beat rewrites only them (52 bytes a second).
const RECORD_HEAD: &str = "coord-owner 2 ";

/// What the owner of a data directory says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Owner {
    /// Its process id (in its own pid namespace).
    pub pid: u32,
    /// The host it runs on.
    pub host: String,
    /// The run it records.
    pub run_id: i64,
    /// When it took the lock, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// Its last heartbeat, ms since the Unix epoch.
    pub heartbeat_at_ms: i64,
    /// When its recorder last finished writing the store, ms since the Unix epoch.
    pub recorded_at_ms: i64,
}

impl Owner {
    fn encode(&self) -> Vec<u8> {
        let mut text = format!(
            "{RECORD_HEAD}{} pid={} host={} run={} started={}\n",
            self.beat_fields(),
            self.pid,
            self.host.replace(char::is_whitespace, "_"),
            self.run_id,
            self.started_at_ms,
        )
        .into_bytes();
        text.resize(RECORD_SIZE.max(text.len()), b' ');
        text
    }

    /// The fields a heartbeat changes, fixed width so they are rewritten in place.
    fn beat_fields(&self) -> String {
        format!(
            "heartbeat={:016} recorded={:016}",
            self.heartbeat_at_ms.max(0),
            self.recorded_at_ms.max(0)
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let line = text.lines().next()?;
        let fields = line.strip_prefix(RECORD_HEAD)?.split_whitespace();
        let mut owner = Owner::default();
        for field in fields {
            let (key, value) = field.split_once('=')?;
            match key {
                "pid" => owner.pid = value.parse().ok()?,
                "host" => owner.host = value.to_owned(),
                "run" => owner.run_id = value.parse().ok()?,
                "started" => owner.started_at_ms = value.parse().ok()?,
                "heartbeat" => owner.heartbeat_at_ms = value.parse().ok()?,
                "recorded" => owner.recorded_at_ms = value.parse().ok()?,
                _ => {}
            }
        }
        Some(owner)
    }
}

/// The lock of a running `run`, held until it is dropped (or the process dies).
#[derive(Debug)]
pub struct OwnerLock {
    file: File,
    path: PathBuf,
    record: Mutex<Owner>,
}

impl OwnerLock {
    /// Takes the data directory `dir` for this process, or says who has it.
    pub fn acquire(dir: &Path, mode: u32) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = files::open_own(&path, mode)?;
        let deadline = std::time::Instant::now() + ACQUIRE_PATIENCE;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if std::time::Instant::now() >= deadline {
                        let owner = read_record(&file).unwrap_or_default();
                        return Err(StoreError::Owned {
                            dir: dir.to_path_buf(),
                            pid: owner.pid,
                            host: owner.host,
                            started_at_ms: owner.started_at_ms,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(StoreError::NotWritable { path, source });
                }
            }
        }
        let now = now_ms();
        let owner = Owner {
            pid: std::process::id(),
            host: hostname(),
            run_id: 0,
            started_at_ms: now,
            heartbeat_at_ms: now,
            recorded_at_ms: now,
        };
        let lock = Self {
            file,
            path,
            record: Mutex::new(owner),
        };
        lock.write().map_err(|source| StoreError::NotWritable {
            path: lock.path.clone(),
            source,
        })?;
        Ok(lock)
    }

    fn write(&self) -> std::io::Result<()> {
        let record = crate::util::lock(&self.record).encode();
        self.file.write_all_at(&record, 0)
    }

    /// Names the run this owner records.
    pub fn set_run(&self, run_id: i64) -> std::io::Result<()> {
        crate::util::lock(&self.record).run_id = run_id;
        self.write()
    }

    /// Rewrites the heartbeat (now), and when the recorder last wrote the store.
    pub fn beat(&self, recorded_at_ms: i64) -> std::io::Result<()> {
        let fields = {
            let mut record = crate::util::lock(&self.record);
            record.heartbeat_at_ms = now_ms();
            record.recorded_at_ms = recorded_at_ms;
            record.beat_fields()
        };
        self.file
            .write_all_at(fields.as_bytes(), RECORD_HEAD.len() as u64)
    }
}

/// Whether a data directory's lock is held, as a reader can tell.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockState {
    /// A process holds it.
    Held,
    /// Nobody holds it.
    Free,
    /// It could not be told (no lock file, or no way to read it), and why.
    Unknown(String),
}

/// What a reader sees of a data directory's owner.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Probe {
    /// Whether the lock is held.
    pub lock: LockState,
    /// The owner's last record, if readable.
    pub owner: Option<Owner>,
}

/// Looks at the owner of data directory `dir` without taking its lock or writing anything.
pub fn probe(dir: &Path) -> Probe {
    let path = dir.join(LOCK_FILE);
    let file = match files::regular_file(&path) {
        Ok(true) => files::open_read(&path),
        // `run` creates the lock file before anything else, so without one
        // nobody can hold it.
        Ok(false) => {
            return Probe {
                lock: LockState::Free,
                owner: None,
            };
        }
        Err(error) => Err(error),
    };
    let file = match file {
        Ok(file) => file,
        Err(error) => {
            return Probe {
                lock: LockState::Unknown(error.to_string()),
                owner: None,
            };
        }
    };
    Probe {
        lock: lock_state(&file),
        owner: read_record(&file),
    }
}

fn read_record(file: &File) -> Option<Owner> {
    let mut text = String::new();
    file.take(RECORD_SIZE as u64 * 2)
        .read_to_string(&mut text)
        .ok()?;
    Owner::decode(&text)
}

/// Held or free: from `/proc/locks` where it lists the lock (nothing is
/// taken); otherwise by trying a shared lock for an instant. `/proc/locks`
/// alone cannot say "free": it is read a page at a time, and an entry can be
/// skipped when locks listed before it go away between two reads.
fn lock_state(file: &File) -> LockState {
    if let Ok(locks) = std::fs::read_to_string("/proc/locks")
        && let Ok(meta) = file.metadata()
    {
        let inode = meta.ino();
        let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
        let ours = format!("{major:02x}:{minor:02x}:{inode}");
        // "1: FLOCK  ADVISORY  WRITE 4242 08:01:131090 0 EOF"
        let held = locks.lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&"FLOCK") && fields.iter().any(|f| *f == ours)
        });
        if held {
            return LockState::Held;
        }
    }
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            LockState::Free
        }
        Err(std::fs::TryLockError::WouldBlock) => LockState::Held,
        Err(std::fs::TryLockError::Error(error)) => LockState::Unknown(error.to_string()),
    }
}

/// This host's name, for the owner record.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, and gethostname
    // writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Writes a new per-run secret to `coord.secret` (owner-only) and returns it.
pub fn new_secret(dir: &Path) -> Result<String, StoreError> {
    let path = dir.join(SECRET_FILE);
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| StoreError::Read {
            path: PathBuf::from("/dev/urandom"),
            source,
        })?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let file = files::create_fresh(&path, 0o600)?;
    file.write_all_at(secret.as_bytes(), 0)
        .map_err(|source| StoreError::NotWritable { path, source })?;
    Ok(secret)
}

/// The running service's secret, readable only by its user.
pub fn read_secret(dir: &Path) -> Result<String, StoreError> {
    let path = dir.join(SECRET_FILE);
    let mut text = String::new();
    files::open_read(&path)?
        .take(64)
        .read_to_string(&mut text)
        .map_err(|source| StoreError::Read { path, source })?;
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_ignores_its_padding() {
        let owner = Owner {
            pid: 42,
            host: "build box".into(),
            run_id: 7,
            started_at_ms: 1,
            heartbeat_at_ms: 2,
            recorded_at_ms: 3,
        };
        let text = String::from_utf8(owner.encode()).expect("ascii");
        assert_eq!(text.len(), RECORD_SIZE);
        let back = Owner::decode(&text).expect("decodes");
        assert_eq!(back.host, "build_box");
        assert_eq!((back.pid, back.run_id, back.recorded_at_ms), (42, 7, 3));
        assert_eq!(Owner::decode("something else"), None);
        // A beat rewrites exactly the heartbeat fields, in place.
        let beat = owner.beat_fields();
        assert_eq!(
            &text[RECORD_HEAD.len()..RECORD_HEAD.len() + beat.len()],
            beat
        );
    }
}
