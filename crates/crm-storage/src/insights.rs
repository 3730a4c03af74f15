//! Guest insights: one row per guest with what segments and reports read,
//! the analytics settings, and what the insights job reads to compute them.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::{
    account_guests, accounts, analytics_settings, guest_consents, guest_insights,
    guest_stay_months, loyalty_members, loyalty_tiers, properties, reservation_rooms, stays,
};
use crate::time::to_db;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::analytics::InsightSettings;
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

/// A guest's insight row, as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = guest_insights, treat_none_as_default_value = false)]
pub struct InsightRow {
    pub guest_id: String,
    pub org_id: String,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    pub city: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub birthday_month: Option<i32>,
    pub resident: bool,
    pub blacklisted: bool,
    pub created_on: NaiveDate,
    /// `|marketing_email|profiling|`: the consents granted.
    pub consents: String,
    /// `|ota|phone|`: channels stayed through.
    pub channels: String,
    /// `|<property id>|…|`: properties stayed at.
    pub properties: String,
    pub tier_code: Option<String>,
    pub tier_rank: Option<i32>,
    pub points_balance: i64,
    pub stays: i32,
    pub nights: i32,
    pub spend: i64,
    pub average_rate: Option<i64>,
    pub first_stay_on: Option<NaiveDate>,
    pub last_stay_on: Option<NaiveDate>,
    pub first_stay_month: Option<String>,
    pub usual_interval_days: Option<i32>,
    pub stays_last_12_months: i32,
    pub stays_previous_12_months: i32,
    pub main_channel: Option<String>,
    pub acquisition_channel: Option<String>,
    pub profiled: bool,
    pub rfm_recency: Option<i32>,
    pub rfm_frequency: Option<i32>,
    pub rfm_monetary: Option<i32>,
    pub value_class: Option<String>,
    pub rfm_reasons: Option<String>,
    pub travel_purpose: Option<String>,
    pub purpose_reasons: Option<String>,
    pub churn_score: Option<i32>,
    pub churn_grade: Option<String>,
    pub churn_reasons: Option<String>,
    pub spend_band: String,
    pub computed_at: NaiveDateTime,
}

/// A month in which a guest stayed, counted from the month of their first
/// stay (the retention cohorts).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = guest_stay_months, treat_none_as_default_value = false)]
pub struct StayMonthRow {
    pub org_id: String,
    pub guest_id: String,
    pub months_after: i32,
    /// `YYYY-MM` of the first stay.
    pub cohort_month: String,
}

/// `|a|b|` of a set of values, for one-LIKE set conditions.
pub fn set_text<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut v: Vec<&str> = values.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    if v.is_empty() {
        "|".to_string()
    } else {
        format!("|{}|", v.join("|"))
    }
}

/// Rows per INSERT: 42 columns × 400 stays under both backends' limits on
/// bound parameters.
const INSERT_CHUNK: usize = 400;

/// Replaces the insight rows of these guests (and removes those of
/// `gone`, erased guests).
pub fn replace(
    conn: &mut DbConnection,
    org_id: &str,
    rows: &[InsightRow],
    months: &[StayMonthRow],
    gone: &[String],
) -> StorageResult<()> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.guest_id.as_str()).collect();
    ids.extend(gone.iter().map(String::as_str));
    for chunk in ids.chunks(INSERT_CHUNK) {
        diesel::delete(
            guest_insights::table
                .filter(guest_insights::org_id.eq(org_id))
                .filter(guest_insights::guest_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(
            guest_stay_months::table
                .filter(guest_stay_months::org_id.eq(org_id))
                .filter(guest_stay_months::guest_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::db::insert_many!(&mut *conn, guest_insights::table, chunk)?;
    }
    for chunk in months.chunks(2000) {
        crate::db::insert_many!(&mut *conn, guest_stay_months::table, chunk)?;
    }
    Ok(())
}

pub fn find(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Option<InsightRow>> {
    Ok(guest_insights::table
        .filter(guest_insights::org_id.eq(org_id))
        .filter(guest_insights::guest_id.eq(guest_id))
        .select(InsightRow::as_select())
        .first(conn)
        .optional()?)
}

/// An organisation's analytics settings and main currency.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsSettings {
    pub currency: String,
    pub settings: InsightSettings,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// The stored settings, or the defaults with the currency most of the
/// organisation's properties sell in.
pub fn settings(conn: &mut DbConnection, org_id: &str) -> StorageResult<AnalyticsSettings> {
    let row: Option<(String, String, i32, NaiveDateTime)> = analytics_settings::table
        .filter(analytics_settings::org_id.eq(org_id))
        .select((
            analytics_settings::currency,
            analytics_settings::settings,
            analytics_settings::version,
            analytics_settings::updated_at,
        ))
        .first(conn)
        .optional()?;
    if let Some((currency, settings, version, updated_at)) = row {
        return Ok(AnalyticsSettings {
            currency,
            settings: serde_json::from_str(&settings)?,
            version,
            updated_at: crate::time::from_db(updated_at),
        });
    }
    let currencies: Vec<String> = properties::table
        .filter(properties::org_id.eq(org_id))
        .select(properties::currency)
        .load(conn)?;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in &currencies {
        *counts.entry(c).or_default() += 1;
    }
    let currency = counts
        .into_iter()
        .max_by_key(|(c, n)| (*n, std::cmp::Reverse(*c)))
        .map(|(c, _)| c.to_string())
        .unwrap_or_else(|| "CNY".to_string());
    Ok(AnalyticsSettings {
        currency,
        settings: InsightSettings::default(),
        version: 0,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
    })
}

/// Writes the settings if their stored version is still `expected` (0:
/// none stored yet).
pub fn put_settings(
    conn: &mut DbConnection,
    org_id: &str,
    s: &AnalyticsSettings,
    expected: i32,
) -> StorageResult<()> {
    let json = serde_json::to_string(&s.settings)?;
    if expected == 0 {
        diesel::insert_into(analytics_settings::table)
            .values((
                analytics_settings::org_id.eq(org_id),
                analytics_settings::currency.eq(&s.currency),
                analytics_settings::settings.eq(json),
                analytics_settings::version.eq(s.version),
                analytics_settings::updated_at.eq(to_db(s.updated_at)),
            ))
            .execute(conn)
            .map_err(|e| match crate::StorageError::from(e) {
                crate::StorageError::Duplicate { .. } => crate::StorageError::VersionConflict,
                other => other,
            })?;
        return Ok(());
    }
    let n = diesel::update(
        analytics_settings::table
            .filter(analytics_settings::org_id.eq(org_id))
            .filter(analytics_settings::version.eq(expected)),
    )
    .set((
        analytics_settings::currency.eq(&s.currency),
        analytics_settings::settings.eq(json),
        analytics_settings::version.eq(s.version),
        analytics_settings::updated_at.eq(to_db(s.updated_at)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(crate::StorageError::VersionConflict);
    }
    Ok(())
}

/// One completed stay as the insights job reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayRecord {
    pub guest_id: String,
    pub property_id: String,
    pub channel: String,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub nights: i64,
    pub currency: String,
    pub total_revenue: i64,
    pub room_revenue: i64,
    pub adults: i64,
    pub children: i64,
}

/// The stays of these guests, with the party of each (from its rooms).
pub fn stays_of(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<Vec<StayRecord>> {
    type Row = (
        String,
        String,
        String,
        String,
        NaiveDate,
        NaiveDate,
        i32,
        String,
        i64,
        i64,
    );
    let rows: Vec<Row> = stays::table
        .filter(stays::org_id.eq(org_id))
        .filter(stays::guest_id.eq_any(guest_ids))
        .select((
            stays::guest_id,
            stays::reservation_id,
            stays::property_id,
            stays::channel,
            stays::arrival,
            stays::departure,
            stays::nights,
            stays::currency,
            stays::total_revenue,
            stays::room_revenue,
        ))
        .load(conn)?;
    let reservation_ids: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let mut party: HashMap<String, (i64, i64)> = HashMap::new();
    for chunk in reservation_ids.chunks(1000) {
        let rooms: Vec<(String, i32, String)> = reservation_rooms::table
            .filter(reservation_rooms::org_id.eq(org_id))
            .filter(reservation_rooms::reservation_id.eq_any(chunk))
            .select((
                reservation_rooms::reservation_id,
                reservation_rooms::adults,
                reservation_rooms::children_ages,
            ))
            .load(conn)?;
        for (reservation_id, adults, ages) in rooms {
            let children = serde_json::from_str::<Vec<u8>>(&ages)
                .map(|a| a.len() as i64)
                .unwrap_or(0);
            let p = party.entry(reservation_id).or_default();
            p.0 += i64::from(adults);
            p.1 += children;
        }
    }
    Ok(rows
        .into_iter()
        .map(
            |(
                guest_id,
                reservation_id,
                property_id,
                channel,
                arrival,
                departure,
                nights,
                currency,
                total,
                room,
            )| {
                let (adults, children) = party.get(&reservation_id).copied().unwrap_or((1, 0));
                StayRecord {
                    guest_id,
                    property_id,
                    channel,
                    arrival,
                    departure,
                    nights: i64::from(nights),
                    currency,
                    total_revenue: total,
                    room_revenue: room,
                    adults,
                    children,
                }
            },
        )
        .collect())
}

/// Tier code, tier rank and points balance of the members among these
/// guests.
pub fn memberships_of(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<HashMap<String, (String, i32, i64)>> {
    let tiers: HashMap<String, (String, i32)> = loyalty_tiers::table
        .filter(loyalty_tiers::org_id.eq(org_id))
        .select((loyalty_tiers::id, loyalty_tiers::code, loyalty_tiers::rank))
        .load::<(String, String, i32)>(conn)?
        .into_iter()
        .map(|(id, code, rank)| (id, (code, rank)))
        .collect();
    let members: Vec<(String, String, i64)> = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org_id))
        .filter(loyalty_members::guest_id.eq_any(guest_ids))
        .select((
            loyalty_members::guest_id,
            loyalty_members::tier_id,
            loyalty_members::points_balance,
        ))
        .load(conn)?;
    Ok(members
        .into_iter()
        .filter_map(|(guest, tier, balance)| {
            let (code, rank) = tiers.get(&tier)?.clone();
            Some((guest, (code, rank, balance)))
        })
        .collect())
}

/// Per guest the consents granted, and who withdrew profiling.
pub type GuestConsents = (HashMap<String, Vec<String>>, HashSet<String>);

/// The consents currently granted by these guests, as `marketing_email`,
/// `profiling`…, and the guests who withdrew profiling.
pub fn consents_of(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<GuestConsents> {
    let rows: Vec<(String, String, Option<String>, String)> = guest_consents::table
        .filter(guest_consents::org_id.eq(org_id))
        .filter(guest_consents::guest_id.eq_any(guest_ids))
        .order((guest_consents::recorded_at.asc(), guest_consents::id.asc()))
        .select((
            guest_consents::guest_id,
            guest_consents::purpose,
            guest_consents::channel,
            guest_consents::status,
        ))
        .load(conn)?;
    // The latest record per (guest, purpose, channel) is the state.
    let mut latest: HashMap<(String, String), String> = HashMap::new();
    for (guest, purpose, channel, status) in rows {
        let key = match channel {
            Some(c) => format!("{purpose}_{c}"),
            None => purpose,
        };
        latest.insert((guest, key), status);
    }
    let mut granted: HashMap<String, Vec<String>> = HashMap::new();
    let mut withdrew_profiling = HashSet::new();
    for ((guest, key), status) in latest {
        if status == "granted" {
            granted.entry(guest).or_default().push(key);
        } else if key == "profiling" {
            withdrew_profiling.insert(guest);
        }
    }
    Ok((granted, withdrew_profiling))
}

/// Those of these guests linked to a corporate account.
pub fn corporate_guests(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<HashSet<String>> {
    let corporate = accounts::table
        .filter(accounts::org_id.eq(org_id))
        .filter(accounts::kind.eq("corporate"))
        .select(accounts::id);
    Ok(account_guests::table
        .filter(account_guests::org_id.eq(org_id))
        .filter(account_guests::guest_id.eq_any(guest_ids))
        .filter(account_guests::account_id.eq_any(corporate))
        .select(account_guests::guest_id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// Guests whose stays, loyalty, consents or account links changed since
/// `since` (profile changes: see `guests::changed_since`).
pub fn related_changes_since(
    conn: &mut DbConnection,
    org_id: &str,
    since: NaiveDateTime,
) -> StorageResult<HashSet<String>> {
    let mut ids: HashSet<String> = HashSet::new();
    ids.extend(
        stays::table
            .filter(stays::org_id.eq(org_id))
            .filter(stays::checked_out_at.gt(since))
            .select(stays::guest_id)
            .load::<String>(conn)?,
    );
    ids.extend(
        loyalty_members::table
            .filter(loyalty_members::org_id.eq(org_id))
            .filter(loyalty_members::updated_at.gt(since))
            .select(loyalty_members::guest_id)
            .load::<String>(conn)?,
    );
    ids.extend(
        guest_consents::table
            .filter(guest_consents::org_id.eq(org_id))
            .filter(guest_consents::recorded_at.gt(since))
            .select(guest_consents::guest_id)
            .load::<String>(conn)?,
    );
    ids.extend(
        account_guests::table
            .filter(account_guests::org_id.eq(org_id))
            .filter(account_guests::created_at.gt(since))
            .select(account_guests::guest_id)
            .load::<String>(conn)?,
    );
    Ok(ids)
}

/// When the last insights run of the organisation started, if any.
pub fn last_run(conn: &mut DbConnection, org_id: &str) -> StorageResult<Option<NaiveDateTime>> {
    Ok(guest_insights::table
        .filter(guest_insights::org_id.eq(org_id))
        .select(diesel::dsl::max(guest_insights::computed_at))
        .first::<Option<NaiveDateTime>>(conn)?)
}

/// The insight rows of these guests.
pub fn find_many(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<Vec<InsightRow>> {
    Ok(guest_insights::table
        .filter(guest_insights::org_id.eq(org_id))
        .filter(guest_insights::guest_id.eq_any(guest_ids))
        .select(InsightRow::as_select())
        .load(conn)?)
}

/// Erasure: the guest's insight row and segment memberships go (they are
/// profiling of a person who asked to be forgotten).
pub fn forget_guest(conn: &mut DbConnection, org_id: &str, guest_id: &str) -> StorageResult<()> {
    use crate::schema::segment_members;
    diesel::delete(
        guest_insights::table
            .filter(guest_insights::org_id.eq(org_id))
            .filter(guest_insights::guest_id.eq(guest_id)),
    )
    .execute(conn)?;
    diesel::delete(
        segment_members::table
            .filter(segment_members::org_id.eq(org_id))
            .filter(segment_members::guest_id.eq(guest_id)),
    )
    .execute(conn)?;
    diesel::delete(
        guest_stay_months::table
            .filter(guest_stay_months::org_id.eq(org_id))
            .filter(guest_stay_months::guest_id.eq(guest_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// Guests born in `month`, with their birthday (the birthday messages).
pub fn birthdays_in_month(
    conn: &mut DbConnection,
    org_id: &str,
    month: i32,
) -> StorageResult<Vec<(String, NaiveDate)>> {
    let rows: Vec<(String, Option<NaiveDate>)> = guest_insights::table
        .filter(guest_insights::org_id.eq(org_id))
        .filter(guest_insights::birthday_month.eq(month))
        .select((guest_insights::guest_id, guest_insights::birthday))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(g, b)| b.map(|b| (g, b)))
        .collect())
}

/// The property of a guest's latest stay.
pub fn last_property_of(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Option<String>> {
    Ok(stays::table
        .filter(stays::org_id.eq(org_id))
        .filter(stays::guest_id.eq(guest_id))
        .order(stays::checked_out_at.desc())
        .select(stays::property_id)
        .first(conn)
        .optional()?)
}
