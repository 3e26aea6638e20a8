//! Event dispatch: publishing 1,000,000 small events to 1 and to 8 async
//! handlers through the event bus, against a hand-written fan-out over tokio
//! mpsc channels to the same handlers, in the same run, on one thread.
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
    let bus = EventBus::new(BusConfig {
        queue_capacity: QUEUE,
        ..BusConfig::default()
    });
    let done = Done::new(EVENTS * handlers as u64);
    for h in 0..handlers {
        let done = Arc::clone(&done);
        bus.subscribe(format!("bench::{h}"), move |tick: Tick| {
            let done = Arc::clone(&done);
            async move { done.handle(tick).await }
        })
        .expect("unique names");
    }
    let started = Instant::now();
    for i in 0..EVENTS {
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
        group.bench_function(format!("{handlers}_handlers/coord_bus"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(through_bus(handlers))).sum())
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
        let (Some(base), Some(bus)) = (
            estimates::median_ns(
                "events_1m",
                &format!("{handlers}_handlers_hand_written_mpsc"),
            ),
            estimates::median_ns("events_1m", &format!("{handlers}_handlers_coord_bus")),
        ) else {
            continue;
        };
        let throughput = |ns: f64| EVENTS as f64 / (ns / 1e9);
        let relative = throughput(bus) / throughput(base);
        let per_handler = bus / (EVENTS * handlers) as f64;
        println!(
            "{handlers} handler(s): coord {:.0} events/s, mpsc fan-out {:.0} events/s, {relative:.2}x the baseline's throughput \
             (target >= 0.50x: {}); {per_handler:.1} ns per handler invocation{}",
            throughput(bus),
            throughput(base),
            if relative >= 0.5 { "met" } else { "MISSED" },
            if handlers == 8 {
                if per_handler <= 100.0 {
                    " (target <= 100 ns: met)"
                } else {
                    " (target <= 100 ns: MISSED)"
                }
            } else {
                ""
            }
        );
    }
}
