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
