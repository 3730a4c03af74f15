//! Consents (同意) per purpose and channel, with their history.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ListResponse, PageParams, PageQuery, RequestId};
use crate::routes::guests::{load_guest, refuse_erased};
use crate::routes::path_id;
use crate::state::AppState;
use actix_web::{get, http::header, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::consent::{check_scope, ConsentChannel, ConsentPurpose, ConsentStatus};
use crm_domain::values::required_text;
use crm_storage::consents::{self, ConsentRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"purpose": "marketing", "channel": "sms", "status": "granted", "source": "registration_card"}))]
pub struct ConsentWrite {
    pub purpose: ConsentPurpose,
    /// Required for `marketing`; omitted for `profiling`.
    #[serde(default)]
    pub channel: Option<ConsentChannel>,
    pub status: ConsentStatus,
    /// Where the guest said so: `registration_card`, `website`, `app`,
    /// `phone`, `unsubscribe_link`…
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-0000000000c9", "guest_id": "019ab1c2-0000-7000-8000-000000000101",
    "purpose": "marketing", "channel": "sms", "status": "granted", "source": "registration_card",
    "recorded_by": "019ab1c2-0000-7000-8000-000000000001", "recorded_at": "2026-11-24T08:30:00Z"
}))]
pub struct ConsentDto {
    pub id: String,
    pub guest_id: String,
    pub purpose: ConsentPurpose,
    pub channel: Option<ConsentChannel>,
    pub status: ConsentStatus,
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<ConsentRecord> for ConsentDto {
    fn from(c: ConsentRecord) -> Self {
        ConsentDto {
            id: c.id,
            guest_id: c.guest_id,
            purpose: c.purpose,
            channel: c.channel,
            status: c.status,
            source: c.source,
            recorded_by: c.recorded_by,
            recorded_at: c.recorded_at,
        }
    }
}

/// Record a consent being granted or withdrawn.
#[utoipa::path(
    operation_id = "recordConsent",
    tag = "consents",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = ConsentWrite,
    responses((status = 201, description = "Recorded; it is now the current state for its purpose and channel.", body = ConsentDto))
)]
#[post("/guests/{guest_id}/consents")]
pub async fn record_consent(
    auth: Auth<roles::Any>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<ConsentWrite>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let w = body.0;
    check_scope(w.purpose, w.channel)?;
    let source = required_text(&w.source, 100).map_err(|e| ApiError::from(e.at("source")))?;
    let now = state.clock.now();
    let record = ConsentRecord {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        guest_id: guest_id.clone(),
        purpose: w.purpose,
        channel: w.channel,
        status: w.status,
        source,
        recorded_by: auth.id.clone(),
        recorded_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = record.clone();
    state
        .write(move |conn| {
            let guest = load_guest(conn, &stored.org_id, &stored.guest_id)?;
            refuse_erased(&guest)?;
            consents::insert(conn, &stored)?;
            actor.record(
                conn,
                now,
                "consent.recorded",
                "guest",
                &stored.guest_id,
                &["consents"],
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/guests/{guest_id}/consents"),
        ))
        .json(ConsentDto::from(record)))
}

/// The guest's current consents: the latest record per purpose and channel.
#[utoipa::path(
    operation_id = "listConsents",
    tag = "consents",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "Current consents (no paging: at most one per purpose and channel).", body = ListResponse<ConsentDto>))
)]
#[get("/guests/{guest_id}/consents")]
pub async fn list_consents(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let current = state
        .read(move |conn| {
            load_guest(conn, &org, &guest_id)?;
            Ok::<_, ApiError>(consents::current(conn, &org, &guest_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        data: current.into_iter().map(ConsentDto::from).collect(),
        next_cursor: None,
    }))
}

/// Every consent change of the guest, oldest first by default.
#[utoipa::path(
    operation_id = "listConsentHistory",
    tag = "consents",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id"), PageQuery),
    responses((status = 200, description = "A page of consent records.", body = ListResponse<ConsentDto>))
)]
#[get("/guests/{guest_id}/consents/history")]
pub async fn consent_history(
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
            Ok::<_, ApiError>(consents::history(conn, &org, &guest_id, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, ConsentDto::from)))
}
