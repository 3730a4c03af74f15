//! A guest's insights (RFM and value class, travel purpose, churn risk,
//! each with its reasons) and the organisation's analytics settings.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, RequestId};
use crate::routes::guests::load_guest;
use crate::routes::path_id;
use crate::state::AppState;
use actix_web::{get, http::header, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::analytics::{Churn, InsightSettings, Purpose, Rfm, StayFigures};
use crm_domain::values::CurrencyCode;
use crm_storage::insights::{self as store, AnalyticsSettings};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct InsightsDto {
    pub guest_id: String,
    /// The currency spend is counted in.
    pub currency: String,
    pub figures: StayFigures,
    /// False when the guest withdrew profiling consent: no scores.
    pub profiled: bool,
    pub rfm: Option<Rfm>,
    pub travel_purpose: Option<Purpose>,
    pub churn: Option<Churn>,
    /// When the copy segments and reports read was computed (`null`: not
    /// yet; this answer itself is computed now).
    pub segments_computed_at: Option<DateTime<Utc>>,
}

/// A guest's insights, computed now from their stays, loyalty, consents
/// and account links, with the reasons for each conclusion.
#[utoipa::path(
    operation_id = "getGuestInsights",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "The insights.", body = InsightsDto))
)]
#[get("/guests/{guest_id}/insights")]
pub async fn get_insights(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let today = state.clock.now().date_naive();
    let dto = state
        .read(move |conn| {
            let g = load_guest(conn, &org, &id)?;
            crate::routes::guests::refuse_erased(&g)?;
            let settings = store::settings(conn, &org)?;
            let mut inputs = crate::insights::inputs_of(conn, &org, std::slice::from_ref(&id))?;
            let inputs = inputs
                .remove(&id)
                .ok_or_else(|| ApiError::not_found("guest_not_found", "guest"))?;
            let c = crate::insights::compute(&inputs, &settings, today);
            let stored = store::find(conn, &org, &id)?;
            Ok::<_, ApiError>(InsightsDto {
                guest_id: id,
                currency: settings.currency,
                figures: c.figures,
                profiled: !inputs.withdrew_profiling,
                rfm: c.rfm,
                travel_purpose: c.purpose,
                churn: c.churn,
                segments_computed_at: stored.map(|s| s.computed_at.and_utc()),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsSettingsDto {
    /// ISO 4217: spend is summed in it (stays in other currencies count
    /// for stays and nights, not spend).
    pub currency: String,
    pub thresholds: InsightSettings,
    #[serde(default)]
    pub version: i32,
}

fn settings_response(s: AnalyticsSettings) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(s.version)))
        .json(AnalyticsSettingsDto {
            currency: s.currency,
            thresholds: s.settings,
            version: s.version,
        })
}

/// The RFM, value-class and churn thresholds and the main currency.
#[utoipa::path(
    operation_id = "getAnalyticsSettings",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    responses((status = 200, description = "The settings (defaults until changed).", body = AnalyticsSettingsDto))
)]
#[get("/analytics/settings")]
pub async fn get_settings(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let s = state.read(move |conn| store::settings(conn, &org)).await?;
    Ok(settings_response(s))
}

/// Replace the thresholds (and main currency). Insights use them from the
/// next run of `guest-insights`.
#[utoipa::path(
    operation_id = "putAnalyticsSettings",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = AnalyticsSettingsDto,
    responses((status = 200, description = "Saved.", body = AnalyticsSettingsDto))
)]
#[put("/analytics/settings")]
pub async fn put_settings(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<AnalyticsSettingsDto>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let currency = CurrencyCode::parse(&b.currency)
        .map_err(|e| ApiError::from(e.at("currency")))?
        .as_str()
        .to_string();
    b.thresholds
        .validate()
        .map_err(|e| ApiError::from(e.at("thresholds")))?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let s = state
        .write(move |conn| {
            let current = store::settings(conn, &org)?;
            let expected = if_match.check(current.version)?;
            let next = AnalyticsSettings {
                currency,
                settings: b.thresholds,
                version: current.version + 1,
                updated_at: now,
            };
            store::put_settings(conn, &org, &next, expected)?;
            actor.record(
                conn,
                now,
                "analytics.settings_updated",
                "organization",
                &org,
                &["thresholds"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(settings_response(s))
}
