//! Webhook subscriptions and their delivery log (admins).

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::crypto::random_token;
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use crate::webhooks::EVENT_TYPES;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::{Errors, FieldError};
use crm_storage::webhooks::{self, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://pms.example.com/hooks/hotel-crm", "event_types": ["reservation.created", "reservation.cancelled"]}))]
pub struct CreateWebhookRequest {
    /// `https://` (or `http://` for local receivers).
    pub url: String,
    /// Any of reservation.created/modified/cancelled, stay.checked_out,
    /// guest.created/updated/erased, or `*`.
    pub event_types: Vec<String>,
    /// The signing secret; generated (and shown once) when omitted.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-0000000000e9", "url": "https://pms.example.com/hooks/hotel-crm",
    "event_types": ["reservation.created"], "active": true, "version": 1,
    "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z", "secret": "shown-once"}))]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only when created: verify `X-Hotel-Crm-Signature` with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<Subscription> for WebhookDto {
    fn from(s: Subscription) -> Self {
        WebhookDto {
            id: s.id,
            url: s.url,
            event_types: s.event_types,
            active: s.active,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret: None,
        }
    }
}

fn check(url: Option<&str>, event_types: Option<&[String]>) -> Result<(), ApiError> {
    let mut errors = Errors::new();
    if let Some(url) = url {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 2000
            && url
                .split("://")
                .nth(1)
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            errors.push(FieldError::new(
                "url",
                "invalid_url",
                "an http(s) URL with a host",
            ));
        }
    }
    if let Some(types) = event_types {
        if types.is_empty() || types.len() > EVENT_TYPES.len() + 1 {
            errors.push(FieldError::new(
                "event_types",
                "out_of_range",
                "at least one event type",
            ));
        }
        for (i, t) in types.iter().enumerate() {
            if t != "*" && !EVENT_TYPES.contains(&t.as_str()) {
                errors.push(FieldError::new(
                    format!("event_types[{i}]"),
                    "unknown_event_type",
                    format!("one of {}", EVENT_TYPES.join(", ")),
                ));
            }
        }
    }
    Ok(errors.finish()?)
}

/// Subscribe a URL to events.
#[utoipa::path(
    operation_id = "createWebhook",
    tag = "webhooks",
    security(("bearer_auth" = ["admin"])),
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "Created; `secret` is shown only now.", body = WebhookDto))
)]
#[post("/webhooks")]
pub async fn create_webhook(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let CreateWebhookRequest {
        url,
        event_types,
        secret,
    } = body.0;
    check(Some(&url), Some(&event_types))?;
    if secret
        .as_ref()
        .is_some_and(|s| s.len() < 16 || s.len() > 200)
    {
        return Err(ApiError::field(
            "secret",
            "out_of_range",
            "16 to 200 characters",
        ));
    }
    let secret = secret.unwrap_or_else(|| random_token(32));
    let now = state.clock.now();
    let mut types = event_types;
    types.dedup();
    let sub = Subscription {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        url,
        secret_encrypted: state.cipher.encrypt(&secret),
        event_types: types,
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = sub.clone();
    state
        .write(move |conn| {
            webhooks::insert_subscription(conn, &stored)?;
            actor.record(
                conn,
                now,
                "webhook.created",
                "webhook",
                &stored.id,
                &["url", "event_types"],
            )
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    let mut dto = WebhookDto::from(sub);
    dto.secret = Some(secret);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/webhooks/{}", dto.id)))
        .insert_header((header::ETAG, etag_for(dto.version)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(dto))
}

/// List webhook subscriptions.
#[utoipa::path(
    operation_id = "listWebhooks",
    tag = "webhooks",
    security(("bearer_auth" = ["admin"])),
    responses((status = 200, description = "All subscriptions (no paging).", body = ListResponse<WebhookDto>))
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let subs = state
        .read(move |conn| webhooks::list_subscriptions(conn, &org))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        data: subs.into_iter().map(WebhookDto::from).collect(),
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UpdateWebhookRequest {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// `false` pauses deliveries of new events.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Change or pause a subscription.
#[utoipa::path(
    operation_id = "updateWebhook",
    tag = "webhooks",
    security(("bearer_auth" = ["admin"])),
    params(("webhook_id" = String, Path, description = "Subscription id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = UpdateWebhookRequest, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = WebhookDto))
)]
#[patch("/webhooks/{webhook_id}")]
pub async fn update_webhook(
    auth: Auth<roles::Admin>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<UpdateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "webhook_not_found", "webhook")?;
    let UpdateWebhookRequest {
        url,
        event_types,
        active,
    } = body.0;
    check(url.as_deref(), event_types.as_deref())?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let sub = state
        .write(move |conn| {
            let current = webhooks::find_subscription(conn, &org, &id)
                .map_err(|e| or_not_found("webhook_not_found", "webhook")(e.into()))?;
            let expected = if_match.check(current.version)?;
            let next = Subscription {
                url: url.unwrap_or(current.url.clone()),
                event_types: event_types.unwrap_or(current.event_types.clone()),
                active: active.unwrap_or(current.active),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            webhooks::update_subscription(conn, &next, expected)?;
            actor.record(
                conn,
                now,
                "webhook.updated",
                "webhook",
                &next.id,
                &["url", "event_types", "active"],
            )?;
            Ok(next)
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::ETAG, etag_for(sub.version)))
        .json(WebhookDto::from(sub)))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-0000000000ea", "event_id": "019ab1c2-0000-7000-8000-0000000000eb",
    "event_type": "reservation.created", "status": "delivered", "attempts": 2, "last_status_code": 200, "last_error": null,
    "next_attempt_at": null, "delivered_at": "2026-11-24T08:30:05Z", "created_at": "2026-11-24T08:30:00Z"}))]
pub struct DeliveryDto {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (after 12 attempts).
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The delivery log of a subscription.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    security(("bearer_auth" = ["admin"])),
    params(("webhook_id" = String, Path, description = "Subscription id"), PageQuery),
    responses((status = 200, description = "A page of deliveries.", body = ListResponse<DeliveryDto>))
)]
#[get("/webhooks/{webhook_id}/deliveries")]
pub async fn list_deliveries(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "webhook_not_found", "webhook")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            webhooks::find_subscription(conn, &org, &id)
                .map_err(|e| or_not_found("webhook_not_found", "webhook")(e.into()))?;
            Ok::<_, ApiError>(webhooks::deliveries_of(conn, &org, &id, &page)?)
        })
        .await?;
    Ok(
        HttpResponse::Ok().json(ListResponse::from_page(result, |(d, event_type)| {
            DeliveryDto {
                next_attempt_at: (d.status == "pending").then(|| d.next_attempt_at.and_utc()),
                id: d.id,
                event_id: d.event_id,
                event_type,
                status: d.status,
                attempts: d.attempts,
                last_status_code: d.last_status_code,
                last_error: d.last_error,
                delivered_at: d.delivered_at.map(|t| t.and_utc()),
                created_at: d.created_at.and_utc(),
            }
        })),
    )
}
