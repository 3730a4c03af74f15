//! Refresh tokens, stored as SHA-256 hashes. Each use rotates the token;
//! presenting an already-used token revokes its whole family, since it
//! means the token was stolen or replayed.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::refresh_tokens;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
struct TokenRow {
    id: String,
    org_id: String,
    user_id: String,
    family_id: String,
    token_hash: String,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<TokenRow> for RefreshToken {
    fn from(r: TokenRow) -> Self {
        RefreshToken {
            id: r.id,
            org_id: r.org_id,
            user_id: r.user_id,
            family_id: r.family_id,
            token_hash: r.token_hash,
            expires_at: from_db(r.expires_at),
            used_at: r.used_at.map(from_db),
            revoked_at: r.revoked_at.map(from_db),
            created_at: from_db(r.created_at),
        }
    }
}

pub fn insert(conn: &mut DbConnection, t: &RefreshToken) -> StorageResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(TokenRow {
            id: t.id.clone(),
            org_id: t.org_id.clone(),
            user_id: t.user_id.clone(),
            family_id: t.family_id.clone(),
            token_hash: t.token_hash.clone(),
            expires_at: to_db(t.expires_at),
            used_at: t.used_at.map(to_db),
            revoked_at: t.revoked_at.map(to_db),
            created_at: to_db(t.created_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> StorageResult<Option<RefreshToken>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?
        .map(RefreshToken::from))
}

/// Marks a token used, if nobody used it first; false when it was already
/// used (a replay).
pub fn mark_used(conn: &mut DbConnection, id: &str, now: DateTime<Utc>) -> StorageResult<bool> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(to_db(now))))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn revoke_family(
    conn: &mut DbConnection,
    org_id: &str,
    family_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::org_id.eq(org_id))
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(to_db(now))))
    .execute(conn)?)
}

/// Revokes every live token of a user (password reset, account disabled).
pub fn revoke_user(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::org_id.eq(org_id))
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(to_db(now))))
    .execute(conn)?)
}
