//! Memory per idle unit: 10,000 started daemons (each waiting for its
//! cancellation), and 10,000 idle event subscribers, against 10,000 bare
//! spawned tasks each holding a cancellation token, in the same process.
//!
//! Measured as heap bytes held while the units live, counted by a global
//! allocator: tokio tasks live on the heap, so this is what they add to the
//! resident set, without the allocator's reuse of freed pages blurring a
//! before/after reading of `/proc/self/statm` (which reads 0 B for the bare
//! tasks once a warm-up has run).
//!
//! Run: `cargo bench --bench memory`. Target: at most 2x the bare task.

mod daemon_specs;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use coord::prelude::*;
use coord::{BusConfig, CancellationToken, Coordination, EventBus};
use serde::{Deserialize, Serialize};

const UNITS: usize = 10_000;

#[derive(Event, Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Idle(pub u64);

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(new_size, Ordering::Relaxed);
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes held now.
fn resident() -> u64 {
    HELD.load(Ordering::Relaxed) as u64
}

/// Bytes per unit that `make` adds while its units stay alive, median of 3.
fn per_unit<T>(rt: &tokio::runtime::Runtime, make: impl Fn() -> T, drop_it: impl Fn(T)) -> f64 {
    let mut samples: Vec<f64> = (0..3)
        .map(|_| {
            let before = resident();
            let alive = make();
            let after = resident();
            drop_it(alive);
            // Let the runtime reap what was dropped before the next sample.
            rt.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
            after.saturating_sub(before) as f64 / UNITS as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[1]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let specs = daemon_specs::leaked("idle", &vec![Vec::new(); UNITS]);
    // Warm up allocator and runtime so the first sample pays no one-off cost.
    let warm = Coordination::builder()
        .coordinators([])
        .daemons(specs.iter().copied())
        .build()
        .expect("built")
        .start_daemon_manager();
    rt.block_on(warm.start_all());
    rt.block_on(warm.shutdown());
    drop(warm);

    let bare = per_unit(
        &rt,
        || {
            let tokens: Vec<CancellationToken> =
                (0..UNITS).map(|_| CancellationToken::new()).collect();
            let tasks: Vec<_> = tokens
                .iter()
                .map(|t| {
                    let t = t.clone();
                    rt.spawn(async move { t.cancelled().await })
                })
                .collect();
            (tokens, tasks)
        },
        |(tokens, tasks)| {
            for t in &tokens {
                t.cancel();
            }
            rt.block_on(async {
                for task in tasks {
                    let _ = task.await;
                }
            });
        },
    );
    // The bare task given what coord keeps for a daemon: its runner's
    // context (readiness, config), a status with a timestamp, and its stop token.
    let guaranteed = per_unit(
        &rt,
        || {
            let units: Vec<_> = specs
                .iter()
                .map(|spec| {
                    let cancel = CancellationToken::new();
                    let (ctx, ready) = coord::DaemonContext::new(spec.name, cancel.clone());
                    let status = std::sync::Mutex::new((
                        "ready",
                        std::time::SystemTime::now(),
                        None::<String>,
                    ));
                    (cancel, ready, status, rt.spawn((spec.runner)(ctx)))
                })
                .collect();
            units
        },
        |units| {
            rt.block_on(async {
                for (cancel, _, status, task) in units {
                    cancel.cancel();
                    let _ = task.await;
                    drop(status);
                }
            });
        },
    );
    let daemons = per_unit(
        &rt,
        || {
            let coordination = Coordination::builder()
                .coordinators([])
                .daemons(specs.iter().copied())
                .build()
                .expect("built");
            let manager = coordination.start_daemon_manager();
            assert!(rt.block_on(manager.start_all()).is_ok());
            (coordination, manager)
        },
        |(coordination, manager)| {
            rt.block_on(manager.shutdown());
            drop(coordination);
        },
    );
    let subscribers = per_unit(
        &rt,
        || {
            let bus = EventBus::new(BusConfig {
                queue_capacity: 16,
                ..BusConfig::default()
            });
            let _guard = rt.enter();
            for i in 0..UNITS {
                bus.subscribe(format!("idle::{i}"), |_: Idle| async { Ok(()) })
                    .expect("subscribed");
            }
            bus
        },
        drop,
    );
    println!("heap held per idle unit ({UNITS} of each, median of 3):");
    println!("  bare task + cancellation token   {bare:>8.0} B");
    println!(
        "  bare task + coord's guarantees   {guaranteed:>8.0} B   {:.2}x the bare task (context with readiness, status)",
        guaranteed / bare
    );
    for (what, bytes, guaranteed) in [
        ("coord daemon (started)", daemons, Some(guaranteed)),
        ("coord subscriber (idle)", subscribers, None),
    ] {
        let ratio = bytes / bare;
        let against_guarantees = guaranteed
            .map(|g| format!(", {:.2}x the bare task with guarantees", bytes / g))
            .unwrap_or_default();
        println!(
            "  {what:<32} {bytes:>8.0} B   {ratio:.2}x the bare task (target <= 2.00x: {}){against_guarantees}",
            if ratio <= 2.0 { "met" } else { "MISSED" },
        );
    }
}
