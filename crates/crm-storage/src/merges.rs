//! Guest merges: moving everything a guest owns to another guest, recording
//! exactly what moved, and moving it back on unmerge.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::{
    account_guests, coupon_redemptions, guest_consents, guest_identity_documents, guest_insights,
    guest_merges, guest_stats, guest_stay_months, loyalty_members, loyalty_tier_changes,
    message_outbox, points_entries, points_lots, points_redemptions, reservations, reviews, stays,
    survey_invitations, survey_responses, tickets,
};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The ids of every row a merge moved from the loser to the survivor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    pub reservations: Vec<String>,
    pub stays: Vec<String>,
    pub identity_documents: Vec<String>,
    pub consents: Vec<String>,
    pub tickets: Vec<String>,
    pub messages: Vec<String>,
    pub survey_invitations: Vec<String>,
    pub survey_responses: Vec<String>,
    pub reviews: Vec<String>,
    pub coupon_redemptions: Vec<String>,
    /// Accounts (协议客户) the loser was linked to and the survivor was not.
    pub accounts: Vec<String>,
    /// Tags the survivor did not have.
    pub tags_added: Vec<String>,
    pub membership: Option<MovedMembership>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MovedMembership {
    /// Only the loser was a member: the membership itself moved.
    Whole { member_id: String },
    /// Both were members: the loser's ledger (entries, lots, redemptions,
    /// tier history) moved to the survivor's membership with its balance;
    /// the survivor took the better tier.
    Folded {
        survivor_member_id: String,
        loser_member_id: String,
        points: i64,
        entries: Vec<String>,
        lots: Vec<String>,
        redemptions: Vec<String>,
        tier_changes: Vec<String>,
        survivor_tier_before: String,
        survivor_tier_since_before: NaiveDate,
        tier_taken: bool,
    },
}

/// Moves the rows of `table` with `guest_id = from` to `to`; returns their
/// ids.
macro_rules! move_rows {
    ($conn:expr, $t:ident, $org:expr, $from:expr, $to:expr) => {{
        let ids: Vec<String> = $t::table
            .filter($t::org_id.eq($org))
            .filter($t::guest_id.eq($from))
            .select($t::id)
            .load($conn)?;
        for chunk in ids.chunks(500) {
            diesel::update(
                $t::table
                    .filter($t::org_id.eq($org))
                    .filter($t::id.eq_any(chunk)),
            )
            .set($t::guest_id.eq($to))
            .execute($conn)?;
        }
        ids
    }};
}

/// Moves the rows of `table` with these ids to guest `to`.
macro_rules! move_back {
    ($conn:expr, $t:ident, $org:expr, $ids:expr, $to:expr) => {{
        for chunk in $ids.chunks(500) {
            diesel::update(
                $t::table
                    .filter($t::org_id.eq($org))
                    .filter($t::id.eq_any(chunk)),
            )
            .set($t::guest_id.eq($to))
            .execute($conn)?;
        }
    }};
}

/// Moves what the loser owns to the survivor (the caller has written both
/// guest rows) and returns what moved. Statistics are recomputed from the
/// stays; the loser's analytics rows are dropped (a tombstone is not
/// analysed); `better_tier(a, b)` says whether tier `b` outranks `a`.
pub fn move_all(
    conn: &mut DbConnection,
    org: &str,
    loser: &str,
    survivor: &str,
    tags_added: Vec<String>,
    better_tier: impl Fn(&str, &str) -> bool,
    now: DateTime<Utc>,
) -> StorageResult<Moved> {
    let mut m = Moved {
        reservations: move_rows!(conn, reservations, org, loser, survivor),
        stays: move_rows!(conn, stays, org, loser, survivor),
        identity_documents: move_rows!(conn, guest_identity_documents, org, loser, survivor),
        consents: move_rows!(conn, guest_consents, org, loser, survivor),
        tickets: move_rows!(conn, tickets, org, loser, survivor),
        messages: move_rows!(conn, message_outbox, org, loser, survivor),
        survey_invitations: move_rows!(conn, survey_invitations, org, loser, survivor),
        survey_responses: move_rows!(conn, survey_responses, org, loser, survivor),
        reviews: move_rows!(conn, reviews, org, loser, survivor),
        coupon_redemptions: move_rows!(conn, coupon_redemptions, org, loser, survivor),
        tags_added,
        ..Moved::default()
    };
    let survivor_accounts: Vec<String> = account_guests::table
        .filter(account_guests::org_id.eq(org))
        .filter(account_guests::guest_id.eq(survivor))
        .select(account_guests::account_id)
        .load(conn)?;
    let loser_accounts: Vec<String> = account_guests::table
        .filter(account_guests::org_id.eq(org))
        .filter(account_guests::guest_id.eq(loser))
        .select(account_guests::account_id)
        .load(conn)?;
    for account in loser_accounts {
        if survivor_accounts.contains(&account) {
            continue;
        }
        diesel::update(
            account_guests::table
                .filter(account_guests::org_id.eq(org))
                .filter(account_guests::account_id.eq(&account))
                .filter(account_guests::guest_id.eq(loser)),
        )
        .set(account_guests::guest_id.eq(survivor))
        .execute(conn)?;
        m.accounts.push(account);
    }
    m.membership = move_membership(conn, org, loser, survivor, better_tier, now)?;
    recompute_stats(conn, org, survivor, now)?;
    recompute_stats(conn, org, loser, now)?;
    drop_analytics(conn, org, loser)?;
    Ok(m)
}

type MemberTuple = (String, String, NaiveDate, i64);

fn member_of(
    conn: &mut DbConnection,
    org: &str,
    guest: &str,
) -> StorageResult<Option<MemberTuple>> {
    Ok(loyalty_members::table
        .filter(loyalty_members::org_id.eq(org))
        .filter(loyalty_members::guest_id.eq(guest))
        .select((
            loyalty_members::id,
            loyalty_members::tier_id,
            loyalty_members::tier_since,
            loyalty_members::points_balance,
        ))
        .first(conn)
        .optional()?)
}

fn move_membership(
    conn: &mut DbConnection,
    org: &str,
    loser: &str,
    survivor: &str,
    better_tier: impl Fn(&str, &str) -> bool,
    now: DateTime<Utc>,
) -> StorageResult<Option<MovedMembership>> {
    let Some((loser_member, loser_tier, loser_since, loser_points)) = member_of(conn, org, loser)?
    else {
        return Ok(None);
    };
    let Some((survivor_member, survivor_tier, survivor_since, _)) = member_of(conn, org, survivor)?
    else {
        diesel::update(
            loyalty_members::table
                .filter(loyalty_members::org_id.eq(org))
                .filter(loyalty_members::id.eq(&loser_member)),
        )
        .set((
            loyalty_members::guest_id.eq(survivor),
            loyalty_members::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
        return Ok(Some(MovedMembership::Whole {
            member_id: loser_member,
        }));
    };
    macro_rules! move_member_rows {
        ($t:ident) => {{
            let ids: Vec<String> = $t::table
                .filter($t::org_id.eq(org))
                .filter($t::member_id.eq(&loser_member))
                .select($t::id)
                .load(conn)?;
            for chunk in ids.chunks(500) {
                diesel::update(
                    $t::table
                        .filter($t::org_id.eq(org))
                        .filter($t::id.eq_any(chunk)),
                )
                .set($t::member_id.eq(&survivor_member))
                .execute(conn)?;
            }
            ids
        }};
    }
    let entries = move_member_rows!(points_entries);
    let lots = move_member_rows!(points_lots);
    let redemptions = move_member_rows!(points_redemptions);
    let tier_changes = move_member_rows!(loyalty_tier_changes);
    let tier_taken = better_tier(&survivor_tier, &loser_tier);
    // The loser's balance first leaves it, then joins the survivor's: both
    // rows are locked by the conditional updates.
    diesel::update(
        loyalty_members::table
            .filter(loyalty_members::org_id.eq(org))
            .filter(loyalty_members::id.eq(&loser_member)),
    )
    .set((
        loyalty_members::points_balance.eq(0_i64),
        loyalty_members::updated_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    let target = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org))
        .filter(loyalty_members::id.eq(&survivor_member));
    if tier_taken {
        diesel::update(target)
            .set((
                loyalty_members::points_balance.eq(loyalty_members::points_balance + loser_points),
                loyalty_members::tier_id.eq(&loser_tier),
                loyalty_members::tier_since.eq(loser_since),
                loyalty_members::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((
                loyalty_members::points_balance.eq(loyalty_members::points_balance + loser_points),
                loyalty_members::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
    }
    Ok(Some(MovedMembership::Folded {
        survivor_member_id: survivor_member,
        loser_member_id: loser_member,
        points: loser_points,
        entries,
        lots,
        redemptions,
        tier_changes,
        survivor_tier_before: survivor_tier,
        survivor_tier_since_before: survivor_since,
        tier_taken,
    }))
}

/// Why an unmerge cannot move things back, if it cannot.
pub fn ledger_moved_on(
    conn: &mut DbConnection,
    org: &str,
    moved: &Moved,
    since: DateTime<Utc>,
) -> StorageResult<Option<String>> {
    let Some(MovedMembership::Folded {
        survivor_member_id,
        points,
        ..
    }) = &moved.membership
    else {
        return Ok(None);
    };
    let later: i64 = points_entries::table
        .filter(points_entries::org_id.eq(org))
        .filter(points_entries::member_id.eq(survivor_member_id))
        .filter(points_entries::created_at.gt(to_db(since)))
        .count()
        .get_result(conn)?;
    if later > 0 {
        return Ok(Some(format!(
            "the merged membership has {later} points ledger entries since the merge"
        )));
    }
    let balance: i64 = loyalty_members::table
        .filter(loyalty_members::org_id.eq(org))
        .filter(loyalty_members::id.eq(survivor_member_id))
        .select(loyalty_members::points_balance)
        .first(conn)?;
    if balance < *points {
        return Ok(Some(
            "the merged membership no longer holds the points that came with the merge".into(),
        ));
    }
    Ok(None)
}

/// Moves back what `move_all` moved (the caller restores both guest rows).
pub fn move_back_all(
    conn: &mut DbConnection,
    org: &str,
    m: &Moved,
    loser: &str,
    survivor: &str,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    move_back!(conn, reservations, org, m.reservations, loser);
    move_back!(conn, stays, org, m.stays, loser);
    move_back!(
        conn,
        guest_identity_documents,
        org,
        m.identity_documents,
        loser
    );
    move_back!(conn, guest_consents, org, m.consents, loser);
    move_back!(conn, tickets, org, m.tickets, loser);
    move_back!(conn, message_outbox, org, m.messages, loser);
    move_back!(conn, survey_invitations, org, m.survey_invitations, loser);
    move_back!(conn, survey_responses, org, m.survey_responses, loser);
    move_back!(conn, reviews, org, m.reviews, loser);
    move_back!(conn, coupon_redemptions, org, m.coupon_redemptions, loser);
    for account in &m.accounts {
        diesel::update(
            account_guests::table
                .filter(account_guests::org_id.eq(org))
                .filter(account_guests::account_id.eq(account))
                .filter(account_guests::guest_id.eq(survivor)),
        )
        .set(account_guests::guest_id.eq(loser))
        .execute(conn)?;
    }
    match &m.membership {
        None => {}
        Some(MovedMembership::Whole { member_id }) => {
            diesel::update(
                loyalty_members::table
                    .filter(loyalty_members::org_id.eq(org))
                    .filter(loyalty_members::id.eq(member_id)),
            )
            .set((
                loyalty_members::guest_id.eq(loser),
                loyalty_members::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
        }
        Some(MovedMembership::Folded {
            survivor_member_id,
            loser_member_id,
            points,
            entries,
            lots,
            redemptions,
            tier_changes,
            survivor_tier_before,
            survivor_tier_since_before,
            tier_taken,
        }) => {
            macro_rules! back {
                ($t:ident, $ids:expr) => {
                    for chunk in $ids.chunks(500) {
                        diesel::update(
                            $t::table
                                .filter($t::org_id.eq(org))
                                .filter($t::id.eq_any(chunk)),
                        )
                        .set($t::member_id.eq(loser_member_id))
                        .execute(conn)?;
                    }
                };
            }
            back!(points_entries, entries);
            back!(points_lots, lots);
            back!(points_redemptions, redemptions);
            back!(loyalty_tier_changes, tier_changes);
            let n = diesel::update(
                loyalty_members::table
                    .filter(loyalty_members::org_id.eq(org))
                    .filter(loyalty_members::id.eq(survivor_member_id))
                    .filter(loyalty_members::points_balance.ge(*points)),
            )
            .set((
                loyalty_members::points_balance.eq(loyalty_members::points_balance - *points),
                loyalty_members::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(StorageError::VersionConflict);
            }
            if *tier_taken {
                diesel::update(
                    loyalty_members::table
                        .filter(loyalty_members::org_id.eq(org))
                        .filter(loyalty_members::id.eq(survivor_member_id)),
                )
                .set((
                    loyalty_members::tier_id.eq(survivor_tier_before),
                    loyalty_members::tier_since.eq(survivor_tier_since_before),
                ))
                .execute(conn)?;
            }
            diesel::update(
                loyalty_members::table
                    .filter(loyalty_members::org_id.eq(org))
                    .filter(loyalty_members::id.eq(loser_member_id)),
            )
            .set((
                loyalty_members::points_balance.eq(loyalty_members::points_balance + *points),
                loyalty_members::updated_at.eq(to_db(now)),
            ))
            .execute(conn)?;
        }
    }
    recompute_stats(conn, org, survivor, now)?;
    recompute_stats(conn, org, loser, now)?;
    Ok(())
}

/// Rebuilds a guest's stay statistics from their stays.
pub fn recompute_stats(
    conn: &mut DbConnection,
    org: &str,
    guest: &str,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    diesel::delete(
        guest_stats::table
            .filter(guest_stats::org_id.eq(org))
            .filter(guest_stats::guest_id.eq(guest)),
    )
    .execute(conn)?;
    let rows: Vec<(NaiveDate, i32, String, i64, String)> = stays::table
        .filter(stays::org_id.eq(org))
        .filter(stays::guest_id.eq(guest))
        .select((
            stays::arrival,
            stays::nights,
            stays::currency,
            stays::total_revenue,
            stays::channel,
        ))
        .load(conn)?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut spend: BTreeMap<String, i64> = BTreeMap::new();
    let mut mix: BTreeMap<String, i32> = BTreeMap::new();
    let mut nights = 0;
    let (mut first, mut last) = (NaiveDate::MAX, NaiveDate::MIN);
    for (arrival, n, currency, total, channel) in &rows {
        nights += n;
        *spend.entry(currency.clone()).or_default() += total;
        *mix.entry(channel.clone()).or_default() += 1;
        first = first.min(*arrival);
        last = last.max(*arrival);
    }
    diesel::insert_into(guest_stats::table)
        .values((
            guest_stats::guest_id.eq(guest),
            guest_stats::org_id.eq(org),
            guest_stats::stays.eq(i32::try_from(rows.len()).unwrap_or(i32::MAX)),
            guest_stats::nights.eq(nights),
            guest_stats::spend.eq(serde_json::to_string(&spend)?),
            guest_stats::channel_mix.eq(serde_json::to_string(&mix)?),
            guest_stats::first_stay_on.eq(first),
            guest_stats::last_stay_on.eq(last),
            guest_stats::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Drops a guest's derived analytics rows (recomputed by the insights job
/// for live guests).
pub fn drop_analytics(conn: &mut DbConnection, org: &str, guest: &str) -> StorageResult<()> {
    diesel::delete(
        guest_stay_months::table
            .filter(guest_stay_months::org_id.eq(org))
            .filter(guest_stay_months::guest_id.eq(guest)),
    )
    .execute(conn)?;
    diesel::delete(
        guest_insights::table
            .filter(guest_insights::org_id.eq(org))
            .filter(guest_insights::guest_id.eq(guest)),
    )
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = guest_merges)]
struct MergeRow {
    id: String,
    org_id: String,
    survivor_id: String,
    loser_id: String,
    status: String,
    survivor_before: String,
    loser_before: String,
    survivor_version_after: i32,
    moved: String,
    merged_by: String,
    merged_at: NaiveDateTime,
    unmerged_by: Option<String>,
    unmerged_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    pub id: String,
    pub org_id: String,
    pub survivor_id: String,
    pub loser_id: String,
    /// merged, unmerged
    pub status: String,
    /// JSON snapshots of both guest profiles before the merge (`{}` once
    /// either guest was erased).
    pub survivor_before: String,
    pub loser_before: String,
    pub survivor_version_after: i32,
    pub moved: Moved,
    pub merged_by: String,
    pub merged_at: DateTime<Utc>,
    pub unmerged_by: Option<String>,
    pub unmerged_at: Option<DateTime<Utc>>,
}

impl TryFrom<MergeRow> for Merge {
    type Error = StorageError;
    fn try_from(r: MergeRow) -> StorageResult<Self> {
        Ok(Merge {
            id: r.id,
            org_id: r.org_id,
            survivor_id: r.survivor_id,
            loser_id: r.loser_id,
            status: r.status,
            survivor_before: r.survivor_before,
            loser_before: r.loser_before,
            survivor_version_after: r.survivor_version_after,
            moved: serde_json::from_str(&r.moved)?,
            merged_by: r.merged_by,
            merged_at: from_db(r.merged_at),
            unmerged_by: r.unmerged_by,
            unmerged_at: r.unmerged_at.map(from_db),
        })
    }
}

pub fn insert(conn: &mut DbConnection, m: &Merge) -> StorageResult<()> {
    diesel::insert_into(guest_merges::table)
        .values(MergeRow {
            id: m.id.clone(),
            org_id: m.org_id.clone(),
            survivor_id: m.survivor_id.clone(),
            loser_id: m.loser_id.clone(),
            status: m.status.clone(),
            survivor_before: m.survivor_before.clone(),
            loser_before: m.loser_before.clone(),
            survivor_version_after: m.survivor_version_after,
            moved: serde_json::to_string(&m.moved)?,
            merged_by: m.merged_by.clone(),
            merged_at: to_db(m.merged_at),
            unmerged_by: m.unmerged_by.clone(),
            unmerged_at: m.unmerged_at.map(to_db),
        })
        .execute(conn)?;
    Ok(())
}

/// Every merge involving `guest` as survivor or loser, newest first.
pub fn involving(conn: &mut DbConnection, org: &str, guest: &str) -> StorageResult<Vec<Merge>> {
    guest_merges::table
        .filter(guest_merges::org_id.eq(org))
        .filter(
            guest_merges::survivor_id
                .eq(guest)
                .or(guest_merges::loser_id.eq(guest)),
        )
        .order(guest_merges::id.desc())
        .select(MergeRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Merge::try_from)
        .collect()
}

/// Marks a merge undone, if it still is `merged` (a concurrent unmerge
/// loses).
pub fn mark_unmerged(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let n = diesel::update(
        guest_merges::table
            .filter(guest_merges::org_id.eq(org))
            .filter(guest_merges::id.eq(id))
            .filter(guest_merges::status.eq("merged")),
    )
    .set((
        guest_merges::status.eq("unmerged"),
        guest_merges::unmerged_by.eq(by),
        guest_merges::unmerged_at.eq(to_db(now)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

/// Clears the profile snapshots of merges involving `guest` (erasure): a
/// merge that involved an erased guest can no longer be undone.
pub fn clear_snapshots(conn: &mut DbConnection, org: &str, guest: &str) -> StorageResult<usize> {
    Ok(diesel::update(
        guest_merges::table
            .filter(guest_merges::org_id.eq(org))
            .filter(
                guest_merges::survivor_id
                    .eq(guest)
                    .or(guest_merges::loser_id.eq(guest)),
            ),
    )
    .set((
        guest_merges::survivor_before.eq("{}"),
        guest_merges::loser_before.eq("{}"),
    ))
    .execute(conn)?)
}

/// What `move_all` would move, found by doing it in a savepoint that is
/// rolled back (the caller holds a write transaction).
pub fn would_move(
    conn: &mut DbConnection,
    org: &str,
    loser: &str,
    survivor: &str,
    now: DateTime<Utc>,
) -> StorageResult<Moved> {
    let mut counted = None;
    let outcome = conn.transaction::<(), StorageError, _>(|conn| {
        counted = Some(move_all(
            conn,
            org,
            loser,
            survivor,
            Vec::new(),
            |_, _| false,
            now,
        )?);
        Err(StorageError::RolledBack)
    });
    match (outcome, counted) {
        (Err(StorageError::RolledBack), Some(m)) => Ok(m),
        (Err(e), _) => Err(e),
        (Ok(()), _) => Err(StorageError::RolledBack),
    }
}
