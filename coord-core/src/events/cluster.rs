//! Distributed events: publishes that go to the cluster instead of this
//! process's subscribers, and the cluster's deliveries run on local handlers.
//!
//! A distributed event published here is not delivered locally: it goes to
//! the cluster, and comes back to this node's `Node`-scope handlers like to
//! every other node's, so each handler sees each event exactly as the other
//! nodes do. The cluster keeps the event until it is acknowledged; coord
//! decides the retry delay and when a delivery is dead.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::bus::{BusInner, EventBus};
use super::event::{Envelope, Event, EventId, EventMeta};
use super::handling::{HANDLING, with_handling};
use super::topic::{Counters, Topic, TopicEntry, downcast_topic};
use super::worker::{retry_for, run_handler};
use crate::interface::{
    BoxFuture, ClusterLink, ConsumerSpec, DeliverFn, Delivery, DeliveryOutcome, OutgoingEvent,
    PublishFailed, Scope,
};
use crate::util::{self, backoff_delay, lock};

/// The cluster as the bus uses it.
pub(crate) struct Attached {
    link: Arc<dyn ClusterLink>,
    /// When this node attached, in ms: with the node name and the local
    /// event id, it makes an event id no other publish in the cluster has.
    boot: u128,
    /// Event types distributed by configuration; fixed once attached, so a
    /// publish reads it without a lock.
    names: HashSet<String>,
    /// (event, handler) pairs with a consumer already.
    consuming: std::sync::Mutex<HashSet<(&'static str, Arc<str>)>>,
}

impl EventBus {
    /// Sends distributed events through `link` from now on, and starts a
    /// cluster consumer for each of their handlers (and for any subscribed later).
    ///
    /// `distributed` names event types distributed by configuration, in
    /// addition to those marked `#[event(distributed)]`. Attaching twice is a no-op.
    pub fn attach_cluster(
        &self,
        link: Arc<dyn ClusterLink>,
        distributed: impl IntoIterator<Item = String>,
    ) {
        let attached = Arc::new(Attached {
            link,
            boot: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            names: distributed.into_iter().collect(),
            consuming: std::sync::Mutex::default(),
        });
        if self.inner.cluster.set(Arc::clone(&attached)).is_err() {
            return;
        }
        let names = &attached.names;
        let consumers: Vec<(&'static str, Arc<str>, Scope, DeliverFn)> = {
            let topics = util::read(&self.inner.topics);
            topics
                .values()
                .filter(|e| e.distributed || names.contains(e.name))
                .flat_map(|entry| {
                    (entry.scopes)(&entry.topic)
                        .into_iter()
                        .map(|(handler, scope)| {
                            let deliver =
                                (entry.remote)(Arc::downgrade(&self.inner), Arc::clone(&handler));
                            (entry.name, handler, scope, deliver)
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        for (event, handler, scope, deliver) in consumers {
            self.start_consumer(event, handler, scope, deliver);
        }
    }

    /// The attached cluster, if any.
    pub fn cluster(&self) -> Option<Arc<dyn ClusterLink>> {
        self.inner.cluster.get().map(|a| Arc::clone(&a.link))
    }

    /// Whether events of this name are distributed by configuration (only
    /// ever so in cluster mode).
    pub(super) fn distributed_by_config(&self, name: &str) -> bool {
        self.inner
            .cluster
            .get()
            .is_some_and(|a| !a.names.is_empty() && a.names.contains(name))
    }

    /// The cluster, when `E`'s publishes go through it.
    pub(super) fn cluster_for<E: Event>(&self) -> Option<Arc<Attached>> {
        let attached = self.inner.cluster.get()?;
        (E::DISTRIBUTED || (!attached.names.is_empty() && attached.names.contains(E::NAME)))
            .then(|| Arc::clone(attached))
    }

    /// Starts the cluster consumer of a handler subscribed after attaching.
    pub(super) fn consume_remote<E: Event>(&self, handler: Arc<str>, scope: Scope) {
        if self.inner.cluster.get().is_none() {
            return;
        }
        let deliver = remote_handler::<E>(Arc::downgrade(&self.inner), Arc::clone(&handler));
        self.start_consumer(E::NAME, handler, scope, deliver);
    }

    fn start_consumer(
        &self,
        event: &'static str,
        handler: Arc<str>,
        scope: Scope,
        deliver: DeliverFn,
    ) {
        let Some(attached) = self.inner.cluster.get() else {
            return;
        };
        // A coordinator rewired after a restart keeps its handler's consumer,
        // which finds the new handler by name.
        if !lock(&attached.consuming).insert((event, Arc::clone(&handler))) {
            return;
        }
        let spec = ConsumerSpec {
            event,
            handler: handler.to_string(),
            scope,
        };
        if let Err(error) = attached.link.consume(spec, deliver) {
            tracing::error!(event, handler = %handler, %error, "cannot consume distributed event");
            lock(&attached.consuming).remove(&(event, handler));
        }
    }

    /// Sends a distributed event to the cluster, waiting for room in the
    /// link's bounded buffer; a publish that cannot be stored in time is
    /// logged, counted failed and kept as a dead letter to replay.
    pub(super) async fn publish_distributed<E: Event>(
        &self,
        attached: Arc<Attached>,
        event: E,
        source: Option<&'static str>,
    ) {
        let (counts, failed) = self.publish_parts::<E>();
        counts.published.fetch_add(1, Ordering::Relaxed);
        let id = EventId(self.inner.next_event.fetch_add(1, Ordering::Relaxed));
        let (correlation_id, inherited) =
            with_handling(|meta, owner| (meta.correlation_id, owner)).unwrap_or((id, "external"));
        let mut payload = Vec::with_capacity(128);
        if let Err(error) = serde_json::to_writer(&mut payload, &event) {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(event = E::NAME, %error, "[coord::E0410] a distributed event does not serialize; not sent");
            return;
        }
        let outgoing = OutgoingEvent {
            event: E::NAME,
            id: format!("{}.{:x}.{:x}", attached.link.node(), attached.boot, id.0),
            source: source.unwrap_or(inherited),
            correlation_id: correlation_id.0,
            payload,
        };
        attached.link.publish(outgoing, failed).await;
    }

    /// The counters of event type `E` and what its failed publishes do,
    /// creating its entry on first use.
    fn publish_parts<E: Event>(&self) -> (Arc<Counters>, PublishFailed) {
        let parts = |entry: &TopicEntry| {
            let failed = entry
                .publish_failed
                .get_or_init(|| publish_failed::<E>(Arc::downgrade(&self.inner)));
            (Arc::clone(&entry.counts), Arc::clone(failed))
        };
        if let Some(entry) = util::read(&self.inner.topics).get(&std::any::TypeId::of::<E>()) {
            return parts(entry);
        }
        let mut topics = util::write(&self.inner.topics);
        parts(
            topics
                .entry(std::any::TypeId::of::<E>())
                .or_insert_with(TopicEntry::new::<E>),
        )
    }

    /// Reads one delivery from the cluster for handler `name` and returns
    /// the handler's run on it.
    fn handle_remote<E: Event>(
        &self,
        name: &Arc<str>,
        delivery: Delivery<'_>,
    ) -> BoxFuture<'static, DeliveryOutcome> {
        let config = self.inner.config;
        let found: Option<(Arc<Topic<E>>, usize)> = {
            let topics = util::read(&self.inner.topics);
            topics.get(&std::any::TypeId::of::<E>()).and_then(|entry| {
                let topic = downcast_topic::<E>(&entry.topic);
                let at = topic
                    .subscribers
                    .iter()
                    .position(|s| *s.shared.name == **name)?;
                Some((Arc::clone(topic), at))
            })
        };
        let last_attempt = delivery.attempt >= config.max_attempts;
        let Some((topic, at)) = found else {
            // Unsubscribed meanwhile (a coordinator being rewired): later.
            let outcome = if last_attempt {
                DeliveryOutcome::DeadLetter(remote_letter::<E>(
                    name,
                    &delivery,
                    "[coord::E0408] the handler is not subscribed on this node",
                ))
            } else {
                DeliveryOutcome::Retry(config.retry_initial)
            };
            return Box::pin(std::future::ready(outcome));
        };
        let event: E = match serde_json::from_slice(delivery.payload) {
            Ok(event) => event,
            Err(error) => {
                // Retrying cannot make it readable: dead at once.
                topic.counts.failed.fetch_add(1, Ordering::Relaxed);
                let reason = format!(
                    "[coord::E0409] the payload does not read as event '{}': {error}",
                    E::NAME
                );
                tracing::error!(handler = %name, id = delivery.id, %reason, "distributed event unreadable");
                let letter = remote_letter::<E>(name, &delivery, &reason);
                return Box::pin(std::future::ready(DeliveryOutcome::DeadLetter(letter)));
            }
        };
        let id = EventId(self.inner.next_event.fetch_add(1, Ordering::Relaxed));
        let envelope = Arc::new(Envelope {
            meta: EventMeta {
                id,
                name: Cow::Borrowed(E::NAME),
                timestamp: UNIX_EPOCH + Duration::from_millis(delivery.timestamp_ms),
                source: Cow::Owned(format!("{}@{}", delivery.source, delivery.source_node)),
                correlation_id: id,
            },
            event,
        });
        // What a dead letter names, kept only for the delivery that may become one.
        let origin =
            last_attempt.then(|| (delivery.id.to_owned(), delivery.source_node.to_owned()));
        let (attempt, bus, name) = (delivery.attempt, self.clone(), Arc::clone(name));
        Box::pin(async move {
            let subscriber = &topic.subscribers[at];
            let shared = &subscriber.shared;
            let started = shared.latency.start();
            let call = HANDLING.scope(
                (envelope.meta.clone(), shared.owner),
                (subscriber.handler)(&envelope),
            );
            let result = run_handler(call, shared.timeout).await;
            shared.latency.record(started);
            let counts = &topic.counts;
            let error = match result {
                Ok(()) => {
                    counts.delivered.fetch_add(1, Ordering::Relaxed);
                    return DeliveryOutcome::Ack;
                }
                Err(error) => error,
            };
            counts.failed.fetch_add(1, Ordering::Relaxed);
            if let Some((cluster_id, source_node)) = origin {
                // Kept here too, replayable on this node by `dlq replay`.
                let retry = retry_for(subscriber, Arc::clone(&envelope));
                let letter = bus.dead_on_arrival(counts, &name, &envelope, error, attempt, retry);
                let mut shown = serde_json::to_value(&letter).unwrap_or_default();
                if let Some(fields) = shown.as_object_mut() {
                    fields.insert("node".into(), bus.node_name().into());
                    fields.insert("cluster_id".into(), cluster_id.into());
                    fields.insert("source_node".into(), source_node.into());
                }
                return DeliveryOutcome::DeadLetter(shown.to_string());
            }
            let delay = {
                let mut seed = lock(&bus.inner.retry_seed);
                backoff_delay(
                    config.retry_initial,
                    2.0,
                    config.retry_max,
                    config.retry_jitter,
                    attempt.saturating_sub(1),
                    &mut seed,
                )
            };
            tracing::warn!(handler = %name, attempt, %error, ?delay, "distributed delivery failed; the cluster redelivers it");
            DeliveryOutcome::Retry(delay)
        })
    }

    fn node_name(&self) -> String {
        self.inner
            .cluster
            .get()
            .map_or_else(String::new, |a| a.link.node().to_owned())
    }
}

/// A handler's deliveries from the cluster, for event type `E`.
pub(super) fn remote_handler<E: Event>(bus: Weak<BusInner>, name: Arc<str>) -> DeliverFn {
    Arc::new(move |delivery: Delivery<'_>| match bus.upgrade() {
        Some(inner) => EventBus { inner }.handle_remote::<E>(&name, delivery),
        // Shutting down: leave it to another node or the next run.
        None => Box::pin(std::future::ready(DeliveryOutcome::Retry(
            Duration::from_secs(1),
        ))),
    })
}

/// A dead letter that never reached a handler, as JSON for the cluster.
fn remote_letter<E: Event>(handler: &str, delivery: &Delivery<'_>, error: &str) -> String {
    serde_json::json!({
        "handler": handler,
        "cluster_id": delivery.id,
        "event": E::NAME,
        "source_node": delivery.source_node,
        "source": delivery.source,
        "payload": String::from_utf8_lossy(delivery.payload),
        "attempts": delivery.attempt,
        "last_error": error,
    })
    .to_string()
}

/// What happens when a distributed publish of an `E` cannot be stored in
/// time: a loud error, a failed count and a dead letter whose replay
/// publishes it again.
fn publish_failed<E: Event>(bus: Weak<BusInner>) -> PublishFailed {
    Arc::new(move |outgoing: OutgoingEvent, reason: String| {
        let Some(inner) = bus.upgrade() else { return };
        let bus = EventBus { inner };
        let (counts, _) = bus.publish_parts::<E>();
        counts.failed.fetch_add(1, Ordering::Relaxed);
        let error = format!(
            "[coord::E0411] the cluster did not store distributed event '{}' ({}): {reason}",
            E::NAME,
            outgoing.id
        );
        tracing::error!(%error, "distributed publish failed; kept as a dead letter, replay it with `dlq replay`");
        let event: E = match serde_json::from_slice(&outgoing.payload) {
            Ok(event) => event,
            // It was serialised from an `E` a moment ago.
            Err(_) => return,
        };
        // The local id is the id's last part (`node.boot.seq`, in hex).
        let id = outgoing
            .id
            .rsplit('.')
            .next()
            .and_then(|seq| u64::from_str_radix(seq, 16).ok())
            .map_or_else(
                || EventId(bus.inner.next_event.fetch_add(1, Ordering::Relaxed)),
                EventId,
            );
        let envelope = Envelope {
            meta: EventMeta {
                id,
                name: Cow::Borrowed(E::NAME),
                timestamp: SystemTime::now(),
                source: Cow::Borrowed(outgoing.source),
                correlation_id: EventId(outgoing.correlation_id),
            },
            event,
        };
        let weak = Arc::downgrade(&bus.inner);
        let retry: super::dead_letter::Retry = Arc::new(move || {
            let weak = weak.clone();
            let outgoing = outgoing.clone();
            Box::pin(async move {
                let inner = weak
                    .upgrade()
                    .ok_or_else(|| "[coord::E0405] the bus is gone".to_owned())?;
                let attached = inner
                    .cluster
                    .get()
                    .map(Arc::clone)
                    .ok_or_else(|| "[coord::E0405] no cluster attached".to_owned())?;
                let (_, failed) = EventBus { inner }.publish_parts::<E>();
                attached.link.publish(outgoing, failed).await;
                Ok(())
            })
        });
        let _ = bus.dead_on_arrival(&counts, "(cluster publish)", &envelope, error, 1, retry);
    })
}
