//! What the end-to-end tests share: the main job's binary, a data directory
//! per test, running commands, and a service that never outlives its test.
// Each test binary uses some of these.
#![allow(dead_code)]

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The example binary `cargo test` builds next to this test's directory.
///
/// `cargo test` builds the examples; `cargo test --test cli` alone does not,
/// and would run whichever binary was built last.
pub fn example() -> PathBuf {
    let mut path = std::env::current_exe().expect("test binary");
    path.pop(); // the test binary
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path
        .join("examples")
        .join(format!("training_pipeline{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test` (it builds the examples) or `cargo build --example training_pipeline`",
        binary.display()
    );
    binary
}

/// A data directory of this test alone, removed first.
pub fn data_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coord-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// What a running service does to its data directory: hold the lock and keep
/// its heartbeat fresh, so a run written by a test reads as running.
pub struct Owning {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    beating: Option<std::thread::JoinHandle<()>>,
}

impl Owning {
    pub fn take(store: &coord::StateStore, run: i64) -> Self {
        let owner = coord::OwnerLock::acquire(store.dir(), coord::DEFAULT_FILE_MODE)
            .expect("the test owns the data directory");
        owner.set_run(run).expect("owner record");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        let beating = std::thread::spawn(move || {
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                owner.beat(0).expect("heartbeat");
                std::thread::park_timeout(Duration::from_millis(200));
            }
        });
        Self {
            stop,
            beating: Some(beating),
        }
    }
}

impl Drop for Owning {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(beating) = self.beating.take() {
            beating.thread().unpark();
            let _ = beating.join();
        }
    }
}

pub fn cli(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .env("COORD_DATA_DIR", data_dir)
        .env_remove("PIPELINE_DAEMONS")
        .output()
        .expect("the example runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A running service; killed if a test fails before it ends, so none outlives its test.
pub struct Service(pub Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `run` with `args` and waits until `status --json` shows all six
/// daemons ready; returns the service and its stdout (for the summary).
pub fn start_run(
    data_dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Service, BufReader<ChildStdout>) {
    let (service, stdout, _) = spawn_run(data_dir, args, envs, false);
    (service, stdout)
}

/// [`start_run`], also returning its log (stderr), at `info` unless `envs` say otherwise.
pub fn start_run_logged(
    data_dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Service, BufReader<ChildStdout>, BufReader<ChildStderr>) {
    let (service, stdout, stderr) = spawn_run(data_dir, args, envs, true);
    (service, stdout, stderr.expect("piped"))
}

fn spawn_run(
    data_dir: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    log: bool,
) -> (
    Service,
    BufReader<ChildStdout>,
    Option<BufReader<ChildStderr>>,
) {
    let mut child = Command::new(example())
        .args(args)
        .env("COORD_DATA_DIR", data_dir)
        .env("COORD_LOG", "info")
        .env_remove("PIPELINE_DAEMONS")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(if log { Stdio::piped() } else { Stdio::null() })
        .spawn()
        .expect("the main job starts");
    let reader = BufReader::new(child.stdout.take().expect("piped"));
    let log = child.stderr.take().map(BufReader::new);
    let mut service = Service(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(exit) = service.0.try_wait().expect("poll") {
            panic!("the main job ended ({exit}) before its daemons were ready");
        }
        let output = cli(data_dir, &["status", "--json"]);
        if let Ok(status) = serde_json::from_str::<serde_json::Value>(&stdout(&output))
            && let Some(daemons) = status["daemons"].as_array()
            && daemons.len() == 6
            && daemons.iter().all(|d| d["state"] == "ready")
        {
            return (service, reader, log);
        }
        assert!(
            Instant::now() < deadline,
            "the main job's daemons were not all ready within 30 s: {}",
            stdout(&output)
        );
    }
}

/// Waits, up to a deadline, until `check` passes on a fresh `args` output:
/// the running process writes daemon states within half a second, event
/// counts and dead letters every 10 s.
pub fn until(data_dir: &Path, args: &[&str], check: impl Fn(&Output) -> bool) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = cli(data_dir, args);
        if check(&output) {
            return output;
        }
        assert!(
            Instant::now() < deadline,
            "`{}` never passed the check; last output:\n{}{}",
            args.join(" "),
            stdout(&output),
            stderr(&output)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
