//! A node of the cluster tests and bench: one singleton daemon, one event
//! every node handles, one event handled once per cluster. Each node appends
//! what it does to `$CLUSTER_LOG/<node>.log`, one line per fact, so a test
//! can check the whole cluster's history after killing nodes at will.
//!
//! ```sh
//! cluster_node run --cluster nats://127.0.0.1:4222 --node n1 --lease 3
//! cluster_node publish nats://127.0.0.1:4222 ping 100     # ids 0..100
//! cluster_node publish nats://127.0.0.1:4222 job 50 --slow-ms 2000
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use coord::cluster::ClusterOptions;
use coord::prelude::*;
use serde::{Deserialize, Serialize};

const APP: &str = "cluster_test";

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    Leader,
}

/// Runs on one node at a time.
#[daemon(DaemonType::Leader, runner = run_leader, singleton, restart = always)]
pub struct Leader;

/// Handled by every node. Both events are `external`: the `publish`
/// command sends them from outside any coordinator or daemon.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
#[event(distributed, external)]
pub struct Ping {
    pub id: u64,
    pub sent_ms: u64,
}

/// Handled by one node of the cluster; takes `slow_ms` to handle, and
/// fails its first `fail_first` deliveries.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
#[event(distributed, external)]
pub struct Job {
    pub id: u64,
    pub slow_ms: u64,
    pub fail_first: u32,
}

/// Holds the handlers.
#[coordinator]
pub struct Worker;

impl Coordinator for Worker {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Worker {
    #[subscribe]
    async fn on_ping(&self, ping: &Ping) -> Result<(), BoxError> {
        record(&format!("ping {} {} {}", ping.id, ping.sent_ms, now_ms()));
        Ok(())
    }

    #[subscribe(once)]
    async fn on_job(&self, job: &Job) -> Result<(), BoxError> {
        record(&format!("job-start {}", job.id));
        tokio::time::sleep(Duration::from_millis(job.slow_ms)).await;
        let failures = FAILURES.get_or_init(Default::default);
        let seen = {
            let mut seen = failures.lock().map_err(|_| "poisoned")?;
            let count = seen.entry(job.id).or_insert(0);
            *count += 1;
            *count
        };
        if seen <= job.fail_first {
            record(&format!("job-fail {}", job.id));
            return Err(format!("job {} fails its delivery {seen} on purpose", job.id).into());
        }
        record(&format!("job-done {}", job.id));
        Ok(())
    }
}

static FAILURES: OnceLock<std::sync::Mutex<std::collections::HashMap<u64, u32>>> = OnceLock::new();

async fn run_leader(ctx: DaemonContext) -> Result<(), BoxError> {
    let token = ctx
        .fencing_token()
        .ok_or("a singleton has a fencing token in a cluster")?;
    record(&format!("leader-start {token} {}", now_ms()));
    ctx.ready();
    ctx.cancelled().await;
    record(&format!("leader-stop {token} {}", now_ms()));
    Ok(())
}

static LOG: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Appends one line to this node's log, if the tests gave a folder.
fn record(line: &str) {
    let Some(Some(path)) = LOG.get() else { return };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn node_arg(args: &[String]) -> Option<String> {
    args.iter()
        .position(|a| a == "--node")
        .and_then(|i| args.get(i + 1).cloned())
}

/// `publish URL ping|job COUNT [--start N] [--slow-ms MS] [--fail-first N]`
async fn publish(args: &[String]) -> Result<(), BoxError> {
    let [url, kind, count, rest @ ..] = args else {
        return Err(
            "usage: publish URL ping|job COUNT [--start N] [--slow-ms MS] [--fail-first N]".into(),
        );
    };
    let count: u64 = count.parse()?;
    let flag = |name: &str| -> Result<u64, BoxError> {
        match rest.iter().position(|a| a == name) {
            Some(i) => Ok(rest.get(i + 1).ok_or("flag without value")?.parse()?),
            None => Ok(0),
        }
    };
    let (start, slow_ms, fail_first) =
        (flag("--start")?, flag("--slow-ms")?, flag("--fail-first")?);
    let link = coord::nats::connect(ClusterOptions::new(
        url.as_str(),
        format!("publisher-{}", std::process::id()),
        APP,
    ))
    .await?;
    let coordination = Coordination::builder().cluster(link.clone()).build()?;
    for id in start..start + count {
        match kind.as_str() {
            "ping" => {
                coordination
                    .publish(Ping {
                        id,
                        sent_ms: now_ms(),
                    })
                    .await
            }
            "job" => {
                coordination
                    .publish(Job {
                        id,
                        slow_ms,
                        fail_first: u32::try_from(fail_first)?,
                    })
                    .await;
            }
            other => return Err(format!("unknown event kind '{other}'").into()),
        }
    }
    link.close().await;
    let failed: u64 = coordination
        .events()
        .counts()
        .values()
        .map(|c| c.failed)
        .sum();
    if failed > 0 {
        return Err(format!("{failed} publishes failed").into());
    }
    println!("published {count}");
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("publish") {
        return match publish(&args[2..]).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let node = node_arg(&args).unwrap_or_else(ClusterOptions::default_node);
    let _ = LOG.set(
        std::env::var_os("CLUSTER_LOG").map(|dir| PathBuf::from(dir).join(format!("{node}.log"))),
    );
    let app = coord::cli::App::new(APP).on_start(|coordination| {
        if let Some(link) = coordination.cluster() {
            record(&format!("joined {} {}", link.node(), now_ms()));
        }
    });
    coord::cli::run(app).await
}
