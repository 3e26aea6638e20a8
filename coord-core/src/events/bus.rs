//! The event bus: subscribe handlers, publish typed events, count them.
//!
//! Every subscriber has a bounded queue and one worker task, so handlers of
//! one subscriber see events in the order one publisher sent them, a slow or
//! failing handler never holds up another, and memory stays bounded: when a
//! queue is full, `publish` waits for room (backpressure) and `try_publish`
//! hands the event to the dead-letter queue instead of waiting. Each handler
//! runs with a timeout; an error, panic or timeout is recorded and the event
//! goes to the dead-letter queue for bounded retries.

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use super::cluster::Attached;
use super::dead_letter::DeadEntry;
use super::event::{Envelope, Event, EventId, EventMeta};
use super::handling::with_handling;
use super::latency::{HandlerLatency, Latency};
use super::observer::{EventObserver, observed};
use super::topic::{
    Handler, Prepared, Subscriber, SubscriberShared, Topic, TopicEntry, Work, downcast_topic,
};
use super::worker::{deliver, retry_for};
use crate::error::BoxError;
use crate::interface::Scope;
use crate::util::{self, TypeIdHash};

/// Settings of an event bus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusConfig {
    /// Events a subscriber's queue holds before publishers wait.
    pub queue_capacity: usize,
    /// Time one handler call may take.
    pub handler_timeout: Duration,
    /// Deliveries of one event to one handler before it is dead (first try included).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles per retry.
    pub retry_initial: Duration,
    /// Longest delay between retries.
    pub retry_max: Duration,
    /// Random spread of retry delays (0.1 = +-10%).
    pub retry_jitter: f64,
    /// Entries the dead-letter queue holds; when it is full, a new entry
    /// drops the oldest `dead` one (else the oldest), logged and counted.
    pub dead_letter_capacity: usize,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            handler_timeout: Duration::from_secs(60),
            max_attempts: 5,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            retry_jitter: 0.1,
            dead_letter_capacity: 10_000,
        }
    }
}

/// Counts of one event type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// Events published.
    pub published: u64,
    /// Events published while nothing subscribed.
    pub orphaned: u64,
    /// Handler calls that succeeded.
    pub delivered: u64,
    /// Handler calls that failed, panicked or timed out.
    pub failed: u64,
    /// Deliveries that went to the dead-letter queue (once each, however often retried).
    pub dead_lettered: u64,
}

/// Why a handler could not be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// Another handler of this event type already has this name.
    #[error(
        "[coord::E0401] a handler named '{name}' already subscribes to '{event}'; names must be unique per event type"
    )]
    DuplicateName {
        /// The handler's name.
        name: String,
        /// The event type.
        event: &'static str,
    },
}

pub(super) struct BusInner {
    pub(super) config: BusConfig,
    pub(super) topics: RwLock<HashMap<TypeId, TopicEntry, TypeIdHash>>,
    pub(super) next_event: AtomicU64,
    pub(super) dead: Mutex<BTreeMap<u64, DeadEntry>>,
    pub(super) next_dead: AtomicU64,
    /// Shared with the retry task, which must not keep the bus alive.
    pub(super) dead_changed: Arc<Notify>,
    pub(super) retry_seed: Mutex<u64>,
    /// Entries in `dead`, so workers skip its lock while it is empty.
    pub(super) dead_count: Arc<std::sync::atomic::AtomicUsize>,
    /// Whether handler calls are timed (`measure_handler_latency`).
    pub(super) measure_latency: Arc<std::sync::atomic::AtomicBool>,
    /// Bumped on every change of `dead`.
    pub(super) dead_version: AtomicU64,
    /// Entries dropped because the queue was full.
    pub(super) dead_dropped: AtomicU64,
    pub(super) retry_task_started: std::sync::atomic::AtomicBool,
    /// The cluster, once attached: distributed events travel through it.
    pub(super) cluster: std::sync::OnceLock<Arc<Attached>>,
    /// Who watches the bus, if anyone (a test harness).
    pub(super) observer: std::sync::OnceLock<Arc<dyn EventObserver>>,
}

/// Delivers typed events to their subscribers.
#[derive(Clone)]
pub struct EventBus {
    pub(super) inner: Arc<BusInner>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("subscriptions", &self.subscriptions())
            .finish_non_exhaustive()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(BusConfig::default())
    }
}

impl EventBus {
    /// A bus with these settings. Its retry task starts on first use.
    pub fn new(config: BusConfig) -> Self {
        Self {
            inner: Arc::new(BusInner {
                config,
                topics: RwLock::new(HashMap::default()),
                next_event: AtomicU64::new(1),
                dead: Mutex::new(BTreeMap::new()),
                next_dead: AtomicU64::new(1),
                dead_changed: Arc::new(Notify::new()),
                retry_seed: Mutex::new(0x9e37_79b9_7f4a_7c15),
                dead_count: Arc::default(),
                dead_dropped: AtomicU64::new(0),
                dead_version: AtomicU64::new(0),
                measure_latency: Arc::default(),
                retry_task_started: std::sync::atomic::AtomicBool::new(false),
                cluster: std::sync::OnceLock::new(),
                observer: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Lets `observer` see every publish and handler call from now on (once:
    /// a second observer is refused). Set it before anything subscribes:
    /// handlers are wrapped for it when they subscribe.
    pub fn observe(&self, observer: Arc<dyn EventObserver>) -> Result<(), Arc<dyn EventObserver>> {
        self.inner.observer.set(observer)
    }

    /// The bus's settings.
    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }

    /// Subscribes a closure under `name`; it runs in its own worker task.
    pub fn subscribe<E, F, Fut>(
        &self,
        name: impl Into<Arc<str>>,
        handler: F,
    ) -> Result<(), SubscribeError>
    where
        E: Event,
        F: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let handler: Handler<E> =
            Arc::new(move |envelope: &Arc<Envelope<E>>| Box::pin(handler(envelope.event.clone())));
        self.subscribe_handler(name.into(), None, handler)
    }

    /// Subscribes an erased handler owned by `owner` (a coordinator), replacing
    /// one of the same name and owner: rewiring never duplicates a handler.
    pub fn subscribe_handler<E: Event>(
        &self,
        name: Arc<str>,
        owner: Option<&'static str>,
        handler: Handler<E>,
    ) -> Result<(), SubscribeError> {
        self.subscribe_scoped(name, owner, Scope::Node, handler)
    }

    /// [`subscribe_handler`](Self::subscribe_handler) with the handler's
    /// cluster scope: in cluster mode a distributed event reaches a `Node`
    /// handler on every node and a `Once` handler on one node.
    pub fn subscribe_scoped<E: Event>(
        &self,
        name: Arc<str>,
        owner: Option<&'static str>,
        scope: Scope,
        handler: Handler<E>,
    ) -> Result<(), SubscribeError> {
        let handler = match self.inner.observer.get() {
            Some(observer) => observed(handler, Arc::clone(&name), Arc::clone(observer)),
            None => handler,
        };
        let mut topics = util::write(&self.inner.topics);
        let entry = topics
            .entry(TypeId::of::<E>())
            .or_insert_with(TopicEntry::new::<E>);
        let current = downcast_topic::<E>(&entry.topic);
        let mut subscribers: Vec<Subscriber<E>> = Vec::with_capacity(current.subscribers.len() + 1);
        for s in &current.subscribers {
            if *s.shared.name == *name {
                if s.owner != owner || owner.is_none() {
                    return Err(SubscribeError::DuplicateName {
                        name: name.to_string(),
                        event: E::NAME,
                    });
                }
                // Same handler of the same coordinator: replaced below.
                s.remove();
                continue;
            }
            subscribers.push(s.clone());
        }
        let shared = Arc::new(SubscriberShared {
            name: Arc::clone(&name),
            owner: owner.unwrap_or("external"),
            counts: Arc::clone(&entry.counts),
            dead_count: Arc::clone(&self.inner.dead_count),
            timeout: self.inner.config.handler_timeout,
            bus: Arc::downgrade(&self.inner),
            pending: std::sync::atomic::AtomicUsize::new(0),
            latency: Latency::new(Arc::clone(&self.inner.measure_latency)),
            event: E::NAME,
            scope,
            capacity: self.inner.config.queue_capacity.max(1),
        });
        subscribers.push(Subscriber {
            owner,
            handler,
            lane: Arc::default(),
            shared,
        });
        entry.handlers.retain(|(n, _)| **n != *name);
        entry.handlers.push((Arc::clone(&name), owner));
        entry.topic = Box::new(Arc::new(Topic {
            subscribers,
            counts: Arc::clone(&entry.counts),
        }));
        drop(topics);
        if E::DISTRIBUTED || self.distributed_by_config(E::NAME) {
            self.consume_remote::<E>(name, scope);
        } else if scope == Scope::Once && self.cluster().is_some() {
            tracing::warn!(
                handler = %name,
                event = E::NAME,
                "[coord::E0412] `#[subscribe(once)]` on an event that stays on its node: every node handles its own; mark the event `#[event(distributed)]` (or list it in `[events] distributed`) to handle it once per cluster"
            );
        }
        Ok(())
    }

    /// Removes every handler owned by `owner`.
    pub fn unsubscribe_owner(&self, owner: &str) {
        let mut topics = util::write(&self.inner.topics);
        for entry in topics.values_mut() {
            if entry.handlers.iter().any(|(_, o)| *o == Some(owner)) {
                entry.handlers.retain(|(_, o)| *o != Some(owner));
                (entry.remove_owner)(&mut entry.topic, owner);
            }
        }
    }

    /// Publishes `event` from `source` to every subscriber, waiting for queue room.
    ///
    /// Inside a handler, the new event inherits the handled event's correlation
    /// id and its source is the handler's owner.
    pub async fn publish<E: Event>(&self, event: E) {
        if let Some(cluster) = self.cluster_for::<E>() {
            return self.publish_distributed(cluster, event, None).await;
        }
        let Some((topic, envelope)) = self.prepare(event, None) else {
            return;
        };
        deliver(&topic, &envelope).await;
    }

    /// Publishes `event` naming `source` (a daemon or coordinator) as its sender.
    pub async fn publish_from<E: Event>(&self, source: &'static str, event: E) {
        if let Some(cluster) = self.cluster_for::<E>() {
            return self.publish_distributed(cluster, event, Some(source)).await;
        }
        let Some((topic, envelope)) = self.prepare(event, Some(source)) else {
            return;
        };
        deliver(&topic, &envelope).await;
    }

    /// Publishes without waiting: a full queue sends the event to the
    /// dead-letter queue for that subscriber instead.
    pub fn try_publish<E: Event>(&self, event: E) {
        if let Some(cluster) = self.cluster_for::<E>() {
            // Queued for the server by a task: this call never waits.
            let bus = self.clone();
            let source = with_handling(|_, owner| owner);
            drop(tokio::spawn(async move {
                bus.publish_distributed(cluster, event, source).await;
            }));
            return;
        }
        let Some((topic, envelope)) = self.prepare(event, None) else {
            return;
        };
        for subscriber in &topic.subscribers {
            subscriber.shared.pending.fetch_add(1, Ordering::AcqRel);
            let sent = match subscriber.queue() {
                Some(queue) => queue.try_send(Work::Deliver(Arc::clone(&envelope))),
                // Outside a runtime no worker can take it: as good as full.
                None => Err(mpsc::error::TrySendError::Full(Work::Deliver(Arc::clone(
                    &envelope,
                )))),
            };
            if let Err(error) = sent {
                subscriber.shared.pending.fetch_sub(1, Ordering::AcqRel);
                if let mpsc::error::TrySendError::Full(_) = error {
                    topic.counts.failed.fetch_add(1, Ordering::Relaxed);
                    let retry = retry_for(subscriber, Arc::clone(&envelope));
                    self.dead_letter(
                        &topic.counts,
                        &subscriber.shared.name,
                        &envelope,
                        "[coord::E0404] the subscriber's queue is full".to_owned(),
                        retry,
                    );
                }
            }
        }
        topic.counts.published.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn prepare<E: Event>(
        &self,
        event: E,
        source: Option<&'static str>,
    ) -> Option<Prepared<E>> {
        let topic = {
            let topics = util::read(&self.inner.topics);
            match topics.get(&TypeId::of::<E>()) {
                Some(entry) => Arc::clone(downcast_topic::<E>(&entry.topic)),
                None => {
                    drop(topics);
                    self.count_orphan::<E>();
                    self.observe_orphan(event, source);
                    return None;
                }
            }
        };
        if topic.subscribers.is_empty() {
            topic.counts.published.fetch_add(1, Ordering::Relaxed);
            topic.counts.orphaned.fetch_add(1, Ordering::Relaxed);
            self.observe_orphan(event, source);
            return None;
        }
        let envelope = self.envelope(event, source);
        // Checked here, not in `observe_published`: without an observer a
        // publish must not pay for cloning and dropping the envelope's Arc.
        if self.inner.observer.get().is_some() {
            self.observe_published(Arc::clone(&envelope));
        }
        Some((topic, envelope))
    }

    /// `event` with its metadata: a new id, now, the source, and the
    /// correlation id of the event being handled, if any.
    fn envelope<E: Event>(&self, event: E, source: Option<&'static str>) -> Arc<Envelope<E>> {
        let id = EventId(self.inner.next_event.fetch_add(1, Ordering::Relaxed));
        let (correlation_id, inherited_source) =
            with_handling(|meta, owner| (meta.correlation_id, owner)).unwrap_or((id, "external"));
        let meta = EventMeta {
            id,
            name: Cow::Borrowed(E::NAME),
            timestamp: SystemTime::now(),
            source: Cow::Borrowed(source.unwrap_or(inherited_source)),
            correlation_id,
        };
        Arc::new(Envelope { meta, event })
    }

    /// Tells the observer, if any, of a publish nothing receives.
    fn observe_orphan<E: Event>(&self, event: E, source: Option<&'static str>) {
        if self.inner.observer.get().is_some() {
            self.observe_published(self.envelope(event, source));
        }
    }

    /// Tells the observer, if any, of a publish.
    fn observe_published<E: Event>(&self, envelope: Arc<Envelope<E>>) {
        if let Some(observer) = self.inner.observer.get() {
            observer.published(&envelope.meta.clone(), envelope);
        }
    }

    fn count_orphan<E: Event>(&self) {
        let mut topics = util::write(&self.inner.topics);
        let entry = topics
            .entry(TypeId::of::<E>())
            .or_insert_with(TopicEntry::new::<E>);
        entry.counts.published.fetch_add(1, Ordering::Relaxed);
        entry.counts.orphaned.fetch_add(1, Ordering::Relaxed);
    }

    /// Event type name -> handler names, sorted.
    pub fn subscriptions(&self) -> BTreeMap<&'static str, Vec<String>> {
        let topics = util::read(&self.inner.topics);
        topics
            .values()
            .filter(|e| !e.handlers.is_empty())
            .map(|e| {
                (
                    e.name,
                    e.handlers.iter().map(|(n, _)| n.to_string()).collect(),
                )
            })
            .collect()
    }

    /// Event types published at least once while nothing subscribed.
    pub fn orphaned_events(&self) -> Vec<&'static str> {
        self.counts()
            .into_iter()
            .filter(|(_, c)| c.orphaned > 0)
            .map(|(n, _)| n)
            .collect()
    }

    /// Event types with subscribers that nothing has published so far.
    pub fn unused_subscriptions(&self) -> Vec<&'static str> {
        let topics = util::read(&self.inner.topics);
        let mut unused: Vec<&'static str> = topics
            .values()
            .filter(|e| !e.handlers.is_empty() && e.counts.published.load(Ordering::Relaxed) == 0)
            .map(|e| e.name)
            .collect();
        unused.sort_unstable();
        unused
    }

    /// Counts per event type name.
    pub fn counts(&self) -> BTreeMap<&'static str, EventCounts> {
        let topics = util::read(&self.inner.topics);
        topics
            .values()
            .map(|e| {
                (
                    e.name,
                    EventCounts {
                        published: e.counts.published.load(Ordering::Relaxed),
                        orphaned: e.counts.orphaned.load(Ordering::Relaxed),
                        delivered: e.counts.delivered.load(Ordering::Relaxed),
                        failed: e.counts.failed.load(Ordering::Relaxed),
                        dead_lettered: e.counts.dead_lettered.load(Ordering::Relaxed),
                    },
                )
            })
            .collect()
    }

    /// Starts (or stops) timing handler calls, for `handler_latencies`.
    pub fn measure_handler_latency(&self, on: bool) {
        self.inner
            .measure_latency
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long each handler's calls took since measuring began, by handler.
    pub fn handler_latencies(&self) -> Vec<HandlerLatency> {
        let topics = util::read(&self.inner.topics);
        let mut all: Vec<HandlerLatency> = topics
            .values()
            .flat_map(|entry| (entry.latencies)(&entry.topic))
            .collect();
        all.sort_by(|a, b| a.handler.cmp(&b.handler));
        all
    }

    /// Logs the subscription table, orphaned events and unused subscriptions.
    pub fn log_wiring_report(&self) {
        for (event, handlers) in self.subscriptions() {
            tracing::info!(event, handlers = ?handlers, "subscription");
        }
        let orphaned = self.orphaned_events();
        if !orphaned.is_empty() {
            tracing::warn!(events = ?orphaned, "events published with no subscriber");
        }
        let unused = self.unused_subscriptions();
        if !unused.is_empty() {
            tracing::info!(events = ?unused, "subscribed events not published so far");
        }
    }
}
