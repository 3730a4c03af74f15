//! Loyalty operations shared by the HTTP handlers, check-out and the jobs:
//! earning for a stay, qualification, review, expiry and the ledger audit.

use crate::audit::Actor;
use crate::error::ApiError;
use chrono::{DateTime, Months, NaiveDate, Utc};
use crm_domain::loyalty::{
    self as rules, Counters, EntryType, Revenue, TierChangeReason, TierRule,
};
use crm_storage::guests::{self, Guest};
use crm_storage::loyalty::{self as store, Entry, Member, Program, Tier, TierChange};
use crm_storage::reservations::{self, Stay};
use crm_storage::DbConnection;

/// The programme and its tiers (lowest rank first), when configured.
pub struct Loyalty {
    pub program: Program,
    pub tiers: Vec<Tier>,
}

impl Loyalty {
    pub fn load(conn: &mut DbConnection, org_id: &str) -> Result<Option<Loyalty>, ApiError> {
        let Some(program) = store::program(conn, org_id)? else {
            return Ok(None);
        };
        let tiers = store::tiers(conn, org_id)?;
        Ok(Some(Loyalty { program, tiers }))
    }

    pub fn require(conn: &mut DbConnection, org_id: &str) -> Result<Loyalty, ApiError> {
        Loyalty::load(conn, org_id)?.ok_or_else(|| {
            ApiError::conflict(
                "loyalty_not_configured",
                "Set up the loyalty programme first: PUT /api/v1/loyalty/program.",
            )
        })
    }

    pub fn rules(&self) -> Vec<TierRule> {
        self.tiers
            .iter()
            .map(|t| TierRule {
                id: t.id.clone(),
                rank: t.rank,
                qualification: t.qualification,
                retention: t.retention,
            })
            .collect()
    }

    pub fn tier(&self, id: &str) -> Result<&Tier, ApiError> {
        self.tiers
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| ApiError::internal("member's tier is missing"))
    }

    /// The qualification window ending `today`: `(after, until]`.
    pub fn window(&self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let months = u32::try_from(self.program.qualification_window_months).unwrap_or(12);
        (
            today
                .checked_sub_months(Months::new(months))
                .unwrap_or(today),
            today,
        )
    }

    pub fn counters(
        &self,
        conn: &mut DbConnection,
        org_id: &str,
        guest_id: &str,
        today: NaiveDate,
    ) -> Result<Counters, ApiError> {
        let (after, _) = self.window(today);
        let (stays, nights, spend) =
            reservations::stay_counters(conn, org_id, guest_id, after, &self.program.currency)?;
        Ok(Counters {
            nights,
            stays,
            spend,
        })
    }

    pub fn next_review(&self, from: NaiveDate) -> NaiveDate {
        rules::next_review(
            from,
            u32::try_from(self.program.review_period_months).unwrap_or(12),
        )
    }

    pub fn expiry(&self, posted_on: NaiveDate) -> Option<NaiveDate> {
        rules::expiry_date(
            posted_on,
            self.program
                .expiry_months
                .and_then(|m| u32::try_from(m).ok()),
        )
    }

    /// Points a booked amount of room revenue would earn at `tier`.
    pub fn estimate(&self, room_amount: i64, tier: &Tier) -> i64 {
        rules::points_for(
            Revenue {
                room: room_amount,
                ..Default::default()
            },
            &self.program.earn_rates,
            i64::from(tier.multiplier_percent),
            self.program.rounding,
        )
    }
}

/// Whether the guest may enrol, earn and redeem: not erased, not
/// blacklisted.
pub fn in_good_standing(g: &Guest) -> bool {
    g.erased_at.is_none() && g.blacklist.is_none()
}

/// The ledger key of a reservation's earning: one per reservation.
pub fn earn_key(reservation_id: &str) -> String {
    format!("earn:reservation:{reservation_id}")
}

/// Adds a line to the member's tier history.
#[allow(clippy::too_many_arguments)]
pub fn record_tier_change(
    conn: &mut DbConnection,
    actor: &Actor,
    member: &Member,
    from: Option<String>,
    to: &str,
    reason: TierChangeReason,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    store::insert_tier_change(
        conn,
        &TierChange {
            id: crm_domain::id::new_id().to_string(),
            org_id: member.org_id.clone(),
            member_id: member.id.clone(),
            from_tier_id: from,
            to_tier_id: to.to_string(),
            reason,
            note,
            actor_id: Some(actor.principal.id.clone()),
            created_at: now,
        },
    )?;
    Ok(())
}

/// Moves a member to `to`, records why, and announces `tier.changed`.
#[allow(clippy::too_many_arguments)]
pub fn change_tier(
    conn: &mut DbConnection,
    actor: &Actor,
    loyalty: &Loyalty,
    member: &Member,
    to: &str,
    reason: TierChangeReason,
    note: Option<String>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    store::set_tier(conn, member, to, today, loyalty.next_review(today), now)?;
    record_tier_change(
        conn,
        actor,
        member,
        Some(member.tier_id.clone()),
        to,
        reason,
        note,
        now,
    )?;
    actor.record(
        conn,
        now,
        "tier.changed",
        "guest",
        &member.guest_id,
        &["tier"],
    )?;
    // The member hears of it, from the hotel of their latest stay.
    let guest = crm_storage::guests::find(conn, &member.org_id, &member.guest_id)?;
    let property = match crate::messaging::home_property(conn, &member.org_id, &guest.id, None)? {
        Some(p) => Some(p),
        None => crm_storage::properties::first_of_org(conn, &member.org_id)?,
    };
    if let Some(property) = property {
        let mut values = crate::messaging::base_values(&guest, &property);
        values.insert("membership.tier".into(), loyalty.tier(to)?.name.clone());
        values.insert(
            "membership.member_number".into(),
            member.member_number.clone(),
        );
        values.insert(
            "membership.points".into(),
            member.points_balance.to_string(),
        );
        crate::messaging::enqueue(
            conn,
            crm_domain::message::MessageTrigger::TierChange,
            &guest,
            &property,
            &format!("{}:{to}:{}", member.id, now.timestamp()),
            values,
            now,
        )?;
    }
    Ok(())
}

/// At check-out: posts the stay's points (once per reservation, on the
/// actual revenue, with the member's tier multiplier) and upgrades the
/// member at once if the window now qualifies for a higher tier.
pub fn on_check_out(
    conn: &mut DbConnection,
    actor: &Actor,
    stay: &Stay,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(member) = store::member_of_guest(conn, &stay.org_id, &stay.guest_id)? else {
        return Ok(());
    };
    if !in_good_standing(&guests::find(conn, &stay.org_id, &stay.guest_id)?) {
        return Ok(());
    }
    let Some(loyalty) = Loyalty::load(conn, &stay.org_id)? else {
        return Ok(());
    };
    let tier = loyalty.tier(&member.tier_id)?.clone();
    // Earn rates are in the programme's currency; a stay billed in another
    // earns nothing (its nights still count towards the tier).
    let revenue_counts = stay.currency == loyalty.program.currency;
    let points = if !revenue_counts {
        0
    } else {
        rules::points_for(
            Revenue {
                room: stay.room_revenue,
                food_and_beverage: stay.food_and_beverage_revenue,
                other: stay.other_revenue,
            },
            &loyalty.program.earn_rates,
            i64::from(tier.multiplier_percent),
            loyalty.program.rounding,
        )
    };
    let key = earn_key(&stay.reservation_id);
    if points > 0 && store::find_entry_by_key(conn, &stay.org_id, &key)?.is_none() {
        let entry = Entry {
            id: crm_domain::id::new_id().to_string(),
            org_id: stay.org_id.clone(),
            member_id: member.id.clone(),
            entry_type: EntryType::Earn,
            points,
            source_type: "stay".into(),
            source_id: Some(stay.id.clone()),
            reason: None,
            dedupe_key: Some(key),
            created_by: Some(actor.principal.id.clone()),
            created_at: now,
        };
        store::credit(conn, &entry, loyalty.expiry(today))?;
        actor.record(
            conn,
            now,
            "points.posted",
            "guest",
            &member.guest_id,
            &["points"],
        )?;
    }
    let counters = loyalty.counters(conn, &stay.org_id, &stay.guest_id, today)?;
    if let Some(up) = rules::upgrade(&loyalty.rules(), tier.rank, &counters) {
        change_tier(
            conn,
            actor,
            &loyalty,
            &member,
            &up.id,
            TierChangeReason::Qualified,
            None,
            today,
            now,
        )?;
    }
    Ok(())
}

/// The review of one member on its review date: the tier the window
/// supports (never lower), and the next review date. Returns whether the
/// tier changed.
pub fn review_member(
    conn: &mut DbConnection,
    actor: &Actor,
    loyalty: &Loyalty,
    member: &Member,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let current = loyalty.tier(&member.tier_id)?;
    let counters = loyalty.counters(conn, &member.org_id, &member.guest_id, today)?;
    let target = rules::review(&loyalty.rules(), current.rank, &counters)
        .map(|t| t.id.clone())
        .unwrap_or_else(|| current.id.clone());
    if target == member.tier_id {
        store::set_tier(
            conn,
            member,
            &member.tier_id,
            member.tier_since,
            loyalty.next_review(today),
            now,
        )?;
        return Ok(false);
    }
    change_tier(
        conn,
        actor,
        loyalty,
        member,
        &target,
        TierChangeReason::Review,
        Some(format!(
            "window: {} nights, {} stays, spend {}",
            counters.nights, counters.stays, counters.spend
        )),
        today,
        now,
    )?;
    Ok(true)
}
