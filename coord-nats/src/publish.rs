//! Distributed publishes: sent by the publishing task itself (as a raw
//! JetStream publish would be), with at most `publish_buffer` of them not yet
//! stored; one task collects the server's acknowledgements and publishes
//! again (same id, so the server stores it once) after a failure, until the
//! event is stored or its time is up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_nats::Subject;
use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use bytes::Bytes;
use coord_core::cluster::{ClusterOptions, OutgoingEvent, PublishFailed};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::names::Names;

/// The header with coord's metadata beside `Nats-Msg-Id` (the event id,
/// `node.boot.seq`, which names the source node): `<correlation id in hex>
/// <source>`. The time is the server's own. Short on purpose: every byte of
/// every header is parsed and stored by the server, and headers as long as
/// the event cost a raw JetStream publisher 15% of its throughput here.
pub(crate) const HEADER_META: &str = "Coord";

/// A publish not yet stored: subject, event, when it must be stored by.
struct Pending {
    subject: Subject,
    /// The event without its payload, which is `payload` (cheap to resend).
    event: OutgoingEvent,
    payload: Bytes,
    deadline: Instant,
    failed: PublishFailed,
}

impl Pending {
    /// Gives up: the event, whole again, goes back to coord with the reason.
    fn fail(mut self, reason: String) {
        self.event.payload = self.payload.to_vec();
        (self.failed)(self.event, reason);
    }
}

/// A sent publish waiting for its acknowledgement, holding its place in the buffer.
struct Sent {
    pending: Pending,
    first: Result<PublishAckFuture, String>,
    _place: OwnedSemaphorePermit,
}

pub(crate) struct Publisher {
    context: jetstream::Context,
    /// One per publish not yet stored: the bounded buffer.
    places: Arc<Semaphore>,
    sent: mpsc::UnboundedSender<Sent>,
    /// Each event type's subject.
    subjects: RwLock<HashMap<&'static str, Subject>>,
    /// Cancelled by `close`: the task finishes what was sent and ends.
    closing: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
    timeout: Duration,
}

impl Publisher {
    pub(crate) fn start(context: jetstream::Context, options: &ClusterOptions) -> Self {
        let (sent, receiver) = mpsc::unbounded_channel();
        let closing = CancellationToken::new();
        let task = tokio::spawn(confirm_all(context.clone(), receiver, closing.clone()));
        Self {
            context,
            places: Arc::new(Semaphore::new(options.publish_buffer.max(1))),
            sent,
            subjects: RwLock::default(),
            closing,
            task: Mutex::new(Some(task)),
            timeout: options.publish_timeout,
        }
    }

    /// Sends `event`, first waiting (for at most the publish timeout) while
    /// `publish_buffer` publishes are not yet stored; past it, or once
    /// closed, `failed` says why.
    pub(crate) async fn send(
        &self,
        names: &Names,
        mut event: OutgoingEvent,
        failed: PublishFailed,
    ) {
        let deadline = Instant::now() + self.timeout;
        let payload = Bytes::from(std::mem::take(&mut event.payload));
        let pending = Pending {
            subject: self.subject(names, event.event),
            event,
            payload,
            deadline,
            failed,
        };
        let place = match Arc::clone(&self.places).try_acquire_owned() {
            Ok(place) => place,
            Err(TryAcquireError::Closed) => {
                return pending.fail("the cluster link is closed".to_owned());
            }
            // Full: the server is slow or gone; wait for room, within the publish timeout.
            Err(TryAcquireError::NoPermits) => {
                match tokio::time::timeout_at(deadline, Arc::clone(&self.places).acquire_owned())
                    .await
                {
                    Ok(Ok(place)) => place,
                    Ok(Err(_)) => return pending.fail("the cluster link is closed".to_owned()),
                    Err(_) => {
                        return pending.fail(format!(
                            "the server stored nothing for {:?} and the buffer is full",
                            self.timeout
                        ));
                    }
                }
            }
        };
        let first = self
            .context
            .send_publish(pending.subject.clone(), message(&pending))
            .await
            .map_err(|e| e.to_string());
        if let Err(mpsc::error::SendError(sent)) = self.sent.send(Sent {
            pending,
            first,
            _place: place,
        }) {
            sent.pending
                .fail("the cluster link closed before the server stored it".to_owned());
        }
    }

    /// The subject of event type `event`, made once (a `Subject` clones without copying).
    fn subject(&self, names: &Names, event: &'static str) -> Subject {
        let known = match self.subjects.read() {
            Ok(subjects) => subjects.get(event).cloned(),
            Err(poisoned) => poisoned.into_inner().get(event).cloned(),
        };
        known.unwrap_or_else(|| {
            let subject = Subject::from(names.event(event));
            match self.subjects.write() {
                Ok(mut subjects) => subjects.insert(event, subject.clone()),
                Err(poisoned) => poisoned.into_inner().insert(event, subject.clone()),
            };
            subject
        })
    }

    /// Stops taking publishes and waits (at most `timeout`) for sent ones to be stored.
    pub(crate) async fn close(&self, timeout: Duration) {
        self.places.close();
        self.closing.cancel();
        let task = match self.task.lock() {
            Ok(mut task) => task.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(task) = task
            && tokio::time::timeout(timeout, task).await.is_err()
        {
            tracing::error!("distributed publishes still unconfirmed at shutdown");
        }
    }
}

fn message(pending: &Pending) -> PublishMessage {
    let event = &pending.event;
    let meta = format!("{:x} {}", event.correlation_id, event.source);
    PublishMessage::build()
        .header(HEADER_META, meta.as_str())
        .payload(pending.payload.clone())
        .message_id(&event.id)
}

/// Collects acknowledgements until closed and nothing is left in flight.
async fn confirm_all(
    context: jetstream::Context,
    mut sent: mpsc::UnboundedReceiver<Sent>,
    closing: CancellationToken,
) {
    let mut in_flight = FuturesUnordered::new();
    let mut batch = Vec::with_capacity(64);
    // Made once: a fresh `cancelled()` per wait would lock the token each time.
    let mut closing = std::pin::pin!(closing.cancelled());
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            () = &mut closing, if !closed => closed = true,
            // New ones before acknowledgements: while publishes keep coming,
            // acknowledgements are collected once most have arrived, so
            // waiting for each costs no timer.
            taken = sent.recv_many(&mut batch, 64) => {
                if taken == 0 {
                    break;
                }
                for sent in batch.drain(..) {
                    in_flight.push(confirm(&context, sent));
                }
            }
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
        if closed && in_flight.is_empty() && sent.is_empty() {
            break;
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Waits for the server to store one publish, publishing again (same id)
/// after a failure, until its deadline. The acknowledgement's own timeout
/// (the JetStream context's) bounds each wait, so no timer is armed here.
async fn confirm(context: &jetstream::Context, sent: Sent) {
    let Sent {
        pending,
        first,
        _place,
    } = sent;
    let mut attempt = first;
    loop {
        let error = match attempt {
            Ok(ack) => match ack.await {
                Ok(_) => return,
                Err(error) => error.to_string(),
            },
            Err(error) => error,
        };
        if Instant::now() >= pending.deadline {
            pending.fail(error);
            return;
        }
        tokio::time::sleep(Duration::from_millis(200).min(pending.deadline - Instant::now())).await;
        attempt = context
            .send_publish(pending.subject.clone(), message(&pending))
            .await
            .map_err(|e| e.to_string());
    }
}
