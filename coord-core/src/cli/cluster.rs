//! Cluster mode on the command line: joining for `run --cluster`, and
//! `status --cluster`, the whole cluster from any machine that reaches it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{App, CliError, RunArgs, parse_seconds};
use crate::interface::{ClusterError, ClusterLink, ClusterOptions, unix_millis};

/// The URL from `--cluster` or `COORD_CLUSTER`, if either says one.
fn url_from(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_owned)
        .filter(|u| !u.is_empty())
        .or_else(|| std::env::var("COORD_CLUSTER").ok())
        .filter(|u| !u.trim().is_empty())
}

/// The lease from `--lease` or `COORD_LEASE`, if either says one.
fn lease_from(flag: Option<Duration>) -> Result<Option<Duration>, ClusterError> {
    if flag.is_some() {
        return Ok(flag);
    }
    match std::env::var("COORD_LEASE") {
        Ok(text) => parse_seconds(&text)
            .map(Some)
            .map_err(|reason| ClusterError::Operation {
                what: "read COORD_LEASE".to_owned(),
                reason,
            }),
        Err(_) => Ok(None),
    }
}

/// The folder under `--data-dir` where a node keeps its state store.
pub(super) fn node_folder(node: &str) -> String {
    let safe: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("node-{safe}")
}

/// A connection being made.
type Connecting = crate::interface::BoxFuture<'static, Result<Arc<dyn ClusterLink>, ClusterError>>;

fn connect(app: &App, options: ClusterOptions) -> Result<Connecting, CliError> {
    match app.cluster_connector {
        Some(connector) => Ok(connector(options)),
        None => Err(ClusterError::NotBuiltIn { url: options.url }.into()),
    }
}

/// Connects for `run`, when `--cluster` or `COORD_CLUSTER` asks for it.
pub(super) async fn join(
    app: &App,
    args: &RunArgs,
) -> Result<Option<Arc<dyn ClusterLink>>, CliError> {
    let Some(url) = url_from(args.cluster.as_deref()) else {
        return Ok(None);
    };
    let node = args
        .node
        .clone()
        .or_else(|| std::env::var("COORD_NODE").ok())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(ClusterOptions::default_node);
    let mut options = ClusterOptions::new(url, node, app.name.clone());
    if let Some(lease) = lease_from(args.lease)? {
        options.lease = lease;
    }
    Ok(Some(connect(app, options)?.await?))
}

/// `status --cluster [URL]`: nodes, singleton leaders, daemon states, dead letters.
pub(super) async fn status(
    app: &App,
    url: &str,
    json: bool,
    out: &mut String,
) -> Result<bool, CliError> {
    let Some(url) = url_from(Some(url)) else {
        return Err(ClusterError::Operation {
            what: "show the cluster".to_owned(),
            reason:
                "no server given: pass `status --cluster nats://HOST:PORT` or set COORD_CLUSTER"
                    .to_owned(),
        }
        .into());
    };
    let mut options = ClusterOptions::new(
        url.clone(),
        format!("status-{}", std::process::id()),
        app.name.clone(),
    );
    if let Some(lease) = lease_from(None)? {
        options.lease = lease;
    }
    // Nodes heartbeat every third of the lease: three missed beats is down.
    let alive_within = options.lease;
    // Reading the state is bounded like connecting: listing a bucket's keys
    // while nodes write to it can wait on the server indefinitely (seen once
    // under load), and a status command must answer, not hang.
    let answer_within = options.connect_timeout;
    let link = connect(app, options)?.await?;
    let snapshot = tokio::time::timeout(answer_within, link.snapshot()).await;
    link.close().await;
    let snapshot = snapshot.map_err(|_| ClusterError::Operation {
        what: "show its state".to_owned(),
        reason: format!(
            "no answer from {url} within {}; the server may be overloaded: try again",
            crate::interface::format_duration(answer_within)
        ),
    })??;
    let now = unix_millis(SystemTime::now());
    let age = |ms: u64| Duration::from_millis(now.saturating_sub(ms));
    let alive = |ms: u64| age(ms) <= alive_within;
    if json {
        let nodes: Vec<serde_json::Value> = snapshot
            .nodes
            .iter()
            .map(|n| {
                let mut value = serde_json::to_value(n).unwrap_or_default();
                if let Some(fields) = value.as_object_mut() {
                    fields.insert("alive".into(), alive(n.heartbeat_ms).into());
                    fields.insert(
                        "heartbeat_age_ms".into(),
                        now.saturating_sub(n.heartbeat_ms).into(),
                    );
                }
                value
            })
            .collect();
        let dead: Vec<serde_json::Value> = snapshot
            .dead_letters
            .iter()
            .map(|d| serde_json::from_str(d).unwrap_or_else(|_| d.clone().into()))
            .collect();
        let document = serde_json::json!({
            "cluster": url,
            "app": app.name,
            "nodes": nodes,
            "singletons": snapshot.leases,
            "dead_letters": dead,
        });
        say!(out, "{document}");
        return Ok(true);
    }
    let up = snapshot
        .nodes
        .iter()
        .filter(|n| alive(n.heartbeat_ms))
        .count();
    say!(
        out,
        "cluster {url} ({}): {} nodes, {up} alive",
        app.name,
        snapshot.nodes.len()
    );
    say!(out);
    say!(
        out,
        "{:<24} {:<6} {:>15} {:>8}",
        "NODE",
        "ALIVE",
        "LAST HEARTBEAT",
        "PID"
    );
    for n in &snapshot.nodes {
        say!(
            out,
            "{:<24} {:<6} {:>15} {:>8}",
            n.node,
            if alive(n.heartbeat_ms) { "yes" } else { "no" },
            format!("{:.1}s ago", age(n.heartbeat_ms).as_secs_f64()),
            n.pid
        );
    }
    say!(out);
    say!(out, "{:<24} {:<24} {:>8}", "SINGLETON", "LEADER", "TOKEN");
    if snapshot.leases.is_empty() {
        say!(out, "(no singleton holds a lease)");
    }
    for lease in &snapshot.leases {
        say!(
            out,
            "{:<24} {:<24} {:>8}",
            lease.daemon,
            lease.node,
            lease.token
        );
    }
    say!(out);
    say!(
        out,
        "{:<24} {:<24} {:<10} LEADER",
        "NODE",
        "DAEMON",
        "STATE"
    );
    for n in snapshot.nodes.iter().filter(|n| alive(n.heartbeat_ms)) {
        for d in &n.daemons {
            let leader = match (&d.leader, d.token) {
                (Some(node), Some(token)) => format!("{node} (token {token})"),
                (Some(node), None) => node.clone(),
                _ => String::new(),
            };
            say!(
                out,
                "{:<24} {:<24} {:<10} {leader}",
                n.node,
                d.name,
                d.state
            );
        }
    }
    say!(out);
    say!(
        out,
        "dead letters of distributed events: {}",
        snapshot.dead_letters.len()
    );
    for letter in &snapshot.dead_letters {
        say!(out, "  {letter}");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cluster_without_an_engine_names_the_feature_to_enable() {
        let args = RunArgs {
            cluster: Some("nats://127.0.0.1:4222".to_owned()),
            ..RunArgs::default()
        };
        let error = match join(&App::new("svc"), &args).await {
            Err(error) => error.to_string(),
            Ok(_) => panic!("joined a cluster with no engine"),
        };
        assert!(error.contains("[coord::E1004]"), "{error}");
        assert!(error.contains("nats://127.0.0.1:4222"), "{error}");
        assert!(error.contains("features = [\"nats\"]"), "{error}");
    }

    #[test]
    fn node_folders_are_safe_file_names() {
        assert_eq!(node_folder("n1"), "node-n1");
        assert_eq!(node_folder("host/1 x"), "node-host_1_x");
    }
}
