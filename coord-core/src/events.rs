//! Typed events: publish to every subscriber of a type, each in its own queue.
//!
//! Every subscriber has a bounded queue and one worker task, so handlers of
//! one subscriber see events in the order one publisher sent them, a slow or
//! failing handler never holds up another, and memory stays bounded: when a
//! queue is full, `publish` waits for room (backpressure) and `try_publish`
//! hands the event to the dead-letter queue instead of waiting. Each handler
//! runs with a timeout; an error, panic or timeout is recorded and the event
//! goes to the dead-letter queue for bounded retries.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::daemon::BoxFuture;
use crate::error::{BoxError, panic_message};
use crate::restart::backoff_delay;

/// A typed event; use `#[derive(Event)]`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0016] `{Self}` is not an event",
    label = "not an `Event`",
    note = "an event is a type of your own marked `#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]`",
    note = "a type from another crate cannot be an event itself: wrap it in one of yours, e.g. `#[derive(Event, ...)] pub struct ModelSaved(pub String);`"
)]
pub trait Event: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stable name, e.g. `training_completed`.
    const NAME: &'static str;
}

/// An event's identity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub struct EventId(pub u64);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "evt-{}", self.0)
    }
}

/// What travels with every delivered event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EventMeta {
    /// This event's id.
    pub id: EventId,
    /// The event type's stable name.
    pub name: Cow<'static, str>,
    /// When it was published.
    pub timestamp: SystemTime,
    /// The daemon or coordinator that published it, or `external`.
    pub source: Cow<'static, str>,
    /// The id of the event that started the chain this one belongs to.
    pub correlation_id: EventId,
}

tokio::task_local! {
    /// The event being handled (and the handler's owner), while a handler
    /// runs in its subscriber's worker task.
    static HANDLING: (EventMeta, &'static str);
}

/// The event being handled by handlers a publisher polls inline, and the
/// running handler's owner; lives on the publisher's stack for one pass.
struct Inline {
    meta: *const EventMeta,
    owner: std::cell::Cell<&'static str>,
}

thread_local! {
    /// The [`Inline`] of the pass running on this thread, or null. A plain
    /// pointer, not a task-local scope: entering a scope per publish cost a
    /// tenth of a one-handler publish, and the pass is synchronous.
    static INLINE: std::cell::Cell<*const Inline> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Puts back the previous [`INLINE`] when a pass ends, also by unwinding.
struct InlineGuard(*const Inline);

impl Drop for InlineGuard {
    fn drop(&mut self) {
        INLINE.with(|current| current.set(self.0));
    }
}

/// Calls `f` with the event being handled and the handler's owner, if a
/// handler is running here: inline on this thread, or in this worker task.
fn with_handling<R>(f: impl FnOnce(&EventMeta, &'static str) -> R) -> Option<R> {
    let inline = INLINE.with(std::cell::Cell::get);
    if !inline.is_null() {
        // SAFETY: `deliver` points INLINE at an `Inline` (and its `meta` at the
        // envelope's) on its stack only for a synchronous pass on this thread,
        // and its guard resets it before either goes away, unwinding included.
        let inline = unsafe { &*inline };
        // SAFETY: as above; the envelope outlives the pass.
        return Some(f(unsafe { &*inline.meta }, inline.owner.get()));
    }
    HANDLING.try_with(|(meta, owner)| f(meta, owner)).ok()
}

impl EventMeta {
    /// The metadata of the event the current handler is handling.
    pub fn current() -> Option<EventMeta> {
        with_handling(|meta, _| meta.clone())
    }
}

/// An event and its metadata, shared by every subscriber it is delivered to.
#[derive(Debug)]
pub struct Envelope<E> {
    /// Id, time, source, correlation.
    pub meta: EventMeta,
    /// The event.
    pub event: E,
}

/// A subscriber's handler: called once per delivered event.
pub type Handler<E> =
    Arc<dyn Fn(&Arc<Envelope<E>>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

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

/// Where a dead letter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum DeadLetterState {
    /// Waiting for its next retry.
    Retrying,
    /// Out of retries: kept, visible and replayable by hand, never redelivered by itself.
    Dead,
}

/// A delivery that failed, as shown to people and stores.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// The entry's id in the queue.
    pub id: u64,
    /// The handler that failed, e.g. `DataPipelineOrchestrator::on_training_completed`.
    pub handler: String,
    /// The event's metadata.
    pub meta: EventMeta,
    /// The event as JSON.
    pub payload: String,
    /// Deliveries so far.
    pub attempts: u32,
    /// Why the last one failed.
    pub last_error: String,
    /// Retrying or dead.
    pub state: DeadLetterState,
    /// When the next retry is due, while retrying.
    pub next_attempt_at: Option<SystemTime>,
}

type Retry = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

struct DeadEntry {
    letter: DeadLetter,
    due: Option<Instant>,
    retry: Retry,
}

/// Hashing for `TypeId` keys: a `TypeId` is already a hash, so the default
/// SipHash only adds time to every publish.
#[derive(Default, Clone, Copy)]
struct TypeIdHash;

impl std::hash::BuildHasher for TypeIdHash {
    type Hasher = TypeIdHasher;

    fn build_hasher(&self) -> TypeIdHasher {
        TypeIdHasher(0)
    }
}

struct TypeIdHasher(u64);

impl std::hash::Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // TypeId hashes itself as integer writes; keep this general anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64);
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

/// An event ready to send: its subscribers and its envelope.
type Prepared<E> = (Arc<Topic<E>>, Arc<Envelope<E>>);

/// Work for a subscriber's worker, in the order it must be done.
enum Work<E> {
    /// Run the handler on this event.
    Deliver(Arc<Envelope<E>>),
    /// Finish a handler call a publisher started inline and that had to wait.
    Finish(Arc<Envelope<E>>, BoxFuture<'static, Result<(), String>>),
}

/// What a subscriber's publishers and worker share.
struct SubscriberShared {
    name: Arc<str>,
    /// The source that handlers' publishes get: the owning coordinator, or `external`.
    owner: &'static str,
    counts: Arc<Counters>,
    dead_count: Arc<std::sync::atomic::AtomicUsize>,
    timeout: Duration,
    bus: Weak<BusInner>,
    /// Handler calls queued or running. A publisher that moves it from 0 to 1
    /// may run the handler inline; anything else queues behind it, so one
    /// subscriber's handler never runs twice at once and order is kept.
    pending: std::sync::atomic::AtomicUsize,
}

struct Subscriber<E> {
    owner: Option<&'static str>,
    handler: Handler<E>,
    queue: mpsc::Sender<Work<E>>,
    worker: tokio::task::AbortHandle,
    shared: Arc<SubscriberShared>,
}

impl<E> Clone for Subscriber<E> {
    fn clone(&self) -> Self {
        Self {
            owner: self.owner,
            handler: Arc::clone(&self.handler),
            queue: self.queue.clone(),
            worker: self.worker.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The subscribers of one event type.
struct Topic<E> {
    subscribers: Vec<Subscriber<E>>,
    /// The entry's counters, here too so a publish clones one Arc, not two.
    counts: Arc<Counters>,
}

struct TopicEntry {
    name: &'static str,
    /// `Arc<Topic<E>>`, replaced whole when subscribers change, so a publish
    /// clones one Arc and never holds a lock while it sends.
    topic: Box<dyn Any + Send + Sync>,
    handlers: Vec<(Arc<str>, Option<&'static str>)>,
    counts: Arc<Counters>,
    /// `remove_owner::<E>` for this entry's `E`.
    remove_owner: fn(&mut Box<dyn Any + Send + Sync>, &str),
}

impl TopicEntry {
    fn new<E: Event>() -> Self {
        let counts = Arc::<Counters>::default();
        Self {
            name: E::NAME,
            topic: Box::new(Arc::new(Topic::<E> {
                subscribers: Vec::new(),
                counts: Arc::clone(&counts),
            })),
            handlers: Vec::new(),
            counts,
            remove_owner: remove_owner::<E>,
        }
    }
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    orphaned: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
}

struct BusInner {
    config: BusConfig,
    topics: RwLock<HashMap<TypeId, TopicEntry, TypeIdHash>>,
    next_event: AtomicU64,
    dead: Mutex<BTreeMap<u64, DeadEntry>>,
    next_dead: AtomicU64,
    /// Shared with the retry task, which must not keep the bus alive.
    dead_changed: Arc<Notify>,
    retry_seed: Mutex<u64>,
    /// Entries in `dead`, so workers skip its lock while it is empty.
    dead_count: Arc<std::sync::atomic::AtomicUsize>,
    /// Entries dropped because the queue was full.
    dead_dropped: AtomicU64,
    retry_task_started: std::sync::atomic::AtomicBool,
}

/// Delivers typed events to their subscribers.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<BusInner>,
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Guarded values are replaced in whole assignments, never left half-written.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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
                retry_task_started: std::sync::atomic::AtomicBool::new(false),
            }),
        }
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
        let mut topics = self.inner.topics.write().unwrap_or_else(|p| p.into_inner());
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
                s.worker.abort();
                continue;
            }
            subscribers.push(s.clone());
        }
        let (queue, receiver) = mpsc::channel(self.inner.config.queue_capacity.max(1));
        let shared = Arc::new(SubscriberShared {
            name: Arc::clone(&name),
            owner: owner.unwrap_or("external"),
            counts: Arc::clone(&entry.counts),
            dead_count: Arc::clone(&self.inner.dead_count),
            timeout: self.inner.config.handler_timeout,
            bus: Arc::downgrade(&self.inner),
            pending: std::sync::atomic::AtomicUsize::new(0),
        });
        let worker = tokio::spawn(run_worker::<E>(
            receiver,
            Arc::clone(&handler),
            Arc::clone(&shared),
        ))
        .abort_handle();
        subscribers.push(Subscriber {
            owner,
            handler,
            queue,
            worker,
            shared,
        });
        entry.handlers.retain(|(n, _)| **n != *name);
        entry.handlers.push((name, owner));
        entry.topic = Box::new(Arc::new(Topic {
            subscribers,
            counts: Arc::clone(&entry.counts),
        }));
        Ok(())
    }

    /// Removes every handler owned by `owner`.
    pub fn unsubscribe_owner(&self, owner: &str) {
        let mut topics = self.inner.topics.write().unwrap_or_else(|p| p.into_inner());
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
        let Some((topic, envelope)) = self.prepare(event, None) else {
            return;
        };
        deliver(&topic, &envelope).await;
    }

    /// Publishes `event` naming `source` (a daemon or coordinator) as its sender.
    pub async fn publish_from<E: Event>(&self, source: &'static str, event: E) {
        let Some((topic, envelope)) = self.prepare(event, Some(source)) else {
            return;
        };
        deliver(&topic, &envelope).await;
    }

    /// Publishes without waiting: a full queue sends the event to the
    /// dead-letter queue for that subscriber instead.
    pub fn try_publish<E: Event>(&self, event: E) {
        let Some((topic, envelope)) = self.prepare(event, None) else {
            return;
        };
        for subscriber in &topic.subscribers {
            subscriber.shared.pending.fetch_add(1, Ordering::AcqRel);
            if let Err(error) = subscriber
                .queue
                .try_send(Work::Deliver(Arc::clone(&envelope)))
            {
                subscriber.shared.pending.fetch_sub(1, Ordering::AcqRel);
                if let mpsc::error::TrySendError::Full(_) = error {
                    topic.counts.failed.fetch_add(1, Ordering::Relaxed);
                    let retry = retry_for(subscriber, Arc::clone(&envelope));
                    self.dead_letter(
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

    fn prepare<E: Event>(&self, event: E, source: Option<&'static str>) -> Option<Prepared<E>> {
        let topic = {
            let topics = self.inner.topics.read().unwrap_or_else(|p| p.into_inner());
            match topics.get(&TypeId::of::<E>()) {
                Some(entry) => Arc::clone(downcast_topic::<E>(&entry.topic)),
                None => {
                    drop(topics);
                    self.count_orphan::<E>();
                    return None;
                }
            }
        };
        if topic.subscribers.is_empty() {
            topic.counts.published.fetch_add(1, Ordering::Relaxed);
            topic.counts.orphaned.fetch_add(1, Ordering::Relaxed);
            return None;
        }
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
        Some((topic, Arc::new(Envelope { meta, event })))
    }

    fn count_orphan<E: Event>(&self) {
        let mut topics = self.inner.topics.write().unwrap_or_else(|p| p.into_inner());
        let entry = topics
            .entry(TypeId::of::<E>())
            .or_insert_with(TopicEntry::new::<E>);
        entry.counts.published.fetch_add(1, Ordering::Relaxed);
        entry.counts.orphaned.fetch_add(1, Ordering::Relaxed);
    }

    /// Event type name -> handler names, sorted.
    pub fn subscriptions(&self) -> BTreeMap<&'static str, Vec<String>> {
        let topics = self.inner.topics.read().unwrap_or_else(|p| p.into_inner());
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
        let topics = self.inner.topics.read().unwrap_or_else(|p| p.into_inner());
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
        let topics = self.inner.topics.read().unwrap_or_else(|p| p.into_inner());
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
                    },
                )
            })
            .collect()
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

    /// Every dead letter, retrying and dead, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.inner.dead)
            .values()
            .map(|e| e.letter.clone())
            .collect()
    }

    /// Delivers a dead letter once more now; on success it leaves the queue.
    pub async fn replay_dead_letter(&self, id: u64) -> Result<(), String> {
        let retry = lock(&self.inner.dead)
            .get(&id)
            .map(|e| Arc::clone(&e.retry))
            .ok_or_else(|| format!("[coord::E0406] no dead letter with id {id}"))?;
        // Enqueued again: the worker's own outcome decides whether it returns.
        if lock(&self.inner.dead).remove(&id).is_some() {
            self.inner.dead_count.fetch_sub(1, Ordering::Relaxed);
        }
        retry().await
    }

    /// Dead letters dropped so far because the queue was full.
    pub fn dead_letters_dropped(&self) -> u64 {
        self.inner.dead_dropped.load(Ordering::Relaxed)
    }

    /// Removes dead letters in state `dead`; returns how many.
    pub fn purge_dead_letters(&self) -> usize {
        let mut dead = lock(&self.inner.dead);
        let before = dead.len();
        dead.retain(|_, e| e.letter.state != DeadLetterState::Dead);
        let purged = before - dead.len();
        self.inner.dead_count.fetch_sub(purged, Ordering::Relaxed);
        purged
    }

    /// Records a failed delivery; schedules its retry or marks it dead.
    fn dead_letter<E: Event>(
        &self,
        handler: &str,
        envelope: &Envelope<E>,
        error: String,
        retry: Retry,
    ) {
        let config = &self.inner.config;
        let payload = serde_json::to_string(&envelope.event)
            .unwrap_or_else(|e| format!("(not serializable: {e})"));
        let mut dead = lock(&self.inner.dead);
        // The same event and handler failing again updates its entry.
        let existing = dead
            .iter()
            .find(|(_, e)| e.letter.meta.id == envelope.meta.id && e.letter.handler == handler)
            .map(|(id, _)| *id);
        let (id, attempts) = match existing {
            Some(id) => (id, dead[&id].letter.attempts + 1),
            None => (self.inner.next_dead.fetch_add(1, Ordering::Relaxed), 1),
        };
        let (state, due) = if attempts >= config.max_attempts {
            tracing::error!(handler, event = %envelope.meta.id, attempts, %error, "dead letter: out of retries");
            (DeadLetterState::Dead, None)
        } else {
            let mut seed = lock(&self.inner.retry_seed);
            let delay = backoff_delay(
                config.retry_initial,
                2.0,
                config.retry_max,
                config.retry_jitter,
                attempts - 1,
                &mut seed,
            );
            tracing::warn!(handler, event = %envelope.meta.id, attempts, %error, ?delay, "delivery failed; will retry");
            (DeadLetterState::Retrying, Some(Instant::now() + delay))
        };
        if existing.is_none() {
            if dead.len() >= config.dead_letter_capacity.max(1) {
                // Full: the oldest letter out of retries goes first, else the oldest.
                let oldest = dead
                    .iter()
                    .find(|(_, e)| e.letter.state == DeadLetterState::Dead)
                    .or_else(|| dead.iter().next())
                    .map(|(id, _)| *id);
                if let Some(oldest) = oldest
                    && let Some(entry) = dead.remove(&oldest)
                {
                    self.inner.dead_count.fetch_sub(1, Ordering::Relaxed);
                    let dropped = self.inner.dead_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(
                        handler = %entry.letter.handler,
                        event = %entry.letter.meta.id,
                        capacity = config.dead_letter_capacity,
                        dropped,
                        "[coord::E0407] dead-letter queue full: dropped its oldest letter"
                    );
                }
            }
            self.inner.dead_count.fetch_add(1, Ordering::Relaxed);
        }
        dead.insert(
            id,
            DeadEntry {
                letter: DeadLetter {
                    id,
                    handler: handler.to_owned(),
                    meta: envelope.meta.clone(),
                    payload,
                    attempts,
                    last_error: error,
                    state,
                    next_attempt_at: due
                        .map(|d| SystemTime::now() + d.duration_since(Instant::now())),
                },
                due,
                retry,
            },
        );
        drop(dead);
        self.ensure_retry_task();
        self.inner.dead_changed.notify_one();
    }

    fn delivered(&self, handler: &str, id: EventId) {
        let mut dead = lock(&self.inner.dead);
        let before = dead.len();
        dead.retain(|_, e| !(e.letter.meta.id == id && e.letter.handler == handler));
        self.inner
            .dead_count
            .fetch_sub(before - dead.len(), Ordering::Relaxed);
    }

    fn ensure_retry_task(&self) {
        if !self.inner.retry_task_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(retry_loop(Arc::downgrade(&self.inner)));
        }
    }
}

/// Redelivers dead letters when due, until the bus is dropped.
async fn retry_loop(bus: Weak<BusInner>) {
    loop {
        let Some(inner) = bus.upgrade() else { return };
        let changed = Arc::clone(&inner.dead_changed);
        let notified = changed.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        let due: Vec<Retry> = {
            let now = Instant::now();
            let mut dead = lock(&inner.dead);
            dead.values_mut()
                .filter(|e| e.due.is_some_and(|d| d <= now))
                .map(|e| {
                    e.due = None;
                    Arc::clone(&e.retry)
                })
                .collect()
        };
        drop(inner);
        for retry in due {
            // The worker reports the outcome of the redelivery itself.
            let _ = retry().await;
        }
        let next = match bus.upgrade() {
            Some(inner) => lock(&inner.dead).values().filter_map(|e| e.due).min(),
            None => return,
        };
        match next {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = notified => {}
                }
            }
            None => notified.await,
        }
    }
}

impl Drop for BusInner {
    fn drop(&mut self) {
        // Wake the retry task so it sees the bus is gone and ends.
        self.dead_changed.notify_one();
    }
}

// Takes the Box itself: a `&Box<dyn Any>` passed where `&dyn Any` is expected
// coerces the Box into the trait object, and every downcast would then fail.
#[allow(clippy::borrowed_box)]
fn downcast_topic<E: Event>(topic: &Box<dyn Any + Send + Sync>) -> &Arc<Topic<E>> {
    match (**topic).downcast_ref::<Arc<Topic<E>>>() {
        Some(topic) => topic,
        // Entries are keyed by TypeId::of::<E>() and only ever hold Arc<Topic<E>>.
        None => unreachable!("event topic stored under another type's id"),
    }
}

/// Removes the subscribers owned by `owner` from a topic of event type `E`.
fn remove_owner<E: Event>(topic: &mut Box<dyn Any + Send + Sync>, owner: &str) {
    let current = downcast_topic::<E>(topic);
    let mut kept = Vec::with_capacity(current.subscribers.len());
    for subscriber in &current.subscribers {
        if subscriber.owner == Some(owner) {
            subscriber.worker.abort();
        } else {
            kept.push(subscriber.clone());
        }
    }
    let counts = Arc::clone(&current.counts);
    *topic = Box::new(Arc::new(Topic {
        subscribers: kept,
        counts,
    }));
}

/// Delivers one event to every subscriber of its topic: inline in the
/// publisher for each idle subscriber (the handler is polled once and most
/// finish right there, with no queue or task switch); otherwise, or if the
/// handler has to wait, through the subscriber's queue to its worker.
async fn deliver<E: Event>(topic: &Topic<E>, envelope: &Arc<Envelope<E>>) {
    // Work for busy subscribers and waiting calls, sent once the inline pass
    // is over; empty (and unallocated) when every handler finished inline.
    let mut queued: Vec<(&Subscriber<E>, Work<E>)> = Vec::new();
    // Counted once per publish: the counter is shared by all of the topic's subscribers.
    let mut delivered = 0;
    // The inline pass: synchronous, and scoped so that neither its raw
    // pointers nor a Context are held across the awaits below (the future
    // would not be Send).
    {
        let inline = Inline {
            meta: &envelope.meta,
            owner: std::cell::Cell::new("external"),
        };
        let _restore = InlineGuard(INLINE.with(|current| current.replace(&inline)));
        for subscriber in &topic.subscribers {
            let shared = &subscriber.shared;
            if shared
                .pending
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                shared.pending.fetch_add(1, Ordering::AcqRel);
                queued.push((subscriber, Work::Deliver(Arc::clone(envelope))));
                continue;
            }
            inline.owner.set(shared.owner);
            let mut call = (subscriber.handler)(envelope);
            // A noop waker is enough: the worker polls a waiting call again at once.
            let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
                call.as_mut()
                    .poll(&mut Context::from_waker(std::task::Waker::noop()))
            }));
            match polled {
                Ok(Poll::Ready(Ok(()))) => {
                    delivered += 1;
                    shared.clear_dead_letter(envelope);
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                }
                Ok(Poll::Ready(Err(error))) => {
                    shared.settle(subscriber, envelope, Err(error.to_string()));
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                }
                Err(payload) => {
                    let error = format!(
                        "[coord::E0403] handler panicked: {}",
                        panic_message(payload.as_ref())
                    );
                    shared.settle(subscriber, envelope, Err(error));
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                }
                Ok(Poll::Pending) => {
                    // Only a call that has to wait is wrapped (and boxed) for the worker.
                    let call: BoxFuture<'static, Result<(), String>> = Box::pin(CatchPanic(
                        HANDLING.scope((envelope.meta.clone(), shared.owner), call),
                    ));
                    queued.push((subscriber, Work::Finish(Arc::clone(envelope), call)));
                }
            }
        }
    }
    if delivered > 0 {
        topic
            .counts
            .delivered
            .fetch_add(delivered, Ordering::Relaxed);
    }
    topic.counts.published.fetch_add(1, Ordering::Relaxed);
    for (subscriber, work) in queued {
        if subscriber.queue.send(work).await.is_err() {
            // The subscriber was removed meanwhile.
            subscriber.shared.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Redelivers `envelope` to `subscriber` through its queue.
fn retry_for<E: Event>(subscriber: &Subscriber<E>, envelope: Arc<Envelope<E>>) -> Retry {
    let queue = subscriber.queue.clone();
    let shared = Arc::clone(&subscriber.shared);
    Arc::new(move || {
        let queue = queue.clone();
        let shared = Arc::clone(&shared);
        let envelope = Arc::clone(&envelope);
        Box::pin(async move {
            shared.pending.fetch_add(1, Ordering::AcqRel);
            match queue.send(Work::Deliver(envelope)).await {
                Ok(()) => Ok(()),
                Err(_) => {
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                    Err("[coord::E0405] the subscriber is gone".to_owned())
                }
            }
        })
    })
}

impl SubscriberShared {
    /// After a successful delivery: clears the event's dead-letter entry, if any.
    fn clear_dead_letter<E>(&self, envelope: &Envelope<E>) {
        // Only a redelivery can have an entry to clear; skip the lock while none exist.
        if self.dead_count.load(Ordering::Relaxed) > 0
            && let Some(inner) = self.bus.upgrade()
        {
            EventBus { inner }.delivered(&self.name, envelope.meta.id);
        }
    }

    /// Records a handler call's outcome; a failure goes to the dead-letter queue.
    fn settle<E: Event>(
        &self,
        subscriber: &Subscriber<E>,
        envelope: &Arc<Envelope<E>>,
        result: Result<(), String>,
    ) {
        match result {
            Ok(()) => {
                self.counts.delivered.fetch_add(1, Ordering::Relaxed);
                self.clear_dead_letter(envelope);
            }
            Err(error) => {
                self.counts.failed.fetch_add(1, Ordering::Relaxed);
                if let Some(inner) = self.bus.upgrade() {
                    let retry = retry_for(subscriber, Arc::clone(envelope));
                    EventBus { inner }.dead_letter(&self.name, envelope, error, retry);
                }
            }
        }
    }
}

/// One subscriber's worker: does its queued work in order, one call at a time.
async fn run_worker<E: Event>(
    mut queue: mpsc::Receiver<Work<E>>,
    handler: Handler<E>,
    shared: Arc<SubscriberShared>,
) {
    while let Some(work) = queue.recv().await {
        let (envelope, result) = match work {
            Work::Deliver(envelope) => {
                let call =
                    HANDLING.scope((envelope.meta.clone(), shared.owner), handler(&envelope));
                let result = run_handler(call, shared.timeout).await;
                (envelope, result)
            }
            Work::Finish(envelope, call) => {
                let result = match tokio::time::timeout(shared.timeout, call).await {
                    Ok(result) => result,
                    Err(_) => Err(format!(
                        "[coord::E0402] handler timed out after {:?}",
                        shared.timeout
                    )),
                };
                (envelope, result)
            }
        };
        // The worker holds no sender; find this subscriber in its topic to settle.
        let subscriber = shared.bus.upgrade().and_then(|inner| {
            let topics = inner.topics.read().unwrap_or_else(|p| p.into_inner());
            topics.get(&TypeId::of::<E>()).and_then(|entry| {
                downcast_topic::<E>(&entry.topic)
                    .subscribers
                    .iter()
                    .find(|s| Arc::ptr_eq(&s.shared, &shared))
                    .cloned()
            })
        });
        match subscriber {
            Some(subscriber) => shared.settle(&subscriber, &envelope, result),
            // Removed meanwhile: count the outcome; there is no one to retry for.
            None if result.is_ok() => {
                shared.counts.delivered.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                shared.counts.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        shared.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs one handler call: polled once inline (most finish without waiting,
/// and those never arm a timer), then under the timeout; a panic is an error.
async fn run_handler<F>(call: F, timeout: Duration) -> Result<(), String>
where
    F: Future<Output = Result<(), BoxError>>,
{
    let mut call = std::pin::pin!(CatchPanic(call));
    let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(result) => result,
        Poll::Pending => match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "[coord::E0402] handler timed out after {timeout:?}"
            )),
        },
    }
}

/// A future whose panic becomes an error.
struct CatchPanic<F>(F);

impl<F: Future<Output = Result<(), BoxError>>> Future for CatchPanic<F> {
    type Output = Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the inner future is never moved out of this pinned wrapper.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(result.map_err(|e| e.to_string())),
            Err(payload) => Poll::Ready(Err(format!(
                "[coord::E0403] handler panicked: {}",
                panic_message(payload.as_ref())
            ))),
        }
    }
}

/// What a [`SubscriptionSpec`]'s binding is asked to do.
#[doc(hidden)]
pub enum BindingRequest<'a> {
    /// Describe the handler: its event and coordinator.
    Describe,
    /// Subscribe the method of this instance, owned by the coordinator called `owner`.
    Wire(&'a EventBus, crate::registry::AnyCoordinator, &'static str),
}

/// What a binding tells about its handler.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct BindingInfo {
    /// The event type's stable name.
    pub event: &'static str,
    /// The coordinator struct's name as written.
    pub coordinator_type: &'static str,
    /// The coordinator's type.
    pub coordinator_id: TypeId,
}

/// One `#[subscribe]` method, registered by `#[subscriptions]`.
pub struct SubscriptionSpec {
    method: &'static str,
    location: crate::location::Location,
    binding: fn(BindingRequest<'_>) -> Result<BindingInfo, SubscribeError>,
}

impl SubscriptionSpec {
    /// The registration of one method; `#[subscriptions]` calls this.
    ///
    /// One generic function both describes the handler and wires it, so a
    /// mistake in the method's types is reported once, not once per use.
    #[doc(hidden)]
    pub const fn new(
        method: &'static str,
        location: crate::location::Location,
        binding: fn(BindingRequest<'_>) -> Result<BindingInfo, SubscribeError>,
    ) -> Self {
        Self {
            method,
            location,
            binding,
        }
    }

    fn info(&self) -> BindingInfo {
        match (self.binding)(BindingRequest::Describe) {
            Ok(info) => info,
            // Describe never subscribes, so it cannot fail.
            Err(_) => BindingInfo {
                event: "(unknown)",
                coordinator_type: "(unknown)",
                coordinator_id: TypeId::of::<()>(),
            },
        }
    }

    /// `Coordinator::method`, e.g. `DataPipelineOrchestrator::on_training_completed`.
    pub fn name(&'static self) -> &'static str {
        // Built once per handler and kept: specs are registered statics.
        static NAMES: OnceLock<Mutex<HashMap<usize, &'static str>>> = OnceLock::new();
        let names = NAMES.get_or_init(Mutex::default);
        let key = std::ptr::from_ref(self) as usize;
        lock(names).entry(key).or_insert_with(|| {
            Box::leak(format!("{}::{}", self.info().coordinator_type, self.method).into_boxed_str())
        })
    }

    /// The method's name.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The event type's stable name.
    pub fn event(&self) -> &'static str {
        self.info().event
    }

    /// The coordinator type whose instance handles the events.
    pub fn coordinator_type(&self) -> TypeId {
        self.info().coordinator_id
    }

    /// The coordinator struct's name as written.
    pub fn coordinator_type_name(&self) -> &'static str {
        self.info().coordinator_type
    }

    /// Where the method was declared.
    pub fn location(&self) -> crate::location::Location {
        self.location
    }

    /// Subscribes the method of an initialised instance of the coordinator called `owner`.
    pub fn wire(
        &self,
        bus: &EventBus,
        instance: crate::registry::AnyCoordinator,
        owner: &'static str,
    ) -> Result<(), SubscribeError> {
        (self.binding)(BindingRequest::Wire(bus, instance, owner)).map(|_| ())
    }
}

impl fmt::Debug for SubscriptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionSpec")
            .field("method", &self.method)
            .field("event", &self.event())
            .finish_non_exhaustive()
    }
}

inventory::collect!(SubscriptionSpec);

/// Every `#[subscribe]` method linked into the program.
pub fn subscription_specs() -> impl Iterator<Item = &'static SubscriptionSpec> {
    inventory::iter::<SubscriptionSpec>()
}

/// Implemented for coordinators: what `#[subscriptions]` requires of its type.
#[diagnostic::on_unimplemented(
    message = "[coord::E0015] `#[subscriptions]` is on `{Self}`, which is not a coordinator",
    label = "not a `#[coordinator]` type",
    note = "handlers run on an initialised coordinator instance: mark `{Self}` with `#[coordinator]` and implement `Coordinator`, or subscribe a closure at run time with `bus.subscribe::<E>(name, f)`"
)]
pub trait SubscribingCoordinator:
    crate::coordinator::Coordinator + crate::coordinator::RegisteredCoordinator
{
}

#[diagnostic::do_not_recommend]
impl<T: crate::coordinator::Coordinator + crate::coordinator::RegisteredCoordinator>
    SubscribingCoordinator for T
{
}

/// What a `#[subscribe]` method returns: `Result<(), E>` with `E: Into<BoxError>`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0015] a `#[subscribe]` handler must return `Result<(), E>`, not `{Self}`",
    label = "expected `Result<(), E>` where `E: Into<BoxError>`",
    note = "the expected signature is `async fn on_event(&self, event: &MyEvent) -> Result<(), BoxError>`"
)]
pub trait HandlerResult {
    /// The result as the bus records it.
    fn into_result(self) -> Result<(), BoxError>;
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> HandlerResult for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// A `#[subscribe]` method of coordinator `C` for events `E`, erased to a fn pointer.
#[doc(hidden)]
pub type MethodCall<C, E> =
    fn(Arc<C>, Arc<Envelope<E>>) -> BoxFuture<'static, Result<(), BoxError>>;

/// Describes, or subscribes, method `call` of coordinator `C` handling `E`;
/// `#[subscriptions]` calls it for each `#[subscribe]` method.
pub fn subscribe_method<C: SubscribingCoordinator, E: Event>(
    request: BindingRequest<'_>,
    method: &'static str,
    call: MethodCall<C, E>,
) -> Result<BindingInfo, SubscribeError> {
    let info = BindingInfo {
        event: E::NAME,
        coordinator_type: C::TYPE_NAME,
        coordinator_id: TypeId::of::<C>(),
    };
    let BindingRequest::Wire(bus, instance, owner) = request else {
        return Ok(info);
    };
    let Ok(instance) = instance.downcast::<C>() else {
        // Bootstrap passes each coordinator's own instance; a mismatch is a coord bug.
        unreachable!("subscription {method} was given another coordinator's instance");
    };
    let handler: Handler<E> =
        Arc::new(move |envelope| call(Arc::clone(&instance), Arc::clone(envelope)));
    let name = format!("{}::{method}", C::TYPE_NAME);
    bus.subscribe_handler(Arc::from(name), Some(owner), handler)?;
    Ok(info)
}
