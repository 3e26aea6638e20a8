//! Cluster mode for coord on NATS JetStream.
//!
//! One JetStream stream per application carries distributed events (coord's
//! event id is the de-duplication id); each handler has a durable pull
//! consumer (one per node for `#[subscribe]`, one shared by all nodes for
//! `#[subscribe(once)]`); a KV bucket holds singleton leases, whose revisions
//! are the fencing tokens; two more hold node heartbeats and dead letters.
//!
//! ```no_run
//! # async fn demo() -> Result<(), coord_core::cluster::ClusterError> {
//! use coord_core::cluster::ClusterOptions;
//! let options = ClusterOptions::new("nats://127.0.0.1:4222", "n1", "training_pipeline");
//! let link = coord_nats::connect(options).await?;
//! let coordination = coord_core::Coordination::builder().cluster(link).build();
//! # Ok(()) }
//! ```

mod consume;
mod lease;
mod link;
mod names;
mod publish;

pub use link::NatsLink;

use std::sync::Arc;

use coord_core::BoxFuture;
use coord_core::cluster::{ClusterError, ClusterLink, ClusterOptions};

/// Connects to the NATS server at `options.url` and prepares the
/// application's stream and buckets; fails within `options.connect_timeout`.
pub async fn connect(options: ClusterOptions) -> Result<Arc<dyn ClusterLink>, ClusterError> {
    let link = NatsLink::connect(options).await?;
    Ok(Arc::new(link))
}

/// [`connect`] as a [`ClusterConnector`](coord_core::cluster::ClusterConnector),
/// for `App::cluster_connector`.
pub fn connector(
    options: ClusterOptions,
) -> BoxFuture<'static, Result<Arc<dyn ClusterLink>, ClusterError>> {
    Box::pin(connect(options))
}
