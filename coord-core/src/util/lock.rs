//! Locks that stay usable after a panic elsewhere poisoned them.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, also after a panic elsewhere poisoned it: every value coord
/// guards is replaced in whole assignments, never left half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads `rwlock`, also after a panic poisoned it (see [`lock`]).
pub(crate) fn read<T>(rwlock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    rwlock.read().unwrap_or_else(|p| p.into_inner())
}

/// Writes `rwlock`, also after a panic poisoned it (see [`lock`]).
pub(crate) fn write<T>(rwlock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    rwlock.write().unwrap_or_else(|p| p.into_inner())
}
