//! The caller's organisation (tenant).

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::ApiResult;
use crate::http::{ApiJson, RequestId};
use crate::state::AppState;
use actix_web::{get, patch, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::property::parse_organisation_name;
use crm_domain::values::CountryCode;
use crm_domain::Errors;
use crm_storage::organizations::{self, Organization};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-000000000000", "name": "My Hotel Group", "default_country": "CN",
    "created_at": "2026-11-24T08:30:00Z", "updated_at": "2026-11-24T08:30:00Z"}))]
pub struct OrganizationDto {
    pub id: String,
    pub name: String,
    /// Where phone numbers without a country code are read when no
    /// property is named.
    pub default_country: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        OrganizationDto {
            id: o.id,
            name: o.name,
            default_country: o.default_country,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// Get the caller's organisation.
#[utoipa::path(
    operation_id = "getOrganization",
    tag = "organization",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    responses((status = 200, description = "The organisation.", body = OrganizationDto))
)]
#[get("/organization")]
pub async fn get_organization(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let o = state
        .read(move |conn| organizations::find(conn, &org))
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationDto::from(o)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "My Hotel Group"}))]
pub struct UpdateOrganizationRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub default_country: Option<String>,
}

/// Rename the organisation or change its default country.
#[utoipa::path(
    operation_id = "updateOrganization",
    tag = "organization",
    security(("bearer_auth" = ["admin"])),
    request_body(content = UpdateOrganizationRequest, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = OrganizationDto))
)]
#[patch("/organization")]
pub async fn update_organization(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<UpdateOrganizationRequest>,
) -> ApiResult<HttpResponse> {
    let UpdateOrganizationRequest {
        name,
        default_country,
    } = body.0;
    let mut errors = Errors::new();
    let name = name.and_then(|n| errors.check("name", parse_organisation_name(&n)));
    let country =
        default_country.and_then(|c| errors.check("default_country", CountryCode::parse(&c)));
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let o = state
        .write(move |conn| {
            let current = organizations::find(conn, &org)?;
            let new_name = name.unwrap_or(current.name.clone());
            let new_country = country
                .map(|c| c.as_str().to_string())
                .unwrap_or(current.default_country.clone());
            let updated = organizations::rename(conn, &org, &new_name, &new_country, now)?;
            actor.record(
                conn,
                now,
                "organization.updated",
                "organization",
                &org,
                &["name", "default_country"],
            )?;
            Ok(updated)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationDto::from(o)))
}
