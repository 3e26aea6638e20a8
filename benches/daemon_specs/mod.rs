//! Daemon specs the benchmarks build at run time: many daemons with one
//! runner that signals ready at once and waits for its cancellation.

use coord::prelude::*;
use coord::{BoxFuture, DaemonSpec, Location};

/// The runner of every benchmark daemon: ready at once, then idle until stopped.
pub fn ready_until_cancelled(ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async move {
        ctx.ready();
        ctx.cancelled().await;
        Ok(())
    })
}

/// One daemon `<prefix>_<i>` per entry of `deps`, depending on the daemons it lists.
pub fn leaked(prefix: &str, deps: &[Vec<usize>]) -> Vec<&'static DaemonSpec> {
    let names: Vec<&'static str> = (0..deps.len())
        .map(|i| &*format!("{prefix}_{i}").leak())
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
                publishes: &[],
                location: Location {
                    module_path: module_path!(),
                    file: file!(),
                    line: line!(),
                },
            }))
        })
        .collect()
}
