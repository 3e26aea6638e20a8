//! `run`: bootstrap, start the daemons, run until a signal or `--duration`,
//! shut down, dependents first. While it runs, the state store is kept up to
//! date for `status`, `events`, `critical-chain` and `dlq` in other processes,
//! and requests they leave (replay, purge) are carried out.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{App, CliError, RunArgs};
use crate::bootstrap::Coordination;
use crate::manager::{DaemonManager, DaemonState, DaemonStatus, DaemonTransition};
use crate::run::shutdown_signal;
use crate::store::{StateStore, StoreError};

/// How often a running service writes its state and reads requests.
const RECORD_INTERVAL: Duration = Duration::from_millis(500);

/// Request actions the running process carries out.
pub(super) const REPLAY: &str = "dlq-replay";
pub(super) const PURGE: &str = "dlq-purge";

pub(super) async fn run(app: &App, data_dir: &Path, args: RunArgs) -> Result<bool, CliError> {
    // Listening starts now, so a signal sent while starting up is not lost.
    let signal = shutdown_signal().map_err(|source| CliError::Io {
        what: "cannot listen for SIGINT/SIGTERM",
        source,
    })?;
    let coordination = app.build()?;
    let manager = coordination.start_daemon_manager();
    // Subscribed before anything starts, so the store sees every transition.
    let transitions = manager.subscribe_transitions();
    if let Some(profile) = &args.profile
        && !manager.profile_names().contains(profile)
    {
        return Err(
            crate::error::UnknownName::new("profile", profile, manager.profile_names()).into(),
        );
    }
    let store = Arc::new(StateStore::open(data_dir)?);
    let run = store.begin_run()?;
    store.describe_run(run, &app.name, args.profile.as_deref())?;
    let duration = args.duration.or(app.default_duration);
    let mut out = String::new();
    say!(
        out,
        "{} run {run} (pid {}), state store {}",
        app.name,
        std::process::id(),
        store.path().display()
    );
    match duration {
        Some(d) => say!(
            out,
            "running for {d:?} (Ctrl-C stops earlier); `{} status` in another terminal shows this run\n",
            app.name
        ),
        None => say!(
            out,
            "running until Ctrl-C or SIGTERM; `{} status` in another terminal shows this run\n",
            app.name
        ),
    }
    super::emit(&out);
    out.clear();
    if let Some(on_start) = &app.on_start {
        on_start(&coordination);
    }

    let bootstrap = coordination.bootstrap().await;
    if let Err(error) = store.record_bootstrap(run, &bootstrap.status) {
        // The service runs on; `status` will lack the bootstrap table.
        tracing::warn!(%error, "cannot record the bootstrap result");
    }
    let recording = CancellationToken::new();
    let recorder = tokio::spawn(record_until(
        Arc::clone(&store),
        run,
        coordination.clone(),
        manager.clone(),
        transitions,
        recording.clone(),
    ));
    let start = match &args.profile {
        // Checked to exist before anything started.
        Some(profile) => manager.start_profile(profile).await?,
        None => manager.start_all().await,
    };
    let ended_by = match duration {
        Some(d) => tokio::select! {
            name = signal => name.to_owned(),
            _ = tokio::time::sleep(d) => "duration elapsed".to_owned(),
        },
        None => signal.await.to_owned(),
    };
    tracing::info!(ended_by = %ended_by, "shutting down");
    let daemons_stopped = manager.shutdown().await;
    // The recorder's last pass writes the daemons' final states, and the event
    // wiring while the coordinators (which own the handlers) are still up.
    recording.cancel();
    if let Err(error) = recorder.await {
        // Only recorded state is lost; the shutdown goes on.
        tracing::error!(%error, "the state recorder panicked");
    }
    let coordinators_stopped = coordination.shutdown().await;

    let failed: Vec<&'static str> = manager
        .status()
        .iter()
        .filter(|s| s.state == DaemonState::Failed)
        .map(|s| s.name)
        .collect();
    let clean = bootstrap.is_ok() && failed.is_empty() && coordinators_stopped.errors.is_empty();
    let outcome = if clean {
        "clean".to_owned()
    } else {
        let mut problems = Vec::new();
        if !bootstrap.is_ok() {
            problems.push(format!(
                "{} coordinator(s) failed",
                bootstrap.status.errors.len()
            ));
        }
        if !failed.is_empty() {
            problems.push(format!("failed daemons: {}", failed.join(", ")));
        }
        if !coordinators_stopped.errors.is_empty() {
            problems.push(format!(
                "{} coordinator shutdown error(s)",
                coordinators_stopped.errors.len()
            ));
        }
        format!("finished with errors: {}", problems.join("; "))
    };
    store.end_run(run, &outcome)?;

    say!(out, "\n\nsummary ({ended_by}): {outcome}");
    say!(
        out,
        "  coordinators initialised: {}",
        bootstrap.status.initialized_coordinators.join(", ")
    );
    for error in &bootstrap.status.errors {
        say!(out, "  coordinator error: {error}");
    }
    for status in &start.not_ready {
        say!(
            out,
            "  daemon {} did not become ready: {}",
            status.name,
            status.state
        );
    }
    for (event, counts) in coordination.events().counts() {
        say!(
            out,
            "  event {event}: published {}, delivered {}, failed {}, orphaned {}",
            counts.published,
            counts.delivered,
            counts.failed,
            counts.orphaned
        );
    }
    for status in manager.status().iter().filter(|s| s.restarts_total > 0) {
        say!(
            out,
            "  daemon {} restarted {} time(s) by its policy (last error: {})",
            status.name,
            status.restarts_total,
            status.last_error.as_deref().unwrap_or("none")
        );
    }
    let letters = coordination.events().dead_letters();
    if !letters.is_empty() {
        say!(
            out,
            "  {} dead letter(s) left; `{} dlq list` shows them",
            letters.len(),
            app.name
        );
    }
    say!(
        out,
        "  daemons stopped in order: {}",
        daemons_stopped.stopped.join(", ")
    );
    for error in &coordinators_stopped.errors {
        say!(out, "  coordinator shutdown error: {error}");
    }
    super::emit(&out);
    Ok(clean)
}

/// Writes the service's state every [`RECORD_INTERVAL`] and once more when
/// cancelled, carries out requests, and shows the live view.
async fn record_until(
    store: Arc<StateStore>,
    run: i64,
    coordination: Coordination,
    manager: DaemonManager,
    mut transitions: broadcast::Receiver<DaemonTransition>,
    done: CancellationToken,
) {
    let mut view = LiveView::new();
    let mut ticks = tokio::time::interval(RECORD_INTERVAL);
    loop {
        let last = tokio::select! {
            _ = ticks.tick() => false,
            _ = done.cancelled() => true,
        };
        let statuses = manager.status();
        let recorded = record_once(&store, run, &coordination, &mut transitions, &statuses).await;
        if let Err(error) = recorded {
            // The service keeps running; `status` shows the last state written.
            tracing::warn!(%error, "cannot record the service's state");
        }
        view.show(&statuses);
        if last {
            return;
        }
    }
}

async fn record_once(
    store: &StateStore,
    run: i64,
    coordination: &Coordination,
    transitions: &mut broadcast::Receiver<DaemonTransition>,
    statuses: &[DaemonStatus],
) -> Result<(), StoreError> {
    loop {
        match transitions.try_recv() {
            Ok(transition) => store.record_transition(run, &transition)?,
            Err(broadcast::error::TryRecvError::Lagged(lost)) => {
                // The states below are still right; only the history has a gap.
                tracing::warn!(
                    lost,
                    "daemon transitions changed faster than they could be recorded"
                );
            }
            Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed) => {
                break;
            }
        }
    }
    for status in statuses {
        store.record_daemon_state(run, status)?;
    }
    let bus = coordination.events();
    for request in store.pending_requests(run)? {
        let (ok, message) = match (request.action.as_str(), request.argument.as_deref()) {
            (REPLAY, Some(id)) => match id.parse::<u64>() {
                Ok(id) => match bus.replay_dead_letter(id).await {
                    Ok(()) => (
                        true,
                        format!("dead letter {id} handed to its handler again"),
                    ),
                    Err(error) => (false, error),
                },
                Err(_) => (false, format!("'{id}' is not a dead letter id")),
            },
            (PURGE, _) => (
                true,
                format!("purged {} dead letter(s)", bus.purge_dead_letters()),
            ),
            (action, _) => (false, format!("unknown request '{action}'")),
        };
        tracing::info!(action = %request.action, ok, %message, "request carried out");
        store.answer_request(request.id, ok, &message)?;
    }
    store.record_events(run, &bus.subscriptions(), &bus.counts())?;
    store.record_dead_letters(run, &bus.dead_letters())?;
    store.heartbeat(run)
}

/// One line of daemon states: redrawn in place on a terminal; elsewhere
/// (a pipe, a log) written again only when it changes.
struct LiveView {
    terminal: bool,
    last: String,
}

impl LiveView {
    fn new() -> Self {
        Self {
            terminal: std::io::stdout().is_terminal(),
            last: String::new(),
        }
    }

    fn show(&mut self, statuses: &[DaemonStatus]) {
        let line = statuses
            .iter()
            .map(|s| format!("{}={}", s.name, s.state))
            .collect::<Vec<_>>()
            .join(" ");
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop the service: the view is a convenience.
        let _ = if self.terminal {
            write!(out, "\r{line}\x1b[K").and_then(|()| out.flush())
        } else if line != self.last {
            writeln!(out, "{line}")
        } else {
            Ok(())
        };
        self.last = line;
    }
}
