//! The event contract: the trait `#[derive(Event)]` implements, and what
//! travels with every delivered event.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

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
    /// Whether, in cluster mode, its publishes travel to every node
    /// (`#[event(distributed)]`); otherwise they stay in this process.
    const DISTRIBUTED: bool = false;
    /// Whether it comes from outside the crate's items (a test, `main`,
    /// another crate, the cluster): `#[event(external)]`. Its handlers need
    /// no declared publisher.
    const EXTERNAL: bool = false;
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

/// An event and its metadata, shared by every subscriber it is delivered to.
#[derive(Debug)]
pub struct Envelope<E> {
    /// Id, time, source, correlation.
    pub meta: EventMeta,
    /// The event.
    pub event: E,
}
