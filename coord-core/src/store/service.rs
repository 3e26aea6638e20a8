//! What a running service writes for the CLI of another process: event
//! counts, the dead-letter queue, heartbeats; and the requests (replay,
//! purge) that such a CLI leaves for the running process to carry out.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::dead_letters::{DeadLetterChanges, write_dead_letters};
use super::{StateStore, StoreError, insert_transition, upsert_daemon_state};
use crate::daemons::{DaemonStatus, DaemonTransition};
use crate::events::EventCounts;
use crate::util::{now_ms, system_time_ms};

/// A coordinator's recorded bootstrap result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoordinatorRecord {
    /// The coordinator.
    pub name: String,
    /// `initialized`, `failed`, `skipped`, ...
    pub state: String,
    /// When its initializer started, in milliseconds since the Unix epoch.
    pub started_at_ms: Option<i64>,
    /// How long its initializer took.
    pub duration_ms: Option<i64>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

/// One event type's wiring and counts within a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventRecord {
    /// The event's stable name.
    pub event: String,
    /// The handlers subscribed to it.
    pub handlers: Vec<String>,
    /// Published, delivered, failed, orphaned.
    pub counts: EventCounts,
}

/// A request left for the running process, and its answer once carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// The request's id.
    pub id: i64,
    /// What to do, e.g. `dlq-replay`.
    pub action: String,
    /// Its argument, e.g. a dead letter's id.
    pub argument: Option<String>,
    /// The secret it was written with (the running service's, from `coord.secret`).
    pub auth: Option<String>,
    /// `Some((ok, message))` once carried out.
    pub result: Option<(bool, String)>,
}

/// The event wiring (event -> handlers) and the counts per event.
pub type EventTables<'a> = (
    &'a BTreeMap<&'static str, Vec<String>>,
    &'a BTreeMap<&'static str, EventCounts>,
);

/// What one recorder pass writes, in one transaction: only what changed.
#[derive(Debug, Default)]
pub struct Tick<'a> {
    /// Daemon state changes since the last pass.
    pub transitions: &'a [DaemonTransition],
    /// Daemons whose status changed since the last pass.
    pub daemons: &'a [DaemonStatus],
    /// The event wiring and counts, when they are due.
    pub events: Option<EventTables<'a>>,
    /// Dead letters that are new or changed, and the ids of those that left the queue.
    pub dead_letters: DeadLetterChanges<'a>,
    /// Whether to note in the run's row that the process is alive.
    pub heartbeat: bool,
}

impl Tick<'_> {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty()
            && self.daemons.is_empty()
            && self.events.is_none()
            && self.dead_letters.is_empty()
            && !self.heartbeat
    }
}

impl StateStore {
    /// Writes one recorder pass for run `run_id` in one transaction; nothing
    /// when nothing changed.
    pub fn record_tick(&self, run_id: i64, tick: &Tick<'_>) -> Result<(), StoreError> {
        if tick.is_empty() {
            return Ok(());
        }
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        for t in tick.transitions {
            insert_transition(
                &transaction,
                run_id,
                t.name,
                t.state.as_str(),
                system_time_ms(t.at),
                t.error.as_deref(),
            )
            .map_err(|e| self.sql(e))?;
        }
        for status in tick.daemons {
            upsert_daemon_state(&transaction, run_id, status).map_err(|e| self.sql(e))?;
        }
        if let Some((subscriptions, counts)) = tick.events {
            write_events(&transaction, run_id, subscriptions, counts).map_err(|e| self.sql(e))?;
        }
        if !tick.dead_letters.is_empty() {
            write_dead_letters(&transaction, run_id, tick.dead_letters).map_err(|e| self.sql(e))?;
        }
        if tick.heartbeat {
            transaction
                .execute(
                    "UPDATE runs SET heartbeat_at = ?1 WHERE id = ?2",
                    params![now_ms(), run_id],
                )
                .map_err(|e| self.sql(e))?;
        }
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Names the application and daemon profile of run `run_id`.
    pub fn describe_run(
        &self,
        run_id: i64,
        app: &str,
        profile: Option<&str>,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE runs SET app = ?1, profile = ?2, heartbeat_at = ?3 WHERE id = ?4",
                params![app, profile, now_ms(), run_id],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Notes that run `run_id`'s process is alive and writing.
    pub fn heartbeat(&self, run_id: i64) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE runs SET heartbeat_at = ?1 WHERE id = ?2",
                params![now_ms(), run_id],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// The recorded bootstrap result of every coordinator in run `run_id`, in start order.
    pub fn coordinators(&self, run_id: i64) -> Result<Vec<CoordinatorRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT coordinator, state, started_at, duration_ms, error FROM bootstrap
                 WHERE run_id = ?1 ORDER BY started_at IS NULL, started_at, coordinator",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map([run_id], |r| {
                Ok(CoordinatorRecord {
                    name: r.get(0)?,
                    state: r.get(1)?,
                    started_at_ms: r.get(2)?,
                    duration_ms: r.get(3)?,
                    error: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Replaces run `run_id`'s event wiring and counts.
    pub fn record_events(
        &self,
        run_id: i64,
        subscriptions: &BTreeMap<&'static str, Vec<String>>,
        counts: &BTreeMap<&'static str, EventCounts>,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        write_events(&transaction, run_id, subscriptions, counts).map_err(|e| self.sql(e))?;
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Run `run_id`'s event wiring and counts, by event name.
    pub fn events(&self, run_id: i64) -> Result<Vec<EventRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT event, handlers, published, delivered, failed, orphaned, dead_lettered
                 FROM event_stats
                 WHERE run_id = ?1 ORDER BY event",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map([run_id], |r| {
                let handlers: String = r.get(1)?;
                Ok(EventRecord {
                    event: r.get(0)?,
                    handlers: handlers
                        .split('\n')
                        .filter(|h| !h.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    counts: EventCounts {
                        published: r.get::<_, i64>(2)? as u64,
                        delivered: r.get::<_, i64>(3)? as u64,
                        failed: r.get::<_, i64>(4)? as u64,
                        orphaned: r.get::<_, i64>(5)? as u64,
                        dead_lettered: r.get::<_, i64>(6)? as u64,
                    },
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Leaves a request for run `run_id`'s process, signed with its secret
    /// (from `coord.secret`); returns the request's id.
    pub fn request(
        &self,
        run_id: i64,
        action: &str,
        argument: Option<&str>,
        auth: &str,
    ) -> Result<i64, StoreError> {
        let connection = self.lock();
        connection
            .execute(
                "INSERT INTO commands (run_id, action, argument, requested_at, auth) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run_id, action, argument, now_ms(), auth],
            )
            .map_err(|e| self.sql(e))?;
        Ok(connection.last_insert_rowid())
    }

    /// Run `run_id`'s requests not carried out yet, oldest first.
    pub fn pending_requests(&self, run_id: i64) -> Result<Vec<CommandRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT id, action, argument, auth FROM commands
                 WHERE run_id = ?1 AND done_at IS NULL ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map([run_id], |r| {
                Ok(CommandRecord {
                    id: r.get(0)?,
                    action: r.get(1)?,
                    argument: r.get(2)?,
                    auth: r.get(3)?,
                    result: None,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Records the answer to request `id`.
    pub fn answer_request(&self, id: i64, ok: bool, message: &str) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE commands SET done_at = ?1, ok = ?2, result = ?3 WHERE id = ?4",
                params![now_ms(), ok, message, id],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Request `id`, with its answer if it has one.
    pub fn request_status(&self, id: i64) -> Result<Option<CommandRecord>, StoreError> {
        self.lock()
            .query_row(
                "SELECT id, action, argument, ok, result FROM commands WHERE id = ?1",
                [id],
                |r| {
                    let ok: Option<bool> = r.get(3)?;
                    let result: Option<String> = r.get(4)?;
                    Ok(CommandRecord {
                        id: r.get(0)?,
                        action: r.get(1)?,
                        argument: r.get(2)?,
                        auth: None,
                        result: ok.map(|ok| (ok, result.unwrap_or_default())),
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}

fn write_events(
    connection: &rusqlite::Connection,
    run_id: i64,
    subscriptions: &BTreeMap<&'static str, Vec<String>>,
    counts: &BTreeMap<&'static str, EventCounts>,
) -> rusqlite::Result<()> {
    let events = subscriptions.keys().chain(counts.keys());
    for event in events.collect::<std::collections::BTreeSet<_>>() {
        let handlers = subscriptions.get(event).map(|h| h.join("\n"));
        let c = counts.get(event).cloned().unwrap_or_default();
        connection.execute(
            "INSERT OR REPLACE INTO event_stats
             (run_id, event, handlers, published, delivered, failed, orphaned, dead_lettered)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                run_id,
                event,
                handlers.unwrap_or_default(),
                c.published as i64,
                c.delivered as i64,
                c.failed as i64,
                c.orphaned as i64,
                c.dead_lettered as i64
            ],
        )?;
    }
    Ok(())
}
