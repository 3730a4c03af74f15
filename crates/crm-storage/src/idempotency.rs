//! Idempotency keys: the first request with a key claims it; its response is
//! kept so that retries replay it.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::idempotency_keys;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
struct KeyRow {
    org_id: String,
    principal_id: String,
    idempotency_key: String,
    request_hash: String,
    status_code: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<String>,
    created_at: NaiveDateTime,
    committed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is ours: run the request, then [`complete`] or [`release`].
    Claimed,
    /// Seen before with this request hash; `None` while still running, or
    /// when the request was applied but its response was lost (`applied`).
    Seen {
        request_hash: String,
        response: Option<StoredResponse>,
        applied: bool,
        created_at: DateTime<Utc>,
    },
}

macro_rules! key_filter {
    ($org_id:expr, $principal_id:expr, $key:expr) => {
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq($org_id))
            .filter(idempotency_keys::principal_id.eq($principal_id))
            .filter(idempotency_keys::idempotency_key.eq($key))
    };
}

/// Claims `key` or reports what is known of it. Keys older than
/// `expired_before` are forgotten and claimed afresh; a claim older than
/// `abandoned_before` with neither a response nor a commit marker (its node
/// died before writing anything) is taken over by the same request.
#[allow(clippy::too_many_arguments)]
pub fn claim(
    conn: &mut DbConnection,
    org_id: &str,
    principal_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
    abandoned_before: DateTime<Utc>,
) -> StorageResult<Claim> {
    // Compare-and-set on created_at: of two retries racing for an
    // abandoned claim, one takes it over.
    let taken_over = diesel::update(
        key_filter!(org_id, principal_id, key)
            .filter(idempotency_keys::request_hash.eq(request_hash))
            .filter(idempotency_keys::status_code.is_null())
            .filter(idempotency_keys::committed_at.is_null())
            .filter(idempotency_keys::created_at.lt(to_db(abandoned_before))),
    )
    .set(idempotency_keys::created_at.eq(to_db(now)))
    .execute(conn)?;
    if taken_over == 1 {
        return Ok(Claim::Claimed);
    }
    diesel::delete(
        key_filter!(org_id, principal_id, key)
            .filter(idempotency_keys::created_at.lt(to_db(expired_before))),
    )
    .execute(conn)?;
    // In a savepoint: on PostgreSQL a failed INSERT would otherwise abort
    // the surrounding transaction and the SELECT below with it.
    let row = KeyRow {
        org_id: org_id.to_string(),
        principal_id: principal_id.to_string(),
        idempotency_key: key.to_string(),
        request_hash: request_hash.to_string(),
        status_code: None,
        response_headers: None,
        response_body: None,
        created_at: to_db(now),
        committed_at: None,
    };
    let inserted = conn.transaction(|c| {
        diesel::insert_into(idempotency_keys::table)
            .values(&row)
            .execute(c)
    });
    match inserted {
        Ok(_) => Ok(Claim::Claimed),
        Err(e) => match StorageError::from(e) {
            StorageError::Duplicate { .. } => {
                let row: KeyRow = key_filter!(org_id, principal_id, key)
                    .select(KeyRow::as_select())
                    .first(conn)?;
                let response = match (row.status_code, row.response_body) {
                    (Some(status), Some(body)) => Some(StoredResponse {
                        status_code: u16::try_from(status).unwrap_or(500),
                        headers: row
                            .response_headers
                            .as_deref()
                            .map(serde_json::from_str)
                            .transpose()?
                            .unwrap_or_default(),
                        body,
                    }),
                    _ => None,
                };
                Ok(Claim::Seen {
                    request_hash: row.request_hash,
                    applied: row.committed_at.is_some(),
                    response,
                    created_at: from_db(row.created_at),
                })
            }
            other => Err(other),
        },
    }
}

pub fn complete(
    conn: &mut DbConnection,
    org_id: &str,
    principal_id: &str,
    key: &str,
    response: &StoredResponse,
) -> StorageResult<()> {
    diesel::update(key_filter!(org_id, principal_id, key))
        .set((
            idempotency_keys::status_code.eq(Some(i32::from(response.status_code))),
            idempotency_keys::response_headers.eq(Some(serde_json::to_string(&response.headers)?)),
            idempotency_keys::response_body.eq(Some(response.body.clone())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets a claim whose request failed, so the client may retry —
/// unless the request had committed writes before failing.
pub fn release(
    conn: &mut DbConnection,
    org_id: &str,
    principal_id: &str,
    key: &str,
) -> StorageResult<()> {
    diesel::delete(
        key_filter!(org_id, principal_id, key).filter(idempotency_keys::committed_at.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Marks the claim's request as applied; called in the request's own
/// write transaction, so the marker exists exactly when its writes do.
pub fn mark_committed(
    conn: &mut DbConnection,
    org_id: &str,
    principal_id: &str,
    key: &str,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    diesel::update(key_filter!(org_id, principal_id, key))
        .set(idempotency_keys::committed_at.eq(Some(to_db(now))))
        .execute(conn)?;
    Ok(())
}
