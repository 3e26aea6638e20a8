//! Event dispatch: publishing 1,000,000 small events to 1 and to 8 async
//! handlers through the event bus, against a hand-written fan-out over tokio
//! mpsc channels to the same handlers (the bare loop) and against
//! `tokio::sync::broadcast` with one receiver task per handler (what most
//! users reach for), in the same run, on one thread; then how the cost per
//! handler call grows with 1, 8 and 64 handlers.
//!
//! Run: `cargo bench --bench events`.

mod estimates;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use coord::prelude::*;
use coord::{BusConfig, EventBus};
use criterion::Criterion;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

const EVENTS: u64 = 1_000_000;
const QUEUE: usize = 1024;

#[derive(Event, Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Tick(pub u64);

/// Counts handler calls and signals when all expected ones happened.
struct Done {
    calls: AtomicU64,
    expected: u64,
    reached: Notify,
}

impl Done {
    fn new(expected: u64) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicU64::new(0),
            expected,
            reached: Notify::new(),
        })
    }

    /// The handler both sides run: count, and signal the last call.
    async fn handle(&self, _tick: Tick) -> Result<(), BoxError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) + 1 == self.expected {
            self.reached.notify_one();
        }
        Ok(())
    }
}

async fn through_bus(handlers: usize) -> Duration {
    through_bus_n(handlers, EVENTS).await
}

async fn through_bus_n(handlers: usize, events: u64) -> Duration {
    let bus = EventBus::new(BusConfig {
        queue_capacity: QUEUE,
        ..BusConfig::default()
    });
    let done = Done::new(events * handlers as u64);
    for h in 0..handlers {
        let done = Arc::clone(&done);
        bus.subscribe(format!("bench::{h}"), move |tick: Tick| {
            let done = Arc::clone(&done);
            async move { done.handle(tick).await }
        })
        .expect("unique names");
    }
    let started = Instant::now();
    for i in 0..events {
        bus.publish(Tick(i)).await;
    }
    done.reached.notified().await;
    started.elapsed()
}

async fn hand_written(handlers: usize) -> Duration {
    let done = Done::new(EVENTS * handlers as u64);
    let mut senders = Vec::with_capacity(handlers);
    for _ in 0..handlers {
        let (tx, mut rx) = mpsc::channel::<Tick>(QUEUE);
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            while let Some(tick) = rx.recv().await {
                let _ = done.handle(tick).await;
            }
        });
        senders.push(tx);
    }
    let started = Instant::now();
    for i in 0..EVENTS {
        for tx in &senders {
            let _ = tx.send(Tick(i)).await;
        }
    }
    done.reached.notified().await;
    started.elapsed()
}

/// An event as coord delivers it: an id, a timestamp, a correlation id and a
/// source, shared by every handler rather than cloned.
struct Stamped {
    id: u64,
    at: std::time::SystemTime,
    correlation: u64,
    source: &'static str,
    tick: Tick,
}

/// A handler registered at run time, as coord's are: type-erased, returning
/// a boxed future.
type ErasedHandler = Arc<
    dyn Fn(
            &Arc<Stamped>,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BoxError>> + Send>>
        + Send
        + Sync,
>;

/// The mpsc fan-out carrying what coord guarantees and nothing else: each
/// event stamped with an id, the time and a correlation id, shared through an
/// `Arc`, handed to handlers registered at run time. Its distance from
/// [`hand_written`] is what those guarantees cost without coord.
async fn hand_written_with_metadata(handlers: usize) -> Duration {
    let done = Done::new(EVENTS * handlers as u64);
    let mut senders = Vec::with_capacity(handlers);
    for _ in 0..handlers {
        let (tx, mut rx) = mpsc::channel::<Arc<Stamped>>(QUEUE);
        let done = Arc::clone(&done);
        let handler: ErasedHandler = Arc::new(move |event: &Arc<Stamped>| {
            let (done, tick) = (Arc::clone(&done), event.tick);
            Box::pin(async move { done.handle(tick).await })
        });
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                debug_assert!(event.id == event.correlation && !event.source.is_empty());
                let _ = handler(&event).await;
            }
        });
        senders.push(tx);
    }
    let next_id = AtomicU64::new(0);
    let started = Instant::now();
    for i in 0..EVENTS {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let event = Arc::new(Stamped {
            id,
            at: std::time::SystemTime::now(),
            correlation: id,
            source: "external",
            tick: Tick(i),
        });
        std::hint::black_box(event.at);
        for tx in &senders {
            let _ = tx.send(Arc::clone(&event)).await;
        }
    }
    done.reached.notified().await;
    started.elapsed()
}

/// `tokio::sync::broadcast`, one receiver task per handler. Its ring holds
/// every event of a run, so no receiver lags (a lagging receiver would lose
/// events, which coord and the mpsc fan-out never do).
async fn broadcast(handlers: usize, events: u64) -> Duration {
    let done = Done::new(events * handlers as u64);
    let (tx, _) = tokio::sync::broadcast::channel::<Tick>(events.next_power_of_two() as usize);
    for _ in 0..handlers {
        let mut rx = tx.subscribe();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            while let Ok(tick) = rx.recv().await {
                let _ = done.handle(tick).await;
            }
        });
    }
    let started = Instant::now();
    for i in 0..events {
        let _ = tx.send(Tick(i));
    }
    done.reached.notified().await;
    started.elapsed()
}

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let mut group = c.benchmark_group("events_1m");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for handlers in [1usize, 8] {
        group.bench_function(format!("{handlers}_handlers/hand_written_mpsc"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(hand_written(handlers)))
                    .sum()
            })
        });
        group.bench_function(format!("{handlers}_handlers/mpsc_with_metadata"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(hand_written_with_metadata(handlers)))
                    .sum()
            })
        });
        group.bench_function(format!("{handlers}_handlers/coord_bus"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(through_bus(handlers))).sum())
        });
        group.bench_function(format!("{handlers}_handlers/tokio_broadcast"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(broadcast(handlers, EVENTS)))
                    .sum()
            })
        });
    }
    group.finish();
}

fn main() {
    // One thread: the per-invocation figure is for a single-threaded runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &rt);
    criterion.final_summary();
    for handlers in [1u64, 8] {
        let median =
            |f: &str| estimates::median_ns("events_1m", &format!("{handlers}_handlers_{f}"));
        let (Some(base), Some(bus), Some(peer)) = (
            median("hand_written_mpsc"),
            median("coord_bus"),
            median("tokio_broadcast"),
        ) else {
            continue;
        };
        let throughput = |ns: f64| EVENTS as f64 / (ns / 1e9);
        let to_base = throughput(bus) / throughput(base);
        let to_peer = throughput(bus) / throughput(peer);
        println!(
            "{handlers} handler(s): coord {:.0} events/s, mpsc fan-out {:.0}, broadcast {:.0}; coord {to_base:.2}x the fan-out \
             (target >= {}: {}), {to_peer:.2}x broadcast (target >= 1.00x: {}); {:.1} ns per handler call",
            throughput(bus),
            throughput(base),
            throughput(peer),
            if handlers == 1 { "0.80x" } else { "0.50x" },
            if to_base >= if handlers == 1 { 0.8 } else { 0.5 } {
                "met"
            } else {
                "MISSED"
            },
            if to_peer >= 1.0 { "met" } else { "MISSED" },
            bus / (EVENTS * handlers) as f64,
        );
        if let Some(stamped) = median("mpsc_with_metadata") {
            println!(
                "{handlers} handler(s), cost of the guarantees: the fan-out with coord's metadata and run-time \
                 handlers {:.0} events/s = {:.2}x the bare fan-out; coord {:.2}x that",
                throughput(stamped),
                throughput(stamped) / throughput(base),
                throughput(bus) / throughput(stamped),
            );
        }
    }
    scaling(&rt);
}

/// Cost per handler call through the bus with 1, 8 and 64 handlers
/// (100,000 events each, median of 5).
fn scaling(rt: &tokio::runtime::Runtime) {
    const SCALING_EVENTS: u64 = 100_000;
    let mut per_call = Vec::new();
    for handlers in [1usize, 8, 64] {
        let mut runs: Vec<f64> = (0..5)
            .map(|_| {
                let took = rt.block_on(through_bus_n(handlers, SCALING_EVENTS));
                took.as_nanos() as f64 / (SCALING_EVENTS * handlers as u64) as f64
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        per_call.push((handlers, runs[2]));
        println!(
            "scaling: {handlers:>2} handlers, {:.1} ns per handler call",
            runs[2]
        );
    }
    let growth = per_call[2].1 / per_call[0].1;
    println!(
        "scaling: cost per handler call at 64 handlers / at 1: {growth:.2} (target <= 1.30: {})",
        if growth <= 1.3 { "met" } else { "MISSED" }
    );
}
