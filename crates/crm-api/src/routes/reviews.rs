//! Online reviews (口碑): what guests wrote on Ctrip, Meituan, Booking,
//! Google …, linked to the guest and stay when known, and the hotel's
//! reply.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{etag_for, ApiJson, IfMatch, ListResponse, PageParams, RequestId};
use crate::routes::{body_id, or_not_found, path_id, query_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::survey::{normalised_rating, ReplyStatus, ReviewSource};
use crm_domain::values::{bounded_text, required_text};
use crm_domain::{Errors, FieldError};
use crm_storage::codec::{enum_from_db as enum_from_str, enum_to_db as enum_to_string};
use crm_storage::surveys::{self as store, Review, ReviewFilter};
use crm_storage::{properties, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "property_id": "019ab1c2-0000-7000-8000-000000000001", "source": "ctrip", "external_id": "CT-88812",
    "rating": 4.5, "scale": 5, "body": "位置很好，早餐丰富，前台服务热情。", "language": "zh",
    "reviewed_on": "2026-11-20"
}))]
pub struct ReviewCreate {
    pub property_id: String,
    pub source: ReviewSource,
    /// The site's id of the review: the same review is not entered twice.
    #[serde(default)]
    pub external_id: Option<String>,
    /// On the site's scale, in steps of 0.1.
    pub rating: f64,
    /// 5 (default) or 10.
    #[serde(default)]
    pub scale: Option<i32>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub author_name: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub reviewed_on: NaiveDate,
    #[serde(default)]
    pub guest_id: Option<String>,
    #[serde(default)]
    pub stay_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewDto {
    pub id: String,
    pub property_id: String,
    pub source: ReviewSource,
    pub external_id: Option<String>,
    pub rating: f64,
    pub scale: i32,
    /// The rating as 0–100, comparable across sites.
    pub score: i32,
    pub title: Option<String>,
    pub body: Option<String>,
    pub language: Option<String>,
    pub author_name: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub reviewed_on: NaiveDate,
    pub guest_id: Option<String>,
    pub stay_id: Option<String>,
    pub reply_text: Option<String>,
    pub reply_status: ReplyStatus,
    pub replied_at: Option<DateTime<Utc>>,
    pub replied_by: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn dto(r: Review) -> Result<ReviewDto, ApiError> {
    Ok(ReviewDto {
        source: enum_from_str(&r.source)?,
        reply_status: enum_from_str(&r.reply_status)?,
        rating: f64::from(r.rating_tenths) / 10.0,
        replied_at: r.replied_at.map(|t| t.and_utc()),
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
        id: r.id,
        property_id: r.property_id,
        external_id: r.external_id,
        scale: r.scale,
        score: r.score,
        title: r.title,
        body: r.body,
        language: r.language,
        author_name: r.author_name,
        reviewed_on: r.reviewed_on,
        guest_id: r.guest_id,
        stay_id: r.stay_id,
        reply_text: r.reply_text,
        replied_by: r.replied_by,
        version: r.version,
    })
}

fn respond(status: StatusCode, r: Review) -> ApiResult<HttpResponse> {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(r.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/reviews/{}", r.id)));
    }
    Ok(res.json(dto(r)?))
}

fn load_review(conn: &mut DbConnection, org: &str, id: &str) -> Result<Review, ApiError> {
    store::find_review(conn, org, id)
        .map_err(|e| or_not_found("review_not_found", "review")(e.into()))
}

/// Record an online review.
#[utoipa::path(
    operation_id = "createReview",
    tag = "reviews",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    request_body = ReviewCreate,
    responses((status = 201, description = "Recorded.", body = ReviewDto),
        (status = 409, description = "This site's review is already recorded (`review_exists`).", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/reviews")]
pub async fn create_review(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<ReviewCreate>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let mut errors = Errors::new();
    let scale = w.scale.unwrap_or(5);
    let tenths = (w.rating * 10.0).round();
    let score = if w.rating.is_finite() && (tenths - w.rating * 10.0).abs() < 1e-6 {
        normalised_rating(tenths as i32, scale)
    } else {
        None
    };
    if score.is_none() {
        errors.push(FieldError::new(
            "rating",
            "out_of_range",
            "0 to the scale (5 or 10), in steps of 0.1",
        ));
    }
    let property_id = body_id(&mut errors, "property_id", Some(&w.property_id));
    let guest_id = body_id(&mut errors, "guest_id", w.guest_id.as_deref());
    let stay_id = body_id(&mut errors, "stay_id", w.stay_id.as_deref());
    let text = |errors: &mut Errors, f: &str, v: &Option<String>, max: usize| {
        v.as_deref()
            .and_then(|t| errors.check(f, bounded_text(t, max)).flatten())
    };
    let external_id = text(&mut errors, "external_id", &w.external_id, 100);
    let title = text(&mut errors, "title", &w.title, 300);
    let body_text = text(&mut errors, "body", &w.body, 10_000);
    let language = text(&mut errors, "language", &w.language, 20);
    let author_name = text(&mut errors, "author_name", &w.author_name, 200);
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let r = state
        .write(move |conn| {
            let mut errors = Errors::new();
            let property_id = property_id.unwrap_or_default();
            if let Err(StorageError::NotFound) = properties::find(conn, &org, &property_id) {
                errors.push(FieldError::new(
                    "property_id",
                    "unknown_property",
                    "no such property",
                ));
            }
            if let Some(g) = &guest_id {
                if crm_storage::guests::find(conn, &org, g).is_err() {
                    errors.push(FieldError::new(
                        "guest_id",
                        "unknown_guest",
                        "no such guest",
                    ));
                }
            }
            if let Some(s) = &stay_id {
                match crm_storage::tickets::stay_owner(conn, &org, s)? {
                    Some((g, _, _)) if guest_id.as_ref().is_some_and(|x| *x != g) => errors.push(
                        FieldError::new("stay_id", "mismatch", "a stay of another guest"),
                    ),
                    Some(_) => {}
                    None => errors.push(FieldError::new("stay_id", "unknown_stay", "no such stay")),
                }
            }
            errors.finish()?;
            let r = Review {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                property_id,
                source: enum_to_string(&w.source)?,
                external_id,
                rating_tenths: tenths as i32,
                scale,
                score: score.unwrap_or_default(),
                title,
                body: body_text,
                language,
                author_name,
                reviewed_on: w.reviewed_on,
                guest_id,
                stay_id,
                reply_text: None,
                reply_status: enum_to_string(&ReplyStatus::Pending)?,
                replied_at: None,
                replied_by: None,
                version: 1,
                created_by: actor.principal.id.clone(),
                created_at: now.naive_utc(),
                updated_at: now.naive_utc(),
            };
            store::insert_review(conn, &r).map_err(|e| match e {
                StorageError::Duplicate { .. } => {
                    ApiError::conflict("review_exists", "This site's review is already recorded.")
                }
                other => other.into(),
            })?;
            actor.record(conn, now, "review.created", "review", &r.id, &[])?;
            Ok(r)
        })
        .await?;
    respond(StatusCode::CREATED, r)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    pub property_id: Option<String>,
    pub source: Option<ReviewSource>,
    pub reply_status: Option<ReplyStatus>,
    pub guest_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List reviews (e.g. `?reply_status=pending` for those awaiting a reply).
#[utoipa::path(
    operation_id = "listReviews",
    tag = "reviews",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(ReviewParams),
    responses((status = 200, description = "A page of reviews.", body = ListResponse<ReviewDto>))
)]
#[get("/reviews")]
pub async fn list_reviews(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<ReviewParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let filter = ReviewFilter {
        property_id: query_id(&q.property_id, "property_id")?,
        guest_id: query_id(&q.guest_id, "guest_id")?,
        source: q.source.as_ref().map(enum_to_string).transpose()?,
        reply_status: q.reply_status.as_ref().map(enum_to_string).transpose()?,
    };
    let org = auth.org_id.clone();
    let page = state
        .read(move |conn| store::list_reviews(conn, &org, &filter, &page))
        .await?;
    let next_after = page.next_after.clone();
    let items = page
        .items
        .into_iter()
        .map(dto)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(
        crm_storage::pagination::Page { items, next_after },
        |r| r,
    )))
}

/// Get a review.
#[utoipa::path(
    operation_id = "getReview",
    tag = "reviews",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("review_id" = String, Path, description = "Review id")),
    responses((status = 200, description = "The review.", body = ReviewDto))
)]
#[get("/reviews/{review_id}")]
pub async fn get_review(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "review_not_found", "review")?;
    let org = auth.org_id.clone();
    let r = state.read(move |conn| load_review(conn, &org, &id)).await?;
    respond(StatusCode::OK, r)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "感谢您的好评，期待您再次光临！", "posted": true}))]
pub struct ReviewReply {
    pub text: String,
    /// Already posted on the site (`replied`), or a draft (`drafted`).
    #[serde(default)]
    pub posted: bool,
}

/// Write (or post) the hotel's reply to a review.
#[utoipa::path(
    operation_id = "replyToReview",
    tag = "reviews",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("review_id" = String, Path, description = "Review id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = ReviewReply,
    responses((status = 200, description = "Replied.", body = ReviewDto))
)]
#[post("/reviews/{review_id}/reply")]
pub async fn reply_to_review(
    auth: Auth<roles::Marketers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<ReviewReply>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "review_not_found", "review")?;
    let text = required_text(&body.0.text, 4000).map_err(|e| ApiError::from(e.at("text")))?;
    let status = if body.0.posted {
        ReplyStatus::Replied
    } else {
        ReplyStatus::Drafted
    };
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let r = state
        .write(move |conn| {
            let current = load_review(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let next = Review {
                reply_text: Some(text),
                reply_status: enum_to_string(&status)?,
                replied_at: (status == ReplyStatus::Replied).then(|| now.naive_utc()),
                replied_by: Some(actor.principal.id.clone()),
                version: current.version + 1,
                updated_at: now.naive_utc(),
                ..current
            };
            store::update_review(conn, &next, expected)?;
            actor.record(
                conn,
                now,
                "review.replied",
                "review",
                &next.id,
                &["reply_text"],
            )?;
            Ok(next)
        })
        .await?;
    respond(StatusCode::OK, r)
}
