//! The connection: the client, the application's stream and buckets, and
//! the [`ClusterLink`] operations coord calls.

use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use coord_core::BoxFuture;
use coord_core::cluster::{
    ClusterError, ClusterLink, ClusterOptions, ClusterSnapshot, ConsumerSpec, DeliverFn,
    LeaseClaim, LeaseHolder, NodeReport, OutgoingEvent, PublishFailed,
};
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::names::{Names, token};
use crate::publish::Publisher;

/// How long events stay in the stream for nodes that have not consumed them.
const EVENT_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How long a publish id is remembered: a retried publish within it is stored once.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long a node's last heartbeat stays visible after it stops.
const NODE_RETENTION: Duration = Duration::from_secs(3600);

/// A node's connection to a NATS JetStream cluster.
pub struct NatsLink {
    pub(crate) options: ClusterOptions,
    pub(crate) names: Names,
    pub(crate) client: async_nats::Client,
    pub(crate) stream: stream::Stream,
    pub(crate) leases: kv::Store,
    nodes: kv::Store,
    pub(crate) dead_letters: kv::Store,
    publisher: Publisher,
    /// When this node connected: its per-node consumers start there.
    pub(crate) joined: time::OffsetDateTime,
    /// Cancelled by `close`: stops every consumer.
    pub(crate) closing: CancellationToken,
    pub(crate) consumers: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for NatsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsLink")
            .field("url", &self.options.url)
            .field("node", &self.options.node)
            .finish_non_exhaustive()
    }
}

/// An operation's failure, saying what was asked.
pub(crate) fn failed(what: impl Into<String>, error: impl std::fmt::Display) -> ClusterError {
    ClusterError::Operation {
        what: what.into(),
        reason: error.to_string(),
    }
}

impl NatsLink {
    /// Connects and prepares the stream and buckets, within the connect timeout.
    pub async fn connect(options: ClusterOptions) -> Result<Self, ClusterError> {
        let timeout = options.connect_timeout;
        let started = tokio::time::Instant::now();
        let connect_error = |reason: String| ClusterError::Connect {
            url: options.url.clone(),
            waited: started.elapsed(),
            reason,
        };
        let connecting = async_nats::ConnectOptions::new()
            .name(&options.node)
            .connection_timeout(timeout)
            // Back within a second of the server's return: leases are short.
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64 * 100).min(1000))
            })
            .connect(options.url.as_str());
        let client = match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => return Err(connect_error(error.to_string())),
            Err(_) => return Err(connect_error(format!("no answer within {timeout:?}"))),
        };
        match tokio::time::timeout(timeout, Self::prepare(options.clone(), client)).await {
            Ok(result) => result,
            Err(_) => Err(connect_error(format!(
                "connected, but JetStream did not answer within {timeout:?}; start the server with `-js`"
            ))),
        }
    }

    async fn prepare(
        options: ClusterOptions,
        client: async_nats::Client,
    ) -> Result<Self, ClusterError> {
        let names = Names::new(&options.app);
        let mut context = jetstream::new(client.clone());
        context.set_timeout(options.connect_timeout.max(Duration::from_secs(1)));
        let jetstream_hint = |error: &dyn std::fmt::Display| {
            failed(
                format!("open stream {}", names.stream()),
                format!("{error} (is JetStream on? start the server with `nats-server -js`)"),
            )
        };
        let stream = context
            .get_or_create_stream(stream::Config {
                name: names.stream(),
                subjects: vec![names.all_events()],
                storage: stream::StorageType::File,
                max_age: EVENT_RETENTION,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| jetstream_hint(&e))?;
        let leases = bucket(&context, names.leases(), options.lease, 1).await?;
        let nodes = bucket(&context, names.nodes(), NODE_RETENTION, 1).await?;
        let dead_letters = bucket(&context, names.dead_letters(), Duration::ZERO, 1).await?;
        let publisher = Publisher::start(context.clone(), &options);
        Ok(Self {
            options,
            names,
            client,
            stream,
            leases,
            nodes,
            dead_letters,
            publisher,
            joined: time::OffsetDateTime::now_utc(),
            closing: CancellationToken::new(),
            consumers: Mutex::default(),
        })
    }
}

/// Opens the KV bucket `name`, creating it if absent; `max_age` zero keeps entries.
///
/// The bucket's stream is created here with the settings a KV bucket has
/// (`KV_<name>` over `$KV.<name>.>`), not with `create_key_value`, whose
/// account check cannot read the answer of the 2.9 servers Debian ships.
async fn bucket(
    context: &jetstream::Context,
    name: String,
    max_age: Duration,
    history: i64,
) -> Result<kv::Store, ClusterError> {
    context
        .get_or_create_stream(stream::Config {
            name: format!("KV_{name}"),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: history,
            max_age,
            storage: stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            num_replicas: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| failed(format!("open bucket {name}"), e))?;
    context
        .get_key_value(&name)
        .await
        .map_err(|e| failed(format!("open bucket {name}"), e))
}

/// Every value in a bucket, by key.
async fn values(store: &kv::Store, what: &str) -> Result<Vec<(String, kv::Entry)>, ClusterError> {
    let mut keys = match store.keys().await {
        Ok(keys) => keys,
        Err(error) => return Err(failed(format!("list {what}"), error)),
    };
    let mut names = Vec::new();
    while let Some(key) = keys.next().await {
        match key {
            Ok(key) => names.push(key),
            Err(error) => return Err(failed(format!("list {what}"), error)),
        }
    }
    let mut out = Vec::new();
    for key in names {
        if let Some(entry) = store
            .entry(key.clone())
            .await
            .map_err(|e| failed(format!("read {what} '{key}'"), e))?
        {
            out.push((key, entry));
        }
    }
    Ok(out)
}

impl ClusterLink for NatsLink {
    fn node(&self) -> &str {
        &self.options.node
    }

    fn url(&self) -> &str {
        &self.options.url
    }

    fn lease(&self) -> Duration {
        self.options.lease
    }

    fn publish(&self, event: OutgoingEvent, failed: PublishFailed) -> BoxFuture<'_, ()> {
        Box::pin(self.publisher.send(&self.names, event, failed))
    }

    fn consume(&self, spec: ConsumerSpec, deliver: DeliverFn) -> Result<(), ClusterError> {
        self.start_consumer(spec, deliver)
    }

    fn claim_lease(&self, daemon: &str) -> BoxFuture<'_, Result<LeaseClaim, ClusterError>> {
        let daemon = daemon.to_owned();
        Box::pin(async move { self.claim(&daemon).await })
    }

    fn renew_lease(
        &self,
        daemon: &str,
        token: u64,
        revision: u64,
    ) -> BoxFuture<'_, Result<u64, ClusterError>> {
        let daemon = daemon.to_owned();
        Box::pin(async move { self.renew(&daemon, token, revision).await })
    }

    fn release_lease(
        &self,
        daemon: &str,
        revision: u64,
    ) -> BoxFuture<'_, Result<(), ClusterError>> {
        let daemon = daemon.to_owned();
        Box::pin(async move { self.release(&daemon, revision).await })
    }

    fn heartbeat(&self, report: NodeReport) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            let value = serde_json::to_vec(&report).map_err(|e| failed("encode heartbeat", e))?;
            self.nodes
                .put(token(&report.node), value.into())
                .await
                .map(|_| ())
                .map_err(|e| failed("record the heartbeat", e))
        })
    }

    fn snapshot(&self) -> BoxFuture<'_, Result<ClusterSnapshot, ClusterError>> {
        Box::pin(async move {
            let mut snapshot = ClusterSnapshot::default();
            for (key, entry) in values(&self.nodes, "nodes").await? {
                match serde_json::from_slice::<NodeReport>(&entry.value) {
                    Ok(report) => snapshot.nodes.push(report),
                    Err(error) => tracing::warn!(key, %error, "unreadable heartbeat skipped"),
                }
            }
            for (key, entry) in values(&self.leases, "leases").await? {
                if let Some(holder) = crate::lease::holder(&entry) {
                    snapshot.leases.push(LeaseHolder {
                        daemon: key,
                        node: holder.node,
                        token: holder.token.unwrap_or(entry.revision),
                    });
                }
            }
            for (_, entry) in values(&self.dead_letters, "dead letters").await? {
                snapshot
                    .dead_letters
                    .push(String::from_utf8_lossy(&entry.value).into_owned());
            }
            snapshot.nodes.sort_by(|a, b| a.node.cmp(&b.node));
            snapshot.leases.sort_by(|a, b| a.daemon.cmp(&b.daemon));
            Ok(snapshot)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.closing.cancel();
            let consumers: Vec<JoinHandle<()>> = match self.consumers.lock() {
                Ok(mut consumers) => consumers.drain(..).collect(),
                Err(poisoned) => poisoned.into_inner().drain(..).collect(),
            };
            for consumer in consumers {
                let _ = consumer.await;
            }
            self.publisher.close(self.options.publish_timeout).await;
            let _ = self.client.flush().await;
        })
    }
}
