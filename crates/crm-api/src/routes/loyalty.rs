//! The loyalty programme's configuration: the programme itself, its tiers
//! and the rewards catalogue.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::path_id;
use crate::state::AppState;
use actix_web::{get, http::header, patch, post, put, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::loyalty::{Benefit, EarnRate, EarnRates, RewardKind, Rounding, Thresholds};
use crm_domain::property::parse_code;
use crm_domain::values::{required_text, CurrencyCode};
use crm_domain::{Errors, FieldError};
use crm_storage::loyalty::{self as store, Program, Reward, Tier};
use crm_storage::{DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------- program

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Club", "currency": "CNY", "expiry_months": 24,
    "earn_rates": {"room": {"points": 1, "per_amount": 100}, "food_and_beverage": {"points": 1, "per_amount": 200}},
    "rounding": "down", "qualification_window_months": 12, "review_period_months": 12}))]
pub struct ProgramWrite {
    pub name: String,
    /// ISO 4217: the currency of the earn rates' `per_amount` and of spend
    /// thresholds. Stays billed in another currency earn no points.
    pub currency: String,
    /// Months after posting that points expire; `null`: never.
    pub expiry_months: Option<i32>,
    /// Points per `per_amount` minor units of revenue, per charge category.
    pub earn_rates: EarnRates,
    #[serde(default = "default_rounding")]
    pub rounding: Rounding,
    /// The rolling window tiers qualify on, in months (default 12).
    #[serde(default = "twelve")]
    pub qualification_window_months: i32,
    /// Months between a member's tier reviews (default 12).
    #[serde(default = "twelve")]
    pub review_period_months: i32,
}

fn default_rounding() -> Rounding {
    Rounding::Down
}

fn twelve() -> i32 {
    12
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramDto {
    pub name: String,
    pub currency: String,
    pub expiry_months: Option<i32>,
    pub earn_rates: EarnRates,
    pub rounding: Rounding,
    pub qualification_window_months: i32,
    pub review_period_months: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Program> for ProgramDto {
    fn from(p: Program) -> Self {
        ProgramDto {
            name: p.name,
            currency: p.currency,
            expiry_months: p.expiry_months,
            earn_rates: p.earn_rates,
            rounding: p.rounding,
            qualification_window_months: p.qualification_window_months,
            review_period_months: p.review_period_months,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn validate_rate(field: &str, r: &EarnRate, errors: &mut Errors) {
    if !(0..=10_000).contains(&r.points) {
        errors.push(FieldError::new(
            format!("earn_rates.{field}.points"),
            "out_of_range",
            "0 to 10,000 points",
        ));
    }
    if !(1..=100_000_000).contains(&r.per_amount) {
        errors.push(FieldError::new(
            format!("earn_rates.{field}.per_amount"),
            "out_of_range",
            "1 to 100,000,000 minor units",
        ));
    }
}

fn validate_program(w: &ProgramWrite) -> Result<(String, String), ApiError> {
    let mut errors = Errors::new();
    let name = errors.check("name", required_text(&w.name, 100));
    let currency = errors.check("currency", CurrencyCode::parse(&w.currency));
    if w.expiry_months.is_some_and(|m| !(1..=120).contains(&m)) {
        errors.push(FieldError::new(
            "expiry_months",
            "out_of_range",
            "1 to 120 months, or null for never",
        ));
    }
    validate_rate("room", &w.earn_rates.room, &mut errors);
    validate_rate(
        "food_and_beverage",
        &w.earn_rates.food_and_beverage,
        &mut errors,
    );
    validate_rate("other", &w.earn_rates.other, &mut errors);
    for (field, v) in [
        ("qualification_window_months", w.qualification_window_months),
        ("review_period_months", w.review_period_months),
    ] {
        if !(1..=36).contains(&v) {
            errors.push(FieldError::new(field, "out_of_range", "1 to 36 months"));
        }
    }
    errors.finish()?;
    match (name, currency) {
        (Some(n), Some(c)) => Ok((n, c.as_str().to_string())),
        _ => Err(ApiError::internal("validated fields missing")),
    }
}

/// The tiers a new programme starts with: 普通 member, 银卡 silver, 金卡 gold.
pub fn default_tiers(org_id: &str, now: DateTime<Utc>) -> Vec<Tier> {
    let tier = |code: &str, name: &str, rank, q: Thresholds, multiplier, benefits| Tier {
        id: crm_domain::id::new_id().to_string(),
        org_id: org_id.to_string(),
        code: code.into(),
        name: name.into(),
        rank,
        qualification: q,
        retention: None,
        multiplier_percent: multiplier,
        benefits,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    vec![
        tier("MEMBER", "普通会员", 0, Thresholds::default(), 100, vec![]),
        tier(
            "SILVER",
            "银卡",
            1,
            Thresholds {
                nights: Some(10),
                stays: None,
                spend: Some(500_000),
            },
            125,
            vec![
                Benefit::DiscountPercent { percent: 5 },
                Benefit::LateCheckout {
                    until: "13:00".into(),
                },
            ],
        ),
        tier(
            "GOLD",
            "金卡",
            2,
            Thresholds {
                nights: Some(30),
                stays: None,
                spend: Some(1_500_000),
            },
            150,
            vec![
                Benefit::DiscountPercent { percent: 10 },
                Benefit::LateCheckout {
                    until: "14:00".into(),
                },
                Benefit::Breakfast { description: None },
                Benefit::Upgrade { description: None },
            ],
        ),
    ]
}

/// The organisation's loyalty programme.
#[utoipa::path(
    operation_id = "getLoyaltyProgram",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    responses((status = 200, description = "The programme.", body = ProgramDto))
)]
#[get("/loyalty/program")]
pub async fn get_program(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let p = state
        .read(move |conn| store::program(conn, &org))
        .await?
        .ok_or_else(|| ApiError::not_found("loyalty_not_configured", "loyalty programme"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(p.version)))
        .json(ProgramDto::from(p)))
}

/// Set up or change the loyalty programme. The first time, the default
/// tiers (普通会员, 银卡, 金卡) are created unless tiers exist.
#[utoipa::path(
    operation_id = "putLoyaltyProgram",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = ProgramWrite,
    responses((status = 200, description = "The programme as stored.", body = ProgramDto))
)]
#[put("/loyalty/program")]
pub async fn put_program(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<ProgramWrite>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let (name, currency) = validate_program(&w)?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let p = state
        .write(move |conn| {
            let current = store::program(conn, &org)?;
            let expected = match &current {
                Some(c) => Some(if_match.check(c.version)?),
                None => None,
            };
            let p = Program {
                org_id: org.clone(),
                name,
                currency,
                expiry_months: w.expiry_months,
                earn_rates: w.earn_rates,
                rounding: w.rounding,
                qualification_window_months: w.qualification_window_months,
                review_period_months: w.review_period_months,
                version: current.as_ref().map_or(1, |c| c.version + 1),
                created_at: current.as_ref().map_or(now, |c| c.created_at),
                updated_at: now,
            };
            store::save_program(conn, &p, expected)?;
            if current.is_none() && store::tiers(conn, &org)?.is_empty() {
                for t in default_tiers(&org, now) {
                    store::insert_tier(conn, &t)?;
                }
            }
            actor.record(
                conn,
                now,
                "loyalty_program.updated",
                "loyalty_program",
                &org,
                &[],
            )?;
            Ok(p)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(p.version)))
        .json(ProgramDto::from(p)))
}

// ------------------------------------------------------------------ tiers

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "PLATINUM", "name": "白金卡", "rank": 3,
    "qualification": {"nights": 60, "spend": 3000000}, "retention": {"nights": 40},
    "multiplier_percent": 200, "benefits": [{"type": "discount_percent", "percent": 15},
    {"type": "late_checkout", "until": "16:00"}, {"type": "welcome_gift", "description": "Fruit basket"}]}))]
pub struct TierWrite {
    pub code: String,
    pub name: String,
    /// Higher is better; unique. The lowest rank is where members start.
    pub rank: i32,
    /// Reaching any one of these in the window qualifies; none set: everyone.
    #[serde(default)]
    pub qualification: Thresholds,
    /// What keeps the tier at review; `null`: the qualification.
    #[serde(default)]
    pub retention: Option<Thresholds>,
    /// Points multiplier in percent: 100 = ×1, 150 = ×1.5.
    #[serde(default = "hundred")]
    pub multiplier_percent: i32,
    #[serde(default)]
    pub benefits: Vec<Benefit>,
}

fn hundred() -> i32 {
    100
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierDto {
    pub id: String,
    pub code: String,
    pub name: String,
    pub rank: i32,
    pub qualification: Thresholds,
    pub retention: Option<Thresholds>,
    pub multiplier_percent: i32,
    pub benefits: Vec<Benefit>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Tier> for TierDto {
    fn from(t: Tier) -> Self {
        TierDto {
            id: t.id,
            code: t.code,
            name: t.name,
            rank: t.rank,
            qualification: t.qualification,
            retention: t.retention,
            multiplier_percent: t.multiplier_percent,
            benefits: t.benefits,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn validate_tier(w: &TierWrite) -> Result<(String, String), ApiError> {
    let mut errors = Errors::new();
    let code = errors.check("code", parse_code(&w.code));
    let name = errors.check("name", required_text(&w.name, 100));
    if !(0..=100).contains(&w.rank) {
        errors.push(FieldError::new("rank", "out_of_range", "0 to 100"));
    }
    if !(0..=1000).contains(&w.multiplier_percent) {
        errors.push(FieldError::new(
            "multiplier_percent",
            "out_of_range",
            "0 to 1000 percent",
        ));
    }
    w.qualification.validate("qualification", &mut errors);
    if let Some(r) = &w.retention {
        r.validate("retention", &mut errors);
    }
    if w.benefits.len() > 20 {
        errors.push(FieldError::new(
            "benefits",
            "too_many",
            "at most 20 benefits",
        ));
    }
    for (i, b) in w.benefits.iter().enumerate() {
        b.validate(&format!("benefits[{i}]"), &mut errors);
    }
    errors.finish()?;
    match (code, name) {
        (Some(c), Some(n)) => Ok((c, n)),
        _ => Err(ApiError::internal("validated fields missing")),
    }
}

fn tier_taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => {
            ApiError::conflict("tier_taken", "Another tier has this code or this rank.")
        }
        other => other.into(),
    }
}

/// The programme's tiers, lowest rank first.
#[utoipa::path(
    operation_id = "listLoyaltyTiers",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    responses((status = 200, description = "All tiers (no paging).", body = ListResponse<TierDto>))
)]
#[get("/loyalty/tiers")]
pub async fn list_tiers(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let tiers = state.read(move |conn| store::tiers(conn, &org)).await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        data: tiers.into_iter().map(TierDto::from).collect(),
        next_cursor: None,
    }))
}

/// Add a tier.
#[utoipa::path(
    operation_id = "createLoyaltyTier",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = TierWrite,
    responses((status = 201, description = "Created.", body = TierDto))
)]
#[post("/loyalty/tiers")]
pub async fn create_tier(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<TierWrite>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let (code, name) = validate_tier(&w)?;
    let now = state.clock.now();
    let t = Tier {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        code,
        name,
        rank: w.rank,
        qualification: w.qualification,
        retention: w.retention,
        multiplier_percent: w.multiplier_percent,
        benefits: w.benefits,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = t.clone();
    state
        .write(move |conn| {
            store::insert_tier(conn, &stored).map_err(tier_taken)?;
            actor.record(
                conn,
                now,
                "loyalty_tier.created",
                "loyalty_tier",
                &stored.id,
                &[],
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/loyalty/tiers/{}", t.id)))
        .insert_header((header::ETAG, etag_for(t.version)))
        .json(TierDto::from(t)))
}

/// Change a tier (JSON merge patch). Members keep their tier; new rules
/// apply from the next check-out or review.
#[utoipa::path(
    operation_id = "updateLoyaltyTier",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("tier_id" = String, Path, description = "Tier id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = TierWrite, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = TierDto))
)]
#[patch("/loyalty/tiers/{tier_id}")]
pub async fn update_tier(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "tier_not_found", "tier")?;
    let patch = body.0;
    if !patch.is_object() {
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
            let current = store::tiers(conn, &org)?
                .into_iter()
                .find(|t| t.id == id)
                .ok_or_else(|| ApiError::not_found("tier_not_found", "tier"))?;
            let expected = if_match.check(current.version)?;
            let before = TierWrite {
                code: current.code.clone(),
                name: current.name.clone(),
                rank: current.rank,
                qualification: current.qualification,
                retention: current.retention,
                multiplier_percent: current.multiplier_percent,
                benefits: current.benefits.clone(),
            };
            let w: TierWrite = apply_merge_patch(&before, &patch)?;
            let (code, name) = validate_tier(&w)?;
            let next = Tier {
                code,
                name,
                rank: w.rank,
                qualification: w.qualification,
                retention: w.retention,
                multiplier_percent: w.multiplier_percent,
                benefits: w.benefits,
                version: current.version + 1,
                updated_at: now,
                ..current
            };
            store::update_tier(conn, &next, expected).map_err(tier_taken)?;
            actor.record(
                conn,
                now,
                "loyalty_tier.updated",
                "loyalty_tier",
                &next.id,
                &[],
            )?;
            Ok(next)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(t.version)))
        .json(TierDto::from(t)))
}

// ---------------------------------------------------------------- rewards

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "NIGHT1", "name": "One free night, Deluxe King", "kind": "room_night",
    "points_price": 8000, "stock": 50, "valid_from": "2026-12-01", "valid_until": "2027-11-30"}))]
pub struct RewardWrite {
    pub code: String,
    pub name: String,
    pub kind: RewardKind,
    pub points_price: i64,
    /// Units left; `null`: unlimited.
    #[serde(default)]
    pub stock: Option<i32>,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RewardDto {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: RewardKind,
    pub points_price: i64,
    pub stock: Option<i32>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Reward> for RewardDto {
    fn from(r: Reward) -> Self {
        RewardDto {
            id: r.id,
            code: r.code,
            name: r.name,
            kind: r.kind,
            points_price: r.points_price,
            stock: r.stock,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            active: r.active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn validate_reward(w: &RewardWrite) -> Result<(String, String), ApiError> {
    let mut errors = Errors::new();
    let code = errors.check("code", parse_code(&w.code));
    let name = errors.check("name", required_text(&w.name, 200));
    if !(1..=100_000_000).contains(&w.points_price) {
        errors.push(FieldError::new(
            "points_price",
            "out_of_range",
            "1 to 100,000,000 points",
        ));
    }
    if w.stock.is_some_and(|s| !(0..=1_000_000).contains(&s)) {
        errors.push(FieldError::new(
            "stock",
            "out_of_range",
            "0 to 1,000,000, or null",
        ));
    }
    if let (Some(from), Some(until)) = (w.valid_from, w.valid_until) {
        if until < from {
            errors.push(FieldError::new(
                "valid_until",
                "before_valid_from",
                "must not be before valid_from",
            ));
        }
    }
    errors.finish()?;
    match (code, name) {
        (Some(c), Some(n)) => Ok((c, n)),
        _ => Err(ApiError::internal("validated fields missing")),
    }
}

fn reward_taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => {
            ApiError::conflict("code_taken", "Another reward has this code.")
        }
        other => other.into(),
    }
}

pub fn load_reward(conn: &mut DbConnection, org: &str, id: &str) -> Result<Reward, ApiError> {
    store::find_reward(conn, org, id).map_err(|e| match e {
        StorageError::NotFound => ApiError::not_found("reward_not_found", "reward"),
        other => other.into(),
    })
}

/// The rewards catalogue.
#[utoipa::path(
    operation_id = "listRewards",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(PageQuery),
    responses((status = 200, description = "A page of rewards.", body = ListResponse<RewardDto>))
)]
#[get("/loyalty/rewards")]
pub async fn list_rewards(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list_rewards(conn, &org, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, RewardDto::from)))
}

/// Add a reward to the catalogue.
#[utoipa::path(
    operation_id = "createReward",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    request_body = RewardWrite,
    responses((status = 201, description = "Created.", body = RewardDto))
)]
#[post("/loyalty/rewards")]
pub async fn create_reward(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<RewardWrite>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let (code, name) = validate_reward(&w)?;
    let now = state.clock.now();
    let r = Reward {
        id: crm_domain::id::new_id().to_string(),
        org_id: auth.org_id.clone(),
        code,
        name,
        kind: w.kind,
        points_price: w.points_price,
        stock: w.stock,
        valid_from: w.valid_from,
        valid_until: w.valid_until,
        active: w.active,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let stored = r.clone();
    state
        .write(move |conn| {
            store::insert_reward(conn, &stored).map_err(reward_taken)?;
            actor.record(conn, now, "reward.created", "reward", &stored.id, &[])
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/loyalty/rewards/{}", r.id),
        ))
        .insert_header((header::ETAG, etag_for(r.version)))
        .json(RewardDto::from(r)))
}

/// Change a reward (JSON merge patch): price, stock, validity, active.
#[utoipa::path(
    operation_id = "updateReward",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("reward_id" = String, Path, description = "Reward id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = RewardWrite, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "Updated.", body = RewardDto))
)]
#[patch("/loyalty/rewards/{reward_id}")]
pub async fn update_reward(
    auth: Auth<roles::Marketers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "reward_not_found", "reward")?;
    let patch = body.0;
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let r = state
        .write(move |conn| {
            let current = load_reward(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let before = RewardWrite {
                code: current.code.clone(),
                name: current.name.clone(),
                kind: current.kind,
                points_price: current.points_price,
                stock: current.stock,
                valid_from: current.valid_from,
                valid_until: current.valid_until,
                active: current.active,
            };
            let w: RewardWrite = apply_merge_patch(&before, &patch)?;
            let (code, name) = validate_reward(&w)?;
            let next = Reward {
                code,
                name,
                kind: w.kind,
                points_price: w.points_price,
                stock: w.stock,
                valid_from: w.valid_from,
                valid_until: w.valid_until,
                active: w.active,
                version: current.version + 1,
                updated_at: now,
                ..current
            };
            store::update_reward(conn, &next, expected).map_err(reward_taken)?;
            actor.record(conn, now, "reward.updated", "reward", &next.id, &[])?;
            Ok(next)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_for(r.version)))
        .json(RewardDto::from(r)))
}
