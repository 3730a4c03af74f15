//! Duplicate candidates (疑似重复客户): pairs that look like one person,
//! highest score first, until merged or dismissed.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::duplicates::ScanReport;
use crate::error::{ApiError, ApiResult};
use crate::http::RequestId;
use crate::routes::{path_id, query_id};
use crate::state::AppState;
use actix_web::{get, post, web, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use crm_domain::duplicate::Reason;
use crm_storage::duplicates::{self as store, Candidate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab1c2-0000-7000-8000-000000000901",
    "guest_ids": ["019ab1c2-0000-7000-8000-000000000101", "019ab1c2-0000-7000-8000-000000000102"],
    "score": 92, "reasons": ["same_phone", "same_name", "same_birthday"], "status": "open",
    "found_at": "2026-12-02T08:30:00Z", "decided_by": null, "decided_at": null
}))]
pub struct CandidateDto {
    pub id: String,
    /// The two guests, in id order.
    pub guest_ids: [String; 2],
    /// 0 to 100: how sure the rules are that these are one person.
    pub score: i32,
    pub reasons: Vec<Reason>,
    /// open, dismissed (not the same person; remembered), merged.
    pub status: String,
    pub found_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

pub fn dto(c: Candidate) -> CandidateDto {
    CandidateDto {
        reasons: serde_json::from_str(&c.reasons).unwrap_or_default(),
        id: c.id,
        guest_ids: [c.guest_a, c.guest_b],
        score: c.score,
        status: c.status,
        found_at: c.found_at,
        decided_by: c.decided_by,
        decided_at: c.decided_at,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateList {
    pub data: Vec<CandidateDto>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateParams {
    /// Only pairs involving this guest.
    pub guest_id: Option<String>,
    /// Only pairs scoring at least this (0–100).
    pub min_score: Option<i32>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

const CURSOR_PREFIX: &str = "d1:";

fn encode_cursor(raw: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{raw}"))
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid =
        || ApiError::bad_request("invalid_cursor", "The cursor is not one this API returned.");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let raw = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
    let (score, id) = raw.split_once(':').ok_or_else(invalid)?;
    score.parse::<i32>().map_err(|_| invalid())?;
    uuid::Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(raw.to_string())
}

/// List open duplicate candidates, highest score first.
///
/// Pairs come from the `duplicate-scan` job (guests new or changed since
/// its last run) and from the check when a guest is created. Merge a pair
/// with `POST /guests/{id}/merge`, or dismiss it.
#[utoipa::path(
    operation_id = "listDuplicateCandidates",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(CandidateParams),
    responses((status = 200, description = "A page of candidate pairs.", body = CandidateList))
)]
#[get("/duplicate-candidates")]
pub async fn list_candidates(
    auth: Auth<roles::Desk>,
    state: web::Data<AppState>,
    q: web::Query<CandidateParams>,
) -> ApiResult<HttpResponse> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            "`limit` must be between 1 and 200.",
        ));
    }
    let min_score = q.min_score.unwrap_or(0);
    if !(0..=100).contains(&min_score) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "`min_score` must be between 0 and 100.",
        ));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let guest = query_id(&q.guest_id, "guest_id")?;
    let org = auth.org_id.clone();
    let (rows, next) = state
        .read(move |conn| {
            store::list_open(
                conn,
                &org,
                guest.as_deref(),
                min_score,
                after.as_deref(),
                limit,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "private, no-store"))
        .json(CandidateList {
            data: rows.into_iter().map(dto).collect(),
            next_cursor: next.as_deref().map(encode_cursor),
        }))
}

/// Dismiss a pair: they are two people. Later scans leave it dismissed.
#[utoipa::path(
    operation_id = "dismissDuplicateCandidate",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("candidate_id" = String, Path, description = "Candidate id")),
    responses(
        (status = 200, description = "Dismissed.", body = CandidateDto),
        (status = 409, description = "Already merged.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/duplicate-candidates/{candidate_id}/dismiss")]
pub async fn dismiss_candidate(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "candidate_not_found", "duplicate candidate")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let row = state
        .write(move |conn| {
            let c = store::find(conn, &org, &id).map_err(|e| {
                crate::routes::or_not_found("candidate_not_found", "duplicate candidate")(e.into())
            })?;
            if c.status == "merged" {
                return Err(ApiError::conflict(
                    "candidate_merged",
                    "These guests were merged; unmerge them instead.",
                ));
            }
            store::decide(
                conn,
                &org,
                &c.guest_a,
                &c.guest_b,
                "dismissed",
                Some(&actor.principal.id),
                now,
            )?;
            actor.record(
                conn,
                now,
                "duplicate.dismissed",
                "duplicate_candidate",
                &c.id,
                &[],
            )?;
            Ok(store::find(conn, &org, &c.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto(row)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScanParams {
    /// Compare every guest, not only those new or changed since the last scan.
    pub full: Option<bool>,
}

/// Run the duplicate scan now (the `duplicate-scan` job also runs hourly).
#[utoipa::path(
    operation_id = "scanDuplicates",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager"])),
    params(ScanParams),
    responses((status = 200, description = "What the scan did.", body = ScanReport))
)]
#[post("/duplicate-candidates/scan")]
pub async fn scan_duplicates(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    q: web::Query<ScanParams>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let org = auth.org_id.clone();
    let db = state.db.clone();
    let full = q.full.unwrap_or(false);
    let report = web::block(move || crate::duplicates::scan(&db, &org, full, now)).await??;
    let job = if full {
        "duplicate-scan-full"
    } else {
        "duplicate-scan"
    };
    Actor::new(&auth.principal, &request_id, &state)
        .record_alone(&state, "job.run", "job", job.into())
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
