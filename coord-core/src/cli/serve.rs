//! `run`: take the data directory, bootstrap, start the daemons, run until a
//! signal or `--duration`, shut down, dependents first.
//!
//! While it runs:
//! - a heartbeat task rewrites the owner record in `coord.lock` every
//!   second (a frozen or stuck runtime stops it, which `status` shows);
//! - a recorder thread, off the async runtime, writes what changed to the
//!   state store and carries out the requests other processes leave there
//!   (after checking they carry this run's secret), so a database another
//!   process keeps locked delays only the recorder, which says so.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::recorder::{Job, Recorder, serve_requests};
use super::{App, CliError, RunArgs};
use crate::config::ServiceConfig;
use crate::coordination::{shutdown_signal, unhandled_events, validate_registry};
use crate::daemons::DaemonState;
use crate::events::DeadLetter;
use crate::registry::{RegistryProblem, RegistryProblems};
use crate::store::{self, HEARTBEAT_PERIOD, OwnerLock, Retention, StateStore, StoreError};
use crate::util::now_ms;

/// Says at startup what `validate` would about the event wiring of what is
/// linked: handled events with no declared publisher (an error: their
/// handlers may never run), declared events nothing handles (a warning).
fn log_event_wiring() {
    if let Err(RegistryProblems(problems)) = validate_registry() {
        for problem in problems {
            if let RegistryProblem::NoPublisher { event, .. } = &problem {
                tracing::error!(event, "{problem}");
            }
        }
    }
    for unhandled in unhandled_events() {
        tracing::warn!(event = unhandled.event, "{unhandled}");
    }
}

/// Request actions the running process carries out.
pub(super) const REPLAY: &str = "dlq-replay";
pub(super) const PURGE: &str = "dlq-purge";

pub(super) async fn run(
    app: &App,
    config: Option<&ServiceConfig>,
    data_dir: &Path,
    args: RunArgs,
) -> Result<bool, CliError> {
    // Listening starts now, so a signal sent while starting up is not lost.
    let signal = shutdown_signal().map_err(|source| CliError::Io {
        what: "cannot listen for SIGINT/SIGTERM/SIGHUP",
        source,
    })?;
    let cluster = super::cluster::join(app, &args).await?;
    // Nodes on one machine each keep their own store: one service per data directory.
    let data_dir = match &cluster {
        Some(link) => data_dir.join(crate::cli::cluster::node_folder(link.node())),
        None => data_dir.to_path_buf(),
    };
    let data_dir = data_dir.as_path();
    if let Some(link) = &cluster {
        tracing::info!(url = link.url(), node = link.node(), lease = ?link.lease(), "joined the cluster");
    }
    let coordination = app.build_in(config, cluster)?;
    if let Some(config) = config {
        tracing::info!(path = %config.path.display(), "config file read");
    }
    log_event_wiring();
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
    // One service per data directory: the lock is taken before the store is touched.
    let dir = store::prepare_data_dir(data_dir)?;
    let owner = Arc::new(OwnerLock::acquire(&dir, store::file_mode()?)?);
    let store = StateStore::open(&dir)?;
    match store.apply_retention(&Retention::default()) {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "old history deleted"),
        Err(error) => tracing::warn!(%error, "cannot delete old history"),
    }
    // The last run's dead letters are taken over once handlers are wired.
    let inherited = inherited_dead_letters(&store);
    let run = store.begin_run()?;
    store.describe_run(run, &app.name, args.profile.as_deref())?;
    owner.set_run(run).map_err(|source| {
        CliError::Store(StoreError::NotWritable {
            path: dir.join(store::LOCK_FILE),
            source,
        })
    })?;
    let secret = store::new_secret(&dir)?;
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
            "running until Ctrl-C, SIGTERM or SIGHUP; `{} status` in another terminal shows this run\n",
            app.name
        ),
    }
    super::emit(&out);
    out.clear();
    if let Some(on_start) = &app.on_start {
        on_start(&coordination);
    }

    let recorded_at = Arc::new(AtomicI64::new(now_ms()));
    let stopping = CancellationToken::new();
    let heartbeat = tokio::spawn(beat(
        Arc::clone(&owner),
        Arc::clone(&recorded_at),
        stopping.clone(),
    ));
    let (requests, served) = tokio::sync::mpsc::channel(16);
    let request_server = tokio::spawn(serve_requests(served, coordination.clone()));
    let recorder = Recorder::new(
        store,
        run,
        secret,
        coordination.clone(),
        manager.clone(),
        transitions,
        requests,
        recorded_at,
    );
    let (jobs, job_rx) = std::sync::mpsc::channel();
    let recorder_thread = std::thread::Builder::new()
        .name("coord-recorder".to_owned())
        .spawn(move || recorder.run(&job_rx))
        .map_err(|source| CliError::Io {
            what: "cannot start the state recorder thread",
            source,
        })?;

    let http = match http_address(&args)? {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| CliError::Io {
                    what: "cannot listen for HTTP (--http / COORD_HTTP)",
                    source,
                })?;
            let bound = listener.local_addr().unwrap_or(address);
            tracing::info!(address = %bound, "serving /livez /readyz /metrics /status and the status page");
            say!(out, "status page: http://{bound}/");
            super::emit(&out);
            out.clear();
            Some(tokio::spawn(super::http::serve(
                listener,
                app.name.clone(),
                dir.clone(),
                coordination.clone(),
                manager.clone(),
                stopping.clone(),
            )))
        }
        None => None,
    };

    let bootstrap = coordination.bootstrap().await;
    if let Some((from, letters)) = inherited {
        let count = letters.len();
        let report = coordination.events().adopt_dead_letters(letters);
        tracing::info!(
            from_run = from,
            resumed = report.resumed,
            kept_dead = report.unresolved.len(),
            "took over {count} dead letter(s) of the last run"
        );
        for letter in &report.unresolved {
            tracing::warn!(%letter, "dead letter kept as dead: its handler cannot take it");
        }
    }
    // A send fails only if the recorder is gone; its own log says why.
    let _ = jobs.send(Job::Bootstrap(bootstrap.status.clone()));
    let start = match &args.profile {
        // Checked to exist before anything started.
        Some(profile) => manager.start_profile(profile).await?,
        None => manager.start_all().await,
    };
    let elapsed = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let (ended_by, critical) = tokio::select! {
        name = signal => (name.to_owned(), None),
        () = elapsed => ("duration elapsed".to_owned(), None),
        failure = manager.critical_failure() => (format!("critical daemon {} failed", failure.daemon), Some(failure)),
    };
    tracing::info!(ended_by = %ended_by, "shutting down");
    let daemons_stopped = manager.shutdown().await;
    // The recorder's last pass writes the daemons' final states, and the event
    // wiring while the coordinators (which own the handlers) are still up.
    let (done, finished) = oneshot::channel();
    let store = if jobs.send(Job::Stop(done)).is_ok() {
        finished.await.ok()
    } else {
        None
    };
    let joined = tokio::task::spawn_blocking(move || recorder_thread.join()).await;
    if !matches!(joined, Ok(Ok(()))) {
        // Only recorded state is lost; the shutdown goes on.
        tracing::error!("the state recorder thread panicked");
    }
    request_server.abort();
    let coordinators_stopped = coordination.shutdown().await;
    stopping.cancel();
    let _ = heartbeat.await;
    if let Some(server) = http {
        match server.await {
            Ok(Err(error)) => tracing::warn!(%error, "the HTTP server ended with an error"),
            Err(error) => tracing::warn!(%error, "the HTTP server panicked"),
            Ok(Ok(())) => {}
        }
    }

    let failed: Vec<&'static str> = manager
        .status()
        .iter()
        .filter(|s| s.state == DaemonState::Failed)
        .map(|s| s.name)
        .collect();
    let clean = bootstrap.is_ok()
        && failed.is_empty()
        && coordinators_stopped.errors.is_empty()
        && critical.is_none();
    let outcome = if clean {
        "clean".to_owned()
    } else {
        let mut problems = Vec::new();
        if let Some(failure) = &critical {
            // First: it is why the run ended.
            problems.push(failure.to_string());
        }
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

    // The summary comes first: it is printed even if the store cannot take the end.
    say!(out, "\nsummary ({ended_by}): {outcome}");
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
    let dropped = coordination.events().dead_letters_dropped();
    if dropped > 0 {
        say!(
            out,
            "  {dropped} dead letter(s) dropped: the dead-letter queue was full"
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
    let recorded = match store {
        Some(store) => {
            let outcome = outcome.clone();
            tokio::task::spawn_blocking(move || store.end_run(run, &outcome))
                .await
                .map_err(|_| "the recording task panicked".to_owned())
                .and_then(|result| result.map_err(|e| e.to_string()))
        }
        None => Err("the recorder stopped before the end of the run".to_owned()),
    };
    if let Err(error) = &recorded {
        say!(
            out,
            "  the end of run {run} could not be recorded ({error}); `{} status` will show it as gone",
            app.name
        );
    }
    super::emit(&out);
    // The lock goes last: until here, this process owns the directory.
    drop(owner);
    Ok(clean && recorded.is_ok())
}

/// `--http`, else `COORD_HTTP`, else none.
fn http_address(args: &RunArgs) -> Result<Option<std::net::SocketAddr>, CliError> {
    if let Some(address) = args.http {
        return Ok(Some(address));
    }
    match std::env::var("COORD_HTTP") {
        Ok(text) if !text.trim().is_empty() => super::http::parse_address(text.trim())
            .map(Some)
            .map_err(CliError::BadEnv),
        _ => Ok(None),
    }
}

/// The last run's dead letters (with its id), if it left any: the store's
/// are the durable copy, so a crash or a restart loses none. A store that
/// cannot give them is reported and the run goes on.
fn inherited_dead_letters(store: &StateStore) -> Option<(i64, Vec<DeadLetter>)> {
    let read = store.latest_run().and_then(|last| match last {
        Some(last) => store
            .dead_letters(last.id)
            .map(|records| Some((last.id, records))),
        None => Ok(None),
    });
    match read {
        Ok(Some((run, records))) if !records.is_empty() => Some((
            run,
            records
                .iter()
                .map(|record| record.to_dead_letter())
                .collect(),
        )),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "cannot read the last run's dead letters; they stay in the store");
            None
        }
    }
}

/// Rewrites the owner record every [`HEARTBEAT_PERIOD`] until stopped.
async fn beat(owner: Arc<OwnerLock>, recorded_at: Arc<AtomicI64>, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(HEARTBEAT_PERIOD);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.cancelled() => return,
        }
        match owner.beat(recorded_at.load(Ordering::Relaxed)) {
            Ok(()) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "cannot write the heartbeat: `status` will report this service as unresponsive");
            }
            Err(_) => {}
        }
    }
}
