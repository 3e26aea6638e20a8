//! Versioned schema migrations: `PRAGMA user_version` says which have run.

use super::{APPLICATION_ID, SCHEMA_VERSION, StateStore, StoreError};

/// Version 1: runs, bootstrap results, daemon states and their transitions.
const V1: &str = "
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        outcome TEXT
    );
    CREATE TABLE bootstrap (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        coordinator TEXT NOT NULL,
        state TEXT NOT NULL,
        duration_ms INTEGER,
        error TEXT,
        PRIMARY KEY (run_id, coordinator)
    );
    CREATE TABLE daemon_state (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        daemon TEXT NOT NULL,
        state TEXT NOT NULL,
        since INTEGER NOT NULL,
        restarts_total INTEGER NOT NULL,
        last_error TEXT,
        PRIMARY KEY (run_id, daemon)
    );
    CREATE TABLE daemon_transitions (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        daemon TEXT NOT NULL,
        state TEXT NOT NULL,
        at INTEGER NOT NULL,
        error TEXT
    );";

/// Version 2: what the CLI shows of a running service: the application and
/// profile of a run and its heartbeat, start and ready times for the critical
/// chain, event counts, the dead-letter queue, and requests to the running process.
const V2: &str = "
    ALTER TABLE runs ADD COLUMN app TEXT;
    ALTER TABLE runs ADD COLUMN profile TEXT;
    ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;
    ALTER TABLE bootstrap ADD COLUMN started_at INTEGER;
    ALTER TABLE daemon_state ADD COLUMN first_started_at INTEGER;
    ALTER TABLE daemon_state ADD COLUMN first_ready_at INTEGER;
    CREATE TABLE event_stats (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        event TEXT NOT NULL,
        handlers TEXT NOT NULL,
        published INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        orphaned INTEGER NOT NULL,
        PRIMARY KEY (run_id, event)
    );
    CREATE TABLE dead_letters (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        id INTEGER NOT NULL,
        handler TEXT NOT NULL,
        event TEXT NOT NULL,
        event_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (run_id, id)
    );
    CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        action TEXT NOT NULL,
        argument TEXT,
        requested_at INTEGER NOT NULL,
        done_at INTEGER,
        ok INTEGER,
        result TEXT
    );";

/// Every migration, in order; entry `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2];

impl StateStore {
    /// Brings the schema to [`SCHEMA_VERSION`], one version at a time, in one transaction.
    pub(super) fn migrate(&self) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let version: i32 = connection
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let transaction = connection.transaction().map_err(|e| self.sql(e))?;
        for (from, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            transaction
                .execute_batch(migration)
                .map_err(|e| self.sql(e))?;
            tracing::debug!(path = %self.path.display(), to = from + 1, "state store schema migrated");
        }
        transaction
            .pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(|e| self.sql(e))?;
        transaction
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(|e| self.sql(e))?;
        transaction.commit().map_err(|e| self.sql(e))
    }
}
