//! Room types, rate plans and per-date inventory overrides of a property.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::{inventory_overrides, rate_plans, room_nights_sold, room_types};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::reservation::{CancellationPolicy, MealPlan};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = room_types)]
struct RoomTypeRow {
    id: String,
    org_id: String,
    property_id: String,
    code: String,
    name: String,
    room_count: i32,
    max_occupancy: i32,
    overbooking_percent: i32,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomType {
    pub id: String,
    pub org_id: String,
    pub property_id: String,
    pub code: String,
    pub name: String,
    pub room_count: i32,
    pub max_occupancy: i32,
    /// Rooms that may be sold beyond `room_count`, in percent of it.
    pub overbooking_percent: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RoomTypeRow> for RoomType {
    fn from(r: RoomTypeRow) -> Self {
        RoomType {
            id: r.id,
            org_id: r.org_id,
            property_id: r.property_id,
            code: r.code,
            name: r.name,
            room_count: r.room_count,
            max_occupancy: r.max_occupancy,
            overbooking_percent: r.overbooking_percent,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        }
    }
}

fn room_type_row(t: &RoomType) -> RoomTypeRow {
    RoomTypeRow {
        id: t.id.clone(),
        org_id: t.org_id.clone(),
        property_id: t.property_id.clone(),
        code: t.code.clone(),
        name: t.name.clone(),
        room_count: t.room_count,
        max_occupancy: t.max_occupancy,
        overbooking_percent: t.overbooking_percent,
        version: t.version,
        created_at: to_db(t.created_at),
        updated_at: to_db(t.updated_at),
    }
}

pub fn insert_room_type(conn: &mut DbConnection, t: &RoomType) -> StorageResult<()> {
    diesel::insert_into(room_types::table)
        .values(room_type_row(t))
        .execute(conn)?;
    Ok(())
}

pub fn update_room_type(
    conn: &mut DbConnection,
    t: &RoomType,
    expected_version: i32,
) -> StorageResult<()> {
    let row = room_type_row(t);
    let n = diesel::update(
        room_types::table
            .filter(room_types::org_id.eq(&t.org_id))
            .filter(room_types::id.eq(&t.id))
            .filter(room_types::version.eq(expected_version)),
    )
    .set((
        room_types::code.eq(row.code),
        room_types::name.eq(row.name),
        room_types::room_count.eq(row.room_count),
        room_types::max_occupancy.eq(row.max_occupancy),
        room_types::overbooking_percent.eq(row.overbooking_percent),
        room_types::version.eq(row.version),
        room_types::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

pub fn room_types_of(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
) -> StorageResult<Vec<RoomType>> {
    Ok(room_types::table
        .filter(room_types::org_id.eq(org_id))
        .filter(room_types::property_id.eq(property_id))
        .order(room_types::id.asc())
        .select(RoomTypeRow::as_select())
        .load(conn)?
        .into_iter()
        .map(RoomType::from)
        .collect())
}

pub fn find_room_type(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<RoomType> {
    Ok(room_types::table
        .filter(room_types::org_id.eq(org_id))
        .filter(room_types::id.eq(id))
        .select(RoomTypeRow::as_select())
        .first(conn)?
        .into())
}

pub fn find_room_type_by_code(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
    code: &str,
) -> StorageResult<Option<RoomType>> {
    Ok(room_types::table
        .filter(room_types::org_id.eq(org_id))
        .filter(room_types::property_id.eq(property_id))
        .filter(room_types::code.eq(code))
        .select(RoomTypeRow::as_select())
        .first(conn)
        .optional()?
        .map(RoomType::from))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rate_plans)]
struct RatePlanRow {
    id: String,
    org_id: String,
    property_id: String,
    code: String,
    name: String,
    meal_plan: String,
    cancellation_policy: String,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RatePlan {
    pub id: String,
    pub org_id: String,
    pub property_id: String,
    pub code: String,
    pub name: String,
    pub meal_plan: MealPlan,
    pub cancellation_policy: CancellationPolicy,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn rate_plan_from(r: RatePlanRow) -> StorageResult<RatePlan> {
    Ok(RatePlan {
        meal_plan: enum_from_db(&r.meal_plan)?,
        cancellation_policy: serde_json::from_str(&r.cancellation_policy)?,
        id: r.id,
        org_id: r.org_id,
        property_id: r.property_id,
        code: r.code,
        name: r.name,
        version: r.version,
        created_at: from_db(r.created_at),
        updated_at: from_db(r.updated_at),
    })
}

pub fn insert_rate_plan(conn: &mut DbConnection, p: &RatePlan) -> StorageResult<()> {
    diesel::insert_into(rate_plans::table)
        .values(RatePlanRow {
            id: p.id.clone(),
            org_id: p.org_id.clone(),
            property_id: p.property_id.clone(),
            code: p.code.clone(),
            name: p.name.clone(),
            meal_plan: enum_to_db(&p.meal_plan)?,
            cancellation_policy: serde_json::to_string(&p.cancellation_policy)?,
            version: p.version,
            created_at: to_db(p.created_at),
            updated_at: to_db(p.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn rate_plans_of(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
) -> StorageResult<Vec<RatePlan>> {
    rate_plans::table
        .filter(rate_plans::org_id.eq(org_id))
        .filter(rate_plans::property_id.eq(property_id))
        .order(rate_plans::id.asc())
        .select(RatePlanRow::as_select())
        .load(conn)?
        .into_iter()
        .map(rate_plan_from)
        .collect()
}

pub fn find_rate_plan(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<RatePlan> {
    rate_plan_from(
        rate_plans::table
            .filter(rate_plans::org_id.eq(org_id))
            .filter(rate_plans::id.eq(id))
            .select(RatePlanRow::as_select())
            .first(conn)?,
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct InventoryOverride {
    pub room_type_id: String,
    pub date: NaiveDate,
    /// Replaces the room type's room count on that date.
    pub rooms: Option<i32>,
    pub closed: bool,
}

/// Sets (or replaces) the override of one room type and date.
pub fn set_override(
    conn: &mut DbConnection,
    org_id: &str,
    o: &InventoryOverride,
) -> StorageResult<()> {
    diesel::delete(
        inventory_overrides::table
            .filter(inventory_overrides::org_id.eq(org_id))
            .filter(inventory_overrides::room_type_id.eq(&o.room_type_id))
            .filter(inventory_overrides::stay_date.eq(o.date)),
    )
    .execute(conn)?;
    diesel::insert_into(inventory_overrides::table)
        .values((
            inventory_overrides::org_id.eq(org_id),
            inventory_overrides::room_type_id.eq(&o.room_type_id),
            inventory_overrides::stay_date.eq(o.date),
            inventory_overrides::rooms.eq(o.rooms),
            inventory_overrides::closed.eq(o.closed),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn overrides_between(
    conn: &mut DbConnection,
    org_id: &str,
    room_type_ids: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> StorageResult<Vec<InventoryOverride>> {
    let rows: Vec<(String, NaiveDate, Option<i32>, bool)> = inventory_overrides::table
        .filter(inventory_overrides::org_id.eq(org_id))
        .filter(inventory_overrides::room_type_id.eq_any(room_type_ids))
        .filter(inventory_overrides::stay_date.ge(from))
        .filter(inventory_overrides::stay_date.lt(to))
        .select((
            inventory_overrides::room_type_id,
            inventory_overrides::stay_date,
            inventory_overrides::rooms,
            inventory_overrides::closed,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(room_type_id, date, rooms, closed)| InventoryOverride {
            room_type_id,
            date,
            rooms,
            closed,
        })
        .collect())
}

/// Rooms sold per (room type id, night) for these room types over
/// `[from, to)`; nights with none sold are absent.
pub fn sold_nights(
    conn: &mut DbConnection,
    org_id: &str,
    room_type_ids: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> StorageResult<Vec<(String, NaiveDate, i64)>> {
    let rows: Vec<(String, NaiveDate, i32)> = room_nights_sold::table
        .filter(room_nights_sold::org_id.eq(org_id))
        .filter(room_nights_sold::room_type_id.eq_any(room_type_ids))
        .filter(room_nights_sold::night.ge(from))
        .filter(room_nights_sold::night.lt(to))
        .filter(room_nights_sold::sold.ne(0))
        .select((
            room_nights_sold::room_type_id,
            room_nights_sold::night,
            room_nights_sold::sold,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(t, d, n)| (t, d, i64::from(n)))
        .collect())
}

#[derive(Insertable)]
#[diesel(table_name = room_nights_sold)]
struct SoldRow<'a> {
    org_id: &'a str,
    room_type_id: &'a str,
    night: NaiveDate,
    sold: i32,
}

/// A rooms-sold counter just changed by a booking, a modification or a
/// release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldNight {
    pub room_type_id: String,
    pub night: NaiveDate,
    /// By how much it changed.
    pub change: i64,
    /// Rooms sold that night after the change, every committed booking
    /// included.
    pub sold: i64,
}

/// Adds `(room type id, night, change)` to the rooms-sold counters, in the
/// caller's transaction, and returns each counter's new value.
///
/// This is what keeps two bookings from both selling a last room: the
/// upsert locks each counter row until the transaction ends, a concurrent
/// booking of the same night waits for that lock and then adds to the
/// committed value, so the value returned counts every booking that got
/// there first. The caller compares it with the night's capacity and
/// rolls back when it is over. Deltas come sorted (see
/// `room_night_deltas`), so two transactions lock shared nights in the same
/// order and never wait on each other in a cycle. On SQLite writers
/// already queue one at a time (see [`crate::Database::write`]).
///
/// On PostgreSQL it is one upsert for all nights (see
/// [`crate::db::upsert_returning`]).
pub fn add_sold_nights(
    conn: &mut DbConnection,
    org_id: &str,
    deltas: &[(String, NaiveDate, i64)],
) -> StorageResult<Vec<SoldNight>> {
    if deltas.is_empty() {
        return Ok(Vec::new());
    }
    let rows = deltas
        .iter()
        .map(|(t, night, n)| {
            Ok(SoldRow {
                org_id,
                room_type_id: t,
                night: *night,
                sold: i32::try_from(*n)
                    .map_err(|_| StorageError::Corrupt("room night change out of range".into()))?,
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    use diesel::upsert::excluded;
    let target = (
        room_nights_sold::org_id,
        room_nights_sold::room_type_id,
        room_nights_sold::night,
    );
    let add = room_nights_sold::sold.eq(room_nights_sold::sold + excluded(room_nights_sold::sold));
    let returned = (
        room_nights_sold::room_type_id,
        room_nights_sold::night,
        room_nights_sold::sold,
    );
    let after: Vec<(String, NaiveDate, i32)> =
        crate::db::upsert_returning!(conn, room_nights_sold::table, &rows, target, add, returned)?;
    deltas
        .iter()
        .map(|(t, night, change)| {
            let sold = after
                .iter()
                .find(|(at, an, _)| at == t && an == night)
                .map(|(_, _, n)| i64::from(*n))
                .ok_or_else(|| {
                    StorageError::Corrupt("a rooms-sold counter was not returned".into())
                })?;
            Ok(SoldNight {
                room_type_id: t.clone(),
                night: *night,
                change: *change,
                sold,
            })
        })
        .collect()
}
