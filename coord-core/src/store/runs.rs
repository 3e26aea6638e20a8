//! Runs and daemon states: what a run records as it goes, and what
//! `status` reads back.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StateStore, StoreError};
use crate::bootstrap::BootstrapStatus;
use crate::daemons::{DaemonStatus, DaemonTransition};
use crate::util::{now_ms, system_time_ms};

/// One run of a service, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    /// The run's id in the store.
    pub id: i64,
    /// The process that ran it.
    pub pid: u32,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// When it ended, if it has.
    pub ended_at_ms: Option<i64>,
    /// How it ended: `clean`, an error, or that it ended abnormally.
    pub outcome: Option<String>,
    /// The application that ran, as its CLI names itself.
    pub app: Option<String>,
    /// The daemon profile it started, if not all daemons.
    pub profile: Option<String>,
    /// When the running process last wrote its state.
    pub heartbeat_at_ms: Option<i64>,
}

/// A daemon's last recorded state within a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DaemonRecord {
    /// The daemon.
    pub name: String,
    /// Its state, as `DaemonState::as_str` spells it.
    pub state: String,
    /// When it entered that state, in milliseconds since the Unix epoch.
    pub since_ms: i64,
    /// Restarts since it was last started by hand.
    pub restarts_total: i64,
    /// Why it last ended badly.
    pub last_error: Option<String>,
    /// When its runner was first launched in this run.
    pub first_started_at_ms: Option<i64>,
    /// When it first signalled ready in this run.
    pub first_ready_at_ms: Option<i64>,
}

impl StateStore {
    /// Records the start of a run by this process; first marks earlier runs
    /// that never ended as ended abnormally. Call it as the directory's owner
    /// ([`OwnerLock`]): holding the lock is what proves they are over.
    pub fn begin_run(&self) -> Result<i64, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        let unfinished: Vec<(i64, u32)> = {
            let mut query = transaction
                .prepare("SELECT id, pid FROM runs WHERE ended_at IS NULL")
                .map_err(|e| self.sql(e))?;
            let rows = query
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.sql(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
        };
        for (id, pid) in unfinished {
            transaction
                .execute(
                    "UPDATE runs SET ended_at = ?1, outcome = ?2 WHERE id = ?3",
                    params![
                        now_ms(),
                        format!("ended abnormally: process {pid} stopped without shutting down"),
                        id
                    ],
                )
                .map_err(|e| self.sql(e))?;
        }
        transaction
            .execute(
                "INSERT INTO runs (pid, started_at) VALUES (?1, ?2)",
                params![std::process::id(), now_ms()],
            )
            .map_err(|e| self.sql(e))?;
        let id = transaction.last_insert_rowid();
        transaction.commit().map_err(|e| self.sql(e))?;
        Ok(id)
    }

    /// Records how run `run_id` ended.
    pub fn end_run(&self, run_id: i64, outcome: &str) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE runs SET ended_at = ?1, outcome = ?2 WHERE id = ?3",
                params![now_ms(), outcome, run_id],
            )
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// The most recent run, if any.
    pub fn latest_run(&self) -> Result<Option<RunRecord>, StoreError> {
        self.lock()
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1"),
                [],
                run_record,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Every recorded run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id"))
            .map_err(|e| self.sql(e))?;
        let rows = query.query_map([], run_record).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Records every coordinator's bootstrap result for run `run_id`.
    pub fn record_bootstrap(
        &self,
        run_id: i64,
        status: &BootstrapStatus,
    ) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        for c in &status.coordinators {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO bootstrap (run_id, coordinator, state, duration_ms, error, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        run_id,
                        c.name,
                        c.state.as_str(),
                        c.init_duration.map(|d| d.as_millis() as i64),
                        c.error.as_ref().map(ToString::to_string),
                        c.started_at.map(system_time_ms)
                    ],
                )
                .map_err(|e| self.sql(e))?;
        }
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Records a daemon's status for run `run_id`, and the transition if its
    /// state changed since the last record. (An observer of
    /// [`DaemonManager::subscribe_transitions`](crate::DaemonManager::subscribe_transitions)
    /// records every transition with [`Self::record_transition`] and the
    /// status with [`Self::record_daemon_state`] instead.)
    pub fn record_daemon(&self, run_id: i64, status: &DaemonStatus) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        let previous: Option<String> = transaction
            .query_row(
                "SELECT state FROM daemon_state WHERE run_id = ?1 AND daemon = ?2",
                params![run_id, status.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        if previous.as_deref() != Some(status.state.as_str()) {
            insert_transition(
                &transaction,
                run_id,
                status.name,
                status.state.as_str(),
                system_time_ms(status.since),
                status.last_error.as_deref(),
            )
            .map_err(|e| self.sql(e))?;
        }
        upsert_daemon_state(&transaction, run_id, status).map_err(|e| self.sql(e))?;
        transaction.commit().map_err(|e| self.sql(e))
    }

    /// Records a daemon's current status for run `run_id`, without a transition.
    pub fn record_daemon_state(
        &self,
        run_id: i64,
        status: &DaemonStatus,
    ) -> Result<(), StoreError> {
        upsert_daemon_state(&self.lock(), run_id, status).map_err(|e| self.sql(e))
    }

    /// Records one daemon state change of run `run_id`.
    pub fn record_transition(
        &self,
        run_id: i64,
        transition: &DaemonTransition,
    ) -> Result<(), StoreError> {
        insert_transition(
            &self.lock(),
            run_id,
            transition.name,
            transition.state.as_str(),
            system_time_ms(transition.at),
            transition.error.as_deref(),
        )
        .map_err(|e| self.sql(e))
    }

    /// Run `run_id`'s recorded transitions of `daemon`, oldest first: (state, at ms, error).
    pub fn transitions(
        &self,
        run_id: i64,
        daemon: &str,
    ) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT state, at, error FROM daemon_transitions
                 WHERE run_id = ?1 AND daemon = ?2 ORDER BY at, id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map(params![run_id, daemon], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The last recorded state of every daemon in run `run_id`, by name.
    pub fn daemons(&self, run_id: i64) -> Result<Vec<DaemonRecord>, StoreError> {
        let connection = self.lock();
        let mut query = connection
            .prepare(
                "SELECT daemon, state, since, restarts_total, last_error, first_started_at, first_ready_at
                 FROM daemon_state WHERE run_id = ?1 ORDER BY daemon",
            )
            .map_err(|e| self.sql(e))?;
        let rows = query
            .query_map([run_id], |r| {
                Ok(DaemonRecord {
                    name: r.get(0)?,
                    state: r.get(1)?,
                    since_ms: r.get(2)?,
                    restarts_total: r.get(3)?,
                    last_error: r.get(4)?,
                    first_started_at_ms: r.get(5)?,
                    first_ready_at_ms: r.get(6)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }
}

pub(super) fn insert_transition(
    connection: &Connection,
    run_id: i64,
    daemon: &str,
    state: &str,
    at_ms: i64,
    error: Option<&str>,
) -> rusqlite::Result<()> {
    connection
        .execute(
            "INSERT INTO daemon_transitions (run_id, daemon, state, at, error) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![run_id, daemon, state, at_ms, error],
        )
        .map(|_| ())
}

pub(super) fn upsert_daemon_state(
    connection: &Connection,
    run_id: i64,
    status: &DaemonStatus,
) -> rusqlite::Result<()> {
    connection
        .execute(
            // The first start and ready times are kept: the critical chain is about coming up.
            "INSERT INTO daemon_state (run_id, daemon, state, since, restarts_total, last_error,
                                       first_started_at, first_ready_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (run_id, daemon) DO UPDATE SET
                 state = excluded.state, since = excluded.since,
                 restarts_total = excluded.restarts_total, last_error = excluded.last_error,
                 first_started_at = coalesce(first_started_at, excluded.first_started_at),
                 first_ready_at = coalesce(first_ready_at, excluded.first_ready_at)",
            params![
                run_id,
                status.name,
                status.state.as_str(),
                system_time_ms(status.since),
                status.restarts_total as i64,
                status.last_error,
                status.started_at.map(system_time_ms),
                status.ready_at.map(system_time_ms)
            ],
        )
        .map(|_| ())
}

/// The columns [`run_record`] reads, in its order.
const RUN_COLUMNS: &str = "id, pid, started_at, ended_at, outcome, app, profile, heartbeat_at";

/// A `runs` row selected as [`RUN_COLUMNS`].
fn run_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        pid: row.get(1)?,
        started_at_ms: row.get(2)?,
        ended_at_ms: row.get(3)?,
        outcome: row.get(4)?,
        app: row.get(5)?,
        profile: row.get(6)?,
        heartbeat_at_ms: row.get(7)?,
    })
}
