//! `status`: the latest run from the state store, with its liveness judged
//! by the data directory's lock and heartbeat, never by its pid.

use std::path::Path;
use std::time::Duration;

use super::{App, CliError};
use crate::daemons::DaemonState;
use crate::store::{
    self, CoordinatorRecord, DATABASE_FILE, DaemonRecord, HEARTBEAT_PERIOD, LockState, RunRecord,
    STALE_AFTER, StateStore,
};
use crate::util::now_ms;

/// Opens the store of an existing data directory to look at it: read-only,
/// creating and changing nothing.
pub(super) fn open_existing(app: &str, data_dir: &Path) -> Result<StateStore, CliError> {
    StateStore::open_read_only(data_dir)?.ok_or_else(|| CliError::NoStore {
        path: std::path::absolute(data_dir.join(DATABASE_FILE))
            .unwrap_or_else(|_| data_dir.join(DATABASE_FILE)),
        app: app.to_owned(),
    })
}

pub(super) fn latest_run(app: &str, store: &StateStore) -> Result<RunRecord, CliError> {
    store.latest_run()?.ok_or_else(|| CliError::NoRun {
        path: store.path().to_path_buf(),
        app: app.to_owned(),
    })
}

/// `1.2s`, `3m04s`, `2h05m`: short, for tables.
pub(super) fn ago(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000)
    }
}

/// Where a run is, as `status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RunState {
    /// Its process holds the data directory and its heartbeat is fresh.
    Running,
    /// Its process holds the data directory, but its heartbeat is stale:
    /// frozen, stuck, or too busy to beat.
    Unresponsive,
    /// It ended, and says how.
    Ended,
    /// Not ended, and nobody holds the data directory: killed, or crashed.
    Gone,
    /// Whether it runs cannot be told (the lock file cannot be read).
    Unknown,
}

/// A run's liveness, from the data directory's lock and the owner's record,
/// never from its pid (which another process may have by now, or which
/// means another process in another pid namespace).
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Liveness {
    pub(super) state: RunState,
    /// Age of the last heartbeat, when the owner's record is this run's.
    heartbeat_age_ms: Option<i64>,
    /// How far the recorder is behind the heartbeat (a busy store).
    recorder_lag_ms: Option<i64>,
    /// What the lock said.
    lock: LockState,
}

pub(super) fn liveness(run: &RunRecord, store: &StateStore) -> Liveness {
    let probe = store::probe(store.dir());
    let now = now_ms();
    let owner = probe.owner.as_ref().filter(|o| o.run_id == run.id);
    let heartbeat_age_ms = owner.map(|o| now - o.heartbeat_at_ms);
    let recorder_lag_ms = owner.map(|o| (o.heartbeat_at_ms - o.recorded_at_ms).max(0));
    let stale = |age: i64| age > i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX);
    let state = if run.ended_at_ms.is_some() {
        RunState::Ended
    } else {
        match (&probe.lock, heartbeat_age_ms) {
            (LockState::Held, Some(age)) if stale(age) => RunState::Unresponsive,
            (LockState::Held, Some(_)) => RunState::Running,
            // Held by a run that has not recorded itself yet, or not held:
            // either way this run's process no longer owns the directory.
            (LockState::Held | LockState::Free, _) => RunState::Gone,
            (LockState::Unknown(_), _) => RunState::Unknown,
        }
    };
    Liveness {
        state,
        heartbeat_age_ms,
        recorder_lag_ms,
        lock: probe.lock,
    }
}

/// What `status --json` prints.
#[derive(serde::Serialize)]
pub(super) struct StatusView {
    store: String,
    run: RunRecord,
    state: RunState,
    liveness: Liveness,
    coordinators: Vec<CoordinatorRecord>,
    daemons: Vec<DaemonRecord>,
    /// False when a daemon failed, or the process is gone, unresponsive, or cannot be seen.
    healthy: bool,
}

pub(super) fn status_view(app: &str, store: &StateStore) -> Result<StatusView, CliError> {
    let run = latest_run(app, store)?;
    let daemons = store.daemons(run.id)?;
    let liveness = liveness(&run, store);
    let state = liveness.state;
    let healthy = matches!(state, RunState::Running | RunState::Ended)
        && daemons
            .iter()
            .all(|d| d.state != DaemonState::Failed.as_str());
    Ok(StatusView {
        store: store.path().display().to_string(),
        coordinators: store.coordinators(run.id)?,
        daemons,
        state,
        liveness,
        healthy,
        run,
    })
}

fn print_status(app: &App, view: &StatusView, out: &mut String) {
    let run = &view.run;
    let now = now_ms();
    let liveness = &view.liveness;
    let heartbeat = liveness
        .heartbeat_age_ms
        .map(|age| format!("last heartbeat {} ago", ago(age)))
        .unwrap_or_else(|| "no heartbeat".to_owned());
    let lag = match liveness.recorder_lag_ms {
        Some(lag) if lag > 2_000 => format!(
            "; the recorder is {} behind (the state store is busy), so the tables below are that old",
            ago(lag)
        ),
        _ => String::new(),
    };
    let state = match view.state {
        RunState::Running => format!(
            "running for {} ({heartbeat}){lag}",
            ago(now - run.started_at_ms)
        ),
        RunState::Unresponsive => format!(
            "unresponsive: it holds the data directory but its {heartbeat} \
             (frozen, stuck or overloaded; it beats every {}s){lag}",
            HEARTBEAT_PERIOD.as_secs()
        ),
        RunState::Ended => format!(
            "ended {} ago after {}: {}",
            ago(now - run.ended_at_ms.unwrap_or(now)),
            ago(run.ended_at_ms.unwrap_or(now) - run.started_at_ms),
            run.outcome.as_deref().unwrap_or("")
        ),
        RunState::Gone => format!(
            "not running: process {} is gone without shutting down (killed or crashed); \
             the next `{} run` marks this run as ended abnormally",
            run.pid, app.name
        ),
        RunState::Unknown => format!(
            "cannot tell whether it runs: {}",
            match &liveness.lock {
                LockState::Unknown(reason) => reason.as_str(),
                _ => "the lock cannot be read",
            }
        ),
    };
    let app_name = run.app.as_deref().unwrap_or(&app.name);
    let profile = run
        .profile
        .as_deref()
        .map(|p| format!(", profile {p}"))
        .unwrap_or_default();
    say!(
        out,
        "{app_name} run {} (pid {}{profile}): {state}",
        run.id,
        run.pid
    );
    say!(out, "state store: {}", view.store);
    say!(out);
    say!(
        out,
        "{:<34} {:<12} {:>8}  error",
        "coordinator",
        "bootstrap",
        "init"
    );
    for c in &view.coordinators {
        say!(
            out,
            "{:<34} {:<12} {:>8}  {}",
            c.name,
            c.state,
            c.duration_ms
                .map(|d| format!("{d}ms"))
                .unwrap_or_else(|| "-".into()),
            c.error.as_deref().unwrap_or("-")
        );
    }
    say!(out);
    say!(
        out,
        "{:<20} {:<10} {:>9} {:>9}  last error",
        "daemon",
        "state",
        "since",
        "restarts"
    );
    for d in &view.daemons {
        say!(
            out,
            "{:<20} {:<10} {:>9} {:>9}  {}",
            d.name,
            d.state,
            ago(now - d.since_ms),
            d.restarts_total,
            d.last_error.as_deref().unwrap_or("-")
        );
    }
    let failed: Vec<&str> = view
        .daemons
        .iter()
        .filter(|d| d.state == DaemonState::Failed.as_str())
        .map(|d| d.name.as_str())
        .collect();
    if !failed.is_empty() {
        say!(out, "\nfailed: {}", failed.join(", "));
    }
}

/// `status [--json] [--watch]`: exit 1 when a daemon failed or the process is gone.
pub(super) async fn status(
    app: &App,
    data_dir: &Path,
    json: bool,
    watch: bool,
) -> Result<bool, CliError> {
    match status_loop(app, data_dir, json, watch).await {
        // A script reading `--json` gets a JSON object on stdout in every state.
        Err(error) if json => {
            let text = error.to_string();
            let code = text
                .strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .map(|(code, _)| code.to_owned());
            let document = serde_json::json!({
                "error": { "code": code, "message": text },
                "healthy": false,
            });
            super::emit(&format!("{document}\n"));
            Ok(false)
        }
        other => other,
    }
}

async fn status_loop(
    app: &App,
    data_dir: &Path,
    json: bool,
    watch: bool,
) -> Result<bool, CliError> {
    let store = open_existing(&app.name, data_dir)?;
    let mut healthy;
    let mut out = String::new();
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let view = status_view(&app.name, &store)?;
        healthy = view.healthy;
        if watch && !json {
            // Clear the screen and home the cursor: each refresh replaces the last.
            out.push_str("\x1b[2J\x1b[H");
        }
        if json {
            let text = serde_json::to_string(&view).unwrap_or_else(|e| {
                // Every field is plain data; this is a bug in coord, not in the input.
                format!("{{\"error\":\"cannot serialise status: {e}\"}}")
            });
            say!(out, "{text}");
        } else {
            print_status(app, &view, &mut out);
        }
        super::emit(&out);
        out.clear();
        if !watch {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = &mut interrupted => break,
        }
    }
    Ok(healthy)
}
