//! Daemon manager cost: `start_all()` and `shutdown()` of 1,000 daemons (random
//! DAG, fixed seed, up to 4 dependencies each) that signal ready at once,
//! against spawning 1,000 tokio tasks in a precomputed order and waiting for
//! their ready signals, then cancelling and joining them (the bare loop), and
//! against tokio-graceful-shutdown running the same 1,000 units as subsystems
//! of one `Toplevel` (what users pick instead; it has no dependency order or
//! readiness, so "started" is each subsystem having begun to run), in the
//! same run; then how the cost per daemon grows with 100, 1,000 and 10,000.
//!
//! Run: `cargo bench --bench daemons`.

mod daemon_specs;
mod estimates;
mod graph;

use std::sync::Arc;
use std::time::{Duration, Instant};

use coord::prelude::*;
use coord::{CancellationToken, Coordination, DaemonSpec};
use criterion::Criterion;

const DAEMONS: usize = 1_000;

fn specs(deps: &[Vec<usize>]) -> Vec<&'static DaemonSpec> {
    daemon_specs::leaked("daemon", deps)
}

/// Spawns every runner in `order` and waits for all ready signals; returns
/// what shutting them down needs.
async fn hand_written_start(
    specs: &'static [&'static DaemonSpec],
    order: &'static [usize],
) -> Vec<(
    CancellationToken,
    tokio::task::JoinHandle<Result<(), BoxError>>,
)> {
    let mut running = Vec::with_capacity(order.len());
    let mut ready = Vec::with_capacity(order.len());
    for &i in order {
        let cancel = CancellationToken::new();
        let (ctx, watch) = DaemonContext::new(specs[i].name, cancel.clone());
        running.push((cancel, tokio::spawn((specs[i].runner)(ctx))));
        ready.push(watch);
    }
    for mut watch in ready {
        watch.wait().await;
    }
    running
}

async fn hand_written_stop(
    running: Vec<(
        CancellationToken,
        tokio::task::JoinHandle<Result<(), BoxError>>,
    )>,
) {
    for (cancel, _) in running.iter().rev() {
        cancel.cancel();
    }
    for (_, task) in running.into_iter().rev() {
        let _ = task.await;
    }
}

/// A bare daemon's status: its state and since when, as `status` shows them.
type BareStatus = std::sync::Mutex<(&'static str, std::time::SystemTime)>;

fn set_status(status: &BareStatus, state: &'static str) {
    *status.lock().expect("not poisoned") = (state, std::time::SystemTime::now());
}

/// The bare loop with coord's start guarantees and nothing else: each daemon
/// starts only once the daemons it depends on are ready, and its state is
/// recorded with a timestamp at each transition. Its distance from
/// [`hand_written_start`] is what those guarantees cost without coord.
async fn hand_written_gated_start(
    specs: &'static [&'static DaemonSpec],
    deps: &'static [Vec<usize>],
    order: &'static [usize],
) -> GuardedDaemons {
    let statuses: Arc<Vec<BareStatus>> = Arc::new(
        (0..specs.len())
            .map(|_| std::sync::Mutex::new(("stopped", std::time::SystemTime::now())))
            .collect(),
    );
    let mut watches: Vec<Option<coord::ReadyWatch>> = vec![None; specs.len()];
    let mut running: Vec<Option<BareDaemon>> = (0..specs.len()).map(|_| None).collect();
    for &i in order {
        let cancel = CancellationToken::new();
        let (ctx, watch) = DaemonContext::new(specs[i].name, cancel.clone());
        let gates: Vec<coord::ReadyWatch> = deps[i]
            .iter()
            .map(|&d| {
                watches[d]
                    .clone()
                    .expect("the order starts dependencies first")
            })
            .collect();
        let (runner, statuses_of) = (specs[i].runner, Arc::clone(&statuses));
        set_status(&statuses[i], "starting");
        let task = tokio::spawn(async move {
            for mut gate in gates {
                gate.wait().await;
            }
            set_status(&statuses_of[i], "running");
            runner(ctx).await
        });
        running[i] = Some((cancel, task));
        watches[i] = Some(watch);
    }
    for (i, watch) in watches.into_iter().enumerate() {
        if let Some(mut watch) = watch {
            watch.wait().await;
            set_status(&statuses[i], "ready");
        }
    }
    GuardedDaemons { running, statuses }
}

type BareDaemon = (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), BoxError>>,
);

/// What [`hand_written_ordered_stop`] needs.
struct GuardedDaemons {
    running: Vec<Option<BareDaemon>>,
    statuses: Arc<Vec<BareStatus>>,
}

/// The bare loop with coord's stop guarantees: each daemon is cancelled once
/// every daemon depending on it has stopped, its state recorded at each
/// transition.
async fn hand_written_ordered_stop(mut daemons: GuardedDaemons, deps: &'static [Vec<usize>]) {
    use futures_util::StreamExt;

    let n = deps.len();
    let mut waiting = vec![0usize; n];
    for ds in deps {
        for &d in ds {
            waiting[d] += 1;
        }
    }
    let mut due: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut stopping = futures_util::stream::FuturesUnordered::new();
    let mut stopped = 0;
    while stopped < n {
        for i in due.drain(..) {
            let (cancel, task) = daemons.running[i].take().expect("stopped once");
            set_status(&daemons.statuses[i], "stopping");
            cancel.cancel();
            stopping.push(async move {
                let _ = task.await;
                i
            });
        }
        let Some(i) = stopping.next().await else {
            break;
        };
        set_status(&daemons.statuses[i], "stopped");
        stopped += 1;
        for &d in &deps[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                due.push(d);
            }
        }
    }
}

/// The same units as tokio-graceful-shutdown subsystems: returns once each
/// has begun to run, with what shutting them down needs.
async fn graceful_start(
    n: usize,
) -> (
    tokio_graceful_shutdown::Toplevel,
    tokio::sync::oneshot::Sender<()>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

    let running = Arc::new((AtomicUsize::new(0), tokio::sync::Notify::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let counter = Arc::clone(&running);
    let toplevel = Toplevel::new(move |root: SubsystemHandle| async move {
        for i in 0..n {
            let counter = Arc::clone(&counter);
            root.start(SubsystemBuilder::new(
                format!("unit_{i}"),
                move |unit: SubsystemHandle| async move {
                    if counter.0.fetch_add(1, Ordering::AcqRel) + 1 == n {
                        counter.1.notify_one();
                    }
                    unit.on_shutdown_requested().await;
                    Ok::<(), std::convert::Infallible>(())
                },
            ));
        }
        let _ = stopped.await;
        root.request_shutdown();
    });
    let all = running.1.notified();
    if running.0.load(Ordering::Acquire) < n {
        all.await;
    }
    (toplevel, stop)
}

async fn graceful_stop(
    (toplevel, stop): (
        tokio_graceful_shutdown::Toplevel,
        tokio::sync::oneshot::Sender<()>,
    ),
) {
    let _ = stop.send(());
    toplevel
        .handle_shutdown_requests(Duration::from_secs(30))
        .await
        .expect("every unit stopped");
}

/// Runs a hand-written loop as a task of the runtime, as coord runs its own
/// start and shutdown when called from `block_on`: the loops are compared
/// by their work, not by which thread waits for it.
async fn as_task<F>(work: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(work)
        .await
        .expect("a bench loop does not panic")
}

fn build(specs: &[&'static DaemonSpec]) -> Coordination {
    Coordination::builder()
        .coordinators([])
        .daemons(specs.iter().copied())
        .build()
        .expect("acyclic")
}

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    // Leaked: the hand-written loops run as tasks, which need 'static data.
    let dag: &'static [Vec<usize>] = graph::random_dag(DAEMONS, 0x5eed_0004).leak();
    let specs: &'static [&'static DaemonSpec] = specs(dag).leak();
    let order: &'static [usize] = {
        let manager = build(specs).start_daemon_manager();
        let position: std::collections::HashMap<&str, usize> =
            specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        manager
            .daemon_names()
            .iter()
            .map(|n| position[n])
            .collect::<Vec<_>>()
            .leak()
    };

    let mut group = c.benchmark_group("daemons_1k");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("start/hand_written_spawn", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let running = rt.block_on(as_task(hand_written_start(specs, order)));
                total += started.elapsed();
                rt.block_on(as_task(hand_written_stop(running)));
            }
            total
        })
    });
    group.bench_function("start/bare_with_gating", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let running = rt.block_on(as_task(hand_written_gated_start(specs, dag, order)));
                total += started.elapsed();
                rt.block_on(as_task(hand_written_ordered_stop(running, dag)));
            }
            total
        })
    });
    group.bench_function("shutdown/bare_with_order", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let running = rt.block_on(as_task(hand_written_gated_start(specs, dag, order)));
                let started = Instant::now();
                rt.block_on(as_task(hand_written_ordered_stop(running, dag)));
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("start/coord_start_all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let manager = build(specs).start_daemon_manager();
                let started = Instant::now();
                let report = rt.block_on(manager.start_all());
                total += started.elapsed();
                assert!(report.is_ok());
                rt.block_on(manager.shutdown());
            }
            total
        })
    });
    group.bench_function("start/graceful_shutdown_toplevel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let running = rt.block_on(graceful_start(DAEMONS));
                total += started.elapsed();
                rt.block_on(graceful_stop(running));
            }
            total
        })
    });
    group.bench_function("shutdown/graceful_shutdown_toplevel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let running = rt.block_on(graceful_start(DAEMONS));
                let started = Instant::now();
                rt.block_on(graceful_stop(running));
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("shutdown/hand_written_cancel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let running = rt.block_on(as_task(hand_written_start(specs, order)));
                let started = Instant::now();
                rt.block_on(as_task(hand_written_stop(running)));
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("shutdown/coord_shutdown", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let manager = build(specs).start_daemon_manager();
                assert!(rt.block_on(manager.start_all()).is_ok());
                let started = Instant::now();
                let report = rt.block_on(manager.shutdown());
                total += started.elapsed();
                assert_eq!(report.stopped.len(), DAEMONS);
            }
            total
        })
    });
    group.finish();
}

/// Cost per daemon of `start_all()` and `shutdown()` at 100, 1,000 and
/// 10,000 daemons (random DAG): the median of enough runs that each size
/// starts about the same number of daemons in total.
fn scaling(rt: &tokio::runtime::Runtime) {
    let mut rows = Vec::new();
    for n in [100usize, 1_000, 10_000] {
        let specs = specs(&graph::random_dag(n, 0x5eed_0005 + n as u64));
        let mut start = Vec::new();
        let mut stop = Vec::new();
        let repeats = (100_000 / n).clamp(5, 201);
        for _ in 0..repeats {
            let manager = build(&specs).start_daemon_manager();
            let began = Instant::now();
            assert!(rt.block_on(manager.start_all()).is_ok());
            start.push(began.elapsed().as_nanos() as f64 / n as f64);
            let began = Instant::now();
            rt.block_on(manager.shutdown());
            stop.push(began.elapsed().as_nanos() as f64 / n as f64);
        }
        start.sort_by(f64::total_cmp);
        stop.sort_by(f64::total_cmp);
        let (start, stop) = (start[repeats / 2], stop[repeats / 2]);
        println!(
            "scaling: {n:>6} daemons, start_all {start:>7.0} ns and shutdown {stop:>7.0} ns per daemon (median of {repeats})"
        );
        rows.push((start, stop));
    }
    for (what, first, last) in [
        ("start_all", rows[0].0, rows[2].0),
        ("shutdown", rows[0].1, rows[2].1),
    ] {
        let growth = last / first;
        println!(
            "scaling: {what} cost per daemon at 10,000 / at 100: {growth:.2} (target <= 1.30: {})",
            if growth <= 1.3 { "met" } else { "MISSED" }
        );
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &rt);
    criterion.final_summary();
    for (what, base, peer, coord, guaranteed, guarantee) in [
        (
            "start_all",
            "start_hand_written_spawn",
            "start_graceful_shutdown_toplevel",
            "start_coord_start_all",
            "start_bare_with_gating",
            "readiness gating and status",
        ),
        (
            "shutdown",
            "shutdown_hand_written_cancel",
            "shutdown_graceful_shutdown_toplevel",
            "shutdown_coord_shutdown",
            "shutdown_bare_with_order",
            "dependency order and status",
        ),
    ] {
        let median = |f: &str| estimates::median_ns("daemons_1k", f);
        if let (Some(base), Some(peer), Some(coord)) = (median(base), median(peer), median(coord)) {
            println!(
                "{what} of {DAEMONS} daemons: coord {:.2} ms, bare loop {:.2} ms, tokio-graceful-shutdown {:.2} ms; \
                 coord {:.2}x the bare loop (target <= 1.50x: {}), {:.2}x the peer (target <= 1.00x: {})",
                coord / 1e6,
                base / 1e6,
                peer / 1e6,
                coord / base,
                if coord / base <= 1.5 { "met" } else { "MISSED" },
                coord / peer,
                if coord / peer <= 1.0 { "met" } else { "MISSED" },
            );
            if let Some(guaranteed) = median(guaranteed) {
                println!(
                    "{what}, cost of the guarantees: the bare loop with {guarantee} {:.2} ms = {:.2}x the bare loop; coord {:.2}x that",
                    guaranteed / 1e6,
                    guaranteed / base,
                    coord / guaranteed,
                );
            }
        }
    }
    scaling(&rt);
}
