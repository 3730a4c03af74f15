//! Properties (门店): the hotels and B&Bs of the organisation.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::guest::Address;
use crm_domain::property::PropertyDetails;
use crm_storage::properties::{self, Property};
use crm_storage::StorageError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "SHA01", "name": "外滩精品酒店 The Bund Boutique", "time_zone": "Asia/Shanghai",
    "currency": "CNY", "country": "CN", "address": {"line1": "中山东一路 1 号", "city": "Shanghai", "country": "CN"}
}))]
pub struct PropertyWrite {
    /// Short code used by OTAs and the PMS: letters, digits, `-`, `_`.
    pub code: String,
    pub name: String,
    /// IANA time zone; stay dates are calendar dates in this zone.
    pub time_zone: String,
    /// ISO 4217.
    pub currency: String,
    /// ISO 3166-1 alpha-2; phone numbers typed without a country code are
    /// read in this country.
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-0000000000b1", "code": "SHA01", "name": "外滩精品酒店 The Bund Boutique",
    "time_zone": "Asia/Shanghai", "currency": "CNY", "country": "CN", "address": {"city": "Shanghai"},
    "version": 1, "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"
}))]
pub struct PropertyDto {
    pub id: String,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub country: String,
    pub address: Option<Address>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Property> for PropertyDto {
    fn from(p: Property) -> Self {
        PropertyDto {
            id: p.id,
            code: p.code,
            name: p.name,
            time_zone: p.time_zone,
            currency: p.currency,
            country: p.country,
            address: p.address,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn response(status: StatusCode, p: Property) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(p.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/properties/{}", p.id)));
    }
    res.json(PropertyDto::from(p))
}

fn validate(w: PropertyWrite) -> Result<PropertyDetails, ApiError> {
    Ok(PropertyDetails::parse(
        &w.code,
        &w.name,
        &w.time_zone,
        &w.currency,
        &w.country,
        w.address,
    )?)
}

fn code_taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => ApiError::conflict(
            "property_code_taken",
            "Another property already has this code.",
        ),
        other => other.into(),
    }
}

/// Create a property.
#[utoipa::path(
    operation_id = "createProperty",
    tag = "properties",
    security(("bearer_auth" = ["admin"])),
    request_body = PropertyWrite,
    responses(
        (status = 201, description = "Created.", body = PropertyDto),
        (status = 409, description = "The code is taken.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/properties")]
pub async fn create_property(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<PropertyWrite>,
) -> ApiResult<HttpResponse> {
    let d = validate(body.0)?;
    let now = state.clock.now();
    let property = Property {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        code: d.code,
        name: d.name,
        time_zone: d.time_zone.name().to_string(),
        currency: d.currency.as_str().to_string(),
        country: d.country.as_str().to_string(),
        address: d.address,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = property.clone();
    state
        .write(move |conn| {
            properties::insert(conn, &stored).map_err(code_taken)?;
            actor.record(conn, now, "property.created", "property", &stored.id, &[])
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(response(StatusCode::CREATED, property))
}

/// List properties.
#[utoipa::path(
    operation_id = "listProperties",
    tag = "properties",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(PageQuery),
    responses((status = 200, description = "A page of properties.", body = ListResponse<PropertyDto>))
)]
#[get("/properties")]
pub async fn list_properties(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| properties::list(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, PropertyDto::from)))
}

/// Get a property.
#[utoipa::path(
    operation_id = "getProperty",
    tag = "properties",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("property_id" = String, Path, description = "Property id")),
    responses((status = 200, description = "The property.", body = PropertyDto))
)]
#[get("/properties/{property_id}")]
pub async fn get_property(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "property_not_found", "property")?;
    let org = auth.org_id.clone();
    let p = state
        .read(move |conn| properties::find(conn, &org, &id))
        .await
        .map_err(or_not_found("property_not_found", "property"))?;
    Ok(response(StatusCode::OK, p))
}

/// Update a property (JSON merge patch).
#[utoipa::path(
    operation_id = "updateProperty",
    tag = "properties",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("property_id" = String, Path, description = "Property id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = PropertyWrite, content_type = "application/merge-patch+json", description = "Any subset of the fields; `null` removes the address."),
    responses((status = 200, description = "Updated.", body = PropertyDto))
)]
#[patch("/properties/{property_id}")]
pub async fn update_property(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "property_not_found", "property")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let p = state
        .write(move |conn| {
            let current = properties::find(conn, &org, &id)
                .map_err(|e| or_not_found("property_not_found", "property")(e.into()))?;
            let expected = if_match.check(current.version)?;
            let before = PropertyWrite {
                code: current.code.clone(),
                name: current.name.clone(),
                time_zone: current.time_zone.clone(),
                currency: current.currency.clone(),
                country: current.country.clone(),
                address: current.address.clone(),
            };
            let patched: PropertyWrite = apply_merge_patch(&before, &body.0)?;
            let d = validate(patched)?;
            let next = Property {
                code: d.code,
                name: d.name,
                time_zone: d.time_zone.name().to_string(),
                currency: d.currency.as_str().to_string(),
                country: d.country.as_str().to_string(),
                address: d.address,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            let mut changed = Vec::new();
            for (name, differs) in [
                ("code", next.code != current.code),
                ("name", next.name != current.name),
                ("time_zone", next.time_zone != current.time_zone),
                ("currency", next.currency != current.currency),
                ("country", next.country != current.country),
                ("address", next.address != current.address),
            ] {
                if differs {
                    changed.push(name);
                }
            }
            if changed.is_empty() {
                return Ok(current);
            }
            properties::update(conn, &next, expected).map_err(code_taken)?;
            actor.record(
                conn,
                now,
                "property.updated",
                "property",
                &next.id,
                &changed,
            )?;
            Ok(next)
        })
        .await?;
    state.config_cache.invalidate(&auth.org_id);
    Ok(response(StatusCode::OK, p))
}
