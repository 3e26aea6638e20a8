//! Events: typed events published to every subscriber of their type, each
//! subscriber with its own bounded queue and worker, failed deliveries kept
//! in a dead-letter queue with bounded retries, and the wiring of
//! `#[subscribe]` methods to coordinator instances.
//!
//! # Invariants
//! 1. One subscriber's handler never runs twice at once, and sees one
//!    publisher's events in the order they were published (`worker.rs`).
//! 2. A handler's error, panic or timeout affects only that delivery: it is
//!    counted, logged, and the event goes to the dead-letter queue.
//!
//! May use: `interface`, `util`, `error`, `location`. Nothing here knows
//! bootstrap, daemons or the `Coordination` handle, which wires coordinators'
//! handlers through [`SubscriptionSpec::wire`].

mod bus;
mod cluster;
mod dead_letter;
mod event;
mod handling;
mod latency;
mod observer;
mod publisher;
mod subscription;
mod topic;
mod worker;

pub use bus::{BusConfig, EventBus, EventCounts, SubscribeError};
pub use dead_letter::{AdoptReport, DeadLetter, DeadLetterState};
pub use event::{Envelope, Event, EventId, EventMeta};
pub use latency::{HandlerLatency, LATENCY_BUCKETS};
pub use observer::EventObserver;
pub use publisher::{
    HandlerContext, HandlerContextOf, PublishedBy, Publisher, handler_context, published_event,
};
pub use subscription::{
    BindingInfo, BindingRequest, HandlerResult, SubscribingCoordinator, SubscriptionSpec,
    subscribe_method, subscription_specs, subscriptions_of,
};
pub use topic::Handler;
