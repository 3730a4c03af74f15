//! Migrations are embedded in the binary and applied at start-up.

use crate::db::{Database, DbConnection};
use crate::error::{StorageError, StorageResult};
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Arbitrary but fixed: every hotel-crm node takes this advisory lock
/// before migrating, so nodes starting together migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x686f_7465_6c63_726d; // "hotelcrm"

fn migration_error(e: impl std::fmt::Display) -> StorageError {
    StorageError::Migration(e.to_string())
}

/// Applies pending migrations; returns the versions applied.
pub fn run_pending(db: &Database) -> StorageResult<Vec<String>> {
    let mut conn = db.connection()?;
    match &mut *conn {
        DbConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let applied = pg
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(|m| m.to_string()).collect())
                .map_err(migration_error);
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            applied
        }
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(migration_error),
    }
}

/// Reverts every applied migration (tests and `hotel-crm migrate --down-all`).
pub fn revert_all(db: &Database) -> StorageResult<Vec<String>> {
    let mut conn = db.connection()?;
    match &mut *conn {
        DbConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let reverted = pg
                .revert_all_migrations(POSTGRES)
                .map(|v| v.iter().map(|m| m.to_string()).collect())
                .map_err(migration_error);
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            reverted
        }
        DbConnection::Sqlite(sqlite) => sqlite
            .revert_all_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(migration_error),
    }
}
