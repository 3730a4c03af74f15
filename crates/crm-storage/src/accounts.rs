//! Accounts: the corporate clients, travel agencies, OTAs and long-stay
//! guests the hotel signs contracts with, and the guests who book for them.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{account_guests, accounts};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::contract::{AccountKind, Contact};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: String,
    org_id: String,
    kind: String,
    legal_name: String,
    tax_id: Option<String>,
    address: Option<String>,
    contacts: String,
    account_manager_id: Option<String>,
    notes: Option<String>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub org_id: String,
    pub kind: AccountKind,
    pub legal_name: String,
    /// 统一社会信用代码 or the country's equivalent; unique per organisation.
    pub tax_id: Option<String>,
    pub address: Option<String>,
    pub contacts: Vec<Contact>,
    /// The staff user who looks after it.
    pub account_manager_id: Option<String>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StorageError;
    fn try_from(r: AccountRow) -> StorageResult<Self> {
        Ok(Account {
            kind: enum_from_db(&r.kind)?,
            contacts: serde_json::from_str(&r.contacts)?,
            id: r.id,
            org_id: r.org_id,
            legal_name: r.legal_name,
            tax_id: r.tax_id,
            address: r.address,
            account_manager_id: r.account_manager_id,
            notes: r.notes,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn to_row(a: &Account) -> StorageResult<AccountRow> {
    Ok(AccountRow {
        id: a.id.clone(),
        org_id: a.org_id.clone(),
        kind: enum_to_db(&a.kind)?,
        legal_name: a.legal_name.clone(),
        tax_id: a.tax_id.clone(),
        address: a.address.clone(),
        contacts: serde_json::to_string(&a.contacts)?,
        account_manager_id: a.account_manager_id.clone(),
        notes: a.notes.clone(),
        version: a.version,
        created_at: to_db(a.created_at),
        updated_at: to_db(a.updated_at),
    })
}

pub fn insert(conn: &mut DbConnection, a: &Account) -> StorageResult<()> {
    diesel::insert_into(accounts::table)
        .values(to_row(a)?)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Account> {
    accounts::table
        .filter(accounts::org_id.eq(org_id))
        .filter(accounts::id.eq(id))
        .select(AccountRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    kind: Option<AccountKind>,
    page: &PageRequest,
) -> StorageResult<Page<Account>> {
    let mut query = accounts::table
        .filter(accounts::org_id.eq(org_id.to_string()))
        .select(AccountRow::as_select())
        .into_boxed();
    if let Some(k) = kind {
        query = query.filter(accounts::kind.eq(enum_to_db(&k)?));
    }
    let rows: Vec<AccountRow> = paginate!(query, accounts::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Account::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |a| a.id.clone()))
}

/// Writes `a` if its stored version is still `expected_version`.
pub fn update(conn: &mut DbConnection, a: &Account, expected_version: i32) -> StorageResult<()> {
    let row = to_row(a)?;
    let n = diesel::update(
        accounts::table
            .filter(accounts::org_id.eq(&a.org_id))
            .filter(accounts::id.eq(&a.id))
            .filter(accounts::version.eq(expected_version)),
    )
    .set((
        accounts::kind.eq(row.kind),
        accounts::legal_name.eq(row.legal_name),
        accounts::tax_id.eq(row.tax_id),
        accounts::address.eq(row.address),
        accounts::contacts.eq(row.contacts),
        accounts::account_manager_id.eq(row.account_manager_id),
        accounts::notes.eq(row.notes),
        accounts::version.eq(row.version),
        accounts::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

/// Links a guest to an account; linking twice is a no-op. Returns whether
/// a link was added.
pub fn link_guest(
    conn: &mut DbConnection,
    org_id: &str,
    account_id: &str,
    guest_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    let exists = account_guests::table
        .filter(account_guests::org_id.eq(org_id))
        .filter(account_guests::account_id.eq(account_id))
        .filter(account_guests::guest_id.eq(guest_id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(account_guests::table)
        .values((
            account_guests::org_id.eq(org_id),
            account_guests::account_id.eq(account_id),
            account_guests::guest_id.eq(guest_id),
            account_guests::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Returns whether there was a link to remove.
pub fn unlink_guest(
    conn: &mut DbConnection,
    org_id: &str,
    account_id: &str,
    guest_id: &str,
) -> StorageResult<bool> {
    let n = diesel::delete(
        account_guests::table
            .filter(account_guests::org_id.eq(org_id))
            .filter(account_guests::account_id.eq(account_id))
            .filter(account_guests::guest_id.eq(guest_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// The guests linked to an account, a page at a time (by guest id).
pub fn guests_of(
    conn: &mut DbConnection,
    org_id: &str,
    account_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<String>> {
    let query = account_guests::table
        .filter(account_guests::org_id.eq(org_id.to_string()))
        .filter(account_guests::account_id.eq(account_id.to_string()))
        .select(account_guests::guest_id)
        .into_boxed();
    let rows: Vec<String> = paginate!(query, account_guests::guest_id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |g| g.clone()))
}

/// The accounts a guest is linked to.
pub fn accounts_of_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Vec<String>> {
    Ok(account_guests::table
        .filter(account_guests::org_id.eq(org_id))
        .filter(account_guests::guest_id.eq(guest_id))
        .order(account_guests::account_id.asc())
        .select(account_guests::account_id)
        .load(conn)?)
}
