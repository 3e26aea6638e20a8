//! One daemon's status cell, and how the manager changes a status: waking
//! only the waiters that can care, and telling observers of each transition.

use std::sync::Mutex;
use std::time::SystemTime;

use tokio::sync::Notify;

use super::manager::DaemonManager;
use super::status::{DaemonStatus, DaemonTransition};
use crate::util::lock;

/// One daemon's status and a wake-up for whoever waits on it.
///
/// Not a `tokio::sync::watch`: its notify walks eight shards, each behind a
/// lock, on every send and on drop, and that was the top entry of the
/// `start_all` profile. One `Notify` does the job with one lock.
pub(super) struct StatusCell {
    status: Mutex<DaemonStatus>,
    changed: Notify,
}

impl StatusCell {
    pub(super) fn new(status: DaemonStatus) -> Self {
        Self {
            status: Mutex::new(status),
            changed: Notify::new(),
        }
    }

    pub(super) fn read<R>(&self, f: impl FnOnce(&DaemonStatus) -> R) -> R {
        f(&lock(&self.status))
    }

    /// Applies `change`; wakes waiters if it returns true.
    pub(super) fn modify(&self, change: impl FnOnce(&mut DaemonStatus) -> bool) {
        let wake = change(&mut lock(&self.status));
        if wake {
            self.changed.notify_waiters();
        }
    }

    /// Waits until `extract` returns `Some`, and returns that.
    pub(super) async fn wait<R>(&self, mut extract: impl FnMut(&DaemonStatus) -> Option<R>) -> R {
        loop {
            let mut notified = std::pin::pin!(self.changed.notified());
            // Registered before the check, so a change in between is not missed.
            notified.as_mut().enable();
            if let Some(found) = extract(&lock(&self.status)) {
                return found;
            }
            notified.await;
        }
    }
}

impl DaemonManager {
    pub(super) fn status_of(&self, i: usize) -> DaemonStatus {
        self.inner.slots[i].status.read(DaemonStatus::clone)
    }

    /// Changes one daemon's status. Waiters are woken only by changes one can
    /// wait for (a settling state, being blocked on a dependency, the cause or error of a
    /// stop, a restart); passing states such as starting, running and stopping
    /// are written quietly, because waking every watcher costs more than the
    /// rest of a start (measured: it was the top entry of the start profile).
    pub(super) fn update(&self, i: usize, change: impl FnOnce(&mut DaemonStatus)) {
        self.update_at(i, None, change);
    }

    /// [`update`](Self::update), stamping a state change with `at` (a time
    /// the change also records) rather than reading the clock again.
    pub(super) fn update_at(
        &self,
        i: usize,
        at: Option<SystemTime>,
        change: impl FnOnce(&mut DaemonStatus),
    ) {
        // Built only when someone listens: most managers have no observer.
        let observed = self
            .inner
            .observed
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut transition = None;
        self.inner.slots[i].status.modify(|status| {
            let state = status.state;
            let blocked = status.blocked;
            let because = status.stopped_because;
            let restarts = status.restarts_total;
            let had_error = status.last_error.is_some();
            change(status);
            if status.state != state {
                status.since = at.unwrap_or_else(SystemTime::now);
                if observed {
                    transition = Some(DaemonTransition {
                        name: status.name,
                        state: status.state,
                        at: status.since,
                        error: status.last_error.clone(),
                    });
                }
            }
            (status.state != state && status.state.is_settled())
                || status.blocked != blocked
                || status.stopped_because != because
                || status.restarts_total != restarts
                || status.last_error.is_some() != had_error
        });
        if let Some(transition) = transition {
            // No receiver left is fine: the observer went away.
            let _ = self.inner.transitions.send(transition);
        }
    }
}
