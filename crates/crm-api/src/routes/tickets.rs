//! Complaints and service requests (投诉/服务工单): priority from severity
//! and the guest's standing, deadlines fixed at creation, every transition
//! recorded, escalation of overdue tickets, resolution with compensation,
//! and the malicious-complaint judgement that suggests a blacklisting.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, PageQuery, RequestId,
};
use crate::routes::guests::{load_guest, refuse_erased};
use crate::routes::reservations::Money;
use crate::routes::{body_id, or_not_found, path_id, query_id};
use crate::state::{write_transaction, AppState};
use actix_web::{get, http::header, http::StatusCode, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use crm_domain::role::Role;
use crm_domain::service::{
    deadlines, escalation_level, priority, sla_state, Breach, Deadlines, Severity, SlaTarget,
    TicketAction, TicketCategory, TicketChannel, TicketKind, TicketStatus,
    MALICIOUS_COMPLAINTS_FOR_SUGGESTION,
};
use crm_domain::values::{bounded_text, required_text, CurrencyCode};
use crm_domain::{Errors, FieldError};
use crm_storage::tickets::{self as store, Compensation, Ticket, TicketFilter, Voucher};
use crm_storage::{
    insights, loyalty as loyalty_store, properties, reservations, users, Database, DbConnection,
    StorageError,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

// ---------------------------------------------------------------- shapes

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "complaint", "category": "hygiene", "severity": "high",
    "subject": "浴室有头发 Hair in the bathroom", "channel": "front_desk",
    "guest_id": "019ab1c2-0000-7000-8000-000000000101", "room": "1208"
}))]
pub struct TicketCreate {
    pub kind: TicketKind,
    pub category: TicketCategory,
    /// Default `medium`.
    #[serde(default)]
    pub severity: Option<Severity>,
    pub subject: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Where the guest raised it; default `front_desk`.
    #[serde(default)]
    pub channel: Option<TicketChannel>,
    /// Required unless a reservation or stay gives it.
    #[serde(default)]
    pub property_id: Option<String>,
    #[serde(default)]
    pub guest_id: Option<String>,
    #[serde(default)]
    pub reservation_id: Option<String>,
    #[serde(default)]
    pub stay_id: Option<String>,
    #[serde(default)]
    pub room: Option<String>,
    /// A staff user to handle it.
    #[serde(default)]
    pub assignee_id: Option<String>,
}

/// The fields a merge patch may change; deadlines and the guest are fixed
/// at creation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub subject: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub room: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherDto {
    pub code: Option<String>,
    pub description: String,
    pub value: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompensationDto {
    /// Loyalty points credited (a `complaint_compensation` bonus).
    pub points: Option<i64>,
    pub points_entry_id: Option<String>,
    pub voucher: Option<VoucherDto>,
    pub refund: Option<Money>,
}

impl From<Compensation> for CompensationDto {
    fn from(c: Compensation) -> Self {
        let money = |amount: Option<i64>| {
            amount.map(|amount| Money {
                amount,
                currency: c.currency.clone().unwrap_or_default(),
            })
        };
        CompensationDto {
            points: c.points,
            points_entry_id: c.points_entry_id.clone(),
            voucher: c.voucher.clone().map(|v| VoucherDto {
                code: v.code,
                description: v.description,
                value: money(v.value_amount),
            }),
            refund: money(c.refund_amount),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlacklistSuggestion {
    /// Complaints of this guest a manager judged malicious in the last
    /// 365 days.
    pub malicious_complaints_last_year: i64,
    /// At least 2 and the guest is not blacklisted: a manager may decide
    /// to blacklist the guest (`POST /guests/{guest_id}/blacklist`).
    /// Nothing happens automatically.
    pub suggested: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    pub id: String,
    pub kind: TicketKind,
    pub category: TicketCategory,
    pub severity: Severity,
    /// 1 is handled first: from the severity, one step up for VIP guests.
    pub priority: i32,
    /// The guest is a VIP (top loyalty tier, VIP value class or `vip` tag).
    pub vip: bool,
    pub status: TicketStatus,
    pub allowed_actions: Vec<TicketAction>,
    pub subject: String,
    pub description: Option<String>,
    pub channel: TicketChannel,
    pub property_id: String,
    pub guest_id: Option<String>,
    pub reservation_id: Option<String>,
    pub stay_id: Option<String>,
    pub room: Option<String>,
    pub assignee_id: Option<String>,
    pub acknowledge_due: DateTime<Utc>,
    pub resolve_due: DateTime<Utc>,
    pub hard_due: DateTime<Utc>,
    /// The deadlines it missed.
    pub breaches: Vec<Breach>,
    /// 0 none, 1 managers told (a target missed), 2 past the 48-hour limit.
    pub escalation_level: i32,
    pub escalated_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub first_resolved_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    pub resolution: Option<String>,
    pub compensation: Option<CompensationDto>,
    /// A manager judged this complaint malicious.
    pub malicious: bool,
    pub malicious_note: Option<String>,
    /// On a single ticket with a guest: what the guest's record of
    /// malicious complaints suggests. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blacklist_suggestion: Option<BlacklistSuggestion>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Ticket> for TicketDto {
    fn from(t: Ticket) -> Self {
        TicketDto {
            allowed_actions: t.status.allowed().to_vec(),
            id: t.id,
            kind: t.kind,
            category: t.category,
            severity: t.severity,
            priority: t.priority,
            vip: t.vip,
            status: t.status,
            subject: t.subject,
            description: t.description,
            channel: t.channel,
            property_id: t.property_id,
            guest_id: t.guest_id,
            reservation_id: t.reservation_id,
            stay_id: t.stay_id,
            room: t.room,
            assignee_id: t.assignee_id,
            acknowledge_due: t.acknowledge_due,
            resolve_due: t.resolve_due,
            hard_due: t.hard_due,
            breaches: t.breaches,
            escalation_level: t.escalation_level,
            escalated_at: t.escalated_at,
            acknowledged_at: t.acknowledged_at,
            first_resolved_at: t.first_resolved_at,
            resolved_at: t.resolved_at,
            closed_at: t.closed_at,
            reopen_count: t.reopen_count,
            resolution: t.resolution,
            compensation: t.compensation.map(CompensationDto::from),
            malicious: t.malicious,
            malicious_note: t.malicious_note,
            blacklist_suggestion: None,
            version: t.version,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn response(
    status: StatusCode,
    t: Ticket,
    suggestion: Option<BlacklistSuggestion>,
) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(t.version)));
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/tickets/{}", t.id)));
    }
    let mut dto = TicketDto::from(t);
    dto.blacklist_suggestion = suggestion;
    res.json(dto)
}

// ---------------------------------------------------------------- helpers

pub fn load_ticket(conn: &mut DbConnection, org: &str, id: &str) -> Result<Ticket, ApiError> {
    store::find(conn, org, id).map_err(|e| or_not_found("ticket_not_found", "ticket")(e.into()))
}

/// An active staff user of the organisation (not an integration).
fn staff_user(conn: &mut DbConnection, org: &str, id: &str) -> Result<Option<String>, ApiError> {
    match users::find(conn, org, id) {
        Ok(u) if u.disabled_at.is_none() && u.role != Role::Integration => Ok(Some(u.id)),
        Ok(_) | Err(StorageError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Top loyalty tier (of a programme with several), VIP value class, or a
/// `vip` tag.
pub fn is_vip(
    conn: &mut DbConnection,
    org: &str,
    guest_id: &str,
    tags: &[String],
) -> Result<bool, ApiError> {
    if tags.iter().any(|t| t.eq_ignore_ascii_case("vip")) {
        return Ok(true);
    }
    if let Some(member) = loyalty_store::member_of_guest(conn, org, guest_id)? {
        let tiers = loyalty_store::tiers(conn, org)?;
        let top = tiers.iter().map(|t| t.rank).max();
        let mine = tiers
            .iter()
            .find(|t| t.id == member.tier_id)
            .map(|t| t.rank);
        if tiers.len() > 1 && mine.is_some() && mine == top {
            return Ok(true);
        }
    }
    Ok(insights::find(conn, org, guest_id)?
        .and_then(|i| i.value_class)
        .is_some_and(|v| v == "vip"))
}

fn suggestion(
    conn: &mut DbConnection,
    t: &Ticket,
    now: DateTime<Utc>,
) -> Result<Option<BlacklistSuggestion>, ApiError> {
    let Some(guest_id) = &t.guest_id else {
        return Ok(None);
    };
    let n = store::malicious_complaints(conn, &t.org_id, guest_id, now - Duration::days(365))?;
    let blacklisted = load_guest(conn, &t.org_id, guest_id)?.blacklist.is_some();
    Ok(Some(BlacklistSuggestion {
        malicious_complaints_last_year: n,
        suggested: n >= MALICIOUS_COMPLAINTS_FOR_SUGGESTION && !blacklisted,
    }))
}

fn deadlines_of(t: &Ticket) -> Deadlines {
    Deadlines {
        acknowledge_due: t.acknowledge_due,
        resolve_due: t.resolve_due,
        hard_due: t.hard_due,
    }
}

/// Brings the ticket's breaches and next deadline up to `now`; returns the
/// breaches found now that were not recorded before.
fn refresh_sla(t: &mut Ticket, now: DateTime<Utc>) -> Vec<Breach> {
    let st = sla_state(
        &deadlines_of(t),
        t.acknowledged_at.is_some(),
        t.status.is_open(),
        now,
    );
    let new: Vec<Breach> = st
        .breaches
        .into_iter()
        .filter(|b| !t.breaches.contains(b))
        .collect();
    t.breaches.extend(new.iter().copied());
    t.breaches.sort();
    t.next_due = st.next_due;
    new
}

fn breach_text(b: Breach) -> &'static str {
    match b {
        Breach::Acknowledge => "was not acknowledged in time",
        Breach::Resolve => "was not resolved within its target",
        Breach::HardLimit => "is past the 48-hour limit",
    }
}

/// Records newly missed deadlines: an event, a raised escalation level, a
/// notification to the assignee and the managers (admins too past the
/// hard limit), and a `ticket.escalated` webhook event.
fn escalate(
    conn: &mut DbConnection,
    actor: &Actor,
    t: &mut Ticket,
    new: &[Breach],
    managers: &[(String, Role)],
    now: DateTime<Utc>,
) -> Result<(Vec<store::TicketEvent>, Vec<store::Notification>), ApiError> {
    if new.is_empty() {
        return Ok((vec![], vec![]));
    }
    let level = escalation_level(&t.breaches).max(t.escalation_level);
    t.escalation_level = level;
    t.escalated_at = Some(now);
    let what = new
        .iter()
        .map(|b| breach_text(*b))
        .collect::<Vec<_>>()
        .join(" and ");
    let message = format!("Ticket \"{}\" {what} (priority {}).", t.subject, t.priority);
    let event = store::new_event(
        &t.org_id,
        &t.id,
        "escalated",
        None,
        None,
        (actor.principal.kind.as_str(), &actor.principal.id),
        Some(format!("level {level}: {what}")),
        now,
    );
    let mut recipients: Vec<String> = managers
        .iter()
        .filter(|(_, role)| *role == Role::Manager || (level >= 2 && *role == Role::Admin))
        .map(|(id, _)| id.clone())
        .collect();
    if recipients.is_empty() {
        // An organisation without managers: its admins hear of it.
        recipients = managers
            .iter()
            .filter(|(_, r)| *r == Role::Admin)
            .map(|(id, _)| id.clone())
            .collect();
    }
    recipients.extend(t.assignee_id.clone());
    recipients.sort();
    recipients.dedup();
    let notes = recipients
        .iter()
        .map(|u| {
            store::new_notification(
                &t.org_id,
                u,
                "ticket_escalated",
                ("ticket", &t.id),
                message.clone(),
                now,
            )
        })
        .collect();
    actor.record(
        conn,
        now,
        "ticket.escalated",
        "ticket",
        &t.id,
        &["escalation_level"],
    )?;
    Ok((vec![event], notes))
}

/// The organisation's active managers and admins.
fn managers_of(conn: &mut DbConnection, org: &str) -> Result<Vec<(String, Role)>, ApiError> {
    Ok(users::with_roles(conn, org, &[Role::Manager, Role::Admin])?
        .into_iter()
        .map(|u| (u.id, u.role))
        .collect())
}

// ---------------------------------------------------------------- SLA targets

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaTargetDto {
    pub category: TicketCategory,
    pub acknowledge_minutes: i32,
    pub resolve_minutes: i32,
    pub hard_limit_minutes: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"targets": [{"category": "hygiene", "acknowledge_minutes": 15, "resolve_minutes": 240, "hard_limit_minutes": 1440}]}))]
pub struct SlaTargets {
    /// One per category; a category left out gets the default (acknowledge
    /// in 60 minutes, 30 for hygiene and hardware; resolve in 24 h; 48 h
    /// at most).
    pub targets: Vec<SlaTargetDto>,
}

fn targets_dto(t: std::collections::BTreeMap<TicketCategory, SlaTarget>) -> SlaTargets {
    SlaTargets {
        targets: t
            .into_iter()
            .map(|(category, s)| SlaTargetDto {
                category,
                acknowledge_minutes: s.acknowledge_minutes,
                resolve_minutes: s.resolve_minutes,
                hard_limit_minutes: s.hard_limit_minutes,
            })
            .collect(),
    }
}

/// The SLA targets per category.
#[utoipa::path(
    operation_id = "getTicketSlaTargets",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    responses((status = 200, description = "Every category's targets.", body = SlaTargets))
)]
#[get("/ticket-sla-targets")]
pub async fn get_sla_targets(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let t = state
        .read(move |conn| store::sla_targets(conn, &org))
        .await?;
    Ok(HttpResponse::Ok().json(targets_dto(t)))
}

/// Set the SLA targets (all categories at once). New tickets get them;
/// existing tickets keep the deadlines they were created with.
#[utoipa::path(
    operation_id = "putTicketSlaTargets",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = SlaTargets,
    responses((status = 200, description = "Every category's targets.", body = SlaTargets))
)]
#[put("/ticket-sla-targets")]
pub async fn put_sla_targets(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<SlaTargets>,
) -> ApiResult<HttpResponse> {
    let mut errors = Errors::new();
    let mut targets: std::collections::BTreeMap<TicketCategory, SlaTarget> = TicketCategory::ALL
        .iter()
        .map(|c| (*c, SlaTarget::default_for(*c)))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for (i, t) in body.0.targets.iter().enumerate() {
        let field = format!("targets[{i}]");
        if !seen.insert(t.category) {
            errors.push(FieldError::new(
                &field,
                "duplicate",
                "this category is already listed",
            ));
        }
        let target = SlaTarget {
            acknowledge_minutes: t.acknowledge_minutes,
            resolve_minutes: t.resolve_minutes,
            hard_limit_minutes: t.hard_limit_minutes,
        };
        match target.validate() {
            Ok(()) => {
                targets.insert(t.category, target);
            }
            Err(why) => errors.push(FieldError::new(&field, "out_of_range", why)),
        }
    }
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let saved = state
        .write(move |conn| {
            store::replace_sla_targets(conn, &org, &targets, now)?;
            actor.record(
                conn,
                now,
                "ticket_sla.updated",
                "organization",
                &org,
                &["targets"],
            )?;
            Ok(targets)
        })
        .await?;
    Ok(HttpResponse::Ok().json(targets_dto(saved)))
}

// ---------------------------------------------------------------- tickets

/// Open a complaint or a service request. Priority and deadlines are set
/// now, from the category's SLA targets and the guest's standing.
#[utoipa::path(
    operation_id = "createTicket",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    request_body = TicketCreate,
    responses(
        (status = 201, description = "Created.", body = TicketDto),
        (status = 422, description = "Invalid fields; unknown property, guest, reservation, stay or assignee.", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/tickets")]
pub async fn create_ticket(
    auth: Auth<roles::Staff>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<TicketCreate>,
) -> ApiResult<HttpResponse> {
    let w = body.0;
    let mut errors = Errors::new();
    let subject = errors.check("subject", required_text(&w.subject, 200));
    let description = w
        .description
        .as_deref()
        .and_then(|d| errors.check("description", bounded_text(d, 4000)).flatten());
    let room = w
        .room
        .as_deref()
        .and_then(|r| errors.check("room", bounded_text(r, 20)).flatten());
    let property_id = body_id(&mut errors, "property_id", w.property_id.as_deref());
    let guest_id = body_id(&mut errors, "guest_id", w.guest_id.as_deref());
    let reservation_id = body_id(&mut errors, "reservation_id", w.reservation_id.as_deref());
    let stay_id = body_id(&mut errors, "stay_id", w.stay_id.as_deref());
    let assignee_id = body_id(&mut errors, "assignee_id", w.assignee_id.as_deref());
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let mut errors = Errors::new();
            let mut property_id = property_id;
            let mut guest_id = guest_id;
            let mut reservation_id = reservation_id;
            if let Some(stay) = &stay_id {
                match store::stay_owner(conn, &org, stay)? {
                    Some((g, p, r)) => {
                        check_same(&mut errors, "stay_id", &mut guest_id, g);
                        check_same(&mut errors, "stay_id", &mut property_id, p);
                        check_same(&mut errors, "stay_id", &mut reservation_id, r);
                    }
                    None => errors.push(FieldError::new("stay_id", "unknown_stay", "no such stay")),
                }
            }
            if let Some(res) = reservation_id.clone() {
                match reservations::find(conn, &org, &res) {
                    Ok(r) => {
                        check_same(&mut errors, "reservation_id", &mut guest_id, r.guest_id);
                        check_same(
                            &mut errors,
                            "reservation_id",
                            &mut property_id,
                            r.property_id,
                        );
                    }
                    Err(StorageError::NotFound) => errors.push(FieldError::new(
                        "reservation_id",
                        "unknown_reservation",
                        "no such reservation",
                    )),
                    Err(e) => return Err(e.into()),
                }
            }
            match &property_id {
                Some(p) => {
                    if let Err(StorageError::NotFound) = properties::find(conn, &org, p) {
                        errors.push(FieldError::new(
                            "property_id",
                            "unknown_property",
                            "no such property",
                        ));
                    }
                }
                None => errors.push(FieldError::new(
                    "property_id",
                    "required",
                    "the property, unless a reservation or stay gives it",
                )),
            }
            let mut vip = false;
            if let Some(g) = &guest_id {
                match load_guest(conn, &org, g) {
                    Ok(guest) => {
                        refuse_erased(&guest)?;
                        vip = is_vip(conn, &org, g, &guest.profile.tags)?;
                    }
                    Err(e) if e.status == StatusCode::NOT_FOUND => errors.push(FieldError::new(
                        "guest_id",
                        "unknown_guest",
                        "no such guest",
                    )),
                    Err(e) => return Err(e),
                }
            }
            if let Some(a) = &assignee_id {
                if staff_user(conn, &org, a)?.is_none() {
                    errors.push(FieldError::new(
                        "assignee_id",
                        "unknown_user",
                        "no active staff user with this id",
                    ));
                }
            }
            errors.finish()?;
            open_ticket(
                conn,
                &actor,
                NewTicket {
                    kind: w.kind,
                    category: w.category,
                    severity: w.severity.unwrap_or(Severity::Medium),
                    subject: subject.unwrap_or_default(),
                    description,
                    channel: w.channel.unwrap_or(TicketChannel::FrontDesk),
                    property_id: property_id.unwrap_or_default(),
                    guest_id,
                    reservation_id,
                    stay_id,
                    room,
                    assignee_id,
                    vip,
                },
                now,
            )
        })
        .await?;
    Ok(response(StatusCode::CREATED, t, None))
}

/// A checked ticket to open (by staff, or from a low survey score).
pub struct NewTicket {
    pub kind: TicketKind,
    pub category: TicketCategory,
    pub severity: Severity,
    pub subject: String,
    pub description: Option<String>,
    pub channel: TicketChannel,
    pub property_id: String,
    pub guest_id: Option<String>,
    pub reservation_id: Option<String>,
    pub stay_id: Option<String>,
    pub room: Option<String>,
    pub assignee_id: Option<String>,
    pub vip: bool,
}

/// Opens a ticket: priority and deadlines from now, the category's
/// targets and the guest's standing; history, notification, audit.
pub fn open_ticket(
    conn: &mut DbConnection,
    actor: &Actor,
    n: NewTicket,
    now: DateTime<Utc>,
) -> Result<Ticket, ApiError> {
    let org = actor.principal.org_id.clone();
    let target = store::sla_targets(conn, &org)?
        .get(&n.category)
        .copied()
        .unwrap_or_else(|| SlaTarget::default_for(n.category));
    let d = deadlines(now, target, n.vip);
    let mut t = Ticket {
        id: crm_domain::id::new_id().to_string(),
        org_id: org.clone(),
        property_id: n.property_id,
        kind: n.kind,
        category: n.category,
        severity: n.severity,
        priority: priority(n.severity, n.vip),
        vip: n.vip,
        status: TicketStatus::New,
        subject: n.subject,
        description: n.description,
        channel: n.channel,
        guest_id: n.guest_id,
        reservation_id: n.reservation_id,
        stay_id: n.stay_id,
        room: n.room,
        assignee_id: n.assignee_id.clone(),
        acknowledge_due: d.acknowledge_due,
        resolve_due: d.resolve_due,
        hard_due: d.hard_due,
        next_due: None,
        breaches: vec![],
        escalation_level: 0,
        escalated_at: None,
        acknowledged_at: None,
        first_resolved_at: None,
        resolved_at: None,
        closed_at: None,
        reopen_count: 0,
        resolution: None,
        compensation: None,
        malicious: false,
        malicious_note: None,
        version: 1,
        created_by: actor.principal.id.clone(),
        created_at: now,
        updated_at: now,
    };
    refresh_sla(&mut t, now);
    store::insert(conn, &t)?;
    let who = (actor.principal.kind.as_str(), actor.principal.id.as_str());
    let mut events = vec![store::new_event(
        &org,
        &t.id,
        "created",
        None,
        Some(TicketStatus::New),
        who,
        None,
        now,
    )];
    if let Some(a) = &n.assignee_id {
        events.push(store::new_event(
            &org,
            &t.id,
            "assigned",
            None,
            None,
            who,
            Some(a.clone()),
            now,
        ));
        store::insert_notifications(conn, &[assigned_note(&t, a, now)])?;
    }
    store::insert_events(conn, &events)?;
    actor.record(conn, now, "ticket.created", "ticket", &t.id, &[])?;
    Ok(t)
}

fn check_same(errors: &mut Errors, field: &str, slot: &mut Option<String>, actual: String) {
    match slot {
        Some(given) if *given != actual => errors.push(FieldError::new(
            field,
            "mismatch",
            "belongs to another guest or property than the one given",
        )),
        _ => *slot = Some(actual),
    }
}

fn assigned_note(t: &Ticket, user: &str, now: DateTime<Utc>) -> store::Notification {
    store::new_notification(
        &t.org_id,
        user,
        "ticket_assigned",
        ("ticket", &t.id),
        format!(
            "Ticket \"{}\" (priority {}) is yours; acknowledge by {}.",
            t.subject,
            t.priority,
            t.acknowledge_due.format("%Y-%m-%d %H:%M UTC")
        ),
        now,
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketListParams {
    pub status: Option<TicketStatus>,
    pub kind: Option<TicketKind>,
    pub category: Option<TicketCategory>,
    pub property_id: Option<String>,
    pub guest_id: Option<String>,
    pub assignee_id: Option<String>,
    /// Only unresolved (`true`) or only resolved and closed (`false`).
    pub open: Option<bool>,
    /// Only tickets that missed a deadline (`true`) or none (`false`).
    pub breached: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List tickets.
#[utoipa::path(
    operation_id = "listTickets",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(TicketListParams),
    responses((status = 200, description = "A page of tickets.", body = ListResponse<TicketDto>))
)]
#[get("/tickets")]
pub async fn list_tickets(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<TicketListParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let filter = TicketFilter {
        status: q.status,
        kind: q.kind,
        category: q.category,
        property_id: query_id(&q.property_id, "property_id")?,
        guest_id: query_id(&q.guest_id, "guest_id")?,
        assignee_id: query_id(&q.assignee_id, "assignee_id")?,
        open: q.open,
        breached: q.breached,
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| store::list(conn, &org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, TicketDto::from)))
}

/// Get a ticket, with the guest's blacklist suggestion when there is one.
#[utoipa::path(
    operation_id = "getTicket",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("ticket_id" = String, Path, description = "Ticket id")),
    responses((status = 200, description = "The ticket.", body = TicketDto))
)]
#[get("/tickets/{ticket_id}")]
pub async fn get_ticket(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let org = auth.org_id.clone();
    let now = state.clock.now();
    let (t, s) = state
        .read(move |conn| {
            let t = load_ticket(conn, &org, &id)?;
            let s = suggestion(conn, &t, now)?;
            Ok::<_, ApiError>((t, s))
        })
        .await?;
    Ok(response(StatusCode::OK, t, s))
}

/// Change the subject, description, severity (and so the priority) or room
/// (JSON merge patch).
#[utoipa::path(
    operation_id = "updateTicket",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("ticket_id" = String, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = TicketPatch, content_type = "application/merge-patch+json", description = "Any subset of the fields."),
    responses((status = 200, description = "Updated.", body = TicketDto))
)]
#[patch("/tickets/{ticket_id}")]
pub async fn update_ticket(
    auth: Auth<roles::Desk>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
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
            let current = load_ticket(conn, &org, &id)?;
            let expected = if_match.check(current.version)?;
            let base = TicketPatch {
                subject: current.subject.clone(),
                description: current.description.clone(),
                severity: current.severity,
                room: current.room.clone(),
            };
            let p: TicketPatch = apply_merge_patch(&base, &body.0)?;
            let mut errors = Errors::new();
            let subject = errors.check("subject", required_text(&p.subject, 200));
            let description = p
                .description
                .as_deref()
                .and_then(|d| errors.check("description", bounded_text(d, 4000)).flatten());
            let room = p
                .room
                .as_deref()
                .and_then(|r| errors.check("room", bounded_text(r, 20)).flatten());
            errors.finish()?;
            let next = Ticket {
                subject: subject.unwrap_or_default(),
                description,
                severity: p.severity,
                priority: priority(p.severity, current.vip),
                room,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            let mut changed = Vec::new();
            for (name, differs) in [
                ("subject", next.subject != current.subject),
                ("description", next.description != current.description),
                ("severity", next.severity != current.severity),
                ("room", next.room != current.room),
            ] {
                if differs {
                    changed.push(name);
                }
            }
            if changed.is_empty() {
                return Ok(current);
            }
            store::update(conn, &next, expected)?;
            let who = (actor.principal.kind.as_str(), actor.principal.id.as_str());
            store::insert_events(
                conn,
                &[store::new_event(
                    &org,
                    &next.id,
                    "updated",
                    None,
                    None,
                    who,
                    Some(changed.join(", ")),
                    now,
                )],
            )?;
            actor.record(conn, now, "ticket.updated", "ticket", &next.id, &changed)?;
            Ok(next)
        })
        .await?;
    Ok(response(StatusCode::OK, t, None))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketAssign {
    /// A staff user, or `null` to unassign.
    pub assignee_id: Option<String>,
}

/// Assign a ticket to a staff member (who is notified), or unassign it.
#[utoipa::path(
    operation_id = "assignTicket",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("ticket_id" = String, Path, description = "Ticket id")),
    request_body = TicketAssign,
    responses((status = 200, description = "Assigned.", body = TicketDto))
)]
#[post("/tickets/{ticket_id}/assign")]
pub async fn assign_ticket(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TicketAssign>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let mut errors = Errors::new();
    let assignee = body_id(&mut errors, "assignee_id", body.0.assignee_id.as_deref());
    errors.finish()?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let current = load_ticket(conn, &org, &id)?;
            if let Some(a) = &assignee {
                if staff_user(conn, &org, a)?.is_none() {
                    return Err(ApiError::field(
                        "assignee_id",
                        "unknown_user",
                        "no active staff user with this id",
                    ));
                }
            }
            if current.assignee_id == assignee {
                return Ok(current);
            }
            let next = Ticket {
                assignee_id: assignee.clone(),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            store::update(conn, &next, current.version)?;
            let who = (actor.principal.kind.as_str(), actor.principal.id.as_str());
            store::insert_events(
                conn,
                &[store::new_event(
                    &org,
                    &next.id,
                    "assigned",
                    None,
                    None,
                    who,
                    assignee.clone(),
                    now,
                )],
            )?;
            if let Some(a) = &assignee {
                store::insert_notifications(conn, &[assigned_note(&next, a, now)])?;
            }
            actor.record(
                conn,
                now,
                "ticket.assigned",
                "ticket",
                &next.id,
                &["assignee_id"],
            )?;
            Ok(next)
        })
        .await?;
    Ok(response(StatusCode::OK, t, None))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionNote {
    /// Why (reopen), or what was done; kept in the history.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyInput {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherInput {
    #[serde(default)]
    pub code: Option<String>,
    pub description: String,
    #[serde(default)]
    pub value: Option<MoneyInput>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompensationInput {
    /// Loyalty points to credit to the guest's membership.
    #[serde(default)]
    pub points: Option<i64>,
    #[serde(default)]
    pub voucher: Option<VoucherInput>,
    #[serde(default)]
    pub refund: Option<MoneyInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"resolution": "Room cleaned again, apology from the housekeeping manager.", "compensation": {"points": 500}}))]
pub struct TicketResolve {
    pub resolution: String,
    /// Points, a voucher or a refund; managers and admins only.
    #[serde(default)]
    pub compensation: Option<CompensationInput>,
}

fn action_not_allowed(t: &Ticket, action: TicketAction) -> ApiError {
    let allowed = t.status.allowed();
    ApiError::conflict(
        "invalid_status_transition",
        format!(
            "A {} ticket cannot {}; allowed: {}.",
            t.status.as_str(),
            action.as_str(),
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    )
    .with_extension("allowed_actions", serde_json::json!(allowed))
}

fn past(action: TicketAction) -> &'static str {
    match action {
        TicketAction::Acknowledge => "acknowledged",
        TicketAction::Start => "started",
        TicketAction::Resolve => "resolved",
        TicketAction::Close => "closed",
        TicketAction::Reopen => "reopened",
    }
}

/// Moves a ticket by `action`, with what the action sets; used by every
/// transition endpoint.
#[allow(clippy::too_many_arguments)]
fn transition(
    conn: &mut DbConnection,
    actor: &Actor,
    org: &str,
    id: &str,
    action: TicketAction,
    note: Option<String>,
    now: DateTime<Utc>,
    resolve: Option<(String, Option<Compensation>)>,
) -> Result<Ticket, ApiError> {
    let current = load_ticket(conn, org, id)?;
    let status = current
        .status
        .apply(action)
        .map_err(|_| action_not_allowed(&current, action))?;
    let mut t = Ticket {
        status,
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    match action {
        TicketAction::Acknowledge | TicketAction::Start => {
            t.acknowledged_at.get_or_insert(now);
        }
        TicketAction::Resolve => {
            t.acknowledged_at.get_or_insert(now);
            t.first_resolved_at.get_or_insert(now);
            t.resolved_at = Some(now);
            if let Some((resolution, compensation)) = resolve {
                t.resolution = Some(resolution);
                if compensation.is_some() {
                    t.compensation = compensation;
                }
            }
        }
        TicketAction::Close => t.closed_at = Some(now),
        TicketAction::Reopen => {
            t.reopen_count += 1;
            t.resolved_at = None;
            t.closed_at = None;
        }
    }
    let new = refresh_sla(&mut t, now);
    let who = (actor.principal.kind.as_str(), actor.principal.id.as_str());
    let mut events = vec![store::new_event(
        org,
        &t.id,
        past(action),
        Some(current.status),
        Some(status),
        who,
        note,
        now,
    )];
    let (more, notes) = if new.is_empty() {
        (vec![], vec![])
    } else {
        let managers = managers_of(conn, org)?;
        escalate(conn, actor, &mut t, &new, &managers, now)?
    };
    events.extend(more);
    store::update(conn, &t, current.version)?;
    store::insert_events(conn, &events)?;
    store::insert_notifications(conn, &notes)?;
    actor.record(
        conn,
        now,
        &format!("ticket.{}", past(action)),
        "ticket",
        &t.id,
        &["status"],
    )?;
    Ok(t)
}

/// The optional body of a transition: nothing, or `{"note": …}`.
fn note_of(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let parsed: TransitionNote = crate::http::parse_json(body)?;
    match parsed.note {
        Some(n) => Ok(bounded_text(&n, 2000).map_err(|e| ApiError::from(e.at("note")))?),
        None => Ok(None),
    }
}

macro_rules! transition_endpoint {
    ($fn:ident, $path:literal, $id:literal, $action:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            operation_id = $id,
            tag = "tickets",
            security(("bearer_auth" = ["admin", "manager", "front_desk"])),
            params(("ticket_id" = String, Path, description = "Ticket id")),
            request_body(content = Option<TransitionNote>, description = "Optional note for the history."),
            responses((status = 200, description = "Moved.", body = TicketDto),
                (status = 409, description = "Not allowed in this status (`invalid_status_transition`, with `allowed_actions`).", body = crate::error::Problem, content_type = "application/problem+json"))
        )]
        #[post($path)]
        pub async fn $fn(
            auth: Auth<roles::Desk>,
            request_id: RequestId,
            state: web::Data<AppState>,
            path: web::Path<String>,
            body: web::Bytes,
        ) -> ApiResult<HttpResponse> {
            let id = path_id(&path, "ticket_not_found", "ticket")?;
            let note = note_of(&body)?;
            let now = state.clock.now();
            let actor = Actor::new(&auth.principal, &request_id, &state);
            let org = auth.org_id.clone();
            let t = state
                .write(move |conn| transition(conn, &actor, &org, &id, $action, note, now, None))
                .await?;
            Ok(response(StatusCode::OK, t, None))
        }
    };
}

transition_endpoint!(
    acknowledge_ticket,
    "/tickets/{ticket_id}/acknowledge",
    "acknowledgeTicket",
    TicketAction::Acknowledge,
    "Acknowledge a new ticket (stops the acknowledgement clock)."
);
transition_endpoint!(
    start_ticket,
    "/tickets/{ticket_id}/start",
    "startTicket",
    TicketAction::Start,
    "Start working on a ticket."
);
transition_endpoint!(
    close_ticket,
    "/tickets/{ticket_id}/close",
    "closeTicket",
    TicketAction::Close,
    "Close a resolved ticket."
);
transition_endpoint!(
    reopen_ticket,
    "/tickets/{ticket_id}/reopen",
    "reopenTicket",
    TicketAction::Reopen,
    "Reopen a resolved or closed ticket (the guest is not satisfied); it keeps its original deadlines."
);

fn money(
    errors: &mut Errors,
    field: &str,
    m: &MoneyInput,
    currency: &mut Option<String>,
) -> Option<i64> {
    if !(1..=100_000_000).contains(&m.amount) {
        errors.push(FieldError::new(
            format!("{field}.amount"),
            "out_of_range",
            "1 to 100,000,000 minor units",
        ));
        return None;
    }
    let code = errors.check(
        &format!("{field}.currency"),
        CurrencyCode::parse(&m.currency),
    )?;
    match currency {
        Some(c) if c != code.as_str() => {
            errors.push(FieldError::new(
                format!("{field}.currency"),
                "mismatch",
                "one currency per compensation",
            ));
            None
        }
        _ => {
            *currency = Some(code.as_str().to_string());
            Some(m.amount)
        }
    }
}

/// Resolve a ticket with what was done and, optionally, compensation:
/// points (credited through the loyalty ledger as a
/// `complaint_compensation` bonus, once per ticket), a voucher or a refund.
#[utoipa::path(
    operation_id = "resolveTicket",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk"])),
    params(("ticket_id" = String, Path, description = "Ticket id")),
    request_body = TicketResolve,
    responses((status = 200, description = "Resolved.", body = TicketDto),
        (status = 403, description = "Compensation by a front-desk user.", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in this status, or points for a guest who is not a member (`not_a_member`).", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/tickets/{ticket_id}/resolve")]
pub async fn resolve_ticket(
    auth: Auth<roles::Desk>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TicketResolve>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let req = body.0;
    let mut errors = Errors::new();
    let resolution = errors.check("resolution", required_text(&req.resolution, 4000));
    let mut compensation = None;
    if let Some(c) = &req.compensation {
        let mut comp = Compensation::default();
        let mut currency = None;
        if let Some(p) = c.points {
            if (1..=1_000_000).contains(&p) {
                comp.points = Some(p);
            } else {
                errors.push(FieldError::new(
                    "compensation.points",
                    "out_of_range",
                    "1 to 1,000,000 points",
                ));
            }
        }
        if let Some(v) = &c.voucher {
            let description = errors.check(
                "compensation.voucher.description",
                required_text(&v.description, 500),
            );
            let code = v.code.as_deref().and_then(|x| {
                errors
                    .check("compensation.voucher.code", bounded_text(x, 50))
                    .flatten()
            });
            let value = v
                .value
                .as_ref()
                .and_then(|m| money(&mut errors, "compensation.voucher.value", m, &mut currency));
            comp.voucher = description.map(|description| Voucher {
                code,
                description,
                value_amount: value,
            });
        }
        if let Some(r) = &c.refund {
            comp.refund_amount = money(&mut errors, "compensation.refund", r, &mut currency);
        }
        comp.currency = currency;
        if comp == Compensation::default() {
            errors.push(FieldError::new(
                "compensation",
                "required",
                "points, a voucher or a refund",
            ));
        }
        compensation = Some(comp);
    }
    errors.finish()?;
    if compensation.is_some() && !matches!(auth.role, Role::Admin | Role::Manager) {
        return Err(ApiError::forbidden(
            "Compensation is granted by managers and admins.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let t = state
        .write(move |conn| {
            let mut compensation = compensation;
            if let Some(points) = compensation.as_ref().and_then(|c| c.points) {
                let current = load_ticket(conn, &org, &id)?;
                let Some(guest) = current.guest_id.clone() else {
                    return Err(ApiError::field(
                        "compensation.points",
                        "no_guest",
                        "the ticket has no guest to credit",
                    ));
                };
                let (entry, _) = crate::routes::membership::post_bonus(
                    conn,
                    &actor,
                    &org,
                    &guest,
                    crm_domain::loyalty::BonusType::ComplaintCompensation,
                    points,
                    &id,
                    Some(format!("Compensation for ticket \"{}\"", current.subject)),
                    now,
                )
                .map_err(|e| {
                    if e.code == "not_a_member" {
                        ApiError::conflict(
                            "not_a_member",
                            "The guest is not a loyalty member; points cannot be credited.",
                        )
                    } else {
                        e
                    }
                })?;
                if let Some(c) = compensation.as_mut() {
                    c.points_entry_id = Some(entry.id);
                }
            }
            transition(
                conn,
                &actor,
                &org,
                &id,
                TicketAction::Resolve,
                None,
                now,
                Some((resolution.unwrap_or_default(), compensation)),
            )
        })
        .await?;
    Ok(response(StatusCode::OK, t, None))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"malicious": true, "note": "Third claim this year of the same stain, photos taken before check-in show it was there."}))]
pub struct MaliciousJudgement {
    pub malicious: bool,
    pub note: String,
}

/// A manager's judgement that a complaint is (or is not) malicious. Two
/// such judgements within a year make the ticket suggest blacklisting the
/// guest; blacklisting stays the manager's decision.
#[utoipa::path(
    operation_id = "judgeTicketMalicious",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("ticket_id" = String, Path, description = "Ticket id")),
    request_body = MaliciousJudgement,
    responses((status = 200, description = "Recorded, with the blacklist suggestion.", body = TicketDto),
        (status = 409, description = "Not a complaint (`not_a_complaint`).", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/tickets/{ticket_id}/malicious")]
pub async fn judge_malicious(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<MaliciousJudgement>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let mut errors = Errors::new();
    let note = errors.check("note", required_text(&body.0.note, 2000));
    errors.finish()?;
    let malicious = body.0.malicious;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let (t, s) = state
        .write(move |conn| {
            let current = load_ticket(conn, &org, &id)?;
            if current.kind != TicketKind::Complaint {
                return Err(ApiError::conflict(
                    "not_a_complaint",
                    "Only complaints are judged malicious.",
                ));
            }
            let next = Ticket {
                malicious,
                malicious_note: note.clone(),
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            store::update(conn, &next, current.version)?;
            let who = (actor.principal.kind.as_str(), actor.principal.id.as_str());
            let action = if malicious {
                "judged_malicious"
            } else {
                "judged_not_malicious"
            };
            store::insert_events(
                conn,
                &[store::new_event(
                    &org, &next.id, action, None, None, who, note, now,
                )],
            )?;
            actor.record(
                conn,
                now,
                "ticket.judged",
                "ticket",
                &next.id,
                &["malicious"],
            )?;
            let s = suggestion(conn, &next, now)?;
            Ok((next, s))
        })
        .await?;
    Ok(response(StatusCode::OK, t, s))
}

// ---------------------------------------------------------------- history, comments

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketEventDto {
    pub id: String,
    /// created, acknowledged, started, resolved, closed, reopened,
    /// assigned, updated, escalated, judged_malicious, judged_not_malicious
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor_kind: String,
    pub actor_id: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Every transition, assignment, escalation and judgement, oldest first.
#[utoipa::path(
    operation_id = "listTicketHistory",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("ticket_id" = String, Path, description = "Ticket id"), PageQuery),
    responses((status = 200, description = "A page of events.", body = ListResponse<TicketEventDto>))
)]
#[get("/tickets/{ticket_id}/history")]
pub async fn ticket_history(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            load_ticket(conn, &org, &id)?;
            Ok::<_, ApiError>(store::events_of(conn, &org, &id, &page)?)
        })
        .await?;
    Ok(
        HttpResponse::Ok().json(ListResponse::from_page(result, |e| TicketEventDto {
            created_at: e.at(),
            id: e.id,
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            note: e.note,
        })),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "已安排客房部重新清洁并致电客人致歉。", "internal": true}))]
pub struct CommentWrite {
    pub body: String,
    /// Staff-only (default `true`); `false` marks what was said to the guest.
    #[serde(default)]
    pub internal: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentDto {
    pub id: String,
    pub author_id: String,
    pub body: String,
    pub internal: bool,
    pub created_at: DateTime<Utc>,
}

fn comment_dto(c: store::TicketComment) -> CommentDto {
    CommentDto {
        created_at: c.at(),
        id: c.id,
        author_id: c.author_id,
        body: c.body,
        internal: c.internal,
    }
}

/// Comment on a ticket.
#[utoipa::path(
    operation_id = "createTicketComment",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("ticket_id" = String, Path, description = "Ticket id")),
    request_body = CommentWrite,
    responses((status = 201, description = "Added.", body = CommentDto))
)]
#[post("/tickets/{ticket_id}/comments")]
pub async fn create_comment(
    auth: Auth<roles::Staff>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<CommentWrite>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let text = required_text(&body.0.body, 4000).map_err(|e| ApiError::from(e.at("body")))?;
    let internal = body.0.internal.unwrap_or(true);
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let c = state
        .write(move |conn| {
            load_ticket(conn, &org, &id)?;
            let c = store::TicketComment {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                ticket_id: id.clone(),
                author_id: actor.principal.id.clone(),
                body: text,
                internal,
                created_at: now.naive_utc(),
            };
            store::insert_comment(conn, &c)?;
            actor.record(conn, now, "ticket.commented", "ticket", &id, &["comments"])?;
            Ok(c)
        })
        .await?;
    Ok(HttpResponse::Created().json(comment_dto(c)))
}

/// A ticket's comments, oldest first.
#[utoipa::path(
    operation_id = "listTicketComments",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("ticket_id" = String, Path, description = "Ticket id"), PageQuery),
    responses((status = 200, description = "A page of comments.", body = ListResponse<CommentDto>))
)]
#[get("/tickets/{ticket_id}/comments")]
pub async fn list_comments(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "ticket_not_found", "ticket")?;
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            load_ticket(conn, &org, &id)?;
            Ok::<_, ApiError>(store::comments_of(conn, &org, &id, &page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, comment_dto)))
}

// ---------------------------------------------------------------- SLA scan

#[derive(Debug, Default, Clone, Copy, Serialize, ToSchema)]
pub struct SlaScan {
    /// Tickets whose next deadline had come.
    pub examined: u64,
    /// Of those, tickets that missed a deadline now (escalated).
    pub escalated: u64,
}

const SCAN_BATCH: i64 = 500;

/// Finds the organisation's tickets whose next deadline has come, marks
/// what they missed and escalates them. Reads only tickets that are due
/// (the partial `tickets_sla` index), in batches of 500, each batch one
/// transaction; a ticket changed meanwhile by someone else is left for the
/// next scan (its version no longer matches).
pub fn scan(db: &Database, org: &str, now: DateTime<Utc>) -> Result<SlaScan, ApiError> {
    let actor = Actor::system(org, "ticket-sla");
    let managers = managers_of(&mut *db.connection()?, org)?;
    let mut report = SlaScan::default();
    loop {
        let due = db.read(|conn| store::due(conn, org, now, SCAN_BATCH))?;
        if due.is_empty() {
            break;
        }
        let n = due.len() as i64;
        let escalated = write_transaction(db, |conn| {
            let mut events = Vec::new();
            let mut notes = Vec::new();
            let mut escalated = 0;
            for current in &due {
                let mut t = current.clone();
                let new = refresh_sla(&mut t, now);
                let (e, ns) = escalate(conn, &actor, &mut t, &new, &managers, now)?;
                t.version += 1;
                t.updated_at = now;
                match store::update(conn, &t, current.version) {
                    Ok(()) => {}
                    Err(StorageError::VersionConflict) => continue,
                    Err(e) => return Err(e.into()),
                }
                if !new.is_empty() {
                    escalated += 1;
                }
                events.extend(e);
                notes.extend(ns);
            }
            store::insert_events(conn, &events)?;
            store::insert_notifications(conn, &notes)?;
            Ok(escalated)
        })?;
        report.examined += n as u64;
        report.escalated += escalated;
        if n < SCAN_BATCH {
            break;
        }
    }
    Ok(report)
}

/// Run the SLA scan now (the `ticket-sla` job runs it every minute).
#[utoipa::path(
    operation_id = "scanTicketSla",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager"])),
    responses((status = 200, description = "What the scan did.", body = SlaScan))
)]
#[post("/tickets/sla-scan")]
pub async fn scan_now(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_id.clone();
    let db = state.db.clone();
    let now = state.clock.now();
    let r = web::block(move || scan(&db, &org, now))
        .await
        .map_err(ApiError::internal)??;
    Actor::new(&auth.principal, &request_id, &state)
        .record_alone(&state, "job.run", "job", "ticket-sla-scan".into())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

// ---------------------------------------------------------------- notifications

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: String,
    /// `ticket_escalated` or `ticket_assigned`.
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

fn notification_dto(n: store::Notification) -> NotificationDto {
    NotificationDto {
        created_at: n.at(),
        read_at: n.read(),
        id: n.id,
        kind: n.kind,
        entity_type: n.entity_type,
        entity_id: n.entity_id,
        message: n.message,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// Only those not yet read.
    pub unread: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// The caller's own notifications (escalations, assignments).
#[utoipa::path(
    operation_id = "listNotifications",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(NotificationParams),
    responses((status = 200, description = "A page of notifications.", body = ListResponse<NotificationDto>))
)]
#[get("/notifications")]
pub async fn list_notifications(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<NotificationParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let (org, user) = (auth.org_id.clone(), auth.principal.id.clone());
    let unread = q.unread.unwrap_or(false);
    let result = state
        .read(move |conn| store::notifications_of(conn, &org, &user, unread, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, notification_dto)))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(
    operation_id = "readNotification",
    tag = "tickets",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("notification_id" = String, Path, description = "Notification id")),
    responses((status = 200, description = "Read.", body = NotificationDto))
)]
#[post("/notifications/{notification_id}/read")]
pub async fn read_notification(
    auth: Auth<roles::Staff>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "notification_not_found", "notification")?;
    let (org, user) = (auth.org_id.clone(), auth.principal.id.clone());
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let n = state
        .write(move |conn| {
            let n = store::mark_read(conn, &org, &user, &id, now)?;
            if n.is_some() {
                actor.record(
                    conn,
                    now,
                    "notification.marked_read",
                    "notification",
                    &id,
                    &["read_at"],
                )?;
            }
            Ok(n)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("notification_not_found", "notification"))?;
    Ok(HttpResponse::Ok().json(notification_dto(n)))
}
