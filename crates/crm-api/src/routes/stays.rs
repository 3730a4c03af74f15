//! A guest's stay history (入住记录) and lifetime statistics.

use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{ListResponse, PageParams, PageQuery};
use crate::routes::guests::load_guest;
use crate::routes::path_id;
use crate::routes::reservations::Money;
use crate::state::AppState;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_storage::reservations::{self, Stay};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-0000000000d9", "reservation_id": "019ab1c2-0000-7000-8000-0000000000f1",
    "property_id": "019ab1c2-0000-7000-8000-0000000000b1", "channel": "ota", "arrival": "2026-12-10", "departure": "2026-12-12",
    "nights": 2, "room_revenue": {"amount": 91600, "currency": "CNY"}, "food_and_beverage_revenue": {"amount": 12800, "currency": "CNY"},
    "other_revenue": {"amount": 0, "currency": "CNY"}, "total_revenue": {"amount": 104400, "currency": "CNY"},
    "checked_out_at": "2026-12-12T03:40:00Z"}))]
pub struct StayDto {
    pub id: String,
    pub reservation_id: String,
    pub property_id: String,
    pub channel: String,
    #[schema(value_type = String, format = Date)]
    pub arrival: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub departure: NaiveDate,
    pub nights: i32,
    pub room_revenue: Money,
    pub food_and_beverage_revenue: Money,
    pub other_revenue: Money,
    pub total_revenue: Money,
    pub checked_out_at: DateTime<Utc>,
}

impl From<Stay> for StayDto {
    fn from(s: Stay) -> Self {
        let money = |amount| Money {
            amount,
            currency: s.currency.clone(),
        };
        StayDto {
            room_revenue: money(s.room_revenue),
            food_and_beverage_revenue: money(s.food_and_beverage_revenue),
            other_revenue: money(s.other_revenue),
            total_revenue: money(s.total_revenue),
            id: s.id,
            reservation_id: s.reservation_id,
            property_id: s.property_id,
            channel: s.channel,
            arrival: s.arrival,
            departure: s.departure,
            nights: s.nights,
            checked_out_at: s.checked_out_at.and_utc(),
        }
    }
}

/// A guest's completed stays.
#[utoipa::path(
    operation_id = "listGuestStays",
    tag = "stays",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id"), PageQuery),
    responses((status = 200, description = "A page of stays.", body = ListResponse<StayDto>))
)]
#[get("/guests/{guest_id}/stays")]
pub async fn list_guest_stays(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            load_guest(conn, &org, &guest_id)?;
            Ok::<_, ApiError>(reservations::stays_of_guest(conn, &org, &guest_id, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, StayDto::from)))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"stays": 3, "nights": 7, "spend": [{"amount": 412000, "currency": "CNY"}],
    "channel_mix": {"ota": 2, "phone": 1}, "first_stay_on": "2025-05-01", "last_stay_on": "2026-11-20"}))]
pub struct StayStatisticsDto {
    /// Completed stays (cancelled and no-show reservations never count).
    pub stays: i32,
    pub nights: i32,
    /// Lifetime spend, one entry per currency.
    pub spend: Vec<Money>,
    /// Completed stays per booking channel.
    pub channel_mix: BTreeMap<String, i32>,
    #[schema(value_type = Option<String>, format = Date)]
    pub first_stay_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_stay_on: Option<NaiveDate>,
}

/// A guest's lifetime stay statistics.
#[utoipa::path(
    operation_id = "getGuestStayStatistics",
    tag = "stays",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "Stays, nights, spend, channel mix, first and last stay.", body = StayStatisticsDto))
)]
#[get("/guests/{guest_id}/stay-statistics")]
pub async fn get_stay_statistics(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let s = state
        .read(move |conn| {
            load_guest(conn, &org, &guest_id)?;
            Ok::<_, ApiError>(reservations::guest_stats(conn, &org, &guest_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(StayStatisticsDto {
        stays: s.stays,
        nights: s.nights,
        spend: s
            .spend
            .into_iter()
            .map(|(currency, amount)| Money { amount, currency })
            .collect(),
        channel_mix: s.channel_mix,
        first_stay_on: s.first_stay_on,
        last_stay_on: s.last_stay_on,
    }))
}
