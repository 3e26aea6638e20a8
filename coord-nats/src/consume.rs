//! One durable pull consumer per handler: deliveries handled one at a time,
//! acknowledged after the handler succeeds, redelivered after a failure
//! with coord's delay, and kept as a dead letter after the last attempt.

use std::task::Poll;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{AckKind, Message};
use coord_core::cluster::{
    ClusterError, ConsumerSpec, DeliverFn, Delivery, DeliveryOutcome, Scope,
};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::link::{NatsLink, failed};
use crate::names::token;
use crate::publish::HEADER_META;

/// How long a node's consumer outlives the node: its events wait that long.
const NODE_CONSUMER_IDLE: Duration = Duration::from_secs(3600);
/// Deliveries fetched ahead per handler.
const BATCH: usize = 64;

impl NatsLink {
    pub(crate) fn start_consumer(
        &self,
        spec: ConsumerSpec,
        deliver: DeliverFn,
    ) -> Result<(), ClusterError> {
        let durable = self
            .names
            .consumer(spec.scope, &spec.handler, &self.options.node);
        let config = pull::Config {
            durable_name: Some(durable.clone()),
            description: Some(format!(
                "coord handler {} ({})",
                spec.handler,
                spec.scope.as_str()
            )),
            // Once per cluster: every event kept; per node: every event
            // published since this node joined (its handlers may subscribe later).
            deliver_policy: match spec.scope {
                Scope::Once => DeliverPolicy::All,
                Scope::Node => DeliverPolicy::ByStartTime {
                    start_time: self.joined,
                },
            },
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.options.ack_wait,
            // coord decides when a delivery is dead; the server never gives up.
            max_deliver: -1,
            filter_subject: self.names.event(spec.event),
            inactive_threshold: match spec.scope {
                Scope::Once => Duration::ZERO,
                Scope::Node => NODE_CONSUMER_IDLE,
            },
            ..Default::default()
        };
        let stream = self.stream.clone();
        let dead_letters = self.dead_letters.clone();
        let closing = self.closing.clone();
        let ack_wait = self.options.ack_wait;
        let task = tokio::spawn(async move {
            let mut warned = false;
            while !closing.is_cancelled() {
                let consumer: Result<async_nats::jetstream::consumer::Consumer<pull::Config>, _> =
                    stream
                        .get_or_create_consumer(&durable, config.clone())
                        .await;
                let result = match consumer {
                    Ok(consumer) => {
                        consume(
                            &consumer,
                            &spec,
                            &deliver,
                            &dead_letters,
                            ack_wait,
                            &closing,
                        )
                        .await
                    }
                    Err(error) => Err(failed(format!("create consumer {durable}"), error)),
                };
                if let Err(error) = result {
                    if !warned {
                        tracing::warn!(handler = %spec.handler, %error, "consumer interrupted; retrying");
                        warned = true;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                        () = closing.cancelled() => {}
                    }
                } else {
                    warned = false;
                }
            }
        });
        match self.consumers.lock() {
            Ok(mut consumers) => consumers.push(task),
            Err(poisoned) => poisoned.into_inner().push(task),
        }
        Ok(())
    }
}

async fn consume(
    consumer: &async_nats::jetstream::consumer::Consumer<pull::Config>,
    spec: &ConsumerSpec,
    deliver: &DeliverFn,
    dead_letters: &async_nats::jetstream::kv::Store,
    ack_wait: Duration,
    closing: &CancellationToken,
) -> Result<(), ClusterError> {
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(BATCH)
        // A pull stream can stall under load (nats-io/nats.rs#1285); a
        // short heartbeat notices within two seconds and the loop above
        // starts it again.
        .heartbeat(Duration::from_secs(1))
        .expires(Duration::from_secs(10))
        .messages()
        .await
        .map_err(|e| failed("start consuming", e))?;
    // Made once: a fresh `cancelled()` per delivery would lock the token each time.
    let mut closing = std::pin::pin!(closing.cancelled());
    loop {
        let next = tokio::select! {
            biased;
            () = &mut closing => return Ok(()),
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(failed("receive a delivery", error)),
            None => return Err(failed("receive a delivery", "the consumer ended")),
        };
        handle(message, spec, deliver, dead_letters, ack_wait).await;
    }
}

async fn handle(
    message: Message,
    spec: &ConsumerSpec,
    deliver: &DeliverFn,
    dead_letters: &async_nats::jetstream::kv::Store,
    ack_wait: Duration,
) {
    let (attempt, sequence, published_ms) = match message.info() {
        Ok(info) => (
            u32::try_from(info.delivered.max(1)).unwrap_or(u32::MAX),
            info.stream_sequence,
            u64::try_from(info.published.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        ),
        Err(_) => (1, 0, 0),
    };
    let header = |name: &str| message.headers.as_ref().and_then(|h| h.get(name));
    let id = header("Nats-Msg-Id").map_or("", |v| v.as_str());
    let (correlation_id, source) = header(HEADER_META)
        .and_then(|meta| meta.as_str().split_once(' '))
        .map_or((0, ""), |(correlation, source)| {
            (u64::from_str_radix(correlation, 16).unwrap_or(0), source)
        });
    let delivery = Delivery {
        id,
        // `node.boot.seq`: the node is what precedes the last two dots.
        source_node: id.rsplitn(3, '.').nth(2).unwrap_or_default(),
        source,
        correlation_id,
        timestamp_ms: published_ms,
        payload: &message.payload,
        attempt,
    };
    // Most handlers finish on their first poll and never arm a timer; while
    // a slower one runs, the server hears it is still in hand, so a slow
    // handler is not mistaken for a crashed node.
    let mut handling = deliver(delivery);
    let first = std::future::poll_fn(|cx| Poll::Ready(handling.as_mut().poll(cx))).await;
    let outcome = match first {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => {
            let mut progress = tokio::time::interval(ack_wait / 3);
            progress.tick().await;
            loop {
                tokio::select! {
                    outcome = &mut handling => break outcome,
                    _ = progress.tick() => {
                        let _ = message.ack_with(AckKind::Progress).await;
                    }
                }
            }
        }
    };
    let acked = match outcome {
        DeliveryOutcome::Ack => message.ack().await,
        DeliveryOutcome::Retry(delay) => message.ack_with(AckKind::Nak(Some(delay))).await,
        DeliveryOutcome::DeadLetter(letter) => {
            let key = format!("{}_{sequence}", token(&spec.handler));
            if let Err(error) = dead_letters.put(&key, letter.into_bytes().into()).await {
                // Not kept in the cluster: leave the delivery to be retried.
                tracing::error!(handler = %spec.handler, %error, "dead letter not recorded; redelivering");
                let _ = message.ack_with(AckKind::Nak(Some(ack_wait))).await;
                return;
            }
            message.ack_with(AckKind::Term).await
        }
    };
    if let Err(error) = acked {
        // The server redelivers it after ack_wait; handlers must be idempotent.
        tracing::warn!(handler = %spec.handler, %error, "acknowledgement not sent");
    }
}
