//! Campaigns (营销活动): a segment, message templates, a schedule, a budget
//! and cost, an optional coupon or package; sent through the outbox with
//! consent and the frequency cap; results with redemptions, attributed
//! bookings and ROI.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::campaigns::{check_offer, offer_of, MoneyWrite, OfferWrite};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::reservations::Money;
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use crm_domain::campaign::{
    CampaignAction, CampaignStatus, DEFAULT_ATTRIBUTION_DAYS, MAX_ATTRIBUTION_DAYS,
};
use crm_domain::message::MessageTrigger;
use crm_domain::values::{bounded_text, required_text};
use crm_domain::{Errors, FieldError};
use crm_storage::campaigns::{self as store, Campaign, Redemption};
use crm_storage::{DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const MAX_TEMPLATES: usize = 10;
const MAX_MONEY: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "冬季回头客 Winter comeback",
    "description": "Lapsed leisure guests, 15% off a January stay",
    "segment_id": "01938a7e-8f3c-7d2a-9b1e-4c5d6e7f8a9b",
    "template_ids": ["01938a7e-8f3c-7d2a-9b1e-4c5d6e7f8a9c", "01938a7e-8f3c-7d2a-9b1e-4c5d6e7f8a9d"],
    "budget": {"amount": 2000000, "currency": "CNY"},
    "cost": {"amount": 350000, "currency": "CNY"},
    "attribution_days": 30,
    "offer": {"kind": "coupon", "code_pattern": "WIN-********", "discount": {"percent": 15},
              "valid_from": "2026-12-01", "valid_until": "2027-01-31", "per_guest_limit": 1, "total_limit": 2000}
}))]
pub struct CampaignWrite {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The segment whose members (at send time) receive it.
    pub segment_id: String,
    /// Templates with trigger `campaign`: each guest gets the one of their
    /// language on the first channel that works (e-mail, then SMS).
    pub template_ids: Vec<String>,
    /// The hotel the messages come from (`{{property.name}}`); default
    /// the organisation's first.
    #[serde(default)]
    pub property_id: Option<String>,
    /// The campaign's currency; default that of the budget, the cost or
    /// the property.
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub budget: Option<MoneyWrite>,
    /// What it cost (media, printing, gateway fees): ROI divides by it.
    #[serde(default)]
    pub cost: Option<MoneyWrite>,
    /// Bookings by recipients this many days after the send starts are
    /// attributed to it; default 30, at most 180.
    #[serde(default)]
    pub attribution_days: Option<i32>,
    #[serde(default)]
    pub offer: Option<OfferWrite>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDto {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub segment_id: String,
    pub template_ids: Vec<String>,
    pub property_id: Option<String>,
    pub status: CampaignStatus,
    pub allowed_actions: Vec<CampaignAction>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Segment members considered so far.
    pub audience_count: i64,
    pub currency: String,
    pub budget: Option<Money>,
    pub cost: Money,
    pub attribution_days: i32,
    pub offer: Option<OfferWrite>,
    /// Bookings holding one of its codes now.
    pub redeemed_count: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Campaign> for CampaignDto {
    fn from(c: Campaign) -> Self {
        let money = |amount| Money {
            amount,
            currency: c.currency.clone(),
        };
        CampaignDto {
            allowed_actions: c.status.allowed_actions().to_vec(),
            budget: c.budget_amount.map(money),
            cost: money(c.cost_amount),
            offer: c.offer.clone().and_then(|v| serde_json::from_value(v).ok()),
            id: c.id,
            name: c.name,
            description: c.description,
            segment_id: c.segment_id,
            template_ids: c.template_ids,
            property_id: c.property_id,
            status: c.status,
            scheduled_at: c.scheduled_at,
            started_at: c.started_at,
            completed_at: c.completed_at,
            cancelled_at: c.cancelled_at,
            audience_count: c.audience_count,
            currency: c.currency,
            attribution_days: c.attribution_days,
            redeemed_count: c.redeemed_count,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn response(status: StatusCode, c: Campaign) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(c.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/campaigns/{}", c.id)));
    }
    res.json(CampaignDto::from(c))
}

fn load(conn: &mut DbConnection, org: &str, id: &str) -> Result<Campaign, ApiError> {
    store::find(conn, org, id).map_err(|e| or_not_found("campaign_not_found", "campaign")(e.into()))
}

fn write_of(c: &Campaign) -> CampaignWrite {
    let money = |amount| MoneyWrite {
        amount,
        currency: c.currency.clone(),
    };
    CampaignWrite {
        name: c.name.clone(),
        description: c.description.clone(),
        segment_id: c.segment_id.clone(),
        template_ids: c.template_ids.clone(),
        property_id: c.property_id.clone(),
        currency: Some(c.currency.clone()),
        budget: c.budget_amount.map(money),
        cost: Some(money(c.cost_amount)),
        attribution_days: Some(c.attribution_days),
        offer: c.offer.clone().and_then(|v| serde_json::from_value(v).ok()),
    }
}

/// The definition checked against the organisation's segments, templates
/// and properties: everything wrong at once (422).
struct Checked {
    name: String,
    description: Option<String>,
    segment_id: String,
    template_ids: Vec<String>,
    property_id: Option<String>,
    currency: String,
    budget: Option<i64>,
    cost: i64,
    attribution_days: i32,
    offer: Option<crate::campaigns::Offer>,
}

fn check(conn: &mut DbConnection, org: &str, w: CampaignWrite) -> Result<Checked, ApiError> {
    let mut errors = Errors::new();
    let name = errors.check("name", required_text(&w.name, 200));
    let description = w
        .description
        .as_deref()
        .and_then(|d| errors.check("description", bounded_text(d, 2000)).flatten());
    let segment_id = match uuid::Uuid::parse_str(&w.segment_id) {
        Ok(u) => {
            let id = u.hyphenated().to_string();
            match crm_storage::segments::find(conn, org, &id) {
                Ok(_) => Some(id),
                Err(StorageError::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        }
        Err(_) => None,
    };
    if segment_id.is_none() {
        errors.push(FieldError::new(
            "segment_id",
            "unknown_segment",
            "no such segment",
        ));
    }
    if w.template_ids.is_empty() || w.template_ids.len() > MAX_TEMPLATES {
        errors.push(FieldError::new(
            "template_ids",
            "out_of_range",
            format!("1 to {MAX_TEMPLATES} templates"),
        ));
    }
    let mut template_ids = Vec::new();
    for (i, raw) in w.template_ids.iter().take(MAX_TEMPLATES).enumerate() {
        let field = format!("template_ids[{i}]");
        let found = match uuid::Uuid::parse_str(raw) {
            Ok(u) => {
                let id = u.hyphenated().to_string();
                match crm_storage::messages::find_template(conn, org, &id) {
                    Ok(t) => Some(t),
                    Err(StorageError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(_) => None,
        };
        match found {
            None => errors.push(FieldError::new(
                field,
                "unknown_template",
                "no such template",
            )),
            Some(t) if t.trigger != MessageTrigger::Campaign => errors.push(FieldError::new(
                field,
                "wrong_trigger",
                "a campaign sends templates of the `campaign` trigger",
            )),
            Some(t) if template_ids.contains(&t.id) => {
                errors.push(FieldError::new(field, "duplicate", "listed twice"))
            }
            Some(t) => template_ids.push(t.id),
        }
    }
    let property = match &w.property_id {
        Some(raw) => {
            let p = match uuid::Uuid::parse_str(raw) {
                Ok(u) => crm_storage::properties::find(conn, org, &u.hyphenated().to_string())
                    .map(Some)
                    .or_else(|e| match e {
                        StorageError::NotFound => Ok(None),
                        other => Err(other),
                    })?,
                Err(_) => None,
            };
            if p.is_none() {
                errors.push(FieldError::new(
                    "property_id",
                    "unknown_property",
                    "no such property",
                ));
            }
            p
        }
        None => crm_storage::properties::first_of_org(conn, org)?,
    };
    let currency = w
        .currency
        .clone()
        .or(w.budget.as_ref().map(|m| m.currency.clone()))
        .or(w.cost.as_ref().map(|m| m.currency.clone()))
        .or(property.as_ref().map(|p| p.currency.clone()))
        .unwrap_or_else(|| "CNY".to_string());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(FieldError::new(
            "currency",
            "invalid_currency",
            "an ISO 4217 code such as CNY",
        ));
    }
    let mut amount = |field: &str, m: &Option<MoneyWrite>| -> Option<i64> {
        let m = m.as_ref()?;
        if m.currency != currency {
            errors.push(FieldError::new(
                format!("{field}.currency"),
                "currency_mismatch",
                format!("the campaign's currency is {currency}"),
            ));
        }
        if !(0..=MAX_MONEY).contains(&m.amount) {
            errors.push(FieldError::new(
                format!("{field}.amount"),
                "out_of_range",
                "0 to 1,000,000,000,000 minor units",
            ));
        }
        Some(m.amount)
    };
    let budget = amount("budget", &w.budget);
    let cost = amount("cost", &w.cost).unwrap_or(0);
    let attribution_days = w.attribution_days.unwrap_or(DEFAULT_ATTRIBUTION_DAYS);
    if !(1..=MAX_ATTRIBUTION_DAYS).contains(&attribution_days) {
        errors.push(FieldError::new(
            "attribution_days",
            "out_of_range",
            format!("1 to {MAX_ATTRIBUTION_DAYS}"),
        ));
    }
    let offer = match w.offer {
        Some(o) => match check_offer(o, &currency) {
            Ok(o) => Some(o),
            Err(e) => {
                e.errors.into_iter().for_each(|f| errors.push(f));
                None
            }
        },
        None => None,
    };
    errors.finish()?;
    Ok(Checked {
        name: name.unwrap_or_default(),
        description,
        segment_id: segment_id.unwrap_or_default(),
        template_ids,
        property_id: property.map(|p| p.id).filter(|_| w.property_id.is_some()),
        currency,
        budget,
        cost,
        attribution_days,
        offer,
    })
}

fn apply(c: &mut Campaign, k: Checked) {
    c.name = k.name;
    c.description = k.description;
    c.segment_id = k.segment_id;
    c.template_ids = k.template_ids;
    c.property_id = k.property_id;
    c.currency = k.currency;
    c.budget_amount = k.budget;
    c.cost_amount = k.cost;
    c.attribution_days = k.attribution_days;
    c.shared_code = k
        .offer
        .as_ref()
        .and_then(|o| o.terms.as_ref())
        .filter(|t| !t.pattern.is_personal())
        .map(|t| t.pattern.as_str().to_string());
    c.total_limit = k.offer.as_ref().and_then(|o| o.write.total_limit);
    c.offer = k
        .offer
        .map(|o| serde_json::to_value(o.write).unwrap_or_default());
}

fn code_taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => {
            ApiError::conflict("code_taken", "Another campaign already uses this code.")
        }
        other => other.into(),
    }
}

/// Create a campaign (a draft).
#[utoipa::path(
    operation_id = "createCampaign",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    request_body = CampaignWrite,
    responses(
        (status = 201, description = "Created as a draft.", body = CampaignDto),
        (status = 409, description = "The shared code is another campaign's (`code_taken`).", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/campaigns")]
pub async fn create_campaign(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<CampaignWrite>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let by = auth.principal.id.clone();
    let w = body.0;
    let c = state
        .write(move |conn| {
            let checked = check(conn, &org, w)?;
            let mut c = Campaign {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                name: String::new(),
                description: None,
                segment_id: String::new(),
                template_ids: vec![],
                property_id: None,
                status: CampaignStatus::Draft,
                scheduled_at: None,
                started_at: None,
                completed_at: None,
                cancelled_at: None,
                lease_until: None,
                send_cursor: None,
                audience_count: 0,
                currency: String::new(),
                budget_amount: None,
                cost_amount: 0,
                offer: None,
                shared_code: None,
                total_limit: None,
                redeemed_count: 0,
                attribution_days: DEFAULT_ATTRIBUTION_DAYS,
                version: 1,
                created_by: by,
                created_at: now,
                updated_at: now,
            };
            apply(&mut c, checked);
            store::insert(conn, &c).map_err(code_taken)?;
            actor.record(conn, now, "campaign.created", "campaign", &c.id, &[])?;
            Ok(c)
        })
        .await?;
    Ok(response(StatusCode::CREATED, c))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CampaignListParams {
    pub status: Option<CampaignStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List campaigns.
#[utoipa::path(
    operation_id = "listCampaigns",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(CampaignListParams),
    responses((status = 200, description = "A page of campaigns.", body = ListResponse<CampaignDto>))
)]
#[get("/campaigns")]
pub async fn list_campaigns(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    q: web::Query<CampaignListParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let status = q.status;
    let result = state
        .read(move |conn| store::list(conn, &org, status, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, CampaignDto::from)))
}

/// Get a campaign.
#[utoipa::path(
    operation_id = "getCampaign",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("campaign_id" = String, Path, description = "Campaign id")),
    responses((status = 200, description = "The campaign.", body = CampaignDto))
)]
#[get("/campaigns/{campaign_id}")]
pub async fn get_campaign(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "campaign_not_found", "campaign")?;
    let org = auth.org_id.clone();
    let c = state.read(move |conn| load(conn, &org, &id)).await?;
    Ok(response(StatusCode::OK, c))
}

/// Change a campaign (JSON merge patch; `offer` and `template_ids` are
/// replaced whole). A draft changes anything; afterwards only the name,
/// description, budget and cost (409 `campaign_not_editable`).
#[utoipa::path(
    operation_id = "updateCampaign",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("campaign_id" = String, Path, description = "Campaign id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = CampaignWrite, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated.", body = CampaignDto),
        (status = 409, description = "Only a draft changes what it sends (`campaign_not_editable`).", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/campaigns/{campaign_id}")]
pub async fn update_campaign(
    auth: Auth<roles::Marketers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "campaign_not_found", "campaign")?;
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
    let c = state
        .write(move |conn| {
            let current = load(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let before = write_of(&current);
            let mut merge = patch.clone();
            let whole: Vec<(String, serde_json::Value)> = ["offer", "template_ids"]
                .iter()
                .filter_map(|k| {
                    merge
                        .as_object_mut()
                        .and_then(|m| m.remove(*k))
                        .map(|v| (k.to_string(), v))
                })
                .collect();
            let mut doc = serde_json::to_value(apply_merge_patch(&before, &merge)?)
                .map_err(ApiError::internal)?;
            for (k, v) in whole {
                doc[k.as_str()] = v;
            }
            let w: CampaignWrite = crate::http::parse_json(doc.to_string().as_bytes())?;
            let changes_sending = w.segment_id != before.segment_id
                || w.template_ids != before.template_ids
                || w.property_id != before.property_id
                || w.offer != before.offer
                || w.attribution_days != before.attribution_days
                || w.currency != before.currency;
            if changes_sending && !current.status.editable() {
                return Err(ApiError::conflict(
                    "campaign_not_editable",
                    format!(
                        "A {} campaign keeps its segment, templates, offer and attribution; only name, description, budget and cost change.",
                        crm_storage::codec::enum_to_db(&current.status)?
                    ),
                ));
            }
            let checked = check(conn, &org, w)?;
            let mut next = current.clone();
            apply(&mut next, checked);
            next.version = current.version + 1;
            next.updated_at = now;
            store::update(conn, &next, expected).map_err(code_taken)?;
            actor.record(conn, now, "campaign.updated", "campaign", &next.id, &[])?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, c))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"scheduled_at": "2026-12-20T02:00:00Z"}))]
pub struct ScheduleRequest {
    /// When the send starts: now or later (at most a year ahead).
    pub scheduled_at: DateTime<Utc>,
}

fn action_not_allowed(c: &Campaign, action: CampaignAction) -> ApiError {
    let allowed: Vec<String> = c
        .status
        .allowed_actions()
        .iter()
        .filter_map(|a| crm_storage::codec::enum_to_db(a).ok())
        .collect();
    ApiError::conflict(
        "invalid_status_transition",
        format!(
            "A {} campaign cannot {}; allowed: {}.",
            crm_storage::codec::enum_to_db(&c.status).unwrap_or_default(),
            crm_storage::codec::enum_to_db(&action).unwrap_or_default(),
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(", ")
            }
        ),
    )
    .with_extension("allowed_actions", serde_json::json!(allowed))
}

/// Moves a campaign by `action` (409 where its status does not allow it);
/// scheduling needs a usable template and an offer still valid.
fn transition(
    conn: &mut DbConnection,
    actor: &Actor,
    org: &str,
    id: &str,
    action: CampaignAction,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Campaign, ApiError> {
    let current = load(conn, org, id)?;
    let Some(status) = current.status.apply(action) else {
        return Err(action_not_allowed(&current, action));
    };
    let mut next = current.clone();
    next.status = status;
    match action {
        CampaignAction::Schedule | CampaignAction::Send => {
            let usable = current.template_ids.iter().any(|t| {
                crm_storage::messages::find_template(conn, org, t)
                    .is_ok_and(|t| t.active && t.trigger == MessageTrigger::Campaign)
            });
            if !usable {
                return Err(ApiError::conflict(
                    "no_usable_template",
                    "None of the campaign's templates is active.",
                ));
            }
            if let Some(o) = offer_of(&current)? {
                if o.write.valid_until < now.date_naive() {
                    return Err(ApiError::conflict(
                        "offer_expired",
                        "The offer's validity has ended.",
                    ));
                }
            }
            // "Send now" is a schedule for now: the sender starts at once.
            next.status = CampaignStatus::Scheduled;
            next.scheduled_at = Some(at.unwrap_or(now));
        }
        CampaignAction::Unschedule => next.scheduled_at = None,
        CampaignAction::Cancel => next.cancelled_at = Some(now),
    }
    next.version = current.version + 1;
    next.updated_at = now;
    store::update(conn, &next, current.version)?;
    if action == CampaignAction::Cancel {
        store::suppress_queued(conn, org, id)?;
    }
    let event = format!(
        "campaign.{}",
        match action {
            CampaignAction::Schedule => "scheduled",
            CampaignAction::Unschedule => "unscheduled",
            CampaignAction::Send => "sent",
            CampaignAction::Cancel => "cancelled",
        }
    );
    actor.record(conn, now, &event, "campaign", id, &["status"])?;
    load(conn, org, id)
}

/// Schedule a draft: its send starts at `scheduled_at` (the server's
/// minute job; any node).
#[utoipa::path(
    operation_id = "scheduleCampaign",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("campaign_id" = String, Path, description = "Campaign id")),
    request_body = ScheduleRequest,
    responses(
        (status = 200, description = "Scheduled.", body = CampaignDto),
        (status = 409, description = "Not a draft (`invalid_status_transition`), no active template, or the offer has expired.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/campaigns/{campaign_id}/schedule")]
pub async fn schedule_campaign(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<ScheduleRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "campaign_not_found", "campaign")?;
    let now = state.clock.now();
    let at = body.0.scheduled_at;
    if at < now - Duration::minutes(1) || at > now + Duration::days(366) {
        return Err(ApiError::field(
            "scheduled_at",
            "out_of_range",
            "from now to a year ahead",
        ));
    }
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let c = state
        .write(move |conn| {
            transition(
                conn,
                &actor,
                &org,
                &id,
                CampaignAction::Schedule,
                Some(at),
                now,
            )
        })
        .await?;
    Ok(response(StatusCode::OK, c))
}

macro_rules! action_endpoint {
    ($fn:ident, $path:literal, $op:literal, $action:expr, $status:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            operation_id = $op,
            tag = "campaigns",
            security(("bearer_auth" = ["admin", "manager", "marketing"])),
            params(("campaign_id" = String, Path, description = "Campaign id")),
            responses(
                (status = 200, description = "Done.", body = CampaignDto),
                (status = 202, description = "The send has started.", body = CampaignDto),
                (status = 409, description = "Not allowed in this status (`invalid_status_transition`, with `allowed_actions`).", body = crate::error::Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $fn(
            auth: Auth<roles::Marketers>,
            request_id: RequestId,
            state: web::Data<AppState>,
            path: web::Path<String>,
        ) -> ApiResult<HttpResponse> {
            let id = path_id(&path, "campaign_not_found", "campaign")?;
            let now = state.clock.now();
            let actor = Actor::new(&auth.principal, &request_id, &state);
            let org = auth.org_id.clone();
            let (o, i) = (org.clone(), id.clone());
            let c = state
                .write(move |conn| transition(conn, &actor, &o, &i, $action, None, now))
                .await?;
            if $action == CampaignAction::Send {
                start_send(&state, org, id);
            }
            Ok(response($status, c))
        }
    };
}

action_endpoint!(
    unschedule_campaign,
    "/campaigns/{campaign_id}/unschedule",
    "unscheduleCampaign",
    CampaignAction::Unschedule,
    StatusCode::OK,
    "Take a scheduled campaign back to draft."
);
action_endpoint!(
    send_campaign,
    "/campaigns/{campaign_id}/send",
    "sendCampaign",
    CampaignAction::Send,
    StatusCode::ACCEPTED,
    "Send a draft or scheduled campaign now: 202, the send runs in the background (watch `status` and `audience_count`)."
);
action_endpoint!(
    cancel_campaign,
    "/campaigns/{campaign_id}/cancel",
    "cancelCampaign",
    CampaignAction::Cancel,
    StatusCode::OK,
    "Cancel a campaign: a send in progress stops at its next chunk, and its messages still queued are not sent (`campaign_cancelled`). Codes already redeemed stay redeemed; no new redemptions."
);

/// Runs the send on the blocking pool; the minute job resumes it if this
/// node stops.
fn start_send(state: &AppState, org: String, id: String) {
    let db = state.db.clone();
    let now = state.clock.now();
    actix_web::rt::spawn(async move {
        let outcome =
            tokio::task::spawn_blocking(move || crate::campaigns::send(&db, &org, &id, now)).await;
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => log::warn!("campaign send failed: {e}"),
            Err(e) => log::warn!("campaign send panicked: {e}"),
        }
    });
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResults {
    /// Waiting for the provider (or the end of quiet hours).
    pub queued: i64,
    /// Accepted by the provider.
    pub sent: i64,
    /// Confirmed delivered (the provider's receipt).
    pub delivered: i64,
    pub failed: i64,
    pub suppressed: i64,
    /// Of those suppressed: no marketing consent on any channel with a
    /// template.
    pub suppressed_by_consent: i64,
    /// Of those suppressed, by reason (`no_consent`, `frequency_cap`,
    /// `no_address`, `no_template`, `guest_excluded`, `campaign_cancelled`).
    pub suppressed_by_reason: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignResults {
    pub campaign_id: String,
    pub status: CampaignStatus,
    /// Segment members considered.
    pub audience: i64,
    pub messages: MessageResults,
    /// Bookings holding one of its codes.
    pub redeemed: i64,
    /// Bookings attributed: those with its code, and those its recipients
    /// made after their message was sent, within the window (cancelled and
    /// no-shows excluded).
    pub attributed_reservations: i64,
    /// Attributed bookings made without the code.
    pub influenced_reservations: i64,
    /// Room revenue of the attributed bookings in the campaign's currency
    /// (after discounts).
    pub revenue: Money,
    /// Attributed revenue in other currencies (not in the ROI).
    pub revenue_other_currencies: Vec<Money>,
    /// Discounts given through its codes.
    pub discounts: Money,
    pub cost: Money,
    pub budget: Option<Money>,
    /// (revenue − cost) / cost; `null` without a cost.
    pub roi: Option<f64>,
    pub attribution_from: Option<DateTime<Utc>>,
    pub attribution_until: Option<DateTime<Utc>>,
}

/// A campaign's results: messages (sent, delivered, suppressed and why),
/// redemptions, attributed bookings and revenue, and ROI.
#[utoipa::path(
    operation_id = "getCampaignResults",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("campaign_id" = String, Path, description = "Campaign id")),
    responses((status = 200, description = "The results so far.", body = CampaignResults))
)]
#[get("/campaigns/{campaign_id}/results")]
pub async fn campaign_results(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "campaign_not_found", "campaign")?;
    let org = auth.org_id.clone();
    let results = state.read(move |conn| results(conn, &org, &id)).await?;
    Ok(HttpResponse::Ok().json(results))
}

fn results(conn: &mut DbConnection, org: &str, id: &str) -> Result<CampaignResults, ApiError> {
    let c = load(conn, org, id)?;
    let counts = store::message_counts(conn, org, id)?;
    let mut m = MessageResults {
        queued: 0,
        sent: 0,
        delivered: counts.delivered,
        failed: 0,
        suppressed: 0,
        suppressed_by_consent: 0,
        suppressed_by_reason: Default::default(),
    };
    for (status, reason, n) in counts.by_status {
        match status.as_str() {
            "queued" => m.queued += n,
            "sent" => m.sent += n,
            "failed" => m.failed += n,
            _ => {
                m.suppressed += n;
                let reason = reason.unwrap_or_else(|| "unknown".into());
                if reason == "no_consent" {
                    m.suppressed_by_consent += n;
                }
                *m.suppressed_by_reason.entry(reason).or_default() += n;
            }
        }
    }
    let from = c.started_at;
    let until = from.map(|f| f + Duration::days(i64::from(c.attribution_days)));
    let attributed = match until {
        Some(u) => store::attributed(conn, org, id, u)?,
        None => vec![],
    };
    let mut revenue = 0;
    let mut others: std::collections::BTreeMap<String, i64> = Default::default();
    for a in &attributed {
        if a.currency == c.currency {
            revenue += a.total_amount;
        } else {
            *others.entry(a.currency.clone()).or_default() += a.total_amount;
        }
    }
    let discounts = crm_storage::pagination::all_pages(|p| store::redemptions(conn, org, id, p))?
        .into_iter()
        .filter(|r| r.status == "active" && r.currency == c.currency)
        .map(|r| r.discount_amount)
        .sum();
    let money = |amount| Money {
        amount,
        currency: c.currency.clone(),
    };
    let redeemed_bookings = attributed.iter().filter(|a| a.redeemed).count() as i64;
    Ok(CampaignResults {
        campaign_id: c.id.clone(),
        status: c.status,
        audience: c.audience_count,
        messages: m,
        redeemed: i64::from(c.redeemed_count),
        attributed_reservations: attributed.len() as i64,
        influenced_reservations: attributed.len() as i64 - redeemed_bookings,
        revenue: money(revenue),
        revenue_other_currencies: others
            .into_iter()
            .map(|(currency, amount)| Money { amount, currency })
            .collect(),
        discounts: money(discounts),
        cost: money(c.cost_amount),
        budget: c.budget_amount.map(money),
        roi: crm_domain::campaign::roi(revenue, c.cost_amount),
        attribution_from: from,
        attribution_until: until,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionDto {
    pub id: String,
    pub campaign_id: String,
    pub guest_id: String,
    pub reservation_id: String,
    pub code: String,
    pub discount: Money,
    /// `active`, or `released` (the booking was cancelled).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
}

impl From<Redemption> for RedemptionDto {
    fn from(r: Redemption) -> Self {
        RedemptionDto {
            discount: Money {
                amount: r.discount_amount,
                currency: r.currency,
            },
            id: r.id,
            campaign_id: r.campaign_id,
            guest_id: r.guest_id,
            reservation_id: r.reservation_id,
            code: r.code,
            status: r.status,
            created_at: DateTime::from_naive_utc_and_offset(r.created_at, Utc),
            released_at: r
                .released_at
                .map(|t| DateTime::from_naive_utc_and_offset(t, Utc)),
        }
    }
}

/// The bookings that used the campaign's codes.
#[utoipa::path(
    operation_id = "listCampaignRedemptions",
    tag = "campaigns",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("campaign_id" = String, Path, description = "Campaign id"), PageQuery),
    responses((status = 200, description = "A page of redemptions.", body = ListResponse<RedemptionDto>))
)]
#[get("/campaigns/{campaign_id}/redemptions")]
pub async fn list_redemptions(
    auth: Auth<roles::Marketers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "campaign_not_found", "campaign")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            load(conn, &org, &id)?;
            store::redemptions(conn, &org, &id, &page).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, RedemptionDto::from)))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Delivered,
    Bounced,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "delivered"}))]
pub struct ReceiptRequest {
    pub status: ReceiptStatus,
}

/// A gateway's delivery receipt for a message it accepted: `delivered`
/// (counted in campaign results) or `bounced` (the message is failed).
#[utoipa::path(
    operation_id = "recordMessageReceipt",
    tag = "messages",
    security(("bearer_auth" = ["admin", "manager", "integration"])),
    params(("message_id" = String, Path, description = "Message id (the gateway got it as `id` and `Idempotency-Key`)")),
    request_body = ReceiptRequest,
    responses(
        (status = 204, description = "Recorded."),
        (status = 404, description = "No such sent message (`message_not_found`).", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/messages/{message_id}/receipt")]
pub async fn record_receipt(
    auth: Auth<roles::ChannelPushers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<ReceiptRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "message_not_found", "message")?;
    let now = state.clock.now();
    let org = auth.org_id.clone();
    let delivered = matches!(body.0.status, ReceiptStatus::Delivered);
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let found = state
        .write(move |conn| {
            let found = crm_storage::messages::record_receipt(conn, &org, &id, delivered, now)?;
            if found {
                actor.record(
                    conn,
                    now,
                    "message.receipt_recorded",
                    "message",
                    &id,
                    &["status"],
                )?;
            }
            Ok(found)
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("message_not_found", "sent message"));
    }
    Ok(HttpResponse::NoContent().finish())
}
