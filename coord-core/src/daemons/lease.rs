//! Singleton daemons in cluster mode: a lease decides which node runs one.
//!
//! # Invariant
//! A leader's runner is stopped before its lease can lapse on the server:
//! the lease lasts `L` from the server's receipt of the last renewal; the
//! leader counts from the moment it *sent* that renewal (earlier), steps
//! down at 3/4 L without a successful renewal, and gives its runner at most
//! L/5 to stop before dropping it. So no other node can acquire the lease
//! (and start its runner) while this one's still runs, whatever the network
//! does; the fencing token covers what a paused process might still write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::manager::DaemonManager;
use super::status::DaemonState;
use crate::interface::{ClusterError, ClusterLink, LeaseClaim};

/// A held lease: its token, and the task renewing it.
pub(super) struct LeaseKeeper {
    pub(super) token: u64,
    /// Cancelled when the lease is lost, and when the daemon is stopped (a
    /// child of the supervisor's stop token): the runner's stop signal.
    pub(super) lost: CancellationToken,
    revision: Arc<AtomicU64>,
    renewing: JoinHandle<()>,
    link: Arc<dyn ClusterLink>,
    name: &'static str,
}

impl LeaseKeeper {
    /// Whether the lease was lost (rather than the daemon stopped).
    pub(super) fn is_lost(&self, stop: &CancellationToken) -> bool {
        self.lost.is_cancelled() && !stop.is_cancelled()
    }

    /// Stops renewing and deletes the lease so another node takes over at once.
    pub(super) async fn release(self) {
        self.renewing.abort();
        let revision = self.revision.load(Ordering::Acquire);
        if let Err(error) = self.link.release_lease(self.name, revision).await {
            tracing::debug!(daemon = self.name, %error, "lease not released; it lapses by itself");
        }
    }
}

/// How often a standby node tries to take a lease over.
fn standby_poll(lease: Duration) -> Duration {
    (lease / 6).max(Duration::from_millis(50))
}

impl DaemonManager {
    /// The cluster, when daemon `i` is a singleton and one is attached.
    pub(super) fn singleton_link(&self, i: usize) -> Option<Arc<dyn ClusterLink>> {
        if !self.plan().configs[i].singleton {
            return None;
        }
        self.inner.cluster.get().cloned()
    }

    /// How long daemon `i`'s runner may take to stop: a singleton in cluster
    /// mode gets at most a fifth of the lease (see the module's invariant).
    pub(super) fn shutdown_timeout(&self, i: usize) -> Duration {
        let configured = self.plan().configs[i].shutdown_timeout;
        match self.singleton_link(i) {
            Some(link) => configured.min(link.lease() / 5),
            None => configured,
        }
    }

    /// Waits, as `standby`, until this node holds daemon `i`'s lease; `None` if stopped first.
    pub(super) async fn acquire_lease(
        &self,
        i: usize,
        link: &Arc<dyn ClusterLink>,
        stop: &CancellationToken,
    ) -> Option<LeaseKeeper> {
        let name = self.plan().specs[i].name;
        let lease = link.lease();
        let mut reported: Option<String> = None;
        loop {
            let sent = Instant::now();
            match link.claim_lease(name).await {
                Ok(LeaseClaim::Acquired { token, revision }) => {
                    tracing::info!(
                        daemon = name,
                        token,
                        node = link.node(),
                        "lease acquired; running here"
                    );
                    self.update(i, |s| {
                        s.leader = Some(link.node().to_owned());
                        s.fencing_token = Some(token);
                    });
                    return Some(self.keep_lease(i, link, stop, token, revision, sent));
                }
                Ok(LeaseClaim::HeldBy { node, token }) => {
                    if reported.as_deref() != Some(node.as_str()) {
                        tracing::info!(daemon = name, leader = %node, token, "standby: another node runs it");
                        reported = Some(node.clone());
                    }
                    self.update(i, |s| {
                        s.state = DaemonState::Standby;
                        s.leader = Some(node);
                        s.fencing_token = Some(token);
                    });
                }
                Err(error) => {
                    if reported.as_deref() != Some("") {
                        tracing::warn!(daemon = name, %error, "standby: cannot reach the lease");
                        reported = Some(String::new());
                    }
                    self.update(i, |s| {
                        s.state = DaemonState::Standby;
                        s.leader = None;
                        s.fencing_token = None;
                        s.last_error = Some(error.to_string());
                    });
                }
            }
            tokio::select! {
                () = tokio::time::sleep(standby_poll(lease)) => {}
                () = stop.cancelled() => return None,
            }
        }
    }

    fn keep_lease(
        &self,
        i: usize,
        link: &Arc<dyn ClusterLink>,
        stop: &CancellationToken,
        token: u64,
        revision: u64,
        sent: Instant,
    ) -> LeaseKeeper {
        let name = self.plan().specs[i].name;
        let lost = stop.child_token();
        let revision = Arc::new(AtomicU64::new(revision));
        let renewing = tokio::spawn(renew(
            Arc::clone(link),
            name,
            token,
            Arc::clone(&revision),
            sent,
            lost.clone(),
        ));
        LeaseKeeper {
            token,
            lost,
            revision,
            renewing,
            link: Arc::clone(link),
            name,
        }
    }
}

/// Renews a lease every third of its length until it is lost or this node
/// gives it up; cancels `lost` at 3/4 of the lease without a renewal.
async fn renew(
    link: Arc<dyn ClusterLink>,
    name: &'static str,
    token: u64,
    revision: Arc<AtomicU64>,
    mut last_sent: Instant,
    lost: CancellationToken,
) {
    let lease = link.lease();
    let every = lease / 3;
    let step_down_after = lease * 3 / 4;
    let mut next = last_sent + every;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = lost.cancelled() => return,
        }
        let deadline = last_sent + step_down_after;
        let sent = Instant::now();
        let current = revision.load(Ordering::Acquire);
        let attempt =
            tokio::time::timeout_at(deadline, link.renew_lease(name, token, current)).await;
        match attempt {
            Ok(Ok(new_revision)) => {
                revision.store(new_revision, Ordering::Release);
                last_sent = sent;
                next = sent + every;
            }
            Ok(Err(ClusterError::LeaseLost { .. })) => {
                tracing::error!(
                    daemon = name,
                    token,
                    "lease taken over by another node; stepping down"
                );
                lost.cancel();
                return;
            }
            Ok(Err(error)) if Instant::now() < deadline => {
                tracing::warn!(daemon = name, %error, "lease renewal failed; retrying");
                next = (Instant::now() + every / 4).min(deadline);
            }
            Ok(Err(_)) | Err(_) => {
                tracing::error!(
                    daemon = name,
                    token,
                    "lease not renewed for {step_down_after:?}; stepping down before it lapses"
                );
                lost.cancel();
                return;
            }
        }
    }
}
