//! The subscribers of one event type, and what a subscriber's publishers
//! and worker share.

use std::any::Any;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::mpsc;

use super::bus::BusInner;
use super::dead_letter::{DeadLetter, Retry, revive};
use super::event::{Envelope, Event};
use super::latency::{HandlerLatency, Latency};
use super::worker::run_worker;
use crate::error::BoxError;
use crate::interface::{BoxFuture, DeliverFn, PublishFailed, Scope};

/// A subscriber's handler: called once per delivered event.
pub type Handler<E> =
    Arc<dyn Fn(&Arc<Envelope<E>>) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// An event ready to send: its subscribers and its envelope.
pub(super) type Prepared<E> = (Arc<Topic<E>>, Arc<Envelope<E>>);

/// Work for a subscriber's worker, in the order it must be done.
pub(super) enum Work<E> {
    /// Run the handler on this event.
    Deliver(Arc<Envelope<E>>),
    /// Finish a handler call a publisher started inline and that had to wait.
    Finish(
        Arc<Envelope<E>>,
        BoxFuture<'static, Result<(), String>>,
        Option<std::time::Instant>,
    ),
}

/// What a subscriber's publishers and worker share.
pub(super) struct SubscriberShared {
    pub(super) name: Arc<str>,
    /// The source that handlers' publishes get: the owning coordinator, or `external`.
    pub(super) owner: &'static str,
    pub(super) counts: Arc<Counters>,
    pub(super) dead_count: Arc<std::sync::atomic::AtomicUsize>,
    pub(super) timeout: Duration,
    pub(super) bus: Weak<BusInner>,
    /// Handler calls queued or running. A publisher that moves it from 0 to 1
    /// may run the handler inline; anything else queues behind it, so one
    /// subscriber's handler never runs twice at once and order is kept.
    pub(super) pending: std::sync::atomic::AtomicUsize,
    /// How long its calls take, while measured.
    pub(super) latency: Latency,
    /// The event type it handles.
    pub(super) event: &'static str,
    /// In cluster mode, for a distributed event: every node or once per cluster.
    pub(super) scope: Scope,
    /// How many events its queue holds, once it has one.
    pub(super) capacity: usize,
}

pub(super) struct Subscriber<E> {
    pub(super) owner: Option<&'static str>,
    pub(super) handler: Handler<E>,
    /// Its queue and worker, made on first need: most handlers finish inline
    /// in the publisher and an idle subscriber never needs them (they are
    /// most of an idle subscriber's memory). `None` worker once removed.
    pub(super) lane: Arc<OnceLock<Lane<E>>>,
    pub(super) shared: Arc<SubscriberShared>,
}

/// A subscriber's bounded queue and the worker task draining it.
pub(super) struct Lane<E> {
    pub(super) queue: mpsc::Sender<Work<E>>,
    pub(super) worker: Option<tokio::task::AbortHandle>,
}

impl<E> Clone for Subscriber<E> {
    fn clone(&self) -> Self {
        Self {
            owner: self.owner,
            handler: Arc::clone(&self.handler),
            lane: Arc::clone(&self.lane),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<E: Event> Subscriber<E> {
    /// Its queue, starting its worker on first use; `None` outside a tokio
    /// runtime (no worker can run there).
    pub(super) fn queue(&self) -> Option<&mpsc::Sender<Work<E>>> {
        if let Some(lane) = self.lane.get() {
            return Some(&lane.queue);
        }
        tokio::runtime::Handle::try_current().ok()?;
        let lane = self.lane.get_or_init(|| {
            let (queue, receiver) = mpsc::channel(self.shared.capacity);
            let worker = tokio::spawn(run_worker::<E>(
                receiver,
                Arc::clone(&self.handler),
                Arc::clone(&self.shared),
            ))
            .abort_handle();
            Lane {
                queue,
                worker: Some(worker),
            }
        });
        Some(&lane.queue)
    }

    /// Stops its worker, and any made later: work sent afterwards is refused.
    pub(super) fn remove(&self) {
        let closed = || {
            let (queue, _) = mpsc::channel(1);
            Lane {
                queue,
                worker: None,
            }
        };
        if let Some(worker) = &self.lane.get_or_init(closed).worker {
            worker.abort();
        }
    }
}

/// The subscribers of one event type.
pub(super) struct Topic<E> {
    pub(super) subscribers: Vec<Subscriber<E>>,
    /// The entry's counters, here too so a publish clones one Arc, not two.
    pub(super) counts: Arc<Counters>,
}

pub(super) struct TopicEntry {
    pub(super) name: &'static str,
    /// `Arc<Topic<E>>`, replaced whole when subscribers change, so a publish
    /// clones one Arc and never holds a lock while it sends.
    pub(super) topic: Box<dyn Any + Send + Sync>,
    pub(super) handlers: Vec<(Arc<str>, Option<&'static str>)>,
    pub(super) counts: Arc<Counters>,
    /// `remove_owner::<E>` for this entry's `E`.
    pub(super) remove_owner: fn(&mut Box<dyn Any + Send + Sync>, &str),
    /// The latency of each of its subscribers' calls.
    pub(super) latencies: fn(&Box<dyn Any + Send + Sync>) -> Vec<HandlerLatency>,
    /// `dead_letter::revive::<E>` for this entry's `E`.
    pub(super) revive: fn(&Box<dyn Any + Send + Sync>, &DeadLetter) -> Result<Retry, String>,
    /// `E::DISTRIBUTED`.
    pub(super) distributed: bool,
    /// Each subscriber's name and scope, for its cluster consumer.
    pub(super) scopes: fn(&Box<dyn Any + Send + Sync>) -> Vec<HandlerScope>,
    /// `cluster::remote_handler::<E>`: runs a named handler on cluster deliveries.
    pub(super) remote: fn(Weak<BusInner>, Arc<str>) -> DeliverFn,
    /// What a distributed publish of `E` that could not be stored does, once made.
    pub(super) publish_failed: std::sync::OnceLock<PublishFailed>,
}

impl TopicEntry {
    pub(super) fn new<E: Event>() -> Self {
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
            revive: revive::<E>,
            latencies: latencies::<E>,
            distributed: E::DISTRIBUTED,
            scopes: scopes::<E>,
            remote: super::cluster::remote_handler::<E>,
            publish_failed: std::sync::OnceLock::new(),
        }
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) published: AtomicU64,
    pub(super) orphaned: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) failed: AtomicU64,
    /// Deliveries that entered the dead-letter queue.
    pub(super) dead_lettered: AtomicU64,
}

// Takes the Box itself: a `&Box<dyn Any>` passed where `&dyn Any` is expected
// coerces the Box into the trait object, and every downcast would then fail.
#[allow(clippy::borrowed_box)]
pub(super) fn downcast_topic<E: Event>(topic: &Box<dyn Any + Send + Sync>) -> &Arc<Topic<E>> {
    match (**topic).downcast_ref::<Arc<Topic<E>>>() {
        Some(topic) => topic,
        // Entries are keyed by TypeId::of::<E>() and only ever hold Arc<Topic<E>>.
        None => unreachable!("event topic stored under another type's id"),
    }
}

/// Removes the subscribers owned by `owner` from a topic of event type `E`.
pub(super) fn remove_owner<E: Event>(topic: &mut Box<dyn Any + Send + Sync>, owner: &str) {
    let current = downcast_topic::<E>(topic);
    let mut kept = Vec::with_capacity(current.subscribers.len());
    for subscriber in &current.subscribers {
        if subscriber.owner == Some(owner) {
            subscriber.remove();
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

/// Each subscriber's latency, from a topic of event type `E`.
fn latencies<E: Event>(topic: &Box<dyn Any + Send + Sync>) -> Vec<HandlerLatency> {
    downcast_topic::<E>(topic)
        .subscribers
        .iter()
        .map(|s| s.shared.latency.snapshot(&s.shared.name, s.shared.event))
        .collect()
}

/// A subscriber's name and its cluster scope.
pub(super) type HandlerScope = (Arc<str>, Scope);

/// Each subscriber's name and scope, from a topic of event type `E`.
#[allow(clippy::borrowed_box)] // See `downcast_topic`.
fn scopes<E: Event>(topic: &Box<dyn Any + Send + Sync>) -> Vec<HandlerScope> {
    downcast_topic::<E>(topic)
        .subscribers
        .iter()
        .map(|s| (Arc::clone(&s.shared.name), s.shared.scope))
        .collect()
}
