//! A guest's membership and points: enrolment, qualification progress,
//! manual tier changes, balance, statement, redemptions, adjustments,
//! bonuses and reversals.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ListResponse, PageParams, PageQuery, RequestId};
use crate::loyalty::{change_tier, earn_key, in_good_standing, record_tier_change, Loyalty};
use crate::routes::guests::load_guest;
use crate::routes::loyalty::{load_reward, TierDto};
use crate::routes::path_id;
use crate::state::AppState;
use actix_web::{get, http::header, post, web, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use crm_domain::loyalty::{BonusType, Counters, EntryType, TierChangeReason};
use crm_domain::values::required_text;
use crm_domain::{Errors, FieldError};
use crm_storage::loyalty::{self as store, Entry, Member, Redemption, TierChange};
use crm_storage::reservations;
use crm_storage::{DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most points one adjustment, bonus or redemption may move.
const MAX_POINTS: i64 = 10_000_000;

fn guest_path(raw: &str) -> Result<String, ApiError> {
    path_id(raw, "guest_not_found", "guest")
}

/// The guest's membership; 404 `guest_not_found` if the guest is unknown
/// in this organisation, `not_a_member` if it has none.
fn member_of(conn: &mut DbConnection, org: &str, guest_id: &str) -> Result<Member, ApiError> {
    if let Some(m) = store::member_of_guest(conn, org, guest_id)? {
        return Ok(m);
    }
    load_guest(conn, org, guest_id)?;
    Err(ApiError::not_found("not_a_member", "membership"))
}

/// The guest (404 `guest_not_found` if unknown), if it may enrol, earn
/// and redeem.
fn require_good_standing(
    conn: &mut DbConnection,
    org: &str,
    guest_id: &str,
) -> Result<(), ApiError> {
    if in_good_standing(&load_guest(conn, org, guest_id)?) {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "guest_not_eligible",
            "An erased or blacklisted guest cannot earn or redeem points.",
        ))
    }
}

fn today_of(state: &AppState) -> NaiveDate {
    state.clock.now().date_naive()
}

// ------------------------------------------------------------- membership

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": "front_desk"}))]
pub struct EnrolRequest {
    /// 4 to 20 letters or digits; generated when absent.
    pub member_number: Option<String>,
    /// Where the guest joined: `front_desk`, `app`, `website`, `ota`…
    pub source: String,
    /// Defaults to today.
    pub joined_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierChangeDto {
    pub from_tier_id: Option<String>,
    pub to_tier_id: String,
    pub reason: TierChangeReason,
    pub note: Option<String>,
    pub actor_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<TierChange> for TierChangeDto {
    fn from(c: TierChange) -> Self {
        TierChangeDto {
            from_tier_id: c.from_tier_id,
            to_tier_id: c.to_tier_id,
            reason: c.reason,
            note: c.note,
            actor_id: c.actor_id,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextTierDto {
    pub tier: TierDto,
    /// Still missing on each threshold the tier sets; reaching any one
    /// qualifies.
    pub missing: Counters,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"member_id": "019ab1c2-0000-7000-8000-0000000000c1", "guest_id": "019ab1c2-0000-7000-8000-0000000000c2",
    "member_number": "M2611240001", "source": "front_desk", "joined_on": "2026-11-24", "tier_since": "2026-11-24",
    "next_review_on": "2027-11-24", "points_balance": 1200,
    "window": {"from": "2025-11-24", "to": "2026-11-24", "counters": {"nights": 12, "stays": 4, "spend": 820000}}}))]
pub struct MembershipDto {
    pub member_id: String,
    pub guest_id: String,
    pub member_number: String,
    pub source: String,
    pub joined_on: NaiveDate,
    pub tier: TierDto,
    pub tier_since: NaiveDate,
    pub next_review_on: NaiveDate,
    pub points_balance: i64,
    /// Counters over the rolling qualification window.
    pub window: WindowDto,
    /// The next tier up and what is missing; `null` at the top.
    pub next_tier: Option<NextTierDto>,
    /// The tier history, oldest first.
    pub tier_history: Vec<TierChangeDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WindowDto {
    /// Stays that ended after this date…
    pub from: NaiveDate,
    /// …and on or before this one count.
    pub to: NaiveDate,
    pub counters: Counters,
}

fn membership_dto(
    conn: &mut DbConnection,
    loyalty: &Loyalty,
    member: Member,
    today: NaiveDate,
) -> Result<MembershipDto, ApiError> {
    let tier = loyalty.tier(&member.tier_id)?.clone();
    let counters = loyalty.counters(conn, &member.org_id, &member.guest_id, today)?;
    let (from, to) = loyalty.window(today);
    let next_tier = loyalty
        .tiers
        .iter()
        .filter(|t| t.rank > tier.rank)
        .min_by_key(|t| t.rank)
        .map(|t| NextTierDto {
            missing: t.qualification.missing(&counters),
            tier: TierDto::from(t.clone()),
        });
    let history = store::tier_changes(conn, &member.org_id, &member.id)?;
    Ok(MembershipDto {
        member_id: member.id,
        guest_id: member.guest_id,
        member_number: member.member_number,
        source: member.source,
        joined_on: member.joined_on,
        tier: TierDto::from(tier),
        tier_since: member.tier_since,
        next_review_on: member.next_review_on,
        points_balance: member.points_balance,
        window: WindowDto { from, to, counters },
        next_tier,
        tier_history: history.into_iter().map(TierChangeDto::from).collect(),
    })
}

fn member_number() -> String {
    let id = crm_domain::id::new_id();
    let n = u128::from_be_bytes(*id.as_bytes()) % 10_000_000_000;
    format!("M{n:010}")
}

/// Enrol a guest in the loyalty programme, at the tier the guest's stays
/// in the window already qualify for.
#[utoipa::path(
    operation_id = "enrolMember",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = EnrolRequest,
    responses((status = 201, description = "Enrolled.", body = MembershipDto))
)]
#[post("/guests/{guest_id}/membership")]
pub async fn enrol(
    auth: Auth<roles::GuestWriters>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<EnrolRequest>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let req = body.0;
    let mut errors = Errors::new();
    let source = errors.check("source", required_text(&req.source, 50));
    let number = match &req.member_number {
        Some(n)
            if !(4..=20).contains(&n.len()) || !n.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            errors.push(FieldError::new(
                "member_number",
                "invalid",
                "4 to 20 letters or digits",
            ));
            None
        }
        Some(n) => Some(n.to_ascii_uppercase()),
        None => None,
    };
    errors.finish()?;
    let source = source.unwrap_or_default();
    let now = state.clock.now();
    let today = now.date_naive();
    let joined_on = req.joined_on.unwrap_or(today);
    if joined_on > today {
        return Err(ApiError::field(
            "joined_on",
            "in_future",
            "must not be after today",
        ));
    }
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let dto = state
        .write(move |conn| {
            require_good_standing(conn, &org, &guest_id)?;
            let loyalty = Loyalty::require(conn, &org)?;
            if store::member_of_guest(conn, &org, &guest_id)?.is_some() {
                return Err(ApiError::conflict(
                    "already_member",
                    "This guest is already a member.",
                ));
            }
            let counters = loyalty.counters(conn, &org, &guest_id, today)?;
            let tier = crm_domain::loyalty::qualifying_tier(&loyalty.rules(), &counters)
                .map(|t| t.id.clone())
                .or_else(|| loyalty.tiers.first().map(|t| t.id.clone()))
                .ok_or_else(|| {
                    ApiError::conflict("loyalty_not_configured", "The programme has no tiers.")
                })?;
            let member = Member {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                guest_id: guest_id.clone(),
                member_number: number.clone().unwrap_or_else(member_number),
                tier_id: tier.clone(),
                source,
                joined_on,
                tier_since: today,
                next_review_on: loyalty.next_review(today),
                points_balance: 0,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store::insert_member(conn, &member).map_err(|e| match e {
                StorageError::Duplicate { .. } => ApiError::conflict(
                    "member_number_taken",
                    "Another member has this member number.",
                ),
                other => other.into(),
            })?;
            record_tier_change(
                conn,
                &actor,
                &member,
                None,
                &tier,
                TierChangeReason::Enrolled,
                None,
                now,
            )?;
            actor.record(
                conn,
                now,
                "membership.created",
                "guest",
                &guest_id,
                &["membership"],
            )?;
            membership_dto(conn, &loyalty, member, today)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/guests/{}/membership", dto.guest_id),
        ))
        .json(dto))
}

/// Membership and qualification progress: tier, window counters, what is
/// missing for the next tier, next review date, benefits, tier history.
#[utoipa::path(
    operation_id = "getMembership",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "The membership.", body = MembershipDto))
)]
#[get("/guests/{guest_id}/membership")]
pub async fn get_membership(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let today = today_of(&state);
    let org = auth.org_id.clone();
    let dto = state
        .read(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            let loyalty = Loyalty::require(conn, &org)?;
            membership_dto(conn, &loyalty, member, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tier_id": "019ab1c2-0000-7000-8000-0000000000a9", "reason": "Status match from a partner programme"}))]
pub struct TierChangeRequest {
    pub tier_id: String,
    /// Why: kept in the tier history.
    pub reason: String,
}

/// Move a member to another tier by hand, with a reason.
#[utoipa::path(
    operation_id = "changeMemberTier",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = TierChangeRequest,
    responses((status = 200, description = "The membership after the change.", body = MembershipDto))
)]
#[post("/guests/{guest_id}/membership/tier")]
pub async fn change_member_tier(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TierChangeRequest>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let req = body.0;
    let reason = required_text(&req.reason, 500).map_err(|e| ApiError::from(e.at("reason")))?;
    let now = state.clock.now();
    let today = now.date_naive();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let dto = state
        .write(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            let loyalty = Loyalty::require(conn, &org)?;
            if !loyalty.tiers.iter().any(|t| t.id == req.tier_id) {
                return Err(ApiError::field("tier_id", "unknown_tier", "no such tier"));
            }
            if req.tier_id == member.tier_id {
                return Err(ApiError::conflict(
                    "same_tier",
                    "The member is already in this tier.",
                ));
            }
            change_tier(
                conn,
                &actor,
                &loyalty,
                &member,
                &req.tier_id,
                TierChangeReason::Manual,
                Some(reason),
                today,
                now,
            )?;
            let member = member_of(conn, &org, &guest_id)?;
            membership_dto(conn, &loyalty, member, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

// ----------------------------------------------------------------- points

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringDto {
    pub date: NaiveDate,
    pub points: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"member_number": "M2611240001", "available": 1200, "pending": 916,
    "expiring_in_30_days": 0, "expiring_in_90_days": 300, "expiring": [{"date": "2027-01-31", "points": 300}]}))]
pub struct BalanceDto {
    pub member_number: String,
    /// Points that can be redeemed now.
    pub available: i64,
    /// Points the member's open reservations will earn at check-out, at
    /// today's tier and booked room amount (the actual revenue decides).
    pub pending: i64,
    pub expiring_in_30_days: i64,
    pub expiring_in_90_days: i64,
    /// Lots expiring in the next 90 days, by date.
    pub expiring: Vec<ExpiringDto>,
}

/// Points balance: available, pending and expiring soon.
#[utoipa::path(
    operation_id = "getPointsBalance",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    responses((status = 200, description = "The balance.", body = BalanceDto))
)]
#[get("/guests/{guest_id}/points")]
pub async fn get_balance(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let today = today_of(&state);
    let org = auth.org_id.clone();
    let dto = state
        .read(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            let open = reservations::open_bookings(conn, &org, &guest_id)?;
            let pending = if open.is_empty() {
                0
            } else {
                let loyalty = Loyalty::require(conn, &org)?;
                let tier = loyalty.tier(&member.tier_id)?;
                open.iter()
                    .filter(|(_, _, currency)| *currency == loyalty.program.currency)
                    .map(|(_, total, _)| loyalty.estimate(*total, tier))
                    .sum()
            };
            let mut lots =
                store::expiring(conn, &org, &member.id, today, today + Duration::days(90))?;
            lots.sort();
            let within = |days: i64| {
                lots.iter()
                    .filter(|(d, _)| *d <= today + Duration::days(days))
                    .map(|(_, n)| n)
                    .sum()
            };
            let mut expiring: Vec<ExpiringDto> = Vec::new();
            for (date, points) in &lots {
                match expiring.last_mut() {
                    Some(last) if last.date == *date => last.points += points,
                    _ => expiring.push(ExpiringDto {
                        date: *date,
                        points: *points,
                    }),
                }
            }
            Ok::<_, ApiError>(BalanceDto {
                member_number: member.member_number,
                available: member.points_balance,
                pending,
                expiring_in_30_days: within(30),
                expiring_in_90_days: within(90),
                expiring,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019ab1c2-0000-7000-8000-0000000000e7", "entry_type": "earn", "points": 916,
    "source_type": "stay", "source_id": "019ab1c2-0000-7000-8000-0000000000e8", "reason": null,
    "created_by": "019ab1c2-0000-7000-8000-000000000001", "created_at": "2026-11-24T08:30:00Z"}))]
pub struct EntryDto {
    pub id: String,
    pub entry_type: EntryType,
    /// Positive credits, negative debits.
    pub points: i64,
    /// `stay`, `redemption`, `campaign`, `review`, `ticket`, `guest`,
    /// `user`, `job`…
    pub source_type: String,
    pub source_id: Option<String>,
    pub reason: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Entry> for EntryDto {
    fn from(e: Entry) -> Self {
        EntryDto {
            id: e.id,
            entry_type: e.entry_type,
            points: e.points,
            source_type: e.source_type,
            source_id: e.source_id,
            reason: e.reason,
            created_by: e.created_by,
            created_at: e.created_at,
        }
    }
}

/// The points statement: every ledger entry, oldest first by default.
#[utoipa::path(
    operation_id = "listPointsEntries",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id"), PageQuery),
    responses((status = 200, description = "A page of entries.", body = ListResponse<EntryDto>))
)]
#[get("/guests/{guest_id}/points/entries")]
pub async fn list_entries(
    auth: Auth<roles::Any>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            Ok::<_, ApiError>(store::entries(conn, &org, &member.id, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, EntryDto::from)))
}

fn new_entry(
    member: &Member,
    actor: &Actor,
    entry_type: EntryType,
    points: i64,
    source: (&str, Option<String>),
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Entry {
    Entry {
        id: crm_domain::id::new_id().to_string(),
        org_id: member.org_id.clone(),
        member_id: member.id.clone(),
        entry_type,
        points,
        source_type: source.0.to_string(),
        source_id: source.1,
        reason,
        dedupe_key: None,
        created_by: Some(actor.principal.id.clone()),
        created_at: now,
    }
}

fn insufficient(balance: i64, wanted: i64) -> ApiError {
    ApiError::conflict(
        "insufficient_points",
        format!("The member has {balance} points available; {wanted} are needed."),
    )
    .with_extension("available", serde_json::json!(balance))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reward_id": "019ab1c2-0000-7000-8000-0000000000f3", "quantity": 1}))]
pub struct RedemptionRequest {
    /// A catalogue reward; or leave it out and give `points` and
    /// `description` for a redemption outside the catalogue.
    pub reward_id: Option<String>,
    #[serde(default = "one")]
    pub quantity: i32,
    pub points: Option<i64>,
    pub description: Option<String>,
}

fn one() -> i32 {
    1
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionDto {
    pub id: String,
    pub reward_id: Option<String>,
    pub quantity: i32,
    pub points: i64,
    pub description: String,
    /// `completed` or `cancelled`.
    pub status: String,
    pub entry_id: String,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The balance after this redemption (or its cancellation).
    pub balance: i64,
}

fn redemption_dto(r: Redemption, balance: i64) -> RedemptionDto {
    RedemptionDto {
        id: r.id,
        reward_id: r.reward_id,
        quantity: r.quantity,
        points: r.points,
        description: r.description,
        status: r.status,
        entry_id: r.entry_id,
        created_at: r.created_at,
        cancelled_at: r.cancelled_at,
        balance,
    }
}

/// Redeem points for a reward (or a described service). The balance never
/// goes negative: concurrent redemptions are serialised on the member and
/// those that find too few points get 409 `insufficient_points`.
#[utoipa::path(
    operation_id = "redeemPoints",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "integration"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = RedemptionRequest,
    responses((status = 201, description = "Redeemed.", body = RedemptionDto))
)]
#[post("/guests/{guest_id}/points/redemptions")]
pub async fn redeem(
    auth: Auth<roles::GuestWriters>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<RedemptionRequest>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let req = body.0;
    let mut errors = Errors::new();
    if !(1..=100).contains(&req.quantity) {
        errors.push(FieldError::new("quantity", "out_of_range", "1 to 100"));
    }
    let reward_id = match &req.reward_id {
        Some(raw) => match uuid::Uuid::parse_str(raw) {
            Ok(u) => Some(u.hyphenated().to_string()),
            Err(_) => {
                errors.push(FieldError::new(
                    "reward_id",
                    "unknown_reward",
                    "no such reward",
                ));
                None
            }
        },
        None => None,
    };
    let description = req
        .description
        .as_deref()
        .and_then(|d| errors.check("description", required_text(d, 200)));
    if req.reward_id.is_none() {
        match req.points {
            Some(p) => {
                if let Some(e) = check_points(p, false) {
                    errors.push(e);
                }
            }
            None => errors.push(FieldError::new(
                "points",
                "required",
                "give `reward_id`, or `points` and `description`",
            )),
        }
        if req.description.is_none() {
            errors.push(FieldError::new(
                "description",
                "required",
                "what the points buy",
            ));
        }
    } else if req.points.is_some() {
        errors.push(FieldError::new(
            "points",
            "not_allowed",
            "a catalogue reward has its own price",
        ));
    }
    errors.finish()?;
    let now = state.clock.now();
    let today = now.date_naive();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let location = format!("/api/v1/guests/{guest_id}/points/redemptions");
    let dto = state
        .write(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            require_good_standing(conn, &org, &guest_id)?;
            let reward = match &reward_id {
                Some(id) => Some(load_reward(conn, &org, id).map_err(|_| {
                    ApiError::field("reward_id", "unknown_reward", "no such reward")
                })?),
                None => None,
            };
            if let Some(r) = &reward {
                let in_validity = r.valid_from.is_none_or(|f| f <= today)
                    && r.valid_until.is_none_or(|u| today <= u);
                if !r.active || !in_validity {
                    return Err(ApiError::conflict(
                        "reward_unavailable",
                        "This reward is not active or not valid today.",
                    ));
                }
            }
            let points = match &reward {
                Some(r) => r.points_price * i64::from(req.quantity),
                None => req.points.unwrap_or_default(),
            };
            let redemption_id = crm_domain::id::new_id().to_string();
            let entry = new_entry(
                &member,
                &actor,
                EntryType::Redeem,
                -points,
                ("redemption", Some(redemption_id.clone())),
                None,
                now,
            );
            if !store::debit(conn, &entry, None)? {
                let balance = member_of(conn, &org, &guest_id)?.points_balance;
                return Err(insufficient(balance, points));
            }
            if let Some(r) = &reward {
                if !store::take_stock(conn, &org, &r.id, req.quantity)? {
                    return Err(ApiError::conflict(
                        "out_of_stock",
                        "Too few of this reward are left.",
                    ));
                }
            }
            let redemption = Redemption {
                id: redemption_id,
                org_id: org.clone(),
                member_id: member.id.clone(),
                reward_id: reward.as_ref().map(|r| r.id.clone()),
                quantity: req.quantity,
                points,
                description: reward
                    .as_ref()
                    .map(|r| r.name.clone())
                    .or(description)
                    .unwrap_or_default(),
                status: "completed".into(),
                entry_id: entry.id.clone(),
                cancel_entry_id: None,
                created_by: actor.principal.id.clone(),
                created_at: now,
                cancelled_at: None,
            };
            store::insert_redemption(conn, &redemption)?;
            actor.record(
                conn,
                now,
                "points.redeemed",
                "guest",
                &guest_id,
                &["points"],
            )?;
            // This transaction holds the member's row: the balance is exact.
            let balance = member_of(conn, &org, &guest_id)?.points_balance;
            Ok(redemption_dto(redemption, balance))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("{location}/{}", dto.id)))
        .json(dto))
}

/// Cancel a redemption: the points come back with the expiry of the lots
/// they were taken from, and a reward's stock is restored.
#[utoipa::path(
    operation_id = "cancelRedemption",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("guest_id" = String, Path, description = "Guest id"),
        ("redemption_id" = String, Path, description = "Redemption id")),
    responses((status = 200, description = "Cancelled.", body = RedemptionDto))
)]
#[post("/guests/{guest_id}/points/redemptions/{redemption_id}/cancel")]
pub async fn cancel_redemption(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (raw_guest, raw_redemption) = path.into_inner();
    let guest_id = guest_path(&raw_guest)?;
    let redemption_id = path_id(&raw_redemption, "redemption_not_found", "redemption")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let dto = state
        .write(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            let r = store::find_redemption(conn, &org, &member.id, &redemption_id).map_err(
                |e| match e {
                    StorageError::NotFound => {
                        ApiError::not_found("redemption_not_found", "redemption")
                    }
                    other => other.into(),
                },
            )?;
            if r.status != "completed" {
                return Err(ApiError::conflict(
                    "already_cancelled",
                    "This redemption was already cancelled.",
                ));
            }
            let lots = store::lots_used_by(conn, &org, &r.entry_id)?;
            let entry = new_entry(
                &member,
                &actor,
                EntryType::RedemptionCancelled,
                r.points,
                ("redemption", Some(r.id.clone())),
                None,
                now,
            );
            store::credit_lots(conn, &entry, &lots)?;
            if !store::cancel_redemption(conn, &org, &r.id, &entry.id, now)? {
                return Err(ApiError::conflict(
                    "already_cancelled",
                    "This redemption was already cancelled.",
                ));
            }
            if let Some(reward_id) = &r.reward_id {
                store::take_stock(conn, &org, reward_id, -r.quantity)?;
            }
            actor.record(
                conn,
                now,
                "points.redemption_cancelled",
                "guest",
                &guest_id,
                &["points"],
            )?;
            let cancelled = store::find_redemption(conn, &org, &member.id, &r.id)?;
            let balance = member_of(conn, &org, &guest_id)?.points_balance;
            Ok(redemption_dto(cancelled, balance))
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": -200, "reason": "Duplicate earning from the PMS corrected"}))]
pub struct AdjustmentRequest {
    /// Positive adds, negative takes away (never below zero).
    pub points: i64,
    pub reason: String,
}

/// The field error of a points amount out of range, if it is.
fn check_points(points: i64, allow_negative: bool) -> Option<FieldError> {
    let ok = points != 0 && points.abs() <= MAX_POINTS && (allow_negative || points > 0);
    (!ok).then(|| {
        FieldError::new(
            "points",
            "out_of_range",
            if allow_negative {
                "a non-zero number of at most 10,000,000 either way"
            } else {
                "1 to 10,000,000"
            },
        )
    })
}

/// Credits or debits a member and answers with the entry.
fn post_entry(
    conn: &mut DbConnection,
    loyalty: &Loyalty,
    member: &Member,
    entry: &Entry,
    today: NaiveDate,
) -> Result<(), ApiError> {
    if entry.points > 0 {
        store::credit(conn, entry, loyalty.expiry(today))?;
        Ok(())
    } else if store::debit(conn, entry, None)? {
        Ok(())
    } else {
        Err(insufficient(member.points_balance, -entry.points))
    }
}

/// A manager's adjustment, with a reason.
#[utoipa::path(
    operation_id = "adjustPoints",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = AdjustmentRequest,
    responses((status = 201, description = "Posted.", body = EntryDto))
)]
#[post("/guests/{guest_id}/points/adjustments")]
pub async fn adjust(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<AdjustmentRequest>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let req = body.0;
    let mut errors = Errors::new();
    let reason = errors.check("reason", required_text(&req.reason, 500));
    if let Some(e) = check_points(req.points, true) {
        errors.push(e);
    }
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let entry = state
        .write(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            let loyalty = Loyalty::require(conn, &org)?;
            let entry = new_entry(
                &member,
                &actor,
                EntryType::Adjustment,
                req.points,
                ("user", Some(actor.principal.id.clone())),
                reason,
                now,
            );
            post_entry(conn, &loyalty, &member, &entry, now.date_naive())?;
            let action = if req.points > 0 {
                "points.posted"
            } else {
                "points.adjusted"
            };
            actor.record(conn, now, action, "guest", &guest_id, &["points"])?;
            Ok(entry)
        })
        .await?;
    Ok(HttpResponse::Created().json(EntryDto::from(entry)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"bonus_type": "review", "points": 200, "source_id": "019ab1c2-0000-7000-8000-0000000000f9"}))]
pub struct BonusRequest {
    pub bonus_type: BonusType,
    pub points: i64,
    /// What earned it: the review, referred guest, campaign or complaint
    /// ticket id. One bonus per type and source; for birthdays it defaults
    /// to the year, so one birthday bonus a year.
    pub source_id: Option<String>,
    pub reason: Option<String>,
}

/// Grant a bonus (birthday, review, referral, campaign, complaint
/// compensation). Granting the same bonus for the same source again
/// answers with the first entry and posts nothing.
#[utoipa::path(
    operation_id = "grantBonus",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager", "marketing"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = BonusRequest,
    responses((status = 201, description = "Posted.", body = EntryDto),
        (status = 200, description = "Already granted for this source: the first entry.", body = EntryDto))
)]
#[post("/guests/{guest_id}/points/bonuses")]
pub async fn grant_bonus(
    auth: Auth<roles::Marketers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<BonusRequest>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let req = body.0;
    let mut errors = Errors::new();
    if let Some(e) = check_points(req.points, false) {
        errors.push(e);
    }
    let reason = req
        .reason
        .as_deref()
        .and_then(|r| errors.check("reason", required_text(r, 500)));
    let now = state.clock.now();
    let source_id = match (&req.source_id, req.bonus_type) {
        (Some(s), _) => errors.check("source_id", required_text(s, 100)),
        (None, BonusType::Birthday) => Some(now.date_naive().format("%Y").to_string()),
        (None, _) => {
            errors.push(FieldError::new(
                "source_id",
                "required",
                "the review, referral, campaign or ticket this bonus is for",
            ));
            None
        }
    };
    errors.finish()?;
    let source_id = source_id.unwrap_or_default();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let (entry, created) = state
        .write(move |conn| {
            post_bonus(
                conn,
                &actor,
                &org,
                &guest_id,
                req.bonus_type,
                req.points,
                &source_id,
                reason,
                now,
            )
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(EntryDto::from(entry))
    } else {
        HttpResponse::Ok().json(EntryDto::from(entry))
    })
}

/// Posts a bonus once per member, type and source: the first entry and
/// `false` if it was granted before. Complaint compensation posts through
/// here too.
#[allow(clippy::too_many_arguments)]
pub fn post_bonus(
    conn: &mut DbConnection,
    actor: &Actor,
    org: &str,
    guest_id: &str,
    bonus_type: BonusType,
    points: i64,
    source_id: &str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(Entry, bool), ApiError> {
    let member = member_of(conn, org, guest_id)?;
    require_good_standing(conn, org, guest_id)?;
    let loyalty = Loyalty::require(conn, org)?;
    let bonus = bonus_type.as_str();
    let key = format!("bonus:{}:{bonus}:{source_id}", member.id);
    if let Some(first) = store::find_entry_by_key(conn, org, &key)? {
        return Ok((first, false));
    }
    let mut entry = new_entry(
        &member,
        actor,
        EntryType::Bonus,
        points,
        (bonus, Some(source_id.to_string())),
        reason,
        now,
    );
    entry.dedupe_key = Some(key);
    post_entry(conn, &loyalty, &member, &entry, now.date_naive())?;
    actor.record(conn, now, "points.posted", "guest", guest_id, &["points"])?;
    Ok((entry, true))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stay_id": "019ab1c2-0000-7000-8000-0000000000e8", "reason": "Stay refunded after a billing dispute"}))]
pub struct ReversalRequest {
    pub stay_id: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReversalDto {
    pub entry: EntryDto,
    /// Points the stay earned that could not be taken back because the
    /// member had already spent them (the balance never goes negative).
    pub unrecovered: i64,
}

/// Take back what a stay earned, when the stay is cancelled or refunded
/// after its points were posted.
#[utoipa::path(
    operation_id = "reverseStayPoints",
    tag = "loyalty",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("guest_id" = String, Path, description = "Guest id")),
    request_body = ReversalRequest,
    responses((status = 201, description = "Reversed.", body = ReversalDto))
)]
#[post("/guests/{guest_id}/points/reversals")]
pub async fn reverse(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<ReversalRequest>,
) -> ApiResult<HttpResponse> {
    let guest_id = guest_path(&path)?;
    let req = body.0;
    let mut errors = Errors::new();
    let reason = errors.check("reason", required_text(&req.reason, 500));
    let stay_id = match uuid::Uuid::parse_str(&req.stay_id) {
        Ok(u) => Some(u.hyphenated().to_string()),
        Err(_) => {
            errors.push(FieldError::new("stay_id", "unknown_stay", "no such stay"));
            None
        }
    };
    errors.finish()?;
    let stay_id = stay_id.unwrap_or_default();
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let dto = state
        .write(move |conn| {
            let member = member_of(conn, &org, &guest_id)?;
            let totals = store::source_totals(conn, &org, &member.id, "stay", &stay_id)?;
            let earned: i64 = totals
                .iter()
                .filter(|(t, _)| *t == EntryType::Earn)
                .map(|(_, p)| p)
                .sum();
            let reversed: i64 = totals
                .iter()
                .filter(|(t, _)| *t == EntryType::Reverse)
                .map(|(_, p)| -p)
                .sum();
            let due = earned - reversed;
            if earned == 0 {
                return Err(ApiError::field(
                    "stay_id",
                    "nothing_earned",
                    "this member earned nothing for that stay",
                ));
            }
            if due <= 0 {
                return Err(ApiError::conflict(
                    "already_reversed",
                    "This stay's points were already reversed.",
                ));
            }
            // At most what the member has; should a redemption commit
            // meanwhile, the debit finds the balance short and refuses.
            let available = member.points_balance;
            let take = due.min(available);
            if take == 0 {
                return Err(insufficient(0, due));
            }
            let entry = new_entry(
                &member,
                &actor,
                EntryType::Reverse,
                -take,
                ("stay", Some(stay_id.clone())),
                reason,
                now,
            );
            let reservation_id = stay_reservation(conn, &org, &stay_id)?;
            let earn_entry = store::find_entry_by_key(conn, &org, &earn_key(&reservation_id))?;
            if !store::debit(conn, &entry, earn_entry.as_ref().map(|e| e.id.as_str()))? {
                return Err(insufficient(available, take));
            }
            actor.record(
                conn,
                now,
                "points.reversed",
                "guest",
                &guest_id,
                &["points"],
            )?;
            Ok(ReversalDto {
                entry: EntryDto::from(entry),
                unrecovered: due - take,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(dto))
}

fn stay_reservation(conn: &mut DbConnection, org: &str, stay_id: &str) -> Result<String, ApiError> {
    reservations::stay_reservation_id(conn, org, stay_id)?
        .ok_or_else(|| ApiError::field("stay_id", "unknown_stay", "no such stay"))
}
