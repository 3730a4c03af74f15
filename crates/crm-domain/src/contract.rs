//! Contracts (合同管理) with corporate clients (协议客户), travel agencies,
//! OTAs and long-stay guests: templates of clauses with variables, the
//! contract lifecycle, negotiated rates, and the figures that say whether a
//! client produces what it promised (执行监控).

use crate::{DomainError, Errors, FieldError};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who the hotel signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Corporate,
    TravelAgency,
    Ota,
    LongStayGuest,
}

/// A person at the account: who to call about the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    /// 采购经理, travel coordinator…
    #[serde(default)]
    pub role: Option<String>,
    /// E.164 once stored.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Contact {
    /// Trims and bounds the texts, normalises the phone (with `region` as
    /// the default country) and the e-mail.
    pub fn parse(self, region: Option<crate::values::CountryCode>) -> Result<Contact, DomainError> {
        use crate::values::{bounded_text, required_text, Email, PhoneE164};
        let mut errors = Errors::new();
        let name = errors.check("name", required_text(&self.name, 200));
        let role = self
            .role
            .and_then(|r| errors.check("role", bounded_text(&r, 100)).flatten());
        let phone = self.phone.and_then(|p| {
            errors
                .check("phone", PhoneE164::parse(&p, region))
                .map(|p| p.as_str().to_string())
        });
        let email = self.email.and_then(|e| {
            errors
                .check("email", Email::parse(&e))
                .map(|e| e.as_str().to_string())
        });
        errors.finish()?;
        Ok(Contact {
            name: name.unwrap_or_default(),
            role,
            phone,
            email,
        })
    }
}

/// A template version: editable while a draft, never again once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    Draft,
    Published,
}

/// One version of a contract's terms: version 1 as first signed, then one
/// per amendment (补充协议).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TermsStatus {
    Draft,
    PendingSignature,
    /// Signed by both parties: in force unless a later version is.
    Signed,
    /// An amendment taken back before it was signed.
    Withdrawn,
}

/// What a clause is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClauseKind {
    /// 服务内容
    ServiceContent,
    /// 价格条款
    PriceTerms,
    PaymentTerms,
    CancellationTerms,
    /// 违约责任
    BreachLiability,
    /// 争议解决
    DisputeResolution,
    Confidentiality,
    Other,
}

/// One clause of a template: its body may use `{{variables}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub kind: ClauseKind,
    pub title: String,
    pub body: String,
}

/// The variables a clause may use, and what they stand for.
pub const TEMPLATE_VARIABLES: &[(&str, &str)] = &[
    ("hotel.name", "the organisation's name"),
    ("account.legal_name", "the counterparty's legal name"),
    ("account.tax_id", "its tax id (统一社会信用代码)"),
    ("account.address", "its address"),
    (
        "account.kind",
        "corporate, travel agency, OTA or long-stay guest",
    ),
    ("contract.code", "the contract code bookings quote"),
    ("contract.title", "the contract's title"),
    ("contract.valid_from", "first day of validity"),
    ("contract.valid_to", "last day of validity"),
    ("contract.currency", "the currency of its rates"),
    (
        "contract.room_night_commitment",
        "room-nights the client commits to",
    ),
    (
        "contract.allotment_per_night",
        "rooms held for it per night",
    ),
    ("contract.payment_terms", "payment terms"),
    ("contract.cancellation_terms", "cancellation terms"),
    ("contract.breach_penalty", "the penalty for breach"),
    (
        "contract.version",
        "the contract version (amendments count up)",
    ),
    ("properties", "the properties it covers"),
    ("rates_table", "the negotiated rates, as a table"),
];

pub fn is_template_variable(name: &str) -> bool {
    TEMPLATE_VARIABLES.iter().any(|(v, _)| *v == name)
}

pub use crate::template::{parse_body, Segment};

/// Checks a template's clauses: 1 to 100, titles and bodies present and
/// bounded, and every variable known. Errors name `clauses[i].body`.
pub fn validate_clauses(clauses: &[Clause]) -> Result<(), DomainError> {
    let mut errors = Errors::new();
    if clauses.is_empty() || clauses.len() > 100 {
        errors.push(FieldError::new(
            "clauses",
            "out_of_range",
            "1 to 100 clauses",
        ));
    }
    for (i, c) in clauses.iter().enumerate() {
        if c.title.trim().is_empty() || c.title.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("clauses[{i}].title"),
                "invalid",
                "a title of 1 to 200 characters",
            ));
        }
        if c.body.trim().is_empty() || c.body.chars().count() > 20_000 {
            errors.push(FieldError::new(
                format!("clauses[{i}].body"),
                "invalid",
                "a body of 1 to 20,000 characters",
            ));
            continue;
        }
        match parse_body(&c.body) {
            Err(why) => errors.push(FieldError::new(
                format!("clauses[{i}].body"),
                "invalid_template",
                why,
            )),
            Ok(segments) => {
                for s in segments {
                    if let Segment::Variable(name) = s {
                        if !is_template_variable(name) {
                            errors.push(FieldError::new(
                                format!("clauses[{i}].body"),
                                "unknown_variable",
                                format!("unknown variable `{{{{{name}}}}}`"),
                            ));
                        }
                    }
                }
            }
        }
    }
    errors.finish()
}

/// A contract's place in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    Draft,
    PendingSignature,
    Signed,
    Active,
    Expired,
    Terminated,
}

/// What can be done to a contract's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContractAction {
    /// Draft → pending signature: the terms are frozen for signing.
    Submit,
    /// Pending signature → draft, to change the terms again.
    Withdraw,
    /// Pending signature → signed, once every party has signed.
    CompleteSignatures,
    /// Signed → active (on or after the first day of validity).
    Activate,
    /// Active → expired, after the last day of validity.
    Expire,
    /// Any open contract → terminated, with a reason.
    Terminate,
}

impl ContractStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Draft => "draft",
            ContractStatus::PendingSignature => "pending_signature",
            ContractStatus::Signed => "signed",
            ContractStatus::Active => "active",
            ContractStatus::Expired => "expired",
            ContractStatus::Terminated => "terminated",
        }
    }

    /// The actions this status allows.
    pub fn allowed(self) -> &'static [ContractAction] {
        use ContractAction::*;
        match self {
            ContractStatus::Draft => &[Submit, Terminate],
            ContractStatus::PendingSignature => &[Withdraw, CompleteSignatures, Terminate],
            ContractStatus::Signed => &[Activate, Terminate],
            ContractStatus::Active => &[Expire, Terminate],
            ContractStatus::Expired | ContractStatus::Terminated => &[],
        }
    }

    /// The status after `action`, or the actions allowed instead.
    pub fn apply(
        self,
        action: ContractAction,
    ) -> Result<ContractStatus, &'static [ContractAction]> {
        if !self.allowed().contains(&action) {
            return Err(self.allowed());
        }
        Ok(match action {
            ContractAction::Submit => ContractStatus::PendingSignature,
            ContractAction::Withdraw => ContractStatus::Draft,
            ContractAction::CompleteSignatures => ContractStatus::Signed,
            ContractAction::Activate => ContractStatus::Active,
            ContractAction::Expire => ContractStatus::Expired,
            ContractAction::Terminate => ContractStatus::Terminated,
        })
    }

    /// Bookings may quote the contract's code.
    pub fn applies_to_bookings(self) -> bool {
        self == ContractStatus::Active
    }

    /// Signed or later: terms change only through amendments.
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            ContractStatus::Signed | ContractStatus::Active | ContractStatus::Expired
        )
    }
}

/// The two parties that sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SigningParty {
    Hotel,
    Counterparty,
}

impl SigningParty {
    pub const ALL: [SigningParty; 2] = [SigningParty::Hotel, SigningParty::Counterparty];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningParty::Hotel => "hotel",
            SigningParty::Counterparty => "counterparty",
        }
    }
}

/// What a booking outside the contract's validity or over its allotment
/// gets: refused, or kept with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    #[default]
    Reject,
    Warn,
}

/// A season of a negotiated rate: `[from, to]`, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Season {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub to: NaiveDate,
}

/// One negotiated rate (协议价): a price per night for a room type (and
/// rate plan, if named) at a property, in the seasons listed (all of the
/// contract's validity when none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NegotiatedRate {
    pub property_id: String,
    pub room_type_id: String,
    pub rate_plan_id: Option<String>,
    /// Minor units of the contract's currency.
    pub price_per_night: i64,
    pub seasons: Vec<Season>,
    pub breakfast_included: bool,
}

impl NegotiatedRate {
    fn covers(&self, night: NaiveDate) -> bool {
        self.seasons.is_empty()
            || self
                .seasons
                .iter()
                .any(|s| s.from <= night && night <= s.to)
    }
}

/// The negotiated price of one night: of the rates for this property and
/// room type that cover the night, one for the rate plan beats one for any
/// plan, and a seasonal one beats one for the whole validity.
pub fn night_price(
    rates: &[NegotiatedRate],
    property_id: &str,
    room_type_id: &str,
    rate_plan_id: &str,
    night: NaiveDate,
) -> Option<i64> {
    rates
        .iter()
        .filter(|r| r.property_id == property_id && r.room_type_id == room_type_id)
        .filter(|r| r.rate_plan_id.as_deref().is_none_or(|p| p == rate_plan_id))
        .filter(|r| r.covers(night))
        .max_by_key(|r| (r.rate_plan_id.is_some(), !r.seasons.is_empty()))
        .map(|r| r.price_per_night)
}

/// The negotiated amount of a stay `[arrival, departure)`, or `None` when a
/// night has no negotiated rate.
pub fn stay_price(
    rates: &[NegotiatedRate],
    property_id: &str,
    room_type_id: &str,
    rate_plan_id: &str,
    arrival: NaiveDate,
    departure: NaiveDate,
) -> Option<i64> {
    let mut total = 0i64;
    let mut night = arrival;
    while night < departure {
        total = total.checked_add(night_price(
            rates,
            property_id,
            room_type_id,
            rate_plan_id,
            night,
        )?)?;
        night += Duration::days(1);
    }
    Some(total)
}

/// Checks a contract's rates and seasons against its validity.
pub fn validate_rates(
    rates: &[NegotiatedRate],
    valid_from: NaiveDate,
    valid_to: NaiveDate,
) -> Result<(), DomainError> {
    let mut errors = Errors::new();
    if valid_to < valid_from {
        errors.push(FieldError::new(
            "valid_to",
            "invalid_range",
            "on or after valid_from",
        ));
    }
    if (valid_to - valid_from).num_days() > 366 * 10 {
        errors.push(FieldError::new(
            "valid_to",
            "out_of_range",
            "at most ten years after valid_from",
        ));
    }
    if rates.len() > 500 {
        errors.push(FieldError::new(
            "rates",
            "out_of_range",
            "at most 500 rates",
        ));
    }
    for (i, r) in rates.iter().enumerate() {
        if r.price_per_night <= 0 || r.price_per_night > 100_000_000 {
            errors.push(FieldError::new(
                format!("rates[{i}].price_per_night"),
                "out_of_range",
                "a positive amount of at most 100,000,000 minor units",
            ));
        }
        if r.seasons.len() > 50 {
            errors.push(FieldError::new(
                format!("rates[{i}].seasons"),
                "out_of_range",
                "at most 50 seasons",
            ));
        }
        for (j, s) in r.seasons.iter().enumerate() {
            if s.to < s.from || s.from < valid_from || s.to > valid_to {
                errors.push(FieldError::new(
                    format!("rates[{i}].seasons[{j}]"),
                    "invalid_range",
                    "from ≤ to, within the contract's validity",
                ));
            }
        }
    }
    errors.finish()
}

/// One booked room stay under a contract, as performance counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractStay {
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    /// Minor units: what the stay was booked at (or, once checked out,
    /// what it produced).
    pub revenue: i64,
    /// Booked at another amount than the negotiated one.
    pub off_rate: bool,
    pub state: StayState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StayState {
    /// Checked out: produced.
    Produced,
    /// Confirmed or in house: on the books.
    OnTheBooks,
    /// Cancelled or no-show.
    Lost,
}

/// One calendar month of a contract's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthFigures {
    /// `2027-03`.
    pub month: String,
    pub produced_room_nights: i64,
    /// Minor units.
    pub produced_revenue: i64,
    pub on_the_books_room_nights: i64,
    pub on_the_books_revenue: i64,
    /// Room-nights booked at another amount than the negotiated rate.
    pub off_rate_room_nights: i64,
    /// Room stays cancelled or not shown, by month of arrival.
    pub cancellations: i64,
}

/// Spreads each stay over the months of its nights (revenue pro rata per
/// night, remainders on the first nights, so the months add up exactly).
pub fn monthly_figures(stays: &[ContractStay]) -> Vec<MonthFigures> {
    let mut months: BTreeMap<(i32, u32), MonthFigures> = BTreeMap::new();
    let key = |d: NaiveDate| (d.year(), d.month());
    for s in stays {
        if s.state == StayState::Lost {
            months.entry(key(s.arrival)).or_default().cancellations += 1;
            continue;
        }
        let nights = (s.departure - s.arrival).num_days();
        if nights <= 0 {
            continue;
        }
        let (share, remainder) = (s.revenue / nights, s.revenue % nights);
        for i in 0..nights {
            let night = s.arrival + Duration::days(i);
            let revenue = share + i64::from(i < remainder);
            let m = months.entry(key(night)).or_default();
            match s.state {
                StayState::Produced => {
                    m.produced_room_nights += 1;
                    m.produced_revenue += revenue;
                }
                StayState::OnTheBooks => {
                    m.on_the_books_room_nights += 1;
                    m.on_the_books_revenue += revenue;
                }
                StayState::Lost => {}
            }
            if s.off_rate {
                m.off_rate_room_nights += 1;
            }
        }
    }
    months
        .into_iter()
        .map(|((y, m), mut f)| {
            f.month = format!("{y:04}-{m:02}");
            f
        })
        .collect()
}

/// How production compares with the commitment, given how much of the
/// validity has passed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pace {
    pub committed_room_nights: i64,
    pub produced_room_nights: i64,
    /// Share of the validity elapsed, 0 to 1.
    pub elapsed: f64,
    /// What the commitment asks for by today, pro rata.
    pub expected_by_now: i64,
    /// produced / expected by now (1 = on pace); `None` before anything is
    /// expected.
    pub ratio: Option<f64>,
}

pub fn pace(
    committed: i64,
    produced: i64,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    today: NaiveDate,
) -> Pace {
    let total_days = ((valid_to - valid_from).num_days() + 1).max(1);
    let elapsed_days = ((today - valid_from).num_days()).clamp(0, total_days);
    let elapsed = elapsed_days as f64 / total_days as f64;
    let expected = (committed as f64 * elapsed).round() as i64;
    Pace {
        committed_room_nights: committed,
        produced_room_nights: produced,
        elapsed,
        expected_by_now: expected,
        ratio: (expected > 0).then(|| produced as f64 / expected as f64),
    }
}

/// The expiry reminders: the smallest of 30/60/90 days that `valid_to` is
/// within, counted from `today`.
pub fn expiry_window(valid_to: NaiveDate, today: NaiveDate) -> Option<i64> {
    let left = (valid_to - today).num_days();
    [30, 60, 90].into_iter().find(|w| left >= 0 && left <= *w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn clause(body: &str) -> Clause {
        Clause {
            kind: ClauseKind::PriceTerms,
            title: "价格条款".into(),
            body: body.into(),
        }
    }

    #[test]
    fn bodies_split_into_text_and_variables() {
        let s = parse_body("甲方：{{ account.legal_name }}，自{{contract.valid_from}}起").unwrap();
        assert_eq!(
            s,
            vec![
                Segment::Text("甲方："),
                Segment::Variable("account.legal_name"),
                Segment::Text("，自"),
                Segment::Variable("contract.valid_from"),
                Segment::Text("起"),
            ]
        );
        assert!(parse_body("unclosed {{ account.legal_name").is_err());
        assert!(parse_body("empty {{ }}").is_err());
    }

    #[test]
    fn unknown_variables_are_named_with_their_clause() {
        let ok = [clause("{{rates_table}}"), clause("no variables")];
        assert!(validate_clauses(&ok).is_ok());
        let bad = [
            clause("ok"),
            clause("{{account.nickname}} and {{rates_table}}"),
        ];
        let errors = validate_clauses(&bad).unwrap_err().into_field_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "clauses[1].body");
        assert_eq!(errors[0].code, "unknown_variable");
        assert!(errors[0].message.contains("account.nickname"));
        assert!(validate_clauses(&[]).is_err());
    }

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        use ContractAction::*;
        let s = ContractStatus::Draft;
        let s = s.apply(Submit).unwrap();
        assert_eq!(s, ContractStatus::PendingSignature);
        assert_eq!(
            s.apply(Activate),
            Err(&[Withdraw, CompleteSignatures, Terminate][..])
        );
        let s = s
            .apply(CompleteSignatures)
            .unwrap()
            .apply(Activate)
            .unwrap();
        assert_eq!(s, ContractStatus::Active);
        assert!(s.applies_to_bookings());
        let s = s.apply(Expire).unwrap();
        assert_eq!(s.apply(Terminate), Err(&[][..]));
        assert!(ContractStatus::Signed.is_signed());
        assert!(!ContractStatus::PendingSignature.is_signed());
    }

    fn rate(plan: Option<&str>, price: i64, seasons: Vec<Season>) -> NegotiatedRate {
        NegotiatedRate {
            property_id: "p".into(),
            room_type_id: "dlk".into(),
            rate_plan_id: plan.map(String::from),
            price_per_night: price,
            seasons,
            breakfast_included: true,
        }
    }

    #[test]
    fn the_most_specific_rate_prices_each_night() {
        let summer = Season {
            from: d("2027-07-01"),
            to: d("2027-08-31"),
        };
        let rates = [
            rate(None, 40000, vec![]),
            rate(None, 52000, vec![summer]),
            rate(Some("bar"), 38000, vec![]),
        ];
        assert_eq!(
            night_price(&rates, "p", "dlk", "nrf", d("2027-03-01")),
            Some(40000)
        );
        assert_eq!(
            night_price(&rates, "p", "dlk", "nrf", d("2027-07-01")),
            Some(52000)
        );
        assert_eq!(
            night_price(&rates, "p", "dlk", "bar", d("2027-07-01")),
            Some(38000)
        );
        assert_eq!(
            night_price(&rates, "p", "twn", "bar", d("2027-07-01")),
            None
        );
        // A stay across the season boundary: one night each.
        assert_eq!(
            stay_price(&rates, "p", "dlk", "nrf", d("2027-08-31"), d("2027-09-02")),
            Some(52000 + 40000)
        );
        assert_eq!(
            stay_price(
                &[rate(None, 1, vec![summer])],
                "p",
                "dlk",
                "x",
                d("2027-08-31"),
                d("2027-09-02")
            ),
            None,
            "a night without a rate"
        );
    }

    #[test]
    fn seasons_must_lie_within_the_validity() {
        let rates = [rate(
            None,
            40000,
            vec![Season {
                from: d("2026-12-01"),
                to: d("2027-01-31"),
            }],
        )];
        let errors = validate_rates(&rates, d("2027-01-01"), d("2027-12-31"))
            .unwrap_err()
            .into_field_errors();
        assert_eq!(errors[0].field, "rates[0].seasons[0]");
        assert!(
            validate_rates(&[rate(None, 0, vec![])], d("2027-01-01"), d("2027-12-31")).is_err()
        );
        assert!(validate_rates(&[], d("2027-02-01"), d("2027-01-01")).is_err());
    }

    #[test]
    fn months_split_nights_and_revenue_exactly() {
        let stays = [
            ContractStay {
                arrival: d("2027-01-31"),
                departure: d("2027-02-02"),
                revenue: 10001,
                off_rate: false,
                state: StayState::Produced,
            },
            ContractStay {
                arrival: d("2027-02-10"),
                departure: d("2027-02-11"),
                revenue: 500,
                off_rate: true,
                state: StayState::OnTheBooks,
            },
            ContractStay {
                arrival: d("2027-02-12"),
                departure: d("2027-02-14"),
                revenue: 900,
                off_rate: false,
                state: StayState::Lost,
            },
        ];
        let m = monthly_figures(&stays);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].month, "2027-01");
        assert_eq!(
            (m[0].produced_room_nights, m[0].produced_revenue),
            (1, 5001)
        );
        assert_eq!(
            (m[1].produced_room_nights, m[1].produced_revenue),
            (1, 5000)
        );
        assert_eq!(
            (m[1].on_the_books_room_nights, m[1].off_rate_room_nights),
            (1, 1)
        );
        assert_eq!(m[1].cancellations, 1);
    }

    #[test]
    fn pace_is_production_against_the_commitment_so_far() {
        let p = pace(730, 150, d("2027-01-01"), d("2027-12-31"), d("2027-07-02"));
        assert_eq!(p.expected_by_now, 364);
        assert!((p.ratio.unwrap() - 150.0 / 364.0).abs() < 1e-9);
        let before = pace(730, 0, d("2027-01-01"), d("2027-12-31"), d("2026-12-01"));
        assert_eq!((before.expected_by_now, before.ratio), (0, None));
    }

    #[test]
    fn expiry_reminders_come_at_90_60_and_30_days() {
        let to = d("2027-12-31");
        assert_eq!(expiry_window(to, d("2027-09-01")), None);
        assert_eq!(expiry_window(to, d("2027-10-02")), Some(90));
        assert_eq!(expiry_window(to, d("2027-11-01")), Some(60));
        assert_eq!(expiry_window(to, d("2027-12-31")), Some(30));
        assert_eq!(expiry_window(to, d("2028-01-01")), None);
    }
}
