//! The contract between coord and the engine that joins several nodes into
//! one cluster (`coord-nats` implements it on NATS JetStream).
//!
//! coord decides *what* crosses nodes (distributed events, singleton leases,
//! heartbeats) and *when* a delivery is retried or dead; the engine moves the
//! bytes durably and keeps the leases. The embedded default has no link at
//! all: every event stays in the process and every daemon runs here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::runner::BoxFuture;

/// How long a singleton's lease lasts without renewal, unless configured.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// Where the cluster is and who this node is.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// The server, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// This node's name, unique in the cluster.
    pub node: String,
    /// The application: nodes of one application share streams and leases.
    pub app: String,
    /// How long a singleton's lease lasts without renewal; renewed every third.
    pub lease: Duration,
    /// How long connecting may take before it fails.
    pub connect_timeout: Duration,
    /// How long a distributed publish may wait for the server before it fails.
    pub publish_timeout: Duration,
    /// Distributed publishes waiting for the server before publishers wait too.
    pub publish_buffer: usize,
    /// How long a node may hold a delivery without word (it sends progress
    /// while its handler runs) before the cluster gives it to another node:
    /// how soon a crashed node's once-per-cluster events move on.
    pub ack_wait: Duration,
}

impl ClusterOptions {
    /// Options with the defaults: a 10 s lease, 5 s to connect, 30 s per
    /// publish, 5 s before an unanswered delivery moves to another node.
    pub fn new(url: impl Into<String>, node: impl Into<String>, app: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            node: node.into(),
            app: app.into(),
            lease: DEFAULT_LEASE,
            connect_timeout: Duration::from_secs(5),
            publish_timeout: Duration::from_secs(30),
            publish_buffer: 4096,
            ack_wait: Duration::from_secs(5),
        }
    }

    /// The default node name: this host's name and this process's id.
    pub fn default_node() -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".to_owned());
        format!("{host}-{}", std::process::id())
    }
}

/// Which nodes handle a distributed event, per handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `#[subscribe]`: every node handles each event.
    Node,
    /// `#[subscribe(once)]`: one node of the cluster handles each event.
    Once,
}

impl Scope {
    /// `node` or `once`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Once => "once",
        }
    }
}

/// A distributed event on its way to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    /// The event type's stable name.
    pub event: &'static str,
    /// Unique in the cluster (`node.boot.seq`); the engine drops a second
    /// publish of the same id.
    pub id: String,
    /// The daemon or coordinator that published it, or `external`.
    pub source: &'static str,
    /// The id of the event that started the chain, on this node.
    pub correlation_id: u64,
    /// The event as JSON.
    pub payload: Vec<u8>,
}

/// One delivery of a distributed event to one handler, borrowed from the
/// engine's message: the handler decodes what it needs before it runs.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The event's id, as published.
    pub id: &'a str,
    /// The node that published it.
    pub source_node: &'a str,
    /// The daemon or coordinator that published it, or `external`.
    pub source: &'a str,
    /// The id of the event that started the chain, on the source node.
    pub correlation_id: u64,
    /// When the cluster stored it, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The event as JSON.
    pub payload: &'a [u8],
    /// Which delivery this is, the first being 1.
    pub attempt: u32,
}

/// What the engine must do with a delivery once its handler has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Handled: acknowledge it.
    Ack,
    /// Failed: deliver it again after this delay.
    Retry(Duration),
    /// Out of attempts: acknowledge it and keep this dead letter (JSON) where
    /// every node can see it.
    DeadLetter(String),
}

/// Runs one handler on one delivery: reads what it needs from the delivery
/// at once, and returns the handler's run.
pub type DeliverFn = Arc<dyn Fn(Delivery<'_>) -> BoxFuture<'static, DeliveryOutcome> + Send + Sync>;

/// Called once when a distributed publish could not reach the server in
/// time, with the event (to keep or publish again) and why.
pub type PublishFailed = Arc<dyn Fn(OutgoingEvent, String) + Send + Sync>;

/// One handler's durable subscription to a distributed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// The event type's stable name.
    pub event: &'static str,
    /// The handler's name, e.g. `Promotion::on_model_trained`.
    pub handler: String,
    /// Every node, or once per cluster.
    pub scope: Scope,
}

/// The answer to a claim on a singleton's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseClaim {
    /// This node holds it now.
    Acquired {
        /// The fencing token: greater than any earlier holder's.
        token: u64,
        /// The lease entry's revision, for the next renewal.
        revision: u64,
    },
    /// Another node holds it.
    HeldBy {
        /// The holder.
        node: String,
        /// The holder's fencing token.
        token: u64,
    },
}

/// A singleton daemon as one node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDaemon {
    /// The daemon's name.
    pub name: String,
    /// Its state on that node, e.g. `running` or `standby`.
    pub state: String,
    /// For a singleton: the node that runs it, as far as this node knows.
    pub leader: Option<String>,
    /// For a singleton held here: its fencing token.
    pub token: Option<u64>,
}

/// What a node says of itself at each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node's name.
    pub node: String,
    /// Its process id.
    pub pid: u32,
    /// When it joined, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// When it sent this report, in milliseconds since the Unix epoch.
    pub heartbeat_ms: u64,
    /// Its daemons.
    pub daemons: Vec<NodeDaemon>,
}

/// The holder of one singleton's lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// The singleton daemon.
    pub daemon: String,
    /// The node running it.
    pub node: String,
    /// Its fencing token.
    pub token: u64,
}

/// The cluster as the engine keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    /// Every node's last heartbeat.
    pub nodes: Vec<NodeReport>,
    /// Every singleton's holder.
    pub leases: Vec<LeaseHolder>,
    /// Dead letters of distributed events, as JSON.
    pub dead_letters: Vec<String>,
}

/// Why a cluster operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// No server answered at the URL.
    #[error(
        "[coord::E1001] cannot reach the cluster at {url}: {reason} (gave up after {waited:.1?}). Start the server \
         (`nats-server -js`), check the URL (`--cluster` / COORD_CLUSTER), or run without `--cluster` \
         for a single node"
    )]
    Connect {
        /// The URL tried.
        url: String,
        /// How long it tried.
        waited: Duration,
        /// What the engine said.
        reason: String,
    },
    /// The server answered, but refused or failed an operation.
    #[error("[coord::E1002] the cluster could not {what}: {reason}")]
    Operation {
        /// What was asked, e.g. `renew the lease of 'auto_promotion'`.
        what: String,
        /// What the engine said.
        reason: String,
    },
    /// The lease changed hands: this node no longer holds it.
    #[error("[coord::E1003] the lease of '{daemon}' is no longer held by this node")]
    LeaseLost {
        /// The singleton daemon.
        daemon: String,
    },
    /// Cluster mode was asked for, but this program was built without an engine.
    #[error(
        "[coord::E1004] `--cluster {url}` needs cluster support, which this program was built without: \
         enable coord's `nats` feature (`coord = {{ version = \"...\", features = [\"nats\"] }}`, or \
         `cargo run --features nats ...` in coord's own repository)"
    )]
    NotBuiltIn {
        /// The URL asked for.
        url: String,
    },
}

/// A connection to the cluster, shared by the bus, the daemons and the CLI.
pub trait ClusterLink: Send + Sync + fmt::Debug {
    /// This node's name.
    fn node(&self) -> &str;
    /// The server's URL.
    fn url(&self) -> &str;
    /// How long a singleton's lease lasts without renewal.
    fn lease(&self) -> Duration;
    /// Queues `event` for the server, waiting while the bounded buffer is
    /// full; `failed` is called if it cannot be stored in time.
    fn publish(&self, event: OutgoingEvent, failed: PublishFailed) -> BoxFuture<'_, ()>;
    /// Starts delivering `spec`'s events to `deliver`, one at a time, until closed.
    fn consume(&self, spec: ConsumerSpec, deliver: DeliverFn) -> Result<(), ClusterError>;
    /// Claims the singleton `daemon`'s lease if no node holds it.
    fn claim_lease(&self, daemon: &str) -> BoxFuture<'_, Result<LeaseClaim, ClusterError>>;
    /// Renews a held lease; returns the entry's new revision.
    fn renew_lease(
        &self,
        daemon: &str,
        token: u64,
        revision: u64,
    ) -> BoxFuture<'_, Result<u64, ClusterError>>;
    /// Gives a held lease up, so another node takes over at once.
    fn release_lease(&self, daemon: &str, revision: u64)
    -> BoxFuture<'_, Result<(), ClusterError>>;
    /// Records this node's state for `status --cluster`.
    fn heartbeat(&self, report: NodeReport) -> BoxFuture<'_, Result<(), ClusterError>>;
    /// Reads the cluster's nodes, leases and dead letters.
    fn snapshot(&self) -> BoxFuture<'_, Result<ClusterSnapshot, ClusterError>>;
    /// Stops consuming and flushes what is queued for the server.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Connects to a cluster engine; the CLI calls it for `--cluster`.
pub type ClusterConnector =
    fn(ClusterOptions) -> BoxFuture<'static, Result<Arc<dyn ClusterLink>, ClusterError>>;

/// Milliseconds since the Unix epoch, for heartbeats and wire events.
pub fn unix_millis(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
