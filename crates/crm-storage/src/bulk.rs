//! Bulk loading (demo data, imports): rows as stored, written with
//! PostgreSQL's `COPY … FROM STDIN (FORMAT binary)` or multi-row INSERTs on
//! SQLite. Nothing here checks what the repositories check: callers build
//! valid rows. Rows keep `None` as NULL (`treat_none_as_default_value =
//! false`), which COPY needs.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::insights::{InsightRow, StayMonthRow};
use crate::schema::{
    guest_consents, guest_identity_documents, guest_insights, guest_search_terms,
    guest_source_keys, guest_stats, guest_stay_months, guest_tags, guests, loyalty_members,
    points_entries, points_lots, reservation_rooms, reservations, stays,
};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// `COPY` on PostgreSQL; INSERTs of `rows_per_insert` rows on SQLite
/// (which caps bound parameters per statement).
macro_rules! copy_rows {
    ($conn:expr, $table:expr, $rows:expr, $rows_per_insert:expr) => {{
        let rows = $rows;
        if rows.is_empty() {
            Ok(0usize)
        } else {
            match &mut *$conn {
                DbConnection::Postgresql(pg) => {
                    diesel::copy_from($table).from_insertable(rows).execute(pg)
                }
                DbConnection::Sqlite(sqlite) => {
                    let mut n = 0;
                    for chunk in rows.chunks($rows_per_insert) {
                        n += diesel::insert_into($table).values(chunk).execute(sqlite)?;
                    }
                    Ok(n)
                }
            }
        }
    }};
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guests, treat_none_as_default_value = false)]
pub struct GuestRow {
    pub id: String,
    pub org_id: String,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_latin: Option<String>,
    pub given_name_latin: Option<String>,
    pub gender: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    /// JSON, as `guests` stores them.
    pub phones: String,
    pub emails: String,
    pub company: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub preferences: String,
    pub tags: String,
    pub resident: bool,
    pub blacklisted: bool,
    pub blacklist_category: Option<String>,
    pub blacklist_reason: Option<String>,
    pub blacklisted_by: Option<String>,
    pub blacklisted_at: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guest_tags, treat_none_as_default_value = false)]
pub struct TagRow {
    pub org_id: String,
    pub guest_id: String,
    pub tag: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guest_search_terms, treat_none_as_default_value = false)]
pub struct TermRow {
    pub org_id: String,
    pub guest_id: String,
    pub term: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guest_consents, treat_none_as_default_value = false)]
pub struct ConsentRow {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub purpose: String,
    pub channel: Option<String>,
    pub status: String,
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = reservations, treat_none_as_default_value = false)]
pub struct ReservationRow {
    pub id: String,
    pub org_id: String,
    pub property_id: String,
    pub guest_id: String,
    pub channel: String,
    pub channel_code: String,
    pub channel_reservation_id: Option<String>,
    pub channel_last_modified: Option<NaiveDateTime>,
    pub confirmation_number: String,
    pub status: String,
    pub special_requests: Option<String>,
    pub guest_comments: Option<String>,
    pub currency: String,
    pub total_amount: i64,
    pub cancellation_fee: Option<i64>,
    pub compensation: Option<String>,
    pub status_changed_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub account_id: Option<String>,
    pub contract_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = reservation_rooms, treat_none_as_default_value = false)]
pub struct RoomRow {
    pub id: String,
    pub org_id: String,
    pub reservation_id: String,
    pub property_id: String,
    pub room_type_id: String,
    pub rate_plan_id: String,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub adults: i32,
    pub children_ages: String,
    pub amount: i64,
    pub cancellation_policy: String,
    pub holds_inventory: bool,
    pub negotiated_amount: Option<i64>,
    pub contract_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = stays, treat_none_as_default_value = false)]
pub struct StayRow {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub reservation_id: String,
    pub property_id: String,
    pub channel: String,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub nights: i32,
    pub currency: String,
    pub room_revenue: i64,
    pub food_and_beverage_revenue: i64,
    pub other_revenue: i64,
    pub total_revenue: i64,
    pub checked_out_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guest_stats, treat_none_as_default_value = false)]
pub struct GuestStatsRow {
    pub guest_id: String,
    pub org_id: String,
    pub stays: i32,
    pub nights: i32,
    /// JSON: {"CNY": 123400}
    pub spend: String,
    /// JSON: {"ota": 2}
    pub channel_mix: String,
    pub first_stay_on: NaiveDate,
    pub last_stay_on: NaiveDate,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = loyalty_members, treat_none_as_default_value = false)]
pub struct MemberRow {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub member_number: String,
    pub tier_id: String,
    pub source: String,
    pub joined_on: NaiveDate,
    pub tier_since: NaiveDate,
    pub next_review_on: NaiveDate,
    pub points_balance: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = points_entries, treat_none_as_default_value = false)]
pub struct EntryRow {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub entry_type: String,
    pub points: i64,
    pub source_type: String,
    pub source_id: Option<String>,
    pub reason: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = points_lots, treat_none_as_default_value = false)]
pub struct LotRow {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub entry_id: String,
    pub points: i64,
    pub remaining: i64,
    pub expires_on: Option<NaiveDate>,
    pub expired_entry_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guest_identity_documents, treat_none_as_default_value = false)]
pub struct DocumentRow {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub doc_type: String,
    /// Encrypted, keyed-hashed and masked by the caller, as
    /// `identity_documents` stores them.
    pub number_encrypted: String,
    pub number_hash: String,
    pub number_masked: String,
    pub issuing_country: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = guest_source_keys, treat_none_as_default_value = false)]
pub struct SourceKeyRow {
    pub org_id: String,
    pub source_key: String,
    pub guest_id: String,
    pub job_id: String,
    pub created_at: NaiveDateTime,
}

/// Everything one batch writes, in the order foreign keys need.
#[derive(Debug, Default)]
pub struct Batch {
    pub guests: Vec<GuestRow>,
    pub tags: Vec<TagRow>,
    pub terms: Vec<TermRow>,
    pub consents: Vec<ConsentRow>,
    pub documents: Vec<DocumentRow>,
    pub source_keys: Vec<SourceKeyRow>,
    pub reservations: Vec<ReservationRow>,
    pub rooms: Vec<RoomRow>,
    pub stays: Vec<StayRow>,
    pub stats: Vec<GuestStatsRow>,
    pub members: Vec<MemberRow>,
    pub entries: Vec<EntryRow>,
    pub lots: Vec<LotRow>,
    pub insights: Vec<InsightRow>,
    pub stay_months: Vec<StayMonthRow>,
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.guests.len()
            + self.tags.len()
            + self.terms.len()
            + self.consents.len()
            + self.documents.len()
            + self.source_keys.len()
            + self.reservations.len()
            + self.rooms.len()
            + self.stays.len()
            + self.stats.len()
            + self.members.len()
            + self.entries.len()
            + self.lots.len()
            + self.insights.len()
            + self.stay_months.len()
    }
}

/// Writes a batch in the caller's transaction; returns the rows written.
pub fn write(conn: &mut DbConnection, b: &Batch) -> StorageResult<usize> {
    let mut n = 0;
    n += copy_rows!(conn, guests::table, &b.guests, 300)?;
    n += copy_rows!(conn, guest_tags::table, &b.tags, 3000)?;
    n += copy_rows!(conn, guest_search_terms::table, &b.terms, 3000)?;
    n += copy_rows!(conn, guest_consents::table, &b.consents, 1000)?;
    n += copy_rows!(conn, guest_identity_documents::table, &b.documents, 700)?;
    n += copy_rows!(conn, guest_source_keys::table, &b.source_keys, 1500)?;
    n += copy_rows!(conn, reservations::table, &b.reservations, 400)?;
    n += copy_rows!(conn, reservation_rooms::table, &b.rooms, 600)?;
    n += copy_rows!(conn, stays::table, &b.stays, 600)?;
    n += copy_rows!(conn, guest_stats::table, &b.stats, 1000)?;
    n += copy_rows!(conn, loyalty_members::table, &b.members, 700)?;
    n += copy_rows!(conn, points_entries::table, &b.entries, 800)?;
    n += copy_rows!(conn, points_lots::table, &b.lots, 1000)?;
    n += copy_rows!(conn, guest_insights::table, &b.insights, 200)?;
    n += copy_rows!(conn, guest_stay_months::table, &b.stay_months, 2000)?;
    Ok(n)
}
