//! Satisfaction surveys (满意度调查): templates, the invitation every
//! check-out creates, the public answer behind a signed, expiring,
//! single-use link, and the complaint a low score opens.

use crate::audit::Actor;
use crate::auth::{roles, Auth, Principal, PrincipalKind};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::tickets::{is_vip, open_ticket, NewTicket};
use crate::routes::{or_not_found, path_id, query_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpRequest, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use crm_domain::role::Role;
use crm_domain::service::{Severity, TicketCategory, TicketChannel, TicketKind};
use crm_domain::survey::{check_answer, low_scores, Dimension, SurveyDefinition};
use crm_domain::values::required_text;
use crm_storage::surveys::{self as store, Invitation, Response, ResponseFilter, SurveyTemplate};
use crm_storage::{guests, properties, DbConnection};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

// ---------------------------------------------------------------- links

const LINK_MAC_BYTES: usize = 16;

fn link_mac(secret: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(b"hotel-crm survey link\0");
    mac.update(payload);
    mac
}

/// The link's token: the invitation id and expiry, signed (HMAC-SHA256
/// with the server's secret, truncated to 128 bits). Nothing is stored.
pub fn link_token(secret: &[u8], invitation_id: &str, expires_at: DateTime<Utc>) -> String {
    let id = uuid::Uuid::parse_str(invitation_id).unwrap_or_default();
    let mut payload = id.as_bytes().to_vec();
    payload.extend_from_slice(&expires_at.timestamp().to_be_bytes());
    let tag = link_mac(secret, &payload).finalize().into_bytes();
    payload.extend_from_slice(&tag[..LINK_MAC_BYTES]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
}

/// The invitation id and expiry of a genuine token.
fn open_token(secret: &[u8], token: &str) -> Option<(String, DateTime<Utc>)> {
    if token.len() > 64 {
        return None;
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    if raw.len() != 16 + 8 + LINK_MAC_BYTES {
        return None;
    }
    let (payload, tag) = raw.split_at(24);
    link_mac(secret, payload).verify_truncated_left(tag).ok()?;
    let id = uuid::Uuid::from_slice(&payload[..16]).ok()?.to_string();
    let secs = i64::from_be_bytes(payload[16..24].try_into().ok()?);
    Some((id, Utc.timestamp_opt(secs, 0).single()?))
}

/// On check-out: the invitation for this stay, if the organisation has an
/// active survey (in the check-out transaction).
pub fn invite_after_stay(
    conn: &mut DbConnection,
    stay: &crm_storage::reservations::Stay,
    now: DateTime<Utc>,
) -> Result<Option<Invitation>, ApiError> {
    let Some(t) = store::active_template(conn, &stay.org_id)? else {
        return Ok(None);
    };
    let i = Invitation {
        id: crm_domain::id::new_id().to_string(),
        org_id: stay.org_id.clone(),
        template_id: t.id.clone(),
        template_version: t.version,
        expires_at: now + Duration::days(i64::from(t.definition.valid_days)),
        definition: t.definition,
        guest_id: stay.guest_id.clone(),
        stay_id: stay.id.clone(),
        property_id: stay.property_id.clone(),
        answered_at: None,
        created_at: now,
    };
    store::insert_invitation(conn, &i)?;
    Ok(Some(i))
}

// ---------------------------------------------------------------- templates

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Post-stay survey", "active": true,
    "definition": {"intro": "感谢您的入住！Thank you for staying with us.",
        "dimensions": ["room_hygiene", "food_beverage", "front_desk", "staff_attitude", "value", "location"],
        "nps": true, "free_text": true, "low_score_at_most": 2, "low_nps_at_most": 4, "valid_days": 14}
}))]
pub struct SurveyTemplateWrite {
    pub name: String,
    pub definition: SurveyDefinition,
    /// The one sent after check-out (activating one deactivates the
    /// others).
    #[serde(default)]
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyTemplateDto {
    pub id: String,
    pub name: String,
    pub definition: SurveyDefinition,
    pub active: bool,
    /// Each change is a new version; invitations keep the one they sent.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SurveyTemplate> for SurveyTemplateDto {
    fn from(t: SurveyTemplate) -> Self {
        SurveyTemplateDto {
            id: t.id,
            name: t.name,
            definition: t.definition,
            active: t.active,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn template_response(status: StatusCode, t: SurveyTemplate) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(t.version)));
    if status == StatusCode::CREATED {
        res.insert_header((
            header::LOCATION,
            format!("/api/v1/survey-templates/{}", t.id),
        ));
    }
    res.json(SurveyTemplateDto::from(t))
}

fn check_template(w: &SurveyTemplateWrite) -> Result<String, ApiError> {
    let mut errors = crm_domain::Errors::new();
    let name = errors.check("name", required_text(&w.name, 200));
    errors.check("definition", w.definition.validate());
    errors.finish()?;
    Ok(name.unwrap_or_default())
}

/// Create a survey template.
#[utoipa::path(
    operation_id = "createSurveyTemplate",
    tag = "surveys",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = SurveyTemplateWrite,
    responses((status = 201, description = "Created.", body = SurveyTemplateDto))
)]
#[post("/survey-templates")]
pub async fn create_template(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<SurveyTemplateWrite>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let name = check_template(&w)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let t = SurveyTemplate {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                name,
                definition: w.definition,
                active: w.active,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store::insert_template(conn, &t)?;
            actor.record(
                conn,
                now,
                "survey_template.created",
                "survey_template",
                &t.id,
                &[],
            )?;
            Ok(t)
        })
        .await?;
    Ok(template_response(StatusCode::CREATED, t))
}

/// List survey templates.
#[utoipa::path(
    operation_id = "listSurveyTemplates",
    tag = "surveys",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(PageQuery),
    responses((status = 200, description = "A page of templates.", body = ListResponse<SurveyTemplateDto>))
)]
#[get("/survey-templates")]
pub async fn list_templates(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list_templates(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, SurveyTemplateDto::from)))
}

fn load_template(conn: &mut DbConnection, org: &str, id: &str) -> Result<SurveyTemplate, ApiError> {
    store::find_template(conn, org, id)
        .map_err(|e| or_not_found("survey_template_not_found", "survey template")(e.into()))
}

/// Get a survey template.
#[utoipa::path(
    operation_id = "getSurveyTemplate",
    tag = "surveys",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("template_id" = String, Path, description = "Template id")),
    responses((status = 200, description = "The template.", body = SurveyTemplateDto))
)]
#[get("/survey-templates/{template_id}")]
pub async fn get_template(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "survey_template_not_found", "survey template")?;
    let org = auth.org_id.clone();
    let t = state
        .read(move |conn| load_template(conn, &org, &id))
        .await?;
    Ok(template_response(StatusCode::OK, t))
}

/// Change a survey template (JSON merge patch): a new version; links
/// already sent keep theirs.
#[utoipa::path(
    operation_id = "updateSurveyTemplate",
    tag = "surveys",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("template_id" = String, Path, description = "Template id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = SurveyTemplateWrite, content_type = "application/merge-patch+json", description = "Any subset of the fields; `definition` is replaced whole."),
    responses((status = 200, description = "Updated.", body = SurveyTemplateDto))
)]
#[patch("/survey-templates/{template_id}")]
pub async fn update_template(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "survey_template_not_found", "survey template")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let current = load_template(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let base = SurveyTemplateWrite {
                name: current.name.clone(),
                definition: current.definition.clone(),
                active: current.active,
            };
            let w: SurveyTemplateWrite = apply_merge_patch(&base, &body.0)?;
            let name = check_template(&w)?;
            let next = SurveyTemplate {
                name,
                definition: w.definition,
                active: w.active,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            let unchanged = SurveyTemplate {
                version: current.version,
                updated_at: current.updated_at,
                ..next.clone()
            };
            if unchanged == current {
                return Ok(current);
            }
            store::update_template(conn, &next, expected)?;
            actor.record(
                conn,
                now,
                "survey_template.updated",
                "survey_template",
                &next.id,
                &["definition"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(template_response(StatusCode::OK, t))
}

// ---------------------------------------------------------------- invitations

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationDto {
    pub id: String,
    pub stay_id: String,
    pub property_id: String,
    pub template_id: String,
    pub template_version: i32,
    /// The token of the link to send (`/api/v1/public/surveys/{token}`),
    /// while it is valid and unanswered.
    pub token: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A guest's survey invitations, with the link token while it can be used.
#[utoipa::path(
    operation_id = "listGuestSurveyInvitations",
    tag = "surveys",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("guest_id" = String, Path, description = "Guest id"), PageQuery),
    responses((status = 200, description = "A page of invitations.", body = ListResponse<InvitationDto>))
)]
#[get("/guests/{guest_id}/survey-invitations")]
pub async fn list_invitations(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let guest = path_id(&path, "guest_not_found", "guest")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            crate::routes::guests::load_guest(conn, &org, &guest)?;
            Ok::<_, ApiError>(store::invitations_of_guest(conn, &org, &guest, &page)?)
        })
        .await?;
    let now = state.clock.now();
    let secret = state.settings.jwt_secret.clone();
    Ok(
        HttpResponse::Ok().json(ListResponse::from_page(result, |i| InvitationDto {
            token: (i.answered_at.is_none() && i.expires_at > now)
                .then(|| link_token(&secret, &i.id, i.expires_at)),
            id: i.id,
            stay_id: i.stay_id,
            property_id: i.property_id,
            template_id: i.template_id,
            template_version: i.template_version,
            expires_at: i.expires_at,
            answered_at: i.answered_at,
            created_at: i.created_at,
        })),
    )
}

// ---------------------------------------------------------------- public

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSurvey {
    /// The hotel's name.
    pub property: String,
    pub intro: String,
    pub dimensions: Vec<Dimension>,
    pub nps: bool,
    pub free_text: bool,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scores": {"room_hygiene": 5, "food_beverage": 4, "front_desk": 5, "staff_attitude": 5, "value": 4, "location": 5}, "nps": 9, "comment": "早餐很好"}))]
pub struct SurveyAnswer {
    /// 1–5 for each dimension the survey asks.
    #[schema(value_type = Object)]
    pub scores: BTreeMap<Dimension, i32>,
    /// 0–10, if the survey asks it.
    #[serde(default)]
    pub nps: Option<i32>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyThanks {
    pub received: bool,
}

/// Rate limit per link and per IP, then the invitation behind a genuine,
/// unexpired link.
fn public_invitation(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let now = state.clock.now();
    let ip = crate::http::client_ip(req, &state.settings.trusted_proxies);
    let key: String = token.chars().take(64).collect();
    if let Some(wait) = state.public_limiter.check(&key, &ip, now) {
        return Err(ApiError::rate_limited(wait));
    }
    state.public_limiter.record_failure(&key, &ip, now);
    let settings = &state.settings;
    let (id, expires) = std::iter::once(&settings.jwt_secret)
        .chain(&settings.jwt_previous_secrets)
        .find_map(|secret| open_token(secret, token))
        .ok_or_else(|| ApiError::not_found("survey_not_found", "survey"))?;
    if expires <= now {
        return Err(ApiError::new(
            StatusCode::GONE,
            "survey_expired",
            "This survey link has expired.",
        ));
    }
    Ok((id, expires))
}

/// The survey behind a link (no login: the link is the key, and it opens
/// nothing else).
#[utoipa::path(
    operation_id = "getPublicSurvey",
    tag = "surveys",
    security(()),
    params(("token" = String, Path, description = "The token of the survey link")),
    responses(
        (status = 200, description = "The questions.", body = PublicSurvey),
        (status = 404, description = "No such link.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered (`survey_answered`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired (`survey_expired`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/public/surveys/{token}")]
pub async fn get_public_survey(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (id, _) = public_invitation(&state, &req, &path)?;
    let survey = state
        .read(move |conn| {
            let i = store::find_invitation_by_link(conn, &id)?
                .ok_or_else(|| ApiError::not_found("survey_not_found", "survey"))?;
            if i.answered_at.is_some() {
                return Err(answered());
            }
            let property = properties::find(conn, &i.org_id, &i.property_id)?.name;
            Ok::<_, ApiError>(PublicSurvey {
                property,
                intro: i.definition.intro,
                dimensions: i.definition.dimensions,
                nps: i.definition.nps,
                free_text: i.definition.free_text,
                expires_at: i.expires_at,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(survey))
}

fn answered() -> ApiError {
    ApiError::conflict(
        "survey_answered",
        "This survey was already answered. Thank you!",
    )
}

/// Answer a survey (no login; once per link). A low score opens a
/// complaint for the guest's stay.
#[utoipa::path(
    operation_id = "answerPublicSurvey",
    tag = "surveys",
    security(()),
    params(("token" = String, Path, description = "The token of the survey link")),
    request_body = SurveyAnswer,
    responses(
        (status = 201, description = "Received.", body = SurveyThanks),
        (status = 404, description = "No such link.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered (`survey_answered`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired (`survey_expired`).", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid answer; `errors` names each field.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/public/surveys/{token}")]
pub async fn answer_public_survey(
    req: HttpRequest,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<SurveyAnswer>,
) -> ApiResult<HttpResponse> {
    let (id, _) = public_invitation(&state, &req, &path)?;
    let now = state.clock.now();
    let state2 = state.clone();
    let answer = body.0;
    state
        .write(move |conn| {
            let i = store::find_invitation_by_link(conn, &id)?
                .ok_or_else(|| ApiError::not_found("survey_not_found", "survey"))?;
            let guest = guests::find(conn, &i.org_id, &i.guest_id)?;
            if guest.erased_at.is_some() {
                return Err(ApiError::not_found("survey_not_found", "survey"));
            }
            let scores: Vec<(Dimension, i32)> =
                answer.scores.iter().map(|(d, s)| (*d, *s)).collect();
            let a = check_answer(
                &i.definition,
                &scores,
                answer.nps,
                answer.comment.as_deref(),
            )?;
            if !store::claim_invitation(conn, &i.org_id, &i.id, now)? {
                return Err(answered());
            }
            // The guest acts through the link: recorded as such.
            let actor = Actor::new(
                &Principal {
                    kind: PrincipalKind::Guest,
                    id: format!("survey:{}", i.id),
                    org_id: i.org_id.clone(),
                    role: Role::Integration,
                },
                &request_id,
                &state2,
            );
            let score = |d: Dimension| a.scores.iter().find(|(x, _)| *x == d).map(|(_, s)| *s);
            let mut r = Response {
                id: crm_domain::id::new_id().to_string(),
                org_id: i.org_id.clone(),
                invitation_id: i.id.clone(),
                guest_id: i.guest_id.clone(),
                stay_id: i.stay_id.clone(),
                property_id: i.property_id.clone(),
                room_hygiene: score(Dimension::RoomHygiene),
                food_beverage: score(Dimension::FoodBeverage),
                front_desk: score(Dimension::FrontDesk),
                staff_attitude: score(Dimension::StaffAttitude),
                value: score(Dimension::Value),
                location: score(Dimension::Location),
                nps: a.nps,
                comment: a.comment.clone(),
                ticket_id: None,
                answered_on: now.date_naive(),
                answered_at: now.naive_utc(),
            };
            let (low, nps_low) = low_scores(&i.definition, &a);
            if !low.is_empty() || nps_low {
                let mut what: Vec<String> = low
                    .iter()
                    .map(|d| format!("{} {}/5", d.as_str(), score(*d).unwrap_or_default()))
                    .collect();
                if nps_low {
                    what.push(format!("NPS {}/10", a.nps.unwrap_or_default()));
                }
                let category = low
                    .first()
                    .map_or(TicketCategory::Other, |d| d.ticket_category());
                let vip = is_vip(conn, &i.org_id, &i.guest_id, &guest.profile.tags)?;
                let reservation_id =
                    crm_storage::reservations::stay_reservation_id(conn, &i.org_id, &i.stay_id)?;
                let t = open_ticket(
                    conn,
                    &actor,
                    NewTicket {
                        kind: TicketKind::Complaint,
                        category,
                        severity: if low.iter().any(|d| score(*d) == Some(1)) {
                            Severity::High
                        } else {
                            Severity::Medium
                        },
                        subject: format!("Low survey score: {}", what.join(", ")),
                        description: a.comment.clone(),
                        channel: TicketChannel::Survey,
                        property_id: i.property_id.clone(),
                        guest_id: Some(i.guest_id.clone()),
                        reservation_id,
                        stay_id: Some(i.stay_id.clone()),
                        room: None,
                        assignee_id: None,
                        vip,
                    },
                    now,
                )?;
                r.ticket_id = Some(t.id);
            }
            store::insert_response(conn, &r)?;
            actor.record(
                conn,
                now,
                "survey.answered",
                "guest",
                &i.guest_id,
                &["survey_responses"],
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created().json(SurveyThanks { received: true }))
}

// ---------------------------------------------------------------- responses

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyResponseDto {
    pub id: String,
    pub guest_id: String,
    pub stay_id: String,
    pub property_id: String,
    /// 1–5 per dimension answered.
    #[schema(value_type = Object)]
    pub scores: BTreeMap<Dimension, i32>,
    pub nps: Option<i32>,
    pub comment: Option<String>,
    /// The complaint a low score opened.
    pub ticket_id: Option<String>,
    pub answered_at: DateTime<Utc>,
}

pub fn response_dto(r: Response) -> SurveyResponseDto {
    let mut scores = BTreeMap::new();
    for (d, s) in [
        (Dimension::RoomHygiene, r.room_hygiene),
        (Dimension::FoodBeverage, r.food_beverage),
        (Dimension::FrontDesk, r.front_desk),
        (Dimension::StaffAttitude, r.staff_attitude),
        (Dimension::Value, r.value),
        (Dimension::Location, r.location),
    ] {
        if let Some(s) = s {
            scores.insert(d, s);
        }
    }
    SurveyResponseDto {
        answered_at: r.at(),
        id: r.id,
        guest_id: r.guest_id,
        stay_id: r.stay_id,
        property_id: r.property_id,
        scores,
        nps: r.nps,
        comment: r.comment,
        ticket_id: r.ticket_id,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResponseParams {
    pub property_id: Option<String>,
    pub guest_id: Option<String>,
    /// Answered on or after.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Answered on or before.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// Survey responses.
#[utoipa::path(
    operation_id = "listSurveyResponses",
    tag = "surveys",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(ResponseParams),
    responses((status = 200, description = "A page of responses.", body = ListResponse<SurveyResponseDto>))
)]
#[get("/survey-responses")]
pub async fn list_responses(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<ResponseParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let filter = ResponseFilter {
        property_id: query_id(&q.property_id, "property_id")?,
        guest_id: query_id(&q.guest_id, "guest_id")?,
        from: q.from,
        to: q.to,
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list_responses(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, response_dto)))
}
