//! The recorder: a thread off the async runtime that writes what changed
//! to the state store, deletes old history, and picks up the requests other
//! processes leave there (checking they carry this run's secret), so a
//! database another process keeps locked delays only the recorder.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, oneshot};

use super::live_view::LiveView;
use super::serve::{PURGE, REPLAY};
use crate::bootstrap::BootstrapStatus;
use crate::coordination::Coordination;
use crate::daemons::{DaemonManager, DaemonState, DaemonStatus, DaemonTransition};
use crate::events::{DeadLetter, DeadLetterState, EventCounts};
use crate::store::{DeadLetterChanges, Retention, StateStore, Tick};
use crate::util::now_ms;

/// How often the recorder looks for changes and requests.
const RECORD_INTERVAL: Duration = Duration::from_millis(500);
/// How often event counts (which change with every event) are written.
const HISTORY_INTERVAL: Duration = Duration::from_secs(10);
/// How often the run's row notes that the process is alive (history only:
/// liveness comes from the lock and the heartbeat in `coord.lock`).
const ROW_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(60);
/// How often old history is deleted while the service runs.
const RETENTION_INTERVAL: Duration = Duration::from_secs(600);
/// A recorder pass slower than this is reported: the store is busy.
const SLOW_PASS: Duration = Duration::from_secs(1);

/// What the async side asks of the recorder thread.
pub(super) enum Job {
    /// Record the bootstrap result.
    Bootstrap(BootstrapStatus),
    /// Make a last pass and hand the store back.
    Stop(oneshot::Sender<StateStore>),
}

/// A request the recorder found and checked, for the async side to carry out.
pub(super) struct Request {
    action: String,
    argument: Option<String>,
    answer: oneshot::Sender<(bool, String)>,
}

/// Carries out requests on the runtime: a replay awaits the bus.
pub(super) async fn serve_requests(
    mut requests: tokio::sync::mpsc::Receiver<Request>,
    coordination: Coordination,
) {
    let bus = coordination.events();
    while let Some(request) = requests.recv().await {
        let answer = match (request.action.as_str(), request.argument.as_deref()) {
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
        // The recorder may have given up waiting; nothing to do then.
        let _ = request.answer.send(answer);
    }
}

/// What the recorder last wrote of one daemon.
#[derive(PartialEq)]
struct Written {
    state: DaemonState,
    since: std::time::SystemTime,
    restarts_total: u64,
    last_error: Option<String>,
    started_at: Option<std::time::SystemTime>,
    ready_at: Option<std::time::SystemTime>,
}

impl Written {
    fn of(status: &DaemonStatus) -> Self {
        Self {
            state: status.state,
            since: status.since,
            restarts_total: status.restarts_total,
            last_error: status.last_error.clone(),
            started_at: status.started_at,
            ready_at: status.ready_at,
        }
    }
}

/// What the recorder last wrote of one dead letter (the columns that change).
#[derive(PartialEq)]
struct LetterWritten {
    state: DeadLetterState,
    attempts: u32,
    last_error: String,
}

impl LetterWritten {
    fn of(letter: &DeadLetter) -> Self {
        Self {
            state: letter.state,
            attempts: letter.attempts,
            last_error: letter.last_error.clone(),
        }
    }
}

/// The recorder thread's state: the store, and what it last wrote.
pub(super) struct Recorder {
    store: StateStore,
    run: i64,
    secret: String,
    coordination: Coordination,
    manager: DaemonManager,
    transitions: broadcast::Receiver<DaemonTransition>,
    requests: tokio::sync::mpsc::Sender<Request>,
    recorded_at: Arc<AtomicI64>,
    last: Vec<(&'static str, Written)>,
    /// When event counts and dead letters are next written (they change
    /// with every event; a few seconds' delay costs `status` little and
    /// saves most of the writes).
    history_due: Instant,
    /// Write them on the next pass: a request changed the queue.
    history_now: bool,
    events_written: Option<std::collections::BTreeMap<&'static str, EventCounts>>,
    letters_written: HashMap<u64, LetterWritten>,
    /// The queue's version when `letters_written` was taken.
    letters_version: u64,
    row_heartbeat_due: Instant,
    retention_due: Instant,
    busy_reported: bool,
}

impl Recorder {
    #[allow(clippy::too_many_arguments)] // one call site, each argument distinct
    pub(super) fn new(
        store: StateStore,
        run: i64,
        secret: String,
        coordination: Coordination,
        manager: DaemonManager,
        transitions: broadcast::Receiver<DaemonTransition>,
        requests: tokio::sync::mpsc::Sender<Request>,
        recorded_at: Arc<AtomicI64>,
    ) -> Self {
        let now = Instant::now();
        Self {
            store,
            run,
            secret,
            coordination,
            manager,
            transitions,
            requests,
            recorded_at,
            last: Vec::new(),
            history_due: now,
            history_now: false,
            events_written: None,
            letters_written: HashMap::new(),
            letters_version: u64::MAX,
            row_heartbeat_due: now + ROW_HEARTBEAT_INTERVAL,
            retention_due: now + RETENTION_INTERVAL,
            busy_reported: false,
        }
    }

    pub(super) fn run(mut self, jobs: &std::sync::mpsc::Receiver<Job>) {
        let mut view = LiveView::new();
        loop {
            let finish = match jobs.recv_timeout(RECORD_INTERVAL) {
                Ok(Job::Bootstrap(status)) => {
                    if let Err(error) = self.store.record_bootstrap(self.run, &status) {
                        // The service runs on; `status` will lack the bootstrap table.
                        tracing::warn!(%error, "cannot record the bootstrap result");
                    }
                    None
                }
                Ok(Job::Stop(done)) => Some(done),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                // The async side is gone without asking for a last pass.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let statuses = self.manager.status();
            self.pass(&statuses, finish.is_some());
            view.show(&statuses);
            if let Some(done) = finish {
                let _ = done.send(self.store);
                return;
            }
        }
    }

    /// One pass: writes what changed, then carries out pending requests.
    fn pass(&mut self, statuses: &[DaemonStatus], last: bool) {
        let started = Instant::now();
        let mut transitions = Vec::new();
        loop {
            match self.transitions.try_recv() {
                Ok(transition) => transitions.push(transition),
                Err(broadcast::error::TryRecvError::Lagged(lost)) => {
                    // The states below are still right; only the history has a gap.
                    tracing::warn!(
                        lost,
                        "daemon transitions changed faster than they could be recorded"
                    );
                }
                Err(_) => break,
            }
        }
        let changed: Vec<DaemonStatus> = statuses
            .iter()
            .filter(|s| {
                let written = Written::of(s);
                !self
                    .last
                    .iter()
                    .any(|(name, w)| *name == s.name && *w == written)
            })
            .cloned()
            .collect();
        let bus = self.coordination.events();
        let now = Instant::now();
        let history = last || self.history_now || now >= self.history_due;
        let subscriptions = bus.subscriptions();
        let counts = history.then(|| bus.counts());
        let events_due = counts.is_some() && self.events_written != counts;
        // Dead letters: a new one, or one that went dead, is written at once
        // (the store is the queue's durable copy); retries and removals wait
        // for the history's turn.
        let version = bus.dead_letters_version();
        let (letters_changed, letters_removed, letters_now) =
            if history || version != self.letters_version {
                let (changed, removed, now) = self.dead_letter_changes(bus.dead_letters());
                let urgent = changed.iter().any(|l| {
                    self.letters_written.get(&l.id).is_none_or(|w| {
                        l.state == DeadLetterState::Dead && w.state != DeadLetterState::Dead
                    })
                });
                if history || urgent {
                    (changed, removed, Some(now))
                } else {
                    Default::default()
                }
            } else {
                Default::default()
            };
        let heartbeat = now >= self.row_heartbeat_due;
        let tick = Tick {
            transitions: &transitions,
            daemons: &changed,
            events: match &counts {
                Some(counts) if events_due => Some((&subscriptions, counts)),
                _ => None,
            },
            dead_letters: DeadLetterChanges {
                changed: &letters_changed,
                removed: &letters_removed,
            },
            heartbeat,
        };
        if !tick.is_empty() {
            tracing::trace!(
                transitions = transitions.len(),
                daemons = ?changed.iter().map(|s| s.name).collect::<Vec<_>>(),
                events = events_due,
                dead_letters = letters_changed.len() + letters_removed.len(),
                heartbeat,
                "recording what changed"
            );
        }
        match self.store.record_tick(self.run, &tick) {
            Ok(()) => {
                for status in &changed {
                    let written = Written::of(status);
                    match self.last.iter_mut().find(|(name, _)| *name == status.name) {
                        Some((_, w)) => *w = written,
                        None => self.last.push((status.name, written)),
                    }
                }
                if history {
                    self.history_due = now + HISTORY_INTERVAL;
                    self.history_now = false;
                    if events_due {
                        self.events_written = counts;
                    }
                }
                if let Some(letters_now) = letters_now {
                    self.letters_written = letters_now;
                    self.letters_version = version;
                }
                if heartbeat {
                    self.row_heartbeat_due = now + ROW_HEARTBEAT_INTERVAL;
                }
                self.recorded_at.store(now_ms(), Ordering::Relaxed);
            }
            Err(error) => {
                // Transitions drained this pass are lost from the history;
                // the states are written again next pass, as they still differ.
                tracing::warn!(%error, lost_transitions = transitions.len(), "cannot record the service's state; retrying");
            }
        }
        if self.answer_requests() {
            self.history_now = true;
        }
        if now >= self.retention_due {
            self.retention_due = now + RETENTION_INTERVAL;
            if let Err(error) = self.store.apply_retention(&Retention::default()) {
                tracing::warn!(%error, "cannot delete old history");
            }
        }
        let took = started.elapsed();
        if took > SLOW_PASS && !self.busy_reported {
            self.busy_reported = true;
            tracing::warn!(
                ?took,
                "the state store is slow or locked by another process; the service runs on, and `status` shows how far behind the recorder is"
            );
        } else if took <= SLOW_PASS {
            self.busy_reported = false;
        }
    }

    /// The dead letters that are new or changed since the last write, the
    /// ids of those gone, and what the store holds once they are written.
    fn dead_letter_changes(
        &self,
        letters: Vec<DeadLetter>,
    ) -> (Vec<DeadLetter>, Vec<u64>, HashMap<u64, LetterWritten>) {
        let now: HashMap<u64, LetterWritten> = letters
            .iter()
            .map(|l| (l.id, LetterWritten::of(l)))
            .collect();
        let removed = self
            .letters_written
            .keys()
            .filter(|id| !now.contains_key(id))
            .copied()
            .collect();
        let changed = letters
            .into_iter()
            .filter(|l| self.letters_written.get(&l.id) != now.get(&l.id))
            .collect();
        (changed, removed, now)
    }

    /// Carries out the requests left for this run that carry its secret;
    /// whether there were any.
    fn answer_requests(&mut self) -> bool {
        let pending = match self.store.pending_requests(self.run) {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "cannot read requests");
                return false;
            }
        };
        let any = !pending.is_empty();
        for request in pending {
            let (ok, message) = if request.auth.as_deref() != Some(self.secret.as_str()) {
                tracing::warn!(action = %request.action, "request refused: it does not carry this run's secret");
                (
                    false,
                    "refused: the request does not carry this run's secret (coord.secret); \
                     ask through the service's command line, as the user that runs it"
                        .to_owned(),
                )
            } else {
                let (answer, answered) = oneshot::channel();
                let sent = self.requests.blocking_send(Request {
                    action: request.action.clone(),
                    argument: request.argument.clone(),
                    answer,
                });
                match sent.ok().and_then(|()| answered.blocking_recv().ok()) {
                    Some(answer) => answer,
                    None => (false, "the service is shutting down".to_owned()),
                }
            };
            tracing::info!(action = %request.action, ok, %message, "request carried out");
            if let Err(error) = self.store.answer_request(request.id, ok, &message) {
                tracing::warn!(%error, "cannot record a request's answer");
            }
        }
        any
    }
}
