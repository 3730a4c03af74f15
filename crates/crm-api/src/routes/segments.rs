//! Segments (客户细分): named rule trees over guest fields, stays, spend,
//! loyalty and insights; previewed, listed, materialised and exported.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::table::{Cell, Format};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::reservations::Money;
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{delete, get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::role::Role;
use crm_domain::segment::{Field, FieldType, Rule};
use crm_domain::values::{bounded_text, required_text};
use crm_domain::Errors;
use crm_storage::guests;
use crm_storage::insights::{self, InsightRow};
use crm_storage::pagination::{Page, PageRequest, SortOrder};
use crm_storage::segments::{self as store, CompileError, Segment};
use crm_storage::DbConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Lapsing business VIPs",
    "description": "High spenders who travel for work and have not been back for a while",
    "rule": {"all": [
        {"field": "value_class", "op": "eq", "value": "vip"},
        {"field": "travel_purpose", "op": "eq", "value": "business"},
        {"field": "last_stay_days_ago", "op": "gte", "value": 120},
        {"not": {"field": "blacklisted", "op": "eq", "value": true}},
        {"field": "consent", "op": "eq", "value": "marketing_email"}
    ]}
}))]
pub struct SegmentWrite {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a condition
    /// `{"field", "op", "value"}`; see `GET /segments/fields`.
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentDto {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
    /// Members at the last refresh; `null` before any.
    pub member_count: Option<i64>,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Segment> for SegmentDto {
    fn from(s: Segment) -> Self {
        SegmentDto {
            id: s.id,
            name: s.name,
            description: s.description,
            rule: s.rule,
            member_count: s.member_count,
            refreshed_at: s.refreshed_at,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

fn response(status: StatusCode, s: Segment) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(s.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/segments/{}", s.id)));
    }
    res.json(SegmentDto::from(s))
}

fn compile_error(e: CompileError) -> ApiError {
    ApiError::field(
        "rule",
        "invalid_operand",
        format!("{}: {}", e.field, e.message),
    )
}

/// Parses the rule and checks that it compiles.
fn checked_rule(org: &str, value: &serde_json::Value, today: NaiveDate) -> Result<Rule, ApiError> {
    let rule = Rule::parse(value, "rule")?;
    store::compile(org, &rule, today).map_err(compile_error)?;
    Ok(rule)
}

fn load(conn: &mut DbConnection, org: &str, id: &str) -> Result<Segment, ApiError> {
    store::find(conn, org, id).map_err(|e| or_not_found("segment_not_found", "segment")(e.into()))
}

fn stored_rule(s: &Segment) -> Result<Rule, ApiError> {
    Rule::parse(&s.rule, "rule").map_err(ApiError::from)
}

/// A saved segment's rule, read on the primary (it may have just been
/// saved) before its members are counted or read on the replica.
async fn saved_rule(state: &AppState, org: &str, id: &str) -> ApiResult<Rule> {
    let (org, id) = (org.to_string(), id.to_string());
    state
        .read(move |conn| stored_rule(&load(conn, &org, &id)?))
        .await
}

/// Create a segment.
#[utoipa::path(
    operation_id = "createSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    request_body = SegmentWrite,
    responses((status = 201, description = "Created.", body = SegmentDto))
)]
#[post("/segments")]
pub async fn create_segment(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<SegmentWrite>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let w = body.0;
    let mut errors = Errors::new();
    let name = errors.check("name", required_text(&w.name, 200));
    let description = w.description.and_then(|d| {
        errors
            .check("description", bounded_text(&d, 2000))
            .flatten()
    });
    if let Err(e) = Rule::parse(&w.rule, "rule") {
        e.into_field_errors()
            .into_iter()
            .for_each(|f| errors.push(f));
    }
    errors.finish()?;
    checked_rule(&auth.org_id, &w.rule, now.date_naive())?;
    let s = Segment {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        name: name.unwrap_or_default(),
        description,
        rule: w.rule,
        member_count: None,
        refreshed_at: None,
        version: 1,
        created_by: auth.principal.id.clone(),
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = s.clone();
    state
        .write(move |conn| {
            store::insert(conn, &stored)?;
            actor.record(conn, now, "segment.created", "segment", &stored.id, &[])
        })
        .await?;
    Ok(response(StatusCode::CREATED, s))
}

/// List segments.
#[utoipa::path(
    operation_id = "listSegments",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(PageQuery),
    responses((status = 200, description = "A page of segments.", body = ListResponse<SegmentDto>))
)]
#[get("/segments")]
pub async fn list_segments(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, SegmentDto::from)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldDto {
    pub name: &'static str,
    /// `integer`, `money`, `days_ago`, `text`, `enum`, `bool`, `date`, `set`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub operators: Vec<&'static str>,
    /// The values an enum or set field takes, when fixed.
    pub values: Vec<&'static str>,
    pub description: &'static str,
}

/// The fields, operators and values a rule may use.
#[utoipa::path(
    operation_id = "listSegmentFields",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    responses((status = 200, description = "Every field.", body = Vec<FieldDto>))
)]
#[get("/segments/fields")]
pub async fn list_fields(_auth: Auth<roles::Marketers>) -> ApiResult<HttpResponse> {
    let fields: Vec<FieldDto> = Field::ALL
        .iter()
        .map(|f| {
            let ty = f.field_type();
            let (kind, values): (&'static str, Vec<&'static str>) = match ty {
                FieldType::Integer => ("integer", vec![]),
                FieldType::Money => ("money", vec![]),
                FieldType::DaysAgo => ("days_ago", vec![]),
                FieldType::Text => ("text", vec![]),
                FieldType::Enum(v) => ("enum", v.to_vec()),
                FieldType::Bool => ("bool", vec![]),
                FieldType::Date => ("date", vec![]),
                FieldType::Set(v) => ("set", v.to_vec()),
            };
            FieldDto {
                name: f.name(),
                kind,
                operators: ty.operators().iter().map(|o| o.name()).collect(),
                values,
                description: f.description(),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(fields))
}

/// Get a segment.
#[utoipa::path(
    operation_id = "getSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id")),
    responses((status = 200, description = "The segment.", body = SegmentDto))
)]
#[get("/segments/{segment_id}")]
pub async fn get_segment(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    let org = auth.org_id.clone();
    let s = state.read(move |conn| load(conn, &org, &id)).await?;
    Ok(response(StatusCode::OK, s))
}

/// Change a segment (JSON merge patch; `rule` is replaced whole). A new
/// rule forgets the last refresh.
#[utoipa::path(
    operation_id = "updateSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = SegmentWrite, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = SegmentDto))
)]
#[patch("/segments/{segment_id}")]
pub async fn update_segment(
    auth: Auth<roles::Marketers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let patch = body.0;
    let s = state
        .write(move |conn| {
            let current = load(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let before = SegmentWrite {
                name: current.name.clone(),
                description: current.description.clone(),
                rule: current.rule.clone(),
            };
            // The rule is replaced whole, not merged.
            let mut merge = patch.clone();
            let new_rule = merge.as_object_mut().and_then(|m| m.remove("rule"));
            let mut w: SegmentWrite = apply_merge_patch(&before, &merge)?;
            if let Some(rule) = new_rule {
                w.rule = rule;
            }
            let name = required_text(&w.name, 200).map_err(|e| ApiError::from(e.at("name")))?;
            let description = match w.description {
                Some(d) => {
                    bounded_text(&d, 2000).map_err(|e| ApiError::from(e.at("description")))?
                }
                None => None,
            };
            checked_rule(&org, &w.rule, now.date_naive())?;
            let rule_changed = w.rule != current.rule;
            let next = Segment {
                name,
                description,
                rule: w.rule,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            store::update(conn, &next, expected, rule_changed)?;
            actor.record(
                conn,
                now,
                "segment.updated",
                "segment",
                &next.id,
                &["name", "rule"],
            )?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, s))
}

/// Delete a segment and its materialised membership.
#[utoipa::path(
    operation_id = "deleteSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 409, description = "A campaign targets it (`segment_in_use`).", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/segments/{segment_id}")]
pub async fn delete_segment(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    state
        .write(move |conn| {
            // Campaigns keep their target: what they were sent to stays known.
            if crm_storage::campaigns::uses_segment(conn, &org, &id)? {
                return Err(ApiError::conflict(
                    "segment_in_use",
                    "A campaign targets this segment; it cannot be deleted.",
                ));
            }
            if !store::delete(conn, &org, &id)? {
                return Err(ApiError::not_found("segment_not_found", "segment"));
            }
            actor.record(conn, now, "segment.deleted", "segment", &id, &[])
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One member as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub guest_id: String,
    pub name: String,
    pub tier: Option<String>,
    pub value_class: Option<String>,
    pub travel_purpose: Option<String>,
    pub churn_grade: Option<String>,
    pub stays: i64,
    pub spend: Money,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_stay_on: Option<NaiveDate>,
}

fn members_of(
    conn: &mut DbConnection,
    org: &str,
    ids: &[String],
    currency: &str,
) -> Result<Vec<MemberDto>, ApiError> {
    Ok(joined(conn, org, ids)?
        .iter()
        .map(|(g, r)| member_dto(g, r, currency))
        .collect())
}

/// The guests and their insight rows, in the order of `ids`.
fn joined(
    conn: &mut DbConnection,
    org: &str,
    ids: &[String],
) -> Result<Vec<(guests::Guest, InsightRow)>, crm_storage::StorageError> {
    let mut guests: std::collections::HashMap<String, guests::Guest> =
        guests::find_many(conn, org, ids)?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
    let mut rows: std::collections::HashMap<String, InsightRow> =
        insights::find_many(conn, org, ids)?
            .into_iter()
            .map(|r| (r.guest_id.clone(), r))
            .collect();
    Ok(ids
        .iter()
        .filter_map(|id| Some((guests.remove(id)?, rows.remove(id)?)))
        .collect())
}

fn member_dto(g: &guests::Guest, r: &InsightRow, currency: &str) -> MemberDto {
    MemberDto {
        guest_id: g.id.clone(),
        name: g.profile.display_name(),
        tier: r.tier_code.clone(),
        value_class: r.value_class.clone(),
        travel_purpose: r.travel_purpose.clone(),
        churn_grade: r.churn_grade.clone(),
        stays: i64::from(r.stays),
        spend: Money {
            amount: r.spend,
            currency: currency.to_string(),
        },
        last_stay_on: r.last_stay_on,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = Object)]
    pub rule: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentPreviewDto {
    /// Guests matching now.
    pub count: i64,
    /// The first 20 of them.
    pub sample: Vec<MemberDto>,
    /// When the insights the rule reads were last computed.
    pub insights_computed_at: Option<DateTime<Utc>>,
}

async fn preview(
    state: &web::Data<AppState>,
    org: String,
    rule: Rule,
) -> ApiResult<SegmentPreviewDto> {
    let today = state.clock.now().date_naive();
    state
        .read_replica(move |conn| {
            let currency = insights::settings(conn, &org)?.currency;
            let (count, ids) =
                store::preview(conn, &org, &rule, today, 20)?.map_err(compile_error)?;
            let sample = members_of(conn, &org, &ids, &currency)?;
            let computed = insights::last_run(conn, &org)?.map(|t| t.and_utc());
            Ok::<_, ApiError>(SegmentPreviewDto {
                count,
                sample,
                insights_computed_at: computed,
            })
        })
        .await
}

/// Preview a rule before saving it: how many guests match, and a sample.
#[utoipa::path(
    operation_id = "previewRule",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    request_body = PreviewRequest,
    responses((status = 200, description = "The count and a sample.", body = SegmentPreviewDto))
)]
#[post("/segments/preview")]
pub async fn preview_rule(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    body: ApiJson<PreviewRequest>,
) -> ApiResult<HttpResponse> {
    let rule = checked_rule(&auth.org_id, &body.0.rule, state.clock.now().date_naive())?;
    let dto = preview(&state, auth.org_id.clone(), rule).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// Preview a saved segment: how many guests match now, and a sample.
#[utoipa::path(
    operation_id = "previewSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id")),
    responses((status = 200, description = "The count and a sample.", body = SegmentPreviewDto))
)]
#[post("/segments/{segment_id}/preview")]
pub async fn preview_segment(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    let rule = saved_rule(&state, &auth.org_id, &id).await?;
    let dto = preview(&state, auth.org_id.clone(), rule).await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// The guests matching a segment now, by guest id.
#[utoipa::path(
    operation_id = "listSegmentMembers",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id"), PageQuery),
    responses((status = 200, description = "A page of members.", body = ListResponse<MemberDto>))
)]
#[get("/segments/{segment_id}/members")]
pub async fn list_members(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let today = state.clock.now().date_naive();
    let rule = saved_rule(&state, &org, &id).await?;
    let result = state
        .read_replica(move |conn| {
            let currency = insights::settings(conn, &org)?.currency;
            let ids = store::members(conn, &org, &rule, today, &page)?.map_err(compile_error)?;
            let items = members_of(conn, &org, &ids.items, &currency)?;
            Ok::<_, ApiError>(Page {
                items,
                next_after: ids.next_after,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, |m| m)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshDto {
    pub member_count: i64,
    pub refreshed_at: DateTime<Utc>,
}

/// Materialise the segment's membership now (what campaigns send to).
#[utoipa::path(
    operation_id = "refreshSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id")),
    responses((status = 200, description = "Refreshed.", body = RefreshDto))
)]
#[post("/segments/{segment_id}/refresh")]
pub async fn refresh_segment(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let count = state
        .write(move |conn| {
            let s = load(conn, &org, &id)?;
            let rule = stored_rule(&s)?;
            let n = store::refresh(conn, &org, &id, &rule, now.date_naive(), now)?
                .map_err(compile_error)?;
            actor.record(conn, now, "segment.refreshed", "segment", &id, &["members"])?;
            Ok(n)
        })
        .await?;
    Ok(HttpResponse::Ok().json(RefreshDto {
        member_count: count,
        refreshed_at: now,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    #[param(inline)]
    pub format: Option<Format>,
}

/// The columns a role may export: contact details only for managers.
fn export_columns(role: Role) -> &'static [&'static str] {
    match role {
        Role::Admin | Role::Manager => &[
            "guest_id",
            "name",
            "email",
            "phone",
            "tier",
            "value_class",
            "travel_purpose",
            "churn_grade",
            "stays",
            "spend",
            "last_stay_on",
        ],
        _ => &[
            "guest_id",
            "name",
            "tier",
            "value_class",
            "travel_purpose",
            "churn_grade",
            "stays",
            "spend",
            "last_stay_on",
        ],
    }
}

fn export_row(g: &guests::Guest, r: &InsightRow, columns: &[&str]) -> Vec<Cell> {
    columns
        .iter()
        .map(|c| match *c {
            "guest_id" => Cell::Text(g.id.clone()),
            "name" => Cell::Text(g.profile.display_name()),
            "email" => g
                .profile
                .emails
                .first()
                .map_or(Cell::Null, |(e, _)| Cell::Text(e.as_str().to_string())),
            "phone" => g
                .profile
                .phones
                .first()
                .map_or(Cell::Null, |(p, _)| Cell::Text(p.as_str().to_string())),
            "tier" => r.tier_code.clone().into(),
            "value_class" => r.value_class.clone().into(),
            "travel_purpose" => r.travel_purpose.clone().into(),
            "churn_grade" => r.churn_grade.clone().into(),
            "stays" => Cell::Int(i64::from(r.stays)),
            "spend" => Cell::Int(r.spend),
            "last_stay_on" => r.last_stay_on.map(|d| d.to_string()).into(),
            _ => Cell::Null,
        })
        .collect()
}

/// Export the members as CSV or XLSX, with the columns the caller's role
/// may see (e-mail and phone for admins and managers only). Audited.
/// CSV streams page by page; XLSX is written in constant memory. A segment
/// with more members than an export holds (`HOTEL_CRM_EXPORT_MAX_ROWS`,
/// 1,000,000) is refused with 422 `export_too_large`, never cut short.
#[utoipa::path(
    operation_id = "exportSegment",
    tag = "segments",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("segment_id" = String, Path, description = "Segment id"), ExportParams),
    responses(
        (status = 200, description = "The file.", content(
            (String = "text/csv"),
            (crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 422, description = "More members than one export holds (`export_too_large`): narrow the segment.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/segments/{segment_id}/export")]
pub async fn export_segment(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "segment_not_found", "segment")?;
    let format = q.format.unwrap_or(Format::Csv);
    if format == Format::Json {
        return Err(ApiError::bad_request(
            "invalid_format",
            "`format` is `csv` or `xlsx`.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let columns = export_columns(auth.principal.role);
    let max_rows = state.settings.export_max_rows;
    let today = now.date_naive();
    let rule = saved_rule(&state, &org, &id).await?;
    // Counted where the members are read: the replica, the load of the
    // export off the primary.
    let members = {
        let (org, rule) = (org.clone(), rule.clone());
        state
            .read_replica(move |conn| {
                let (members, _) =
                    store::preview(conn, &org, &rule, today, 0)?.map_err(compile_error)?;
                Ok::<_, ApiError>(members)
            })
            .await?
    };
    if u64::try_from(members).unwrap_or(u64::MAX) > max_rows {
        return Err(ApiError::unprocessable(
            "export_too_large",
            format!(
                "The segment has {members} members; an export holds at most \
                 {max_rows}. Narrow the segment's rule and export in parts."
            ),
        ));
    }
    // Who exported what, with which columns; never the data.
    {
        let id = id.clone();
        state
            .write(move |conn| actor.record(conn, now, "segment.exported", "segment", &id, columns))
            .await?;
    }
    let db = state.replica.clone();
    let name = format!("segment-{id}");
    match format {
        Format::Csv => {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
            tokio::task::spawn_blocking(move || {
                // A failure half-way can only end the download: its headers
                // are sent. It is logged, and the file is cut short.
                let send = |chunk: Result<Vec<u8>, ApiError>| {
                    let chunk = chunk.map(web::Bytes::from).map_err(|e| {
                        log::error!(
                            "segment export failed: {}",
                            e.internal.as_deref().unwrap_or(e.code)
                        );
                        std::io::Error::other("export failed")
                    });
                    tx.blocking_send(chunk).is_ok()
                };
                let mut header = b"\xEF\xBB\xBF".to_vec();
                header.extend_from_slice(columns.join(",").as_bytes());
                header.push(b'\n');
                if !send(Ok(header)) {
                    return;
                }
                let result = walk_members(&db, &org, &rule, today, |g, r| {
                    let mut w = csv::WriterBuilder::new()
                        .has_headers(false)
                        .from_writer(Vec::new());
                    let cells: Vec<String> = export_row(g, r, columns)
                        .into_iter()
                        .map(|c| match c {
                            Cell::Text(s) => s,
                            Cell::Int(n) => n.to_string(),
                            Cell::Float(x) => x.to_string(),
                            Cell::Null => String::new(),
                        })
                        .collect();
                    w.write_record(&cells).map_err(ApiError::internal)?;
                    let bytes = w.into_inner().map_err(ApiError::internal)?;
                    Ok(send(Ok(bytes)))
                });
                if let Err(e) = result {
                    let _ = send(Err(e));
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ))
                .streaming(stream))
        }
        _ => {
            let bytes = web::block(move || -> Result<Vec<u8>, ApiError> {
                let mut book = rust_xlsxwriter::Workbook::new();
                let sheet = book
                    .add_worksheet_with_constant_memory()
                    .map_err(ApiError::internal)?;
                for (c, col) in columns.iter().enumerate() {
                    sheet
                        .write_string(0, c as u16, *col)
                        .map_err(ApiError::internal)?;
                }
                let mut r = 0u32;
                walk_members(&db, &org, &rule, today, |g, i| {
                    r += 1;
                    crate::http::table::write_row(sheet, r, &export_row(g, i, columns))?;
                    Ok(true)
                })?;
                book.save_to_buffer().map_err(ApiError::internal)
            })
            .await
            .map_err(ApiError::internal)??;
            Ok(crate::http::table::download(
                bytes,
                &name,
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ))
        }
    }
}

/// Calls `each` for every member, page by page (stops when it says false).
fn walk_members(
    db: &crm_storage::Database,
    org: &str,
    rule: &Rule,
    today: NaiveDate,
    mut each: impl FnMut(&guests::Guest, &InsightRow) -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    let mut after: Option<String> = None;
    loop {
        let page = PageRequest {
            limit: 1000,
            after: after.clone(),
            order: SortOrder::OldestFirst,
        };
        let (guests, rows, next) = db.read(|conn| {
            let ids = match store::members(conn, org, rule, today, &page)? {
                Ok(ids) => ids,
                Err(_) => return Ok((Vec::new(), Vec::new(), None)),
            };
            let (gs, rs): (Vec<_>, Vec<_>) = joined(conn, org, &ids.items)?.into_iter().unzip();
            Ok::<_, crm_storage::StorageError>((gs, rs, ids.next_after))
        })?;
        for (g, r) in guests.iter().zip(&rows) {
            if !each(g, r)? {
                return Ok(());
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}
