//! Room types, rate plans, inventory overrides and availability of a
//! property.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, RequestId};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use crm_domain::property::parse_code;
use crm_domain::reservation::{inventory_calendar, CancellationPolicy, DayInventory, MealPlan};
use crm_domain::values::required_text;
use crm_domain::{Errors, FieldError};
use crm_storage::inventory::{self, InventoryOverride, RatePlan, RoomType};
use crm_storage::{properties, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The longest window one availability query or override may cover.
const MAX_WINDOW_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "DLK", "name": "Deluxe King", "room_count": 20, "max_occupancy": 3, "overbooking_percent": 10}))]
pub struct RoomTypeWrite {
    pub code: String,
    pub name: String,
    /// Physical rooms of this type.
    pub room_count: i32,
    pub max_occupancy: i32,
    /// Rooms sold beyond `room_count`, in percent of it (超额预订); 0 to 50.
    #[serde(default)]
    pub overbooking_percent: i32,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-0000000000a1", "property_id": "019ab1c2-0000-7000-8000-0000000000b1",
    "code": "DLK", "name": "Deluxe King", "room_count": 20, "max_occupancy": 3, "overbooking_percent": 10, "version": 1,
    "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"}))]
pub struct RoomTypeDto {
    pub id: String,
    pub property_id: String,
    pub code: String,
    pub name: String,
    pub room_count: i32,
    pub max_occupancy: i32,
    pub overbooking_percent: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RoomType> for RoomTypeDto {
    fn from(t: RoomType) -> Self {
        RoomTypeDto {
            id: t.id,
            property_id: t.property_id,
            code: t.code,
            name: t.name,
            room_count: t.room_count,
            max_occupancy: t.max_occupancy,
            overbooking_percent: t.overbooking_percent,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn validate_room_type(w: &RoomTypeWrite) -> Result<(String, String), ApiError> {
    let mut errors = Errors::new();
    let code = errors.check("code", parse_code(&w.code));
    let name = errors.check("name", required_text(&w.name, 100));
    if !(0..=10_000).contains(&w.room_count) {
        errors.push(FieldError::new(
            "room_count",
            "out_of_range",
            "0 to 10,000 rooms",
        ));
    }
    if !(1..=20).contains(&w.max_occupancy) {
        errors.push(FieldError::new(
            "max_occupancy",
            "out_of_range",
            "1 to 20 guests",
        ));
    }
    if !(0..=50).contains(&w.overbooking_percent) {
        errors.push(FieldError::new(
            "overbooking_percent",
            "out_of_range",
            "0 to 50 percent",
        ));
    }
    errors.finish()?;
    match (code, name) {
        (Some(c), Some(n)) => Ok((c, n)),
        _ => Err(ApiError::internal("validated fields missing")),
    }
}

fn code_taken(what: &'static str) -> impl Fn(StorageError) -> ApiError {
    move |e| match e {
        StorageError::Duplicate { .. } => ApiError::conflict(
            "code_taken",
            format!("Another {what} of this property has this code."),
        ),
        other => other.into(),
    }
}

pub fn load_property(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
) -> Result<properties::Property, ApiError> {
    properties::find(conn, org, id)
        .map_err(|e| or_not_found("property_not_found", "property")(e.into()))
}

/// Add a room type to a property.
#[utoipa::path(
    operation_id = "createRoomType",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("property_id" = String, Path, description = "Property id")),
    request_body = RoomTypeWrite,
    responses((status = 201, description = "Created.", body = RoomTypeDto))
)]
#[post("/properties/{property_id}/room-types")]
pub async fn create_room_type(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<RoomTypeWrite>,
) -> ApiResult<HttpResponse> {
    let property_id = path_id(&path, "property_not_found", "property")?;
    let (code, name) = validate_room_type(&body.0)?;
    let now = state.clock.now();
    let t = RoomType {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        property_id,
        code,
        name,
        room_count: body.0.room_count,
        max_occupancy: body.0.max_occupancy,
        overbooking_percent: body.0.overbooking_percent,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = t.clone();
    state
        .write(move |conn| {
            load_property(conn, &stored.org_id, &stored.property_id)?;
            inventory::insert_room_type(conn, &stored).map_err(code_taken("room type"))?;
            actor.record(conn, now, "room_type.created", "room_type", &stored.id, &[])
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/properties/{}/room-types/{}", t.property_id, t.id),
        ))
        .insert_header((header::ETAG, etag_for(t.version)))
        .json(RoomTypeDto::from(t)))
}

/// List a property's room types.
#[utoipa::path(
    operation_id = "listRoomTypes",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("property_id" = String, Path, description = "Property id")),
    responses((status = 200, description = "All room types (no paging).", body = ListResponse<RoomTypeDto>))
)]
#[get("/properties/{property_id}/room-types")]
pub async fn list_room_types(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let property_id = path_id(&path, "property_not_found", "property")?;
    let org = auth.org_id.clone();
    let types = state
        .read(move |conn| {
            load_property(conn, &org, &property_id)?;
            Ok::<_, ApiError>(inventory::room_types_of(conn, &org, &property_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        data: types.into_iter().map(RoomTypeDto::from).collect(),
        next_cursor: None,
    }))
}

/// Change a room type (JSON merge patch), e.g. its overbooking percentage.
#[utoipa::path(
    operation_id = "updateRoomType",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("property_id" = String, Path, description = "Property id"), ("room_type_id" = String, Path, description = "Room type id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = RoomTypeWrite, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = RoomTypeDto))
)]
#[patch("/properties/{property_id}/room-types/{room_type_id}")]
pub async fn update_room_type(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let (raw_property, raw_type) = path.into_inner();
    let property_id = path_id(&raw_property, "property_not_found", "property")?;
    let type_id = path_id(&raw_type, "room_type_not_found", "room type")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let current = inventory::find_room_type(conn, &org, &type_id)
                .ok()
                .filter(|t| t.property_id == property_id)
                .ok_or_else(|| ApiError::not_found("room_type_not_found", "room type"))?;
            let expected = if_match.check(current.version)?;
            let before = RoomTypeWrite {
                code: current.code.clone(),
                name: current.name.clone(),
                room_count: current.room_count,
                max_occupancy: current.max_occupancy,
                overbooking_percent: current.overbooking_percent,
            };
            let w: RoomTypeWrite = apply_merge_patch(&before, &body.0)?;
            let (code, name) = validate_room_type(&w)?;
            let next = RoomType {
                code,
                name,
                room_count: w.room_count,
                max_occupancy: w.max_occupancy,
                overbooking_percent: w.overbooking_percent,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            inventory::update_room_type(conn, &next, expected).map_err(code_taken("room type"))?;
            actor.record(conn, now, "room_type.updated", "room_type", &next.id, &[])?;
            Ok(next)
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(t.version)))
        .json(RoomTypeDto::from(t)))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "BAR", "name": "Best available rate, breakfast", "meal_plan": "breakfast",
    "cancellation_policy": {"type": "free_until", "hours_before_arrival": 48, "fee": {"type": "first_night"}}}))]
pub struct RatePlanWrite {
    pub code: String,
    pub name: String,
    pub meal_plan: MealPlan,
    pub cancellation_policy: CancellationPolicy,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-0000000000a2", "property_id": "019ab1c2-0000-7000-8000-0000000000b1",
    "code": "BAR", "name": "Best available rate", "meal_plan": "breakfast",
    "cancellation_policy": {"type": "free_until", "hours_before_arrival": 48, "fee": {"type": "first_night"}}, "version": 1,
    "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"}))]
pub struct RatePlanDto {
    pub id: String,
    pub property_id: String,
    pub code: String,
    pub name: String,
    pub meal_plan: MealPlan,
    pub cancellation_policy: CancellationPolicy,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RatePlan> for RatePlanDto {
    fn from(p: RatePlan) -> Self {
        RatePlanDto {
            id: p.id,
            property_id: p.property_id,
            code: p.code,
            name: p.name,
            meal_plan: p.meal_plan,
            cancellation_policy: p.cancellation_policy,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Add a rate plan with its cancellation policy.
#[utoipa::path(
    operation_id = "createRatePlan",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("property_id" = String, Path, description = "Property id")),
    request_body = RatePlanWrite,
    responses((status = 201, description = "Created.", body = RatePlanDto))
)]
#[post("/properties/{property_id}/rate-plans")]
pub async fn create_rate_plan(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<RatePlanWrite>,
) -> ApiResult<HttpResponse> {
    let property_id = path_id(&path, "property_not_found", "property")?;
    let w = body.0;
    let mut errors = Errors::new();
    let code = errors.check("code", parse_code(&w.code));
    let name = errors.check("name", required_text(&w.name, 100));
    errors.check("cancellation_policy", w.cancellation_policy.validate());
    errors.finish()?;
    let (Some(code), Some(name)) = (code, name) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let now = state.clock.now();
    let plan = RatePlan {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        property_id,
        code,
        name,
        meal_plan: w.meal_plan,
        cancellation_policy: w.cancellation_policy,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = plan.clone();
    state
        .write(move |conn| {
            load_property(conn, &stored.org_id, &stored.property_id)?;
            inventory::insert_rate_plan(conn, &stored).map_err(code_taken("rate plan"))?;
            actor.record(conn, now, "rate_plan.created", "rate_plan", &stored.id, &[])
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!(
                "/api/v1/properties/{}/rate-plans/{}",
                plan.property_id, plan.id
            ),
        ))
        .json(RatePlanDto::from(plan)))
}

/// List a property's rate plans.
#[utoipa::path(
    operation_id = "listRatePlans",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("property_id" = String, Path, description = "Property id")),
    responses((status = 200, description = "All rate plans (no paging).", body = ListResponse<RatePlanDto>))
)]
#[get("/properties/{property_id}/rate-plans")]
pub async fn list_rate_plans(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let property_id = path_id(&path, "property_not_found", "property")?;
    let org = auth.org_id.clone();
    let plans = state
        .read(move |conn| {
            load_property(conn, &org, &property_id)?;
            Ok::<_, ApiError>(inventory::rate_plans_of(conn, &org, &property_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        data: plans.into_iter().map(RatePlanDto::from).collect(),
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"room_type_id": "019ab1c2-0000-7000-8000-0000000000a1", "from": "2026-12-24", "to": "2026-12-26", "closed": true}))]
pub struct InventoryOverrideWrite {
    pub room_type_id: String,
    /// First night.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Night after the last (exclusive).
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Rooms available those nights instead of the room count.
    #[serde(default)]
    pub rooms: Option<i32>,
    /// Stop sale.
    #[serde(default)]
    pub closed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideResult {
    /// Nights set.
    pub nights: i64,
}

fn check_window(from: NaiveDate, to: NaiveDate) -> Result<(), ApiError> {
    let days = (to - from).num_days();
    if !(1..=MAX_WINDOW_DAYS).contains(&days) {
        return Err(ApiError::field(
            "to",
            "invalid_range",
            "`to` must be 1 to 366 days after `from`",
        ));
    }
    Ok(())
}

/// Close dates or set their room count for one room type.
#[utoipa::path(
    operation_id = "setInventoryOverrides",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("property_id" = String, Path, description = "Property id")),
    request_body = InventoryOverrideWrite,
    responses((status = 200, description = "Set for every night of the range.", body = OverrideResult))
)]
#[post("/properties/{property_id}/inventory-overrides")]
pub async fn set_inventory_overrides(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<InventoryOverrideWrite>,
) -> ApiResult<HttpResponse> {
    let property_id = path_id(&path, "property_not_found", "property")?;
    let w = body.0;
    check_window(w.from, w.to)?;
    if w.rooms.is_some_and(|r| !(0..=10_000).contains(&r)) {
        return Err(ApiError::field(
            "rooms",
            "out_of_range",
            "0 to 10,000 rooms",
        ));
    }
    let type_id = path_id(&w.room_type_id, "room_type_not_found", "room type")
        .map_err(|_| ApiError::field("room_type_id", "unknown_room_type", "no such room type"))?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let nights = (w.to - w.from).num_days();
    state
        .write(move |conn| {
            // The property first: another organisation's is 404, as in
            // every other operation on a property.
            load_property(conn, &org, &property_id)?;
            inventory::find_room_type(conn, &org, &type_id)
                .ok()
                .filter(|t| t.property_id == property_id)
                .ok_or_else(|| {
                    ApiError::field(
                        "room_type_id",
                        "unknown_room_type",
                        "no such room type at this property",
                    )
                })?;
            for i in 0..nights {
                let o = InventoryOverride {
                    room_type_id: type_id.clone(),
                    date: w.from + Duration::days(i),
                    rooms: w.rooms,
                    closed: w.closed,
                };
                inventory::set_override(conn, &org, &o)?;
            }
            actor.record(
                conn,
                now,
                "inventory.overridden",
                "room_type",
                &type_id,
                &["rooms", "closed"],
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(OverrideResult { nights }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// First night.
    #[param(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Night after the last (exclusive).
    #[param(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Only this room type code.
    pub room_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayAvailability {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub rooms: i64,
    pub sold: i64,
    pub overbooking_allowance: i64,
    pub available: i64,
    pub closed: bool,
}

impl From<DayInventory> for DayAvailability {
    fn from(d: DayInventory) -> Self {
        DayAvailability {
            date: d.date,
            rooms: d.rooms,
            sold: d.sold,
            overbooking_allowance: d.overbooking_allowance,
            available: d.available(),
            closed: d.closed,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomTypeAvailability {
    pub room_type_id: String,
    pub room_type: String,
    pub name: String,
    pub max_occupancy: i32,
    pub days: Vec<DayAvailability>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alternative {
    pub room_type: String,
    #[schema(value_type = String, format = Date)]
    pub arrival: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub departure: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"property_id": "019ab1c2-0000-7000-8000-0000000000b1",
    "room_types": [{"room_type_id": "019ab1c2-0000-7000-8000-0000000000a1", "room_type": "DLK", "name": "Deluxe King", "max_occupancy": 3,
        "days": [{"date": "2026-12-10", "rooms": 20, "sold": 22, "overbooking_allowance": 2, "available": 0, "closed": false}]}],
    "alternatives": [{"room_type": "TWN", "arrival": "2026-12-10", "departure": "2026-12-11"}]}))]
pub struct AvailabilityResponse {
    pub property_id: String,
    pub room_types: Vec<RoomTypeAvailability>,
    /// When the requested room type cannot be sold on every night: other
    /// types for the same nights, or the same type a few days earlier or
    /// later.
    pub alternatives: Vec<Alternative>,
}

/// Per room type and night: rooms, sold, overbooking allowance, available.
pub fn calendars(
    conn: &mut DbConnection,
    org: &str,
    types: &[RoomType],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<RoomTypeAvailability>, ApiError> {
    let ids: Vec<String> = types.iter().map(|t| t.id.clone()).collect();
    let overrides = inventory::overrides_between(conn, org, &ids, from, to)?;
    let sold = inventory::sold_nights(conn, org, &ids, from, to)?;
    Ok(types
        .iter()
        .map(|t| {
            let o: Vec<(NaiveDate, Option<i64>, bool)> = overrides
                .iter()
                .filter(|o| o.room_type_id == t.id)
                .map(|o| (o.date, o.rooms.map(i64::from), o.closed))
                .collect();
            let h: Vec<(NaiveDate, i64)> = sold
                .iter()
                .filter(|(id, _, _)| *id == t.id)
                .map(|(_, night, n)| (*night, *n))
                .collect();
            RoomTypeAvailability {
                room_type_id: t.id.clone(),
                room_type: t.code.clone(),
                name: t.name.clone(),
                max_occupancy: t.max_occupancy,
                days: inventory_calendar(
                    from,
                    to,
                    i64::from(t.room_count),
                    i64::from(t.overbooking_percent),
                    &o,
                    &h,
                )
                .into_iter()
                .map(DayAvailability::from)
                .collect(),
            }
        })
        .collect())
}

/// What else could be sold instead of `wanted` for `[arrival, departure)`
/// for `guests` people.
pub fn alternatives(
    conn: &mut DbConnection,
    org: &str,
    types: &[RoomType],
    wanted: &RoomType,
    arrival: NaiveDate,
    departure: NaiveDate,
    guests: i32,
) -> Result<Vec<Alternative>, ApiError> {
    let nights = (departure - arrival).num_days();
    let mut out = Vec::new();
    let fits: Vec<RoomType> = types
        .iter()
        .filter(|t| t.max_occupancy >= guests)
        .cloned()
        .collect();
    for cal in calendars(conn, org, &fits, arrival, departure)? {
        if cal.room_type_id != wanted.id && cal.days.iter().all(|d| d.available > 0) {
            out.push(Alternative {
                room_type: cal.room_type,
                arrival,
                departure,
            });
        }
    }
    let window = calendars(
        conn,
        org,
        std::slice::from_ref(wanted),
        arrival - Duration::days(3),
        departure + Duration::days(3),
    )?;
    if let Some(cal) = window.first() {
        for shift in [-1i64, 1, -2, 2, -3, 3] {
            let start = 3 + shift;
            let free = (start..start + nights)
                .all(|i| cal.days.get(i as usize).is_some_and(|d| d.available > 0));
            if free {
                out.push(Alternative {
                    room_type: wanted.code.clone(),
                    arrival: arrival + Duration::days(shift),
                    departure: departure + Duration::days(shift),
                });
            }
        }
    }
    Ok(out)
}

/// Availability of a property's room types, night by night.
#[utoipa::path(
    operation_id = "getAvailability",
    tag = "inventory",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("property_id" = String, Path, description = "Property id"), AvailabilityParams),
    responses((status = 200, description = "Per room type and night.", body = AvailabilityResponse))
)]
#[get("/properties/{property_id}/availability")]
pub async fn get_availability(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<AvailabilityParams>,
) -> ApiResult<HttpResponse> {
    let property_id = path_id(&path, "property_not_found", "property")?;
    let AvailabilityParams {
        from,
        to,
        room_type,
    } = q.into_inner();
    check_window(from, to)?;
    let org = auth.org_id.clone();
    let response = state
        .read(move |conn| {
            load_property(conn, &org, &property_id)?;
            let types = inventory::room_types_of(conn, &org, &property_id)?;
            let selected: Vec<RoomType> = match &room_type {
                Some(code) => {
                    let code = code.trim().to_ascii_uppercase();
                    let t: Vec<RoomType> =
                        types.iter().filter(|t| t.code == code).cloned().collect();
                    if t.is_empty() {
                        return Err(ApiError::field(
                            "room_type",
                            "unknown_room_type",
                            "no room type with this code",
                        ));
                    }
                    t
                }
                None => types.clone(),
            };
            let cals = calendars(conn, &org, &selected, from, to)?;
            let mut alts = Vec::new();
            if room_type.is_some() {
                if let (Some(cal), Some(wanted)) = (cals.first(), selected.first()) {
                    if cal.days.iter().any(|d| d.available == 0) {
                        alts = alternatives(conn, &org, &types, wanted, from, to, 1)?;
                    }
                }
            }
            Ok(AvailabilityResponse {
                property_id,
                room_types: cals,
                alternatives: alts,
            })
        })
        .await?;
    Ok(HttpResponse::build(StatusCode::OK).json(response))
}
