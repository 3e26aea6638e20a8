//! The state store: created where missing, clear errors, never overwrites what
//! it does not recognise, and survives a SIGKILL.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use coord::{DATABASE_FILE, StateStore, StoreError};

/// A fresh directory for one test, under the system's temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("coord-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_missing_data_directory_is_created_and_resolved_to_an_absolute_path() {
    let dir = scratch("missing").join("nested").join("deeper");
    let store = StateStore::open(&dir).expect("created");
    assert!(store.path().is_absolute());
    assert!(store.path().ends_with(DATABASE_FILE));
    assert!(dir.join(DATABASE_FILE).exists());
}

#[test]
fn a_data_directory_that_cannot_be_created_is_an_error_naming_path_and_fix() {
    let base = scratch("blocked");
    std::fs::create_dir_all(&base).expect("scratch dir");
    let file = base.join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let wanted = file.join("data");
    let err = StateStore::open(&wanted).expect_err("cannot create under a file");
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&wanted.display().to_string()), "{text}");
    assert!(
        text.contains("Not a directory"),
        "names the OS error: {text}"
    );
    assert!(text.contains("mkdir -p"), "says how to fix it: {text}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let dir = scratch("garbage");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let db = dir.join(DATABASE_FILE);
    let garbage = b"these are somebody's notes, not a database".repeat(100);
    std::fs::write(&db, &garbage).expect("write");
    let err = StateStore::open(&dir).expect_err("refused");
    assert!(
        err.to_string()
            .contains("is not a coord state database (not a SQLite database)"),
        "{err}"
    );
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), garbage);
}

#[test]
fn another_applications_database_is_refused_and_left_untouched() {
    let dir = scratch("foreign");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let db = dir.join(DATABASE_FILE);
    {
        // Another program's database: its own table, no coord marks.
        let other = rusqlite::Connection::open(&db).expect("create");
        other
            .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');")
            .expect("write");
    }
    let before = std::fs::read(&db).expect("read");
    let err = StateStore::open(&dir).expect_err("refused");
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains("another application"), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

#[test]
fn runs_and_daemon_states_round_trip() {
    let dir = scratch("roundtrip");
    let store = StateStore::open(&dir).expect("open");
    let run = store.begin_run().expect("begin");
    let latest = store.latest_run().expect("query").expect("a run");
    assert_eq!(
        (latest.id, latest.pid, latest.outcome.clone()),
        (run, std::process::id(), None)
    );
    let mut status = coord::DaemonStatus {
        name: "auto_sync",
        state: coord::DaemonState::Ready,
        since: std::time::SystemTime::now(),
        counted_restarts: 0,
        restarts_total: 2,
        last_error: Some("peer reset".into()),
        next_restart_at: None,
        waiting_on: Vec::new(),
        stopped_because: None,
        aborted: false,
        started_at: None,
        ready_at: None,
        blocked: false,
        leader: None,
        fencing_token: None,
    };
    store.record_daemon(run, &status).expect("record");
    status.state = coord::DaemonState::Failed;
    store.record_daemon(run, &status).expect("record");
    let daemons = store.daemons(run).expect("query");
    assert_eq!(daemons.len(), 1);
    assert_eq!(
        (daemons[0].state.as_str(), daemons[0].restarts_total),
        ("failed", 2)
    );
    assert_eq!(daemons[0].last_error.as_deref(), Some("peer reset"));
    store.end_run(run, "clean").expect("end");
    let reopened = StateStore::open(&dir).expect("reopen");
    let ended = reopened.latest_run().expect("query").expect("a run");
    assert_eq!(ended.outcome.as_deref(), Some("clean"));
    assert!(ended.ended_at_ms.is_some());
}

/// The child half of the SIGKILL test: opens a run and waits to be killed.
#[test]
#[ignore = "run as a child process by a_run_killed_with_sigkill_is_marked_abnormal_on_the_next_open"]
fn sigkill_child() {
    let Some(dir) = std::env::var_os("COORD_STORE_CHILD_DIR") else {
        return;
    };
    let store = StateStore::open(dir).expect("open");
    let run = store.begin_run().expect("begin");
    println!("RUN {run}");
    std::io::stdout().flush().expect("flush");
    // Blocks until the parent kills this process.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn a_run_killed_with_sigkill_is_marked_abnormal_on_the_next_open() {
    let dir = scratch("sigkill");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "sigkill_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("COORD_STORE_CHILD_DIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("piped");
    // libtest prints "test sigkill_child ... " before the test's own output,
    // on the same line: look for the marker anywhere in it.
    let killed_run: i64 = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("RUN ")
                .nth(1)
                .and_then(|id| id.trim().parse().ok())
        })
        .expect("the child reports its run");
    let pid = child.id();
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let store = StateStore::open(&dir).expect("the database opens after a SIGKILL");
    store.begin_run().expect("a new run");
    let runs = store.runs().expect("runs");
    let killed = runs
        .iter()
        .find(|r| r.id == killed_run)
        .expect("the killed run is recorded");
    assert_eq!(killed.pid, pid);
    assert_eq!(
        killed.outcome.as_deref(),
        Some(format!("ended abnormally: process {pid} stopped without shutting down").as_str())
    );
}

#[test]
fn a_version_1_store_is_migrated_and_keeps_its_runs() {
    let dir = scratch("migrate");
    let store = StateStore::open(&dir).expect("open");
    let run = store.begin_run().expect("run");
    store.end_run(run, "clean").expect("end");
    drop(store);
    // Take the file back to version 1: drop what version 2 added.
    let connection = rusqlite::Connection::open(dir.join(DATABASE_FILE)).expect("sqlite");
    connection
        .execute_batch(
            "DROP INDEX daemon_transitions_by_run;
             DROP TABLE event_stats; DROP TABLE dead_letters; DROP TABLE commands;
             ALTER TABLE runs DROP COLUMN app; ALTER TABLE runs DROP COLUMN profile;
             ALTER TABLE runs DROP COLUMN heartbeat_at; ALTER TABLE bootstrap DROP COLUMN started_at;
             ALTER TABLE daemon_state DROP COLUMN first_started_at;
             ALTER TABLE daemon_state DROP COLUMN first_ready_at;
             PRAGMA user_version = 1;",
        )
        .expect("downgrade");
    drop(connection);

    let store = StateStore::open(&dir).expect("a version 1 store opens");
    let runs = store.runs().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome.as_deref(), Some("clean"));
    assert_eq!(runs[0].app, None);
    // Version 2's tables are there.
    store
        .describe_run(run, "svc", Some("data"))
        .expect("v2 columns");
    assert!(store.dead_letters(run).expect("v2 table").is_empty());
    let connection = rusqlite::Connection::open(dir.join(DATABASE_FILE)).expect("sqlite");
    let version: i32 = connection
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version, coord::SCHEMA_VERSION);
}

#[test]
fn event_counts_and_requests_round_trip() {
    let store = StateStore::open(scratch("service")).expect("open");
    let run = store.begin_run().expect("run");
    let subscriptions = std::collections::BTreeMap::from([(
        "games_collected",
        vec!["A::on_games".to_owned(), "B::on_games".to_owned()],
    )]);
    let counts = std::collections::BTreeMap::from([
        (
            "games_collected",
            coord::EventCounts {
                published: 3,
                delivered: 6,
                failed: 1,
                orphaned: 0,
                dead_lettered: 1,
            },
        ),
        (
            "model_promoted",
            coord::EventCounts {
                published: 1,
                orphaned: 1,
                ..Default::default()
            },
        ),
    ]);
    store
        .record_events(run, &subscriptions, &counts)
        .expect("record");
    let events = store.events(run).expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event, "games_collected");
    assert_eq!(events[0].handlers, ["A::on_games", "B::on_games"]);
    assert_eq!(events[0].counts, counts["games_collected"]);
    assert_eq!(events[1].handlers, Vec::<String>::new());
    assert_eq!(events[1].counts.orphaned, 1);

    let request = store
        .request(run, "dlq-replay", Some("7"), "secret")
        .expect("request");
    let pending = store.pending_requests(run).expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].id, pending[0].argument.as_deref()),
        (request, Some("7"))
    );
    assert_eq!(
        store
            .request_status(request)
            .expect("status")
            .and_then(|r| r.result),
        None
    );
    store
        .answer_request(request, false, "no dead letter with id 7")
        .expect("answer");
    assert!(store.pending_requests(run).expect("pending").is_empty());
    assert_eq!(
        store
            .request_status(request)
            .expect("status")
            .and_then(|r| r.result),
        Some((false, "no dead letter with id 7".to_owned()))
    );
}

#[test]
fn retention_keeps_the_latest_runs_the_latest_transitions_and_pending_requests() {
    let store = StateStore::open(scratch("retention")).expect("open");
    let mut runs = Vec::new();
    for _ in 0..5 {
        let run = store.begin_run().expect("begin");
        store.end_run(run, "clean").expect("end");
        runs.push(run);
    }
    let latest = *runs.last().expect("five runs");
    let start = std::time::SystemTime::now();
    for n in 0..20u64 {
        let transition = coord::DaemonTransition {
            name: "auto_sync",
            state: coord::DaemonState::Running,
            at: start + std::time::Duration::from_millis(n),
            error: Some(format!("transition {n}")),
        };
        store
            .record_transition(latest, &transition)
            .expect("transition");
    }
    let answered = store
        .request(latest, "dlq-purge", None, "s")
        .expect("request");
    store
        .answer_request(answered, true, "done")
        .expect("answer");
    let pending = store
        .request(latest, "dlq-purge", None, "s")
        .expect("request");

    let retention = coord::Retention {
        runs: 3,
        transitions_per_run: 5,
        answered_requests: std::time::Duration::ZERO,
        ..coord::Retention::default()
    };
    let deleted = store.apply_retention(&retention).expect("retention");
    // Two runs (no other rows), fifteen transitions, one answered request.
    assert_eq!(deleted, 2 + 15 + 1);
    let mut kept: Vec<i64> = store.runs().expect("runs").iter().map(|r| r.id).collect();
    kept.sort_unstable();
    assert_eq!(kept, runs[2..]);
    let errors: Vec<String> = store
        .transitions(latest, "auto_sync")
        .expect("transitions")
        .into_iter()
        .filter_map(|(_, _, error)| error)
        .collect();
    assert_eq!(
        errors,
        (15..20)
            .map(|n| format!("transition {n}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(store.request_status(answered).expect("query"), None);
    assert!(store.request_status(pending).expect("query").is_some());

    // By age: every ended run but the latest has ended at least zero seconds ago.
    let by_age = coord::Retention {
        run_age: std::time::Duration::ZERO,
        ..coord::Retention::default()
    };
    store.apply_retention(&by_age).expect("retention");
    let kept: Vec<i64> = store.runs().expect("runs").iter().map(|r| r.id).collect();
    assert_eq!(kept, [latest]);
}
