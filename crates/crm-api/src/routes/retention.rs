//! The organisation's retention policy (定期删除过期数据).

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, RequestId};
use crate::retention::RetentionReport;
use crate::state::AppState;
use actix_web::{get, http::header, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_storage::retention::{self as store, Policy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true, "anonymise_after_years": 5}))]
pub struct PolicyWrite {
    /// The scheduled job applies it (with the other daily jobs).
    pub enabled: bool,
    /// Anonymise guests with no stay for this many years (1–50).
    pub anonymise_after_years: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyDto {
    pub enabled: bool,
    pub anonymise_after_years: i32,
    pub version: i32,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// Guests anonymised by the last run.
    pub last_run_count: Option<i32>,
}

fn dto(p: Option<Policy>) -> PolicyDto {
    match p {
        None => PolicyDto {
            enabled: false,
            anonymise_after_years: 0,
            version: 0,
            updated_by: None,
            updated_at: None,
            last_run_at: None,
            last_run_count: None,
        },
        Some(p) => PolicyDto {
            enabled: p.enabled,
            anonymise_after_years: p.anonymise_after_years,
            version: p.version,
            updated_by: Some(p.updated_by),
            updated_at: Some(p.updated_at),
            last_run_at: p.last_run_at,
            last_run_count: p.last_run_count,
        },
    }
}

fn respond(p: Option<Policy>) -> HttpResponse {
    let d = dto(p);
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(d.version)))
        .json(d)
}

/// Get the retention policy (version 0 and disabled until one is set).
#[utoipa::path(
    operation_id = "getRetentionPolicy",
    tag = "retention",
    security(("bearer_auth" = ["admin"])),
    responses((status = 200, description = "The policy.", body = PolicyDto))
)]
#[get("/retention-policy")]
pub async fn get_policy(
    auth: Auth<roles::Admin>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let p = state.read(move |conn| store::find(conn, &org)).await?;
    Ok(respond(p))
}

/// Set the retention policy. Audited.
#[utoipa::path(
    operation_id = "putRetentionPolicy",
    tag = "retention",
    security(("bearer_auth" = ["admin"])),
    request_body = PolicyWrite,
    responses((status = 200, description = "The policy.", body = PolicyDto))
)]
#[put("/retention-policy")]
pub async fn put_policy(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ApiJson<PolicyWrite>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    if !(1..=50).contains(&w.anonymise_after_years) {
        return Err(ApiError::field(
            "anonymise_after_years",
            "out_of_range",
            "1 to 50 years",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let p = state
        .write(move |conn| {
            let current = store::find(conn, &org)?;
            let expected = if_match.check(current.as_ref().map_or(0, |c| c.version))?;
            let next = Policy {
                org_id: org.clone(),
                enabled: w.enabled,
                anonymise_after_years: w.anonymise_after_years,
                version: expected + 1,
                updated_by: actor.principal.id.clone(),
                updated_at: now,
                last_run_at: current.as_ref().and_then(|c| c.last_run_at),
                last_run_count: current.as_ref().and_then(|c| c.last_run_count),
            };
            store::save(conn, &next, current.map(|_| expected))?;
            actor.record(
                conn,
                now,
                "retention_policy.updated",
                "retention_policy",
                &org,
                &["enabled", "anonymise_after_years"],
            )?;
            Ok(Some(next))
        })
        .await?;
    Ok(respond(p))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// `true` (the default): report who would be anonymised, change nothing.
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// Apply the retention policy now, or see what it would do.
///
/// A dry run (the default) reports the guests the policy applies to; a
/// real run anonymises them as an erasure request would (irreversible).
#[utoipa::path(
    operation_id = "runRetentionPolicy",
    tag = "retention",
    security(("bearer_auth" = ["admin"])),
    request_body = RunRequest,
    responses(
        (status = 200, description = "What the run did or would do.", body = RetentionReport),
        (status = 409, description = "No policy is set.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/retention-policy/run")]
pub async fn run_policy(
    auth: Auth<roles::Admin>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<RunRequest>,
) -> ApiResult<HttpResponse> {
    let dry_run = body.0.dry_run.unwrap_or(true);
    let now = state.clock.now();
    let org = auth.org_id.clone();
    let db = state.db.clone();
    let report = web::block(move || -> Result<RetentionReport, ApiError> {
        let p = db.read(|conn| store::find(conn, &org))?.ok_or_else(|| {
            ApiError::conflict("no_retention_policy", "Set a retention policy first.")
        })?;
        crate::retention::apply(&db, &org, p.anonymise_after_years, dry_run, now)
    })
    .await??;
    // Who applied the policy (or looked at what it would do); each
    // anonymised guest has its own event.
    let job = if dry_run {
        "retention-dry-run"
    } else {
        "retention"
    };
    Actor::new(&auth.principal, &request_id, &state)
        .record_alone(&state, "job.run", "job", job.into())
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
