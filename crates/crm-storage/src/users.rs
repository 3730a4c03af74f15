//! Staff users: people who log in with e-mail and password.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::users;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::role::Role;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    org_id: String,
    email: String,
    display_name: String,
    role: String,
    password_hash: String,
    must_change_password: bool,
    disabled_at: Option<NaiveDateTime>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;
    fn try_from(r: UserRow) -> StorageResult<Self> {
        Ok(User {
            role: r.role.parse().map_err(StorageError::Corrupt)?,
            id: r.id,
            org_id: r.org_id,
            email: r.email,
            display_name: r.display_name,
            password_hash: r.password_hash,
            must_change_password: r.must_change_password,
            disabled_at: r.disabled_at.map(from_db),
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConnection, user: &User) -> StorageResult<()> {
    diesel::insert_into(users::table)
        .values(UserRow {
            id: user.id.clone(),
            org_id: user.org_id.clone(),
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            role: user.role.as_str().to_string(),
            password_hash: user.password_hash.clone(),
            must_change_password: user.must_change_password,
            disabled_at: user.disabled_at.map(to_db),
            version: user.version,
            created_at: to_db(user.created_at),
            updated_at: to_db(user.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

/// Login looks users up by e-mail across organisations: an e-mail address
/// belongs to one staff account.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> StorageResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<User> {
    users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<User>> {
    let query = users::table
        .filter(users::org_id.eq(org_id.to_string()))
        .select(UserRow::as_select())
        .into_boxed();
    let rows: Vec<UserRow> = paginate!(query, users::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(User::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |u| u.id.clone()))
}

/// The organisation's active users with one of `roles` (staff are few:
/// at most 1,000 are read).
pub fn with_roles(
    conn: &mut DbConnection,
    org_id: &str,
    roles: &[Role],
) -> StorageResult<Vec<User>> {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let rows: Vec<UserRow> = users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::role.eq_any(names))
        .filter(users::disabled_at.is_null())
        .order(users::id.asc())
        .limit(1000)
        .select(UserRow::as_select())
        .load(conn)?;
    rows.into_iter().map(User::try_from).collect()
}

/// Writes the mutable fields if the stored version is still `expected_version`.
pub fn update(conn: &mut DbConnection, user: &User, expected_version: i32) -> StorageResult<()> {
    let updated = diesel::update(
        users::table
            .filter(users::org_id.eq(&user.org_id))
            .filter(users::id.eq(&user.id))
            .filter(users::version.eq(expected_version)),
    )
    .set((
        users::display_name.eq(&user.display_name),
        users::role.eq(user.role.as_str()),
        users::password_hash.eq(&user.password_hash),
        users::must_change_password.eq(user.must_change_password),
        users::disabled_at.eq(user.disabled_at.map(to_db)),
        users::version.eq(user.version),
        users::updated_at.eq(to_db(user.updated_at)),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}
