//! The audit log: who read or changed what, never the values of sensitive
//! fields.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::audit_events;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct AuditRow {
    id: String,
    org_id: String,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    request_id: Option<String>,
    changed_fields: String,
    created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub org_id: String,
    /// `user`, `client` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// Dotted verb, e.g. `guest.updated`, `identity_document.read`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub request_id: Option<String>,
    pub changed_fields: Vec<String>,
    pub created_at: DateTime<Utc>,
}

pub fn record(conn: &mut DbConnection, event: &AuditEvent) -> StorageResult<()> {
    diesel::insert_into(audit_events::table)
        .values(AuditRow {
            id: event.id.clone(),
            org_id: event.org_id.clone(),
            actor_kind: event.actor_kind.clone(),
            actor_id: event.actor_id.clone(),
            action: event.action.clone(),
            entity_type: event.entity_type.clone(),
            entity_id: event.entity_id.clone(),
            request_id: event.request_id.clone(),
            changed_fields: serde_json::to_string(&event.changed_fields)?,
            created_at: to_db(event.created_at),
        })
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub actor_id: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &AuditFilter,
    page: &PageRequest,
) -> StorageResult<Page<AuditEvent>> {
    let mut query = audit_events::table
        .filter(audit_events::org_id.eq(org_id.to_string()))
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(entity_id) = &filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(entity_id.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(actor_id) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor_id.clone()));
    }
    let rows: Vec<AuditRow> = paginate!(query, audit_events::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(AuditEvent {
                changed_fields: serde_json::from_str(&r.changed_fields)?,
                id: r.id,
                org_id: r.org_id,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                action: r.action,
                entity_type: r.entity_type,
                entity_id: r.entity_id,
                request_id: r.request_id,
                created_at: from_db(r.created_at),
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id.clone()))
}
