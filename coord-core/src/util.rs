//! Small helpers every part of coord shares.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, also after a panic elsewhere poisoned it: every value coord
/// guards is replaced in whole assignments, never left half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes `text` to stderr, ignoring failure: a closed or full stderr must
/// never turn a message into a panic (`eprintln!` would).
pub(crate) fn write_stderr(text: &str) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush());
}
