//! Cluster mode against what it runs on, in the same run on a real
//! nats-server (started on a free loopback port with a temporary store):
//!
//! 1. Events across two nodes: node A publishes 20,000 distributed events,
//!    node B's handler takes each; throughput and p50/p99 publish-to-handler
//!    latency, against raw async-nats JetStream (publish with a message id,
//!    a durable pull consumer acking each message) moving the same payloads.
//!    Target: coord at least 0.8x the raw throughput.
//! 2. Failover: three `cluster_node` processes, the singleton's leader
//!    SIGKILLed 10 times; time from the kill to the new leader's start.
//!    Target: within lease + one renewal (4 s for a 3 s lease) every time.
//!
//! Run: `cargo bench --bench cluster`.

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, message::PublishMessage, stream};
use coord::cluster::ClusterOptions;
use coord::prelude::*;
use coord::{BusConfig, EventBus};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

const EVENTS: u64 = 20_000;
const ROUNDS: usize = 5;
const IN_FLIGHT: usize = 1024;
const KILLS: usize = 10;
const LEASE_S: u32 = 3;

/// The payload both sides move.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
#[event(distributed, external)]
pub struct Sample {
    pub seq: u64,
    /// When it was sent, in ns since the bench began.
    pub sent_ns: u64,
    pub body: String,
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn since_base() -> u64 {
    u64::try_from(base().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn sample(seq: u64) -> Sample {
    Sample {
        seq,
        sent_ns: since_base(),
        body: "x".repeat(64),
    }
}

/// What the receiving side records: latencies, and a signal at the last one.
struct Received {
    count: AtomicU64,
    latencies: Mutex<Vec<u64>>,
    all: Notify,
}

impl Received {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            count: AtomicU64::new(0),
            latencies: Mutex::new(Vec::with_capacity(EVENTS as usize)),
            all: Notify::new(),
        })
    }

    fn take(&self, sample: &Sample) {
        let latency = since_base().saturating_sub(sample.sent_ns);
        if let Ok(mut latencies) = self.latencies.lock() {
            latencies.push(latency);
        }
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == EVENTS {
            self.all.notify_one();
        }
    }

    async fn wait(&self) {
        let notified = self.all.notified();
        // `notify_one` keeps a permit when nobody waits yet, so none is missed.
        if self.count.load(Ordering::Acquire) < EVENTS
            && tokio::time::timeout(Duration::from_secs(120), notified)
                .await
                .is_err()
        {
            panic!(
                "only {} of {EVENTS} events arrived",
                self.count.load(Ordering::Acquire)
            );
        }
    }
}

/// One round's result: events per second and the latencies seen.
struct Round {
    per_second: f64,
    latencies: Vec<u64>,
}

async fn through_coord(url: &str, round: usize) -> Round {
    let app = format!("bench_coord_{round}");
    let connect = |node: &str| coord::nats::connect(ClusterOptions::new(url, node, app.as_str()));
    let (a, b) = (
        connect("a").await.expect("node a"),
        connect("b").await.expect("node b"),
    );
    let sender = EventBus::new(BusConfig::default());
    sender.attach_cluster(a.clone(), []);
    let receiver = EventBus::new(BusConfig::default());
    receiver.attach_cluster(b.clone(), []);
    let received = Received::new();
    let sink = Arc::clone(&received);
    receiver
        .subscribe("bench::receive", move |s: Sample| {
            sink.take(&s);
            async { Ok(()) }
        })
        .expect("subscribed");
    let started = Instant::now();
    for seq in 0..EVENTS {
        sender.publish(sample(seq)).await;
    }
    received.wait().await;
    let took = started.elapsed();
    a.close().await;
    b.close().await;
    let latencies = std::mem::take(&mut *received.latencies.lock().expect("latencies"));
    Round {
        per_second: EVENTS as f64 / took.as_secs_f64(),
        latencies,
    }
}

async fn through_raw(url: &str, round: usize) -> Round {
    let name = format!("RAW_{round}");
    let subject = format!("raw{round}.samples");
    let client_a = async_nats::connect(url).await.expect("client a");
    let client_b = async_nats::connect(url).await.expect("client b");
    let (js_a, js_b) = (
        jetstream::new(client_a.clone()),
        jetstream::new(client_b.clone()),
    );
    js_a.get_or_create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![format!("raw{round}.>")],
        storage: stream::StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .expect("stream");
    let consumer: jetstream::consumer::Consumer<pull::Config> = js_b
        .get_stream(&name)
        .await
        .expect("stream for b")
        .get_or_create_consumer(
            "receive",
            pull::Config {
                durable_name: Some("receive".to_owned()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                filter_subject: subject.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("consumer");
    let received = Received::new();
    let sink = Arc::clone(&received);
    let consuming = tokio::spawn(async move {
        let mut messages = consumer
            .stream()
            .max_messages_per_batch(64)
            .messages()
            .await
            .expect("messages");
        while let Some(Ok(message)) = messages.next().await {
            let sample: Sample = serde_json::from_slice(&message.payload).expect("a sample");
            sink.take(&sample);
            let _ = message.ack().await;
        }
    });
    let started = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    for seq in 0..EVENTS {
        if in_flight.len() >= IN_FLIGHT {
            in_flight.next().await;
        }
        let payload = serde_json::to_vec(&sample(seq)).expect("json");
        let ack = js_a
            .send_publish(
                subject.clone(),
                PublishMessage::build()
                    .payload(payload.into())
                    .message_id(format!("raw-{round}-{seq}")),
            )
            .await
            .expect("published");
        in_flight.push(async move { ack.await.expect("stored") });
    }
    while in_flight.next().await.is_some() {}
    received.wait().await;
    let took = started.elapsed();
    consuming.abort();
    let latencies = std::mem::take(&mut *received.latencies.lock().expect("latencies"));
    Round {
        per_second: EVENTS as f64 / took.as_secs_f64(),
        latencies,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted[at])
}

fn events_bench(url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut coord_rounds, mut raw_rounds) = (Vec::new(), Vec::new());
    // Each side runs as a task on the runtime's two workers, as a service's
    // code would (not on the thread that blocks on the runtime).
    let on_workers = |side: &str, round: usize| -> Round {
        let url = url.to_owned();
        let task = match side {
            "raw" => rt.spawn(async move { through_raw(&url, round).await }),
            _ => rt.spawn(async move { through_coord(&url, round).await }),
        };
        rt.block_on(task).expect("the round finished")
    };
    for round in 0..ROUNDS {
        // Alternated, so a noisy neighbour hits both sides alike.
        raw_rounds.push(on_workers("raw", round));
        coord_rounds.push(on_workers("coord", round));
        println!(
            "round {round}: raw {:.0} events/s, coord {:.0} events/s",
            raw_rounds[round].per_second, coord_rounds[round].per_second
        );
    }
    let report = |name: &str, rounds: &[Round]| -> f64 {
        let rate = median(rounds.iter().map(|r| r.per_second).collect());
        let mut all: Vec<u64> = rounds
            .iter()
            .flat_map(|r| r.latencies.iter().copied())
            .collect();
        all.sort_unstable();
        println!(
            "{name:<28} median {rate:>9.0} events/s   latency p50 {:>9.2?}  p99 {:>9.2?}",
            percentile(&all, 0.5),
            percentile(&all, 0.99)
        );
        rate
    };
    println!("\nevents across two nodes ({EVENTS} per round, {ROUNDS} rounds, medians):");
    let raw = report("raw async-nats JetStream", &raw_rounds);
    let coord = report("coord distributed events", &coord_rounds);
    let ratio = coord / raw;
    println!(
        "coord / raw throughput: {ratio:.2}x (target >= 0.80x: {})",
        if ratio >= 0.8 { "met" } else { "MISSED" }
    );
}

fn build_node() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let profile_release = std::env::current_exe()
        .ok()
        .is_some_and(|p| p.components().any(|c| c.as_os_str() == "release"));
    let mut command = std::process::Command::new(cargo);
    command.args([
        "build",
        "-q",
        "-p",
        "coord-nats",
        "--example",
        "cluster_node",
    ]);
    if profile_release {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "the cluster_node example did not build");
}

fn failover_bench(server: &harness::Server) {
    build_node();
    let logs = harness::TempDir::new("bench-logs");
    let data = harness::TempDir::new("bench-data");
    let mut nodes: Vec<harness::Node> = ["f1", "f2", "f3"]
        .iter()
        .map(|n| harness::Node::start(n, &server.url(), LEASE_S, &logs.0, &data.0))
        .collect();
    let mut killed = std::collections::BTreeMap::new();
    let bound = u64::from(LEASE_S) * 1000 * 4 / 3;
    let mut takeovers = Vec::new();
    for kill in 0..KILLS {
        let leader = harness::wait_for_leader(&logs.0, &killed);
        let index = nodes
            .iter()
            .position(|n| n.name == leader.node)
            .expect("its node");
        let mut node = nodes.swap_remove(index);
        node.kill();
        let at = node.killed_at.expect("killed");
        killed.insert(node.name.clone(), at);
        let mut next = None;
        harness::wait_until(Duration::from_millis(bound + 10_000), || {
            next = harness::terms(&logs.0, &killed)
                .into_iter()
                .find(|t| t.token > leader.token && t.end_ms.is_none());
            next.is_some()
        });
        let next = next.unwrap_or_else(|| panic!("nobody took over after kill {kill}"));
        let took = next.start_ms.saturating_sub(at);
        println!(
            "kill {kill}: {} (token {}) -> {} (token {}) in {took} ms",
            leader.node, leader.token, next.node, next.token
        );
        takeovers.push(took);
        // Back to three nodes, under a new name (a restarted process is a new node).
        let name = format!("f{}", 4 + kill);
        nodes.push(harness::Node::start(
            &name,
            &server.url(),
            LEASE_S,
            &logs.0,
            &data.0,
        ));
        assert!(harness::wait_until(Duration::from_secs(30), || {
            harness::joined(&logs.0, &[&name])
        }));
    }
    harness::assert_one_leader_at_a_time(&harness::terms(&logs.0, &killed));
    let worst = takeovers.iter().copied().max().unwrap_or(0);
    let med = median(takeovers.iter().map(|&t| t as f64).collect());
    println!(
        "\nfailover over {KILLS} leader kills (lease {LEASE_S} s): median {med:.0} ms, worst {worst} ms; \
         target every one <= lease + one renewal = {bound} ms: {}",
        if worst <= bound { "met" } else { "MISSED" }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) passes nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // `cargo bench --bench cluster -- events` (or `failover`) runs one part.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    let _ = base();
    let server = harness::Server::start();
    if wanted("events") {
        events_bench(&server.url());
    }
    if wanted("failover") {
        failover_bench(&server);
    }
}
