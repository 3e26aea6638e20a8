//! Handler latency, recorded per subscriber into fixed buckets only while
//! someone asked for it (`EventBus::measure_handler_latency`), so a bus
//! nobody scrapes pays one relaxed load per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds; a last one is unbounded.
pub const LATENCY_BUCKETS: [f64; 10] = [
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// One subscriber's handler calls, by how long they took.
#[derive(Debug, Default)]
pub(super) struct Latency {
    /// Whether calls are measured now (shared by every subscriber of a bus).
    pub(super) enabled: Arc<AtomicBool>,
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Latency {
    pub(super) fn new(enabled: Arc<AtomicBool>) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    /// When to start timing a call: `None` while nobody measures.
    pub(super) fn start(&self) -> Option<std::time::Instant> {
        self.enabled
            .load(Ordering::Relaxed)
            .then(std::time::Instant::now)
    }

    /// Records a call that began at `started`, if it was timed.
    pub(super) fn record(&self, started: Option<std::time::Instant>) {
        let Some(started) = started else { return };
        let took = started.elapsed();
        let seconds = took.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self, handler: &str, event: &'static str) -> HandlerLatency {
        HandlerLatency {
            handler: handler.to_owned(),
            event,
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            sum: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)),
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

/// How long one handler's calls took, since measuring began.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerLatency {
    /// The handler, e.g. `PromotionController::on_model_promoted`.
    pub handler: String,
    /// The event type it handles.
    pub event: &'static str,
    /// Calls per bucket of [`LATENCY_BUCKETS`] (not cumulative), the last unbounded.
    pub buckets: Vec<u64>,
    /// Time of all measured calls together.
    pub sum: Duration,
    /// Measured calls.
    pub count: u64,
}
