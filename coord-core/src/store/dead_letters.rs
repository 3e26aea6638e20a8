//! The dead-letter queue's durable copy: each letter with its event's
//! metadata and, while retrying, when it is due, so a later run can take it over.

use rusqlite::params;

use super::{StateStore, StoreError};
use crate::events::{DeadLetter, DeadLetterState, EventId, EventMeta};
use crate::util::system_time_ms;

/// A dead letter as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetterRecord {
    /// Its id in the running process's queue.
    pub id: u64,
    /// The handler that failed.
    pub handler: String,
    /// The event's name.
    pub event: String,
    /// The event's id.
    pub event_id: u64,
    /// `retrying` or `dead`.
    pub state: String,
    /// Deliveries so far.
    pub attempts: u32,
    /// Why the last one failed.
    pub last_error: String,
    /// The event as JSON.
    pub payload: String,
    /// The event's metadata as JSON (stores before version 4 have none).
    pub meta: Option<String>,
    /// When a retrying letter is due, ms since the Unix epoch.
    pub next_attempt_at_ms: Option<i64>,
}

impl DeadLetterRecord {
    /// The letter as the bus keeps it, to be delivered again by a later
    /// run. A letter recorded without its metadata gets what the row has.
    pub fn to_dead_letter(&self) -> DeadLetter {
        let meta = self
            .meta
            .as_deref()
            .and_then(|json| serde_json::from_str::<EventMeta>(json).ok())
            .unwrap_or_else(|| EventMeta {
                id: EventId(self.event_id),
                name: self.event.clone().into(),
                timestamp: std::time::UNIX_EPOCH,
                source: "external".into(),
                correlation_id: EventId(self.event_id),
            });
        DeadLetter {
            id: self.id,
            handler: self.handler.clone(),
            meta,
            payload: self.payload.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            state: if self.state == DeadLetterState::Retrying.as_str() {
                DeadLetterState::Retrying
            } else {
                DeadLetterState::Dead
            },
            next_attempt_at: self.next_attempt_at_ms.map(|ms| {
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64)
            }),
        }
    }
}

/// What changed in the dead-letter queue since it was last written.
#[derive(Debug, Default, Clone, Copy)]
pub struct DeadLetterChanges<'a> {
    /// Letters that are new, or whose state, attempts or error changed.
    pub changed: &'a [DeadLetter],
    /// Ids of letters no longer in the queue (replayed, purged, delivered, dropped).
    pub removed: &'a [u64],
}

impl DeadLetterChanges<'_> {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

impl DeadLetterState {
    /// The state as the store and the CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retrying => "retrying",
            Self::Dead => "dead",
        }
    }
}

impl StateStore {
    /// Replaces run `run_id`'s recorded dead-letter queue with `letters`.
    pub fn record_dead_letters(
        &self,
        run_id: i64,
        letters: &[DeadLetter],
    ) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        transaction
            .execute("DELETE FROM dead_letters WHERE run_id = ?1", [run_id])
            .map_err(|e| self.sql(e))?;
        let changes = DeadLetterChanges {
            changed: letters,
            removed: &[],
        };
        write_dead_letters(&transaction, run_id, changes).map_err(|e| self.sql(e))?;
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Run `run_id`'s recorded dead letters, oldest first.
    pub fn dead_letters(&self, run_id: i64) -> Result<Vec<DeadLetterRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT id, handler, event, event_id, state, attempts, last_error, payload,
                        meta, next_attempt_at
                 FROM dead_letters WHERE run_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map([run_id], |r| {
                Ok(DeadLetterRecord {
                    id: r.get::<_, i64>(0)? as u64,
                    handler: r.get(1)?,
                    event: r.get(2)?,
                    event_id: r.get::<_, i64>(3)? as u64,
                    state: r.get(4)?,
                    attempts: r.get(5)?,
                    last_error: r.get(6)?,
                    payload: r.get(7)?,
                    meta: r.get(8)?,
                    next_attempt_at_ms: r.get(9)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Deletes run `run_id`'s recorded dead letters in state `dead`; returns how many.
    pub fn purge_recorded_dead_letters(&self, run_id: i64) -> Result<usize, StoreError> {
        self.lock()
            .execute(
                "DELETE FROM dead_letters WHERE run_id = ?1 AND state = 'dead'",
                [run_id],
            )
            .map_err(|e| self.sql(e))
    }
}

pub(super) fn write_dead_letters(
    connection: &rusqlite::Connection,
    run_id: i64,
    changes: DeadLetterChanges<'_>,
) -> rusqlite::Result<()> {
    let mut remove =
        connection.prepare_cached("DELETE FROM dead_letters WHERE run_id = ?1 AND id = ?2")?;
    for id in changes.removed {
        remove.execute(params![run_id, *id as i64])?;
    }
    let mut upsert = connection.prepare_cached(
        "INSERT OR REPLACE INTO dead_letters
         (run_id, id, handler, event, event_id, state, attempts, last_error, payload,
          meta, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for letter in changes.changed {
        upsert.execute(params![
            run_id,
            letter.id as i64,
            letter.handler,
            letter.meta.name,
            letter.meta.id.0 as i64,
            letter.state.as_str(),
            letter.attempts,
            letter.last_error,
            letter.payload,
            serde_json::to_string(&letter.meta).ok(),
            letter.next_attempt_at.map(system_time_ms)
        ])?;
    }
    Ok(())
}
