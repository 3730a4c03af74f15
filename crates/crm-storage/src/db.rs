//! Connections to either database behind one type. The rest of the crate
//! writes each query once against [`DbConnection`]; what differs between
//! PostgreSQL and SQLite is handled here.

use crate::error::{StorageError, StorageResult};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use std::sync::{Arc, Mutex};
use std::time::Duration;

diesel::define_sql_function! {
    /// `ym(date)` → `YYYY-MM`, for reports that group by month: a SQL
    /// function on PostgreSQL (migration 000007), registered on each SQLite
    /// connection below.
    fn ym(d: diesel::sql_types::Date) -> diesel::sql_types::Text;
}

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// The SQLite file path of a `sqlite://path`, `sqlite:path` or bare path URL.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Opens connections of exactly the backend the URL names. (The derived
/// `MultiConnection::establish` tries each backend in turn, which would turn
/// an unreachable PostgreSQL URL into a stray SQLite file.)
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StorageError;

    fn connect(&self) -> Result<DbConnection, StorageError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.url)?;
                // Diesel prepares every statement once per connection, and
                // after five runs PostgreSQL may switch a statement to a
                // generic plan that it keeps for the connection's life. A
                // plan made while a table was small (a new organisation, a
                // new deployment), or for an average loyalty member when
                // one holds thousands of lots, is a sequential scan: every
                // push then read the whole channel history, and a
                // redemption burst ran at half speed. Planning per
                // execution follows the data, including one organisation's
                // share of a shared table. It costs reads by key about a
                // fifth of their throughput (measured; README, *GET by id
                // against pgbench*).
                conn.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(StorageError::from)?;
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(sqlite_path(&self.url))?;
                // PostgreSQL has `ym(date)` from a migration; SQLite's
                // functions live on the connection.
                ym_utils::register_impl(&mut conn, |d: chrono::NaiveDate| {
                    d.format("%Y-%m").to_string()
                })
                .map_err(StorageError::from)?;
                // Per connection: SQLite forgets these on every open. A
                // 64 MiB page cache (allocated as used) keeps the search-term
                // index of a large import in memory instead of re-reading it.
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -65536;",
                )
                .map_err(StorageError::from)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StorageError> {
        conn.ping().map_err(StorageError::from)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// Stops OpenSSL from tearing itself down in an `atexit` handler; call
/// before the first PostgreSQL connection (repeat calls do nothing).
///
/// libpq encrypts its connections with OpenSSL, and OpenSSL registers a
/// cleanup that runs when the process exits, while other threads may still
/// be closing or opening connections (r2d2 connects on threads of its own).
/// Those threads then use freed OpenSSL state: the test suite crashed with
/// SIGSEGV after all its tests had passed. The kernel frees everything at
/// exit anyway. `openssl_sys::init` initialises OpenSSL with
/// `OPENSSL_INIT_NO_ATEXIT`, which works only if it comes first.
pub fn keep_openssl_until_exit() {
    openssl_sys::init();
}

/// The pool plus the rules for using it.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    /// SQLite allows one writer. Deferred transactions that upgrade from
    /// read to write fail with SQLITE_BUSY instead of waiting, so writers
    /// in this process queue here first. PostgreSQL needs no such lock.
    sqlite_writer: Arc<Mutex<()>>,
}

impl Database {
    pub fn connect(url: &str, max_connections: u32) -> StorageResult<Database> {
        let backend = Backend::from_url(url);
        if backend == Backend::Postgres {
            keep_openssl_until_exit();
        }
        let new_sqlite_file = match backend {
            Backend::Sqlite => {
                let path = std::path::Path::new(sqlite_path(url));
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StorageError::Migration(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                (!path.exists()).then(|| path.to_path_buf())
            }
            Backend::Postgres => None,
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .connection_timeout(Duration::from_secs(10))
            // A `SELECT 1` before every checkout doubles the round trips of a
            // simple read; broken connections are detected on return
            // (`has_broken`) and by the query that meets them instead.
            .test_on_check_out(false)
            .build(Manager {
                url: url.to_string(),
                backend,
            })?;
        if let Some(path) = new_sqlite_file {
            // Guest data: readable by the service's user only.
            restrict_to_owner(&path);
        }
        Ok(Database {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn connection(&self) -> StorageResult<r2d2::PooledConnection<Manager>> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` on a pooled connection without a transaction.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.connection()?;
        f(&mut conn)
    }

    /// Runs `f` in a transaction: all of its writes land, or none do.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.connection()?;
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let conn: &mut DbConnection = &mut conn;
        conn.transaction(f)
    }

    /// `SELECT 1`: is the database answering?
    pub fn ping(&self) -> StorageResult<()> {
        let mut conn = self.connection()?;
        conn.ping().map_err(StorageError::from)
    }
}

/// One multi-row `INSERT` of `rows` (a slice of insertable rows). The
/// MultiConnection cannot batch inserts; both inner connections can, and
/// take the same rows. Evaluates to a `QueryResult<usize>`; an empty slice
/// writes nothing.
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::prelude::*;
        let rows = $rows;
        if rows.is_empty() {
            Ok(0)
        } else {
            match $conn {
                $crate::db::DbConnection::Postgresql(pg) => {
                    diesel::insert_into($table).values(rows).execute(pg)
                }
                $crate::db::DbConnection::Sqlite(sqlite) => {
                    diesel::insert_into($table).values(rows).execute(sqlite)
                }
            }
        }
    }};
}
pub(crate) use insert_many;

/// `INSERT … ON CONFLICT (target) DO UPDATE SET … RETURNING …` of `rows`,
/// the counters' upsert. MultiConnection can express neither ON CONFLICT
/// nor RETURNING, so this is the one place that goes to the inner
/// connection for them: one statement for all rows on PostgreSQL, one per
/// row on SQLite (where a statement is a function call, not a round trip,
/// and diesel has no batch upsert). Evaluates to a
/// `QueryResult<Vec<returned row>>` in the order of `rows` on SQLite, in
/// PostgreSQL's order there: callers match rows by key.
macro_rules! upsert_returning {
    ($conn:expr, $table:expr, $rows:expr, $target:expr, $set:expr, $returning:expr) => {{
        use diesel::prelude::*;
        match $conn {
            $crate::db::DbConnection::Postgresql(pg) => diesel::insert_into($table)
                .values($rows)
                .on_conflict($target)
                .do_update()
                .set($set)
                .returning($returning)
                .get_results(pg),
            $crate::db::DbConnection::Sqlite(sqlite) => $rows
                .iter()
                .map(|row| {
                    diesel::insert_into($table)
                        .values(row)
                        .on_conflict($target)
                        .do_update()
                        .set($set)
                        .returning($returning)
                        .get_result(sqlite)
                })
                .collect::<Result<Vec<_>, _>>(),
        }
    }};
}
pub(crate) use upsert_returning;

#[cfg(unix)]
fn restrict_to_owner(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        log::warn!("cannot restrict {} to its owner: {e}", path.display());
    }
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &std::path::Path) {}
