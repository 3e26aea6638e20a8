//! What happened during a test: every daemon transition and every
//! published, delivered and failed event, on the test's (virtual) clock.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::daemons::DaemonTransition;
use crate::events::{EventMeta, EventObserver};
use crate::util::lock;

use super::faults::HandlerFaults;

/// One recorded fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A daemon changed state.
    Transition {
        /// The daemon.
        daemon: &'static str,
        /// Its new state, as `status` shows it.
        state: String,
        /// The error it reported, if any.
        error: Option<String>,
    },
    /// An event was published.
    Published {
        /// The event's stable name.
        event: String,
        /// Its id.
        id: u64,
        /// Who published it.
        source: String,
    },
    /// A handler took an event and succeeded.
    Delivered {
        /// `Coordinator::method` or a closure subscriber's name.
        handler: String,
        /// The event's stable name.
        event: String,
        /// The event's id.
        id: u64,
    },
    /// A handler took an event and failed (its error, panic or timeout).
    Failed {
        /// `Coordinator::method` or a closure subscriber's name.
        handler: String,
        /// The event's stable name.
        event: String,
        /// The event's id.
        id: u64,
        /// Why.
        error: String,
    },
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transition {
                daemon,
                state,
                error,
            } => {
                write!(f, "daemon {daemon} -> {state}")?;
                match error {
                    Some(error) => write!(f, " ({error})"),
                    None => Ok(()),
                }
            }
            Self::Published { event, id, source } => {
                write!(f, "published {event} evt-{id} by {source}")
            }
            Self::Delivered { handler, event, id } => {
                write!(f, "delivered {event} evt-{id} to {handler}")
            }
            Self::Failed {
                handler,
                event,
                id,
                error,
            } => {
                write!(f, "failed {event} evt-{id} in {handler}: {error}")
            }
        }
    }
}

/// The timeline of a test and the events published in it.
pub struct Recorder {
    started: Instant,
    timeline: Mutex<Vec<(std::time::Duration, Recorded)>>,
    /// Published envelopes (`Arc<Envelope<E>>`), for `wait_event`.
    published: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
    changed: Notify,
    faults: Arc<HandlerFaults>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("facts", &lock(&self.timeline).len())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    pub(super) fn new(faults: Arc<HandlerFaults>) -> Self {
        Self {
            started: Instant::now(),
            timeline: Mutex::new(Vec::new()),
            published: Mutex::new(Vec::new()),
            changed: Notify::new(),
            faults,
        }
    }

    fn push(&self, fact: Recorded) {
        lock(&self.timeline).push((self.started.elapsed(), fact));
        self.changed.notify_waiters();
    }

    pub(super) fn transition(&self, transition: &DaemonTransition) {
        self.push(Recorded::Transition {
            daemon: transition.name,
            state: transition.state.to_string(),
            error: transition.error.clone(),
        });
    }

    /// Every fact so far, in order.
    pub fn facts(&self) -> Vec<Recorded> {
        lock(&self.timeline)
            .iter()
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// The timeline as text: one fact per line, with its time since the start.
    pub fn timeline(&self) -> String {
        let timeline = lock(&self.timeline);
        if timeline.is_empty() {
            return "  (nothing recorded)\n".to_owned();
        }
        timeline
            .iter()
            .map(|(at, fact)| format!("  {:>9.3}s  {fact}\n", at.as_secs_f64()))
            .collect()
    }

    /// The published envelopes so far.
    pub(super) fn published(&self) -> Vec<Arc<dyn Any + Send + Sync>> {
        lock(&self.published).clone()
    }

    /// Completes at the next recorded fact (registered before any check the caller makes after creating it).
    pub(super) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

impl EventObserver for Recorder {
    fn published(&self, meta: &EventMeta, envelope: Arc<dyn Any + Send + Sync>) {
        lock(&self.published).push(envelope);
        self.push(Recorded::Published {
            event: meta.name.to_string(),
            id: meta.id.0,
            source: meta.source.to_string(),
        });
    }

    fn intercept(&self, handler: &str, meta: &EventMeta) -> Option<String> {
        self.faults.intercept(handler, meta)
    }

    fn handled(&self, handler: &str, meta: &EventMeta, outcome: Result<(), String>) {
        let (handler, event, id) = (handler.to_owned(), meta.name.to_string(), meta.id.0);
        self.push(match outcome {
            Ok(()) => Recorded::Delivered { handler, event, id },
            Err(error) => Recorded::Failed {
                handler,
                event,
                id,
                error,
            },
        });
    }
}
