//! Marketing campaigns (营销活动): a segment, a message, a schedule, a
//! budget, and an offer — a coupon with a code pattern, a discount, a
//! validity and limits, or a package — whose redemptions and the bookings
//! of the guests it reached are attributed to it.

use crate::error::{DomainError, FieldError};
use crate::Errors;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Sending,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// draft → scheduled (at a time to come).
    Schedule,
    /// scheduled → draft.
    Unschedule,
    /// draft or scheduled → sending, now.
    Send,
    /// draft, scheduled or sending → cancelled (what is still queued is
    /// not sent).
    Cancel,
}

impl CampaignStatus {
    pub fn allowed_actions(self) -> &'static [CampaignAction] {
        use CampaignAction::*;
        match self {
            CampaignStatus::Draft => &[Schedule, Send, Cancel],
            CampaignStatus::Scheduled => &[Unschedule, Send, Cancel],
            CampaignStatus::Sending => &[Cancel],
            CampaignStatus::Completed | CampaignStatus::Cancelled => &[],
        }
    }

    /// The status `action` leads to, if allowed from here.
    pub fn apply(self, action: CampaignAction) -> Option<CampaignStatus> {
        if !self.allowed_actions().contains(&action) {
            return None;
        }
        Some(match action {
            CampaignAction::Schedule => CampaignStatus::Scheduled,
            CampaignAction::Unschedule => CampaignStatus::Draft,
            CampaignAction::Send => CampaignStatus::Sending,
            CampaignAction::Cancel => CampaignStatus::Cancelled,
        })
    }

    /// Only a draft changes what it sends; any campaign that is not
    /// cancelled may record its cost.
    pub fn editable(self) -> bool {
        self == CampaignStatus::Draft
    }
}

/// Characters of generated codes: Crockford's base 32 (no I, L, O or U),
/// so a code read out over the phone or typed from a text message
/// survives; 5 bits each.
const ALNUM: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LETTERS: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ";
const DIGITS: &[u8] = b"0123456789";

/// Personal codes must be hard to guess: at least this many bits.
pub const MIN_PERSONAL_CODE_BITS: f64 = 40.0;
pub const MAX_CODE_LEN: usize = 32;

/// A coupon code pattern: `#` a digit, `?` a letter, `*` a letter or
/// digit, anything else (A–Z, 0–9, `-`) literal. A pattern without
/// placeholders is one code shared by everyone; with placeholders, each
/// recipient gets a code of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodePattern(String);

impl CodePattern {
    pub fn parse(raw: &str) -> Result<CodePattern, FieldError> {
        let p = raw.trim().to_uppercase();
        if p.is_empty() || p.chars().count() > MAX_CODE_LEN {
            return Err(FieldError::new(
                "code_pattern",
                "out_of_range",
                format!("1 to {MAX_CODE_LEN} characters"),
            ));
        }
        if let Some(c) = p
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '#' | '?' | '*')))
        {
            return Err(FieldError::new(
                "code_pattern",
                "invalid_character",
                format!("`{c}`: letters, digits, `-`, and the placeholders `#` `?` `*`"),
            ));
        }
        let pattern = CodePattern(p);
        if pattern.is_personal() && pattern.bits() < MIN_PERSONAL_CODE_BITS {
            return Err(FieldError::new(
                "code_pattern",
                "too_guessable",
                format!(
                    "personal codes need at least {MIN_PERSONAL_CODE_BITS} bits: e.g. 8 `*` (40 bits) or 13 `#`"
                ),
            ));
        }
        Ok(pattern)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether each recipient gets a code of their own.
    pub fn is_personal(&self) -> bool {
        self.0.chars().any(|c| matches!(c, '#' | '?' | '*'))
    }

    /// log2 of the number of codes the pattern can produce.
    pub fn bits(&self) -> f64 {
        self.0
            .chars()
            .map(|c| match c {
                '#' => (DIGITS.len() as f64).log2(),
                '?' => (LETTERS.len() as f64).log2(),
                '*' => (ALNUM.len() as f64).log2(),
                _ => 0.0,
            })
            .sum()
    }

    /// A code from the pattern, each placeholder filled from the next
    /// random value (callers pass a CSPRNG's output).
    pub fn generate(&self, mut random: impl FnMut() -> u32) -> String {
        self.0
            .chars()
            .map(|c| {
                let from = match c {
                    '#' => DIGITS,
                    '?' => LETTERS,
                    '*' => ALNUM,
                    other => return other,
                };
                from[(random() as usize) % from.len()] as char
            })
            .collect()
    }
}

/// How a code is typed back: trimmed, upper case.
pub fn normalise_code(raw: &str) -> String {
    raw.trim().to_uppercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// 1 to 100 per cent of the room revenue.
    Percent(u8),
    /// A fixed amount in minor units, at most the booking's total.
    Amount(i64),
}

impl Discount {
    /// What comes off a booking of `gross` (minor units): rounded down to
    /// the minor unit, never more than the booking.
    pub fn of(self, gross: i64) -> i64 {
        let gross = gross.max(0);
        match self {
            Discount::Percent(p) => {
                i64::try_from(i128::from(gross) * i128::from(p) / 100).unwrap_or(gross)
            }
            Discount::Amount(a) => a.clamp(0, gross),
        }
    }
}

/// The coupon's rules for one redemption.
#[derive(Debug, Clone, PartialEq)]
pub struct CouponTerms {
    pub pattern: CodePattern,
    pub discount: Discount,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// Redemptions per guest (1: single use).
    pub per_guest_limit: i32,
    /// Redemptions in all; `None` for no limit.
    pub total_limit: Option<i32>,
}

pub const MAX_REDEMPTIONS_PER_GUEST: i32 = 100;
pub const MAX_TOTAL_REDEMPTIONS: i32 = 10_000_000;

/// Checks an offer's rules: validity, limits and (for a coupon) the
/// discount; every problem at once.
pub fn validate_rules(
    discount: Option<Discount>,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    per_guest_limit: i32,
    total_limit: Option<i32>,
) -> Result<(), DomainError> {
    let mut errors = Errors::new();
    if valid_until < valid_from {
        errors.push(FieldError::new(
            "valid_until",
            "before_start",
            "must not be before valid_from",
        ));
    }
    if !(1..=MAX_REDEMPTIONS_PER_GUEST).contains(&per_guest_limit) {
        errors.push(FieldError::new(
            "per_guest_limit",
            "out_of_range",
            format!("1 to {MAX_REDEMPTIONS_PER_GUEST}"),
        ));
    }
    if let Some(t) = total_limit {
        if !(1..=MAX_TOTAL_REDEMPTIONS).contains(&t) {
            errors.push(FieldError::new(
                "total_limit",
                "out_of_range",
                format!("1 to {MAX_TOTAL_REDEMPTIONS}"),
            ));
        }
    }
    match discount {
        Some(Discount::Percent(p)) if !(1..=100).contains(&p) => errors.push(FieldError::new(
            "discount.percent",
            "out_of_range",
            "1 to 100",
        )),
        Some(Discount::Amount(a)) if !(1..=100_000_000).contains(&a) => errors.push(
            FieldError::new("discount.amount", "out_of_range", "1 to 100,000,000"),
        ),
        _ => {}
    }
    errors.finish()
}

impl CouponTerms {
    /// Checks the terms' own consistency.
    pub fn validate(&self) -> Result<(), DomainError> {
        validate_rules(
            Some(self.discount),
            self.valid_from,
            self.valid_until,
            self.per_guest_limit,
            self.total_limit,
        )
    }

    /// Whether a booking made `today` may use the coupon, given the
    /// guest's earlier (active) redemptions. The total limit is enforced
    /// by the store's counter, under its lock.
    pub fn check(&self, today: NaiveDate, guest_redeemed: i64) -> Result<(), Refusal> {
        if today < self.valid_from {
            return Err(Refusal::NotYetValid);
        }
        if today > self.valid_until {
            return Err(Refusal::Expired);
        }
        if guest_redeemed >= i64::from(self.per_guest_limit) {
            return Err(Refusal::GuestLimit);
        }
        Ok(())
    }
}

/// Why a coupon cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotYetValid,
    Expired,
    GuestLimit,
    TotalLimit,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotYetValid => "coupon_not_yet_valid",
            Refusal::Expired => "coupon_expired",
            Refusal::GuestLimit => "coupon_already_used",
            Refusal::TotalLimit => "coupon_exhausted",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::NotYetValid => "This coupon cannot be used yet.",
            Refusal::Expired => "This coupon has expired.",
            Refusal::GuestLimit => "The guest has already used this coupon as often as allowed.",
            Refusal::TotalLimit => "This coupon has been used as often as allowed.",
        }
    }
}

/// Return on investment: (attributed revenue − cost) / cost; none without
/// a cost.
pub fn roi(revenue: i64, cost: i64) -> Option<f64> {
    (cost > 0).then(|| (revenue - cost) as f64 / cost as f64)
}

pub const MAX_ATTRIBUTION_DAYS: i32 = 180;
pub const DEFAULT_ATTRIBUTION_DAYS: i32 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_the_lifecycle() {
        use CampaignAction::*;
        use CampaignStatus::*;
        assert_eq!(Draft.apply(Schedule), Some(Scheduled));
        assert_eq!(Scheduled.apply(Unschedule), Some(Draft));
        assert_eq!(Scheduled.apply(Send), Some(Sending));
        assert_eq!(Sending.apply(Cancel), Some(Cancelled));
        assert_eq!(Sending.apply(Send), None);
        assert_eq!(Completed.apply(Cancel), None);
        assert_eq!(Cancelled.apply(Schedule), None);
        assert!(Draft.editable() && !Scheduled.editable());
    }

    #[test]
    fn patterns_make_personal_or_shared_codes() {
        let shared = CodePattern::parse(" spring25 ").unwrap();
        assert!(!shared.is_personal());
        assert_eq!(shared.generate(|| 7), "SPRING25");
        let personal = CodePattern::parse("SPR-********").unwrap();
        assert!(personal.is_personal());
        assert_eq!(personal.bits(), 40.0);
        let mut n = 0u32;
        let code = personal.generate(|| {
            n += 1;
            n
        });
        assert_eq!(code.len(), 12);
        assert!(code.starts_with("SPR-"));
        assert!(code[4..].chars().all(|c| ALNUM.contains(&(c as u8))));
        assert_eq!(
            CodePattern::parse("SPR-####").unwrap_err().code,
            "too_guessable"
        );
        assert_eq!(
            CodePattern::parse("SPR 25").unwrap_err().code,
            "invalid_character"
        );
        assert!(CodePattern::parse("#############").is_ok());
        assert!(CodePattern::parse("############").is_err());
    }

    #[test]
    fn discounts_never_exceed_the_booking() {
        assert_eq!(Discount::Percent(15).of(45_800), 6_870);
        assert_eq!(Discount::Percent(33).of(1_001), 330);
        assert_eq!(Discount::Percent(100).of(9_999), 9_999);
        assert_eq!(Discount::Amount(5_000).of(45_800), 5_000);
        assert_eq!(Discount::Amount(50_000).of(45_800), 45_800);
        assert_eq!(Discount::Percent(10).of(i64::MAX), i64::MAX / 10);
    }

    #[test]
    fn redemptions_respect_validity_and_the_guest_limit() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let terms = CouponTerms {
            pattern: CodePattern::parse("WINTER").unwrap(),
            discount: Discount::Percent(10),
            valid_from: d(12, 1),
            valid_until: d(12, 31),
            per_guest_limit: 1,
            total_limit: Some(100),
        };
        assert!(terms.validate().is_ok());
        assert_eq!(terms.check(d(11, 30), 0), Err(Refusal::NotYetValid));
        assert_eq!(terms.check(d(12, 1), 0), Ok(()));
        assert_eq!(terms.check(d(12, 31), 1), Err(Refusal::GuestLimit));
        assert_eq!(
            CouponTerms {
                valid_until: d(11, 1),
                per_guest_limit: 0,
                discount: Discount::Percent(0),
                ..terms.clone()
            }
            .validate()
            .unwrap_err()
            .into_field_errors()
            .len(),
            3
        );
    }

    #[test]
    fn roi_needs_a_cost() {
        assert_eq!(roi(300_000, 100_000), Some(2.0));
        assert_eq!(roi(50_000, 100_000), Some(-0.5));
        assert_eq!(roi(50_000, 0), None);
    }
}
