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
    /// Seen before with this request hash; `None` while still running.
    Seen {
        request_hash: String,
        response: Option<StoredResponse>,
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
/// `expired_before` are forgotten and claimed afresh.
pub fn claim(
    conn: &mut DbConnection,
    org_id: &str,
    principal_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> StorageResult<Claim> {
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

/// Forgets a claim whose request failed, so the client may retry.
pub fn release(
    conn: &mut DbConnection,
    org_id: &str,
    principal_id: &str,
    key: &str,
) -> StorageResult<()> {
    diesel::delete(key_filter!(org_id, principal_id, key)).execute(conn)?;
    Ok(())
}
