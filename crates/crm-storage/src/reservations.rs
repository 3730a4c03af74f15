//! Reservations, their room stays, revisions, and the stays check-out
//! produces with the guest statistics they feed.

use crate::codec::{enum_from_db, enum_to_db};
use crate::contracts::ContractNight;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::inventory::SoldNight;
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{
    channel_messages, guest_stats, reservation_revisions, reservation_rooms, reservations, stays,
};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::reservation::{room_night_deltas, CancellationPolicy, Channel, ReservationStatus};
use diesel::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reservations)]
struct ReservationRow {
    id: String,
    org_id: String,
    property_id: String,
    guest_id: String,
    channel: String,
    channel_code: String,
    channel_reservation_id: Option<String>,
    channel_last_modified: Option<NaiveDateTime>,
    confirmation_number: String,
    status: String,
    special_requests: Option<String>,
    guest_comments: Option<String>,
    currency: String,
    total_amount: i64,
    cancellation_fee: Option<i64>,
    compensation: Option<String>,
    status_changed_at: Option<NaiveDateTime>,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    account_id: Option<String>,
    contract_id: Option<String>,
    discount_amount: i64,
    coupon_code: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reservation_rooms)]
struct RoomRow {
    id: String,
    org_id: String,
    reservation_id: String,
    property_id: String,
    room_type_id: String,
    rate_plan_id: String,
    arrival: NaiveDate,
    departure: NaiveDate,
    adults: i32,
    children_ages: String,
    amount: i64,
    cancellation_policy: String,
    holds_inventory: bool,
    negotiated_amount: Option<i64>,
    /// The reservation's, repeated for contract performance.
    contract_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomStay {
    pub id: String,
    pub room_type_id: String,
    pub rate_plan_id: String,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub adults: i32,
    pub children_ages: Vec<u8>,
    /// Minor units of the reservation's currency.
    pub amount: i64,
    /// The rate plan's policy when booked.
    pub cancellation_policy: CancellationPolicy,
    pub holds_inventory: bool,
    /// What the reservation's contract prices the stay at (协议价), if it
    /// quotes one; `amount` differing from it is off-rate.
    pub negotiated_amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub id: String,
    pub org_id: String,
    pub property_id: String,
    pub guest_id: String,
    pub channel: Channel,
    /// `phone`, `ota`… for direct bookings; the pushing channel's code.
    pub channel_code: String,
    pub channel_reservation_id: Option<String>,
    /// Last-modified time of the channel message applied last.
    pub channel_last_modified: Option<DateTime<Utc>>,
    pub confirmation_number: String,
    pub status: ReservationStatus,
    pub special_requests: Option<String>,
    pub guest_comments: Option<String>,
    pub currency: String,
    pub total_amount: i64,
    pub cancellation_fee: Option<i64>,
    /// What a walked guest was given (free text: hotel, transport, refund).
    pub compensation: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The corporate or agency account it is booked for.
    pub account_id: Option<String>,
    /// The contract whose code it quoted.
    pub contract_id: Option<String>,
    /// What a campaign's coupon took off the rooms' amounts;
    /// `total_amount` is after it.
    pub discount_amount: i64,
    /// The campaign code it was booked with.
    pub coupon_code: Option<String>,
    pub rooms: Vec<RoomStay>,
}

fn row_of(r: &Reservation) -> StorageResult<ReservationRow> {
    Ok(ReservationRow {
        id: r.id.clone(),
        org_id: r.org_id.clone(),
        property_id: r.property_id.clone(),
        guest_id: r.guest_id.clone(),
        channel: enum_to_db(&r.channel)?,
        channel_code: r.channel_code.clone(),
        channel_reservation_id: r.channel_reservation_id.clone(),
        channel_last_modified: r.channel_last_modified.map(to_db),
        confirmation_number: r.confirmation_number.clone(),
        status: enum_to_db(&r.status)?,
        special_requests: r.special_requests.clone(),
        guest_comments: r.guest_comments.clone(),
        currency: r.currency.clone(),
        total_amount: r.total_amount,
        cancellation_fee: r.cancellation_fee,
        compensation: r.compensation.clone(),
        status_changed_at: r.status_changed_at.map(to_db),
        version: r.version,
        created_by: r.created_by.clone(),
        created_at: to_db(r.created_at),
        updated_at: to_db(r.updated_at),
        account_id: r.account_id.clone(),
        contract_id: r.contract_id.clone(),
        discount_amount: r.discount_amount,
        coupon_code: r.coupon_code.clone(),
    })
}

fn from_rows(r: ReservationRow, rooms: Vec<RoomRow>) -> StorageResult<Reservation> {
    let rooms = rooms
        .into_iter()
        .map(|x| {
            Ok(RoomStay {
                children_ages: serde_json::from_str(&x.children_ages)?,
                cancellation_policy: serde_json::from_str(&x.cancellation_policy)?,
                id: x.id,
                room_type_id: x.room_type_id,
                rate_plan_id: x.rate_plan_id,
                arrival: x.arrival,
                departure: x.departure,
                adults: x.adults,
                amount: x.amount,
                holds_inventory: x.holds_inventory,
                negotiated_amount: x.negotiated_amount,
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Reservation {
        channel: enum_from_db(&r.channel)?,
        status: enum_from_db(&r.status)?,
        id: r.id,
        org_id: r.org_id,
        property_id: r.property_id,
        guest_id: r.guest_id,
        channel_code: r.channel_code,
        channel_reservation_id: r.channel_reservation_id,
        channel_last_modified: r.channel_last_modified.map(from_db),
        confirmation_number: r.confirmation_number,
        special_requests: r.special_requests,
        guest_comments: r.guest_comments,
        currency: r.currency,
        total_amount: r.total_amount,
        cancellation_fee: r.cancellation_fee,
        compensation: r.compensation,
        status_changed_at: r.status_changed_at.map(from_db),
        version: r.version,
        created_by: r.created_by,
        created_at: from_db(r.created_at),
        updated_at: from_db(r.updated_at),
        account_id: r.account_id,
        contract_id: r.contract_id,
        discount_amount: r.discount_amount,
        coupon_code: r.coupon_code,
        rooms,
    })
}

/// Writes a new reservation and its room stays. Their nights are not
/// counted as sold until [`count_sold`]: a booking takes the nights' locks
/// last, so the inserts happen before it waits.
pub fn insert(conn: &mut DbConnection, r: &Reservation) -> StorageResult<()> {
    diesel::insert_into(reservations::table)
        .values(row_of(r)?)
        .execute(conn)?;
    insert_rooms(conn, r)
}

/// The counters a write moved, with their new values: rooms sold per room
/// type and night, and rooms booked per night under the reservation's
/// contract (its allotment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovedCounters {
    pub sold: Vec<SoldNight>,
    pub contract: Vec<ContractNight>,
}

/// Counts the nights of a new reservation's inventory-holding stays as
/// sold (and against its contract), in the caller's transaction; see
/// [`crate::inventory::add_sold_nights`].
pub fn count_sold(conn: &mut DbConnection, r: &Reservation) -> StorageResult<MovedCounters> {
    let after = holding(&r.rooms);
    move_counters(conn, r, &room_night_deltas(&[], &after))
}

fn move_counters(
    conn: &mut DbConnection,
    r: &Reservation,
    deltas: &[(String, NaiveDate, i64)],
) -> StorageResult<MovedCounters> {
    let sold = crate::inventory::add_sold_nights(conn, &r.org_id, deltas)?;
    let contract = match &r.contract_id {
        Some(contract_id) => {
            crate::contracts::add_contract_nights(conn, &r.org_id, contract_id, &nights_of(deltas))?
        }
        None => Vec::new(),
    };
    Ok(MovedCounters { sold, contract })
}

/// Room-night changes summed over room types, per night, in night order.
fn nights_of(deltas: &[(String, NaiveDate, i64)]) -> Vec<(NaiveDate, i64)> {
    let mut per_night: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for (_, night, n) in deltas {
        *per_night.entry(*night).or_default() += n;
    }
    per_night.into_iter().filter(|(_, n)| *n != 0).collect()
}

/// The (room type, arrival, departure) of the stays that hold inventory.
fn holding(rooms: &[RoomStay]) -> Vec<(&str, NaiveDate, NaiveDate)> {
    rooms
        .iter()
        .filter(|x| x.holds_inventory)
        .map(|x| (x.room_type_id.as_str(), x.arrival, x.departure))
        .collect()
}

fn insert_rooms(conn: &mut DbConnection, r: &Reservation) -> StorageResult<()> {
    for room in &r.rooms {
        diesel::insert_into(reservation_rooms::table)
            .values(RoomRow {
                id: room.id.clone(),
                org_id: r.org_id.clone(),
                reservation_id: r.id.clone(),
                property_id: r.property_id.clone(),
                room_type_id: room.room_type_id.clone(),
                rate_plan_id: room.rate_plan_id.clone(),
                arrival: room.arrival,
                departure: room.departure,
                adults: room.adults,
                children_ages: serde_json::to_string(&room.children_ages)?,
                amount: room.amount,
                cancellation_policy: serde_json::to_string(&room.cancellation_policy)?,
                holds_inventory: room.holds_inventory,
                negotiated_amount: room.negotiated_amount,
                contract_id: r.contract_id.clone(),
            })
            .execute(conn)?;
    }
    Ok(())
}

fn rooms_of(conn: &mut DbConnection, org_id: &str, ids: &[String]) -> StorageResult<Vec<RoomRow>> {
    Ok(reservation_rooms::table
        .filter(reservation_rooms::org_id.eq(org_id))
        .filter(reservation_rooms::reservation_id.eq_any(ids))
        .order(reservation_rooms::id.asc())
        .select(RoomRow::as_select())
        .load(conn)?)
}

fn assemble(
    conn: &mut DbConnection,
    org_id: &str,
    rows: Vec<ReservationRow>,
) -> StorageResult<Vec<Reservation>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut rooms = rooms_of(conn, org_id, &ids)?;
    rows.into_iter()
        .map(|r| {
            let (mine, rest): (Vec<RoomRow>, Vec<RoomRow>) =
                rooms.drain(..).partition(|x| x.reservation_id == r.id);
            rooms = rest;
            from_rows(r, mine)
        })
        .collect()
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Reservation> {
    let row: ReservationRow = reservations::table
        .filter(reservations::org_id.eq(org_id))
        .filter(reservations::id.eq(id))
        .select(ReservationRow::as_select())
        .first(conn)?;
    assemble(conn, org_id, vec![row])?
        .pop()
        .ok_or(StorageError::NotFound)
}

#[derive(Debug, Clone, Default)]
pub struct ReservationFilter {
    pub property_id: Option<String>,
    pub guest_id: Option<String>,
    pub status: Option<ReservationStatus>,
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &ReservationFilter,
    page: &PageRequest,
) -> StorageResult<Page<Reservation>> {
    let mut query = reservations::table
        .filter(reservations::org_id.eq(org_id.to_string()))
        .select(ReservationRow::as_select())
        .into_boxed();
    if let Some(p) = &filter.property_id {
        query = query.filter(reservations::property_id.eq(p.clone()));
    }
    if let Some(g) = &filter.guest_id {
        query = query.filter(reservations::guest_id.eq(g.clone()));
    }
    if let Some(s) = &filter.status {
        query = query.filter(reservations::status.eq(enum_to_db(s)?));
    }
    let rows: Vec<ReservationRow> = paginate!(query, reservations::id, page).load(conn)?;
    let items = assemble(conn, org_id, rows)?;
    Ok(Page::from_rows(items, page.limit, |r| r.id.clone()))
}

/// Writes the reservation's own fields and each room's inventory hold, if
/// the stored version is still `expected_version`. Returns the rooms-sold
/// counters that moved (see [`crate::inventory::add_sold_nights`]): the
/// caller checks those that went up against their nights' capacity.
pub fn update(
    conn: &mut DbConnection,
    r: &Reservation,
    expected_version: i32,
) -> StorageResult<MovedCounters> {
    let row = row_of(r)?;
    let n = diesel::update(
        reservations::table
            .filter(reservations::org_id.eq(&r.org_id))
            .filter(reservations::id.eq(&r.id))
            .filter(reservations::version.eq(expected_version)),
    )
    .set((
        reservations::guest_id.eq(row.guest_id),
        reservations::channel_last_modified.eq(row.channel_last_modified),
        reservations::status.eq(row.status),
        reservations::special_requests.eq(row.special_requests),
        reservations::guest_comments.eq(row.guest_comments),
        reservations::total_amount.eq(row.total_amount),
        reservations::discount_amount.eq(row.discount_amount),
        reservations::coupon_code.eq(row.coupon_code),
        reservations::cancellation_fee.eq(row.cancellation_fee),
        reservations::compensation.eq(row.compensation),
        reservations::status_changed_at.eq(row.status_changed_at),
        reservations::version.eq(row.version),
        reservations::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    // Rooms are rewritten whole: a modification may change any of them;
    // the rooms-sold counters move by the difference.
    let old_rooms = rooms_of(conn, &r.org_id, std::slice::from_ref(&r.id))?;
    let before: Vec<(&str, NaiveDate, NaiveDate)> = old_rooms
        .iter()
        .filter(|x| x.holds_inventory)
        .map(|x| (x.room_type_id.as_str(), x.arrival, x.departure))
        .collect();
    let after = holding(&r.rooms);
    let deltas = room_night_deltas(&before, &after);
    diesel::delete(
        reservation_rooms::table
            .filter(reservation_rooms::org_id.eq(&r.org_id))
            .filter(reservation_rooms::reservation_id.eq(&r.id)),
    )
    .execute(conn)?;
    insert_rooms(conn, r)?;
    // Last: the counters stay locked until commit.
    move_counters(conn, r, &deltas)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub id: String,
    pub reservation_id: String,
    pub version: i32,
    /// `created`, `cancelled`, `checked_in`…
    pub action: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub changed_fields: Vec<String>,
    pub raw_message: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn insert_revision(conn: &mut DbConnection, org_id: &str, rev: &Revision) -> StorageResult<()> {
    diesel::insert_into(reservation_revisions::table)
        .values((
            reservation_revisions::id.eq(&rev.id),
            reservation_revisions::org_id.eq(org_id),
            reservation_revisions::reservation_id.eq(&rev.reservation_id),
            reservation_revisions::version.eq(rev.version),
            reservation_revisions::action.eq(&rev.action),
            reservation_revisions::actor_kind.eq(&rev.actor_kind),
            reservation_revisions::actor_id.eq(&rev.actor_id),
            reservation_revisions::changed_fields.eq(serde_json::to_string(&rev.changed_fields)?),
            reservation_revisions::raw_message.eq(&rev.raw_message),
            reservation_revisions::created_at.eq(to_db(rev.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

type RevisionTuple = (
    String,
    String,
    i32,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    NaiveDateTime,
);

pub fn revisions(
    conn: &mut DbConnection,
    org_id: &str,
    reservation_id: &str,
) -> StorageResult<Vec<Revision>> {
    let rows: Vec<RevisionTuple> = reservation_revisions::table
        .filter(reservation_revisions::org_id.eq(org_id))
        .filter(reservation_revisions::reservation_id.eq(reservation_id))
        .order(reservation_revisions::id.asc())
        .select((
            reservation_revisions::id,
            reservation_revisions::reservation_id,
            reservation_revisions::version,
            reservation_revisions::action,
            reservation_revisions::actor_kind,
            reservation_revisions::actor_id,
            reservation_revisions::changed_fields,
            reservation_revisions::raw_message,
            reservation_revisions::created_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(
                id,
                reservation_id,
                version,
                action,
                actor_kind,
                actor_id,
                changed,
                raw_message,
                created_at,
            )| {
                Ok(Revision {
                    id,
                    reservation_id,
                    version,
                    action,
                    actor_kind,
                    actor_id,
                    changed_fields: serde_json::from_str(&changed)?,
                    raw_message,
                    created_at: from_db(created_at),
                })
            },
        )
        .collect()
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = stays)]
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

/// A completed stay (入住记录).
pub type Stay = StayRow;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuestStats {
    pub stays: i32,
    pub nights: i32,
    /// Lifetime spend per currency, minor units.
    pub spend: BTreeMap<String, i64>,
    /// Completed stays per channel.
    pub channel_mix: BTreeMap<String, i32>,
    pub first_stay_on: Option<NaiveDate>,
    pub last_stay_on: Option<NaiveDate>,
}

pub fn guest_stats(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<GuestStats> {
    let row: Option<(i32, i32, String, String, NaiveDate, NaiveDate)> = guest_stats::table
        .filter(guest_stats::org_id.eq(org_id))
        .filter(guest_stats::guest_id.eq(guest_id))
        .select((
            guest_stats::stays,
            guest_stats::nights,
            guest_stats::spend,
            guest_stats::channel_mix,
            guest_stats::first_stay_on,
            guest_stats::last_stay_on,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => GuestStats::default(),
        Some((stays, nights, spend, mix, first, last)) => GuestStats {
            stays,
            nights,
            spend: serde_json::from_str(&spend)?,
            channel_mix: serde_json::from_str(&mix)?,
            first_stay_on: Some(first),
            last_stay_on: Some(last),
        },
    })
}

/// Records a stay and folds it into the guest's statistics.
pub fn record_stay(
    conn: &mut DbConnection,
    stay: &Stay,
    now: DateTime<Utc>,
) -> StorageResult<GuestStats> {
    diesel::insert_into(stays::table)
        .values(stay)
        .execute(conn)?;
    let mut s = guest_stats(conn, &stay.org_id, &stay.guest_id)?;
    let existed = s.first_stay_on.is_some();
    s.stays += 1;
    s.nights += stay.nights;
    *s.spend.entry(stay.currency.clone()).or_default() += stay.total_revenue;
    *s.channel_mix.entry(stay.channel.clone()).or_default() += 1;
    s.first_stay_on = Some(
        s.first_stay_on
            .map_or(stay.arrival, |f| f.min(stay.arrival)),
    );
    s.last_stay_on = Some(s.last_stay_on.map_or(stay.arrival, |l| l.max(stay.arrival)));
    let values = (
        guest_stats::stays.eq(s.stays),
        guest_stats::nights.eq(s.nights),
        guest_stats::spend.eq(serde_json::to_string(&s.spend)?),
        guest_stats::channel_mix.eq(serde_json::to_string(&s.channel_mix)?),
        guest_stats::first_stay_on.eq(s.first_stay_on.unwrap_or(stay.arrival)),
        guest_stats::last_stay_on.eq(s.last_stay_on.unwrap_or(stay.arrival)),
        guest_stats::updated_at.eq(to_db(now)),
    );
    if existed {
        diesel::update(guest_stats::table.filter(guest_stats::guest_id.eq(&stay.guest_id)))
            .set(values)
            .execute(conn)?;
    } else {
        diesel::insert_into(guest_stats::table)
            .values((
                guest_stats::guest_id.eq(&stay.guest_id),
                guest_stats::org_id.eq(&stay.org_id),
                values,
            ))
            .execute(conn)?;
    }
    Ok(s)
}

pub fn stays_of_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Stay>> {
    let query = stays::table
        .filter(stays::org_id.eq(org_id.to_string()))
        .filter(stays::guest_id.eq(guest_id.to_string()))
        .select(StayRow::as_select())
        .into_boxed();
    let rows: Vec<StayRow> = paginate!(query, stays::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |s| s.id.clone()))
}

/// The reservation a channel knows by `channel_reservation_id`.
pub fn find_by_channel_key(
    conn: &mut DbConnection,
    org_id: &str,
    channel_code: &str,
    channel_reservation_id: &str,
) -> StorageResult<Option<Reservation>> {
    let row: Option<ReservationRow> = reservations::table
        .filter(reservations::org_id.eq(org_id))
        .filter(reservations::channel_code.eq(channel_code))
        .filter(reservations::channel_reservation_id.eq(channel_reservation_id))
        .select(ReservationRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(r) => Ok(assemble(conn, org_id, vec![r])?.pop()),
        None => Ok(None),
    }
}

/// One push from a channel, kept after card data was removed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelMessage {
    pub id: String,
    pub org_id: String,
    pub channel_code: String,
    pub channel_reservation_id: String,
    /// `create`, `modify` or `cancel`.
    pub action: String,
    pub last_modified: DateTime<Utc>,
    pub message_hash: String,
    /// What hotel-crm did with it: `created`, `modified`, `cancelled`,
    /// `stale`, `cancel_remembered`, `already_cancelled`.
    pub outcome: String,
    pub reservation_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

type MessageTuple = (
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    String,
    String,
    Option<String>,
    NaiveDateTime,
);

fn message_from(t: MessageTuple) -> ChannelMessage {
    let (
        id,
        org_id,
        channel_code,
        channel_reservation_id,
        action,
        last_modified,
        message_hash,
        outcome,
        reservation_id,
        created_at,
    ) = t;
    ChannelMessage {
        id,
        org_id,
        channel_code,
        channel_reservation_id,
        action,
        last_modified: from_db(last_modified),
        message_hash,
        outcome,
        reservation_id,
        created_at: from_db(created_at),
    }
}

macro_rules! message_columns {
    () => {
        (
            channel_messages::id,
            channel_messages::org_id,
            channel_messages::channel_code,
            channel_messages::channel_reservation_id,
            channel_messages::action,
            channel_messages::last_modified,
            channel_messages::message_hash,
            channel_messages::outcome,
            channel_messages::reservation_id,
            channel_messages::created_at,
        )
    };
}

/// What earlier pushes say about a new one: the identical message already
/// received (same hash), and the newest cancel for the same channel
/// reservation.
///
/// One probe of the natural-key index reads the booking's whole message
/// history (a handful of rows). The hash covers the message's content,
/// channel reservation id included, so an identical message is always in
/// that history; the unique hash key stays as the guarantee.
pub fn earlier_messages(
    conn: &mut DbConnection,
    org_id: &str,
    channel_code: &str,
    hash: &str,
    channel_reservation_id: &str,
) -> StorageResult<(Option<ChannelMessage>, Option<ChannelMessage>)> {
    let history: Vec<MessageTuple> = channel_messages::table
        .filter(channel_messages::org_id.eq(org_id))
        .filter(channel_messages::channel_reservation_id.eq(channel_reservation_id))
        .filter(channel_messages::channel_code.eq(channel_code))
        .select(message_columns!())
        .load(conn)?;
    let mut same = None;
    let mut cancel: Option<ChannelMessage> = None;
    for m in history.into_iter().map(message_from) {
        if m.message_hash == hash {
            same = Some(m.clone());
        }
        if m.action == "cancel"
            && cancel
                .as_ref()
                .is_none_or(|c| m.last_modified > c.last_modified)
        {
            cancel = Some(m);
        }
    }
    Ok((same, cancel))
}

pub fn insert_message(conn: &mut DbConnection, m: &ChannelMessage) -> StorageResult<()> {
    diesel::insert_into(channel_messages::table)
        .values((
            channel_messages::id.eq(&m.id),
            channel_messages::org_id.eq(&m.org_id),
            channel_messages::channel_code.eq(&m.channel_code),
            channel_messages::channel_reservation_id.eq(&m.channel_reservation_id),
            channel_messages::action.eq(&m.action),
            channel_messages::last_modified.eq(to_db(m.last_modified)),
            channel_messages::message_hash.eq(&m.message_hash),
            channel_messages::outcome.eq(&m.outcome),
            channel_messages::reservation_id.eq(&m.reservation_id),
            channel_messages::created_at.eq(to_db(m.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Erasure: clears the free text and raw channel messages of a guest's
/// reservations, which can hold personal data; amounts, dates and statuses
/// stay for the hotel's figures.
pub fn scrub_guest(conn: &mut DbConnection, org_id: &str, guest_id: &str) -> StorageResult<()> {
    let ids: Vec<String> = reservations::table
        .filter(reservations::org_id.eq(org_id))
        .filter(reservations::guest_id.eq(guest_id))
        .select(reservations::id)
        .load(conn)?;
    diesel::update(
        reservations::table
            .filter(reservations::org_id.eq(org_id))
            .filter(reservations::id.eq_any(&ids)),
    )
    .set((
        reservations::special_requests.eq(None::<String>),
        reservations::guest_comments.eq(None::<String>),
        reservations::compensation.eq(None::<String>),
    ))
    .execute(conn)?;
    diesel::update(
        reservation_revisions::table
            .filter(reservation_revisions::org_id.eq(org_id))
            .filter(reservation_revisions::reservation_id.eq_any(&ids)),
    )
    .set(reservation_revisions::raw_message.eq(None::<String>))
    .execute(conn)?;
    Ok(())
}

/// Stays, nights and total revenue in `currency` of a guest's stays
/// departing after `after` (a stay exists once checked out, so all of them
/// are complete; an early check-out keeps its booked departure): the
/// counters a loyalty tier qualifies on.
pub fn stay_counters(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    after: NaiveDate,
    currency: &str,
) -> StorageResult<(i64, i64, i64)> {
    let rows: Vec<(i32, i64, String)> = stays::table
        .filter(stays::org_id.eq(org_id))
        .filter(stays::guest_id.eq(guest_id))
        .filter(stays::departure.gt(after))
        .select((stays::nights, stays::total_revenue, stays::currency))
        .load(conn)?;
    Ok((
        rows.len() as i64,
        rows.iter().map(|(n, _, _)| i64::from(*n)).sum(),
        rows.iter()
            .filter(|(_, _, c)| c == currency)
            .map(|(_, r, _)| *r)
            .sum(),
    ))
}

/// Id, booked total and currency of each of a guest's reservations that
/// may still turn into a stay (confirmed or checked in).
pub fn open_bookings(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Vec<(String, i64, String)>> {
    let open = [
        enum_to_db(&ReservationStatus::Confirmed)?,
        enum_to_db(&ReservationStatus::CheckedIn)?,
    ];
    Ok(reservations::table
        .filter(reservations::org_id.eq(org_id))
        .filter(reservations::guest_id.eq(guest_id))
        .filter(reservations::status.eq_any(open))
        .select((
            reservations::id,
            reservations::total_amount,
            reservations::currency,
        ))
        .load(conn)?)
}

/// The reservation a stay closed.
pub fn stay_reservation_id(
    conn: &mut DbConnection,
    org_id: &str,
    stay_id: &str,
) -> StorageResult<Option<String>> {
    Ok(stays::table
        .filter(stays::org_id.eq(org_id))
        .filter(stays::id.eq(stay_id))
        .select(stays::reservation_id)
        .first(conn)
        .optional()?)
}

/// Confirmed reservations of a property with a room arriving on `date`
/// (the pre-arrival messages).
pub fn arriving_on(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
    date: NaiveDate,
) -> StorageResult<Vec<String>> {
    Ok(reservation_rooms::table
        .inner_join(reservations::table.on(reservations::id.eq(reservation_rooms::reservation_id)))
        .filter(reservations::org_id.eq(org_id))
        .filter(reservations::property_id.eq(property_id))
        .filter(reservations::status.eq("confirmed"))
        .filter(reservation_rooms::org_id.eq(org_id))
        .filter(reservation_rooms::arrival.eq(date))
        .select(reservations::id)
        .distinct()
        .load(conn)?)
}
