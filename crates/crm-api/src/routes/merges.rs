//! Merge two profiles of one person, and undo it.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, IfMatch, RequestId};
use crate::routes::guests::{guest_response, load_guest};
use crate::routes::path_id;
use crate::state::AppState;
use actix_web::{get, http::StatusCode, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_domain::merge::{self, FieldMerge, Side};
use crm_storage::guests::{self, Guest};
use crm_storage::merges::{self as store, Merge, Moved, MovedMembership};
use crm_storage::{duplicates, loyalty, DbConnection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"other_guest_id": "019ab1c2-0000-7000-8000-000000000102",
    "choices": {"company": "other"}, "other_version": 3}))]
pub struct MergeRequest {
    /// The guest merged into this one; it becomes a tombstone.
    pub other_guest_id: String,
    /// For fields both hold with different values: whose value to keep
    /// (`survivor`, the default, or `other`).
    #[serde(default)]
    pub choices: BTreeMap<String, Side>,
    /// The other guest's version as previewed: a change since is a 409.
    #[serde(default)]
    pub other_version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergePreview {
    pub survivor_id: String,
    pub survivor_version: i32,
    pub other_guest_id: String,
    pub other_version: i32,
    /// Every field of the merged profile, where it comes from, and the
    /// conflicts (`conflict: true`) a choice can settle.
    pub fields: Vec<FieldMerge>,
    pub conflicts: Vec<String>,
    /// What moves with the other guest.
    pub moves: MoveCounts,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct MoveCounts {
    pub reservations: i64,
    pub stays: i64,
    pub identity_documents: i64,
    pub consents: i64,
    pub tickets: i64,
    pub messages: i64,
    pub reviews: i64,
    pub survey_responses: i64,
    pub accounts: i64,
    /// `moved` (only the other guest is a member), `folded` (both are:
    /// the ledger moves, the better tier is kept) or `none`.
    pub membership: String,
    /// Points coming with the other guest's membership.
    pub points: i64,
}

impl MoveCounts {
    fn of(m: &Moved) -> MoveCounts {
        let n = |v: &Vec<String>| v.len() as i64;
        let (membership, points) = match &m.membership {
            None => ("none", 0),
            Some(MovedMembership::Whole { .. }) => ("moved", 0),
            Some(MovedMembership::Folded { points, .. }) => ("folded", *points),
        };
        MoveCounts {
            reservations: n(&m.reservations),
            stays: n(&m.stays),
            identity_documents: n(&m.identity_documents),
            consents: n(&m.consents),
            tickets: n(&m.tickets),
            messages: n(&m.messages),
            reviews: n(&m.reviews),
            survey_responses: n(&m.survey_responses),
            accounts: n(&m.accounts),
            membership: membership.into(),
            points,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeDto {
    pub id: String,
    pub survivor_id: String,
    /// The tombstone: its id still resolves, with `merged_into`.
    pub merged_guest_id: String,
    /// merged, unmerged
    pub status: String,
    pub moved: MoveCounts,
    /// False once either guest's data was erased.
    pub reversible: bool,
    pub merged_by: String,
    pub merged_at: DateTime<Utc>,
    pub unmerged_by: Option<String>,
    pub unmerged_at: Option<DateTime<Utc>>,
}

pub fn merge_dto(m: Merge) -> MergeDto {
    MergeDto {
        moved: MoveCounts::of(&m.moved),
        reversible: m.status == "merged" && m.survivor_before != "{}",
        id: m.id,
        survivor_id: m.survivor_id,
        merged_guest_id: m.loser_id,
        status: m.status,
        merged_by: m.merged_by,
        merged_at: m.merged_at,
        unmerged_by: m.unmerged_by,
        unmerged_at: m.unmerged_at,
    }
}

/// Both guests, checked: distinct, live, of the organisation.
fn load_pair(
    conn: &mut DbConnection,
    org: &str,
    survivor_id: &str,
    other_raw: &str,
) -> Result<(Guest, Guest), ApiError> {
    let other_id = uuid::Uuid::parse_str(other_raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::field("other_guest_id", "unknown_guest", "no such guest"))?;
    if other_id == survivor_id {
        return Err(ApiError::field(
            "other_guest_id",
            "same_guest",
            "a guest cannot be merged with itself",
        ));
    }
    let survivor = load_guest(conn, org, survivor_id)?;
    let other = guests::find(conn, org, &other_id)
        .map_err(|_| ApiError::field("other_guest_id", "unknown_guest", "no such guest"))?;
    for g in [&survivor, &other] {
        if g.erased_at.is_some() {
            return Err(ApiError::conflict(
                "guest_erased",
                "An erased guest cannot be merged.",
            ));
        }
        if let Some(into) = &g.merged_into {
            return Err(ApiError::conflict(
                "guest_merged",
                format!("Guest {} was already merged into {into}.", g.id),
            )
            .with_extension("merged_into", serde_json::json!(into)));
        }
    }
    Ok((survivor, other))
}

/// Preview merging another guest into this one.
///
/// Shows the merged profile field by field with where each value comes
/// from, the conflicts a choice can settle, and what moves. Nothing is
/// written.
#[utoipa::path(
    operation_id = "previewGuestMerge",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("guest_id" = String, Path, description = "The surviving guest")),
    request_body = MergeRequest,
    responses((status = 200, description = "The merge as it would be.", body = MergePreview))
)]
#[post("/guests/{guest_id}/merge/preview")]
pub async fn preview_merge(
    auth: Auth<roles::Desk>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<MergeRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let req = body.0;
    // A write transaction: the move is counted by doing it in a savepoint
    // that is rolled back.
    let preview = state
        .write(move |conn| -> Result<MergePreview, ApiError> {
            let (survivor, other) = load_pair(conn, &org, &id, &req.other_guest_id)?;
            let fields = merge::preview(&survivor.profile, &other.profile, &req.choices);
            let moved = store::would_move(conn, &org, &other.id, &survivor.id, Utc::now())?;
            Ok(MergePreview {
                conflicts: fields
                    .iter()
                    .filter(|f| f.conflict)
                    .map(|f| f.field.clone())
                    .collect(),
                fields,
                survivor_id: survivor.id,
                survivor_version: survivor.version,
                other_guest_id: other.id,
                other_version: other.version,
                moves: MoveCounts::of(&moved),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(preview))
}

/// Merge another guest into this one.
///
/// The profile takes the chosen values (see the preview); reservations,
/// stays, identity documents, consents (the most recent per purpose wins),
/// tickets, messages, survey answers, reviews, coupon redemptions and
/// account links move; loyalty moves whole, or, when both are members, the
/// other's ledger and lots join this membership and the better tier is
/// kept. The other guest becomes a tombstone whose id resolves with
/// `merged_into`. Audited; webhook `guest.merged`. `If-Match` applies to
/// this guest, `other_version` to the other.
#[utoipa::path(
    operation_id = "mergeGuests",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "The surviving guest")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "Merged; the surviving profile.", body = crate::routes::guests::GuestDto),
        (status = 409, description = "A guest is erased, already merged, or changed since the preview.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guests/{guest_id}/merge")]
pub async fn merge_guests(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<MergeRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let req = body.0;
    let survivor = state
        .write(move |conn| {
            let (survivor, other) = load_pair(conn, &org, &id, &req.other_guest_id)?;
            let expected = if_match.check(survivor.version)?;
            if req.other_version.is_some_and(|v| v != other.version) {
                return Err(ApiError::conflict(
                    "version_conflict",
                    "The other guest changed since the preview; preview again.",
                ));
            }
            let profile = merge::merge(
                &survivor.profile,
                &other.profile,
                &req.choices,
                now.date_naive(),
            )?;
            let tags_added: Vec<String> = profile
                .tags
                .iter()
                .filter(|t| !survivor.profile.tags.contains(t))
                .cloned()
                .collect();
            let next = Guest {
                profile,
                blacklist: survivor
                    .blacklist
                    .clone()
                    .or_else(|| other.blacklist.clone()),
                version: survivor.version + 1,
                updated_at: now,
                ..survivor.clone()
            };
            let tombstone = Guest {
                merged_into: Some(survivor.id.clone()),
                merged_at: Some(now),
                version: other.version + 1,
                updated_at: now,
                ..other.clone()
            };
            let survivor_before = guests::snapshot(&survivor)?;
            let loser_before = guests::snapshot(&other)?;
            guests::update(conn, &next, expected)?;
            guests::update(conn, &tombstone, other.version)?;
            let ranks = loyalty::tier_ranks(conn, &org)?;
            let rank = |t: &str| ranks.get(t).copied().unwrap_or(0);
            let moved = store::move_all(
                conn,
                &org,
                &other.id,
                &survivor.id,
                tags_added,
                |mine, theirs| rank(theirs) > rank(mine),
                now,
            )?;
            duplicates::decide(
                conn,
                &org,
                &survivor.id,
                &other.id,
                "merged",
                Some(&actor.principal.id),
                now,
            )?;
            duplicates::drop_open_for(conn, &org, &other.id)?;
            store::insert(
                conn,
                &Merge {
                    id: crm_domain::id::new_id().to_string(),
                    org_id: org.clone(),
                    survivor_id: survivor.id.clone(),
                    loser_id: other.id.clone(),
                    status: "merged".into(),
                    survivor_before,
                    loser_before,
                    survivor_version_after: next.version,
                    moved,
                    merged_by: actor.principal.id.clone(),
                    merged_at: now,
                    unmerged_by: None,
                    unmerged_at: None,
                },
            )?;
            let fields = survivor.profile.changed_fields(&next.profile);
            actor.record(conn, now, "guest.merged", "guest", &survivor.id, &fields)?;
            actor.record(
                conn,
                now,
                "guest.merged_away",
                "guest",
                &other.id,
                &["merged_into"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(guest_response(StatusCode::OK, survivor))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeRequest {
    /// The merge to undo; by default this guest's latest.
    #[serde(default)]
    pub merge_id: Option<String>,
}

/// Undo this guest's latest merge.
///
/// Both profiles are restored as they were and what came from the other
/// guest moves back — as long as the merge is the latest change affecting
/// them: a later edit of the profile, a later merge, points earned or
/// spent since, or an erasure make it a 409 saying which.
#[utoipa::path(
    operation_id = "unmergeGuest",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "The surviving guest")),
    request_body = UnmergeRequest,
    responses(
        (status = 200, description = "Undone; the merge as recorded.", body = MergeDto),
        (status = 409, description = "The merge is no longer the latest change.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/guests/{guest_id}/unmerge")]
pub async fn unmerge_guest(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<UnmergeRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let wanted = body
        .0
        .merge_id
        .map(|m| {
            uuid::Uuid::parse_str(&m)
                .map(|u| u.to_string())
                .map_err(|_| ApiError::field("merge_id", "unknown_merge", "no such merge"))
        })
        .transpose()?;
    let merge = state
        .write(move |conn| {
            let survivor = load_guest(conn, &org, &id)?;
            let history = store::involving(conn, &org, &id)?;
            let not_latest = |why: String| ApiError::conflict("merge_not_latest", why);
            let m = match &wanted {
                Some(w) => history
                    .iter()
                    .find(|m| m.id == *w && m.survivor_id == id)
                    .ok_or_else(|| {
                        ApiError::field("merge_id", "unknown_merge", "no such merge of this guest")
                    })?,
                None => history
                    .iter()
                    .find(|m| m.survivor_id == id && m.status == "merged")
                    .ok_or_else(|| {
                        ApiError::conflict("no_merge", "This guest has no merge to undo.")
                    })?,
            }
            .clone();
            if m.status != "merged" {
                return Err(ApiError::conflict(
                    "already_unmerged",
                    "This merge was already undone.",
                ));
            }
            if m.survivor_before == "{}" || survivor.erased_at.is_some() {
                return Err(not_latest(
                    "A guest of this merge was erased since; it cannot be undone.".into(),
                ));
            }
            // Newest first: a merge after this one, still in effect, is in the way.
            if let Some(later) = history
                .iter()
                .take_while(|h| h.id != m.id)
                .find(|h| h.status == "merged")
            {
                return Err(not_latest(format!(
                    "A later merge ({}) involves this guest; undo it first.",
                    later.id
                )));
            }
            if survivor.version != m.survivor_version_after {
                return Err(not_latest(format!(
                    "The profile changed after the merge (version {}, the merge left {}).",
                    survivor.version, m.survivor_version_after
                )));
            }
            let loser = guests::find(conn, &org, &m.loser_id)?;
            if loser.merged_into.as_deref() != Some(id.as_str()) || loser.erased_at.is_some() {
                return Err(not_latest(
                    "The merged-away guest changed since the merge.".into(),
                ));
            }
            if let Some(why) = store::ledger_moved_on(conn, &org, &m.moved, m.merged_at)? {
                return Err(not_latest(format!(
                    "{why}; the points cannot be split back."
                )));
            }
            let restored = Guest {
                version: survivor.version + 1,
                updated_at: now,
                ..guests::from_snapshot(&m.survivor_before)?
            };
            let revived = Guest {
                merged_into: None,
                merged_at: None,
                version: loser.version + 1,
                updated_at: now,
                ..guests::from_snapshot(&m.loser_before)?
            };
            guests::update(conn, &restored, survivor.version)?;
            guests::update(conn, &revived, loser.version)?;
            store::move_back_all(conn, &org, &m.moved, &m.loser_id, &id, now)?;
            store::mark_unmerged(conn, &org, &m.id, &actor.principal.id, now)?;
            // Undone by a person: these two are not one, and stay apart.
            duplicates::decide(
                conn,
                &org,
                &id,
                &m.loser_id,
                "dismissed",
                Some(&actor.principal.id),
                now,
            )?;
            actor.record(conn, now, "guest.unmerged", "guest", &id, &[])?;
            actor.record(
                conn,
                now,
                "guest.unmerged",
                "guest",
                &m.loser_id,
                &["merged_into"],
            )?;
            let all = store::involving(conn, &org, &id)?;
            all.into_iter()
                .find(|x| x.id == m.id)
                .ok_or_else(|| ApiError::internal("merge vanished"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(merge_dto(merge)))
}

/// The merges this guest took part in, newest first.
#[utoipa::path(
    operation_id = "listGuestMerges",
    tag = "duplicates",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "Merges, as survivor or merged-away guest.", body = Vec<MergeDto>))
)]
#[get("/guests/{guest_id}/merges")]
pub async fn list_merges(
    auth: Auth<roles::Desk>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "guest_not_found", "guest")?;
    let org = auth.org_id.clone();
    let merges = state
        .read(move |conn| -> Result<Vec<Merge>, ApiError> {
            guests::find(conn, &org, &id)
                .map_err(|e| crate::routes::or_not_found("guest_not_found", "guest")(e.into()))?;
            Ok(store::involving(conn, &org, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(merges.into_iter().map(merge_dto).collect::<Vec<_>>()))
}
