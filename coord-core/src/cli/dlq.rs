//! `dlq list|replay|purge`: the latest run's dead letters; replay and purge
//! are requests the running process carries out.

use std::path::Path;
use std::time::Duration;

use super::serve::{PURGE, REPLAY};
use super::status::{RunState, latest_run, liveness, open_existing};
use super::{App, CliError, DlqAction};
use crate::error::UnknownName;
use crate::store::{self, RunRecord, StateStore};

/// How long `dlq replay|purge` waits for the running process to answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// `dlq list|replay ID|purge`.
pub(super) async fn dlq(
    app: &App,
    data_dir: &Path,
    action: DlqAction,
    out: &mut String,
) -> Result<bool, CliError> {
    let store = open_existing(&app.name, data_dir)?;
    let run = latest_run(&app.name, &store)?;
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
