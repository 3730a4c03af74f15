//! Contract templates: ordered clauses with variables, in versions; a
//! published version never changes, so a contract made from it can always
//! be rendered the way it was signed.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId};
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::contract::{validate_clauses, Clause, TemplateStatus, TEMPLATE_VARIABLES};
use crm_domain::values::{bounded_text, required_text};
use crm_domain::Errors;
use crm_storage::contracts::{self as store, Template, TemplateVersion};
use crm_storage::DbConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "协议客户合同 Corporate agreement",
    "description": "Standard annual agreement for corporate clients",
    "clauses": [
        {"kind": "service_content", "title": "服务内容", "body": "甲方 {{hotel.name}} 为乙方 {{account.legal_name}} 的员工在 {{properties}} 提供住宿服务。"},
        {"kind": "price_terms", "title": "价格条款", "body": "自 {{contract.valid_from}} 至 {{contract.valid_to}}，协议价如下：{{rates_table}}"},
        {"kind": "breach_liability", "title": "违约责任", "body": "{{contract.breach_penalty}}"}
    ]
}))]
pub struct TemplateCreate {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Version 1's clauses, in order.
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"clauses": [
    {"kind": "price_terms", "title": "价格条款", "body": "自 {{contract.valid_from}} 至 {{contract.valid_to}}，协议价如下：{{rates_table}}"}
]}))]
pub struct TemplateVersionWrite {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateVersion {
    /// The new draft's clauses; by default a copy of the latest version's.
    #[serde(default)]
    pub clauses: Option<Vec<Clause>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateVersionDto {
    pub template_id: String,
    pub number: i32,
    pub status: TemplateStatus,
    pub clauses: Vec<Clause>,
    pub published_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TemplateVersion> for TemplateVersionDto {
    fn from(v: TemplateVersion) -> Self {
        TemplateVersionDto {
            template_id: v.template_id,
            number: v.number,
            status: v.status,
            clauses: v.clauses,
            published_at: v.published_at,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateVersionSummary {
    pub number: i32,
    pub status: TemplateStatus,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateDto {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub versions: Vec<TemplateVersionSummary>,
    /// The highest published version, if any: what new contracts use.
    pub latest_published: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn template_dto(t: Template, versions: Vec<TemplateVersion>) -> TemplateDto {
    TemplateDto {
        latest_published: versions
            .iter()
            .filter(|v| v.status == TemplateStatus::Published)
            .map(|v| v.number)
            .max(),
        versions: versions
            .into_iter()
            .map(|v| TemplateVersionSummary {
                number: v.number,
                status: v.status,
                published_at: v.published_at,
            })
            .collect(),
        id: t.id,
        name: t.name,
        description: t.description,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

fn version_response(status: StatusCode, v: TemplateVersion) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(v.version)));
    if status == StatusCode::CREATED {
        res.insert_header((
            header::LOCATION,
            format!(
                "/api/v1/contract-templates/{}/versions/{}",
                v.template_id, v.number
            ),
        ));
    }
    res.json(TemplateVersionDto::from(v))
}

fn trimmed(clauses: Vec<Clause>) -> Vec<Clause> {
    clauses
        .into_iter()
        .map(|c| Clause {
            kind: c.kind,
            title: c.title.trim().to_string(),
            body: c.body.trim().to_string(),
        })
        .collect()
}

/// Trims titles and bodies, then checks them (unknown variables included).
fn checked_clauses(clauses: Vec<Clause>) -> Result<Vec<Clause>, ApiError> {
    let clauses = trimmed(clauses);
    validate_clauses(&clauses)?;
    Ok(clauses)
}

fn load_template(conn: &mut DbConnection, org: &str, id: &str) -> Result<Template, ApiError> {
    store::find_template(conn, org, id)
        .map_err(|e| or_not_found("contract_template_not_found", "contract template")(e.into()))
}

fn load_version(
    conn: &mut DbConnection,
    org: &str,
    template_id: &str,
    number: i32,
) -> Result<TemplateVersion, ApiError> {
    store::find_template_version(conn, org, template_id, number)
        .map_err(|e| or_not_found("template_version_not_found", "template version")(e.into()))
}

/// Create a template; its clauses become version 1, a draft.
///
/// Unknown `{{variables}}` are a 422 naming the clause
/// (`clauses[2].body`); `GET /contract-templates/variables` lists them.
#[utoipa::path(
    operation_id = "createContractTemplate",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = TemplateCreate,
    responses((status = 201, description = "Created, with version 1 as a draft.", body = TemplateDto))
)]
#[post("/contract-templates")]
pub async fn create_template(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<TemplateCreate>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let mut errors = Errors::new();
    let name = errors.check("name", required_text(&b.name, 200));
    let description = b.description.and_then(|d| {
        errors
            .check("description", bounded_text(&d, 2000))
            .flatten()
    });
    let clauses = trimmed(b.clauses);
    if let Err(e) = validate_clauses(&clauses) {
        e.into_field_errors()
            .into_iter()
            .for_each(|f| errors.push(f));
    }
    errors.finish()?;
    let now = state.clock.now();
    let t = Template {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        name: name.unwrap_or_default(),
        description,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let v = TemplateVersion {
        id: crm_domain::id::new_id().to_string(),
        org_id: t.org_id.clone(),
        template_id: t.id.clone(),
        number: 1,
        status: TemplateStatus::Draft,
        clauses,
        published_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let (stored_t, stored_v) = (t.clone(), v.clone());
    state
        .write(move |conn| {
            store::insert_template(conn, &stored_t)?;
            store::insert_template_version(conn, &stored_v)?;
            actor.record(
                conn,
                now,
                "contract_template.created",
                "contract_template",
                &stored_t.id,
                &[],
            )
        })
        .await?;
    let id = t.id.clone();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/contract-templates/{id}")))
        .json(template_dto(t, vec![v])))
}

/// List templates.
#[utoipa::path(
    operation_id = "listContractTemplates",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(PageQuery),
    responses((status = 200, description = "A page of templates.", body = ListResponse<TemplateDto>))
)]
#[get("/contract-templates")]
pub async fn list_templates(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            let page = store::list_templates(conn, &org, &page)?;
            let mut with_versions = Vec::new();
            for t in page.items {
                let versions = store::template_versions(conn, &org, &t.id)?;
                with_versions.push(template_dto(t, versions));
            }
            Ok::<_, ApiError>(crm_storage::pagination::Page {
                items: with_versions,
                next_after: page.next_after,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, |t| t)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateVariable {
    pub name: String,
    pub description: String,
}

/// The variables a clause body may use, as `{{name}}`.
#[utoipa::path(
    operation_id = "listContractTemplateVariables",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    responses((status = 200, description = "Every variable.", body = Vec<TemplateVariable>))
)]
#[get("/contract-templates/variables")]
pub async fn list_variables(_auth: Auth<roles::Managers>) -> ApiResult<HttpResponse> {
    let vars: Vec<TemplateVariable> = TEMPLATE_VARIABLES
        .iter()
        .map(|(name, description)| TemplateVariable {
            name: name.to_string(),
            description: description.to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(vars))
}

/// Get a template with the list of its versions.
#[utoipa::path(
    operation_id = "getContractTemplate",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("template_id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template.", body = TemplateDto))
)]
#[get("/contract-templates/{template_id}")]
pub async fn get_template(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_template_not_found", "contract template")?;
    let org = auth.org_id.clone();
    let dto = state
        .read(move |conn| {
            let t = load_template(conn, &org, &id)?;
            let versions = store::template_versions(conn, &org, &id)?;
            Ok::<_, ApiError>(template_dto(t, versions))
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// Get one version of a template, with its clauses.
#[utoipa::path(
    operation_id = "getContractTemplateVersion",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("template_id" = String, Path, description = "Template id"), ("number" = i32, Path, description = "Version number")),
    responses((status = 200, description = "The version.", body = TemplateVersionDto))
)]
#[get("/contract-templates/{template_id}/versions/{number}")]
pub async fn get_template_version(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, number) = version_path(path.into_inner())?;
    let org = auth.org_id.clone();
    let v = state
        .read(move |conn| load_version(conn, &org, &id, number))
        .await?;
    Ok(version_response(StatusCode::OK, v))
}

fn version_path((raw_id, raw_number): (String, String)) -> Result<(String, i32), ApiError> {
    let id = path_id(&raw_id, "contract_template_not_found", "contract template")?;
    let number = raw_number
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::not_found("template_version_not_found", "template version"))?;
    Ok((id, number))
}

/// Replace a draft version's clauses. A published version is a 409
/// `template_version_published`: start a new version instead.
#[utoipa::path(
    operation_id = "updateContractTemplateVersion",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("template_id" = String, Path, description = "Template id"), ("number" = i32, Path, description = "Version number"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = TemplateVersionWrite,
    responses((status = 200, description = "Updated.", body = TemplateVersionDto))
)]
#[patch("/contract-templates/{template_id}/versions/{number}")]
pub async fn update_template_version(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: ApiJson<TemplateVersionWrite>,
) -> ApiResult<HttpResponse> {
    let (id, number) = version_path(path.into_inner())?;
    let clauses = checked_clauses(body.0.clauses)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let v = state
        .write(move |conn| {
            let current = load_version(conn, &org, &id, number)?;
            refuse_published(&current)?;
            let expected = if_match.check(current.version)?;
            let next = TemplateVersion {
                clauses,
                version: current.version + 1,
                updated_at: now,
                ..current
            };
            store::update_template_version(conn, &next, expected)?;
            actor.record(
                conn,
                now,
                "contract_template.updated",
                "contract_template",
                &id,
                &["clauses"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(version_response(StatusCode::OK, v))
}

fn refuse_published(v: &TemplateVersion) -> Result<(), ApiError> {
    if v.status == TemplateStatus::Published {
        return Err(ApiError::conflict(
            "template_version_published",
            format!(
                "Version {} is published and can no longer change; start a new version.",
                v.number
            ),
        ));
    }
    Ok(())
}

/// Start a new draft version (a copy of the latest one, or the clauses
/// given). Only one draft at a time.
#[utoipa::path(
    operation_id = "createContractTemplateVersion",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("template_id" = String, Path, description = "Template id")),
    request_body = NewTemplateVersion,
    responses((status = 201, description = "The new draft.", body = TemplateVersionDto))
)]
#[post("/contract-templates/{template_id}/versions")]
pub async fn create_template_version(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<NewTemplateVersion>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_template_not_found", "contract template")?;
    let given = body.0.clauses.map(checked_clauses).transpose()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let v = state
        .write(move |conn| {
            load_template(conn, &org, &id)?;
            let versions = store::template_versions(conn, &org, &id)?;
            if let Some(draft) = versions.iter().find(|v| v.status == TemplateStatus::Draft) {
                return Err(ApiError::conflict(
                    "template_draft_exists",
                    format!(
                        "Version {} is still a draft: edit or publish it first.",
                        draft.number
                    ),
                ));
            }
            let latest = versions.last();
            let v = TemplateVersion {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                template_id: id.clone(),
                number: latest.map_or(1, |l| l.number + 1),
                status: TemplateStatus::Draft,
                clauses: given
                    .or_else(|| latest.map(|l| l.clauses.clone()))
                    .unwrap_or_default(),
                published_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store::insert_template_version(conn, &v).map_err(|e| match e {
                crm_storage::StorageError::Duplicate { .. } => ApiError::conflict(
                    "template_draft_exists",
                    "Another request started a version at the same time.",
                ),
                other => other.into(),
            })?;
            actor.record(
                conn,
                now,
                "contract_template.version_created",
                "contract_template",
                &id,
                &["versions"],
            )?;
            Ok(v)
        })
        .await?;
    Ok(version_response(StatusCode::CREATED, v))
}

/// Publish a draft version: from now on it is immutable and contracts can
/// be made from it.
#[utoipa::path(
    operation_id = "publishContractTemplateVersion",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("template_id" = String, Path, description = "Template id"), ("number" = i32, Path, description = "Version number")),
    responses((status = 200, description = "Published.", body = TemplateVersionDto))
)]
#[post("/contract-templates/{template_id}/versions/{number}/publish")]
pub async fn publish_template_version(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, number) = version_path(path.into_inner())?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let v = state
        .write(move |conn| {
            let current = load_version(conn, &org, &id, number)?;
            refuse_published(&current)?;
            let next = TemplateVersion {
                status: TemplateStatus::Published,
                published_at: Some(now),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            store::update_template_version(conn, &next, current.version)?;
            actor.record(
                conn,
                now,
                "contract_template.published",
                "contract_template",
                &id,
                &["status"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(version_response(StatusCode::OK, v))
}
