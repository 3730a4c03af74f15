use crate::auth::cache::PrincipalCache;
use crate::auth::jwt::JwtKeys;
use crate::auth::limiter::{LoginLimiter, RateLimiter};
use crate::config::Settings;
use crate::config_cache::ConfigCache;
use crate::crypto::DataCipher;
use crate::error::{ApiError, ApiResult};
use actix_web::web;
use crm_domain::clock::Clock;
use crm_storage::Database;
use std::sync::Arc;

/// Shared by every worker: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    /// Where reports, segment counts and exports read: a streaming replica
    /// (`HOTEL_CRM_READ_DATABASE_URL`), or `db` itself.
    pub replica: Database,
    pub settings: Arc<Settings>,
    pub jwt: JwtKeys,
    pub cipher: DataCipher,
    pub clock: Arc<dyn Clock>,
    pub login_limiter: Arc<LoginLimiter>,
    /// Requests to the public survey endpoints, per link and per IP.
    pub public_limiter: Arc<LoginLimiter>,
    /// Token requests per account or client, and per IP.
    pub login_rate: Arc<RateLimiter>,
    /// Channel pushes per integration client, and per IP.
    pub channel_rate: Arc<RateLimiter>,
    pub principal_cache: Arc<PrincipalCache>,
    pub config_cache: Arc<ConfigCache>,
}

impl AppState {
    /// Runs reads on the blocking pool, outside a transaction.
    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&mut crm_storage::DbConnection) -> Result<T, E> + Send + 'static,
    ) -> ApiResult<T>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        read_on(self.db.clone(), f).await
    }

    /// Runs reads that may lag the primary a little (reports, segment
    /// counts and members, exports) on the replica pool.
    pub async fn read_replica<T, E>(
        &self,
        f: impl FnOnce(&mut crm_storage::DbConnection) -> Result<T, E> + Send + 'static,
    ) -> ApiResult<T>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        read_on(self.replica.clone(), f).await
    }

    /// Runs a transaction on the blocking pool; `f` may fail with an API
    /// error, which rolls everything back. A request with an
    /// Idempotency-Key marks its claim as applied in the same transaction.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crm_storage::DbConnection) -> Result<T, ApiError> + Send + 'static,
    ) -> ApiResult<T> {
        let db = self.db.clone();
        let claim = crate::http::idempotency::current_claim();
        let now = self.clock.now();
        web::block(move || {
            write_transaction(&db, |conn| {
                let value = f(conn)?;
                if let Some(c) = &claim {
                    crm_storage::idempotency::mark_committed(
                        conn,
                        &c.org_id,
                        &c.principal_id,
                        &c.key,
                        now,
                    )?;
                }
                Ok(value)
            })
        })
        .await?
    }
}

async fn read_on<T, E>(
    db: Database,
    f: impl FnOnce(&mut crm_storage::DbConnection) -> Result<T, E> + Send + 'static,
) -> ApiResult<T>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    web::block(move || {
        let mut conn = db.connection()?;
        f(&mut conn).map_err(Into::into)
    })
    .await?
}

/// Runs `f` in a transaction on this thread; an API error from `f` rolls
/// it back and is returned as it is.
pub fn write_transaction<T>(
    db: &crm_storage::Database,
    f: impl FnOnce(&mut crm_storage::DbConnection) -> Result<T, ApiError>,
) -> ApiResult<T> {
    let mut outcome: Option<ApiError> = None;
    let result = db.write(|conn| {
        f(conn).map_err(|e| {
            // Returning an error rolls the transaction back; the API error
            // itself is reported below.
            outcome = Some(e);
            crm_storage::StorageError::RolledBack
        })
    });
    match (result, outcome) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(api_error)) => Err(api_error),
        (Err(storage), None) => Err(ApiError::from(storage)),
    }
}
