//! Singleton leases in the KV bucket: created when absent, renewed by
//! compare-and-swap on the entry's revision, lapsing `lease` after the last
//! write (the bucket's max age). The revision at creation is the fencing
//! token: revisions only grow, so every new leader's token is greater.

use async_nats::jetstream::kv;
use coord_core::cluster::{ClusterError, LeaseClaim};
use serde::{Deserialize, Serialize};

use crate::link::{NatsLink, failed};
use crate::names::token;

/// What a lease entry holds.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub(crate) node: String,
    /// Absent in the entry that created the lease: its revision is the token.
    pub(crate) token: Option<u64>,
}

/// The holder an entry names, unless it is a deletion.
pub(crate) fn holder(entry: &kv::Entry) -> Option<Holder> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    serde_json::from_slice(&entry.value).ok()
}

impl NatsLink {
    pub(crate) async fn claim(&self, daemon: &str) -> Result<LeaseClaim, ClusterError> {
        let key = token(daemon);
        let value = serde_json::to_vec(&Holder {
            node: self.options.node.clone(),
            token: None,
        })
        .map_err(|e| failed("encode a lease", e))?;
        match self.leases.create(&key, value.into()).await {
            Ok(revision) => Ok(LeaseClaim::Acquired {
                token: revision,
                revision,
            }),
            Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                let entry = self
                    .leases
                    .entry(key.clone())
                    .await
                    .map_err(|e| failed(format!("read the lease of '{daemon}'"), e))?;
                match entry
                    .as_ref()
                    .and_then(|e| holder(e).map(|h| (h, e.revision)))
                {
                    Some((holder, revision)) => Ok(LeaseClaim::HeldBy {
                        node: holder.node,
                        token: holder.token.unwrap_or(revision),
                    }),
                    // Lapsed or released between the two calls: the next claim may win.
                    None => Err(failed(
                        format!("claim the lease of '{daemon}'"),
                        "it changed hands while being read",
                    )),
                }
            }
            Err(error) => Err(failed(format!("claim the lease of '{daemon}'"), error)),
        }
    }

    pub(crate) async fn renew(
        &self,
        daemon: &str,
        lease_token: u64,
        revision: u64,
    ) -> Result<u64, ClusterError> {
        let value = serde_json::to_vec(&Holder {
            node: self.options.node.clone(),
            token: Some(lease_token),
        })
        .map_err(|e| failed("encode a lease", e))?;
        match self
            .leases
            .update(token(daemon), value.into(), revision)
            .await
        {
            Ok(revision) => Ok(revision),
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                Err(ClusterError::LeaseLost {
                    daemon: daemon.to_owned(),
                })
            }
            Err(error) => Err(failed(format!("renew the lease of '{daemon}'"), error)),
        }
    }

    pub(crate) async fn release(&self, daemon: &str, revision: u64) -> Result<(), ClusterError> {
        self.leases
            .delete_expect_revision(token(daemon), Some(revision))
            .await
            .map_err(|e| failed(format!("release the lease of '{daemon}'"), e))
    }
}
