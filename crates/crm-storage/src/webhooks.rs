//! Webhook subscriptions, the event outbox and deliveries. Events are
//! written in the transaction of the change they announce, with one
//! delivery row per matching subscription; a worker sends them until they
//! are delivered or run out of attempts.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{webhook_deliveries, webhook_events, webhook_subscriptions};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
struct SubscriptionRow {
    id: String,
    org_id: String,
    url: String,
    secret_encrypted: String,
    event_types: String,
    active: bool,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub org_id: String,
    pub url: String,
    /// The signing secret, encrypted under the data key.
    pub secret_encrypted: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn sub_from(r: SubscriptionRow) -> StorageResult<Subscription> {
    Ok(Subscription {
        event_types: serde_json::from_str(&r.event_types)?,
        id: r.id,
        org_id: r.org_id,
        url: r.url,
        secret_encrypted: r.secret_encrypted,
        active: r.active,
        version: r.version,
        created_at: from_db(r.created_at),
        updated_at: from_db(r.updated_at),
    })
}

fn sub_row(s: &Subscription) -> StorageResult<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: s.id.clone(),
        org_id: s.org_id.clone(),
        url: s.url.clone(),
        secret_encrypted: s.secret_encrypted.clone(),
        event_types: serde_json::to_string(&s.event_types)?,
        active: s.active,
        version: s.version,
        created_at: to_db(s.created_at),
        updated_at: to_db(s.updated_at),
    })
}

pub fn insert_subscription(conn: &mut DbConnection, s: &Subscription) -> StorageResult<()> {
    diesel::insert_into(webhook_subscriptions::table)
        .values(sub_row(s)?)
        .execute(conn)?;
    Ok(())
}

pub fn find_subscription(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> StorageResult<Subscription> {
    sub_from(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::org_id.eq(org_id))
            .filter(webhook_subscriptions::id.eq(id))
            .select(SubscriptionRow::as_select())
            .first(conn)?,
    )
}

pub fn list_subscriptions(
    conn: &mut DbConnection,
    org_id: &str,
) -> StorageResult<Vec<Subscription>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::org_id.eq(org_id))
        .order(webhook_subscriptions::id.asc())
        .select(SubscriptionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(sub_from)
        .collect()
}

pub fn update_subscription(
    conn: &mut DbConnection,
    s: &Subscription,
    expected_version: i32,
) -> StorageResult<()> {
    let row = sub_row(s)?;
    let n = diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::org_id.eq(&s.org_id))
            .filter(webhook_subscriptions::id.eq(&s.id))
            .filter(webhook_subscriptions::version.eq(expected_version)),
    )
    .set((
        webhook_subscriptions::url.eq(row.url),
        webhook_subscriptions::event_types.eq(row.event_types),
        webhook_subscriptions::active.eq(row.active),
        webhook_subscriptions::version.eq(row.version),
        webhook_subscriptions::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

/// Writes the event and a pending delivery for each of `subscriptions`
/// (the organisation's, from [`list_subscriptions`]) that is active and
/// wants `event_type`.
#[allow(clippy::too_many_arguments)]
pub fn enqueue(
    conn: &mut DbConnection,
    subscriptions: &[Subscription],
    org_id: &str,
    event_id: &str,
    event_type: &str,
    entity_id: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    let subscribers: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| s.org_id == org_id)
        .filter(|s| s.active && s.event_types.iter().any(|t| t == event_type || t == "*"))
        .collect();
    if subscribers.is_empty() {
        return Ok(0);
    }
    diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::id.eq(event_id),
            webhook_events::org_id.eq(org_id),
            webhook_events::event_type.eq(event_type),
            webhook_events::entity_id.eq(entity_id),
            webhook_events::payload.eq(payload),
            webhook_events::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    for s in &subscribers {
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq(crm_domain::id::new_id().to_string()),
                webhook_deliveries::org_id.eq(org_id),
                webhook_deliveries::subscription_id.eq(&s.id),
                webhook_deliveries::event_id.eq(event_id),
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(to_db(now)),
                webhook_deliveries::created_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(subscribers.len())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub org_id: String,
    pub subscription_id: String,
    pub event_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A delivery due now, with what it needs to be sent.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: DeliveryRow,
    pub event_type: String,
    pub payload: String,
    pub url: String,
    pub secret_encrypted: String,
}

/// Is any delivery due? A plain read, so an idle worker does not open a
/// write transaction (on SQLite: take the writer lock) every poll.
pub fn any_due(conn: &mut DbConnection, now: DateTime<Utc>) -> StorageResult<bool> {
    let due: Option<String> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(to_db(now)))
        .select(webhook_deliveries::id)
        .first(conn)
        .optional()?;
    Ok(due.is_some())
}

/// Takes up to `limit` due deliveries of every organisation (the worker
/// serves all tenants; every row it then reads is filtered by the
/// delivery's own organisation), leasing each
/// until `lease_until` so that another node does not send it meanwhile.
pub fn lease_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StorageResult<Vec<DueDelivery>> {
    let due: Vec<DeliveryRow> = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(to_db(now)))
        .order(webhook_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for d in due {
        // Compare-and-set on the due time: the node that moves it owns it.
        let won = diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(&d.id))
                .filter(webhook_deliveries::next_attempt_at.eq(d.next_attempt_at)),
        )
        .set(webhook_deliveries::next_attempt_at.eq(to_db(lease_until)))
        .execute(conn)?
            == 1;
        if !won {
            continue;
        }
        let (event_type, payload): (String, String) = webhook_events::table
            .filter(webhook_events::org_id.eq(&d.org_id))
            .filter(webhook_events::id.eq(&d.event_id))
            .select((webhook_events::event_type, webhook_events::payload))
            .first(conn)?;
        let (url, secret_encrypted): (String, String) = webhook_subscriptions::table
            .filter(webhook_subscriptions::org_id.eq(&d.org_id))
            .filter(webhook_subscriptions::id.eq(&d.subscription_id))
            .select((
                webhook_subscriptions::url,
                webhook_subscriptions::secret_encrypted,
            ))
            .first(conn)?;
        out.push(DueDelivery {
            delivery: d,
            event_type,
            payload,
            url,
            secret_encrypted,
        });
    }
    Ok(out)
}

/// Records an attempt: delivered, retried at `next_attempt_at`, or failed
/// for good when `next_attempt_at` is `None`.
#[allow(clippy::too_many_arguments)]
pub fn record_attempt(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    delivered: bool,
    status_code: Option<i32>,
    error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let current: DeliveryRow = webhook_deliveries::table
        .filter(webhook_deliveries::org_id.eq(org_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)?;
    let status = match (delivered, next_attempt_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::org_id.eq(org_id))
            .filter(webhook_deliveries::id.eq(id)),
    )
    .set((
        webhook_deliveries::status.eq(status),
        webhook_deliveries::attempts.eq(current.attempts + 1),
        webhook_deliveries::last_status_code.eq(status_code),
        webhook_deliveries::last_error.eq(error),
        webhook_deliveries::next_attempt_at.eq(to_db(next_attempt_at.unwrap_or(now))),
        webhook_deliveries::delivered_at.eq(delivered.then(|| to_db(now))),
    ))
    .execute(conn)?;
    Ok(())
}

/// The delivery log of one subscription.
pub fn deliveries_of(
    conn: &mut DbConnection,
    org_id: &str,
    subscription_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<(DeliveryRow, String)>> {
    let query = webhook_deliveries::table
        .filter(webhook_deliveries::org_id.eq(org_id.to_string()))
        .filter(webhook_deliveries::subscription_id.eq(subscription_id.to_string()))
        .select(DeliveryRow::as_select())
        .into_boxed();
    let rows: Vec<DeliveryRow> = paginate!(query, webhook_deliveries::id, page).load(conn)?;
    let mut out = Vec::new();
    for r in rows {
        let event_type: String = webhook_events::table
            .filter(webhook_events::org_id.eq(org_id))
            .filter(webhook_events::id.eq(&r.event_id))
            .select(webhook_events::event_type)
            .first(conn)?;
        out.push((r, event_type));
    }
    Ok(Page::from_rows(out, page.limit, |(d, _)| d.id.clone()))
}

/// Every subscription's `(org_id, id, secret_encrypted)`, across
/// organisations, for the data-key rotation (a few per organisation).
pub fn secrets_for_rekey(conn: &mut DbConnection) -> StorageResult<Vec<(String, String, String)>> {
    Ok(webhook_subscriptions::table
        .order(webhook_subscriptions::id.asc())
        .select((
            webhook_subscriptions::org_id,
            webhook_subscriptions::id,
            webhook_subscriptions::secret_encrypted,
        ))
        .load(conn)?)
}

/// Stores a subscription's signing secret re-encrypted under a new key.
pub fn set_secret(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    secret_encrypted: &str,
) -> StorageResult<()> {
    diesel::update(
        webhook_subscriptions::table
            .filter(webhook_subscriptions::org_id.eq(org_id))
            .filter(webhook_subscriptions::id.eq(id)),
    )
    .set(webhook_subscriptions::secret_encrypted.eq(secret_encrypted))
    .execute(conn)?;
    Ok(())
}
