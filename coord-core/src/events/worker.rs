//! Delivery: the inline pass a publisher runs for idle subscribers, each
//! subscriber's worker for the rest, and the outcome of every handler call.

use std::any::TypeId;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;

use super::bus::EventBus;
use super::dead_letter::Retry;
use super::event::{Envelope, Event};
use super::handling::{HANDLING, INLINE, Inline, InlineGuard};
use super::topic::{Handler, Subscriber, SubscriberShared, Topic, Work, downcast_topic};
use crate::error::BoxError;
use crate::interface::BoxFuture;
use crate::util::{self, CatchUnwind};

/// Delivers one event to every subscriber of its topic: inline in the
/// publisher for each idle subscriber (the handler is polled once and most
/// finish right there, with no queue or task switch); otherwise, or if the
/// handler has to wait, through the subscriber's queue to its worker.
pub(super) async fn deliver<E: Event>(topic: &Topic<E>, envelope: &Arc<Envelope<E>>) {
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
            let started = shared.latency.start();
            let mut call = (subscriber.handler)(envelope);
            // A noop waker is enough: the worker polls a waiting call again at once.
            let polled = Pin::new(&mut CatchUnwind(call.as_mut()))
                .poll(&mut Context::from_waker(std::task::Waker::noop()));
            if polled.is_ready() {
                shared.latency.record(started);
            }
            match polled {
                Poll::Ready(Ok(Ok(()))) => {
                    delivered += 1;
                    shared.clear_dead_letter(envelope);
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                }
                Poll::Ready(Ok(Err(error))) => {
                    shared.settle(subscriber, envelope, Err(error.to_string()));
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                }
                Poll::Ready(Err(panic)) => {
                    let error = format!("[coord::E0403] handler panicked: {panic}");
                    shared.settle(subscriber, envelope, Err(error));
                    shared.pending.fetch_sub(1, Ordering::AcqRel);
                }
                Poll::Pending => {
                    // Only a call that has to wait is wrapped (and boxed) for the worker.
                    let call: BoxFuture<'static, Result<(), String>> = Box::pin(caught(
                        HANDLING.scope((envelope.meta.clone(), shared.owner), call),
                    ));
                    queued.push((
                        subscriber,
                        Work::Finish(Arc::clone(envelope), call, started),
                    ));
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
    if queued.is_empty() {
        return;
    }
    for (subscriber, work) in queued {
        let sent = match subscriber.queue() {
            Some(queue) => queue.send(work).await.is_ok(),
            None => false,
        };
        if !sent {
            // The subscriber was removed meanwhile.
            subscriber.shared.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Redelivers `envelope` to `subscriber` through its queue.
pub(super) fn retry_for<E: Event>(subscriber: &Subscriber<E>, envelope: Arc<Envelope<E>>) -> Retry {
    let subscriber = subscriber.clone();
    Arc::new(move || {
        let subscriber = subscriber.clone();
        let envelope = Arc::clone(&envelope);
        Box::pin(async move {
            let shared = &subscriber.shared;
            shared.pending.fetch_add(1, Ordering::AcqRel);
            let sent = match subscriber.queue() {
                Some(queue) => queue.send(Work::Deliver(envelope)).await.is_ok(),
                None => false,
            };
            if sent {
                Ok(())
            } else {
                shared.pending.fetch_sub(1, Ordering::AcqRel);
                Err("[coord::E0405] the subscriber is gone".to_owned())
            }
        })
    })
}

impl SubscriberShared {
    /// After a successful delivery: clears the event's dead-letter entry, if any.
    pub(super) fn clear_dead_letter<E>(&self, envelope: &Envelope<E>) {
        // Only a redelivery can have an entry to clear; skip the lock while none exist.
        if self.dead_count.load(Ordering::Relaxed) > 0
            && let Some(inner) = self.bus.upgrade()
        {
            EventBus { inner }.delivered(&self.name, envelope.meta.id);
        }
    }

    /// Records a handler call's outcome; a failure goes to the dead-letter queue.
    pub(super) fn settle<E: Event>(
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
                    EventBus { inner }.dead_letter(
                        &self.counts,
                        &self.name,
                        envelope,
                        error,
                        retry,
                    );
                }
            }
        }
    }
}

/// One subscriber's worker: does its queued work in order, one call at a time.
pub(super) async fn run_worker<E: Event>(
    mut queue: mpsc::Receiver<Work<E>>,
    handler: Handler<E>,
    shared: Arc<SubscriberShared>,
) {
    while let Some(work) = queue.recv().await {
        let (envelope, result) = match work {
            Work::Deliver(envelope) => {
                let started = shared.latency.start();
                let call =
                    HANDLING.scope((envelope.meta.clone(), shared.owner), handler(&envelope));
                let result = run_handler(call, shared.timeout).await;
                shared.latency.record(started);
                (envelope, result)
            }
            Work::Finish(envelope, call, started) => {
                let result = match tokio::time::timeout(shared.timeout, call).await {
                    Ok(result) => result,
                    Err(_) => Err(format!(
                        "[coord::E0402] handler timed out after {:?}",
                        shared.timeout
                    )),
                };
                shared.latency.record(started);
                (envelope, result)
            }
        };
        // The worker holds no sender; find this subscriber in its topic to settle.
        let subscriber = shared.bus.upgrade().and_then(|inner| {
            let topics = util::read(&inner.topics);
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
pub(super) async fn run_handler<F>(call: F, timeout: Duration) -> Result<(), String>
where
    F: Future<Output = Result<(), BoxError>>,
{
    let mut call = std::pin::pin!(caught(call));
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

/// A handler call whose panic, like its error, becomes the failure text.
async fn caught<F>(call: F) -> Result<(), String>
where
    F: Future<Output = Result<(), BoxError>>,
{
    match CatchUnwind(call).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(panic) => Err(format!("[coord::E0403] handler panicked: {panic}")),
    }
}
