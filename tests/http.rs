//! `run --http`: the probes, the metrics as Prometheus reads them, the
//! status document, the status page in a real headless browser, and the
//! SVG pictures, through the main job's binary.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

/// One HTTP/1.1 exchange: status code, content type, body.
struct Reply {
    code: u16,
    content_type: String,
    body: String,
}

fn request(port: u16, method: &str, path: &str) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the service listens");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    Reply {
        code,
        content_type,
        body: body.to_owned(),
    }
}

fn get(port: u16, path: &str) -> Reply {
    request(port, "GET", path)
}

/// Starts the main job serving HTTP on a free port (`--http 0`), and
/// returns it with the port it printed.
fn serve(dir: &Path, envs: &[(&str, &str)]) -> (Service, u16) {
    let (service, mut stdout) = start_run(dir, &["run", "--duration", "60", "--http", "0"], envs);
    let mut port = None;
    let mut line = String::new();
    while port.is_none() {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "no address printed"
        );
        port = line
            .trim()
            .strip_prefix("status page: http://127.0.0.1:")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok());
    }
    (service, port.expect("a port"))
}

#[test]
fn probes_answer_like_kubernetes_and_readiness_follows_the_critical_daemons() {
    let dir = data_dir("http-probes");
    // auto_sync fails 4 s after it starts and is restarted 1 s later; made
    // critical here, it takes the service's readiness with it meanwhile.
    let config = dir.with_extension("toml");
    std::fs::write(&config, "[daemons.auto_sync]\ncritical = true\n").expect("config");
    let (mut service, port) = serve(&dir, &[("COORD_CONFIG", config.to_str().expect("utf-8"))]);

    let live = get(port, "/livez");
    assert_eq!(
        (live.code, live.content_type.as_str()),
        (200, "application/json")
    );
    assert_eq!(live.body, r#"{"live":true}"#);
    let ready = get(port, "/readyz");
    assert_eq!(ready.code, 200, "{}", ready.body);
    assert_eq!(ready.body, r#"{"ready":true,"reasons":[]}"#);

    // Nothing on these endpoints changes state: other methods get 405.
    for method in ["POST", "PUT", "DELETE"] {
        assert_eq!(request(port, method, "/readyz").code, 405, "{method}");
    }
    assert_eq!(get(port, "/nothing-here").code, 404);

    let until_code = |code: u16| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = get(port, "/readyz");
            if reply.code == code {
                return reply;
            }
            assert!(Instant::now() < deadline, "/readyz never answered {code}");
        }
    };
    let not_ready = until_code(503);
    let reasons: serde_json::Value = serde_json::from_str(&not_ready.body).expect("json");
    assert_eq!(reasons["ready"], false);
    let reason = reasons["reasons"][0].as_str().expect("a reason");
    assert!(
        reason.starts_with("daemon 'auto_sync' is backoff: sync peer timed out (run 0)"),
        "{reason}"
    );
    assert_eq!(
        get(port, "/livez").code,
        200,
        "restarting is no reason to restart the process"
    );
    // Restarted and ready again: so is the service.
    until_code(200);
    signal_term(&mut service);
}

#[test]
fn metrics_read_as_prometheus_and_status_is_the_cli_document() {
    let dir = data_dir("http-metrics");
    let (mut service, port) = serve(&dir, &[]);
    // A promotion (and its events) every few seconds: wait for handler calls.
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape = loop {
        let reply = get(port, "/metrics");
        assert_eq!(reply.code, 200);
        assert!(
            reply
                .content_type
                .starts_with("application/openmetrics-text"),
            "{}",
            reply.content_type
        );
        let scrape = prometheus_parse::Scrape::parse(reply.body.lines().map(|l| Ok(l.to_owned())))
            .expect("Prometheus text");
        let promoted = scrape.samples.iter().any(|s| {
            s.metric == "coord_events_published_total"
                && s.labels.get("event") == Some("model_promoted")
        });
        if promoted {
            break scrape;
        }
        assert!(Instant::now() < deadline, "no promotion within 30 s");
    };
    let value = |metric: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| s.value.clone())
    };
    assert_eq!(
        value(
            "coord_daemon_state",
            &[("daemon", "event_router"), ("state", "ready")]
        ),
        Some(prometheus_parse::Value::Gauge(1.0))
    );
    assert_eq!(
        value(
            "coord_daemon_state",
            &[("daemon", "event_router"), ("state", "failed")]
        ),
        Some(prometheus_parse::Value::Gauge(0.0))
    );
    for metric in [
        "coord_daemon_restarts_total",
        "coord_daemon_time_to_ready_seconds",
    ] {
        assert!(
            value(metric, &[("daemon", "data_pipeline")]).is_some(),
            "{metric}"
        );
    }
    assert!(
        value(
            "coord_coordinator_bootstrap_seconds",
            &[("coordinator", "promotion_controller")]
        )
        .is_some()
    );
    for metric in [
        "coord_events_delivered_total",
        "coord_events_failed_total",
        "coord_events_dead_lettered_total",
    ] {
        assert!(
            value(metric, &[("event", "model_promoted")]).is_some(),
            "{metric}"
        );
    }
    assert!(value("coord_dead_letters", &[("state", "dead")]).is_some());
    match value(
        "coord_handler_duration_seconds",
        &[("handler", "DataPipelineOrchestrator::on_games_collected")],
    ) {
        Some(prometheus_parse::Value::Histogram(buckets)) => {
            let total = buckets.last().expect("buckets").count;
            assert!(total >= 1.0, "{buckets:?}");
        }
        other => panic!("no handler histogram: {other:?}"),
    }

    // /status is what `status --json` prints.
    let reply = get(port, "/status");
    assert_eq!(
        (reply.code, reply.content_type.as_str()),
        (200, "application/json")
    );
    let over_http: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    let from_cli: serde_json::Value =
        serde_json::from_str(&stdout(&cli(&dir, &["status", "--json"]))).expect("json");
    let keys = |v: &serde_json::Value| {
        v.as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&over_http), keys(&from_cli));
    assert_eq!(over_http["run"], from_cli["run"]);
    assert_eq!(over_http["daemons"].as_array().map(Vec::len), Some(6));
    signal_term(&mut service);
}

/// Chromium from Debian's packages: installed when missing (as CI does).
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        let installed = Command::new("sh")
            .args([
                "-c",
                "apt-get install -y chromium || (apt-get update && apt-get install -y chromium)",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        assert!(
            path.exists(),
            "this test needs Chromium (Debian package `chromium`) and could not install it ({installed:?}): \
             run `apt-get install -y chromium` as root"
        );
    }
    path
}

/// Chromium headless, with the flags this machine's closed network needs.
fn browser(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=4000",
        "--window-size=1200,1400",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn the_status_page_shows_every_daemon_in_a_real_browser() {
    let dir = data_dir("http-page");
    let (mut service, port) = serve(&dir, &[]);
    let url = format!("http://127.0.0.1:{port}/");
    let page = get(port, "/");
    assert_eq!(
        (page.code, page.content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "no network at view time"
    );

    let profile = dir.with_extension("chromium");
    let dom = browser(&profile)
        .arg("--dump-dom")
        .arg(&url)
        .stderr(Stdio::piped())
        .output()
        .expect("chromium runs");
    let text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "{log}");
    // Console messages are logged as CONSOLE lines; an error or a failed load is a failure.
    let problems: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Failed to load resource")
        })
        .collect();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
    for daemon in [
        "event_router",
        "data_pipeline",
        "feedback_loop",
        "auto_sync",
        "evaluation",
        "auto_promotion",
    ] {
        let row = text
            .split("<tr ")
            .find(|row| row.contains(&format!("data-name=\"{daemon}\"")))
            .unwrap_or_else(|| panic!("no row for {daemon} in:\n{text}"));
        assert!(
            ["ready", "backoff", "running", "starting"]
                .iter()
                .any(|state| row.contains(&format!(">{state}<"))),
            "{daemon}: {row}"
        );
    }
    assert!(text.contains("training_pipeline run 1"), "{text}");

    let screenshot =
        std::env::temp_dir().join(format!("coord-status-page-{}.png", std::process::id()));
    let shot = browser(&profile)
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .stderr(Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(shot.success() && screenshot.exists(), "no screenshot");
    println!("screenshot of the status page: {}", screenshot.display());
    signal_term(&mut service);
}

#[test]
fn the_pictures_are_svg_with_one_node_or_bar_per_unit() {
    let dir = data_dir("http-svg");
    let (mut service, port) = serve(&dir, &[]);
    let graph = get(port, "/graph.svg");
    assert_eq!(
        (graph.code, graph.content_type.as_str()),
        (200, "image/svg+xml")
    );
    let document = roxmltree::Document::parse(&graph.body).expect("XML");
    let nodes: Vec<&str> = document
        .descendants()
        .filter(|n| n.attribute("class") == Some("node"))
        .filter_map(|n| n.attribute("data-name"))
        .collect();
    assert_eq!(nodes.len(), 9, "3 coordinators and 6 daemons: {nodes:?}");
    let soft = document
        .descendants()
        .filter(|n| n.attribute("class") == Some("edge soft"))
        .count();
    assert_eq!(soft, 1, "data_pipeline ~> auto_sync");
    let flow = document
        .descendants()
        .find(|n| n.attribute("data-event") == Some("games_collected"))
        .and_then(|n| n.text())
        .expect("an event-flow line for games_collected");
    assert_eq!(
        flow,
        "data_pipeline -> games_collected -> DataPipelineOrchestrator::on_games_collected"
    );
    signal_term(&mut service);

    // `plot`: the run's startup timeline, one bar per unit.
    let output = cli(&dir, &["plot"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let svg = stdout(&output);
    let document = roxmltree::Document::parse(&svg).expect("XML");
    let bars: Vec<(&str, &str)> = document
        .descendants()
        .filter(|n| n.attribute("class") == Some("bar"))
        .map(|n| {
            (
                n.attribute("data-unit").unwrap_or(""),
                n.attribute("data-kind").unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(bars.len(), 9, "{bars:?}");
    assert_eq!(
        bars.iter()
            .filter(|(_, kind)| *kind == "coordinator")
            .count(),
        3
    );
    assert!(bars.contains(&("auto_promotion", "daemon")), "{bars:?}");
}

fn signal_term(service: &mut Service) {
    let sent = Command::new("kill")
        .args(["-TERM", &service.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let _ = service.0.wait();
}
