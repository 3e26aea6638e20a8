//! Commands that read the state store, so they see a service running in
//! another process: `status`, `events`, `critical-chain`, `dlq`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::serve::{PURGE, REPLAY};
use super::{App, CliError, DlqAction};
use crate::bootstrap::CoordinatorState;
use crate::daemons::DaemonState;
use crate::error::UnknownName;
use crate::events::subscription_specs;
use crate::registry::registry;
use crate::store::{
    self, CoordinatorRecord, DATABASE_FILE, DaemonRecord, HEARTBEAT_PERIOD, LockState, RunRecord,
    STALE_AFTER, StateStore,
};
use crate::util::now_ms;

/// How long `dlq replay|purge` waits for the running process to answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// Opens the store of an existing data directory to look at it: read-only,
/// creating and changing nothing.
fn open_existing(app: &App, data_dir: &Path) -> Result<StateStore, CliError> {
    StateStore::open_read_only(data_dir)?.ok_or_else(|| CliError::NoStore {
        path: std::path::absolute(data_dir.join(DATABASE_FILE))
            .unwrap_or_else(|_| data_dir.join(DATABASE_FILE)),
        app: app.name.clone(),
    })
}

fn latest_run(app: &App, store: &StateStore) -> Result<RunRecord, CliError> {
    store.latest_run()?.ok_or_else(|| CliError::NoRun {
        path: store.path().to_path_buf(),
        app: app.name.clone(),
    })
}

/// `1.2s`, `3m04s`, `2h05m`: short, for tables.
fn ago(ms: i64) -> String {
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
enum RunState {
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
struct Liveness {
    state: RunState,
    /// Age of the last heartbeat, when the owner's record is this run's.
    heartbeat_age_ms: Option<i64>,
    /// How far the recorder is behind the heartbeat (a busy store).
    recorder_lag_ms: Option<i64>,
    /// What the lock said.
    lock: LockState,
}

fn liveness(run: &RunRecord, store: &StateStore) -> Liveness {
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
struct StatusView {
    store: String,
    run: RunRecord,
    state: RunState,
    liveness: Liveness,
    coordinators: Vec<CoordinatorRecord>,
    daemons: Vec<DaemonRecord>,
    /// False when a daemon failed, or the process is gone, unresponsive, or cannot be seen.
    healthy: bool,
}

fn status_view(app: &App, store: &StateStore) -> Result<StatusView, CliError> {
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
    let store = open_existing(app, data_dir)?;
    let mut healthy;
    let mut out = String::new();
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let view = status_view(app, &store)?;
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

/// `events`: declared and wired subscriptions, then the latest run's counts.
pub(super) fn events(app: &App, data_dir: &Path, out: &mut String) -> Result<bool, CliError> {
    let mut declared: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for spec in subscription_specs() {
        declared
            .entry(spec.event())
            .or_default()
            .push(spec.name().to_owned());
    }
    for handlers in declared.values_mut() {
        handlers.sort();
    }
    say!(out, "subscriptions declared with #[subscribe]:");
    if declared.is_empty() {
        say!(out, "  (none)");
    }
    for (event, handlers) in &declared {
        say!(out, "  {event:<28} -> {}", handlers.join(", "));
    }
    // The counts need a run; without a store the declared wiring is still useful.
    let Some(store) = StateStore::open_read_only(data_dir)? else {
        say!(
            out,
            "\nno run recorded yet (no state store at {}); counts appear after `{} run`",
            data_dir.join(DATABASE_FILE).display(),
            app.name
        );
        return Ok(true);
    };
    let run = latest_run(app, &store)?;
    let records = store.events(run.id)?;
    say!(
        out,
        "\nrun {} ({}):",
        run.id,
        match liveness(&run, &store).state {
            RunState::Running => "running",
            RunState::Unresponsive => "unresponsive",
            RunState::Ended => "ended",
            RunState::Gone => "process gone",
            RunState::Unknown => "state unknown",
        }
    );
    say!(
        out,
        "  {:<28} {:>9} {:>9} {:>7} {:>8}  handlers",
        "event",
        "published",
        "delivered",
        "failed",
        "orphaned"
    );
    for r in &records {
        say!(
            out,
            "  {:<28} {:>9} {:>9} {:>7} {:>8}  {}",
            r.event,
            r.counts.published,
            r.counts.delivered,
            r.counts.failed,
            r.counts.orphaned,
            if r.handlers.is_empty() {
                "-".to_owned()
            } else {
                r.handlers.join(", ")
            }
        );
    }
    let orphaned: Vec<&str> = records
        .iter()
        .filter(|r| r.counts.orphaned > 0)
        .map(|r| r.event.as_str())
        .collect();
    let unused: Vec<&str> = records
        .iter()
        .filter(|r| !r.handlers.is_empty() && r.counts.published == 0)
        .map(|r| r.event.as_str())
        .collect();
    let show = |list: &[&str]| {
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    };
    say!(
        out,
        "orphaned (published with no subscriber): {}",
        show(&orphaned)
    );
    say!(
        out,
        "unused (subscribed, never published in this run): {}",
        show(&unused)
    );
    Ok(true)
}

/// A daemon or coordinator on the critical chain.
struct Unit {
    name: String,
    /// When it began starting, ms since the run started.
    started: Option<i64>,
    /// When it became ready, ms since the run started.
    ready: Option<i64>,
    state: String,
    deps: Vec<String>,
}

/// `critical-chain [NAME]`: from `NAME` (or the unit ready last), each step
/// goes to the dependency that became ready last, as `systemd-analyze critical-chain` does.
pub(super) fn critical_chain(
    app: &App,
    data_dir: &Path,
    name: Option<&str>,
    out: &mut String,
) -> Result<bool, CliError> {
    let store = open_existing(app, data_dir)?;
    let run = latest_run(app, &store)?;
    let origin = run.started_at_ms;
    let registry = registry();
    let coordinators = store.coordinators(run.id)?;
    // Daemons start once bootstrap is over: the coordinator that finished
    // last is what a daemon with no daemon dependency waited for.
    let last_coordinator = coordinators
        .iter()
        .filter_map(|c| Some((c.started_at_ms? + c.duration_ms?, c.name.clone())))
        .max()
        .map(|(_, name)| name);
    let mut units: Vec<Unit> = coordinators
        .iter()
        .map(|c| Unit {
            name: c.name.clone(),
            started: c.started_at_ms.map(|t| t - origin),
            ready: (c.state == CoordinatorState::Ready.as_str())
                .then_some(())
                .and_then(|()| Some(c.started_at_ms? + c.duration_ms? - origin)),
            state: c.state.clone(),
            deps: registry
                .coordinator(&c.name)
                .map(|spec| spec.depends_on.iter().map(|d| (*d).to_owned()).collect())
                .unwrap_or_default(),
        })
        .collect();
    for d in store.daemons(run.id)? {
        let mut deps: Vec<String> = registry
            .daemon(&d.name)
            .map(|spec| {
                spec.depends_on
                    .iter()
                    .chain(spec.soft_depends_on)
                    .map(|d| (*d).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        if deps.is_empty() {
            deps.extend(last_coordinator.clone());
        }
        units.push(Unit {
            name: d.name,
            started: d.first_started_at_ms.map(|t| t - origin),
            ready: d.first_ready_at_ms.map(|t| t - origin),
            state: d.state,
            deps,
        });
    }
    let find = |name: &str| units.iter().find(|u| u.name == name);
    let target = match name {
        Some(name) => find(name).ok_or_else(|| {
            UnknownName::new(
                "daemon or coordinator",
                name,
                units.iter().map(|u| u.name.clone()),
            )
        })?,
        None => match units
            .iter()
            .filter(|u| u.ready.is_some())
            .max_by_key(|u| u.ready)
        {
            Some(unit) => unit,
            None => {
                say!(out, "nothing became ready in run {}", run.id);
                return Ok(false);
            }
        },
    };
    say!(
        out,
        "The time when a unit became ready is printed after \"@\" (from the start of run {}).",
        run.id
    );
    say!(
        out,
        "The time the unit took to start is printed after \"+\".\n"
    );
    let seconds = |ms: i64| format!("{:.3}s", ms as f64 / 1000.0);
    let mut seen = BTreeSet::new();
    let mut unit = target;
    let mut depth = 0;
    loop {
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}└─", "  ".repeat(depth - 1))
        };
        match unit.ready {
            Some(ready) => {
                let took = unit
                    .started
                    .map(|s| format!(" +{}", seconds(ready - s)))
                    .unwrap_or_default();
                say!(out, "{indent}{} @{}{took}", unit.name, seconds(ready));
            }
            None => say!(out, "{indent}{} (never ready: {})", unit.name, unit.state),
        }
        seen.insert(unit.name.as_str());
        // Next: the dependency that became ready last (a never-ready one first: it is the blocker).
        let next = unit
            .deps
            .iter()
            .filter_map(|d| find(d))
            .filter(|d| !seen.contains(d.name.as_str()))
            .max_by_key(|d| d.ready.map_or(i64::MAX, |r| r));
        match next {
            Some(next) => {
                unit = next;
                depth += 1;
            }
            None => break,
        }
    }
    Ok(target.ready.is_some())
}

/// `dlq list|replay ID|purge`.
pub(super) async fn dlq(
    app: &App,
    data_dir: &Path,
    action: DlqAction,
    out: &mut String,
) -> Result<bool, CliError> {
    let store = open_existing(app, data_dir)?;
    let run = latest_run(app, &store)?;
    let letters = store.dead_letters(run.id)?;
    match action {
        DlqAction::List => {
            if letters.is_empty() {
                say!(out, "no dead letters in run {}", run.id);
                return Ok(true);
            }
            say!(
                out,
                "{:>4}  {:<44} {:<22} {:<9} {:>8}  last error",
                "id",
                "handler",
                "event",
                "state",
                "attempts"
            );
            for l in &letters {
                say!(
                    out,
                    "{:>4}  {:<44} {:<22} {:<9} {:>8}  {}",
                    l.id,
                    l.handler,
                    l.event,
                    l.state,
                    l.attempts,
                    l.last_error
                );
            }
            Ok(true)
        }
        DlqAction::Replay { id } => {
            // Only the process holds the queue: without it no id can be replayed.
            require_running(app, &store, &run, "replay a dead letter")?;
            if letters.is_empty() {
                return Err(CliError::NoDeadLetters { run: run.id, id });
            }
            if !letters.iter().any(|l| l.id == id) {
                return Err(UnknownName::new(
                    "dead letter",
                    &id.to_string(),
                    letters.iter().map(|l| l.id.to_string()),
                )
                .into());
            }
            let answer = ask(
                app,
                &store,
                &run,
                REPLAY,
                Some(&id.to_string()),
                "replay a dead letter",
            )
            .await?;
            say!(out, "{answer}");
            Ok(true)
        }
        DlqAction::Purge => {
            if liveness(&run, &store).state == RunState::Running {
                let answer = ask(app, &store, &run, PURGE, None, "purge its dead letters").await?;
                say!(out, "{answer}");
            } else {
                // The queue died with its process; only the record is left to clear.
                let writable = StateStore::open(store.dir())?;
                let purged = writable.purge_recorded_dead_letters(run.id)?;
                say!(
                    out,
                    "purged {purged} recorded dead letter(s) of run {} (not running)",
                    run.id
                );
            }
            Ok(true)
        }
    }
}

/// Fails unless `run`'s process is running: only it can do `what`.
fn require_running(
    app: &App,
    store: &StateStore,
    run: &RunRecord,
    what: &'static str,
) -> Result<(), CliError> {
    let state = liveness(run, store).state;
    if state == RunState::Running {
        return Ok(());
    }
    Err(CliError::NotRunning {
        run: run.id,
        state: match state {
            RunState::Gone => format!("process {} is gone", run.pid),
            RunState::Unresponsive => format!("process {} is unresponsive", run.pid),
            RunState::Unknown => "whether it runs cannot be told".to_owned(),
            _ => format!("ended: {}", run.outcome.as_deref().unwrap_or("unknown")),
        },
        what,
        app: app.name.clone(),
    })
}

/// Leaves a request for the running process and waits for its answer.
async fn ask(
    app: &App,
    store: &StateStore,
    run: &RunRecord,
    action: &str,
    argument: Option<&str>,
    what: &'static str,
) -> Result<String, CliError> {
    require_running(app, store, run, what)?;
    // Only the user that runs the service can read its secret: a request
    // without it is refused by the service.
    let secret = store::read_secret(store.dir()).map_err(|error| CliError::NotAllowed {
        what,
        reason: error.to_string(),
    })?;
    let writable = StateStore::open(store.dir())?;
    let id = writable.request(run.id, action, argument, &secret)?;
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    // The process reads requests on its recording tick; polling the store is
    // the only channel between the two processes.
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    while tokio::time::Instant::now() < deadline {
        poll.tick().await;
        if let Some(record) = writable.request_status(id)?
            && let Some((ok, message)) = record.result
        {
            return if ok {
                Ok(message)
            } else {
                Err(CliError::Refused(message))
            };
        }
    }
    Err(CliError::NoAnswer {
        pid: run.pid,
        action: action.to_owned(),
        waited: ANSWER_WAIT,
        app: app.name.clone(),
    })
}
