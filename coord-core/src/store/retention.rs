//! How much history the store keeps: old runs and what belongs to them,
//! the oldest transitions of a long run, and answered requests. Applied when
//! a run begins and, while it runs, by the recorder every few minutes.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use super::{StateStore, StoreError};
use crate::util::now_ms;

/// Limits on what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Runs kept (the latest ones); older runs are deleted with their rows.
    pub runs: usize,
    /// Runs that ended this long ago or longer are deleted too.
    pub run_age: Duration,
    /// Daemon transitions kept per run (the latest ones).
    pub transitions_per_run: usize,
    /// Answered requests are deleted this long after their answer.
    pub answered_requests: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            runs: 50,
            run_age: Duration::from_secs(30 * 24 * 3600),
            transitions_per_run: 10_000,
            answered_requests: Duration::from_secs(3600),
        }
    }
}

/// Tables whose rows belong to a run.
const RUN_TABLES: [&str; 6] = [
    "bootstrap",
    "daemon_state",
    "daemon_transitions",
    "event_stats",
    "dead_letters",
    "commands",
];

impl StateStore {
    /// Deletes what `retention` no longer keeps; returns how many rows went.
    pub fn apply_retention(&self, retention: &Retention) -> Result<usize, StoreError> {
        let now = now_ms();
        let age_ms = i64::try_from(retention.run_age.as_millis()).unwrap_or(i64::MAX);
        let answered_ms =
            i64::try_from(retention.answered_requests.as_millis()).unwrap_or(i64::MAX);
        let keep_runs = i64::try_from(retention.runs.max(1)).unwrap_or(i64::MAX);
        let keep_transitions = i64::try_from(retention.transitions_per_run).unwrap_or(i64::MAX);
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        // Old runs: beyond the count, or ended before the age limit. The
        // latest run is always kept.
        let old: Vec<i64> = {
            let mut query = transaction
                .prepare(
                    "SELECT id FROM runs WHERE id < (SELECT max(id) FROM runs) AND (
                         id NOT IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?1)
                         OR (ended_at IS NOT NULL AND ended_at <= ?2))",
                )
                .map_err(|e| self.sql(e))?;
            let rows = query
                .query_map(params![keep_runs, now.saturating_sub(age_ms)], |r| r.get(0))
                .map_err(|e| self.sql(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
        };
        let mut deleted = 0;
        for run in &old {
            for table in RUN_TABLES {
                deleted += transaction
                    .execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [run])
                    .map_err(|e| self.sql(e))?;
            }
            deleted += transaction
                .execute("DELETE FROM runs WHERE id = ?1", [run])
                .map_err(|e| self.sql(e))?;
        }
        // A long run's transitions: the latest ones are kept. The cut-off is
        // found through the (run_id, id) index, one run at a time.
        let runs: Vec<i64> = {
            let mut query = transaction
                .prepare("SELECT id FROM runs")
                .map_err(|e| self.sql(e))?;
            let rows = query.query_map([], |r| r.get(0)).map_err(|e| self.sql(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
        };
        for run in runs {
            let cutoff: Option<i64> = transaction
                .query_row(
                    "SELECT id FROM daemon_transitions WHERE run_id = ?1
                     ORDER BY id DESC LIMIT 1 OFFSET ?2",
                    params![run, keep_transitions],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            if let Some(cutoff) = cutoff {
                deleted += transaction
                    .execute(
                        "DELETE FROM daemon_transitions WHERE run_id = ?1 AND id <= ?2",
                        params![run, cutoff],
                    )
                    .map_err(|e| self.sql(e))?;
            }
        }
        deleted += transaction
            .execute(
                "DELETE FROM commands WHERE done_at IS NOT NULL AND done_at <= ?1",
                [now.saturating_sub(answered_ms)],
            )
            .map_err(|e| self.sql(e))?;
        transaction.commit().map_err(|e| self.sql(e))?;
        Ok(deleted)
    }
}
