//! Aggregates for reports: each one query (or two) that groups in the
//! database, on either backend.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::{
    guest_insights, guest_stay_months, loyalty_members, loyalty_tiers, points_lots,
    reservation_rooms, reservations, room_types, stays,
};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// The guests and stays a report covers.
#[derive(Debug, Clone, Default)]
pub struct ReportScope {
    pub property_id: Option<String>,
    /// Stays arriving on or after.
    pub from: Option<NaiveDate>,
    /// Stays arriving on or before.
    pub to: Option<NaiveDate>,
}

impl ReportScope {
    /// The date range, with far-away bounds for the sides not given
    /// (ones both databases compare, SQLite as text).
    pub fn dates(&self) -> (NaiveDate, NaiveDate) {
        let far_past = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let far_future = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        (self.from.unwrap_or(far_past), self.to.unwrap_or(far_future))
    }

    fn all_properties(&self) -> bool {
        self.property_id.is_none()
    }

    fn property(&self) -> String {
        self.property_id.clone().unwrap_or_default()
    }
}

/// The guests of an organisation in scope: stayed at the property, with a
/// stay that may fall in the date range. Fixed-shape filters (optional
/// parts become `TRUE OR …`) so the queries can still group.
macro_rules! guests_in_scope {
    ($org:expr, $scope:expr) => {{
        let (from, to) = $scope.dates();
        guest_insights::table
            .filter(guest_insights::org_id.eq($org.to_string()))
            .filter(
                $scope
                    .all_properties()
                    .into_sql::<diesel::sql_types::Bool>()
                    .or(guest_insights::properties.like(format!("%|{}|%", $scope.property()))),
            )
            .filter(
                ($scope.from.is_none())
                    .into_sql::<diesel::sql_types::Bool>()
                    .or(guest_insights::last_stay_on.ge(from).assume_not_null()),
            )
            .filter(
                ($scope.to.is_none())
                    .into_sql::<diesel::sql_types::Bool>()
                    .or(guest_insights::first_stay_on.le(to).assume_not_null()),
            )
    }};
}

macro_rules! stays_in_scope {
    ($org:expr, $scope:expr) => {{
        let (from, to) = $scope.dates();
        stays::table
            .filter(stays::org_id.eq($org.to_string()))
            .filter(
                $scope
                    .all_properties()
                    .into_sql::<diesel::sql_types::Bool>()
                    .or(stays::property_id.eq($scope.property())),
            )
            .filter(stays::arrival.between(from, to))
    }};
}

/// Guests per value of one insight column.
pub fn guests_by(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
    dimension: &str,
) -> StorageResult<Vec<(Option<String>, i64)>> {
    Ok(match dimension {
        "tier" => guests_in_scope!(org, scope)
            .group_by(guest_insights::tier_code)
            .select((guest_insights::tier_code, count_star()))
            .load(conn)?,
        "value_class" => guests_in_scope!(org, scope)
            .group_by(guest_insights::value_class)
            .select((guest_insights::value_class, count_star()))
            .load(conn)?,
        "travel_purpose" => guests_in_scope!(org, scope)
            .group_by(guest_insights::travel_purpose)
            .select((guest_insights::travel_purpose, count_star()))
            .load(conn)?,
        "nationality" => guests_in_scope!(org, scope)
            .group_by(guest_insights::nationality)
            .select((guest_insights::nationality, count_star()))
            .load(conn)?,
        "churn_grade" => guests_in_scope!(org, scope)
            .group_by(guest_insights::churn_grade)
            .select((guest_insights::churn_grade, count_star()))
            .load(conn)?,
        "gender" => guests_in_scope!(org, scope)
            .group_by(guest_insights::gender)
            .select((guest_insights::gender, count_star()))
            .load(conn)?,
        _ => Vec::new(),
    })
}

/// Guests per birthday (for age bands, which depend on today).
pub fn guests_by_birthday(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
) -> StorageResult<Vec<(Option<NaiveDate>, i64)>> {
    Ok(guests_in_scope!(org, scope)
        .group_by(guest_insights::birthday)
        .select((guest_insights::birthday, count_star()))
        .load(conn)?)
}

/// Guests and spend per spend band.
pub fn spend_bands(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
) -> StorageResult<Vec<(String, i64, i64)>> {
    Ok(guests_in_scope!(org, scope)
        .group_by(guest_insights::spend_band)
        .select((
            guest_insights::spend_band,
            count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(guest_insights.spend), 0) AS BIGINT)"),
        ))
        .load(conn)?)
}

/// (acquisition channel, guests, total spend, total stays).
pub type ChannelValue = (Option<String>, i64, i64, i64);

/// Guests, total spend and stays per acquisition channel.
pub fn value_by_acquisition_channel(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
) -> StorageResult<Vec<ChannelValue>> {
    Ok(guests_in_scope!(org, scope)
        .filter(guest_insights::stays.gt(0))
        .group_by(guest_insights::acquisition_channel)
        .select((
            guest_insights::acquisition_channel,
            count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(guest_insights.spend), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(guest_insights.stays), 0) AS BIGINT)"),
        ))
        .load(conn)?)
}

/// Stays, room-nights and revenue (in `currency`) per channel.
pub fn stays_by_channel(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
    currency: &str,
) -> StorageResult<Vec<(String, i64, i64, i64)>> {
    Ok(stays_in_scope!(org, scope)
        .group_by(stays::channel)
        .select((
            stays::channel,
            count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(stays.nights), 0) AS BIGINT)"),
            sql::<BigInt>(&format!(
                "CAST(COALESCE(SUM(CASE WHEN stays.currency = '{}' THEN stays.total_revenue ELSE 0 END), 0) AS BIGINT)",
                sanitize_currency(currency)
            )),
        ))
        .load(conn)?)
}

/// ISO 4217 codes are three letters; anything else never reaches SQL.
fn sanitize_currency(c: &str) -> String {
    c.chars()
        .filter(|c| c.is_ascii_uppercase())
        .take(3)
        .collect()
}

/// Reservations per channel arriving in scope (every status), and how many
/// were cancelled or not shown.
pub fn reservations_by_channel(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
) -> StorageResult<Vec<(String, i64, i64)>> {
    let (from, to) = scope.dates();
    let no_dates = scope.from.is_none() && scope.to.is_none();
    Ok(reservations::table
        .filter(reservations::org_id.eq(org))
        .filter(
            scope
                .all_properties()
                .into_sql::<diesel::sql_types::Bool>()
                .or(reservations::property_id.eq(scope.property())),
        )
        .filter(
            no_dates.into_sql::<diesel::sql_types::Bool>().or(reservations::id.eq_any(
                reservation_rooms::table
                    .filter(reservation_rooms::org_id.eq(org))
                    .filter(reservation_rooms::arrival.between(from, to))
                    .select(reservation_rooms::reservation_id),
            )),
        )
        .group_by(reservations::channel)
        .select((
            reservations::channel,
            count_star(),
            sql::<BigInt>(
                "CAST(SUM(CASE WHEN reservations.status IN ('cancelled', 'no_show', 'walked') THEN 1 ELSE 0 END) AS BIGINT)",
            ),
        ))
        .load(conn)?)
}

/// Guests with a stay in scope, and those with two or more (复住).
pub fn repeat_guests(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
) -> StorageResult<(i64, i64)> {
    if scope.all_properties() && scope.from.is_none() && scope.to.is_none() {
        // Every stay: the per-guest counters check-out keeps, exact and
        // one narrow table instead of every stay.
        use crate::schema::guest_stats;
        let (guests, repeaters): (i64, Option<i64>) = guest_stats::table
            .filter(guest_stats::org_id.eq(org))
            .filter(guest_stats::stays.ge(1))
            .select((
                count_star(),
                sql::<diesel::sql_types::Nullable<BigInt>>(
                    "CAST(SUM(CASE WHEN guest_stats.stays >= 2 THEN 1 ELSE 0 END) AS BIGINT)",
                ),
            ))
            .first(conn)?;
        return Ok((guests, repeaters.unwrap_or(0)));
    }
    let guests: i64 = stays_in_scope!(org, scope)
        .select(diesel::dsl::count(stays::guest_id).aggregate_distinct())
        .first(conn)?;
    let repeaters: i64 = guest_insights::table
        .filter(guest_insights::org_id.eq(org))
        .filter(
            guest_insights::guest_id.eq_any(
                stays_in_scope!(org, scope)
                    .group_by(stays::guest_id)
                    .having(count_star().ge(2))
                    .select(stays::guest_id),
            ),
        )
        .count()
        .get_result(conn)?;
    Ok((guests, repeaters))
}

/// Guests per (first-stay month, months after it): the cohorts, from the
/// months kept with each guest's insights (one narrow index); for one
/// property, from its stays (first stays at any property).
pub fn cohorts(
    conn: &mut DbConnection,
    org: &str,
    scope: &ReportScope,
) -> StorageResult<Vec<(String, i32, i64)>> {
    let (from, to) = scope.dates();
    let month = |d: NaiveDate| format!("{:04}-{:02}", d.year(), d.month());
    if scope.all_properties() {
        return Ok(guest_stay_months::table
            .filter(guest_stay_months::org_id.eq(org))
            .filter(guest_stay_months::cohort_month.between(month(from), month(to)))
            .group_by((
                guest_stay_months::cohort_month,
                guest_stay_months::months_after,
            ))
            .select((
                guest_stay_months::cohort_month,
                guest_stay_months::months_after,
                count_star(),
            ))
            .load(conn)?);
    }
    // `ym` is a SQL function on both databases (see crate::db).
    let rows: Vec<(Option<String>, String, i64)> = stays::table
        .inner_join(guest_insights::table)
        .filter(stays::org_id.eq(org))
        .filter(stays::property_id.eq(scope.property()))
        .filter(guest_insights::first_stay_on.between(from, to))
        // Grouping by an expression: diesel checks groupings column by
        // column, so this one is written out.
        .group_by(sql::<Text>(
            "guest_insights.first_stay_month, ym(stays.arrival)",
        ))
        .select((
            sql::<diesel::sql_types::Nullable<Text>>("guest_insights.first_stay_month"),
            sql::<Text>("ym(stays.arrival)"),
            diesel::dsl::count(stays::guest_id).aggregate_distinct(),
        ))
        .load(conn)?;
    let index = |m: &str| -> Option<i32> {
        let (y, mo) = m.split_once('-')?;
        Some(y.parse::<i32>().ok()? * 12 + mo.parse::<i32>().ok()?)
    };
    Ok(rows
        .into_iter()
        .filter_map(|(cohort, stay_month, n)| {
            let c = cohort?;
            let after = index(&stay_month)? - index(&c)?;
            Some((c, after, n))
        })
        .collect())
}

/// (tier code, members, points) per tier, and the points expiring.
pub type Liability = (Vec<(String, i64, i64)>, i64);

/// Points outstanding per tier, and what expires by `until`.
pub fn points_liability(
    conn: &mut DbConnection,
    org: &str,
    until: NaiveDate,
) -> StorageResult<Liability> {
    let tiers: Vec<(String, String)> = loyalty_tiers::table
        .filter(loyalty_tiers::org_id.eq(org))
        .order(loyalty_tiers::rank.asc())
        .select((loyalty_tiers::id, loyalty_tiers::code))
        .load(conn)?;
    let per_tier: Vec<(String, i64, i64)> = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org))
        .group_by(loyalty_members::tier_id)
        .select((
            loyalty_members::tier_id,
            count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(loyalty_members.points_balance), 0) AS BIGINT)"),
        ))
        .load(conn)?;
    let expiring: i64 = points_lots::table
        .filter(points_lots::org_id.eq(org))
        .filter(points_lots::remaining.gt(0))
        .filter(points_lots::expires_on.le(until))
        .select(sql::<BigInt>(
            "CAST(COALESCE(SUM(points_lots.remaining), 0) AS BIGINT)",
        ))
        .first(conn)?;
    let rows = tiers
        .into_iter()
        .map(|(id, code)| {
            let (members, points) = per_tier
                .iter()
                .find(|(t, _, _)| *t == id)
                .map(|(_, m, p)| (*m, *p))
                .unwrap_or((0, 0));
            (code, members, points)
        })
        .collect();
    Ok((rows, expiring))
}

/// The home screen's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    pub guests: i64,
    pub new_guests_this_month: i64,
    pub members: i64,
    pub arrivals_today: i64,
    pub in_house: i64,
    pub departures_today: i64,
    pub rooms: i64,
    pub rooms_sold_tonight: i64,
    pub stays_this_month: i64,
    pub revenue_this_month: i64,
    pub vip_guests: i64,
    pub high_churn_guests: i64,
}

pub fn dashboard(
    conn: &mut DbConnection,
    org: &str,
    property: Option<&str>,
    today: NaiveDate,
    month_start: NaiveDate,
    month_start_at: NaiveDateTime,
    currency: &str,
) -> StorageResult<Dashboard> {
    use crate::schema::{guests, room_nights_sold};
    let guests_total: i64 = guests::table
        .filter(guests::org_id.eq(org))
        .filter(guests::erased_at.is_null())
        .count()
        .get_result(conn)?;
    let new_guests: i64 = guests::table
        .filter(guests::org_id.eq(org))
        .filter(guests::created_at.ge(month_start_at))
        .count()
        .get_result(conn)?;
    let members: i64 = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org))
        .count()
        .get_result(conn)?;
    let mut arrivals = reservations::table
        .inner_join(
            reservation_rooms::table.on(reservation_rooms::reservation_id.eq(reservations::id)),
        )
        .filter(reservations::org_id.eq(org))
        .filter(reservations::status.eq("confirmed"))
        .filter(reservation_rooms::arrival.eq(today))
        .into_boxed();
    let mut in_house = reservations::table
        .filter(reservations::org_id.eq(org))
        .filter(reservations::status.eq("checked_in"))
        .into_boxed();
    let mut departures = reservations::table
        .inner_join(
            reservation_rooms::table.on(reservation_rooms::reservation_id.eq(reservations::id)),
        )
        .filter(reservations::org_id.eq(org))
        .filter(reservations::status.eq("checked_in"))
        .filter(reservation_rooms::departure.eq(today))
        .into_boxed();
    let mut rooms = room_types::table
        .filter(room_types::org_id.eq(org))
        .into_boxed();
    let mut sold = room_nights_sold::table
        .filter(room_nights_sold::org_id.eq(org))
        .filter(room_nights_sold::night.eq(today))
        .into_boxed();
    let mut month_stays = stays::table
        .filter(stays::org_id.eq(org))
        .filter(stays::departure.ge(month_start))
        .filter(stays::departure.le(today))
        .into_boxed();
    if let Some(p) = property {
        arrivals = arrivals.filter(reservations::property_id.eq(p));
        in_house = in_house.filter(reservations::property_id.eq(p));
        departures = departures.filter(reservations::property_id.eq(p));
        rooms = rooms.filter(room_types::property_id.eq(p));
        let types = room_types::table
            .filter(room_types::org_id.eq(org))
            .filter(room_types::property_id.eq(p))
            .select(room_types::id);
        sold = sold.filter(room_nights_sold::room_type_id.eq_any(types));
        month_stays = month_stays.filter(stays::property_id.eq(p));
    }
    let (stays_this_month, revenue_this_month): (i64, i64) = month_stays
        .select((
            count_star(),
            sql::<BigInt>(&format!(
                "CAST(COALESCE(SUM(CASE WHEN stays.currency = '{}' THEN stays.total_revenue ELSE 0 END), 0) AS BIGINT)",
                sanitize_currency(currency)
            )),
        ))
        .first(conn)?;
    let vip: i64 = guest_insights::table
        .filter(guest_insights::org_id.eq(org))
        .filter(guest_insights::value_class.eq("vip"))
        .count()
        .get_result(conn)?;
    let high_churn: i64 = guest_insights::table
        .filter(guest_insights::org_id.eq(org))
        .filter(guest_insights::churn_grade.eq("high"))
        .count()
        .get_result(conn)?;
    Ok(Dashboard {
        guests: guests_total,
        new_guests_this_month: new_guests,
        members,
        arrivals_today: arrivals.count().get_result(conn)?,
        in_house: in_house.count().get_result(conn)?,
        departures_today: departures.count().get_result(conn)?,
        rooms: rooms
            .select(sql::<BigInt>(
                "CAST(COALESCE(SUM(room_types.room_count), 0) AS BIGINT)",
            ))
            .first(conn)?,
        rooms_sold_tonight: sold
            .select(sql::<BigInt>(
                "CAST(COALESCE(SUM(room_nights_sold.sold), 0) AS BIGINT)",
            ))
            .first(conn)?,
        stays_this_month,
        revenue_this_month,
        vip_guests: vip,
        high_churn_guests: high_churn,
    })
}
