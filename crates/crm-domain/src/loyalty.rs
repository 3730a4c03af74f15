//! The loyalty programme's rules (会员, 积分): tier qualification over a
//! rolling window, review without dropping below what the window supports,
//! points earned per revenue category with the tier's multiplier, and the
//! lots a points balance is made of (oldest consumed first).

use crate::{Errors, FieldError};
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// What a points-ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// Posted at check-out on the stay's actual revenue.
    Earn,
    Bonus,
    /// A manager's correction, with a reason.
    Adjustment,
    Redeem,
    RedemptionCancelled,
    Expire,
    /// Takes back a stay's earning when it is cancelled or refunded.
    Reverse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BonusType {
    Birthday,
    Review,
    Referral,
    Campaign,
    ComplaintCompensation,
}

impl BonusType {
    pub fn as_str(self) -> &'static str {
        match self {
            BonusType::Birthday => "birthday",
            BonusType::Review => "review",
            BonusType::Referral => "referral",
            BonusType::Campaign => "campaign",
            BonusType::ComplaintCompensation => "complaint_compensation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    RoomNight,
    Voucher,
    Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TierChangeReason {
    Enrolled,
    /// A check-out reached a higher tier's qualification.
    Qualified,
    /// The review date's outcome.
    Review,
    /// A manager's decision, with a note.
    Manual,
}

/// Points per `per_amount` minor units of revenue: `{points: 1, per_amount:
/// 100}` is one point per yuan. Integers only, like money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EarnRate {
    pub points: i64,
    pub per_amount: i64,
}

impl EarnRate {
    pub const NONE: EarnRate = EarnRate {
        points: 0,
        per_amount: 100,
    };
}

/// Earn rate per charge category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EarnRates {
    pub room: EarnRate,
    #[serde(default = "no_rate")]
    pub food_and_beverage: EarnRate,
    #[serde(default = "no_rate")]
    pub other: EarnRate,
}

fn no_rate() -> EarnRate {
    EarnRate::NONE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    Down,
    Nearest,
    Up,
}

/// Revenue of a stay by category, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revenue {
    pub room: i64,
    pub food_and_beverage: i64,
    pub other: i64,
}

/// Points for `revenue` at `rates`, times the tier's `multiplier_percent`
/// (100 = ×1), rounded once at the end. Never negative.
pub fn points_for(
    revenue: Revenue,
    rates: &EarnRates,
    multiplier_percent: i64,
    rounding: Rounding,
) -> i64 {
    // Exact rational arithmetic: numerator over the product of the
    // denominators, in i128 so no realistic amount overflows.
    let parts = [
        (revenue.room, rates.room),
        (revenue.food_and_beverage, rates.food_and_beverage),
        (revenue.other, rates.other),
    ];
    let denominator: i128 = parts
        .iter()
        .map(|(_, r)| i128::from(r.per_amount.max(1)))
        .product::<i128>()
        * 100;
    let numerator: i128 = parts
        .iter()
        .map(|(amount, r)| {
            let others: i128 = denominator / 100 / i128::from(r.per_amount.max(1));
            i128::from((*amount).max(0)) * i128::from(r.points.max(0)) * others
        })
        .sum::<i128>()
        * i128::from(multiplier_percent.max(0));
    let points = match rounding {
        Rounding::Down => numerator / denominator,
        Rounding::Up => (numerator + denominator - 1) / denominator,
        Rounding::Nearest => (2 * numerator + denominator) / (2 * denominator),
    };
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// Nights, stays and spend (minor units) a member reached in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counters {
    pub nights: i64,
    pub stays: i64,
    pub spend: i64,
}

/// Qualification thresholds: reaching any one that is set qualifies. A tier
/// with none set (the entry tier) is reached by everyone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub nights: Option<i64>,
    pub stays: Option<i64>,
    /// Minor units of the organisation's currency.
    pub spend: Option<i64>,
}

impl Thresholds {
    pub fn is_empty(&self) -> bool {
        self.nights.is_none() && self.stays.is_none() && self.spend.is_none()
    }

    pub fn met_by(&self, c: &Counters) -> bool {
        self.is_empty()
            || self.nights.is_some_and(|n| c.nights >= n)
            || self.stays.is_some_and(|n| c.stays >= n)
            || self.spend.is_some_and(|n| c.spend >= n)
    }

    /// What is still missing on each set threshold (any one suffices).
    pub fn missing(&self, c: &Counters) -> Counters {
        Counters {
            nights: self.nights.map_or(0, |n| (n - c.nights).max(0)),
            stays: self.stays.map_or(0, |n| (n - c.stays).max(0)),
            spend: self.spend.map_or(0, |n| (n - c.spend).max(0)),
        }
    }

    pub fn validate(&self, field: &str, errors: &mut Errors) {
        for (name, v) in [
            ("nights", self.nights),
            ("stays", self.stays),
            ("spend", self.spend),
        ] {
            if v.is_some_and(|n| !(1..=1_000_000_000_000).contains(&n)) {
                errors.push(FieldError::new(
                    format!("{field}.{name}"),
                    "out_of_range",
                    "a positive number",
                ));
            }
        }
    }
}

/// A tier's rank and rules, as qualification needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct TierRule {
    pub id: String,
    pub rank: i32,
    pub qualification: Thresholds,
    /// What keeps the tier at review; `None` means the qualification.
    pub retention: Option<Thresholds>,
}

impl TierRule {
    fn retained_by(&self, c: &Counters) -> bool {
        self.retention.unwrap_or(self.qualification).met_by(c)
    }
}

/// The highest tier `counters` qualify for, if any.
pub fn qualifying_tier<'a>(tiers: &'a [TierRule], c: &Counters) -> Option<&'a TierRule> {
    tiers
        .iter()
        .filter(|t| t.qualification.met_by(c))
        .max_by_key(|t| t.rank)
}

/// Upgrade at once: the tier a check-out moves the member to, if it is
/// higher than `current_rank`.
pub fn upgrade<'a>(tiers: &'a [TierRule], current_rank: i32, c: &Counters) -> Option<&'a TierRule> {
    qualifying_tier(tiers, c).filter(|t| t.rank > current_rank)
}

/// The tier at the review date: the highest that the window supports, by
/// qualification above the current tier or by retention at or below it.
/// It never drops below what the window supports, and the lowest tier is
/// the floor.
pub fn review<'a>(tiers: &'a [TierRule], current_rank: i32, c: &Counters) -> Option<&'a TierRule> {
    tiers
        .iter()
        .filter(|t| {
            if t.rank > current_rank {
                t.qualification.met_by(c)
            } else {
                t.retained_by(c)
            }
        })
        .max_by_key(|t| t.rank)
        .or_else(|| tiers.iter().min_by_key(|t| t.rank))
}

/// A tier benefit, typed so the front desk and apps can act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Benefit {
    /// Percent off the best available rate.
    DiscountPercent {
        percent: i32,
    },
    /// Check-out as late as this local time, "HH:MM".
    LateCheckout {
        until: String,
    },
    Upgrade {
        description: Option<String>,
    },
    Breakfast {
        description: Option<String>,
    },
    WelcomeGift {
        description: String,
    },
    Text {
        text: String,
    },
}

impl Benefit {
    pub fn validate(&self, field: &str, errors: &mut Errors) {
        let text_ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= 200;
        let problem = match self {
            Benefit::DiscountPercent { percent } if !(1..=100).contains(percent) => {
                Some(("percent", "1 to 100"))
            }
            Benefit::LateCheckout { until }
                if chrono::NaiveTime::parse_from_str(until, "%H:%M").is_err() =>
            {
                Some(("until", "a local time as HH:MM"))
            }
            Benefit::Upgrade {
                description: Some(d),
            }
            | Benefit::Breakfast {
                description: Some(d),
            } if !text_ok(d) => Some(("description", "1 to 200 characters")),
            Benefit::WelcomeGift { description } if !text_ok(description) => {
                Some(("description", "1 to 200 characters"))
            }
            Benefit::Text { text } if !text_ok(text) => Some(("text", "1 to 200 characters")),
            _ => None,
        };
        if let Some((name, message)) = problem {
            errors.push(FieldError::new(
                format!("{field}.{name}"),
                "invalid",
                message,
            ));
        }
    }
}

/// When points posted on `posted_on` expire: after `months`, or never.
pub fn expiry_date(posted_on: NaiveDate, months: Option<u32>) -> Option<NaiveDate> {
    months.and_then(|m| posted_on.checked_add_months(Months::new(m)))
}

/// A lot of points: what is left of one positive entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: String,
    pub remaining: i64,
    pub expires_on: Option<NaiveDate>,
}

/// Takes `points` from `lots`, soonest-expiring first (lots that never
/// expire last, then in the given order): the `(lot id, points)` taken, or
/// `None` when the lots do not hold enough.
pub fn consume(lots: &[Lot], points: i64) -> Option<Vec<(String, i64)>> {
    let mut order: Vec<&Lot> = lots.iter().filter(|l| l.remaining > 0).collect();
    order.sort_by_key(|l| (l.expires_on.is_none(), l.expires_on));
    let mut left = points;
    let mut taken = Vec::new();
    for lot in order {
        if left == 0 {
            break;
        }
        let n = lot.remaining.min(left);
        taken.push((lot.id.clone(), n));
        left -= n;
    }
    (left == 0).then_some(taken)
}

/// The date a tier is next reviewed: `months` after `from`.
pub fn next_review(from: NaiveDate, months: u32) -> NaiveDate {
    from.checked_add_months(Months::new(months)).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn tiers() -> Vec<TierRule> {
        let t = |id: &str, rank, q: Thresholds, r: Option<Thresholds>| TierRule {
            id: id.into(),
            rank,
            qualification: q,
            retention: r,
        };
        vec![
            t("member", 0, Thresholds::default(), None),
            t(
                "silver",
                1,
                Thresholds {
                    nights: Some(10),
                    spend: Some(500_000),
                    stays: None,
                },
                Some(Thresholds {
                    nights: Some(5),
                    ..Default::default()
                }),
            ),
            t(
                "gold",
                2,
                Thresholds {
                    nights: Some(30),
                    ..Default::default()
                },
                None,
            ),
        ]
    }

    fn nights(n: i64) -> Counters {
        Counters {
            nights: n,
            ..Default::default()
        }
    }

    #[test]
    fn any_threshold_qualifies_and_missing_says_what_is_left() {
        let t = tiers();
        let spend_only = Counters {
            spend: 600_000,
            ..Default::default()
        };
        assert_eq!(qualifying_tier(&t, &spend_only).unwrap().id, "silver");
        assert_eq!(qualifying_tier(&t, &nights(3)).unwrap().id, "member");
        assert_eq!(t[2].qualification.missing(&nights(12)).nights, 18);
        assert_eq!(
            upgrade(&t, 1, &nights(12)),
            None,
            "no upgrade to the same tier"
        );
        assert_eq!(upgrade(&t, 0, &nights(31)).unwrap().id, "gold");
    }

    #[test]
    fn review_keeps_what_the_window_supports_and_never_less() {
        let t = tiers();
        // Gold with 7 nights: gold's retention (its qualification) fails,
        // silver's retention of 5 holds, so silver, not member.
        assert_eq!(review(&t, 2, &nights(7)).unwrap().id, "silver");
        assert_eq!(review(&t, 2, &nights(2)).unwrap().id, "member");
        assert_eq!(review(&t, 2, &nights(40)).unwrap().id, "gold");
        // Silver qualifying for gold at review moves up.
        assert_eq!(review(&t, 1, &nights(30)).unwrap().id, "gold");
        // Silver kept by retention though below its qualification.
        assert_eq!(review(&t, 1, &nights(6)).unwrap().id, "silver");
        // A member at the entry tier with 6 nights does not reach silver.
        assert_eq!(review(&t, 0, &nights(6)).unwrap().id, "member");
    }

    #[test]
    fn points_follow_rates_multiplier_and_rounding() {
        let rates = EarnRates {
            room: EarnRate {
                points: 1,
                per_amount: 100,
            },
            food_and_beverage: EarnRate {
                points: 1,
                per_amount: 200,
            },
            other: EarnRate::NONE,
        };
        let revenue = Revenue {
            room: 91_650,
            food_and_beverage: 12_000,
            other: 50_000,
        };
        // 916.5 + 60 = 976.5 points, ×1.5 = 1464.75
        assert_eq!(points_for(revenue, &rates, 150, Rounding::Down), 1464);
        assert_eq!(points_for(revenue, &rates, 150, Rounding::Nearest), 1465);
        assert_eq!(points_for(revenue, &rates, 150, Rounding::Up), 1465);
        assert_eq!(points_for(revenue, &rates, 100, Rounding::Nearest), 977);
        assert_eq!(points_for(revenue, &rates, 100, Rounding::Down), 976);
        assert_eq!(points_for(Revenue::default(), &rates, 100, Rounding::Up), 0);
        let refund = Revenue {
            room: -5_000,
            ..Default::default()
        };
        assert_eq!(points_for(refund, &rates, 100, Rounding::Up), 0);
    }

    #[test]
    fn redemption_takes_the_soonest_expiring_lots_first() {
        let lot = |id: &str, remaining, expires: Option<&str>| Lot {
            id: id.into(),
            remaining,
            expires_on: expires.map(d),
        };
        let lots = [
            lot("never", 100, None),
            lot("late", 50, Some("2027-06-30")),
            lot("early", 30, Some("2027-01-31")),
            lot("empty", 0, Some("2026-12-31")),
        ];
        assert_eq!(
            consume(&lots, 60).unwrap(),
            vec![("early".to_string(), 30), ("late".to_string(), 30)]
        );
        assert_eq!(consume(&lots, 180).unwrap().len(), 3);
        assert_eq!(consume(&lots, 181), None);
        assert_eq!(consume(&lots, 0).unwrap(), vec![]);
    }

    #[test]
    fn expiry_and_review_dates_add_calendar_months() {
        assert_eq!(expiry_date(d("2026-01-31"), Some(1)), Some(d("2026-02-28")));
        assert_eq!(expiry_date(d("2026-01-31"), None), None);
        assert_eq!(next_review(d("2026-11-24"), 12), d("2027-11-24"));
    }

    #[test]
    fn benefits_are_checked() {
        let mut errors = Errors::new();
        Benefit::LateCheckout {
            until: "25:00".into(),
        }
        .validate("benefits[0]", &mut errors);
        Benefit::DiscountPercent { percent: 10 }.validate("benefits[1]", &mut errors);
        let e = errors.finish().unwrap_err();
        assert_eq!(e.into_field_errors()[0].field, "benefits[0].until");
    }
}
