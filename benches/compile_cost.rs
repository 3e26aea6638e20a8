//! Compile cost of coord's attributes and compile-time checks.
//!
//! Generates crates with N coordinators and N daemons (a random DAG from a fixed
//! seed, up to 4 dependencies each, spread over modules) in two forms and times
//! `cargo check` of each in the same run:
//! - `coord`: the items with `#[daemon]`, `#[coordinator]`, `#[derive(DaemonType)]`;
//! - `baseline`: the same structs and functions plus one hand-written static
//!   table of names, dependencies and runner function pointers.
//!
//! Also times a dense "ladder" of 500 coordinators, each depending on the
//! previous three (exponential for a walk without a visited set), and a
//! `dense` shape: N coordinators and N daemons, each depending on the
//! previous eight.
//!
//! Run: `cargo bench --bench compile_cost` (all sizes), or pass sizes:
//! `cargo bench --bench compile_cost -- 250 1000`. `COORD_BENCH_RUNS` sets the
//! timed runs per form (default 3; the median is reported).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod graph;

use graph::random_dag;

const MODULE_SIZE: usize = 50;

fn ladder(n: usize) -> Vec<Vec<usize>> {
    previous(n, 3)
}

/// Each node depends on the `k` nodes before it.
fn previous(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0..n).map(|i| (i.saturating_sub(k)..i).collect()).collect()
}

fn module_of(i: usize) -> usize {
    i / MODULE_SIZE
}

/// The crate a coord user writes.
fn coord_source(daemons: &[Vec<usize>], coordinators: &[Vec<usize>]) -> String {
    let mut s = String::from("#![allow(dead_code)]\nuse coord::prelude::*;\n\n");
    if !daemons.is_empty() {
        s.push_str("#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]\npub enum DaemonType {\n");
        for i in 0..daemons.len() {
            let _ = writeln!(s, "    D{i},");
        }
        s.push_str("}\n\n");
    }
    s.push_str(
        "pub async fn run(ctx: DaemonContext) -> Result<(), BoxError> {\n    ctx.ready();\n    ctx.cancelled().await;\n    Ok(())\n}\n\n",
    );
    let modules = module_of(daemons.len().max(coordinators.len()).saturating_sub(1)) + 1;
    for m in 0..modules {
        let _ = writeln!(s, "pub mod m{m} {{\n    use coord::prelude::*;");
        if !daemons.is_empty() {
            s.push_str("    use crate::DaemonType;\n");
        }
        for (i, deps) in daemons
            .iter()
            .enumerate()
            .filter(|(i, _)| module_of(*i) == m)
        {
            let list: Vec<String> = deps.iter().map(|d| format!("DaemonType::D{d}")).collect();
            let _ = writeln!(
                s,
                "    #[daemon(DaemonType::D{i}, runner = crate::run, depends_on = [{}])]\n    pub struct Daemon{i};",
                list.join(", ")
            );
        }
        for (i, deps) in coordinators
            .iter()
            .enumerate()
            .filter(|(i, _)| module_of(*i) == m)
        {
            let list: Vec<String> = deps
                .iter()
                .map(|d| format!("crate::m{}::C{d}", module_of(*d)))
                .collect();
            let _ = writeln!(
                s,
                "    #[coordinator(depends_on = [{}])]\n    pub struct C{i};\n    impl Coordinator for C{i} {{\n        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {{ Ok(Self) }}\n    }}",
                list.join(", ")
            );
        }
        s.push_str("}\n\n");
    }
    s
}

/// The crate a user writes without coord's attributes: same items, one table.
fn baseline_source(daemons: &[Vec<usize>], coordinators: &[Vec<usize>]) -> String {
    let mut s = String::from(
        "#![allow(dead_code)]\nuse coord::{BoxError, BoxFuture, DaemonContext};\n\n\
         pub struct DaemonEntry {\n    pub name: &'static str,\n    pub depends_on: &'static [&'static str],\n    \
         pub runner: fn(DaemonContext) -> BoxFuture<'static, Result<(), BoxError>>,\n}\n\n\
         pub struct CoordinatorEntry {\n    pub name: &'static str,\n    pub depends_on: &'static [&'static str],\n    \
         pub init: fn() -> BoxFuture<'static, Result<Box<dyn std::any::Any + Send + Sync>, BoxError>>,\n}\n\n\
         pub async fn run(ctx: DaemonContext) -> Result<(), BoxError> {\n    ctx.ready();\n    ctx.cancelled().await;\n    Ok(())\n}\n\n",
    );
    let modules = module_of(daemons.len().max(coordinators.len()).saturating_sub(1)) + 1;
    for m in 0..modules {
        let _ = writeln!(s, "pub mod m{m} {{\n    use coord::BoxError;");
        for i in (0..daemons.len()).filter(|i| module_of(*i) == m) {
            let _ = writeln!(s, "    pub struct Daemon{i};");
        }
        for i in (0..coordinators.len()).filter(|i| module_of(*i) == m) {
            let _ = writeln!(
                s,
                "    pub struct C{i};\n    impl C{i} {{\n        pub async fn initialize() -> Result<Self, BoxError> {{ Ok(Self) }}\n    }}"
            );
        }
        s.push_str("}\n\n");
    }
    s.push_str("pub static DAEMONS: &[DaemonEntry] = &[\n");
    for (i, deps) in daemons.iter().enumerate() {
        let list: Vec<String> = deps.iter().map(|d| format!("\"d{d}\"")).collect();
        let _ = writeln!(
            s,
            "    DaemonEntry {{ name: \"d{i}\", depends_on: &[{}], runner: |ctx| Box::pin(run(ctx)) }},",
            list.join(", ")
        );
    }
    s.push_str("];\n\npub static COORDINATORS: &[CoordinatorEntry] = &[\n");
    for (i, deps) in coordinators.iter().enumerate() {
        let list: Vec<String> = deps.iter().map(|d| format!("\"c{d}\"")).collect();
        let _ = writeln!(
            s,
            "    CoordinatorEntry {{ name: \"c{i}\", depends_on: &[{}], init: || Box::pin(async {{ \
             Ok(Box::new(m{}::C{i}::initialize().await?) as Box<dyn std::any::Any + Send + Sync>) }}) }},",
            list.join(", "),
            module_of(i)
        );
    }
    s.push_str("];\n");
    s
}

struct Workspace {
    root: PathBuf,
    target: PathBuf,
    coord: PathBuf,
}

impl Workspace {
    fn new() -> Self {
        let coord = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let root = coord.join("target").join("compile-cost");
        Self {
            target: root.join("target"),
            root,
            coord,
        }
    }

    /// Writes a crate and returns its manifest directory.
    fn write_crate(&self, name: &str, source: &str) -> PathBuf {
        let dir = self.root.join(name);
        std::fs::create_dir_all(dir.join("src")).expect("create generated crate directory");
        let manifest = format!(
            "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ncoord = {{ path = {:?} }}\n\n[workspace]\n",
            name.to_lowercase(),
            self.coord.display().to_string()
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).expect("write generated manifest");
        // Reuse coord's lock file so no registry is consulted and versions match.
        std::fs::copy(self.coord.join("Cargo.lock"), dir.join("Cargo.lock"))
            .expect("copy Cargo.lock");
        std::fs::write(dir.join("src").join("lib.rs"), source).expect("write generated source");
        dir
    }

    /// One `cargo check` of the crate alone (its dependencies are already checked).
    fn check(&self, dir: &Path) -> Duration {
        // A new mtime makes cargo re-check this crate and nothing else; with
        // incremental compilation off, that check does all of its work again.
        let lib = dir.join("src").join("lib.rs");
        let source = std::fs::read(&lib).expect("read generated source");
        std::fs::write(&lib, source).expect("touch generated source");
        let start = Instant::now();
        let output = Command::new(env!("CARGO"))
            .args(["check", "--quiet", "--offline", "--lib"])
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", &self.target)
            // Without this, an unchanged file is answered from the incremental
            // cache and the figure measures cache validation, not checking.
            .env("CARGO_INCREMENTAL", "0")
            .output()
            .expect("run cargo check");
        let elapsed = start.elapsed();
        if !output.status.success() {
            panic!(
                "cargo check of {} failed:\n{}",
                dir.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        elapsed
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

struct Row {
    label: String,
    items: usize,
    baseline: Duration,
    coord: Duration,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.coord.as_secs_f64() / self.baseline.as_secs_f64()
    }

    fn added_per_item_us(&self) -> f64 {
        (self.coord.as_secs_f64() - self.baseline.as_secs_f64()) * 1e6 / self.items as f64
    }
}

/// Times both forms, alternating so machine noise falls on both alike.
fn measure(
    ws: &Workspace,
    label: &str,
    daemons: &[Vec<usize>],
    coordinators: &[Vec<usize>],
    runs: usize,
) -> Row {
    let slug = label.replace([' ', '='], "_");
    let coord_dir = ws.write_crate(
        &format!("coord_{slug}"),
        &coord_source(daemons, coordinators),
    );
    let base_dir = ws.write_crate(
        &format!("baseline_{slug}"),
        &baseline_source(daemons, coordinators),
    );
    // Warm-up: builds shared dependencies once and fills the OS caches.
    ws.check(&coord_dir);
    ws.check(&base_dir);
    let mut coord = Vec::new();
    let mut baseline = Vec::new();
    for _ in 0..runs {
        baseline.push(ws.check(&base_dir));
        coord.push(ws.check(&coord_dir));
    }
    Row {
        label: label.to_owned(),
        items: daemons.len() + coordinators.len(),
        baseline: median(baseline),
        coord: median(coord),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the other arguments are sizes.
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![250, 500, 1000, 2000]
    } else {
        sizes
    };
    let runs = std::env::var("COORD_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let ws = Workspace::new();
    let mut rows = Vec::new();
    for &n in &sizes {
        let row = measure(
            &ws,
            &format!("N={n}"),
            &random_dag(n, 0x5eed_0001),
            &random_dag(n, 0x5eed_0002),
            runs,
        );
        eprintln!("measured {} ({} items)", row.label, row.items);
        rows.push(row);
    }
    let mut dense_rows = Vec::new();
    for &n in &sizes {
        let graph = previous(n, 8);
        let row = measure(&ws, &format!("dense N={n}"), &graph, &graph, runs);
        eprintln!("measured {} ({} items)", row.label, row.items);
        dense_rows.push(row);
    }
    let ladder_row = measure(&ws, "ladder 500", &[], &ladder(500), runs);

    println!(
        "\ncargo check of the generated crate, median of {runs} runs (dependencies already checked)\n"
    );
    println!(
        "{:<14} {:>7} {:>12} {:>12} {:>7} {:>16} {:>14}",
        "graph", "items", "baseline s", "coord s", "ratio", "added us/item", "coord ms/item"
    );
    for row in rows
        .iter()
        .chain(&dense_rows)
        .chain(std::iter::once(&ladder_row))
    {
        println!(
            "{:<14} {:>7} {:>12.3} {:>12.3} {:>6.2}x {:>16.1} {:>14.3}",
            row.label,
            row.items,
            row.baseline.as_secs_f64(),
            row.coord.as_secs_f64(),
            row.ratio(),
            row.added_per_item_us(),
            row.coord.as_secs_f64() * 1e3 / row.items as f64
        );
    }
    println!();
    if let Some(row) = rows.iter().find(|r| r.label == "N=1000") {
        println!(
            "target: ratio at N=1000 <= 1.50x: {:.2}x {}",
            row.ratio(),
            verdict(row.ratio() <= 1.5)
        );
    }
    // The baseline's one big table can grow faster than linearly itself, which
    // makes "added" time shrink or go negative; coord's own time per item shows
    // directly whether its checks stay linear.
    let own_per_item = |rows: &[Row], label: String| {
        rows.iter()
            .find(|r| r.label == label)
            .map(|r| r.coord.as_secs_f64() / r.items as f64)
    };
    let (smallest, largest) = (sizes.iter().min(), sizes.iter().max());
    if let (Some(&small_n), Some(&large_n)) = (smallest, largest) {
        for (rows, prefix) in [(&rows, ""), (&dense_rows, "dense ")] {
            if let (Some(small), Some(large)) = (
                own_per_item(rows, format!("{prefix}N={small_n}")),
                own_per_item(rows, format!("{prefix}N={large_n}")),
            ) {
                let growth = large / small;
                println!(
                    "target: {prefix}coord's own time per item N={large_n} / N={small_n} <= 1.50: {growth:.2} ({:.3} ms vs {:.3} ms) {}",
                    large * 1e3,
                    small * 1e3,
                    verdict(growth <= 1.5)
                );
            }
        }
        if let Some(row) = dense_rows
            .iter()
            .find(|r| r.label == format!("dense N={large_n}"))
        {
            println!(
                "target: dense N={large_n} <= 1.50x its hand-written baseline: {:.2}x {}",
                row.ratio(),
                verdict(row.ratio() <= 1.5)
            );
        }
    }
    println!(
        "target: ladder of 500 checks in < 5 s: {:.2} s {}",
        ladder_row.coord.as_secs_f64(),
        verdict(ladder_row.coord.as_secs_f64() < 5.0)
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "(met)" } else { "(MISSED)" }
}
