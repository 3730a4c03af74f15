//! Complaints and service requests, their history and comments, the
//! organisation's SLA targets, and staff notifications.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::{insert_many, DbConnection};
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{
    staff_notifications, ticket_comments, ticket_events, ticket_sla_targets, tickets,
};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::service::{
    Breach, Severity, SlaTarget, TicketCategory, TicketChannel, TicketKind, TicketStatus,
};
use diesel::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
struct TicketRow {
    id: String,
    org_id: String,
    property_id: String,
    kind: String,
    category: String,
    severity: String,
    priority: i32,
    vip: bool,
    status: String,
    subject: String,
    description: Option<String>,
    channel: String,
    guest_id: Option<String>,
    reservation_id: Option<String>,
    stay_id: Option<String>,
    room: Option<String>,
    assignee_id: Option<String>,
    acknowledge_due: NaiveDateTime,
    resolve_due: NaiveDateTime,
    hard_due: NaiveDateTime,
    next_due: Option<NaiveDateTime>,
    breaches: String,
    escalation_level: i32,
    escalated_at: Option<NaiveDateTime>,
    acknowledged_at: Option<NaiveDateTime>,
    first_resolved_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
    reopen_count: i32,
    resolution: Option<String>,
    compensation: Option<String>,
    malicious: bool,
    malicious_note: Option<String>,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What a resolution gave the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Compensation {
    pub points: Option<i64>,
    /// The loyalty ledger entry that posted the points.
    pub points_entry_id: Option<String>,
    pub voucher: Option<Voucher>,
    /// Minor units, in `currency`.
    pub refund_amount: Option<i64>,
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Voucher {
    pub code: Option<String>,
    pub description: String,
    /// Minor units, in the compensation's currency.
    pub value_amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: String,
    pub org_id: String,
    pub property_id: String,
    pub kind: TicketKind,
    pub category: TicketCategory,
    pub severity: Severity,
    pub priority: i32,
    pub vip: bool,
    pub status: TicketStatus,
    pub subject: String,
    pub description: Option<String>,
    pub channel: TicketChannel,
    pub guest_id: Option<String>,
    pub reservation_id: Option<String>,
    pub stay_id: Option<String>,
    pub room: Option<String>,
    pub assignee_id: Option<String>,
    pub acknowledge_due: DateTime<Utc>,
    pub resolve_due: DateTime<Utc>,
    pub hard_due: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
    pub breaches: Vec<Breach>,
    pub escalation_level: i32,
    pub escalated_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub first_resolved_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    pub resolution: Option<String>,
    pub compensation: Option<Compensation>,
    pub malicious: bool,
    pub malicious_note: Option<String>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn breaches_to_db(b: &[Breach]) -> StorageResult<String> {
    Ok(b.iter()
        .map(enum_to_db)
        .collect::<StorageResult<Vec<_>>>()?
        .join(","))
}

fn breaches_from_db(s: &str) -> StorageResult<Vec<Breach>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(enum_from_db)
        .collect()
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StorageError;
    fn try_from(r: TicketRow) -> StorageResult<Self> {
        Ok(Ticket {
            kind: enum_from_db(&r.kind)?,
            category: enum_from_db(&r.category)?,
            severity: enum_from_db(&r.severity)?,
            status: enum_from_db(&r.status)?,
            channel: enum_from_db(&r.channel)?,
            breaches: breaches_from_db(&r.breaches)?,
            compensation: r
                .compensation
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            id: r.id,
            org_id: r.org_id,
            property_id: r.property_id,
            priority: r.priority,
            vip: r.vip,
            subject: r.subject,
            description: r.description,
            guest_id: r.guest_id,
            reservation_id: r.reservation_id,
            stay_id: r.stay_id,
            room: r.room,
            assignee_id: r.assignee_id,
            acknowledge_due: from_db(r.acknowledge_due),
            resolve_due: from_db(r.resolve_due),
            hard_due: from_db(r.hard_due),
            next_due: r.next_due.map(from_db),
            escalation_level: r.escalation_level,
            escalated_at: r.escalated_at.map(from_db),
            acknowledged_at: r.acknowledged_at.map(from_db),
            first_resolved_at: r.first_resolved_at.map(from_db),
            resolved_at: r.resolved_at.map(from_db),
            closed_at: r.closed_at.map(from_db),
            reopen_count: r.reopen_count,
            resolution: r.resolution,
            malicious: r.malicious,
            malicious_note: r.malicious_note,
            version: r.version,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn to_row(t: &Ticket) -> StorageResult<TicketRow> {
    Ok(TicketRow {
        id: t.id.clone(),
        org_id: t.org_id.clone(),
        property_id: t.property_id.clone(),
        kind: enum_to_db(&t.kind)?,
        category: enum_to_db(&t.category)?,
        severity: enum_to_db(&t.severity)?,
        priority: t.priority,
        vip: t.vip,
        status: enum_to_db(&t.status)?,
        subject: t.subject.clone(),
        description: t.description.clone(),
        channel: enum_to_db(&t.channel)?,
        guest_id: t.guest_id.clone(),
        reservation_id: t.reservation_id.clone(),
        stay_id: t.stay_id.clone(),
        room: t.room.clone(),
        assignee_id: t.assignee_id.clone(),
        acknowledge_due: to_db(t.acknowledge_due),
        resolve_due: to_db(t.resolve_due),
        hard_due: to_db(t.hard_due),
        next_due: t.next_due.map(to_db),
        breaches: breaches_to_db(&t.breaches)?,
        escalation_level: t.escalation_level,
        escalated_at: t.escalated_at.map(to_db),
        acknowledged_at: t.acknowledged_at.map(to_db),
        first_resolved_at: t.first_resolved_at.map(to_db),
        resolved_at: t.resolved_at.map(to_db),
        closed_at: t.closed_at.map(to_db),
        reopen_count: t.reopen_count,
        resolution: t.resolution.clone(),
        compensation: t
            .compensation
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?,
        malicious: t.malicious,
        malicious_note: t.malicious_note.clone(),
        version: t.version,
        created_by: t.created_by.clone(),
        created_at: to_db(t.created_at),
        updated_at: to_db(t.updated_at),
    })
}

pub fn insert(conn: &mut DbConnection, t: &Ticket) -> StorageResult<()> {
    diesel::insert_into(tickets::table)
        .values(to_row(t)?)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Ticket> {
    tickets::table
        .filter(tickets::org_id.eq(org_id))
        .filter(tickets::id.eq(id))
        .select(TicketRow::as_select())
        .first(conn)?
        .try_into()
}

/// Writes `t` whole if its stored version is still `expected_version`.
pub fn update(conn: &mut DbConnection, t: &Ticket, expected_version: i32) -> StorageResult<()> {
    let n = diesel::update(
        tickets::table
            .filter(tickets::org_id.eq(&t.org_id))
            .filter(tickets::id.eq(&t.id))
            .filter(tickets::version.eq(expected_version)),
    )
    .set(to_row(t)?)
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub kind: Option<TicketKind>,
    pub category: Option<TicketCategory>,
    pub property_id: Option<String>,
    pub guest_id: Option<String>,
    pub assignee_id: Option<String>,
    /// Only tickets not yet resolved.
    pub open: Option<bool>,
    /// Only tickets that missed a deadline.
    pub breached: Option<bool>,
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    f: &TicketFilter,
    page: &PageRequest,
) -> StorageResult<Page<Ticket>> {
    let mut q = tickets::table
        .filter(tickets::org_id.eq(org_id.to_string()))
        .select(TicketRow::as_select())
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(tickets::status.eq(enum_to_db(&s)?));
    }
    if let Some(k) = f.kind {
        q = q.filter(tickets::kind.eq(enum_to_db(&k)?));
    }
    if let Some(c) = f.category {
        q = q.filter(tickets::category.eq(enum_to_db(&c)?));
    }
    if let Some(p) = &f.property_id {
        q = q.filter(tickets::property_id.eq(p.clone()));
    }
    if let Some(g) = &f.guest_id {
        q = q.filter(tickets::guest_id.eq(g.clone()));
    }
    if let Some(a) = &f.assignee_id {
        q = q.filter(tickets::assignee_id.eq(a.clone()));
    }
    let open_statuses: Vec<String> = [
        TicketStatus::New,
        TicketStatus::Acknowledged,
        TicketStatus::InProgress,
    ]
    .iter()
    .map(enum_to_db)
    .collect::<StorageResult<_>>()?;
    match f.open {
        Some(true) => q = q.filter(tickets::status.eq_any(open_statuses)),
        Some(false) => q = q.filter(tickets::status.ne_all(open_statuses)),
        None => {}
    }
    match f.breached {
        Some(true) => q = q.filter(tickets::breaches.ne("")),
        Some(false) => q = q.filter(tickets::breaches.eq("")),
        None => {}
    }
    let rows: Vec<TicketRow> = paginate!(q, tickets::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Ticket::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |t| t.id.clone()))
}

/// Tickets whose next deadline has come, soonest first: one range of the
/// partial `tickets_sla` index, whatever the number of open tickets.
pub fn due(
    conn: &mut DbConnection,
    org_id: &str,
    now: DateTime<Utc>,
    limit: i64,
) -> StorageResult<Vec<Ticket>> {
    let rows: Vec<TicketRow> = tickets::table
        .filter(tickets::org_id.eq(org_id))
        .filter(tickets::next_due.is_not_null())
        .filter(tickets::next_due.le(to_db(now)))
        .order(tickets::next_due.asc())
        .limit(limit)
        .select(TicketRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Ticket::try_from).collect()
}

/// The guest, property and reservation of a stay.
pub fn stay_owner(
    conn: &mut DbConnection,
    org_id: &str,
    stay_id: &str,
) -> StorageResult<Option<(String, String, String)>> {
    use crate::schema::stays;
    Ok(stays::table
        .filter(stays::org_id.eq(org_id))
        .filter(stays::id.eq(stay_id))
        .select((stays::guest_id, stays::property_id, stays::reservation_id))
        .first(conn)
        .optional()?)
}

/// Erasure: the guest's tickets keep their facts (category, times,
/// outcome: the KPIs) but lose their free text, and their comments too.
pub fn scrub_guest(conn: &mut DbConnection, org_id: &str, guest_id: &str) -> StorageResult<()> {
    let ids: Vec<String> = tickets::table
        .filter(tickets::org_id.eq(org_id))
        .filter(tickets::guest_id.eq(guest_id))
        .select(tickets::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(());
    }
    for chunk in ids.chunks(500) {
        diesel::update(
            tickets::table
                .filter(tickets::org_id.eq(org_id))
                .filter(tickets::id.eq_any(chunk)),
        )
        .set((
            tickets::subject.eq("(erased)"),
            tickets::description.eq(None::<String>),
            tickets::room.eq(None::<String>),
            tickets::resolution.eq(None::<String>),
            tickets::malicious_note.eq(None::<String>),
        ))
        .execute(conn)?;
        diesel::update(
            ticket_comments::table
                .filter(ticket_comments::org_id.eq(org_id))
                .filter(ticket_comments::ticket_id.eq_any(chunk)),
        )
        .set(ticket_comments::body.eq("(erased)"))
        .execute(conn)?;
        diesel::update(
            ticket_events::table
                .filter(ticket_events::org_id.eq(org_id))
                .filter(ticket_events::ticket_id.eq_any(chunk)),
        )
        .set(ticket_events::note.eq(None::<String>))
        .execute(conn)?;
    }
    Ok(())
}

/// Complaints of a guest judged malicious since `since`.
pub fn malicious_complaints(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    since: DateTime<Utc>,
) -> StorageResult<i64> {
    Ok(tickets::table
        .filter(tickets::org_id.eq(org_id))
        .filter(tickets::guest_id.eq(guest_id))
        .filter(tickets::malicious.eq(true))
        .filter(tickets::created_at.ge(to_db(since)))
        .count()
        .get_result(conn)?)
}

/// Unresolved complaints per guest, for the churn warning.
pub fn open_complaints(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
) -> StorageResult<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for chunk in guest_ids.chunks(500) {
        let rows: Vec<(Option<String>, i64)> = tickets::table
            .filter(tickets::org_id.eq(org_id))
            .filter(tickets::guest_id.eq_any(chunk))
            .filter(tickets::kind.eq("complaint"))
            .filter(tickets::status.eq_any(["new", "acknowledged", "in_progress"]))
            .group_by(tickets::guest_id)
            .select((tickets::guest_id, diesel::dsl::count_star()))
            .load(conn)?;
        for (g, n) in rows {
            if let Some(g) = g {
                out.insert(g, n);
            }
        }
    }
    Ok(out)
}

/// Guests whose complaints changed since `since` (the incremental insights
/// run recomputes them).
pub fn guests_with_tickets_since(
    conn: &mut DbConnection,
    org_id: &str,
    since: NaiveDateTime,
) -> StorageResult<Vec<String>> {
    let rows: Vec<Option<String>> = tickets::table
        .filter(tickets::org_id.eq(org_id))
        .filter(tickets::updated_at.ge(since))
        .filter(tickets::guest_id.is_not_null())
        .select(tickets::guest_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// The figures KPIs are computed from, for tickets created in a range.
#[derive(Debug, Clone)]
pub struct KpiFacts {
    pub property_id: String,
    pub assignee_id: Option<String>,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub first_resolved_at: Option<DateTime<Utc>>,
    pub resolve_due: DateTime<Utc>,
    pub reopen_count: i32,
    pub breached: bool,
}

type KpiRow = (
    String,
    Option<String>,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
    i32,
    String,
);

/// Tickets created from the start of `from` to the end of `to` (UTC days).
pub fn kpi_facts(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: Option<&str>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> StorageResult<Vec<KpiFacts>> {
    let start = from.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = to
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .unwrap_or_default();
    let mut q = tickets::table
        .filter(tickets::org_id.eq(org_id.to_string()))
        .filter(tickets::created_at.ge(start))
        .filter(tickets::created_at.le(end))
        .select((
            tickets::property_id,
            tickets::assignee_id,
            tickets::status,
            tickets::created_at,
            tickets::acknowledged_at,
            tickets::first_resolved_at,
            tickets::resolve_due,
            tickets::reopen_count,
            tickets::breaches,
        ))
        .into_boxed();
    if let Some(p) = property_id {
        q = q.filter(tickets::property_id.eq(p.to_string()));
    }
    let rows: Vec<KpiRow> = q.load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(KpiFacts {
                property_id: r.0,
                assignee_id: r.1,
                status: enum_from_db(&r.2)?,
                created_at: from_db(r.3),
                acknowledged_at: r.4.map(from_db),
                first_resolved_at: r.5.map(from_db),
                resolve_due: from_db(r.6),
                reopen_count: r.7,
                breached: !r.8.is_empty(),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_events)]
pub struct TicketEvent {
    pub id: String,
    pub org_id: String,
    pub ticket_id: String,
    /// created, acknowledged, started, resolved, closed, reopened,
    /// assigned, escalated, judged_malicious, updated
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor_kind: String,
    pub actor_id: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

impl TicketEvent {
    pub fn at(&self) -> DateTime<Utc> {
        from_db(self.created_at)
    }
}

#[allow(clippy::too_many_arguments)]
pub fn new_event(
    org_id: &str,
    ticket_id: &str,
    action: &str,
    from: Option<TicketStatus>,
    to: Option<TicketStatus>,
    actor: (&str, &str),
    note: Option<String>,
    now: DateTime<Utc>,
) -> TicketEvent {
    TicketEvent {
        id: crm_domain::id::new_id().to_string(),
        org_id: org_id.to_string(),
        ticket_id: ticket_id.to_string(),
        action: action.to_string(),
        from_status: from.map(|s| s.as_str().to_string()),
        to_status: to.map(|s| s.as_str().to_string()),
        actor_kind: actor.0.to_string(),
        actor_id: actor.1.to_string(),
        note,
        created_at: to_db(now),
    }
}

pub fn insert_events(conn: &mut DbConnection, events: &[TicketEvent]) -> StorageResult<()> {
    for chunk in events.chunks(500) {
        insert_many!(conn, ticket_events::table, chunk)?;
    }
    Ok(())
}

pub fn events_of(
    conn: &mut DbConnection,
    org_id: &str,
    ticket_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<TicketEvent>> {
    let q = ticket_events::table
        .filter(ticket_events::org_id.eq(org_id.to_string()))
        .filter(ticket_events::ticket_id.eq(ticket_id.to_string()))
        .select(TicketEvent::as_select())
        .into_boxed();
    let rows: Vec<TicketEvent> = paginate!(q, ticket_events::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |e| e.id.clone()))
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_comments)]
pub struct TicketComment {
    pub id: String,
    pub org_id: String,
    pub ticket_id: String,
    pub author_id: String,
    pub body: String,
    pub internal: bool,
    pub created_at: NaiveDateTime,
}

impl TicketComment {
    pub fn at(&self) -> DateTime<Utc> {
        from_db(self.created_at)
    }
}

pub fn insert_comment(conn: &mut DbConnection, c: &TicketComment) -> StorageResult<()> {
    diesel::insert_into(ticket_comments::table)
        .values(c)
        .execute(conn)?;
    Ok(())
}

pub fn comments_of(
    conn: &mut DbConnection,
    org_id: &str,
    ticket_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<TicketComment>> {
    let q = ticket_comments::table
        .filter(ticket_comments::org_id.eq(org_id.to_string()))
        .filter(ticket_comments::ticket_id.eq(ticket_id.to_string()))
        .select(TicketComment::as_select())
        .into_boxed();
    let rows: Vec<TicketComment> = paginate!(q, ticket_comments::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |c| c.id.clone()))
}

/// The organisation's targets, with the defaults for categories it did
/// not set.
pub fn sla_targets(
    conn: &mut DbConnection,
    org_id: &str,
) -> StorageResult<BTreeMap<TicketCategory, SlaTarget>> {
    let mut out: BTreeMap<TicketCategory, SlaTarget> = TicketCategory::ALL
        .iter()
        .map(|c| (*c, SlaTarget::default_for(*c)))
        .collect();
    let rows: Vec<(String, i32, i32, i32)> = ticket_sla_targets::table
        .filter(ticket_sla_targets::org_id.eq(org_id))
        .select((
            ticket_sla_targets::category,
            ticket_sla_targets::acknowledge_minutes,
            ticket_sla_targets::resolve_minutes,
            ticket_sla_targets::hard_limit_minutes,
        ))
        .load(conn)?;
    for (c, a, r, h) in rows {
        out.insert(
            enum_from_db(&c)?,
            SlaTarget {
                acknowledge_minutes: a,
                resolve_minutes: r,
                hard_limit_minutes: h,
            },
        );
    }
    Ok(out)
}

/// Replaces the organisation's targets with `targets` (all categories).
pub fn replace_sla_targets(
    conn: &mut DbConnection,
    org_id: &str,
    targets: &BTreeMap<TicketCategory, SlaTarget>,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    diesel::delete(ticket_sla_targets::table.filter(ticket_sla_targets::org_id.eq(org_id)))
        .execute(conn)?;
    let rows = targets
        .iter()
        .map(|(c, t)| {
            Ok((
                ticket_sla_targets::org_id.eq(org_id.to_string()),
                ticket_sla_targets::category.eq(enum_to_db(c)?),
                ticket_sla_targets::acknowledge_minutes.eq(t.acknowledge_minutes),
                ticket_sla_targets::resolve_minutes.eq(t.resolve_minutes),
                ticket_sla_targets::hard_limit_minutes.eq(t.hard_limit_minutes),
                ticket_sla_targets::updated_at.eq(to_db(now)),
            ))
        })
        .collect::<StorageResult<Vec<_>>>()?;
    insert_many!(conn, ticket_sla_targets::table, rows)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_notifications)]
pub struct Notification {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    /// ticket_escalated, ticket_assigned
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
    pub message: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

impl Notification {
    pub fn at(&self) -> DateTime<Utc> {
        from_db(self.created_at)
    }
    pub fn read(&self) -> Option<DateTime<Utc>> {
        self.read_at.map(from_db)
    }
}

pub fn new_notification(
    org_id: &str,
    user_id: &str,
    kind: &str,
    entity: (&str, &str),
    message: String,
    now: DateTime<Utc>,
) -> Notification {
    Notification {
        id: crm_domain::id::new_id().to_string(),
        org_id: org_id.to_string(),
        user_id: user_id.to_string(),
        kind: kind.to_string(),
        entity_type: entity.0.to_string(),
        entity_id: entity.1.to_string(),
        message,
        created_at: to_db(now),
        read_at: None,
    }
}

pub fn insert_notifications(conn: &mut DbConnection, n: &[Notification]) -> StorageResult<()> {
    for chunk in n.chunks(500) {
        insert_many!(conn, staff_notifications::table, chunk)?;
    }
    Ok(())
}

pub fn notifications_of(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    unread_only: bool,
    page: &PageRequest,
) -> StorageResult<Page<Notification>> {
    let mut q = staff_notifications::table
        .filter(staff_notifications::org_id.eq(org_id.to_string()))
        .filter(staff_notifications::user_id.eq(user_id.to_string()))
        .select(Notification::as_select())
        .into_boxed();
    if unread_only {
        q = q.filter(staff_notifications::read_at.is_null());
    }
    let rows: Vec<Notification> = paginate!(q, staff_notifications::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |n| n.id.clone()))
}

/// Marks one of the user's notifications read; false if it is not theirs.
pub fn mark_read(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StorageResult<Option<Notification>> {
    diesel::update(
        staff_notifications::table
            .filter(staff_notifications::org_id.eq(org_id))
            .filter(staff_notifications::user_id.eq(user_id))
            .filter(staff_notifications::id.eq(id))
            .filter(staff_notifications::read_at.is_null()),
    )
    .set(staff_notifications::read_at.eq(Some(to_db(now))))
    .execute(conn)?;
    staff_notifications::table
        .filter(staff_notifications::org_id.eq(org_id))
        .filter(staff_notifications::user_id.eq(user_id))
        .filter(staff_notifications::id.eq(id))
        .select(Notification::as_select())
        .first(conn)
        .optional()
        .map_err(Into::into)
}
