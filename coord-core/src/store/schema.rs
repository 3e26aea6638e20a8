//! Versioned schema migrations (`PRAGMA user_version` says which have run),
//! and the check that a database of the current version has the tables and
//! columns this coord expects.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rusqlite::{Connection, TransactionBehavior};

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

/// Version 3: requests carry the running service's secret; indexes for the
/// retention that deletes old rows while the service runs.
const V3: &str = "
    ALTER TABLE commands ADD COLUMN auth TEXT;
    CREATE INDEX IF NOT EXISTS daemon_transitions_by_run ON daemon_transitions (run_id, id);
    CREATE INDEX IF NOT EXISTS commands_by_run ON commands (run_id, done_at);";

/// Version 4: what a dead letter needs to be delivered again by the next
/// run (its event's metadata, and when a retrying one is due), and how many
/// deliveries of each event went to the dead-letter queue.
const V4: &str = "
    ALTER TABLE dead_letters ADD COLUMN meta TEXT;
    ALTER TABLE dead_letters ADD COLUMN next_attempt_at INTEGER;
    ALTER TABLE event_stats ADD COLUMN dead_lettered INTEGER NOT NULL DEFAULT 0;";

/// Every migration, in order; entry `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2, V3, V4];

/// Table -> its columns, as the migrations leave them.
type Shape = BTreeMap<String, Vec<String>>;

/// The shape the current version has, made by running the migrations on an
/// empty in-memory database, so it can never drift from them.
fn expected_shape() -> &'static Result<Shape, String> {
    static SHAPE: OnceLock<Result<Shape, String>> = OnceLock::new();
    SHAPE.get_or_init(|| {
        let connection = Connection::open_in_memory().map_err(|e| e.to_string())?;
        for migration in MIGRATIONS {
            connection
                .execute_batch(migration)
                .map_err(|e| e.to_string())?;
        }
        shape(&connection).map_err(|e| e.to_string())
    })
}

fn shape(connection: &Connection) -> rusqlite::Result<Shape> {
    let mut tables = connection.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    let names: Vec<String> = tables
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Shape::new();
    for name in names {
        let mut columns = connection.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let columns: Vec<String> = columns
            .query_map([&name], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        out.insert(name, columns);
    }
    Ok(out)
}

impl StateStore {
    /// Brings the schema to [`SCHEMA_VERSION`], one version at a time, in one
    /// transaction that starts by taking the write lock and reads the version
    /// again inside it: two processes opening a fresh store never both migrate.
    pub(super) fn migrate(&self) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))?;
        let version: i32 = transaction
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

    /// Refuses a database of the current version whose tables or columns
    /// are not the ones its migrations made: it is used only if whole.
    pub(super) fn verify_schema(&self) -> Result<(), StoreError> {
        let expected = match expected_shape() {
            Ok(shape) => shape,
            Err(error) => {
                return Err(StoreError::Damaged {
                    path: self.path.clone(),
                    detail: format!("coord could not build its own schema to compare: {error}"),
                });
            }
        };
        let found = shape(&self.lock()).map_err(|e| self.sql(e))?;
        let mut problems = Vec::new();
        for (table, columns) in expected {
            match found.get(table) {
                None => problems.push(format!("table `{table}` is missing")),
                Some(have) => {
                    let missing: Vec<&str> = columns
                        .iter()
                        .filter(|c| !have.contains(c))
                        .map(String::as_str)
                        .collect();
                    if !missing.is_empty() {
                        problems.push(format!(
                            "table `{table}` lacks column(s) {}",
                            missing.join(", ")
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Damaged {
                path: self.path.clone(),
                detail: problems.join("; "),
            })
        }
    }
}
