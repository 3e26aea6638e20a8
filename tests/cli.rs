//! The CLI end to end, through the main job's binary (`cargo test` builds the
//! examples): `run` in one process, `status`, `events`, `critical-chain` and
//! `dlq` from others, and the commands that read only the registry.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;

use common::*;

#[test]
fn run_is_seen_by_status_from_another_process_then_ends_clean() {
    let dir = data_dir("run");
    let (mut service, mut reader) = start_run(&dir, &["run", "--duration", "4"], &[]);

    let output = cli(&dir, &["status", "--json"]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&output)).expect("one JSON document");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["run"]["pid"], service.0.id(), "{status}");
    assert_eq!(status["run"]["app"], "training_pipeline", "{status}");
    assert_eq!(status["healthy"], true, "{status}");
    let daemons = status["daemons"].as_array().expect("daemons");
    let names: Vec<&str> = daemons.iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "auto_promotion",
            "auto_sync",
            "data_pipeline",
            "evaluation",
            "event_router",
            "feedback_loop"
        ]
    );
    let coordinators = status["coordinators"].as_array().expect("coordinators");
    assert_eq!(coordinators.len(), 3, "{status}");
    assert!(
        coordinators.iter().all(|c| c["state"] == "ready"),
        "{status}"
    );

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("read");
    assert!(service.0.wait().expect("exits").success(), "{rest}");
    assert!(rest.contains("summary (duration elapsed): clean"), "{rest}");
    assert!(rest.contains("event games_collected: published"), "{rest}");

    let output = cli(&dir, &["status"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("clean"), "{text}");

    // Every transition was recorded, not only the states seen twice a second.
    let store = coord::StateStore::open(&dir).expect("store");
    let run = store.latest_run().expect("query").expect("a run");
    let states: Vec<String> = store
        .transitions(run.id, "evaluation")
        .expect("transitions")
        .into_iter()
        .map(|(state, _, _)| state)
        .collect();
    assert_eq!(
        states,
        ["starting", "running", "ready", "stopping", "stopped"]
    );
    assert!(text.contains("event_router_coordinator"), "{text}");

    // What the run recorded: event counts, and the chain that set its time to ready.
    let output = cli(&dir, &["events"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("promotion_controller         -> model_promoted           -> EventRouterCoordinator::on_model_promoted, PromotionController::on_model_promoted"),
        "{text}"
    );
    assert!(
        text.contains("orphaned (published with no subscriber): none"),
        "{text}"
    );
    let games = text
        .lines()
        .find(|l| l.trim_start().starts_with("games_collected"))
        .expect("a count line for games_collected");
    let published: u64 = games
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(published >= 2, "{text}");

    let output = cli(&dir, &["critical-chain", "auto_sync"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    let chain: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("auto_sync @"))
        .map(|l| {
            l.trim_start_matches([' ', '└', '─'])
                .split(' ')
                .next()
                .unwrap_or("")
        })
        .collect();
    // data_pipeline becomes ready after feedback_loop (it warms up 150 ms), and
    // promotion_controller is the last coordinator (it loads for 300 ms).
    assert_eq!(
        chain,
        [
            "auto_sync",
            "data_pipeline",
            "event_router",
            "promotion_controller",
            "data_pipeline_orchestrator",
            "event_router_coordinator"
        ],
        "{text}"
    );

    let output = cli(&dir, &["critical-chain", "auto_synk"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "[coord::E0501] unknown daemon or coordinator 'auto_synk' (did you mean 'auto_sync'?); valid names:"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn status_exits_non_zero_for_a_killed_process_and_for_a_failed_daemon() {
    let dir = data_dir("killed");
    let (mut service, _reader) = start_run(&dir, &["run", "--duration", "60"], &[]);
    service.0.kill().expect("SIGKILL");
    service.0.wait().expect("reaped");
    let output = cli(&dir, &["status"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains(&format!(
            "process {} is gone without shutting down",
            service.0.id()
        )),
        "{}",
        stdout(&output)
    );

    // A run whose store says a daemon failed, written as a running service would.
    let dir = data_dir("failed");
    let store = coord::StateStore::open(&dir).expect("store");
    let run = store.begin_run().expect("run");
    let _owning = Owning::take(&store, run);
    let mut sync = coord::DaemonStatus {
        name: "auto_sync",
        state: coord::DaemonState::Failed,
        since: std::time::SystemTime::now(),
        counted_restarts: 5,
        restarts_total: 5,
        last_error: Some("sync peer reset the connection".into()),
        next_restart_at: None,
        waiting_on: Vec::new(),
        stopped_because: None,
        aborted: false,
        blocked: false,
        started_at: None,
        ready_at: None,
        leader: None,
        fencing_token: None,
    };
    store.record_daemon(run, &sync).expect("record");
    let output = cli(&dir, &["status"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("failed: auto_sync"), "{text}");
    assert!(text.contains("sync peer reset the connection"), "{text}");
    sync.state = coord::DaemonState::Ready;
    store.record_daemon(run, &sync).expect("record");
    let output = cli(&dir, &["status"]);
    assert!(output.status.success(), "{}", stdout(&output));
}

#[test]
fn dead_letters_are_listed_and_replayed_through_the_running_process() {
    let dir = data_dir("dlq");
    let (mut service, _reader) = start_run(
        &dir,
        &["run", "--duration", "60"],
        &[("PIPELINE_REGISTRY_DOWN", "1")],
    );
    // The first model is promoted after three batches of games (about 3 s);
    // its upload fails and goes to the dead-letter queue.
    let listed = until(&dir, &["dlq", "list"], |o| {
        stdout(o).contains("PromotionController::on_model_promoted")
    });
    let text = stdout(&listed);
    assert!(text.contains("model_promoted"), "{text}");
    assert!(text.contains("model registry busy"), "{text}");
    let id = text
        .lines()
        .find(|l| l.contains("PromotionController::on_model_promoted"))
        .and_then(|l| l.split_whitespace().next())
        .expect("an id")
        .to_owned();

    let output = cli(&dir, &["dlq", "replay", "9999"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("[coord::E0501] unknown dead letter '9999'; valid names: "),
        "{}",
        stderr(&output)
    );

    let output = cli(&dir, &["dlq", "replay", &id]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains(&format!("dead letter {id} handed to its handler again")),
        "{}",
        stdout(&output)
    );

    let output = cli(&dir, &["dlq", "purge"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("purged"), "{}", stdout(&output));

    // SIGTERM: the service shuts down gracefully and ends its run.
    let pid = service.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    service.0.wait().expect("exits");
    let output = cli(&dir, &["dlq", "replay", &id]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn dead_letters_survive_a_sigkill_and_the_next_run_takes_them_over() {
    let dir = data_dir("dlq-durable");
    let (mut service, _reader) = start_run(
        &dir,
        &["run", "--duration", "60"],
        &[("PIPELINE_REGISTRY_DOWN", "1")],
    );
    until(&dir, &["dlq", "list"], |o| {
        stdout(o).contains("PromotionController::on_model_promoted")
    });
    service.0.kill().expect("SIGKILL");
    service.0.wait().expect("reaped");
    // The store is the queue's durable copy: the letters outlive the process.
    let recorded = |run: i64| {
        let store = coord::StateStore::open_read_only(&dir)
            .expect("store")
            .expect("exists");
        store.dead_letters(run).expect("dead letters")
    };
    let before = recorded(1);
    assert!(!before.is_empty());
    let killed_events: Vec<u64> = before.iter().map(|l| l.event_id).collect();
    assert!(
        before.iter().all(|l| l.meta.is_some()),
        "each letter keeps its event's metadata"
    );

    // The next run takes them over: same events, same handler, in its queue.
    let (mut service, _reader) = start_run(
        &dir,
        &["run", "--duration", "60"],
        &[("PIPELINE_REGISTRY_DOWN", "1")],
    );
    let listed = until(&dir, &["dlq", "list"], |o| {
        stdout(o).contains("PromotionController::on_model_promoted")
    });
    let after = recorded(2);
    for event in &killed_events {
        assert!(
            after
                .iter()
                .any(|l| l.event_id == *event
                    && l.handler == "PromotionController::on_model_promoted"),
            "event {event} was not taken over: {after:?}"
        );
    }
    // And works on them: a replay reaches the handler.
    let id = stdout(&listed)
        .lines()
        .find(|l| l.contains("PromotionController::on_model_promoted"))
        .and_then(|l| l.split_whitespace().next())
        .expect("an id")
        .to_owned();
    let output = cli(&dir, &["dlq", "replay", &id]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    service.0.kill().expect("SIGKILL");
}

#[test]
fn validate_passes_and_names_a_misconfigured_daemon() {
    let dir = data_dir("validate");
    let output = cli(&dir, &["validate"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(
            "registry ok: 6 daemons (1 DaemonType enums), 3 coordinators, 6 subscriptions"
        ),
        "{text}"
    );
    // The soft edge data_pipeline ~> auto_sync closes a cycle: a warning,
    // which only --strict fails on.
    let warning = "warning: [coord::E0110] soft dependency cycle: data_pipeline ~> auto_sync -> data_pipeline; \
                   the soft edge data_pipeline ~> auto_sync is dropped from the startup order";
    assert!(text.contains(warning), "{text}");
    let strict = cli(&dir, &["validate", "--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", stdout(&strict));
    assert!(stdout(&strict).contains(warning));
    assert!(stdout(&strict).contains("1 warning(s), and --strict fails on warnings"));
    let order = stdout(&cli(&dir, &["order"]));
    assert!(order.contains(&format!("  {warning}")), "{order}");
    let output = Command::new(example())
        .arg("validate")
        .env("COORD_DATA_DIR", &dir)
        .env("PIPELINE_DAEMONS", "event_router,data_pipline")
        .output()
        .expect("runs");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[coord::E0501] unknown daemon 'data_pipline' (did you mean 'data_pipeline'?); valid names: event_router, data_pipeline"),
        "{text}"
    );
    // Reading the registry never touches the data directory.
    assert!(!dir.exists());
}

#[test]
fn graph_has_hard_and_soft_edges_in_dot_and_mermaid() {
    let dir = data_dir("graph");
    let output = cli(&dir, &["graph"]);
    let dot = stdout(&output);
    assert!(output.status.success());
    assert!(dot.starts_with("digraph coord {"), "{dot}");
    for edge in [
        "d_auto_sync -> d_data_pipeline;",
        "d_auto_sync -> d_feedback_loop;",
        "d_auto_promotion -> d_evaluation;",
        "c_promotion_controller -> c_data_pipeline_orchestrator;",
    ] {
        assert!(dot.contains(edge), "{edge} missing from\n{dot}");
    }
    // Event flow: the daemon that declares it publishes games_collected, and
    // the coordinator whose handler takes it.
    let games = dot
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_suffix("[label=\"games_collected\", shape=note];")
        })
        .map(str::trim)
        .expect("an event node for games_collected");
    for edge in [
        format!("d_data_pipeline -> {games} [style=dotted, label=\"publishes\""),
        format!("{games} -> c_data_pipeline_orchestrator [style=dotted, label=\"handled by\""),
    ] {
        assert!(dot.contains(&edge), "{edge} missing from\n{dot}");
    }
    let output = cli(&dir, &["graph", "--format", "mermaid"]);
    let mermaid = stdout(&output);
    assert!(mermaid.starts_with("flowchart BT"), "{mermaid}");
    assert!(
        mermaid.contains("d_auto_sync --> d_data_pipeline"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains(&format!("d_data_pipeline -. publishes .-> {games}")),
        "{mermaid}"
    );

    let output = cli(&dir, &["graph", "--format", "png"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("[possible values: dot, mermaid]"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn order_prints_levels() {
    let output = cli(&data_dir("order"), &["order"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("  level 0  event_router\n"), "{text}");
    assert!(
        text.contains("  level 1  data_pipeline, feedback_loop, evaluation\n"),
        "{text}"
    );
    assert!(
        text.contains("  level 2  auto_sync, auto_promotion\n"),
        "{text}"
    );
    assert!(text.contains("  level 2  promotion_controller\n"), "{text}");
}

#[test]
fn unknown_names_get_the_list_of_valid_ones() {
    let dir = data_dir("unknown");
    let output = cli(&dir, &["stauts"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("unrecognized subcommand 'stauts'"), "{text}");
    assert!(
        text.contains(
            "valid commands: run, status, order, validate, graph, events, plot, critical-chain, dlq"
        ),
        "{text}"
    );

    let output = cli(&dir, &["run", "--profile", "model"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains(
            "[coord::E0501] unknown profile 'model' (did you mean 'models'?); valid names: data, models"
        ),
        "{text}"
    );
    // Refused before anything was recorded.
    assert!(!dir.exists());

    let output = cli(&dir, &["run", "--duration", "soon"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("'soon' is not a number of seconds"),
        "{}",
        stderr(&output)
    );

    let output = cli(&dir, &["status"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("no state store at"), "{text}");
    assert!(
        text.contains("start the service with `training_pipeline run`"),
        "{text}"
    );
    assert!(!dir.exists(), "status must not create the data directory");
}

#[test]
fn status_watch_redraws_until_interrupted_and_events_lists_orphans() {
    // A run as a service would have recorded it: one event type nobody handles.
    let dir = data_dir("watch");
    let store = coord::StateStore::open(&dir).expect("store");
    let run = store.begin_run().expect("run");
    let _owning = Owning::take(&store, run);
    let counts = std::collections::BTreeMap::from([(
        "disk_full",
        coord::EventCounts {
            published: 2,
            orphaned: 2,
            ..Default::default()
        },
    )]);
    store
        .record_events(run, &Default::default(), &counts)
        .expect("record");
    let output = cli(&dir, &["events"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("orphaned (published with no subscriber): disk_full"),
        "{text}"
    );

    let mut watch = Command::new(example())
        .args(["status", "--watch", "--json"])
        .env("COORD_DATA_DIR", &dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("status --watch starts");
    let mut lines = BufReader::new(watch.stdout.take().expect("piped")).lines();
    // Two documents: the first at once, the second a second later.
    for _ in 0..2 {
        let line = lines.next().expect("a line").expect("utf-8");
        let status: serde_json::Value = serde_json::from_str(&line).expect("JSON per line");
        assert_eq!(status["run"]["id"], run);
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let exit = watch.wait().expect("exits");
    assert!(
        exit.success(),
        "Ctrl-C ends --watch with the last status's code: {exit}"
    );
}

/// A config file of this test, in a directory of its own.
fn config_file(test: &str, text: &str) -> std::path::PathBuf {
    let dir = data_dir(&format!("{test}-config"));
    std::fs::create_dir_all(&dir).expect("config dir");
    let path = dir.join("coord.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn a_critical_daemon_failing_for_good_ends_the_run_with_exit_1_and_status_says_why() {
    let dir = data_dir("critical");
    // auto_sync's first run fails after 4 s; with no restarts left, no
    // retry tier (its attribute has one) and `critical = true`, that ends the run.
    let config = config_file(
        "critical",
        "[daemons.auto_sync]\ncritical = true\nmax_restarts = 0\nafter_give_up = \"stop\"\n",
    );
    let output = Command::new(example())
        .args(["run", "--duration", "60"])
        .env("COORD_DATA_DIR", &dir)
        .env("COORD_CONFIG", &config)
        .env_remove("PIPELINE_DAEMONS")
        .output()
        .expect("runs");
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}{}", stderr(&output));
    assert!(
        text.contains("summary (critical daemon auto_sync failed): finished with errors: [coord::E0309] critical daemon 'auto_sync' failed for good"),
        "{text}"
    );
    assert!(text.contains("sync peer timed out (run 0)"), "{text}");
    assert!(text.contains("daemons stopped in order: "), "{text}");
    let status = cli(&dir, &["status"]);
    assert_eq!(status.status.code(), Some(1));
    assert!(
        stdout(&status).contains("[coord::E0309] critical daemon 'auto_sync' failed for good"),
        "{}",
        stdout(&status)
    );
}

#[test]
fn config_file_mistakes_stop_run_at_once_and_validate_reports_them() {
    let dir = data_dir("config-mistakes");
    let cases = [
        (
            "[daemons.auto_snyc]\nmax_restarts = 1\n",
            "[coord::E0904] [daemons.auto_snyc] in ",
            "did you mean 'auto_sync'?",
        ),
        (
            "[daemons.auto_sync]\nmax_restart = 1\n",
            "[coord::E0903] [daemons.auto_sync] in ",
            "unknown key `max_restart` (did you mean `max_restarts`?)",
        ),
        (
            "[daemons.auto_sync]\nbackoff = 5\n",
            "[coord::E0905] [daemons.auto_sync] in ",
            "`backoff` must be a string in quotes, not integer",
        ),
        (
            "[daemons.data_pipeline]\nenabled = false\n",
            "[coord::E0104] daemon 'data_pipeline' is disabled",
            "but 'auto_sync' depends on it",
        ),
    ];
    for (i, (text, code, detail)) in cases.into_iter().enumerate() {
        let config = config_file(&format!("mistake-{i}"), text);
        let run = Command::new(example())
            .args(["--config", config.to_str().expect("utf-8"), "run"])
            .env("COORD_DATA_DIR", &dir)
            .env_remove("PIPELINE_DAEMONS")
            .output()
            .expect("runs");
        assert_eq!(run.status.code(), Some(1), "{text}");
        let error = stderr(&run);
        assert!(
            error.contains(code) && error.contains(detail),
            "{text}: {error}"
        );
        let validate = Command::new(example())
            .args(["validate", "--config", config.to_str().expect("utf-8")])
            .env("COORD_DATA_DIR", &dir)
            .env_remove("PIPELINE_DAEMONS")
            .output()
            .expect("runs");
        assert_eq!(validate.status.code(), Some(1), "{text}");
        let report = stdout(&validate);
        assert!(report.contains("configuration invalid: "), "{report}");
        assert!(
            report.contains(code) && report.contains(detail),
            "{text}: {report}"
        );
    }
    // Nothing started, so nothing was recorded.
    assert!(!dir.join("coord.db").exists());
}

#[test]
fn a_coord_toml_in_the_working_directory_is_read_without_being_named() {
    let config = config_file(
        "default-file",
        "[coordinators.data_pipeline_orchestrator]\ntrain_every = 2\n",
    );
    let cwd = config.parent().expect("its directory");
    let output = Command::new(example())
        .arg("validate")
        .current_dir(cwd)
        .env_remove("COORD_CONFIG")
        .env_remove("PIPELINE_DAEMONS")
        .output()
        .expect("runs");
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("config file: coord.toml"), "{text}");
    assert!(text.contains("configuration ok"), "{text}");
}
