//! Daemon manager cost: `start_all()` and `shutdown()` of 1,000 daemons (random
//! DAG, fixed seed, up to 4 dependencies each) that signal ready at once,
//! against spawning 1,000 tokio tasks in a precomputed order and waiting for
//! their ready signals, then cancelling and joining them, in the same run.
//!
//! Run: `cargo bench --bench daemons`.

mod estimates;
mod graph;

use std::time::{Duration, Instant};

use coord::prelude::*;
use coord::{BoxFuture, CancellationToken, Coordination, DaemonSpec, Location};
use criterion::Criterion;

const DAEMONS: usize = 1_000;

fn ready_until_cancelled(ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async move {
        ctx.ready();
        ctx.cancelled().await;
        Ok(())
    })
}

fn specs(deps: &[Vec<usize>]) -> Vec<&'static DaemonSpec> {
    let names: Vec<&'static str> = (0..deps.len())
        .map(|i| &*format!("daemon_{i}").leak())
        .collect();
    deps.iter()
        .enumerate()
        .map(|(i, ds)| {
            let depends_on: &'static [&'static str] =
                ds.iter().map(|&d| names[d]).collect::<Vec<_>>().leak();
            &*Box::leak(Box::new(DaemonSpec {
                name: names[i],
                kind: "BenchDaemon",
                variant: names[i],
                depends_on,
                soft_depends_on: &[],
                category: None,
                options: coord::DaemonOptions::NONE,
                runner: ready_until_cancelled,
                location: Location {
                    module_path: module_path!(),
                    file: file!(),
                    line: line!(),
                },
            }))
        })
        .collect()
}

/// Spawns every runner in `order` and waits for all ready signals; returns
/// what shutting them down needs.
async fn hand_written_start(
    specs: &[&'static DaemonSpec],
    order: &[usize],
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

fn build(specs: &[&'static DaemonSpec]) -> Coordination {
    Coordination::builder()
        .coordinators([])
        .daemons(specs.iter().copied())
        .build()
        .expect("acyclic")
}

fn bench(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let dag = graph::random_dag(DAEMONS, 0x5eed_0004);
    let specs = specs(&dag);
    let order: Vec<usize> = {
        let manager = build(&specs).start_daemon_manager();
        let position: std::collections::HashMap<&str, usize> =
            specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        manager.daemon_names().iter().map(|n| position[n]).collect()
    };

    let mut group = c.benchmark_group("daemons_1k");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("start/hand_written_spawn", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let running = rt.block_on(hand_written_start(&specs, &order));
                total += started.elapsed();
                rt.block_on(hand_written_stop(running));
            }
            total
        })
    });
    group.bench_function("start/coord_start_all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let manager = build(&specs).start_daemon_manager();
                let started = Instant::now();
                let report = rt.block_on(manager.start_all());
                total += started.elapsed();
                assert!(report.is_ok());
                rt.block_on(manager.shutdown());
            }
            total
        })
    });
    group.bench_function("shutdown/hand_written_cancel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let running = rt.block_on(hand_written_start(&specs, &order));
                let started = Instant::now();
                rt.block_on(hand_written_stop(running));
                total += started.elapsed();
            }
            total
        })
    });
    group.bench_function("shutdown/coord_shutdown", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let manager = build(&specs).start_daemon_manager();
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

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &rt);
    criterion.final_summary();
    for (what, base, coord) in [
        (
            "start_all",
            "start_hand_written_spawn",
            "start_coord_start_all",
        ),
        (
            "shutdown",
            "shutdown_hand_written_cancel",
            "shutdown_coord_shutdown",
        ),
    ] {
        if let (Some(base), Some(coord)) = (
            estimates::median_ns("daemons_1k", base),
            estimates::median_ns("daemons_1k", coord),
        ) {
            println!(
                "{what} of {DAEMONS} daemons: coord {:.2} ms, hand-written {:.2} ms, ratio {:.2}x (target <= 3.00x: {})",
                coord / 1e6,
                base / 1e6,
                coord / base,
                if coord / base <= 3.0 { "met" } else { "MISSED" }
            );
        }
    }
}
