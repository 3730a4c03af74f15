//! Campaigns, their send (leased, resumable, bulk), coupon redemptions and
//! the bookings attributed to them.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::messages::OutboxMessage;
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{campaigns, coupon_redemptions, message_outbox, reservations};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::campaign::CampaignStatus;
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaigns)]
struct CampaignRow {
    id: String,
    org_id: String,
    name: String,
    description: Option<String>,
    segment_id: String,
    template_ids: String,
    property_id: Option<String>,
    status: String,
    scheduled_at: Option<NaiveDateTime>,
    started_at: Option<NaiveDateTime>,
    completed_at: Option<NaiveDateTime>,
    cancelled_at: Option<NaiveDateTime>,
    lease_until: Option<NaiveDateTime>,
    send_cursor: Option<String>,
    audience_count: i32,
    currency: String,
    budget_amount: Option<i64>,
    cost_amount: i64,
    offer: Option<String>,
    shared_code: Option<String>,
    total_limit: Option<i32>,
    redeemed_count: i32,
    attribution_days: i32,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    pub segment_id: String,
    pub template_ids: Vec<String>,
    /// The property the messages come from; `None`: the organisation's
    /// first.
    pub property_id: Option<String>,
    pub status: CampaignStatus,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// While sending: until when the node sending it holds it.
    pub lease_until: Option<DateTime<Utc>>,
    /// While sending: the last guest id done.
    pub send_cursor: Option<String>,
    /// Segment members considered so far (sent or suppressed).
    pub audience_count: i64,
    pub currency: String,
    pub budget_amount: Option<i64>,
    pub cost_amount: i64,
    /// The offer as written (JSON).
    pub offer: Option<serde_json::Value>,
    pub shared_code: Option<String>,
    pub total_limit: Option<i32>,
    pub redeemed_count: i32,
    pub attribution_days: i32,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn to_row(c: &Campaign) -> StorageResult<CampaignRow> {
    Ok(CampaignRow {
        id: c.id.clone(),
        org_id: c.org_id.clone(),
        name: c.name.clone(),
        description: c.description.clone(),
        segment_id: c.segment_id.clone(),
        template_ids: serde_json::to_string(&c.template_ids)?,
        property_id: c.property_id.clone(),
        status: enum_to_db(&c.status)?,
        scheduled_at: c.scheduled_at.map(to_db),
        started_at: c.started_at.map(to_db),
        completed_at: c.completed_at.map(to_db),
        cancelled_at: c.cancelled_at.map(to_db),
        lease_until: c.lease_until.map(to_db),
        send_cursor: c.send_cursor.clone(),
        audience_count: i32::try_from(c.audience_count).unwrap_or(i32::MAX),
        currency: c.currency.clone(),
        budget_amount: c.budget_amount,
        cost_amount: c.cost_amount,
        offer: c.offer.as_ref().map(serde_json::to_string).transpose()?,
        shared_code: c.shared_code.clone(),
        total_limit: c.total_limit,
        redeemed_count: c.redeemed_count,
        attribution_days: c.attribution_days,
        version: c.version,
        created_by: c.created_by.clone(),
        created_at: to_db(c.created_at),
        updated_at: to_db(c.updated_at),
    })
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = StorageError;
    fn try_from(r: CampaignRow) -> StorageResult<Self> {
        Ok(Campaign {
            template_ids: serde_json::from_str(&r.template_ids)?,
            status: enum_from_db(&r.status)?,
            offer: r.offer.as_deref().map(serde_json::from_str).transpose()?,
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            description: r.description,
            segment_id: r.segment_id,
            property_id: r.property_id,
            scheduled_at: r.scheduled_at.map(from_db),
            started_at: r.started_at.map(from_db),
            completed_at: r.completed_at.map(from_db),
            cancelled_at: r.cancelled_at.map(from_db),
            lease_until: r.lease_until.map(from_db),
            send_cursor: r.send_cursor,
            audience_count: i64::from(r.audience_count),
            currency: r.currency,
            budget_amount: r.budget_amount,
            cost_amount: r.cost_amount,
            shared_code: r.shared_code,
            total_limit: r.total_limit,
            redeemed_count: r.redeemed_count,
            attribution_days: r.attribution_days,
            version: r.version,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConnection, c: &Campaign) -> StorageResult<()> {
    diesel::insert_into(campaigns::table)
        .values(to_row(c)?)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<Campaign> {
    campaigns::table
        .filter(campaigns::org_id.eq(org))
        .filter(campaigns::id.eq(id))
        .select(CampaignRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list(
    conn: &mut DbConnection,
    org: &str,
    status: Option<CampaignStatus>,
    page: &PageRequest,
) -> StorageResult<Page<Campaign>> {
    let mut q = campaigns::table
        .filter(campaigns::org_id.eq(org.to_string()))
        .select(CampaignRow::as_select())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(campaigns::status.eq(enum_to_db(&s)?));
    }
    let rows: Vec<CampaignRow> = paginate!(q, campaigns::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Campaign::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id.clone()))
}

/// Writes what staff change (the definition, the status, the cost) if
/// the campaign is still at `expected_version`. The send's progress and
/// the redemption count are the sender's and the bookings': untouched.
pub fn update(conn: &mut DbConnection, c: &Campaign, expected_version: i32) -> StorageResult<()> {
    let r = to_row(c)?;
    let n = diesel::update(
        campaigns::table
            .filter(campaigns::org_id.eq(&c.org_id))
            .filter(campaigns::id.eq(&c.id))
            .filter(campaigns::version.eq(expected_version)),
    )
    .set((
        (
            campaigns::name.eq(r.name),
            campaigns::description.eq(r.description),
            campaigns::segment_id.eq(r.segment_id),
            campaigns::template_ids.eq(r.template_ids),
            campaigns::property_id.eq(r.property_id),
            campaigns::status.eq(r.status),
            campaigns::scheduled_at.eq(r.scheduled_at),
            campaigns::cancelled_at.eq(r.cancelled_at),
        ),
        (
            campaigns::currency.eq(r.currency),
            campaigns::budget_amount.eq(r.budget_amount),
            campaigns::cost_amount.eq(r.cost_amount),
            campaigns::offer.eq(r.offer),
            campaigns::shared_code.eq(r.shared_code),
            campaigns::total_limit.eq(r.total_limit),
            campaigns::attribution_days.eq(r.attribution_days),
            campaigns::version.eq(r.version),
            campaigns::updated_at.eq(r.updated_at),
        ),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

/// Whether a campaign targets the segment (it cannot be deleted then).
pub fn uses_segment(conn: &mut DbConnection, org: &str, segment_id: &str) -> StorageResult<bool> {
    Ok(campaigns::table
        .filter(campaigns::org_id.eq(org))
        .filter(campaigns::segment_id.eq(segment_id))
        .select(campaigns::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Campaigns of every organisation to send now: scheduled and due, or
/// sending with a lapsed lease (the node sending it stopped).
pub fn due(conn: &mut DbConnection, now: DateTime<Utc>) -> StorageResult<Vec<(String, String)>> {
    let now = to_db(now);
    Ok(campaigns::table
        .filter(
            campaigns::status
                .eq("scheduled")
                .and(campaigns::scheduled_at.le(now))
                .or(campaigns::status
                    .eq("sending")
                    .and(campaigns::lease_until.lt(now))),
        )
        .select((campaigns::org_id, campaigns::id))
        .load(conn)?)
}

/// Takes a campaign for sending until `lease`, if it is still what `c`
/// read (compare-and-set on the version): the winner sends.
pub fn claim(
    conn: &mut DbConnection,
    c: &Campaign,
    lease: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    Ok(diesel::update(
        campaigns::table
            .filter(campaigns::org_id.eq(&c.org_id))
            .filter(campaigns::id.eq(&c.id))
            .filter(campaigns::version.eq(c.version)),
    )
    .set((
        campaigns::status.eq("sending"),
        campaigns::lease_until.eq(Some(to_db(lease))),
        campaigns::started_at.eq(Some(to_db(c.started_at.unwrap_or(now)))),
        campaigns::version.eq(c.version + 1),
        campaigns::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?
        == 1)
}

/// Records a chunk sent: the cursor moves, the audience grows, the lease
/// is renewed. False when the campaign is no longer this sender's
/// (cancelled, or taken over after the lease lapsed).
pub fn advance(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
    lease: DateTime<Utc>,
    next_lease: DateTime<Utc>,
    cursor: &str,
    considered: i64,
) -> StorageResult<bool> {
    Ok(diesel::update(
        campaigns::table
            .filter(campaigns::org_id.eq(org))
            .filter(campaigns::id.eq(id))
            .filter(campaigns::status.eq("sending"))
            .filter(campaigns::lease_until.eq(to_db(lease))),
    )
    .set((
        campaigns::send_cursor.eq(Some(cursor)),
        campaigns::audience_count
            .eq(campaigns::audience_count + i32::try_from(considered).unwrap_or(i32::MAX)),
        campaigns::lease_until.eq(Some(to_db(next_lease))),
    ))
    .execute(conn)?
        == 1)
}

/// Ends a send that reached the end of the segment.
pub fn complete(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
    lease: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    Ok(diesel::update(
        campaigns::table
            .filter(campaigns::org_id.eq(org))
            .filter(campaigns::id.eq(id))
            .filter(campaigns::status.eq("sending"))
            .filter(campaigns::lease_until.eq(to_db(lease))),
    )
    .set((
        campaigns::status.eq("completed"),
        campaigns::completed_at.eq(Some(to_db(now))),
        campaigns::lease_until.eq(None::<NaiveDateTime>),
        campaigns::version.eq(campaigns::version + 1),
        campaigns::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?
        == 1)
}

/// Writes outbox rows, skipping guests the campaign already reached (a
/// resumed send); a personal code taken by another campaign is a
/// `Duplicate` error (the caller draws again). Returns the rows written.
///
/// On PostgreSQL one `INSERT … SELECT FROM unnest(…)` of column arrays:
/// 21 parameters whatever the row count, where a multi-row VALUES list
/// binds (and plans) 21 per row. On SQLite a prepared insert per row.
pub fn enqueue_many(conn: &mut DbConnection, rows: &[OutboxMessage]) -> StorageResult<usize> {
    use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamp};
    match conn {
        DbConnection::Postgresql(pg) => {
            if rows.is_empty() {
                return Ok(0);
            }
            let col = |f: fn(&OutboxMessage) -> String| rows.iter().map(f).collect::<Vec<_>>();
            let opt =
                |f: fn(&OutboxMessage) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
            let ts = |f: fn(&OutboxMessage) -> Option<NaiveDateTime>| {
                rows.iter().map(f).collect::<Vec<_>>()
            };
            Ok(diesel::sql_query(
                "INSERT INTO message_outbox (id, org_id, guest_id, property_id, template_id, \
                 trigger_kind, channel, recipient, subject, body, status, reason, dedupe_key, \
                 attempts, next_attempt_at, sent_at, last_error, created_at, campaign_id, \
                 coupon_code, delivered_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                 $12::text[], $13::text[], $14::integer[], $15::timestamp[], $16::timestamp[], \
                 $17::text[], $18::timestamp[], $19::text[], $20::text[], $21::timestamp[]) \
                 ON CONFLICT (org_id, dedupe_key) DO NOTHING",
            )
            .bind::<Array<Text>, _>(col(|m| m.id.clone()))
            .bind::<Array<Text>, _>(col(|m| m.org_id.clone()))
            .bind::<Array<Text>, _>(col(|m| m.guest_id.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.property_id.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.template_id.clone()))
            .bind::<Array<Text>, _>(col(|m| m.trigger_kind.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.channel.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.recipient.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.subject.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.body.clone()))
            .bind::<Array<Text>, _>(col(|m| m.status.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.reason.clone()))
            .bind::<Array<Text>, _>(col(|m| m.dedupe_key.clone()))
            .bind::<Array<Integer>, _>(rows.iter().map(|m| m.attempts).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|m| m.next_attempt_at).collect::<Vec<_>>())
            .bind::<Array<Nullable<Timestamp>>, _>(ts(|m| m.sent_at))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.last_error.clone()))
            .bind::<Array<Timestamp>, _>(rows.iter().map(|m| m.created_at).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.campaign_id.clone()))
            .bind::<Array<Nullable<Text>>, _>(opt(|m| m.coupon_code.clone()))
            .bind::<Array<Nullable<Timestamp>>, _>(ts(|m| m.delivered_at))
            .execute(pg)?)
        }
        DbConnection::Sqlite(sqlite) => {
            let mut n = 0;
            for row in rows {
                n += diesel::insert_into(message_outbox::table)
                    .values(row)
                    .on_conflict((message_outbox::org_id, message_outbox::dedupe_key))
                    .do_nothing()
                    .execute(sqlite)?;
            }
            Ok(n)
        }
    }
}

/// A cancelled campaign sends nothing more: its queued messages are
/// suppressed. Returns how many.
pub fn suppress_queued(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<usize> {
    Ok(diesel::update(
        message_outbox::table
            .filter(message_outbox::org_id.eq(org))
            .filter(message_outbox::campaign_id.eq(id))
            .filter(message_outbox::status.eq("queued")),
    )
    .set((
        message_outbox::status.eq("suppressed"),
        message_outbox::reason.eq(Some("campaign_cancelled")),
    ))
    .execute(conn)?)
}

/// The campaign's messages by status and reason, and how many of them the
/// provider confirmed delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// (status, reason) → count
    pub by_status: Vec<(String, Option<String>, i64)>,
    pub delivered: i64,
}

pub fn message_counts(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
) -> StorageResult<MessageCounts> {
    let by_status: Vec<(String, Option<String>, i64)> = message_outbox::table
        .filter(message_outbox::org_id.eq(org))
        .filter(message_outbox::campaign_id.eq(id))
        .group_by((message_outbox::status, message_outbox::reason))
        .select((
            message_outbox::status,
            message_outbox::reason,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let delivered = message_outbox::table
        .filter(message_outbox::org_id.eq(org))
        .filter(message_outbox::campaign_id.eq(id))
        .filter(message_outbox::delivered_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(MessageCounts {
        by_status,
        delivered,
    })
}

/// The campaign a personal code was sent for, and to whom.
pub fn personal_code(
    conn: &mut DbConnection,
    org: &str,
    code: &str,
) -> StorageResult<Option<(String, String)>> {
    Ok(message_outbox::table
        .filter(message_outbox::org_id.eq(org))
        .filter(message_outbox::coupon_code.eq(code))
        .select((
            message_outbox::campaign_id.assume_not_null(),
            message_outbox::guest_id,
        ))
        .first(conn)
        .optional()?)
}

pub fn by_shared_code(
    conn: &mut DbConnection,
    org: &str,
    code: &str,
) -> StorageResult<Option<Campaign>> {
    campaigns::table
        .filter(campaigns::org_id.eq(org))
        .filter(campaigns::shared_code.eq(code))
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?
        .map(Campaign::try_from)
        .transpose()
}

/// Counts one more redemption unless the total limit is reached. The row
/// lock it takes serialises the campaign's redemptions until commit, so
/// the per-guest count read after it is exact.
pub fn take_redemption(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<bool> {
    Ok(diesel::update(
        campaigns::table
            .filter(campaigns::org_id.eq(org))
            .filter(campaigns::id.eq(id))
            .filter(
                campaigns::total_limit
                    .is_null()
                    .or(campaigns::redeemed_count
                        .nullable()
                        .lt(campaigns::total_limit)
                        .assume_not_null()),
            ),
    )
    .set(campaigns::redeemed_count.eq(campaigns::redeemed_count + 1))
    .execute(conn)?
        == 1)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = coupon_redemptions)]
pub struct Redemption {
    pub id: String,
    pub org_id: String,
    pub campaign_id: String,
    pub guest_id: String,
    pub reservation_id: String,
    pub code: String,
    pub discount_amount: i64,
    pub currency: String,
    /// active, released
    pub status: String,
    pub created_at: NaiveDateTime,
    pub released_at: Option<NaiveDateTime>,
}

pub fn insert_redemption(conn: &mut DbConnection, r: &Redemption) -> StorageResult<()> {
    diesel::insert_into(coupon_redemptions::table)
        .values(r)
        .execute(conn)?;
    Ok(())
}

/// The guest's active redemptions of the campaign.
pub fn guest_redemptions(
    conn: &mut DbConnection,
    org: &str,
    campaign_id: &str,
    guest_id: &str,
) -> StorageResult<i64> {
    Ok(coupon_redemptions::table
        .filter(coupon_redemptions::org_id.eq(org))
        .filter(coupon_redemptions::campaign_id.eq(campaign_id))
        .filter(coupon_redemptions::guest_id.eq(guest_id))
        .filter(coupon_redemptions::status.eq("active"))
        .count()
        .get_result(conn)?)
}

pub fn redemption_of_reservation(
    conn: &mut DbConnection,
    org: &str,
    reservation_id: &str,
) -> StorageResult<Option<Redemption>> {
    Ok(coupon_redemptions::table
        .filter(coupon_redemptions::org_id.eq(org))
        .filter(coupon_redemptions::reservation_id.eq(reservation_id))
        .filter(coupon_redemptions::status.eq("active"))
        .select(Redemption::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_discount(
    conn: &mut DbConnection,
    org: &str,
    redemption_id: &str,
    amount: i64,
) -> StorageResult<()> {
    diesel::update(
        coupon_redemptions::table
            .filter(coupon_redemptions::org_id.eq(org))
            .filter(coupon_redemptions::id.eq(redemption_id)),
    )
    .set(coupon_redemptions::discount_amount.eq(amount))
    .execute(conn)?;
    Ok(())
}

/// A cancelled booking gives its code back: the redemption is released
/// and the campaign's count goes down. Returns the released redemption.
pub fn release(
    conn: &mut DbConnection,
    org: &str,
    reservation_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<Option<Redemption>> {
    let Some(r) = redemption_of_reservation(conn, org, reservation_id)? else {
        return Ok(None);
    };
    diesel::update(
        coupon_redemptions::table
            .filter(coupon_redemptions::org_id.eq(org))
            .filter(coupon_redemptions::id.eq(&r.id)),
    )
    .set((
        coupon_redemptions::status.eq("released"),
        coupon_redemptions::released_at.eq(Some(to_db(now))),
    ))
    .execute(conn)?;
    diesel::update(
        campaigns::table
            .filter(campaigns::org_id.eq(org))
            .filter(campaigns::id.eq(&r.campaign_id))
            .filter(campaigns::redeemed_count.gt(0)),
    )
    .set(campaigns::redeemed_count.eq(campaigns::redeemed_count - 1))
    .execute(conn)?;
    Ok(Some(r))
}

pub fn redemptions(
    conn: &mut DbConnection,
    org: &str,
    campaign_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Redemption>> {
    let q = coupon_redemptions::table
        .filter(coupon_redemptions::org_id.eq(org.to_string()))
        .filter(coupon_redemptions::campaign_id.eq(campaign_id.to_string()))
        .select(Redemption::as_select())
        .into_boxed();
    let rows: Vec<Redemption> = paginate!(q, coupon_redemptions::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |r| r.id.clone()))
}

/// A booking attributed to a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedBooking {
    pub reservation_id: String,
    pub currency: String,
    pub total_amount: i64,
    /// It used the campaign's code (else: booked by a recipient after the
    /// message reached them, within the window).
    pub redeemed: bool,
}

/// The campaign's bookings: those that used its code, and those its
/// recipients made after their message was sent and before `until` (the
/// end of the attribution window). Cancelled and no-show bookings do not
/// count.
pub fn attributed(
    conn: &mut DbConnection,
    org: &str,
    campaign_id: &str,
    until: DateTime<Utc>,
) -> StorageResult<Vec<AttributedBooking>> {
    let lost = ["cancelled", "no_show"];
    let redeemed: Vec<(String, String, i64)> = coupon_redemptions::table
        .inner_join(
            reservations::table.on(reservations::id
                .eq(coupon_redemptions::reservation_id)
                .and(reservations::org_id.eq(coupon_redemptions::org_id))),
        )
        .filter(coupon_redemptions::org_id.eq(org))
        .filter(coupon_redemptions::campaign_id.eq(campaign_id))
        .filter(coupon_redemptions::status.eq("active"))
        .filter(reservations::status.ne_all(lost))
        .select((
            reservations::id,
            reservations::currency,
            reservations::total_amount,
        ))
        .load(conn)?;
    let influenced: Vec<(String, String, i64)> = message_outbox::table
        .inner_join(
            reservations::table.on(reservations::guest_id
                .eq(message_outbox::guest_id)
                .and(reservations::org_id.eq(message_outbox::org_id))),
        )
        .filter(message_outbox::org_id.eq(org))
        .filter(message_outbox::campaign_id.eq(campaign_id))
        .filter(message_outbox::status.eq("sent"))
        .filter(
            reservations::created_at
                .nullable()
                .ge(message_outbox::sent_at),
        )
        .filter(reservations::created_at.lt(to_db(until)))
        .filter(reservations::status.ne_all(lost))
        .select((
            reservations::id,
            reservations::currency,
            reservations::total_amount,
        ))
        .load(conn)?;
    let mut out: HashMap<String, AttributedBooking> = HashMap::new();
    for (rows, redeemed) in [(influenced, false), (redeemed, true)] {
        for (id, currency, total) in rows {
            out.insert(
                id.clone(),
                AttributedBooking {
                    reservation_id: id,
                    currency,
                    total_amount: total,
                    redeemed,
                },
            );
        }
    }
    let mut v: Vec<AttributedBooking> = out.into_values().collect();
    v.sort_by(|a, b| a.reservation_id.cmp(&b.reservation_id));
    Ok(v)
}
