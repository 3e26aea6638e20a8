//! Distributed publishes: a bounded buffer in front of one task that keeps
//! many publishes in flight and retries each (same id, so the server stores
//! it once) until it is stored or its time is up.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use coord_core::cluster::{ClusterOptions, PublishFailed, WireEvent};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::names::Names;

/// Publishes waiting for their acknowledgement at once, at most.
const IN_FLIGHT: usize = 1024;

pub(crate) const HEADER_EVENT: &str = "Coord-Event";
pub(crate) const HEADER_ID: &str = "Coord-Id";
pub(crate) const HEADER_SOURCE_NODE: &str = "Coord-Source-Node";
pub(crate) const HEADER_SOURCE: &str = "Coord-Source";
pub(crate) const HEADER_CORRELATION: &str = "Coord-Correlation";
pub(crate) const HEADER_TIMESTAMP: &str = "Coord-Timestamp";

/// A publish handed to the task: subject, event, when it must be stored by.
struct Pending {
    subject: String,
    event: WireEvent,
    deadline: Instant,
    failed: PublishFailed,
}

pub(crate) struct Publisher {
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
    task: Mutex<Option<JoinHandle<()>>>,
    timeout: Duration,
}

impl Publisher {
    pub(crate) fn start(context: jetstream::Context, options: &ClusterOptions) -> Self {
        let (queue, receiver) = mpsc::channel(options.publish_buffer.max(1));
        let task = tokio::spawn(run(context, receiver));
        Self {
            queue: Mutex::new(Some(queue)),
            task: Mutex::new(Some(task)),
            timeout: options.publish_timeout,
        }
    }

    /// Queues `event`, waiting while the buffer is full, for at most the
    /// publish timeout; past it, or once closed, `failed` says why.
    pub(crate) async fn send(&self, names: &Names, event: WireEvent, failed: PublishFailed) {
        let deadline = Instant::now() + self.timeout;
        let Some(queue) = self.queue.lock().await.clone() else {
            failed("the cluster link is closed".to_owned());
            return;
        };
        let pending = Pending {
            subject: names.event(&event.event),
            event,
            deadline,
            failed,
        };
        match tokio::time::timeout_at(deadline, queue.reserve()).await {
            Ok(Ok(permit)) => permit.send(pending),
            Ok(Err(_)) => (pending.failed)("the cluster link is closed".to_owned()),
            Err(_) => (pending.failed)(format!(
                "the server took no publish for {:?} and the buffer is full",
                self.timeout
            )),
        }
    }

    /// Stops taking publishes and waits (at most `timeout`) for queued ones.
    pub(crate) async fn close(&self, timeout: Duration) {
        self.queue.lock().await.take();
        if let Some(task) = self.task.lock().await.take()
            && tokio::time::timeout(timeout, task).await.is_err()
        {
            tracing::error!("distributed publishes still unconfirmed at shutdown");
        }
    }
}

fn message(event: &WireEvent) -> PublishMessage {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER_EVENT, event.event.as_str());
    headers.insert(HEADER_ID, event.id.as_str());
    headers.insert(HEADER_SOURCE_NODE, event.source_node.as_str());
    headers.insert(HEADER_SOURCE, event.source.as_str());
    headers.insert(
        HEADER_CORRELATION,
        event.correlation_id.to_string().as_str(),
    );
    headers.insert(HEADER_TIMESTAMP, event.timestamp_ms.to_string().as_str());
    PublishMessage::build()
        .headers(headers)
        .payload(event.payload.clone().into())
        .message_id(&event.id)
}

async fn run(context: jetstream::Context, mut queue: mpsc::Receiver<Pending>) {
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            // Room first: a full window waits for an acknowledgement.
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            next = queue.recv(), if in_flight.len() < IN_FLIGHT => match next {
                Some(pending) => {
                    let first = context.send_publish(pending.subject.clone(), message(&pending.event)).await;
                    in_flight.push(confirm(context.clone(), pending, first));
                }
                None => break,
            },
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Waits for the server to store one publish, publishing again (same id)
/// after a failure, until its deadline.
async fn confirm(
    context: jetstream::Context,
    pending: Pending,
    first: Result<PublishAckFuture, jetstream::context::PublishError>,
) {
    let mut attempt = first.map_err(|e| e.to_string());
    let mut last_error;
    loop {
        let stored: Result<(), String> = match attempt {
            Ok(ack) => match tokio::time::timeout_at(pending.deadline, ack).await {
                Ok(Ok(_)) => return,
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("no acknowledgement".to_owned()),
            },
            Err(error) => Err(error),
        };
        last_error = stored.err().unwrap_or_default();
        if Instant::now() >= pending.deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        attempt = context
            .send_publish(pending.subject.clone(), message(&pending.event))
            .await
            .map_err(|e| e.to_string());
    }
    (pending.failed)(last_error);
}
