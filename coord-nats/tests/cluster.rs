//! Cluster mode end to end: a real nats-server on a free loopback port, and
//! nodes of the `cluster_node` example as child processes killed at will.
//! Every fact the nodes record (joins, deliveries, leader terms) is read back
//! from their logs and checked for the whole cluster.

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::{
    Node, Server, TempDir, assert_one_leader_at_a_time, joined, now_ms, publish, read_logs, terms,
    wait_for_leader, wait_until,
};

/// Timing assertions (takeover, step-down) run one at a time: three nodes
/// and a server per test already share two cores.
static TIMING: Mutex<()> = Mutex::new(());

const LEASE_S: u32 = 3;
const LEASE_MS: u64 = LEASE_S as u64 * 1000;

fn start_nodes(server: &Server, names: &[&str], logs: &TempDir, data: &TempDir) -> Vec<Node> {
    let nodes: Vec<Node> = names
        .iter()
        .map(|n| Node::start(n, &server.url(), LEASE_S, &logs.0, &data.0))
        .collect();
    assert!(
        wait_until(Duration::from_secs(30), || joined(&logs.0, names)),
        "nodes did not join: {:#?}",
        read_logs(&logs.0)
    );
    nodes
}

/// Ids in lines `<kind> <id> ...` of one node's log.
fn ids(lines: &[String], kind: &str) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next() == Some(kind)).then(|| parts.next()?.parse().ok())?
        })
        .collect()
}

/// `kind` ids across the cluster, counted.
fn counted(logs: &BTreeMap<String, Vec<String>>, kind: &str) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for lines in logs.values() {
        for id in ids(lines, kind) {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn node_events_reach_every_node_and_once_events_one_node_per_success() {
    let server = Server::start();
    let (logs, data) = (TempDir::new("logs"), TempDir::new("data"));
    let names = ["n1", "n2", "n3"];
    let _nodes = start_nodes(&server, &names, &logs, &data);

    publish(&server.url(), &["ping", "20"]);
    // Every job fails its first delivery on the node that gets it, then succeeds.
    publish(&server.url(), &["job", "20", "--fail-first", "1"]);

    let all: BTreeSet<u64> = (0..20).collect();
    let done = wait_until(Duration::from_secs(60), || {
        let logs = read_logs(&logs.0);
        names.iter().all(|n| {
            logs.get(*n)
                .is_some_and(|l| ids(l, "ping").into_iter().collect::<BTreeSet<_>>() == all)
        }) && counted(&logs, "job-done")
            .keys()
            .copied()
            .collect::<BTreeSet<_>>()
            == all
    });
    let logs = read_logs(&logs.0);
    assert!(done, "not every event arrived: {logs:#?}");
    for node in names {
        let pings = ids(&logs[node], "ping");
        assert_eq!(pings.len(), 20, "{node} handled a ping twice: {pings:?}");
    }
    let done = counted(&logs, "job-done");
    assert!(
        done.values().all(|&n| n == 1),
        "a once-per-cluster event succeeded more than once: {done:?}"
    );
    let failed = counted(&logs, "job-fail");
    assert_eq!(
        failed.len(),
        20,
        "each job's first delivery failed: {failed:?}"
    );
    // The jobs were shared out, not all handled by one node.
    let handlers = logs
        .values()
        .filter(|l| !ids(l, "job-done").is_empty())
        .count();
    assert!(handlers >= 2, "one node took every job: {logs:#?}");
}

#[test]
fn a_once_event_whose_node_is_killed_mid_handler_is_handled_by_another() {
    let server = Server::start();
    let (logs, data) = (TempDir::new("logs"), TempDir::new("data"));
    let names = ["k1", "k2", "k3"];
    let mut nodes = start_nodes(&server, &names, &logs, &data);

    // Slow jobs: the node that takes the first is killed while it handles it.
    publish(&server.url(), &["job", "6", "--slow-ms", "1500"]);
    let mut victim = None;
    assert!(wait_until(Duration::from_secs(30), || {
        let logs = read_logs(&logs.0);
        victim = logs.iter().find_map(|(node, lines)| {
            let started: BTreeSet<u64> = ids(lines, "job-start").into_iter().collect();
            let done: BTreeSet<u64> = ids(lines, "job-done").into_iter().collect();
            started.difference(&done).next().map(|_| node.clone())
        });
        victim.is_some()
    }));
    let victim = victim.expect("a node handling a job");
    let in_hand: BTreeSet<u64> = {
        let logs = read_logs(&logs.0);
        let started: BTreeSet<u64> = ids(&logs[&victim], "job-start").into_iter().collect();
        let done: BTreeSet<u64> = ids(&logs[&victim], "job-done").into_iter().collect();
        started.difference(&done).copied().collect()
    };
    nodes
        .iter_mut()
        .find(|n| n.name == victim)
        .expect("the victim")
        .kill();

    let all: BTreeSet<u64> = (0..6).collect();
    let finished = wait_until(Duration::from_secs(60), || {
        counted(&read_logs(&logs.0), "job-done")
            .keys()
            .copied()
            .collect::<BTreeSet<_>>()
            == all
    });
    let logs = read_logs(&logs.0);
    assert!(
        finished,
        "a job was lost when {victim} was killed: {logs:#?}"
    );
    let survivors_done: BTreeSet<u64> = logs
        .iter()
        .filter(|(node, _)| **node != victim)
        .flat_map(|(_, lines)| ids(lines, "job-done"))
        .collect();
    assert!(
        in_hand.is_subset(&survivors_done),
        "jobs {in_hand:?} that {victim} had in hand were not handled elsewhere: {logs:#?}"
    );
}

#[test]
fn a_killed_leader_is_replaced_within_lease_and_one_renewal_without_overlap() {
    let _serial = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let (logs, data) = (TempDir::new("logs"), TempDir::new("data"));
    let names = ["l1", "l2", "l3"];
    let mut nodes = start_nodes(&server, &names, &logs, &data);
    let mut killed: BTreeMap<String, u64> = BTreeMap::new();
    let bound = LEASE_MS + LEASE_MS / 3;

    for _ in 0..2 {
        let current = wait_for_leader(&logs.0, &killed);
        let (old, old_token) = (current.node, current.token);
        let node = nodes
            .iter_mut()
            .find(|n| n.name == old)
            .expect("the leader's node");
        node.kill();
        let at = node.killed_at.expect("killed");
        killed.insert(old.clone(), at);

        let mut next = None;
        wait_until(Duration::from_millis(bound + 5000), || {
            next = terms(&logs.0, &killed)
                .into_iter()
                .find(|t| t.token > old_token && t.end_ms.is_none());
            next.is_some()
        });
        let next = next
            .unwrap_or_else(|| panic!("nobody took over from {old}: {:#?}", read_logs(&logs.0)));
        let took = next.start_ms.saturating_sub(at);
        assert!(
            took <= bound,
            "{} took over {took} ms after {old} was killed; the bound is lease + one renewal = {bound} ms",
            next.node
        );
        assert_ne!(next.node, old);
    }
    let terms = terms(&logs.0, &killed);
    assert!(terms.len() >= 3, "three terms expected: {terms:#?}");
    assert_one_leader_at_a_time(&terms);
}

#[test]
fn a_leader_cut_off_from_the_server_steps_down_before_its_lease_lapses() {
    let _serial = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let mut server = Server::start();
    let (logs, data) = (TempDir::new("logs"), TempDir::new("data"));
    let names = ["s1", "s2"];
    let _nodes = start_nodes(&server, &names, &logs, &data);
    let none = BTreeMap::new();
    let current = wait_for_leader(&logs.0, &none);
    let (old, old_token) = (current.node, current.token);

    let stopped_at = now_ms();
    server.stop();
    // The outage itself: longer than the lease, so it lapses on the server.
    std::thread::sleep(Duration::from_millis(LEASE_MS + 2000));
    let stepped_down = terms(&logs.0, &none)
        .into_iter()
        .find(|t| t.node == old && t.token == old_token)
        .and_then(|t| t.end_ms);
    let stepped_down = stepped_down.unwrap_or_else(|| {
        panic!(
            "{old} still runs its singleton with no server: {:#?}",
            read_logs(&logs.0)
        )
    });
    assert!(
        stepped_down <= stopped_at + LEASE_MS,
        "{old} stepped down {} ms after the server went; its lease was {LEASE_MS} ms",
        stepped_down - stopped_at
    );

    server.restart();
    let mut after = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            after = terms(&logs.0, &none)
                .into_iter()
                .find(|t| t.token > old_token && t.end_ms.is_none());
            after.is_some()
        }),
        "no leader after the server came back: {:#?}",
        read_logs(&logs.0)
    );
    // Two more renewals' time: still exactly one leader, and never two at once.
    let settle = Instant::now() + Duration::from_millis(LEASE_MS);
    while Instant::now() < settle {
        let open = terms(&logs.0, &none)
            .iter()
            .filter(|t| t.end_ms.is_none())
            .count();
        assert!(open <= 1, "two leaders: {:#?}", terms(&logs.0, &none));
        std::thread::sleep(Duration::from_millis(100));
    }
    let terms = terms(&logs.0, &none);
    assert_eq!(
        terms.iter().filter(|t| t.end_ms.is_none()).count(),
        1,
        "{terms:#?}"
    );
    assert_one_leader_at_a_time(&terms);
}

#[test]
fn a_wrong_url_fails_fast_naming_the_url_and_the_fix() {
    let data = TempDir::new("data");
    let port = harness::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let started = Instant::now();
    let output = std::process::Command::new(harness::node_binary())
        .args(["run", "--cluster", &url, "--node", "lonely"])
        .env("COORD_DATA_DIR", &data.0)
        .output()
        .expect("the node runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[coord::E1001]"), "{stderr}");
    assert!(stderr.contains(&url), "the URL is named: {stderr}");
    assert!(
        stderr.contains("nats-server -js"),
        "the fix is named: {stderr}"
    );
    assert!(took < Duration::from_secs(5), "refused in {took:?}");
    eprintln!("wrong URL refused in {took:?}: {stderr}");
}

#[test]
fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    // Accepts the connection and says nothing, as a hung server would.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!(
        "nats://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let data = TempDir::new("data");
    let started = Instant::now();
    let output = std::process::Command::new(harness::node_binary())
        .args(["run", "--cluster", &url, "--node", "patient"])
        .env("COORD_DATA_DIR", &data.0)
        .output()
        .expect("the node runs");
    let took = started.elapsed();
    drop(listener);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("[coord::E1001]") && stderr.contains(&url),
        "{stderr}"
    );
    assert!(
        stderr.contains("no answer within 5s"),
        "the bound is named: {stderr}"
    );
    assert!(took < Duration::from_secs(8), "gave up after {took:?}");
}

/// `status --cluster --json` of the cluster at `url`, as the CLI prints it,
/// or what it said on failing (it gives up on a server that does not answer).
fn cluster_status(url: &str) -> Result<serde_json::Value, String> {
    let output = std::process::Command::new(harness::node_binary())
        .args(["status", "--cluster", url, "--json"])
        .env("COORD_LEASE", LEASE_S.to_string())
        .env("COORD_LOG", "warn")
        .output()
        .expect("status runs");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).expect("status --json prints JSON"))
}

#[test]
fn status_shows_every_node_the_leader_with_its_token_and_the_standbys() {
    let server = Server::start();
    let (logs, data) = (TempDir::new("logs"), TempDir::new("data"));
    let names = ["t1", "t2", "t3"];
    let _nodes = start_nodes(&server, &names, &logs, &data);
    let none = BTreeMap::new();
    let current = wait_for_leader(&logs.0, &none);
    let (leader_node, token) = (current.node, current.token);

    let mut last = serde_json::Value::Null;
    let settled = wait_until(Duration::from_secs(20), || {
        last = match cluster_status(&server.url()) {
            Ok(status) => status,
            // Reported with the last status if it never settles.
            Err(error) => serde_json::Value::String(error),
        };
        let nodes = last["nodes"].as_array().cloned().unwrap_or_default();
        let states: Vec<(String, String, String)> = nodes
            .iter()
            .filter(|n| n["alive"] == true)
            .flat_map(|n| {
                let node = n["node"].as_str().unwrap_or_default().to_owned();
                n["daemons"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|d| d["name"] == "leader")
                    .map(move |d| {
                        (
                            node.clone(),
                            d["state"].as_str().unwrap_or_default().to_owned(),
                            d["leader"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
            })
            .collect();
        states.len() == 3
            && states.iter().all(|(node, state, leader)| {
                leader == &leader_node
                    && if *node == leader_node {
                        state == "ready"
                    } else {
                        state == "standby"
                    }
            })
    });
    assert!(
        settled,
        "status never showed one leader and two standbys: {last:#}"
    );
    let lease = &last["singletons"][0];
    assert_eq!(lease["daemon"], "leader", "{last:#}");
    assert_eq!(lease["node"], leader_node.as_str(), "{last:#}");
    assert_eq!(lease["token"], token, "{last:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_the_server_never_stores_fails_loudly_and_replays_once_it_is_back() {
    use coord::cluster::ClusterOptions;
    use coord::prelude::*;

    #[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
    #[event(distributed)]
    struct Note {
        n: u32,
    }

    let mut server = Server::start();
    let mut options = ClusterOptions::new(server.url(), "writer", "outage_test");
    options.publish_timeout = Duration::from_secs(1);
    options.connect_timeout = Duration::from_secs(1);
    let link = coord::nats::connect(options).await.expect("connected");
    let bus = coord::EventBus::default();
    bus.attach_cluster(link.clone(), []);

    server.stop();
    let started = Instant::now();
    bus.publish(Note { n: 7 }).await;
    let mut letters = Vec::new();
    for _ in 0..300 {
        letters = bus.dead_letters();
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    assert_eq!(letters.len(), 1, "the failed publish is kept");
    let letter = &letters[0];
    assert!(
        letter.last_error.contains("[coord::E0411]"),
        "{}",
        letter.last_error
    );
    assert_eq!(letter.payload, r#"{"n":7}"#);
    assert_eq!(bus.counts()["note"].failed, 1);
    // Bounded: the publish timeout, plus at most one acknowledgement wait.
    assert!(took < Duration::from_secs(8), "failed after {took:?}");

    // Back: a replay publishes it again, and a handler on another node gets it.
    server.restart();
    let mut options = ClusterOptions::new(server.url(), "reader", "outage_test");
    options.connect_timeout = Duration::from_secs(5);
    let reader_link = coord::nats::connect(options)
        .await
        .expect("reader connected");
    let reader = coord::EventBus::default();
    reader.attach_cluster(reader_link.clone(), []);
    let (seen, mut got) = tokio::sync::mpsc::unbounded_channel();
    reader
        .subscribe("outage::read", move |note: Note| {
            let _ = seen.send(note.n);
            async { Ok(()) }
        })
        .expect("subscribed");
    // The writer's client reconnects by itself; a replay that fails again
    // comes back as a new letter, replayed in turn.
    let mut n = None;
    for _ in 0..10 {
        if let Some(letter) = bus.dead_letters().first() {
            bus.replay_dead_letter(letter.id).await.expect("replayed");
        }
        if let Ok(got) = tokio::time::timeout(Duration::from_secs(3), got.recv()).await {
            n = got;
            break;
        }
    }
    assert_eq!(n, Some(7));
    link.close().await;
    reader_link.close().await;
}
