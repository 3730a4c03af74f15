//! Message templates and the triggers each property sends.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::{insert_many, DbConnection};
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{message_templates, property_message_triggers};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::message::{MessageChannel, MessageTrigger};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = message_templates)]
struct TemplateRow {
    id: String,
    org_id: String,
    name: String,
    trigger_kind: String,
    channel: String,
    language: String,
    subject: Option<String>,
    body: String,
    active: bool,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageTemplate {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub trigger: MessageTrigger,
    pub channel: MessageChannel,
    /// `zh`, `en`, `zh-Hant` …
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<TemplateRow> for MessageTemplate {
    type Error = StorageError;
    fn try_from(r: TemplateRow) -> StorageResult<Self> {
        Ok(MessageTemplate {
            trigger: enum_from_db(&r.trigger_kind)?,
            channel: enum_from_db(&r.channel)?,
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            language: r.language,
            subject: r.subject,
            body: r.body,
            active: r.active,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn row(t: &MessageTemplate) -> StorageResult<TemplateRow> {
    Ok(TemplateRow {
        id: t.id.clone(),
        org_id: t.org_id.clone(),
        name: t.name.clone(),
        trigger_kind: enum_to_db(&t.trigger)?,
        channel: enum_to_db(&t.channel)?,
        language: t.language.clone(),
        subject: t.subject.clone(),
        body: t.body.clone(),
        active: t.active,
        version: t.version,
        created_at: to_db(t.created_at),
        updated_at: to_db(t.updated_at),
    })
}

pub fn insert_template(conn: &mut DbConnection, t: &MessageTemplate) -> StorageResult<()> {
    diesel::insert_into(message_templates::table)
        .values(row(t)?)
        .execute(conn)?;
    Ok(())
}

pub fn update_template(
    conn: &mut DbConnection,
    t: &MessageTemplate,
    expected_version: i32,
) -> StorageResult<()> {
    let r = row(t)?;
    let n = diesel::update(
        message_templates::table
            .filter(message_templates::org_id.eq(&t.org_id))
            .filter(message_templates::id.eq(&t.id))
            .filter(message_templates::version.eq(expected_version)),
    )
    .set((
        message_templates::name.eq(r.name),
        message_templates::language.eq(r.language),
        message_templates::subject.eq(r.subject),
        message_templates::body.eq(r.body),
        message_templates::active.eq(r.active),
        message_templates::version.eq(r.version),
        message_templates::updated_at.eq(r.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

pub fn find_template(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> StorageResult<MessageTemplate> {
    message_templates::table
        .filter(message_templates::org_id.eq(org_id))
        .filter(message_templates::id.eq(id))
        .select(TemplateRow::as_select())
        .first(conn)?
        .try_into()
}

#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub trigger: Option<MessageTrigger>,
    pub channel: Option<MessageChannel>,
    pub language: Option<String>,
}

pub fn list_templates(
    conn: &mut DbConnection,
    org_id: &str,
    f: &TemplateFilter,
    page: &PageRequest,
) -> StorageResult<Page<MessageTemplate>> {
    let mut q = message_templates::table
        .filter(message_templates::org_id.eq(org_id.to_string()))
        .select(TemplateRow::as_select())
        .into_boxed();
    if let Some(t) = f.trigger {
        q = q.filter(message_templates::trigger_kind.eq(enum_to_db(&t)?));
    }
    if let Some(c) = f.channel {
        q = q.filter(message_templates::channel.eq(enum_to_db(&c)?));
    }
    if let Some(l) = &f.language {
        q = q.filter(message_templates::language.eq(l.clone()));
    }
    let rows: Vec<TemplateRow> = paginate!(q, message_templates::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(MessageTemplate::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |t| t.id.clone()))
}

/// A property's switch for one trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSetting {
    pub trigger: MessageTrigger,
    pub enabled: bool,
    /// Pre-arrival and points-expiring: how many days before.
    pub days_before: Option<i32>,
}

/// Every trigger's setting for a property: stored, or the default (on;
/// pre-arrival 3 days before, points 30 days before they expire).
pub fn triggers_of(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
) -> StorageResult<Vec<TriggerSetting>> {
    let stored: Vec<(String, bool, Option<i32>)> = property_message_triggers::table
        .filter(property_message_triggers::org_id.eq(org_id))
        .filter(property_message_triggers::property_id.eq(property_id))
        .select((
            property_message_triggers::trigger_kind,
            property_message_triggers::enabled,
            property_message_triggers::days_before,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for trigger in MessageTrigger::ALL {
        if trigger == MessageTrigger::Campaign {
            continue;
        }
        let name = enum_to_db(&trigger)?;
        let default_days = match trigger {
            MessageTrigger::PreArrival => Some(3),
            MessageTrigger::PointsExpiring => Some(30),
            _ => None,
        };
        let setting = match stored.iter().find(|(t, _, _)| *t == name) {
            Some((_, enabled, days)) => TriggerSetting {
                trigger,
                enabled: *enabled,
                days_before: days.or(default_days),
            },
            None => TriggerSetting {
                trigger,
                enabled: true,
                days_before: default_days,
            },
        };
        out.push(setting);
    }
    Ok(out)
}

pub fn replace_triggers(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
    settings: &[TriggerSetting],
    now: DateTime<Utc>,
) -> StorageResult<()> {
    diesel::delete(
        property_message_triggers::table
            .filter(property_message_triggers::org_id.eq(org_id))
            .filter(property_message_triggers::property_id.eq(property_id)),
    )
    .execute(conn)?;
    let rows = settings
        .iter()
        .map(|s| {
            Ok((
                property_message_triggers::org_id.eq(org_id.to_string()),
                property_message_triggers::property_id.eq(property_id.to_string()),
                property_message_triggers::trigger_kind.eq(enum_to_db(&s.trigger)?),
                property_message_triggers::enabled.eq(s.enabled),
                property_message_triggers::days_before.eq(s.days_before),
                property_message_triggers::updated_at.eq(to_db(now)),
            ))
        })
        .collect::<StorageResult<Vec<_>>>()?;
    insert_many!(conn, property_message_triggers::table, rows)?;
    Ok(())
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = crate::schema::message_outbox)]
pub struct OutboxMessage {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub property_id: Option<String>,
    pub template_id: Option<String>,
    pub trigger_kind: String,
    pub channel: Option<String>,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// queued, sent, failed, suppressed
    pub status: String,
    pub reason: Option<String>,
    pub dedupe_key: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub campaign_id: Option<String>,
    /// The recipient's own campaign code.
    pub coupon_code: Option<String>,
    /// Confirmed by the provider.
    pub delivered_at: Option<NaiveDateTime>,
}

/// Writes a message unless one with its dedupe key exists; false then.
pub fn enqueue(conn: &mut DbConnection, m: &OutboxMessage) -> StorageResult<bool> {
    use crate::schema::message_outbox;
    let exists = message_outbox::table
        .filter(message_outbox::org_id.eq(&m.org_id))
        .filter(message_outbox::dedupe_key.eq(&m.dedupe_key))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(message_outbox::table)
        .values(m)
        .execute(conn)?;
    Ok(true)
}

/// The organisation's active templates of a trigger (every channel and
/// language).
pub fn active_templates(
    conn: &mut DbConnection,
    org_id: &str,
    trigger: MessageTrigger,
) -> StorageResult<Vec<MessageTemplate>> {
    message_templates::table
        .filter(message_templates::org_id.eq(org_id))
        .filter(message_templates::trigger_kind.eq(enum_to_db(&trigger)?))
        .filter(message_templates::active.eq(true))
        .order(message_templates::id.asc())
        .select(TemplateRow::as_select())
        .load(conn)?
        .into_iter()
        .map(MessageTemplate::try_from)
        .collect()
}

/// Whether a property sends a trigger's messages.
pub fn trigger_enabled(
    conn: &mut DbConnection,
    org_id: &str,
    property_id: &str,
    trigger: MessageTrigger,
) -> StorageResult<bool> {
    Ok(triggers_of(conn, org_id, property_id)?
        .into_iter()
        .find(|s| s.trigger == trigger)
        .is_none_or(|s| s.enabled))
}

/// Takes up to `limit` due messages of every organisation, leasing each
/// until `lease_until`: on PostgreSQL in one `UPDATE … FOR UPDATE SKIP
/// LOCKED`, on SQLite (one writer) by compare-and-set on the due time.
pub fn lease_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StorageResult<Vec<OutboxMessage>> {
    use crate::schema::message_outbox;
    if let DbConnection::Postgresql(pg) = conn {
        // One statement: rows another node holds are skipped, not waited
        // for, and each taken row is leased as it is read.
        use diesel::sql_types::{BigInt, Timestamp};
        return Ok(diesel::sql_query(
            "UPDATE message_outbox SET next_attempt_at = $1 WHERE id IN \
             (SELECT id FROM message_outbox WHERE status = 'queued' AND next_attempt_at <= $2 \
              ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *",
        )
        .bind::<Timestamp, _>(to_db(lease_until))
        .bind::<Timestamp, _>(to_db(now))
        .bind::<BigInt, _>(limit)
        .load(pg)?);
    }
    let due: Vec<OutboxMessage> = message_outbox::table
        .filter(message_outbox::status.eq("queued"))
        .filter(message_outbox::next_attempt_at.le(to_db(now)))
        .order(message_outbox::next_attempt_at.asc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for m in due {
        let won = diesel::update(
            message_outbox::table
                .filter(message_outbox::id.eq(&m.id))
                .filter(message_outbox::status.eq("queued"))
                .filter(message_outbox::next_attempt_at.eq(m.next_attempt_at)),
        )
        .set(message_outbox::next_attempt_at.eq(to_db(lease_until)))
        .execute(conn)?
            == 1;
        if won {
            out.push(m);
        }
    }
    Ok(out)
}

/// Records a send attempt: sent, retried at `retry_at`, or failed.
/// `delivered`: the provider confirms delivery as it accepts (the log
/// provider); others confirm later with a receipt.
#[allow(clippy::too_many_arguments)]
pub fn record_attempt(
    conn: &mut DbConnection,
    m: &OutboxMessage,
    sent: bool,
    delivered: bool,
    error: Option<String>,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    use crate::schema::message_outbox;
    let status = match (sent, retry_at) {
        (true, _) => "sent",
        (false, Some(_)) => "queued",
        (false, None) => "failed",
    };
    diesel::update(
        message_outbox::table
            .filter(message_outbox::org_id.eq(&m.org_id))
            .filter(message_outbox::id.eq(&m.id)),
    )
    .set((
        message_outbox::status.eq(status),
        message_outbox::attempts.eq(m.attempts + 1),
        message_outbox::last_error.eq(error),
        message_outbox::next_attempt_at.eq(to_db(retry_at.unwrap_or(now))),
        message_outbox::sent_at.eq(sent.then(|| to_db(now))),
        message_outbox::delivered_at.eq((sent && delivered).then(|| to_db(now))),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records messages the provider accepted, in one statement: `sent`
/// (and `delivered` too, where the provider's acceptance is delivery).
pub fn record_sent(
    conn: &mut DbConnection,
    ids: &[String],
    delivered: bool,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    use crate::schema::message_outbox;
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(message_outbox::table.filter(message_outbox::id.eq_any(ids)))
        .set((
            message_outbox::status.eq("sent"),
            message_outbox::attempts.eq(message_outbox::attempts + 1),
            message_outbox::last_error.eq(None::<String>),
            message_outbox::next_attempt_at.eq(to_db(now)),
            message_outbox::sent_at.eq(Some(to_db(now))),
            message_outbox::delivered_at.eq(delivered.then(|| to_db(now))),
        ))
        .execute(conn)?;
    Ok(())
}

/// A provider's delivery receipt: `delivered` stamps the time; a bounce
/// makes a sent message failed. False for an unknown or unsent message.
pub fn record_receipt(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    delivered: bool,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    use crate::schema::message_outbox;
    let target = message_outbox::table
        .filter(message_outbox::org_id.eq(org_id))
        .filter(message_outbox::id.eq(id))
        .filter(message_outbox::status.eq("sent"));
    let n = if delivered {
        diesel::update(target)
            .set(message_outbox::delivered_at.eq(Some(to_db(now))))
            .execute(conn)?
    } else {
        diesel::update(target)
            .set((
                message_outbox::status.eq("failed"),
                message_outbox::last_error.eq(Some("bounced")),
                message_outbox::delivered_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?
    };
    Ok(n == 1)
}

pub fn messages_of_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<OutboxMessage>> {
    use crate::schema::message_outbox;
    let q = message_outbox::table
        .filter(message_outbox::org_id.eq(org_id.to_string()))
        .filter(message_outbox::guest_id.eq(guest_id.to_string()))
        .select(OutboxMessage::as_select())
        .into_boxed();
    let rows: Vec<OutboxMessage> = paginate!(q, message_outbox::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |m| m.id.clone()))
}

/// Erasure: the guest's messages lose their address and text, and those
/// not yet sent are not sent.
pub fn scrub_guest(conn: &mut DbConnection, org_id: &str, guest_id: &str) -> StorageResult<()> {
    use crate::schema::message_outbox;
    diesel::update(
        message_outbox::table
            .filter(message_outbox::org_id.eq(org_id))
            .filter(message_outbox::guest_id.eq(guest_id))
            .filter(message_outbox::status.eq("queued")),
    )
    .set((
        message_outbox::status.eq("suppressed"),
        message_outbox::reason.eq(Some("guest_excluded")),
    ))
    .execute(conn)?;
    diesel::update(
        message_outbox::table
            .filter(message_outbox::org_id.eq(org_id))
            .filter(message_outbox::guest_id.eq(guest_id)),
    )
    .set((
        message_outbox::recipient.eq(None::<String>),
        message_outbox::subject.eq(None::<String>),
        message_outbox::body.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Is any message due? A plain read, so an idle worker takes no write
/// transaction (on SQLite: the writer lock) every poll.
pub fn any_due(conn: &mut DbConnection, now: DateTime<Utc>) -> StorageResult<bool> {
    use crate::schema::message_outbox;
    let due: Option<String> = message_outbox::table
        .filter(message_outbox::status.eq("queued"))
        .filter(message_outbox::next_attempt_at.le(to_db(now)))
        .select(message_outbox::id)
        .first(conn)
        .optional()?;
    Ok(due.is_some())
}

fn marketing_kinds() -> StorageResult<Vec<String>> {
    MessageTrigger::ALL
        .into_iter()
        .filter(|t| t.is_marketing())
        .map(|t| enum_to_db(&t))
        .collect()
}

/// Marketing messages (birthday, points expiring, campaigns) sent or
/// queued to each of these guests since `since`, in one query: the
/// frequency cap counts them. Guests with none are absent.
pub fn marketing_counts_since(
    conn: &mut DbConnection,
    org_id: &str,
    guest_ids: &[String],
    since: DateTime<Utc>,
) -> StorageResult<std::collections::HashMap<String, i64>> {
    use crate::schema::message_outbox;
    let rows: Vec<(String, i64)> = message_outbox::table
        .filter(message_outbox::org_id.eq(org_id))
        .filter(message_outbox::guest_id.eq_any(guest_ids))
        .filter(message_outbox::trigger_kind.eq_any(marketing_kinds()?))
        .filter(message_outbox::status.eq_any(["queued", "sent"]))
        .filter(message_outbox::created_at.ge(to_db(since)))
        .group_by(message_outbox::guest_id)
        .select((message_outbox::guest_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}
