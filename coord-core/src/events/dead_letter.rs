//! The dead-letter queue: failed deliveries, their bounded retries with
//! backoff, and the letters out of retries, kept until replayed or purged.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use serde::Serialize;
use tokio::time::Instant;

use super::bus::{BusInner, EventBus};
use super::event::{Envelope, Event, EventId, EventMeta};
use super::topic::{Counters, downcast_topic};
use super::worker::retry_for;
use crate::interface::BoxFuture;
use crate::util::{self, backoff_delay, lock};

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

/// What adopting an earlier run's dead letters did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptReport {
    /// Letters back with their handlers (retrying ones resume when due).
    pub resumed: usize,
    /// Letters kept as dead because their event, handler or payload is gone:
    /// `handler (event id): reason`.
    pub unresolved: Vec<String>,
}

/// Turns a recorded letter back into a redelivery to its handler, for the
/// topic of event type `E`; `#[subscribe]` handlers are found by name.
pub(super) fn revive<E: Event>(
    topic: &Box<dyn std::any::Any + Send + Sync>,
    letter: &DeadLetter,
) -> Result<Retry, String> {
    let topic = downcast_topic::<E>(topic);
    let subscriber = topic
        .subscribers
        .iter()
        .find(|s| *s.shared.name == *letter.handler)
        .ok_or_else(|| {
            format!(
                "[coord::E0408] no handler '{}' for event '{}' in this run (renamed or removed)",
                letter.handler, letter.meta.name
            )
        })?;
    let event: E = serde_json::from_str(&letter.payload).map_err(|error| {
        format!(
            "[coord::E0409] the recorded payload no longer reads as event '{}': {error}",
            letter.meta.name
        )
    })?;
    let envelope = Arc::new(Envelope {
        meta: letter.meta.clone(),
        event,
    });
    Ok(retry_for(subscriber, envelope))
}

pub(super) type Retry = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

pub(super) struct DeadEntry {
    pub(super) letter: DeadLetter,
    pub(super) due: Option<Instant>,
    pub(super) retry: Retry,
}

impl EventBus {
    /// Every dead letter, retrying and dead, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.inner.dead)
            .values()
            .map(|e| e.letter.clone())
            .collect()
    }

    /// Delivers a dead letter once more now; on success it leaves the queue.
    pub async fn replay_dead_letter(&self, id: u64) -> Result<(), String> {
        let entry = lock(&self.inner.dead)
            .remove(&id)
            .ok_or_else(|| format!("[coord::E0406] no dead letter with id {id}"))?;
        self.inner.dead_count.fetch_sub(1, Ordering::Relaxed);
        self.touched();
        // Enqueued again: the worker's own outcome decides whether it returns.
        let result = (entry.retry)().await;
        if result.is_err() {
            // Not handed over (its handler is gone): it stays in the queue.
            lock(&self.inner.dead).insert(id, entry);
            self.inner.dead_count.fetch_add(1, Ordering::Relaxed);
            self.touched();
        }
        result
    }

    /// Changes whenever the queue does: lets a recorder skip reading an
    /// unchanged queue.
    pub fn dead_letters_version(&self) -> u64 {
        self.inner.dead_version.load(Ordering::Relaxed)
    }

    fn touched(&self) {
        self.inner.dead_version.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes over the dead letters an earlier run left (`StateStore` keeps
    /// them): each goes back to its handler, found by name, with its
    /// attempts and state, and a retrying one resumes when it was due. A
    /// letter whose event or handler is not in this run, or whose payload no
    /// longer reads as its event, is kept as `dead` with the reason, for
    /// `dlq list` and `purge`, never dropped.
    pub fn adopt_dead_letters(&self, letters: Vec<DeadLetter>) -> AdoptReport {
        let mut report = AdoptReport::default();
        let mut adopted = Vec::with_capacity(letters.len());
        {
            let topics = util::read(&self.inner.topics);
            let (now, wall) = (Instant::now(), SystemTime::now());
            for mut letter in letters {
                let revived = topics
                    .values()
                    .find(|entry| entry.name == letter.meta.name)
                    .ok_or_else(|| {
                        format!(
                            "[coord::E0408] event '{}' has no subscriber in this run",
                            letter.meta.name
                        )
                    })
                    .and_then(|entry| (entry.revive)(&entry.topic, &letter));
                match revived {
                    Ok(retry) => {
                        report.resumed += 1;
                        let due = (letter.state == DeadLetterState::Retrying).then(|| {
                            let wait = letter
                                .next_attempt_at
                                .and_then(|at| at.duration_since(wall).ok())
                                .unwrap_or_default();
                            now + wait
                        });
                        adopted.push((letter, due, retry));
                    }
                    Err(reason) => {
                        report
                            .unresolved
                            .push(format!("{} ({}): {reason}", letter.handler, letter.meta.id));
                        letter.state = DeadLetterState::Dead;
                        letter.next_attempt_at = None;
                        letter.last_error = format!("{reason}; last error: {}", letter.last_error);
                        let retry: Retry = Arc::new(move || {
                            let reason = reason.clone();
                            Box::pin(async move { Err(reason) })
                        });
                        adopted.push((letter, None, retry));
                    }
                }
            }
        }
        let mut dead = lock(&self.inner.dead);
        for (mut letter, due, retry) in adopted {
            let id = self.inner.next_dead.fetch_add(1, Ordering::Relaxed);
            letter.id = id;
            dead.insert(id, DeadEntry { letter, due, retry });
            self.inner.dead_count.fetch_add(1, Ordering::Relaxed);
        }
        drop(dead);
        self.touched();
        self.ensure_retry_task();
        self.inner.dead_changed.notify_one();
        report
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
        self.touched();
        purged
    }

    /// Records a failed delivery; schedules its retry or marks it dead.
    pub(super) fn dead_letter<E: Event>(
        &self,
        counts: &Counters,
        handler: &str,
        envelope: &Envelope<E>,
        error: String,
        retry: Retry,
    ) {
        self.record_letter(counts, handler, envelope, error, retry, None);
    }

    /// Records a delivery that is out of attempts elsewhere (the cluster
    /// counted them): dead at once, replayable by hand through `retry`.
    pub(super) fn dead_on_arrival<E: Event>(
        &self,
        counts: &Counters,
        handler: &str,
        envelope: &Envelope<E>,
        error: String,
        attempts: u32,
        retry: Retry,
    ) -> DeadLetter {
        self.record_letter(counts, handler, envelope, error, retry, Some(attempts))
    }

    fn record_letter<E: Event>(
        &self,
        counts: &Counters,
        handler: &str,
        envelope: &Envelope<E>,
        error: String,
        retry: Retry,
        dead_after: Option<u32>,
    ) -> DeadLetter {
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
        let attempts = dead_after.unwrap_or(attempts);
        let (state, due) = if dead_after.is_some() || attempts >= config.max_attempts {
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
            counts.dead_lettered.fetch_add(1, Ordering::Relaxed);
        }
        let letter = DeadLetter {
            id,
            handler: handler.to_owned(),
            meta: envelope.meta.clone(),
            payload,
            attempts,
            last_error: error,
            state,
            next_attempt_at: due.map(|d| SystemTime::now() + d.duration_since(Instant::now())),
        };
        dead.insert(
            id,
            DeadEntry {
                letter: letter.clone(),
                due,
                retry,
            },
        );
        drop(dead);
        self.touched();
        self.ensure_retry_task();
        self.inner.dead_changed.notify_one();
        letter
    }

    pub(super) fn delivered(&self, handler: &str, id: EventId) {
        let mut dead = lock(&self.inner.dead);
        let before = dead.len();
        dead.retain(|_, e| !(e.letter.meta.id == id && e.letter.handler == handler));
        let removed = before - dead.len();
        if removed > 0 {
            self.inner.dead_count.fetch_sub(removed, Ordering::Relaxed);
            self.touched();
        }
    }

    fn ensure_retry_task(&self) {
        if !self.inner.retry_task_started.swap(true, Ordering::AcqRel) {
            tokio::spawn(retry_loop(Arc::downgrade(&self.inner)));
        }
    }
}

/// Redelivers dead letters when due, until the bus is dropped.
pub(super) async fn retry_loop(bus: Weak<BusInner>) {
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
