//! Cluster mode in the handle: the link shared by the bus and the daemon
//! manager, and this node's heartbeat for `status --cluster`.

use std::sync::{Arc, Weak};
use std::time::SystemTime;

use super::{Coordination, Inner};
use crate::interface::{ClusterLink, NodeDaemon, NodeReport, unix_millis};

impl Coordination {
    /// The cluster this service is part of, in cluster mode.
    pub fn cluster(&self) -> Option<&Arc<dyn ClusterLink>> {
        self.inner.cluster.as_ref()
    }

    /// What this node says of itself at each heartbeat.
    pub fn node_report(&self) -> Option<NodeReport> {
        let link = self.cluster()?;
        let daemons = self
            .inner
            .manager
            .get()
            .map(|manager| {
                manager
                    .status()
                    .into_iter()
                    .map(|s| NodeDaemon {
                        name: s.name.to_owned(),
                        state: s.state.as_str().to_owned(),
                        leader: s.leader,
                        token: s.fencing_token,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(NodeReport {
            node: link.node().to_owned(),
            pid: std::process::id(),
            started_ms: self.inner.started_ms,
            heartbeat_ms: unix_millis(SystemTime::now()),
            daemons,
        })
    }

    /// Starts this node's heartbeat (every third of the lease) if it is in a
    /// cluster and a runtime is running; it ends with the handle.
    pub(super) fn start_heartbeat(&self) {
        let Some(link) = self.cluster() else { return };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let every = (link.lease() / 3).max(std::time::Duration::from_millis(100));
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        drop(tokio::spawn(async move {
            let mut warned = false;
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let coordination = Coordination { inner };
                let (Some(link), Some(report)) =
                    (coordination.cluster().cloned(), coordination.node_report())
                else {
                    return;
                };
                drop(coordination);
                match link.heartbeat(report).await {
                    Ok(()) => warned = false,
                    Err(error) if !warned => {
                        tracing::warn!(%error, "heartbeat not recorded; retrying");
                        warned = true;
                    }
                    Err(_) => {}
                }
                tokio::time::sleep(every).await;
            }
        }));
    }
}
