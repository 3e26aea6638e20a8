//! Watching the bus from outside: every publish, every handler call's
//! outcome, and a say in whether a call runs at all. A test harness records
//! the event flow and injects failures through it; without an observer the
//! bus does not pay for it (handlers are wrapped when they subscribe).

use std::any::Any;
use std::sync::Arc;

use super::event::{Envelope, EventMeta};
use super::topic::Handler;
use crate::error::BoxError;
use crate::interface::BoxFuture;

use super::event::Event;

/// Sees what happens on an event bus; set with `EventBus::observe` before
/// anything subscribes.
pub trait EventObserver: Send + Sync + 'static {
    /// An event was published (also one nothing subscribes to).
    /// `envelope` is its `Arc<Envelope<E>>`.
    fn published(&self, meta: &EventMeta, envelope: Arc<dyn Any + Send + Sync>);

    /// Before `handler` takes an event: `Some(error)` fails this call
    /// without running the handler (retries and dead letters follow as for
    /// any failure).
    fn intercept(&self, handler: &str, meta: &EventMeta) -> Option<String> {
        let _ = (handler, meta);
        None
    }

    /// A call of `handler` ended: `Ok`, its error, or why it never finished
    /// (a panic, its timeout).
    fn handled(&self, handler: &str, meta: &EventMeta, outcome: Result<(), String>);
}

/// `handler`, reporting every call to `observer`.
pub(super) fn observed<E: Event>(
    handler: Handler<E>,
    name: Arc<str>,
    observer: Arc<dyn EventObserver>,
) -> Handler<E> {
    Arc::new(move |envelope: &Arc<Envelope<E>>| {
        if let Some(error) = observer.intercept(&name, &envelope.meta) {
            observer.handled(&name, &envelope.meta, Err(error.clone()));
            return Box::pin(async move { Err(BoxError::from(error)) }) as BoxFuture<'static, _>;
        }
        let call = handler(envelope);
        let report = CallReport {
            observer: Arc::clone(&observer),
            name: Arc::clone(&name),
            envelope: Arc::clone(envelope),
            done: false,
        };
        Box::pin(async move {
            let mut report = report;
            let result = call.await;
            report.done = true;
            report.observer.handled(
                &report.name,
                &report.envelope.meta,
                result.as_ref().map(|_| ()).map_err(ToString::to_string),
            );
            result
        })
    })
}

/// Reports a call that never finished (it panicked, or was dropped at its
/// timeout) when it is dropped.
struct CallReport<E> {
    observer: Arc<dyn EventObserver>,
    name: Arc<str>,
    envelope: Arc<Envelope<E>>,
    done: bool,
}

impl<E> Drop for CallReport<E> {
    fn drop(&mut self) {
        if !self.done {
            self.observer.handled(
                &self.name,
                &self.envelope.meta,
                Err("the handler panicked or ran past its timeout".to_owned()),
            );
        }
    }
}
