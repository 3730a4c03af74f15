//! Integration clients (OTA channel managers, PMS), managed by admins.

use crate::audit::Actor;
use crate::auth::{password, roles, Auth, PrincipalKind};
use crate::crypto::random_token;
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, ListResponse, PageParams, PageQuery, RequestId};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::channel::ClientGrants;
use crm_domain::role::Role;
use crm_domain::values::required_text;
use crm_storage::api_clients::{self, ApiClient};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-0000000000c1", "client_id": "019ab1c2-0000-7000-8000-0000000000c1",
    "name": "Ctrip channel manager", "role": "integration", "disabled": false, "disabled_at": null,
    "version": 1, "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z",
    "client_secret": "s3cr3t-shown-once"
}))]
pub struct ClientDto {
    pub id: String,
    /// What the client sends as `client_id` (same as `id`).
    pub client_id: String,
    pub name: String,
    pub role: Role,
    /// Channels and properties the client may push reservations for.
    pub grants: ClientGrants,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only when created or rotated: shown once, stored only as a hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl From<ApiClient> for ClientDto {
    fn from(c: ApiClient) -> Self {
        ClientDto {
            client_id: c.id.clone(),
            id: c.id,
            name: c.name,
            role: c.role,
            grants: c.grants,
            disabled: c.disabled_at.is_some(),
            disabled_at: c.disabled_at,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            client_secret: None,
        }
    }
}

fn client_response(status: StatusCode, dto: ClientDto) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(dto.version)));
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/clients/{}", dto.id)));
    }
    res.json(dto)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ctrip channel manager", "grants": {"channels": ["ctrip"], "property_ids": null}}))]
pub struct CreateClientRequest {
    pub name: String,
    /// Default: no channel (the client can read, not push reservations).
    #[serde(default)]
    pub grants: ClientGrants,
}

/// Create an integration client. Its secret is in the response, once.
#[utoipa::path(
    operation_id = "createClient",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    request_body = CreateClientRequest,
    responses((status = 201, description = "Created; `client_secret` is shown only now.", body = ClientDto))
)]
#[post("/clients")]
pub async fn create_client(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<CreateClientRequest>,
) -> ApiResult<HttpResponse> {
    let CreateClientRequest { name, grants } = body.0;
    let name = required_text(&name, 100).map_err(|e| ApiError::from(e.at("name")))?;
    let grants = grants
        .normalised()
        .map_err(|e| ApiError::from(e.at("grants")))?;
    let secret = random_token(32);
    let to_hash = secret.clone();
    let hash = web::block(move || password::hash(&to_hash))
        .await?
        .map_err(ApiError::internal)?;
    let now = state.clock.now();
    let client = ApiClient {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        name,
        secret_hash: hash,
        role: Role::Integration,
        grants,
        disabled_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = client.clone();
    state
        .write(move |conn| {
            api_clients::insert(conn, &stored)?;
            actor.record(conn, now, "client.created", "client", &stored.id, &["name"])
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    let mut dto = ClientDto::from(client);
    dto.client_secret = Some(secret);
    Ok(client_response(StatusCode::CREATED, dto))
}

/// List integration clients.
#[utoipa::path(
    operation_id = "listClients",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "A page of clients.", body = ListResponse<ClientDto>))
)]
#[get("/clients")]
pub async fn list_clients(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| api_clients::list(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, ClientDto::from)))
}

/// Get an integration client.
#[utoipa::path(
    operation_id = "getClient",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    params(("client_id" = String, Path, description = "Client id")),
    responses((status = 200, description = "The client.", body = ClientDto))
)]
#[get("/clients/{client_id}")]
pub async fn get_client(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "client_not_found", "client")?;
    let org = auth.org_id.clone();
    let client = state
        .read(move |conn| api_clients::find(conn, &org, &id))
        .await
        .map_err(or_not_found("client_not_found", "client"))?;
    Ok(client_response(StatusCode::OK, client.into()))
}

enum ClientChange {
    Disable,
    Enable,
    RotateSecret(String),
}

async fn change_client(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    raw_id: &str,
    change: ClientChange,
) -> ApiResult<HttpResponse> {
    let id = path_id(raw_id, "client_not_found", "client")?;
    let now = state.clock.now();
    let secret = match &change {
        ClientChange::RotateSecret(s) => Some(s.clone()),
        _ => None,
    };
    let new_hash = match &secret {
        Some(s) => {
            let s = s.clone();
            Some(
                web::block(move || password::hash(&s))
                    .await?
                    .map_err(ApiError::internal)?,
            )
        }
        None => None,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let client = state
        .write(move |conn| {
            let current = api_clients::find(conn, &org, &id)
                .map_err(|e| or_not_found("client_not_found", "client")(e.into()))?;
            let mut next = current.clone();
            let action = match change {
                ClientChange::Disable => {
                    next.disabled_at = Some(now);
                    "client.disabled"
                }
                ClientChange::Enable => {
                    next.disabled_at = None;
                    "client.enabled"
                }
                ClientChange::RotateSecret(_) => {
                    next.secret_hash = new_hash.unwrap_or_default();
                    "client.secret_rotated"
                }
            };
            next.version += 1;
            next.updated_at = now;
            api_clients::update(conn, &next, current.version)?;
            actor.record(
                conn,
                now,
                action,
                "client",
                &next.id,
                &[if action == "client.secret_rotated" {
                    "secret"
                } else {
                    "disabled_at"
                }],
            )?;
            Ok(next)
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    state
        .principal_cache
        .invalidate(PrincipalKind::Client, &client.id);
    let mut dto = ClientDto::from(client);
    dto.client_secret = secret;
    Ok(client_response(StatusCode::OK, dto))
}

/// Disable an integration client: its tokens stop working at once.
#[utoipa::path(
    operation_id = "disableClient",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    params(("client_id" = String, Path, description = "Client id")),
    responses((status = 200, description = "Disabled.", body = ClientDto))
)]
#[post("/clients/{client_id}/disable")]
pub async fn disable_client(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    change_client(auth, request_id, state, &path, ClientChange::Disable).await
}

/// Enable a disabled integration client.
#[utoipa::path(
    operation_id = "enableClient",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    params(("client_id" = String, Path, description = "Client id")),
    responses((status = 200, description = "Enabled.", body = ClientDto))
)]
#[post("/clients/{client_id}/enable")]
pub async fn enable_client(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    change_client(auth, request_id, state, &path, ClientChange::Enable).await
}

/// Replace a client's secret; the old one stops working. The new one is
/// shown once.
#[utoipa::path(
    operation_id = "rotateClientSecret",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    params(("client_id" = String, Path, description = "Client id")),
    responses((status = 200, description = "Rotated; `client_secret` is shown only now.", body = ClientDto))
)]
#[post("/clients/{client_id}/rotate-secret")]
pub async fn rotate_client_secret(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    change_client(
        auth,
        request_id,
        state,
        &path,
        ClientChange::RotateSecret(random_token(32)),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channels": ["ctrip", "meituan"], "property_ids": ["019ab1c2-0000-7000-8000-0000000000b1"]}))]
pub struct GrantsRequest {
    pub channels: Vec<String>,
    /// `null`: every property.
    #[serde(default)]
    pub property_ids: Option<Vec<String>>,
}

/// Replace what a client may push reservations for.
#[utoipa::path(
    operation_id = "setClientGrants",
    tag = "clients",
    security(("bearer_auth" = ["admin"])),
    params(("client_id" = String, Path, description = "Client id")),
    request_body = GrantsRequest,
    responses((status = 200, description = "Updated.", body = ClientDto))
)]
#[put("/clients/{client_id}/grants")]
pub async fn set_client_grants(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<GrantsRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "client_not_found", "client")?;
    let GrantsRequest {
        channels,
        property_ids,
    } = body.0;
    let grants = ClientGrants {
        channels,
        property_ids,
    }
    .normalised()
    .map_err(ApiError::from)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let client = state
        .write(move |conn| {
            let current = api_clients::find(conn, &org, &id)
                .map_err(|e| or_not_found("client_not_found", "client")(e.into()))?;
            let next = ApiClient {
                grants,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            api_clients::update(conn, &next, current.version)?;
            actor.record(
                conn,
                now,
                "client.grants_changed",
                "client",
                &next.id,
                &["grants"],
            )?;
            Ok(next)
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(client_response(StatusCode::OK, client.into()))
}
