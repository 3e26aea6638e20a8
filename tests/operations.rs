//! The state store and the CLI under faults, neighbours and time, through
//! the main job's binary: one owner per data directory, read-only
//! inspection, refusals of what is not a plain file, liveness that does not
//! trust pids, bounded writes, and orderly exits.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

/// Sends `signal` (e.g. `-STOP`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill {signal} {pid}");
}

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(String, u64, i64, i64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = std::fs::symlink_metadata(e.path()).expect("metadata");
            (
                e.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_second_run_on_one_data_directory_is_refused_naming_the_owner() {
    let dir = data_dir("two-runs");
    // Both start at once on a fresh directory: exactly one gets it.
    let spawn = || {
        Command::new(example())
            .args(["run", "--duration", "3"])
            .env("COORD_DATA_DIR", &dir)
            .env_remove("PIPELINE_DAEMONS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts")
    };
    let first = spawn();
    let second = spawn();
    let outputs = [
        first.wait_with_output().expect("ends"),
        second.wait_with_output().expect("ends"),
    ];
    let refused: Vec<String> = outputs
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(refused.len(), 1, "exactly one run is refused: {refused:?}");
    let message = &refused[0];
    assert!(message.contains("[coord::E0611]"), "{message}");
    assert!(message.contains("is in use by process "), "{message}");
    assert!(message.contains("running since 20"), "{message}");
    assert!(
        message.contains("another\n--data-dir") || message.contains("another --data-dir"),
        "{message}"
    );
    // The store shows the one that ran, ended clean.
    let output = cli(&dir, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    assert_eq!(status["state"], "ended");
    assert_eq!(status["run"]["outcome"], "clean");
}

#[test]
fn starting_on_a_fresh_directory_while_status_polls_never_fails() {
    for trial in 0..6 {
        let dir = data_dir(&format!("fresh-race-{trial}"));
        let mut service = Command::new(example())
            .args(["run", "--duration", "1"])
            .env("COORD_DATA_DIR", &dir)
            .env_remove("PIPELINE_DAEMONS")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        // Poll until the run has ended, as a monitoring loop would.
        loop {
            let output = cli(&dir, &["status"]);
            let text = stdout(&output) + &stderr(&output);
            assert!(!text.contains("panicked"), "{text}");
            if let Some(exit) = service.try_wait().expect("poll") {
                let mut errors = String::new();
                service
                    .stderr
                    .take()
                    .expect("piped")
                    .read_to_string(&mut errors)
                    .expect("read");
                assert!(exit.success(), "trial {trial}: run failed: {errors}");
                break;
            }
        }
    }
}

#[test]
fn inspecting_writes_nothing_even_into_an_empty_database_file() {
    let dir = data_dir("empty-db");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("coord.db"), b"").expect("empty file");
    let before = snapshot(&dir);
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["events"],
        &["critical-chain"],
        &["dlq", "list"],
        &["order"],
        &["validate"],
    ] {
        let output = cli(&dir, args);
        assert_ne!(output.status.code(), Some(101), "{args:?} panicked");
        assert_eq!(
            snapshot(&dir),
            before,
            "`{}` changed the data directory",
            args.join(" ")
        );
    }
    let output = cli(&dir, &["status", "--json"]);
    let document: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("a JSON object even for an error");
    assert_eq!(document["error"]["code"], "coord::E0802", "{document}");
    assert_eq!(document["healthy"], false);
}

#[test]
fn a_read_only_user_can_look_at_a_running_service_and_changes_nothing() {
    if not_root() {
        // Acting as a second user takes root; CI runs as root.
        println!("skipped: needs root to run `status` as another user");
        return;
    }
    let dir = data_dir("observer");
    let (mut service, _reader) = start_run(
        &dir,
        &["run", "--duration", "60"],
        &[("COORD_DATA_MODE", "644")],
    );
    // The observer can reach the directory but not write it.
    let mut parent = dir.clone();
    while let Some(up) = parent.parent() {
        if up == Path::new("/") {
            break;
        }
        // Search permission only: /tmp keeps its sticky bit and write bits.
        if let Ok(meta) = std::fs::metadata(up) {
            let mode = meta.permissions().mode() | 0o001;
            let _ = std::fs::set_permissions(up, std::fs::Permissions::from_mode(mode));
        }
        parent = up.to_path_buf();
    }
    let before: Vec<(String, u64, i64, i64)> = snapshot(&dir)
        .into_iter()
        .filter(|(name, ..)| name == "coord.secret" || name == "coord.lock")
        .collect();
    let output = Command::new(example())
        .arg("status")
        .env("COORD_DATA_DIR", &dir)
        .env_remove("PIPELINE_DAEMONS")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("status runs as nobody");
    let text = stdout(&output) + &stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains(": running for "), "{text}");
    // It cannot read the run's secret, so it cannot send requests either.
    let output = Command::new(example())
        .args(["dlq", "purge"])
        .env("COORD_DATA_DIR", &dir)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("dlq runs as nobody");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("[coord::E0809]"),
        "{}",
        stderr(&output)
    );
    let after: Vec<(String, u64, i64, i64)> = snapshot(&dir)
        .into_iter()
        .filter(|(name, ..)| name == "coord.secret")
        .collect();
    assert_eq!(
        after,
        before
            .into_iter()
            .filter(|(name, ..)| name == "coord.secret")
            .collect::<Vec<_>>()
    );
    signal(service.0.id(), "-TERM");
    assert!(service.0.wait().expect("ends").success());
}

/// Whether this process is not root (`uid` switching needs root).
fn not_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() != 0)
        .unwrap_or(true)
}

#[test]
fn files_are_created_owner_only() {
    let dir = data_dir("modes");
    let output = cli(&dir, &["run", "--duration", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700);
    for file in ["coord.db", "coord.lock", "coord.secret"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

#[test]
fn links_fifos_and_loops_are_refused_at_once_and_nothing_they_point_at_is_touched() {
    let victim = data_dir("victim").with_extension("txt");
    std::fs::write(&victim, b"root's private notes").expect("victim");
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("0600");

    // A link planted where the lock file goes: refused, the target untouched.
    let dir = data_dir("planted-lock");
    std::fs::create_dir_all(&dir).expect("dir");
    std::os::unix::fs::symlink(&victim, dir.join("coord.lock")).expect("plant");
    let output = cli(&dir, &["run", "--duration", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("coord.lock is a symbolic link, not a regular file"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read(&victim).expect("read"),
        b"root's private notes"
    );

    // A link where the secret goes is replaced, never written through.
    let dir = data_dir("planted-secret");
    std::fs::create_dir_all(&dir).expect("dir");
    std::os::unix::fs::symlink(&victim, dir.join("coord.secret")).expect("plant");
    let output = cli(&dir, &["run", "--duration", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(&victim).expect("read"),
        b"root's private notes"
    );
    assert!(
        std::fs::symlink_metadata(dir.join("coord.secret"))
            .expect("secret")
            .file_type()
            .is_file()
    );

    // A FIFO as the database: both refuse at once instead of hanging.
    let dir = data_dir("fifo");
    std::fs::create_dir_all(&dir).expect("dir");
    let made = Command::new("mkfifo")
        .arg(dir.join("coord.db"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for args in [&["status"][..], &["run", "--duration", "1"]] {
        let started = Instant::now();
        let output = cli(&dir, args);
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("coord.db is a FIFO (named pipe), not a regular file"),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?} hung");
    }

    // A link to /dev/null as the database.
    let dir = data_dir("devnull");
    std::fs::create_dir_all(&dir).expect("dir");
    std::os::unix::fs::symlink("/dev/null", dir.join("coord.db")).expect("plant");
    let output = cli(&dir, &["status"]);
    assert!(
        stderr(&output).contains("coord.db is a symbolic link, not a regular file"),
        "{}",
        stderr(&output)
    );

    // A data directory that is a symlink loop.
    let dir = data_dir("loop");
    std::os::unix::fs::symlink(&dir, &dir).expect("loop");
    for args in [&["status"][..], &["run", "--duration", "1"]] {
        let output = cli(&dir, args);
        assert!(
            stderr(&output).contains("is a symbolic link loop, not a directory"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_database_missing_a_column_is_refused_as_damaged_and_left_as_it_is() {
    let dir = data_dir("damaged");
    let output = cli(&dir, &["run", "--duration", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let db = dir.join("coord.db");
    {
        let connection = rusqlite::Connection::open(&db).expect("sqlite");
        connection
            .execute_batch("ALTER TABLE daemon_state DROP COLUMN first_ready_at;")
            .expect("damage it");
    }
    let before = std::fs::read(&db).expect("read");
    for args in [&["status"][..], &["run", "--duration", "1"]] {
        let output = cli(&dir, args);
        assert_eq!(output.status.code(), Some(1));
        let text = stderr(&output);
        assert!(text.contains("[coord::E0609]"), "{args:?}: {text}");
        assert!(
            text.contains("table `daemon_state` lacks column(s) first_ready_at"),
            "{text}"
        );
        assert!(text.contains(".damaged"), "names the fix: {text}");
    }
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

#[test]
fn a_recorded_pid_that_is_alive_does_not_make_a_dead_run_live() {
    let dir = data_dir("pid-reuse");
    let (mut service, _reader) = start_run(&dir, &["run"], &[]);
    service.0.kill().expect("SIGKILL");
    service.0.wait().expect("reaped");
    // As if the dead run's pid had been reused: record pid 1, which is alive.
    let connection = rusqlite::Connection::open(dir.join("coord.db")).expect("sqlite");
    connection
        .execute("UPDATE runs SET pid = 1", [])
        .expect("foreign pid");
    let output = cli(&dir, &["status"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("not running: process 1 is gone without shutting down"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_frozen_service_is_reported_unresponsive_then_running_again() {
    let dir = data_dir("frozen");
    let (mut service, _reader) = start_run(&dir, &["run", "--duration", "60"], &[]);
    let pid = service.0.id();
    signal(pid, "-STOP");
    let output = until(&dir, &["status", "--json"], |o| {
        stdout(o).contains("\"unresponsive\"")
    });
    assert_eq!(output.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let age = status["liveness"]["heartbeat_age_ms"]
        .as_i64()
        .expect("age");
    assert!(age > 3_000, "stale after three missed beats: {status}");
    let text = stdout(&cli(&dir, &["status"]));
    assert!(
        text.contains("unresponsive: it holds the data directory"),
        "{text}"
    );
    signal(pid, "-CONT");
    let output = until(&dir, &["status", "--json"], |o| {
        stdout(o).contains("\"running\"")
    });
    assert!(output.status.success());
    signal(pid, "-TERM");
    assert!(service.0.wait().expect("ends").success());
}

#[test]
fn a_database_locked_by_another_process_delays_only_the_recorder() {
    let dir = data_dir("locked");
    let (mut service, _stdout, mut log) = start_run_logged(&dir, &["run", "--duration", "60"], &[]);
    let connection = rusqlite::Connection::open(dir.join("coord.db")).expect("sqlite");
    connection
        .execute_batch("BEGIN EXCLUSIVE;")
        .expect("write lock");
    let locked_at = Instant::now();
    // Events are still handled: the promotion handler logs each model, one
    // every few seconds. The first line read may have been written just
    // before the lock; the second was written while it was held.
    let mut promotions = 0;
    while promotions < 2 {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut log, &mut line).expect("read");
        assert!(read > 0, "the service ended while the store was locked");
        promotions += usize::from(line.contains("promoted") && line.contains("model=model-"));
    }
    // While it is locked: the service's heartbeat goes on, and status says
    // the recorder is behind instead of pretending the tables are current.
    let output = until(&dir, &["status"], |o| stdout(o).contains("the recorder is"));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains(": running for "), "{text}");
    assert!(text.contains("behind (the state store is busy)"), "{text}");
    assert!(locked_at.elapsed() < Duration::from_secs(20));
    connection.execute_batch("COMMIT;").expect("unlock");
    // The recorder catches up.
    until(&dir, &["status"], |o| {
        o.status.success() && !stdout(o).contains("the recorder is")
    });
    signal(service.0.id(), "-TERM");
    assert!(service.0.wait().expect("ends").success());
}

#[test]
fn sighup_shuts_down_in_order_and_records_a_clean_end() {
    let dir = data_dir("sighup");
    let (mut service, mut reader) = start_run(&dir, &["run", "--duration", "60"], &[]);
    signal(service.0.id(), "-HUP");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("read");
    assert!(service.0.wait().expect("ends").success(), "{rest}");
    assert!(rest.contains("summary (SIGHUP): clean"), "{rest}");
    assert!(rest.contains("daemons stopped in order: "), "{rest}");
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&cli(&dir, &["status", "--json"]))).expect("json");
    assert_eq!(status["state"], "ended");
    assert_eq!(status["run"]["outcome"], "clean");
}

#[test]
fn a_store_that_cannot_take_the_end_still_gets_the_summary_and_says_so() {
    let dir = data_dir("end-refused");
    let (mut service, mut reader) = start_run(&dir, &["run", "--duration", "60"], &[]);
    // Another process holds the write lock through the shutdown: the end of
    // the run cannot be written (as on a full disk).
    let connection = rusqlite::Connection::open(dir.join("coord.db")).expect("sqlite");
    connection
        .execute_batch("BEGIN EXCLUSIVE;")
        .expect("write lock");
    signal(service.0.id(), "-TERM");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).expect("read");
    let exit = service.0.wait().expect("ends");
    assert_eq!(exit.code(), Some(1), "{rest}");
    assert!(rest.contains("summary (SIGTERM): clean"), "{rest}");
    assert!(
        rest.contains("the end of run 1 could not be recorded"),
        "{rest}"
    );
    connection.execute_batch("COMMIT;").expect("unlock");
}

#[test]
fn an_unwritable_stdout_or_stderr_never_panics() {
    let dir = data_dir("closed-streams");
    // A reader that went away: stdout is a pipe whose other end is closed.
    let mut child = Command::new(example())
        .args(["order"])
        .env("COORD_DATA_DIR", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("ends");
    assert_ne!(output.status.code(), Some(101), "{}", stderr(&output));
    // An error with stderr closed: exit 1, not a panic.
    let output = Command::new(example())
        .arg("status")
        .env("COORD_DATA_DIR", &dir)
        .stderr(std::fs::File::open("/dev/null").expect("read-only /dev/null"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn global_options_go_before_or_after_the_command() {
    let dir = data_dir("global-options");
    for args in [
        &["--data-dir", dir.to_str().expect("utf-8"), "status"][..],
        &["status", "--data-dir", dir.to_str().expect("utf-8")],
    ] {
        let output = Command::new(example())
            .args(args)
            .env_remove("COORD_DATA_DIR")
            .output()
            .expect("runs");
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(&format!("no state store at {}", dir.display())),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // Run options belong to `run`: refused, with the reason, elsewhere.
    let output = Command::new(example())
        .args(["--duration", "5", "status"])
        .env("COORD_DATA_DIR", &dir)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--duration only applies to `run`, not to `status`"),
        "{}",
        stderr(&output)
    );
    let output = Command::new(example())
        .args(["--duration", "5", "run", "--duration", "6"])
        .env("COORD_DATA_DIR", &dir)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--duration given both before and after `run`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_misspelt_log_level_gets_a_suggestion() {
    let output = Command::new(example())
        .arg("order")
        .env("COORD_LOG", "debgu")
        .output()
        .expect("runs");
    assert!(output.status.success());
    assert!(
        stderr(&output).contains(
            "warning: [coord::E0705] COORD_LOG directive 'debgu' looks like a misspelt level (did you mean 'debug'?)"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_profile_naming_a_daemon_left_out_is_narrowed_not_an_error() {
    // `data` names data_pipeline and auto_sync; enabling only a proper subset
    // of valid names leaves auto_sync out of it.
    let output = Command::new(example())
        .arg("validate")
        .env("COORD_DATA_DIR", data_dir("narrowed"))
        .env("PIPELINE_DAEMONS", "event_router,data_pipeline")
        .env("COORD_LOG", "warn")
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("configuration ok"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("[coord::E0308] profile member is not enabled"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_idle_main_job_writes_less_than_a_kilobyte_a_second() {
    let dir = data_dir("write-rate");
    let mut service = Command::new(example())
        .args(["run", "--duration", "40"])
        .env("COORD_DATA_DIR", &dir)
        .env("COORD_LOG", "error")
        .env_remove("PIPELINE_DAEMONS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let written = |pid: u32| -> u64 {
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("/proc/<pid>/io");
        io.lines()
            .find_map(|l| l.strip_prefix("wchar: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("wchar")
    };
    let pid = service.id();
    // Past start-up (schema, bootstrap, first states), then a quiet window.
    until(&dir, &["status"], |o| o.status.success());
    std::thread::sleep(Duration::from_secs(5));
    let (start, bytes_at_start) = (Instant::now(), written(pid));
    std::thread::sleep(Duration::from_secs(20));
    let rate = (written(pid) - bytes_at_start) as f64 / start.elapsed().as_secs_f64();
    let _ = service.kill();
    let _ = service.wait();
    println!("idle main job: {rate:.0} bytes/s written (target <= 1024)");
    assert!(rate <= 1024.0, "{rate:.0} bytes/s");
}

#[test]
fn a_request_without_the_runs_secret_is_refused() {
    let dir = data_dir("forged");
    let (mut service, _reader) = start_run(&dir, &["run", "--duration", "60"], &[]);
    // Someone who can write the database but cannot read coord.secret.
    let store = coord::StateStore::open(&dir).expect("store");
    let run = store.latest_run().expect("query").expect("a run").id;
    let id = store
        .request(run, "dlq-purge", None, "not-the-secret")
        .expect("request");
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        if let Some(record) = store.request_status(id).expect("query")
            && let Some(answer) = record.result
        {
            break answer;
        }
        assert!(Instant::now() < deadline, "no answer");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!answer.0);
    assert!(
        answer
            .1
            .starts_with("refused: the request does not carry this run's secret"),
        "{answer:?}"
    );
    signal(service.0.id(), "-TERM");
    assert!(service.0.wait().expect("ends").success());
}
