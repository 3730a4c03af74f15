//! Consent history: every grant and withdrawal is a row; the current state
//! of a purpose and channel is its latest row.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::pagination::{all_pages, paginate, Page, PageRequest};
use crate::schema::guest_consents;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::consent::{ConsentChannel, ConsentPurpose, ConsentStatus};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = guest_consents)]
struct ConsentRow {
    id: String,
    org_id: String,
    guest_id: String,
    purpose: String,
    channel: Option<String>,
    status: String,
    source: String,
    recorded_by: String,
    recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRecord {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub purpose: ConsentPurpose,
    pub channel: Option<ConsentChannel>,
    pub status: ConsentStatus,
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

fn from_row(r: ConsentRow) -> StorageResult<ConsentRecord> {
    Ok(ConsentRecord {
        purpose: enum_from_db(&r.purpose)?,
        channel: r.channel.as_deref().map(enum_from_db).transpose()?,
        status: enum_from_db(&r.status)?,
        id: r.id,
        org_id: r.org_id,
        guest_id: r.guest_id,
        source: r.source,
        recorded_by: r.recorded_by,
        recorded_at: from_db(r.recorded_at),
    })
}

pub fn insert(conn: &mut DbConnection, c: &ConsentRecord) -> StorageResult<()> {
    diesel::insert_into(guest_consents::table)
        .values(ConsentRow {
            id: c.id.clone(),
            org_id: c.org_id.clone(),
            guest_id: c.guest_id.clone(),
            purpose: enum_to_db(&c.purpose)?,
            channel: c.channel.as_ref().map(enum_to_db).transpose()?,
            status: enum_to_db(&c.status)?,
            source: c.source.clone(),
            recorded_by: c.recorded_by.clone(),
            recorded_at: to_db(c.recorded_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn history(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<ConsentRecord>> {
    let query = guest_consents::table
        .filter(guest_consents::org_id.eq(org_id.to_string()))
        .filter(guest_consents::guest_id.eq(guest_id.to_string()))
        .select(ConsentRow::as_select())
        .into_boxed();
    let rows: Vec<ConsentRow> = paginate!(query, guest_consents::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(from_row)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id.clone()))
}

/// The latest record per purpose and channel.
pub fn current(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Vec<ConsentRecord>> {
    let all = guest_consents::table
        .filter(guest_consents::org_id.eq(org_id))
        .filter(guest_consents::guest_id.eq(guest_id))
        .order(guest_consents::id.desc())
        .select(ConsentRow::as_select())
        .load(conn)?;
    let mut latest: Vec<ConsentRecord> = Vec::new();
    for row in all {
        let record = from_row(row)?;
        if !latest
            .iter()
            .any(|c| c.purpose == record.purpose && c.channel == record.channel)
        {
            latest.push(record);
        }
    }
    latest.reverse();
    Ok(latest)
}

/// For many guests at once (a campaign's chunk): the channels on which
/// each has marketing consent now (their latest marketing record per
/// channel is a grant).
pub fn marketing_channels(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<std::collections::HashMap<String, Vec<ConsentChannel>>> {
    let rows: Vec<(String, Option<String>, String)> = guest_consents::table
        .filter(guest_consents::org_id.eq(org_id))
        .filter(guest_consents::guest_id.eq_any(guest_ids))
        .filter(guest_consents::purpose.eq(enum_to_db(&ConsentPurpose::Marketing)?))
        .order((guest_consents::guest_id, guest_consents::id.desc()))
        .select((
            guest_consents::guest_id,
            guest_consents::channel,
            guest_consents::status,
        ))
        .load(conn)?;
    let granted = enum_to_db(&ConsentStatus::Granted)?;
    let mut seen: std::collections::HashSet<(String, Option<String>)> = Default::default();
    let mut out: std::collections::HashMap<String, Vec<ConsentChannel>> = Default::default();
    for (guest, channel, status) in rows {
        // Rows come newest first per guest: the first per channel is current.
        if !seen.insert((guest.clone(), channel.clone())) {
            continue;
        }
        if status == granted {
            if let Some(c) = channel {
                out.entry(guest).or_default().push(enum_from_db(&c)?);
            }
        }
    }
    Ok(out)
}

/// Every record, oldest first (data subject export).
pub fn all_for_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Vec<ConsentRecord>> {
    all_pages(|page| history(conn, org_id, guest_id, page))
}
