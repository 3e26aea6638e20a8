//! The HTTP surface of `run --http ADDR`: Kubernetes-style probes,
//! Prometheus metrics, the `status --json` document, and a status page.
//! Every endpoint only reads: a request other than GET gets 405.
//!
//! | path | answer |
//! |---|---|
//! | `/livez` | 200 while the process serves requests |
//! | `/readyz` | 200 once bootstrap succeeded and every `critical` daemon is ready (every started daemon when none is critical), else 503 with the reasons |
//! | `/metrics` | Prometheus text (OpenMetrics) |
//! | `/status` | what `status --json` prints |
//! | `/` | the status page; `/graph.svg`, `/timeline.svg` are its pictures |

mod graph;
mod metrics;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::status::{open_existing, status_view};
use super::timeline::{startup_units, timeline_svg};
use crate::coordination::Coordination;
use crate::daemons::DaemonManager;

/// The page, written as a file so it reads as HTML; embedded in the binary
/// (no network at view time).
const PAGE: &str = include_str!("page.html");

/// The port the example documents; `--http 9464` binds `127.0.0.1:9464`.
pub const DEFAULT_PORT: u16 = 9464;

/// `--http` as given: `PORT` (loopback) or `HOST:PORT` (as named).
pub(super) fn parse_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!(
            "'{text}' is not an address to listen on: give a port ({DEFAULT_PORT}, which binds 127.0.0.1) \
             or an address and port (127.0.0.1:{DEFAULT_PORT}, or 0.0.0.0:{DEFAULT_PORT} to listen on every interface)"
        )
    })
}

/// What the handlers read.
struct Service {
    app: String,
    data_dir: PathBuf,
    coordination: Coordination,
    manager: DaemonManager,
}

/// Serves on `listener` until `stop` is cancelled.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    app: String,
    data_dir: PathBuf,
    coordination: Coordination,
    manager: DaemonManager,
    stop: CancellationToken,
) -> std::io::Result<()> {
    // Handler latency is timed from now on, for /metrics.
    coordination.events().measure_handler_latency(true);
    let service = Arc::new(Service {
        app,
        data_dir,
        coordination,
        manager,
    });
    let routes = Router::new()
        .route("/", get(page))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/graph.svg", get(graph))
        .route("/timeline.svg", get(timeline))
        .with_state(service);
    axum::serve(listener, routes)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

type Shared = State<Arc<Service>>;

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

async fn livez() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "live": true }))
}

/// Ready once bootstrap succeeded and every daemon that matters is ready:
/// the `critical` ones when there are any, else every daemon started.
async fn readyz(State(service): Shared) -> Response {
    let mut reasons = Vec::new();
    let bootstrap = service.coordination.bootstrap_status();
    if !bootstrap.is_complete {
        reasons.push("bootstrap is not complete".to_owned());
    }
    for error in &bootstrap.errors {
        reasons.push(error.to_string());
    }
    let manager = &service.manager;
    let critical: Vec<&'static str> = manager
        .daemon_names()
        .into_iter()
        .filter(|name| manager.daemon_config(*name).is_ok_and(|c| c.critical))
        .collect();
    for status in manager.status() {
        let counts = if critical.is_empty() {
            status.state != crate::daemons::DaemonState::Stopped || status.last_error.is_some()
        } else {
            critical.contains(&status.name)
        };
        if counts && !status.state.is_ready() {
            let why = status
                .last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            reasons.push(format!("daemon '{}' is {}{why}", status.name, status.state));
        }
    }
    let ready = reasons.is_empty();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(
        code,
        &serde_json::json!({ "ready": ready, "reasons": reasons }),
    )
}

async fn metrics(State(service): Shared) -> Response {
    let text = metrics::scrape(&service.coordination, &service.manager);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The same document as `status --json`, errors included as `{"error": ...}`.
async fn status(State(service): Shared) -> Response {
    let service = Arc::clone(&service);
    // The store is read off the runtime's worker threads.
    let view = tokio::task::spawn_blocking(move || {
        let store = open_existing(&service.app, &service.data_dir)?;
        status_view(&service.app, &store)
    })
    .await;
    match view {
        Ok(Ok(view)) => json(StatusCode::OK, &view),
        Ok(Err(error)) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "error": { "message": error.to_string() }, "healthy": false }),
        ),
        Err(join) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({ "error": { "message": join.to_string() }, "healthy": false }),
        ),
    }
}

async fn graph() -> Response {
    svg(graph::dependency_svg())
}

async fn timeline(State(service): Shared) -> Response {
    let service = Arc::clone(&service);
    let drawn = tokio::task::spawn_blocking(move || {
        let store = open_existing(&service.app, &service.data_dir).ok()?;
        let run = store.latest_run().ok()??;
        let units = startup_units(&store, &run).ok()?;
        Some(timeline_svg(
            &units,
            &format!("{} run {}: startup", service.app, run.id),
        ))
    })
    .await;
    match drawn {
        Ok(Some(text)) => svg(text),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "no run recorded yet").into_response(),
    }
}

fn svg(text: String) -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], text).into_response()
}

fn json(code: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"error\":{{\"message\":\"cannot serialise: {e}\"}}}}"));
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
