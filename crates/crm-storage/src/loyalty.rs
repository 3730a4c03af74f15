//! The loyalty programme, its tiers, rewards and members, and the points
//! ledger. Every change to a member's points goes through [`credit`] or
//! [`debit`]: both first move the balance on the member row, which on
//! PostgreSQL locks it, so lots are only ever touched by one transaction
//! per member at a time; on SQLite the single writer does the same.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{
    loyalty_members, loyalty_programs, loyalty_rewards, loyalty_tier_changes, loyalty_tiers,
    points_entries, points_lot_uses, points_lots, points_redemptions,
};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::loyalty::{
    consume, Benefit, EarnRates, EntryType, Lot, RewardKind, Rounding, Thresholds, TierChangeReason,
};
use diesel::prelude::*;

// ---------------------------------------------------------------- program

#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub org_id: String,
    pub name: String,
    /// The currency earn rates and spend thresholds are in; stays in any
    /// other currency count nights but earn nothing.
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

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = loyalty_programs, treat_none_as_null = true)]
struct ProgramRow {
    org_id: String,
    name: String,
    currency: String,
    expiry_months: Option<i32>,
    earn_rates: String,
    rounding: String,
    qualification_window_months: i32,
    review_period_months: i32,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

pub fn program(conn: &mut DbConnection, org_id: &str) -> StorageResult<Option<Program>> {
    let row: Option<ProgramRow> = loyalty_programs::table
        .filter(loyalty_programs::org_id.eq(org_id))
        .select(ProgramRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| {
        Ok(Program {
            org_id: r.org_id,
            name: r.name,
            currency: r.currency,
            expiry_months: r.expiry_months,
            earn_rates: serde_json::from_str(&r.earn_rates)?,
            rounding: enum_from_db(&r.rounding)?,
            qualification_window_months: r.qualification_window_months,
            review_period_months: r.review_period_months,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    })
    .transpose()
}

/// Inserts the programme, or updates it when the stored version is
/// `expected_version`.
pub fn save_program(
    conn: &mut DbConnection,
    p: &Program,
    expected_version: Option<i32>,
) -> StorageResult<()> {
    let row = ProgramRow {
        org_id: p.org_id.clone(),
        name: p.name.clone(),
        currency: p.currency.clone(),
        expiry_months: p.expiry_months,
        earn_rates: serde_json::to_string(&p.earn_rates)?,
        rounding: enum_to_db(&p.rounding)?,
        qualification_window_months: p.qualification_window_months,
        review_period_months: p.review_period_months,
        version: p.version,
        created_at: to_db(p.created_at),
        updated_at: to_db(p.updated_at),
    };
    match expected_version {
        None => {
            diesel::insert_into(loyalty_programs::table)
                .values(&row)
                .execute(conn)?;
        }
        Some(v) => {
            let n = diesel::update(
                loyalty_programs::table
                    .filter(loyalty_programs::org_id.eq(&p.org_id))
                    .filter(loyalty_programs::version.eq(v)),
            )
            .set(&row)
            .execute(conn)?;
            if n == 0 {
                return Err(StorageError::VersionConflict);
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ tiers

#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub id: String,
    pub org_id: String,
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

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = loyalty_tiers, treat_none_as_null = true)]
struct TierRow {
    id: String,
    org_id: String,
    code: String,
    name: String,
    rank: i32,
    qualification: String,
    retention: Option<String>,
    multiplier_percent: i32,
    benefits: String,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<TierRow> for Tier {
    type Error = StorageError;
    fn try_from(r: TierRow) -> StorageResult<Tier> {
        Ok(Tier {
            id: r.id,
            org_id: r.org_id,
            code: r.code,
            name: r.name,
            rank: r.rank,
            qualification: serde_json::from_str(&r.qualification)?,
            retention: r
                .retention
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            multiplier_percent: r.multiplier_percent,
            benefits: serde_json::from_str(&r.benefits)?,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn tier_row(t: &Tier) -> StorageResult<TierRow> {
    Ok(TierRow {
        id: t.id.clone(),
        org_id: t.org_id.clone(),
        code: t.code.clone(),
        name: t.name.clone(),
        rank: t.rank,
        qualification: serde_json::to_string(&t.qualification)?,
        retention: t
            .retention
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?,
        multiplier_percent: t.multiplier_percent,
        benefits: serde_json::to_string(&t.benefits)?,
        version: t.version,
        created_at: to_db(t.created_at),
        updated_at: to_db(t.updated_at),
    })
}

/// The organisation's tiers, lowest rank first.
pub fn tiers(conn: &mut DbConnection, org_id: &str) -> StorageResult<Vec<Tier>> {
    let rows: Vec<TierRow> = loyalty_tiers::table
        .filter(loyalty_tiers::org_id.eq(org_id))
        .order(loyalty_tiers::rank.asc())
        .select(TierRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Tier::try_from).collect()
}

pub fn insert_tier(conn: &mut DbConnection, t: &Tier) -> StorageResult<()> {
    diesel::insert_into(loyalty_tiers::table)
        .values(tier_row(t)?)
        .execute(conn)?;
    Ok(())
}

pub fn update_tier(conn: &mut DbConnection, t: &Tier, expected_version: i32) -> StorageResult<()> {
    let n = diesel::update(
        loyalty_tiers::table
            .filter(loyalty_tiers::org_id.eq(&t.org_id))
            .filter(loyalty_tiers::id.eq(&t.id))
            .filter(loyalty_tiers::version.eq(expected_version)),
    )
    .set(tier_row(t)?)
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

// ---------------------------------------------------------------- rewards

#[derive(Debug, Clone, PartialEq)]
pub struct Reward {
    pub id: String,
    pub org_id: String,
    pub code: String,
    pub name: String,
    pub kind: RewardKind,
    pub points_price: i64,
    /// `None`: unlimited.
    pub stock: Option<i32>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = loyalty_rewards, treat_none_as_null = true)]
struct RewardRow {
    id: String,
    org_id: String,
    code: String,
    name: String,
    kind: String,
    points_price: i64,
    stock: Option<i32>,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    active: bool,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<RewardRow> for Reward {
    type Error = StorageError;
    fn try_from(r: RewardRow) -> StorageResult<Reward> {
        Ok(Reward {
            id: r.id,
            org_id: r.org_id,
            code: r.code,
            name: r.name,
            kind: enum_from_db(&r.kind)?,
            points_price: r.points_price,
            stock: r.stock,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            active: r.active,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn reward_row(r: &Reward) -> StorageResult<RewardRow> {
    Ok(RewardRow {
        id: r.id.clone(),
        org_id: r.org_id.clone(),
        code: r.code.clone(),
        name: r.name.clone(),
        kind: enum_to_db(&r.kind)?,
        points_price: r.points_price,
        stock: r.stock,
        valid_from: r.valid_from,
        valid_until: r.valid_until,
        active: r.active,
        version: r.version,
        created_at: to_db(r.created_at),
        updated_at: to_db(r.updated_at),
    })
}

pub fn insert_reward(conn: &mut DbConnection, r: &Reward) -> StorageResult<()> {
    diesel::insert_into(loyalty_rewards::table)
        .values(reward_row(r)?)
        .execute(conn)?;
    Ok(())
}

pub fn update_reward(
    conn: &mut DbConnection,
    r: &Reward,
    expected_version: i32,
) -> StorageResult<()> {
    let n = diesel::update(
        loyalty_rewards::table
            .filter(loyalty_rewards::org_id.eq(&r.org_id))
            .filter(loyalty_rewards::id.eq(&r.id))
            .filter(loyalty_rewards::version.eq(expected_version)),
    )
    .set(reward_row(r)?)
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

pub fn find_reward(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Reward> {
    loyalty_rewards::table
        .filter(loyalty_rewards::org_id.eq(org_id))
        .filter(loyalty_rewards::id.eq(id))
        .select(RewardRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list_rewards(
    conn: &mut DbConnection,
    org_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Reward>> {
    let query = loyalty_rewards::table
        .filter(loyalty_rewards::org_id.eq(org_id.to_string()))
        .select(RewardRow::as_select())
        .into_boxed();
    let rows: Vec<RewardRow> = paginate!(query, loyalty_rewards::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Reward::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |r| r.id.clone()))
}

/// Takes `quantity` from a limited stock; false when too few are left.
/// Unlimited rewards always succeed. Negative `quantity` gives stock back.
pub fn take_stock(
    conn: &mut DbConnection,
    org_id: &str,
    reward_id: &str,
    quantity: i32,
) -> StorageResult<bool> {
    let limited = loyalty_rewards::table
        .filter(loyalty_rewards::org_id.eq(org_id))
        .filter(loyalty_rewards::id.eq(reward_id))
        .filter(loyalty_rewards::stock.is_not_null());
    let n = diesel::update(limited.filter(loyalty_rewards::stock.ge(quantity)))
        .set(loyalty_rewards::stock.eq(loyalty_rewards::stock - quantity))
        .execute(conn)?;
    if n == 1 {
        return Ok(true);
    }
    // Unlimited, or too few left?
    let stock: Option<i32> = loyalty_rewards::table
        .filter(loyalty_rewards::org_id.eq(org_id))
        .filter(loyalty_rewards::id.eq(reward_id))
        .select(loyalty_rewards::stock)
        .first(conn)?;
    Ok(stock.is_none())
}

// ---------------------------------------------------------------- members

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub member_number: String,
    pub tier_id: String,
    pub source: String,
    pub joined_on: NaiveDate,
    pub tier_since: NaiveDate,
    pub next_review_on: NaiveDate,
    pub points_balance: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = loyalty_members)]
struct MemberRow {
    id: String,
    org_id: String,
    guest_id: String,
    member_number: String,
    tier_id: String,
    source: String,
    joined_on: NaiveDate,
    tier_since: NaiveDate,
    next_review_on: NaiveDate,
    points_balance: i64,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Member {
        Member {
            id: r.id,
            org_id: r.org_id,
            guest_id: r.guest_id,
            member_number: r.member_number,
            tier_id: r.tier_id,
            source: r.source,
            joined_on: r.joined_on,
            tier_since: r.tier_since,
            next_review_on: r.next_review_on,
            points_balance: r.points_balance,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        }
    }
}

pub fn insert_member(conn: &mut DbConnection, m: &Member) -> StorageResult<()> {
    diesel::insert_into(loyalty_members::table)
        .values(MemberRow {
            id: m.id.clone(),
            org_id: m.org_id.clone(),
            guest_id: m.guest_id.clone(),
            member_number: m.member_number.clone(),
            tier_id: m.tier_id.clone(),
            source: m.source.clone(),
            joined_on: m.joined_on,
            tier_since: m.tier_since,
            next_review_on: m.next_review_on,
            points_balance: m.points_balance,
            version: m.version,
            created_at: to_db(m.created_at),
            updated_at: to_db(m.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn member_of_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Option<Member>> {
    Ok(loyalty_members::table
        .filter(loyalty_members::org_id.eq(org_id))
        .filter(loyalty_members::guest_id.eq(guest_id))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?
        .map(Member::from))
}

/// Members whose review date has come, after `after_id`, in id order.
pub fn members_due_review(
    conn: &mut DbConnection,
    org_id: &str,
    today: NaiveDate,
    after_id: &str,
    limit: i64,
) -> StorageResult<Vec<Member>> {
    let rows: Vec<MemberRow> = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org_id))
        .filter(loyalty_members::next_review_on.le(today))
        .filter(loyalty_members::id.gt(after_id))
        .order(loyalty_members::id.asc())
        .limit(limit)
        .select(MemberRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Member::from).collect())
}

/// Moves the member to `tier_id` (or keeps it) and sets the next review.
pub fn set_tier(
    conn: &mut DbConnection,
    m: &Member,
    tier_id: &str,
    tier_since: NaiveDate,
    next_review_on: NaiveDate,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    diesel::update(
        loyalty_members::table
            .filter(loyalty_members::org_id.eq(&m.org_id))
            .filter(loyalty_members::id.eq(&m.id)),
    )
    .set((
        loyalty_members::tier_id.eq(tier_id),
        loyalty_members::tier_since.eq(tier_since),
        loyalty_members::next_review_on.eq(next_review_on),
        loyalty_members::version.eq(loyalty_members::version + 1),
        loyalty_members::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct TierChange {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub from_tier_id: Option<String>,
    pub to_tier_id: String,
    pub reason: TierChangeReason,
    pub note: Option<String>,
    pub actor_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = loyalty_tier_changes)]
struct TierChangeRow {
    id: String,
    org_id: String,
    member_id: String,
    from_tier_id: Option<String>,
    to_tier_id: String,
    reason: String,
    note: Option<String>,
    actor_id: Option<String>,
    created_at: NaiveDateTime,
}

pub fn insert_tier_change(conn: &mut DbConnection, c: &TierChange) -> StorageResult<()> {
    diesel::insert_into(loyalty_tier_changes::table)
        .values(TierChangeRow {
            id: c.id.clone(),
            org_id: c.org_id.clone(),
            member_id: c.member_id.clone(),
            from_tier_id: c.from_tier_id.clone(),
            to_tier_id: c.to_tier_id.clone(),
            reason: enum_to_db(&c.reason)?,
            note: c.note.clone(),
            actor_id: c.actor_id.clone(),
            created_at: to_db(c.created_at),
        })
        .execute(conn)?;
    Ok(())
}

/// The member's tier history, oldest first (at most the latest 100).
pub fn tier_changes(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
) -> StorageResult<Vec<TierChange>> {
    let mut rows: Vec<TierChangeRow> = loyalty_tier_changes::table
        .filter(loyalty_tier_changes::org_id.eq(org_id))
        .filter(loyalty_tier_changes::member_id.eq(member_id))
        .order(loyalty_tier_changes::id.desc())
        .limit(100)
        .select(TierChangeRow::as_select())
        .load(conn)?;
    rows.reverse();
    rows.into_iter()
        .map(|r| {
            Ok(TierChange {
                id: r.id,
                org_id: r.org_id,
                member_id: r.member_id,
                from_tier_id: r.from_tier_id,
                to_tier_id: r.to_tier_id,
                reason: enum_from_db(&r.reason)?,
                note: r.note,
                actor_id: r.actor_id,
                created_at: from_db(r.created_at),
            })
        })
        .collect()
}

// ----------------------------------------------------------------- ledger

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub entry_type: EntryType,
    /// Positive credits, negative debits.
    pub points: i64,
    /// What caused it: `stay`, `reservation`, `reward`, `redemption`,
    /// `campaign`, `ticket`, `guest`, `user`, `job`…
    pub source_type: String,
    pub source_id: Option<String>,
    pub reason: Option<String>,
    /// Entries sharing a key are one and the same: a repeat is refused.
    pub dedupe_key: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = points_entries)]
struct EntryRow {
    id: String,
    org_id: String,
    member_id: String,
    entry_type: String,
    points: i64,
    source_type: String,
    source_id: Option<String>,
    reason: Option<String>,
    dedupe_key: Option<String>,
    created_by: Option<String>,
    created_at: NaiveDateTime,
}

impl TryFrom<EntryRow> for Entry {
    type Error = StorageError;
    fn try_from(r: EntryRow) -> StorageResult<Entry> {
        Ok(Entry {
            id: r.id,
            org_id: r.org_id,
            member_id: r.member_id,
            entry_type: enum_from_db(&r.entry_type)?,
            points: r.points,
            source_type: r.source_type,
            source_id: r.source_id,
            reason: r.reason,
            dedupe_key: r.dedupe_key,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
        })
    }
}

fn insert_entry(conn: &mut DbConnection, e: &Entry) -> StorageResult<()> {
    diesel::insert_into(points_entries::table)
        .values(EntryRow {
            id: e.id.clone(),
            org_id: e.org_id.clone(),
            member_id: e.member_id.clone(),
            entry_type: enum_to_db(&e.entry_type)?,
            points: e.points,
            source_type: e.source_type.clone(),
            source_id: e.source_id.clone(),
            reason: e.reason.clone(),
            dedupe_key: e.dedupe_key.clone(),
            created_by: e.created_by.clone(),
            created_at: to_db(e.created_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_entry_by_key(
    conn: &mut DbConnection,
    org_id: &str,
    dedupe_key: &str,
) -> StorageResult<Option<Entry>> {
    points_entries::table
        .filter(points_entries::org_id.eq(org_id))
        .filter(points_entries::dedupe_key.eq(dedupe_key))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?
        .map(Entry::try_from)
        .transpose()
}

/// Adds `delta` to the member's balance unless that would take it below
/// zero; false when it would. This UPDATE is what serialises concurrent
/// spends of one member.
fn move_balance(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
    delta: i64,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    let n = diesel::update(
        loyalty_members::table
            .filter(loyalty_members::org_id.eq(org_id))
            .filter(loyalty_members::id.eq(member_id))
            .filter(loyalty_members::points_balance.ge(-delta)),
    )
    .set((
        loyalty_members::points_balance.eq(loyalty_members::points_balance + delta),
        loyalty_members::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Insertable)]
#[diesel(table_name = points_lots)]
struct LotRow<'a> {
    id: String,
    org_id: &'a str,
    member_id: &'a str,
    entry_id: &'a str,
    points: i64,
    remaining: i64,
    expires_on: Option<NaiveDate>,
    expired_entry_id: Option<String>,
    created_at: NaiveDateTime,
}

/// Posts a credit (`e.points > 0`) as one lot expiring on `expires_on`.
pub fn credit(
    conn: &mut DbConnection,
    e: &Entry,
    expires_on: Option<NaiveDate>,
) -> StorageResult<()> {
    credit_lots(conn, e, &[(e.points, expires_on)])
}

/// Posts a credit made of several lots (a cancelled redemption gives back
/// each lot it drew on with that lot's expiry).
pub fn credit_lots(
    conn: &mut DbConnection,
    e: &Entry,
    lots: &[(i64, Option<NaiveDate>)],
) -> StorageResult<()> {
    debug_assert_eq!(lots.iter().map(|(p, _)| p).sum::<i64>(), e.points);
    if e.points <= 0 || lots.iter().any(|(p, _)| *p <= 0) {
        return Err(StorageError::Corrupt("a credit must be positive".into()));
    }
    insert_entry(conn, e)?;
    move_balance(conn, &e.org_id, &e.member_id, e.points, e.created_at)?;
    for (points, expires_on) in lots {
        diesel::insert_into(points_lots::table)
            .values(LotRow {
                id: crm_domain::id::new_id().to_string(),
                org_id: &e.org_id,
                member_id: &e.member_id,
                entry_id: &e.id,
                points: *points,
                remaining: *points,
                expires_on: *expires_on,
                expired_entry_id: None,
                created_at: to_db(e.created_at),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Posts a debit (`e.points < 0`), drawing on the soonest-expiring lots
/// (`prefer_lot` first, when given). False, and nothing written, when the
/// balance is short.
pub fn debit(
    conn: &mut DbConnection,
    e: &Entry,
    prefer_lot_of: Option<&str>,
) -> StorageResult<bool> {
    if e.points >= 0 {
        return Err(StorageError::Corrupt("a debit must be negative".into()));
    }
    if !move_balance(conn, &e.org_id, &e.member_id, e.points, e.created_at)? {
        return Ok(false);
    }
    insert_entry(conn, e)?;
    let lots: Vec<Lot> = open_lots(conn, &e.org_id, &e.member_id)?
        .into_iter()
        .map(|(mut lot, credited_by)| {
            // The lot of the preferred entry goes first: treat it as
            // expiring soonest.
            if prefer_lot_of == Some(credited_by.as_str()) {
                lot.expires_on = Some(NaiveDate::MIN);
            }
            lot
        })
        .collect();
    let taken = consume(&lots, -e.points).ok_or_else(|| {
        StorageError::Corrupt(format!(
            "member {}: lots hold less than the balance",
            e.member_id
        ))
    })?;
    use_lots(conn, &e.org_id, &e.id, &taken)?;
    Ok(true)
}

/// The member's lots with points left, each with the entry that credited it.
fn open_lots(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
) -> StorageResult<Vec<(Lot, String)>> {
    let rows: Vec<(String, i64, Option<NaiveDate>, String)> = points_lots::table
        .filter(points_lots::org_id.eq(org_id))
        .filter(points_lots::member_id.eq(member_id))
        .filter(points_lots::remaining.gt(0))
        .order(points_lots::id.asc())
        .select((
            points_lots::id,
            points_lots::remaining,
            points_lots::expires_on,
            points_lots::entry_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, remaining, expires_on, entry_id)| {
            (
                Lot {
                    id,
                    remaining,
                    expires_on,
                },
                entry_id,
            )
        })
        .collect())
}

#[derive(Insertable)]
#[diesel(table_name = points_lot_uses)]
struct LotUseRow<'a> {
    org_id: &'a str,
    entry_id: &'a str,
    lot_id: &'a str,
    points: i64,
}

fn use_lots(
    conn: &mut DbConnection,
    org_id: &str,
    entry_id: &str,
    taken: &[(String, i64)],
) -> StorageResult<()> {
    for (lot_id, n) in taken {
        diesel::update(
            points_lots::table
                .filter(points_lots::org_id.eq(org_id))
                .filter(points_lots::id.eq(lot_id)),
        )
        .set(points_lots::remaining.eq(points_lots::remaining - *n))
        .execute(conn)?;
    }
    let rows: Vec<LotUseRow> = taken
        .iter()
        .map(|(lot_id, n)| LotUseRow {
            org_id,
            entry_id,
            lot_id,
            points: *n,
        })
        .collect();
    insert_lot_uses(conn, &rows)
}

fn insert_lot_uses(conn: &mut DbConnection, rows: &[LotUseRow]) -> StorageResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    crate::db::insert_many!(conn, points_lot_uses::table, rows)?;
    Ok(())
}

/// The points and expiry of each lot a debit drew on.
pub fn lots_used_by(
    conn: &mut DbConnection,
    org_id: &str,
    entry_id: &str,
) -> StorageResult<Vec<(i64, Option<NaiveDate>)>> {
    Ok(points_lot_uses::table
        .inner_join(points_lots::table.on(points_lots::id.eq(points_lot_uses::lot_id)))
        .filter(points_lot_uses::org_id.eq(org_id))
        .filter(points_lot_uses::entry_id.eq(entry_id))
        .order(points_lots::id.asc())
        .select((points_lot_uses::points, points_lots::expires_on))
        .load(conn)?)
}

/// The member's statement, oldest first.
pub fn entries(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Entry>> {
    let query = points_entries::table
        .filter(points_entries::org_id.eq(org_id.to_string()))
        .filter(points_entries::member_id.eq(member_id.to_string()))
        .select(EntryRow::as_select())
        .into_boxed();
    let rows: Vec<EntryRow> = paginate!(query, points_entries::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Entry::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id.clone()))
}

/// Every entry (type and points) the member has for one source, e.g. a
/// stay's earnings and their reversals.
pub fn source_totals(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
    source_type: &str,
    source_id: &str,
) -> StorageResult<Vec<(EntryType, i64)>> {
    let rows: Vec<(String, i64)> = points_entries::table
        .filter(points_entries::org_id.eq(org_id))
        .filter(points_entries::member_id.eq(member_id))
        .filter(points_entries::source_type.eq(source_type))
        .filter(points_entries::source_id.eq(source_id))
        .select((points_entries::entry_type, points_entries::points))
        .load(conn)?;
    rows.into_iter()
        .map(|(t, p)| Ok((enum_from_db(&t)?, p)))
        .collect()
}

/// `(expiry date, points left)` of the member's lots that expire after
/// `today` and on or before `until`.
pub fn expiring(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
    today: NaiveDate,
    until: NaiveDate,
) -> StorageResult<Vec<(NaiveDate, i64)>> {
    let rows: Vec<(Option<NaiveDate>, i64)> = points_lots::table
        .filter(points_lots::org_id.eq(org_id))
        .filter(points_lots::member_id.eq(member_id))
        .filter(points_lots::remaining.gt(0))
        .filter(points_lots::expires_on.gt(today))
        .filter(points_lots::expires_on.le(until))
        .select((points_lots::expires_on, points_lots::remaining))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, n)| d.map(|d| (d, n)))
        .collect())
}

// ------------------------------------------------------------ redemptions

#[derive(Debug, Clone, PartialEq)]
pub struct Redemption {
    pub id: String,
    pub org_id: String,
    pub member_id: String,
    pub reward_id: Option<String>,
    pub quantity: i32,
    pub points: i64,
    pub description: String,
    /// `completed` or `cancelled`.
    pub status: String,
    pub entry_id: String,
    pub cancel_entry_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = points_redemptions)]
struct RedemptionRow {
    id: String,
    org_id: String,
    member_id: String,
    reward_id: Option<String>,
    quantity: i32,
    points: i64,
    description: String,
    status: String,
    entry_id: String,
    cancel_entry_id: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    cancelled_at: Option<NaiveDateTime>,
}

pub fn insert_redemption(conn: &mut DbConnection, r: &Redemption) -> StorageResult<()> {
    diesel::insert_into(points_redemptions::table)
        .values(RedemptionRow {
            id: r.id.clone(),
            org_id: r.org_id.clone(),
            member_id: r.member_id.clone(),
            reward_id: r.reward_id.clone(),
            quantity: r.quantity,
            points: r.points,
            description: r.description.clone(),
            status: r.status.clone(),
            entry_id: r.entry_id.clone(),
            cancel_entry_id: r.cancel_entry_id.clone(),
            created_by: r.created_by.clone(),
            created_at: to_db(r.created_at),
            cancelled_at: r.cancelled_at.map(to_db),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_redemption(
    conn: &mut DbConnection,
    org_id: &str,
    member_id: &str,
    id: &str,
) -> StorageResult<Redemption> {
    let r: RedemptionRow = points_redemptions::table
        .filter(points_redemptions::org_id.eq(org_id))
        .filter(points_redemptions::member_id.eq(member_id))
        .filter(points_redemptions::id.eq(id))
        .select(RedemptionRow::as_select())
        .first(conn)?;
    Ok(Redemption {
        id: r.id,
        org_id: r.org_id,
        member_id: r.member_id,
        reward_id: r.reward_id,
        quantity: r.quantity,
        points: r.points,
        description: r.description,
        status: r.status,
        entry_id: r.entry_id,
        cancel_entry_id: r.cancel_entry_id,
        created_by: r.created_by,
        created_at: from_db(r.created_at),
        cancelled_at: r.cancelled_at.map(from_db),
    })
}

/// Marks a completed redemption cancelled; false if it already was.
pub fn cancel_redemption(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    cancel_entry_id: &str,
    now: DateTime<Utc>,
) -> StorageResult<bool> {
    let n = diesel::update(
        points_redemptions::table
            .filter(points_redemptions::org_id.eq(org_id))
            .filter(points_redemptions::id.eq(id))
            .filter(points_redemptions::status.eq("completed")),
    )
    .set((
        points_redemptions::status.eq("cancelled"),
        points_redemptions::cancel_entry_id.eq(cancel_entry_id),
        points_redemptions::cancelled_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

// ------------------------------------------------------------------- jobs

/// What one expiry batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryBatch {
    pub lots: usize,
    pub points: i64,
    /// Where the next batch starts (members are taken in id order);
    /// `None` when nothing was due.
    pub next_member: Option<String>,
}

/// One batch of the expiry job for an organisation: up to `limit` lots
/// with points left whose expiry date is on or before `today`, of members
/// from `from_member` on, become one `expire` entry per member; each lot
/// names that entry. On SQLite (one writer, statements are function calls)
/// member by member; on PostgreSQL set-based.
pub fn expire_batch(
    conn: &mut DbConnection,
    org_id: &str,
    today: NaiveDate,
    from_member: &str,
    limit: i64,
    now: DateTime<Utc>,
) -> StorageResult<ExpiryBatch> {
    // Starting at the last batch's member skips the index entries of lots
    // already expired (dead until vacuumed), which every batch would
    // otherwise walk again.
    let due: Vec<(String, String)> = points_lots::table
        .filter(points_lots::org_id.eq(org_id))
        .filter(points_lots::member_id.ge(from_member))
        .filter(points_lots::remaining.gt(0))
        .filter(points_lots::expires_on.le(today))
        // Member order (the member index) keeps a member's lots together:
        // one expire entry and one balance update per member and batch.
        .order(points_lots::member_id.asc())
        .limit(limit)
        .select((points_lots::id, points_lots::member_id))
        .load(conn)?;
    let Some(last) = due.last().map(|(_, m)| m.clone()) else {
        return Ok(ExpiryBatch {
            lots: 0,
            points: 0,
            next_member: None,
        });
    };
    let mut members: Vec<String> = due.iter().map(|(_, m)| m.clone()).collect();
    members.sort();
    members.dedup();
    let (lots, points) = match conn {
        // Every due lot of these members, including any past `limit`:
        // a member's lots stay in one entry.
        DbConnection::Postgresql(pg) => expire_batch_pg(pg, org_id, &members, today, now)?,
        DbConnection::Sqlite(sqlite) => expire_batch_sqlite(sqlite, org_id, due, today, now)?,
    };
    Ok(ExpiryBatch {
        lots,
        points,
        next_member: Some(last),
    })
}

fn expire_batch_sqlite(
    sqlite: &mut diesel::SqliteConnection,
    org_id: &str,
    due: Vec<(String, String)>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StorageResult<(usize, i64)> {
    let lot_ids: Vec<String> = due.into_iter().map(|(id, _)| id).collect();
    let lots: Vec<(String, String, i64)> = points_lots::table
        .filter(points_lots::org_id.eq(org_id))
        .filter(points_lots::id.eq_any(&lot_ids))
        .filter(points_lots::remaining.gt(0))
        .select((
            points_lots::id,
            points_lots::member_id,
            points_lots::remaining,
        ))
        .load(sqlite)?;
    let mut per_member: std::collections::BTreeMap<&str, (String, i64, Vec<&str>)> =
        Default::default();
    for (lot, member, remaining) in &lots {
        let slot = per_member
            .entry(member.as_str())
            .or_insert_with(|| (crm_domain::id::new_id().to_string(), 0, Vec::new()));
        slot.1 += remaining;
        slot.2.push(lot);
    }
    let entry_type = enum_to_db(&EntryType::Expire)?;
    for (member, (entry_id, points, member_lots)) in &per_member {
        diesel::insert_into(points_entries::table)
            .values(EntryRow {
                id: entry_id.clone(),
                org_id: org_id.to_string(),
                member_id: member.to_string(),
                entry_type: entry_type.clone(),
                points: -points,
                source_type: "job".into(),
                source_id: Some("points-expiry".into()),
                reason: Some(format!("points expired on or before {today}")),
                dedupe_key: None,
                created_by: None,
                created_at: to_db(now),
            })
            .execute(sqlite)?;
        diesel::update(
            loyalty_members::table
                .filter(loyalty_members::org_id.eq(org_id))
                .filter(loyalty_members::id.eq(*member)),
        )
        .set(loyalty_members::points_balance.eq(loyalty_members::points_balance - *points))
        .execute(sqlite)?;
        diesel::update(
            points_lots::table
                .filter(points_lots::org_id.eq(org_id))
                .filter(points_lots::id.eq_any(member_lots)),
        )
        .set((
            points_lots::remaining.eq(0),
            points_lots::expired_entry_id.eq(entry_id),
        ))
        .execute(sqlite)?;
    }
    Ok((lots.len(), lots.iter().map(|(_, _, n)| n).sum()))
}

/// The expiry batch on PostgreSQL, two statements: lock the members (as
/// every debit does), then one statement that reads what is left of their
/// due lots (after the lock, so a redemption committed meanwhile is
/// accounted for), zeroes them naming the expire entry, and writes one
/// expire entry per member and the balances.
fn expire_batch_pg(
    pg: &mut diesel::PgConnection,
    org_id: &str,
    members: &[String],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StorageResult<(usize, i64)> {
    use diesel::sql_types::{Array, BigInt, Date, Text, Timestamp};
    diesel::sql_query(
        "SELECT id FROM loyalty_members WHERE org_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
    )
    .bind::<Text, _>(org_id)
    .bind::<Array<Text>, _>(members)
    .execute(pg)?;
    // UUIDv7 entry ids from here, one per member, so statements keep their
    // time order; members with nothing left get none.
    let entry_ids: Vec<String> = members
        .iter()
        .map(|_| crm_domain::id::new_id().to_string())
        .collect();
    #[derive(QueryableByName)]
    struct Expired {
        #[diesel(sql_type = BigInt)]
        lots: i64,
        #[diesel(sql_type = BigInt)]
        points: i64,
    }
    let out: Expired = diesel::sql_query(
        "WITH due AS ( \
             SELECT l.id, l.member_id, l.remaining, t.entry_id \
             FROM points_lots l JOIN unnest($2::text[], $3::text[]) AS t (member_id, entry_id) \
                  ON l.member_id = t.member_id \
             WHERE l.org_id = $1 AND l.remaining > 0 AND l.expires_on <= $4 \
         ), per_member AS ( \
             SELECT member_id, entry_id, CAST(sum(remaining) AS BIGINT) AS points \
             FROM due GROUP BY member_id, entry_id \
         ), zeroed AS ( \
             UPDATE points_lots l SET remaining = 0, expired_entry_id = t.entry_id \
             FROM unnest($2::text[], $3::text[]) AS t (member_id, entry_id) \
             WHERE l.org_id = $1 AND l.member_id = t.member_id AND l.remaining > 0 \
                 AND l.expires_on <= $4 \
         ), new_entries AS ( \
             INSERT INTO points_entries (id, org_id, member_id, entry_type, points, source_type, \
                 source_id, reason, dedupe_key, created_by, created_at) \
             SELECT entry_id, $1, member_id, $5, -points, 'job', 'points-expiry', $6, NULL, NULL, $7 \
             FROM per_member \
         ), balances AS ( \
             UPDATE loyalty_members m SET points_balance = m.points_balance - p.points \
             FROM per_member p WHERE m.org_id = $1 AND m.id = p.member_id \
         ) \
         SELECT CAST(count(*) AS BIGINT) AS lots, CAST(coalesce(sum(remaining), 0) AS BIGINT) AS points \
         FROM due",
    )
    .bind::<Text, _>(org_id)
    .bind::<Array<Text>, _>(members)
    .bind::<Array<Text>, _>(&entry_ids)
    .bind::<Date, _>(today)
    .bind::<Text, _>(enum_to_db(&EntryType::Expire)?)
    .bind::<Text, _>(format!("points expired on or before {today}"))
    .bind::<Timestamp, _>(to_db(now))
    .get_result(pg)?;
    Ok((usize::try_from(out.lots).unwrap_or(0), out.points))
}

/// A member whose stored balance disagrees with its ledger or its lots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub member_id: String,
    pub balance: i64,
    pub ledger: i64,
    pub lots: i64,
}

/// Recomputes every member's balance from the ledger and from the lots.
pub fn audit(conn: &mut DbConnection, org_id: &str) -> StorageResult<(usize, Vec<Discrepancy>)> {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    let balances: Vec<(String, i64)> = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org_id))
        .select((loyalty_members::id, loyalty_members::points_balance))
        .load(conn)?;
    // SUM of BIGINT is NUMERIC on PostgreSQL: cast it back.
    let ledger: std::collections::HashMap<String, i64> = points_entries::table
        .filter(points_entries::org_id.eq(org_id))
        .group_by(points_entries::member_id)
        .select((
            points_entries::member_id,
            sql::<BigInt>("CAST(SUM(points_entries.points) AS BIGINT)"),
        ))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let lots: std::collections::HashMap<String, i64> = points_lots::table
        .filter(points_lots::org_id.eq(org_id))
        .group_by(points_lots::member_id)
        .select((
            points_lots::member_id,
            sql::<BigInt>("CAST(SUM(points_lots.remaining) AS BIGINT)"),
        ))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let checked = balances.len();
    let wrong = balances
        .into_iter()
        .filter_map(|(member_id, balance)| {
            let l = ledger.get(&member_id).copied().unwrap_or(0);
            let k = lots.get(&member_id).copied().unwrap_or(0);
            (l != balance || k != balance).then_some(Discrepancy {
                member_id,
                balance,
                ledger: l,
                lots: k,
            })
        })
        .collect();
    Ok((checked, wrong))
}

/// Per member (guest id, member number, tier id): the points left in lots
/// expiring on `on` (the points-expiring reminders).
pub fn expiring_on(
    conn: &mut DbConnection,
    org_id: &str,
    on: NaiveDate,
) -> StorageResult<Vec<(String, String, String, i64)>> {
    let rows: Vec<(String, i64)> = points_lots::table
        .filter(points_lots::org_id.eq(org_id))
        .filter(points_lots::expires_on.eq(on))
        .filter(points_lots::remaining.gt(0))
        .select((points_lots::member_id, points_lots::remaining))
        .load(conn)?;
    let mut sums: std::collections::BTreeMap<String, i64> = Default::default();
    for (m, r) in rows {
        *sums.entry(m).or_default() += r;
    }
    let mut out = Vec::new();
    for chunk in sums.keys().cloned().collect::<Vec<_>>().chunks(500) {
        let members: Vec<(String, String, String, String)> = loyalty_members::table
            .filter(loyalty_members::org_id.eq(org_id))
            .filter(loyalty_members::id.eq_any(chunk))
            .select((
                loyalty_members::id,
                loyalty_members::guest_id,
                loyalty_members::member_number,
                loyalty_members::tier_id,
            ))
            .load(conn)?;
        for (id, guest, number, tier) in members {
            out.push((guest, number, tier, sums.get(&id).copied().unwrap_or(0)));
        }
    }
    Ok(out)
}

/// Each tier's rank (higher is better), by tier id.
pub fn tier_ranks(
    conn: &mut DbConnection,
    org_id: &str,
) -> StorageResult<std::collections::HashMap<String, i32>> {
    use crate::schema::loyalty_tiers;
    Ok(loyalty_tiers::table
        .filter(loyalty_tiers::org_id.eq(org_id))
        .select((loyalty_tiers::id, loyalty_tiers::rank))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect())
}
