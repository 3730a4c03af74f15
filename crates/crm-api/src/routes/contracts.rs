//! Contracts (合同): made from a published template version for an account,
//! with negotiated rates, commitment and allotment; signed electronically
//! by both parties (the document's SHA-256 recorded, the signed PDF
//! archived); changed after signing only by amendments, each a new version
//! of the terms; monitored for production, pace and rate compliance.

use crate::audit::Actor;
use crate::auth::{roles, Auth};
use crate::contracts::{document_data, document_sha256};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    apply_merge_patch, etag_for, ApiJson, IfMatch, ListResponse, PageParams, RequestId,
};
use crate::routes::reservations::Money;
use crate::routes::{or_not_found, path_id};
use crate::state::AppState;
use actix_web::{get, http::header, http::StatusCode, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::contract::{
    monthly_figures, pace, validate_rates, ContractAction, ContractStatus, ContractStay,
    Enforcement, MonthFigures, NegotiatedRate, Pace, Season, SigningParty, StayState,
    TemplateStatus, TermsStatus,
};
use crm_domain::reservation::ReservationStatus;
use crm_domain::values::{bounded_text, required_text, CurrencyCode};
use crm_domain::{Errors, FieldError};
use crm_storage::contracts::{self as store, Contract, ContractFilter, Signature, Terms};
use crm_storage::{inventory, properties, DbConnection, StorageError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One negotiated rate as written: ids of the property, room type and
/// (optionally) rate plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateWrite {
    pub property_id: String,
    pub room_type_id: String,
    /// Only this rate plan; any when omitted.
    #[serde(default)]
    pub rate_plan_id: Option<String>,
    /// Minor units of the contract's currency.
    pub price_per_night: i64,
    /// Date ranges (both days included) it applies to; the whole validity
    /// when empty.
    #[serde(default)]
    pub seasons: Vec<Season>,
    #[serde(default)]
    pub breakfast_included: bool,
}

/// The terms of a contract, as written for a new contract, a draft's merge
/// patch or an amendment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "code": "CORP-ACME-2027", "title": "2027 年度协议客户合同", "account_id": "019ab1c2-0000-7000-8000-0000000000a9",
    "template_id": "019ab1c2-0000-7000-8000-0000000000e1", "template_version": 1,
    "property_ids": ["019ab1c2-0000-7000-8000-0000000000b1"],
    "valid_from": "2027-01-01", "valid_to": "2027-12-31", "currency": "CNY",
    "rates": [{"property_id": "019ab1c2-0000-7000-8000-0000000000b1", "room_type_id": "019ab1c2-0000-7000-8000-0000000000a1",
               "price_per_night": 42800, "breakfast_included": true}],
    "room_night_commitment": 800, "allotment_per_night": 5, "enforcement": "reject",
    "payment_terms": "月结，发票后 30 天内付款", "cancellation_terms": "入住前 24 小时免费取消",
    "breach_penalty": "未达承诺间夜数 80% 时，按差额间夜的 20% 计收违约金", "pace_alert_percent": 80
}))]
pub struct TermsWrite {
    /// What bookings quote: letters, digits, `-`, `_` (upper-cased).
    pub code: String,
    pub title: String,
    pub account_id: String,
    pub template_id: String,
    /// A published version; the latest published one when omitted.
    #[serde(default)]
    pub template_version: Option<i32>,
    pub property_ids: Vec<String>,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    /// Last day of validity, included.
    #[schema(value_type = String, format = Date)]
    pub valid_to: NaiveDate,
    /// ISO 4217; the properties' currency when omitted (all must share it).
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub rates: Vec<RateWrite>,
    /// Room-nights the client commits to over the validity.
    #[serde(default)]
    pub room_night_commitment: i32,
    /// Rooms per night the hotel holds for it.
    #[serde(default)]
    pub allotment_per_night: Option<i32>,
    /// What a booking outside the validity or over the allotment gets.
    #[serde(default)]
    pub enforcement: Enforcement,
    #[serde(default)]
    pub payment_terms: Option<String>,
    #[serde(default)]
    pub cancellation_terms: Option<String>,
    #[serde(default)]
    pub breach_penalty: Option<String>,
    /// Production under this share of the pro-rata commitment raises an
    /// alert; default 80.
    #[serde(default)]
    pub pace_alert_percent: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TermsDto {
    pub number: i32,
    pub status: TermsStatus,
    pub template_id: String,
    pub template_version: i32,
    pub title: String,
    pub property_ids: Vec<String>,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_to: NaiveDate,
    pub currency: String,
    pub rates: Vec<RateDto>,
    pub room_night_commitment: i32,
    pub allotment_per_night: Option<i32>,
    pub enforcement: Enforcement,
    pub payment_terms: Option<String>,
    pub cancellation_terms: Option<String>,
    pub breach_penalty: Option<String>,
    pub pace_alert_percent: i32,
    pub amendment_reason: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub signed_at: Option<DateTime<Utc>>,
    pub signatures: Vec<SignatureDto>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateDto {
    pub property_id: String,
    pub room_type_id: String,
    pub rate_plan_id: Option<String>,
    pub price_per_night: Money,
    pub seasons: Vec<Season>,
    pub breakfast_included: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureDto {
    pub party: SigningParty,
    pub signer_name: String,
    pub signer_title: Option<String>,
    pub signed_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub consent_text: String,
    /// SHA-256 (hex) of the canonical document signed.
    pub document_sha256: String,
    pub recorded_by: String,
}

impl From<Signature> for SignatureDto {
    fn from(s: Signature) -> Self {
        SignatureDto {
            party: s.party,
            signer_name: s.signer_name,
            signer_title: s.signer_title,
            signed_at: s.signed_at,
            ip: s.ip,
            user_agent: s.user_agent,
            consent_text: s.consent_text,
            document_sha256: s.document_sha256,
            recorded_by: s.recorded_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractDto {
    pub id: String,
    pub code: String,
    pub account_id: String,
    pub status: ContractStatus,
    /// What may be done next (`submit`, `withdraw`, `activate`,
    /// `terminate`…); `sign` while a version awaits signatures.
    pub allowed_actions: Vec<ContractAction>,
    /// The version of the terms in force (or being signed, before the
    /// contract is first signed).
    pub current_version: i32,
    pub terms: TermsDto,
    /// An amendment awaiting signatures, if any.
    pub pending_amendment: Option<TermsDto>,
    pub terminated_reason: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything about one contract, read in one go.
struct Loaded {
    contract: Contract,
    versions: Vec<Terms>,
    signatures: Vec<Signature>,
    template_numbers: Vec<(String, String, i32)>,
}

fn terms_dto(t: &Terms, l: &Loaded) -> TermsDto {
    let (template_id, template_version) = l
        .template_numbers
        .iter()
        .find(|(id, _, _)| *id == t.template_version_id)
        .map(|(_, template, n)| (template.clone(), *n))
        .unwrap_or_default();
    TermsDto {
        number: t.number,
        status: t.status,
        template_id,
        template_version,
        title: t.title.clone(),
        property_ids: t.property_ids.clone(),
        valid_from: t.valid_from,
        valid_to: t.valid_to,
        currency: t.currency.clone(),
        rates: t
            .rates
            .iter()
            .map(|r| RateDto {
                property_id: r.property_id.clone(),
                room_type_id: r.room_type_id.clone(),
                rate_plan_id: r.rate_plan_id.clone(),
                price_per_night: Money {
                    amount: r.price_per_night,
                    currency: t.currency.clone(),
                },
                seasons: r.seasons.clone(),
                breakfast_included: r.breakfast_included,
            })
            .collect(),
        room_night_commitment: t.room_night_commitment,
        allotment_per_night: t.allotment_per_night,
        enforcement: t.enforcement,
        payment_terms: t.payment_terms.clone(),
        cancellation_terms: t.cancellation_terms.clone(),
        breach_penalty: t.breach_penalty.clone(),
        pace_alert_percent: t.pace_alert_percent,
        amendment_reason: t.amendment_reason.clone(),
        submitted_at: t.submitted_at,
        signed_at: t.signed_at,
        signatures: l
            .signatures
            .iter()
            .filter(|s| s.version_number == t.number)
            .cloned()
            .map(SignatureDto::from)
            .collect(),
        created_at: t.created_at,
    }
}

fn pending_amendment(l: &Loaded) -> Option<&Terms> {
    l.versions.iter().find(|t| {
        t.number > l.contract.current_version && t.status == TermsStatus::PendingSignature
    })
}

/// The version that `sign` signs: the first version while the contract
/// awaits signatures, else a pending amendment.
fn version_to_sign(l: &Loaded) -> Option<&Terms> {
    if l.contract.status == ContractStatus::PendingSignature {
        return l
            .versions
            .iter()
            .find(|t| t.number == l.contract.current_version);
    }
    pending_amendment(l)
}

fn allowed_actions(l: &Loaded) -> Vec<ContractAction> {
    let mut actions: Vec<ContractAction> = l
        .contract
        .status
        .allowed()
        .iter()
        .copied()
        .filter(|a| *a != ContractAction::CompleteSignatures)
        .collect();
    if pending_amendment(l).is_some() && !actions.contains(&ContractAction::Withdraw) {
        actions.push(ContractAction::Withdraw);
    }
    actions
}

fn contract_dto(l: &Loaded) -> ContractDto {
    let c = &l.contract;
    let current = l
        .versions
        .iter()
        .find(|t| t.number == c.current_version)
        .or(l.versions.first());
    ContractDto {
        id: c.id.clone(),
        code: c.code.clone(),
        account_id: c.account_id.clone(),
        status: c.status,
        allowed_actions: allowed_actions(l),
        current_version: c.current_version,
        terms: current.map(|t| terms_dto(t, l)).unwrap_or_else(empty_terms),
        pending_amendment: pending_amendment(l).map(|t| terms_dto(t, l)),
        terminated_reason: c.terminated_reason.clone(),
        status_changed_at: c.status_changed_at,
        version: c.version,
        created_by: c.created_by.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// Never shown: every contract is written with its first version.
fn empty_terms() -> TermsDto {
    TermsDto {
        number: 0,
        status: TermsStatus::Draft,
        template_id: String::new(),
        template_version: 0,
        title: String::new(),
        property_ids: Vec::new(),
        valid_from: NaiveDate::MIN,
        valid_to: NaiveDate::MIN,
        currency: String::new(),
        rates: Vec::new(),
        room_night_commitment: 0,
        allotment_per_night: None,
        enforcement: Enforcement::Reject,
        payment_terms: None,
        cancellation_terms: None,
        breach_penalty: None,
        pace_alert_percent: 0,
        amendment_reason: None,
        submitted_at: None,
        signed_at: None,
        signatures: Vec::new(),
        created_at: DateTime::<Utc>::MIN_UTC,
    }
}

fn response(status: StatusCode, l: &Loaded) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, etag_for(l.contract.version)));
    if status == StatusCode::CREATED {
        res.insert_header((
            header::LOCATION,
            format!("/api/v1/contracts/{}", l.contract.id),
        ));
    }
    res.json(contract_dto(l))
}

fn load(conn: &mut DbConnection, org: &str, id: &str) -> Result<Loaded, ApiError> {
    let contract = store::find_contract(conn, org, id)
        .map_err(|e| or_not_found("contract_not_found", "contract")(e.into()))?;
    let versions = store::all_terms(conn, org, id)?;
    let signatures = store::signatures(conn, org, id)?;
    let mut template_numbers = Vec::new();
    for t in &versions {
        if !template_numbers
            .iter()
            .any(|(v, _, _)| *v == t.template_version_id)
        {
            let tv = store::find_template_version_by_id(conn, org, &t.template_version_id)?;
            template_numbers.push((tv.id, tv.template_id, tv.number));
        }
    }
    Ok(Loaded {
        contract,
        versions,
        signatures,
        template_numbers,
    })
}

fn write_of(c: &Contract, t: &Terms, l: &Loaded) -> TermsWrite {
    let (template_id, number) = l
        .template_numbers
        .iter()
        .find(|(id, _, _)| *id == t.template_version_id)
        .map(|(_, template, n)| (template.clone(), Some(*n)))
        .unwrap_or_default();
    TermsWrite {
        code: c.code.clone(),
        title: t.title.clone(),
        account_id: c.account_id.clone(),
        template_id,
        template_version: number,
        property_ids: t.property_ids.clone(),
        valid_from: t.valid_from,
        valid_to: t.valid_to,
        currency: Some(t.currency.clone()),
        rates: t
            .rates
            .iter()
            .map(|r| RateWrite {
                property_id: r.property_id.clone(),
                room_type_id: r.room_type_id.clone(),
                rate_plan_id: r.rate_plan_id.clone(),
                price_per_night: r.price_per_night,
                seasons: r.seasons.clone(),
                breakfast_included: r.breakfast_included,
            })
            .collect(),
        room_night_commitment: t.room_night_commitment,
        allotment_per_night: t.allotment_per_night,
        enforcement: t.enforcement,
        payment_terms: t.payment_terms.clone(),
        cancellation_terms: t.cancellation_terms.clone(),
        breach_penalty: t.breach_penalty.clone(),
        pace_alert_percent: Some(t.pace_alert_percent),
    }
}

/// Terms validated against the organisation's data.
struct CheckedTerms {
    code: String,
    account_id: String,
    template_version_id: String,
    title: String,
    property_ids: Vec<String>,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    currency: String,
    rates: Vec<NegotiatedRate>,
    room_night_commitment: i32,
    allotment_per_night: Option<i32>,
    enforcement: Enforcement,
    payment_terms: Option<String>,
    cancellation_terms: Option<String>,
    breach_penalty: Option<String>,
    pace_alert_percent: i32,
}

fn uuid_of(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw).ok().map(|u| u.to_string())
}

fn check_terms(
    conn: &mut DbConnection,
    org: &str,
    w: TermsWrite,
) -> Result<CheckedTerms, ApiError> {
    let mut errors = Errors::new();
    let code = w.code.trim().to_ascii_uppercase();
    if code.len() < 2
        || code.len() > 40
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(FieldError::new(
            "code",
            "invalid_code",
            "2 to 40 letters, digits, `-` or `_`",
        ));
    }
    let title = errors.check("title", required_text(&w.title, 200));
    let bounded = |errors: &mut Errors, field: &str, v: Option<String>| {
        v.and_then(|t| errors.check(field, bounded_text(&t, 4000)).flatten())
    };
    let payment_terms = bounded(&mut errors, "payment_terms", w.payment_terms);
    let cancellation_terms = bounded(&mut errors, "cancellation_terms", w.cancellation_terms);
    let breach_penalty = bounded(&mut errors, "breach_penalty", w.breach_penalty);
    let account_id = match uuid_of(&w.account_id) {
        Some(id) => match crm_storage::accounts::find(conn, org, &id) {
            Ok(a) => Some(a.id),
            Err(StorageError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    if account_id.is_none() {
        errors.push(FieldError::new(
            "account_id",
            "unknown_account",
            "no such account",
        ));
    }
    let template_version = match uuid_of(&w.template_id) {
        Some(id) => {
            let versions = store::template_versions(conn, org, &id)?;
            let mut published = versions
                .into_iter()
                .filter(|v| v.status == TemplateStatus::Published);
            match w.template_version {
                Some(n) => published.into_iter().find(|v| v.number == n),
                None => published.next_back(),
            }
        }
        None => None,
    };
    if template_version.is_none() {
        errors.push(FieldError::new(
            "template_version",
            "template_version_not_published",
            "a published version of one of the organisation's templates",
        ));
    }
    if w.property_ids.is_empty() || w.property_ids.len() > 100 {
        errors.push(FieldError::new(
            "property_ids",
            "out_of_range",
            "1 to 100 properties",
        ));
    }
    let mut property_ids: Vec<String> = Vec::new();
    let mut currencies = Vec::new();
    for (i, raw) in w.property_ids.iter().enumerate() {
        let found = match uuid_of(raw) {
            Some(id) => match properties::find(conn, org, &id) {
                Ok(p) => Some(p),
                Err(StorageError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        match found {
            Some(p) if !property_ids.contains(&p.id) => {
                currencies.push(p.currency.clone());
                property_ids.push(p.id);
            }
            Some(_) => {}
            None => errors.push(FieldError::new(
                format!("property_ids[{i}]"),
                "unknown_property",
                "no such property",
            )),
        }
    }
    let currency = match &w.currency {
        Some(c) => errors
            .check("currency", CurrencyCode::parse(c))
            .map(|c| c.as_str().to_string()),
        None => currencies.first().cloned(),
    };
    if let Some(c) = &currency {
        if currencies.iter().any(|pc| pc != c) {
            errors.push(FieldError::new(
                "currency",
                "currency_mismatch",
                "every property of the contract must sell in its currency",
            ));
        }
    }
    if w.rates.len() > 500 {
        errors.push(FieldError::new(
            "rates",
            "out_of_range",
            "at most 500 rates",
        ));
    }
    let mut rates = Vec::new();
    for (i, r) in w.rates.iter().enumerate().take(500) {
        let at = |f: &str| format!("rates[{i}].{f}");
        let property = uuid_of(&r.property_id).filter(|p| property_ids.contains(p));
        if property.is_none() {
            errors.push(FieldError::new(
                at("property_id"),
                "unknown_property",
                "one of the contract's properties",
            ));
        }
        let room_type = match (uuid_of(&r.room_type_id), &property) {
            (Some(id), Some(p)) => match inventory::find_room_type(conn, org, &id) {
                Ok(t) if t.property_id == *p => Some(t.id),
                Ok(_) | Err(StorageError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            _ => None,
        };
        if room_type.is_none() && property.is_some() {
            errors.push(FieldError::new(
                at("room_type_id"),
                "unknown_room_type",
                "a room type of that property",
            ));
        }
        let rate_plan = match (&r.rate_plan_id, &property) {
            (None, _) => Some(None),
            (Some(raw), Some(p)) => match uuid_of(raw) {
                Some(id) => match inventory::find_rate_plan(conn, org, &id) {
                    Ok(plan) if plan.property_id == *p => Some(Some(plan.id)),
                    Ok(_) | Err(StorageError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            },
            (Some(_), None) => None,
        };
        if rate_plan.is_none() && property.is_some() {
            errors.push(FieldError::new(
                at("rate_plan_id"),
                "unknown_rate_plan",
                "a rate plan of that property",
            ));
        }
        if let (Some(property_id), Some(room_type_id), Some(rate_plan_id)) =
            (property, room_type, rate_plan)
        {
            rates.push(NegotiatedRate {
                property_id,
                room_type_id,
                rate_plan_id,
                price_per_night: r.price_per_night,
                seasons: r.seasons.clone(),
                breakfast_included: r.breakfast_included,
            });
        }
    }
    if let Err(e) = validate_rates(&rates, w.valid_from, w.valid_to) {
        e.into_field_errors()
            .into_iter()
            .for_each(|f| errors.push(f));
    }
    if !(0..=10_000_000).contains(&w.room_night_commitment) {
        errors.push(FieldError::new(
            "room_night_commitment",
            "out_of_range",
            "0 to 10,000,000 room-nights",
        ));
    }
    if w.allotment_per_night
        .is_some_and(|a| !(1..=10_000).contains(&a))
    {
        errors.push(FieldError::new(
            "allotment_per_night",
            "out_of_range",
            "1 to 10,000 rooms",
        ));
    }
    let pace_alert_percent = w.pace_alert_percent.unwrap_or(80);
    if !(1..=100).contains(&pace_alert_percent) {
        errors.push(FieldError::new(
            "pace_alert_percent",
            "out_of_range",
            "1 to 100",
        ));
    }
    errors.finish()?;
    Ok(CheckedTerms {
        code,
        account_id: account_id.unwrap_or_default(),
        template_version_id: template_version.map(|v| v.id).unwrap_or_default(),
        title: title.unwrap_or_default(),
        property_ids,
        valid_from: w.valid_from,
        valid_to: w.valid_to,
        currency: currency.unwrap_or_default(),
        rates,
        room_night_commitment: w.room_night_commitment,
        allotment_per_night: w.allotment_per_night,
        enforcement: w.enforcement,
        payment_terms,
        cancellation_terms,
        breach_penalty,
        pace_alert_percent,
    })
}

fn apply_checked(t: &mut Terms, c: CheckedTerms) {
    t.template_version_id = c.template_version_id;
    t.title = c.title;
    t.property_ids = c.property_ids;
    t.valid_from = c.valid_from;
    t.valid_to = c.valid_to;
    t.currency = c.currency;
    t.rates = c.rates;
    t.room_night_commitment = c.room_night_commitment;
    t.allotment_per_night = c.allotment_per_night;
    t.enforcement = c.enforcement;
    t.payment_terms = c.payment_terms;
    t.cancellation_terms = c.cancellation_terms;
    t.breach_penalty = c.breach_penalty;
    t.pace_alert_percent = c.pace_alert_percent;
}

fn code_taken(e: StorageError) -> ApiError {
    match e {
        StorageError::Duplicate { .. } => ApiError::conflict(
            "contract_code_taken",
            "Another contract already has this code.",
        ),
        other => other.into(),
    }
}

/// A 409 naming what may be done instead.
fn not_allowed(action: ContractAction, l: &Loaded) -> ApiError {
    let allowed = allowed_actions(l);
    ApiError::conflict(
        "invalid_status_transition",
        format!(
            "A {} contract cannot be {}; allowed: {}.",
            l.contract.status.as_str(),
            action_past(action),
            if allowed.is_empty() {
                "nothing, it is closed".to_string()
            } else {
                allowed
                    .iter()
                    .map(|a| action_name(*a))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    )
    .with_extension("allowed_actions", serde_json::json!(allowed))
}

fn action_name(a: ContractAction) -> &'static str {
    match a {
        ContractAction::Submit => "submit",
        ContractAction::Withdraw => "withdraw",
        ContractAction::CompleteSignatures => "complete_signatures",
        ContractAction::Activate => "activate",
        ContractAction::Expire => "expire",
        ContractAction::Terminate => "terminate",
    }
}

fn action_past(a: ContractAction) -> &'static str {
    match a {
        ContractAction::Submit => "submitted for signature",
        ContractAction::Withdraw => "withdrawn",
        ContractAction::CompleteSignatures => "signed",
        ContractAction::Activate => "activated",
        ContractAction::Expire => "expired",
        ContractAction::Terminate => "terminated",
    }
}

/// Create a contract (a draft, version 1 of its terms).
#[utoipa::path(
    operation_id = "createContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    request_body = TermsWrite,
    responses(
        (status = 201, description = "Created as a draft.", body = ContractDto),
        (status = 409, description = "The code is taken (`contract_code_taken`).", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts")]
pub async fn create_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    body: ApiJson<TermsWrite>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let write = body.0;
    let l = state
        .write(move |conn| {
            let c = check_terms(conn, &org, write)?;
            let contract = Contract {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                code: c.code.clone(),
                account_id: c.account_id.clone(),
                status: ContractStatus::Draft,
                current_version: 1,
                terminated_reason: None,
                status_changed_at: Some(now),
                version: 1,
                created_by: actor.principal.id.clone(),
                created_at: now,
                updated_at: now,
            };
            let mut terms = Terms {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                contract_id: contract.id.clone(),
                number: 1,
                status: TermsStatus::Draft,
                template_version_id: String::new(),
                title: String::new(),
                property_ids: Vec::new(),
                valid_from: c.valid_from,
                valid_to: c.valid_to,
                currency: String::new(),
                rates: Vec::new(),
                room_night_commitment: 0,
                allotment_per_night: None,
                enforcement: Enforcement::Reject,
                payment_terms: None,
                cancellation_terms: None,
                breach_penalty: None,
                pace_alert_percent: 80,
                amendment_reason: None,
                submitted_at: None,
                signed_at: None,
                created_by: actor.principal.id.clone(),
                created_at: now,
                updated_at: now,
            };
            apply_checked(&mut terms, c);
            store::insert_contract(conn, &contract).map_err(code_taken)?;
            store::insert_terms(conn, &terms)?;
            actor.record(conn, now, "contract.created", "contract", &contract.id, &[])?;
            load(conn, &org, &contract.id)
        })
        .await?;
    Ok(response(StatusCode::CREATED, &l))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContractListParams {
    pub status: Option<ContractStatus>,
    pub account_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// List contracts.
#[utoipa::path(
    operation_id = "listContracts",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(ContractListParams),
    responses((status = 200, description = "A page of contracts.", body = ListResponse<ContractDto>))
)]
#[get("/contracts")]
pub async fn list_contracts(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    q: web::Query<ContractListParams>,
) -> ApiResult<HttpResponse> {
    let page = PageParams::request(q.limit, q.cursor.as_deref(), q.sort.as_deref())?;
    let filter = ContractFilter {
        status: q.status,
        account_id: q
            .account_id
            .as_deref()
            .map(|a| uuid_of(a).unwrap_or_default()),
    };
    let org = auth.org_id.clone();
    let result = state
        .read(move |conn| {
            let page = store::list_contracts(conn, &org, &filter, &page)?;
            let mut items = Vec::new();
            for c in page.items {
                items.push(contract_dto(&load(conn, &org, &c.id)?));
            }
            Ok::<_, ApiError>(crm_storage::pagination::Page {
                items,
                next_after: page.next_after,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(result, |c| c)))
}

/// Get a contract with its terms in force and any pending amendment.
#[utoipa::path(
    operation_id = "getContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager", "front_desk", "marketing"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "The contract.", body = ContractDto))
)]
#[get("/contracts/{contract_id}")]
pub async fn get_contract(
    auth: Auth<roles::Staff>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let org = auth.org_id.clone();
    let l = state.read(move |conn| load(conn, &org, &id)).await?;
    Ok(response(StatusCode::OK, &l))
}

/// Every version of a contract's terms with their signatures: the history.
#[utoipa::path(
    operation_id = "listContractVersions",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "Oldest first.", body = Vec<TermsDto>))
)]
#[get("/contracts/{contract_id}/versions")]
pub async fn list_contract_versions(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let org = auth.org_id.clone();
    let l = state.read(move |conn| load(conn, &org, &id)).await?;
    let versions: Vec<TermsDto> = l.versions.iter().map(|t| terms_dto(t, &l)).collect();
    Ok(HttpResponse::Ok().json(versions))
}

/// Change a draft contract (JSON merge patch of its terms). Once
/// submitted it is a 409 `contract_not_editable`: withdraw it first, or,
/// once signed, amend it.
#[utoipa::path(
    operation_id = "updateContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id"), ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body(content = TermsWrite, content_type = "application/merge-patch+json", description = "Any subset of the fields; `rates` and `property_ids` are replaced whole."),
    responses((status = 200, description = "Updated.", body = ContractDto))
)]
#[patch("/contracts/{contract_id}")]
pub async fn update_contract(
    auth: Auth<roles::Managers>,
    if_match: IfMatch,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    if !body.0.is_object() {
        return Err(ApiError::bad_request(
            "invalid_patch",
            "A merge patch is a JSON object.",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            let expected = if_match.check(l.contract.version)?;
            if l.contract.status != ContractStatus::Draft {
                return Err(ApiError::conflict(
                    "contract_not_editable",
                    if l.contract.status.is_signed() {
                        "A signed contract changes only through an amendment: POST /contracts/{id}/amendments."
                    } else {
                        "Only a draft can be edited; withdraw it from signature first."
                    },
                ));
            }
            let mut terms = l
                .versions
                .iter()
                .find(|t| t.number == l.contract.current_version)
                .cloned()
                .ok_or(StorageError::NotFound)?;
            let patched: TermsWrite =
                apply_merge_patch(&write_of(&l.contract, &terms, &l), &body.0)?;
            let c = check_terms(conn, &org, patched)?;
            let mut contract = l.contract.clone();
            contract.code = c.code.clone();
            if c.account_id != contract.account_id {
                return Err(ApiError::field(
                    "account_id",
                    "immutable",
                    "a contract stays with its account; make a new one",
                ));
            }
            apply_checked(&mut terms, c);
            terms.updated_at = now;
            contract.version += 1;
            contract.updated_at = now;
            store::update_terms(conn, &terms)?;
            store::update_contract(conn, &contract, expected).map_err(code_taken)?;
            actor.record(conn, now, "contract.updated", "contract", &contract.id, &["terms"])?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, &l))
}

/// Applies a status change to a loaded contract, or the 409 naming what is
/// allowed.
fn transition(
    conn: &mut DbConnection,
    actor: &Actor,
    l: &Loaded,
    action: ContractAction,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Contract, ApiError> {
    let next_status = l
        .contract
        .status
        .apply(action)
        .map_err(|_| not_allowed(action, l))?;
    let mut next = l.contract.clone();
    next.status = next_status;
    next.status_changed_at = Some(now);
    if action == ContractAction::Terminate {
        next.terminated_reason = reason;
    }
    next.version += 1;
    next.updated_at = now;
    store::update_contract(conn, &next, l.contract.version)?;
    let event = match action {
        ContractAction::Submit => "contract.submitted",
        ContractAction::Withdraw => "contract.withdrawn",
        ContractAction::CompleteSignatures => "contract.signed",
        ContractAction::Activate => "contract.activated",
        ContractAction::Expire => "contract.expired",
        ContractAction::Terminate => "contract.terminated",
    };
    actor.record(conn, now, event, "contract", &next.id, &["status"])?;
    Ok(next)
}

/// Applies the status change the lifecycle job finds due (activation on
/// the first day of validity, expiry after the last), for one contract.
pub fn apply_due(
    conn: &mut DbConnection,
    actor: &Actor,
    org: &str,
    id: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<ContractStatus>, ApiError> {
    let mut changed = None;
    // At most two steps: signed → active → expired.
    for _ in 0..2 {
        let l = load(conn, org, id)?;
        let Some(terms) = l
            .versions
            .iter()
            .find(|t| t.number == l.contract.current_version)
        else {
            break;
        };
        let Some(action) = crate::contracts::due_transition(l.contract.status, terms, today) else {
            break;
        };
        changed = Some(transition(conn, actor, &l, action, None, now)?.status);
    }
    Ok(changed)
}

/// Submit a draft for signature: its terms freeze.
#[utoipa::path(
    operation_id = "submitContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "Pending signature.", body = ContractDto),
        (status = 409, description = "Not allowed in this status (`invalid_status_transition`, with `allowed_actions`).", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/contracts/{contract_id}/submit")]
pub async fn submit_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            transition(conn, &actor, &l, ContractAction::Submit, None, now)?;
            let mut terms = l
                .versions
                .iter()
                .find(|t| t.number == l.contract.current_version)
                .cloned()
                .ok_or(StorageError::NotFound)?;
            terms.status = TermsStatus::PendingSignature;
            terms.submitted_at = Some(now);
            terms.updated_at = now;
            store::update_terms(conn, &terms)?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, &l))
}

/// Take back what awaits signatures: a contract pending signature returns
/// to draft; on a signed contract, the pending amendment is withdrawn.
/// Signatures already given stay on record, for the document they signed.
#[utoipa::path(
    operation_id = "withdrawContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "Withdrawn.", body = ContractDto))
)]
#[post("/contracts/{contract_id}/withdraw")]
pub async fn withdraw_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            if let Some(amendment) = pending_amendment(&l) {
                let mut t = amendment.clone();
                t.status = TermsStatus::Withdrawn;
                t.updated_at = now;
                store::update_terms(conn, &t)?;
                let mut c = l.contract.clone();
                c.version += 1;
                c.updated_at = now;
                store::update_contract(conn, &c, l.contract.version)?;
                actor.record(
                    conn,
                    now,
                    "contract.amendment_withdrawn",
                    "contract",
                    &id,
                    &["versions"],
                )?;
            } else {
                transition(conn, &actor, &l, ContractAction::Withdraw, None, now)?;
                let mut terms = l
                    .versions
                    .iter()
                    .find(|t| t.number == l.contract.current_version)
                    .cloned()
                    .ok_or(StorageError::NotFound)?;
                terms.status = TermsStatus::Draft;
                terms.updated_at = now;
                store::update_terms(conn, &terms)?;
            }
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, &l))
}

/// Activate a signed contract: bookings may quote its code. (The lifecycle
/// job does this on the first day of validity.)
#[utoipa::path(
    operation_id = "activateContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "Active.", body = ContractDto))
)]
#[post("/contracts/{contract_id}/activate")]
pub async fn activate_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            transition(conn, &actor, &l, ContractAction::Activate, None, now)?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, &l))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "客户公司搬迁，双方协商提前终止"}))]
pub struct TerminateRequest {
    pub reason: String,
}

/// Terminate a contract, with the reason.
#[utoipa::path(
    operation_id = "terminateContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    request_body = TerminateRequest,
    responses((status = 200, description = "Terminated.", body = ContractDto))
)]
#[post("/contracts/{contract_id}/terminate")]
pub async fn terminate_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<TerminateRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let reason = required_text(&body.0.reason, 2000).map_err(|e| ApiError::from(e.at("reason")))?;
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            transition(
                conn,
                &actor,
                &l,
                ContractAction::Terminate,
                Some(reason),
                now,
            )?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, &l))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "party": "counterparty", "signer_name": "李明", "signer_title": "采购总监",
    "consent_text": "本人已阅读并同意以电子方式签署本合同。I have read this contract and agree to sign it electronically.",
    "agreed": true
}))]
pub struct SignRequest {
    pub party: SigningParty,
    pub signer_name: String,
    #[serde(default)]
    pub signer_title: Option<String>,
    /// What the signer agreed to, shown to them word for word.
    pub consent_text: String,
    /// Must be true: the signer ticked the box.
    pub agreed: bool,
    /// The SHA-256 of the document the signer was shown (from
    /// `GET …/document`); refused if the document changed since.
    #[serde(default)]
    pub document_sha256: Option<String>,
}

/// Sign the version awaiting signatures, for one party.
///
/// Records the signer, time, IP address, user agent and consent text with
/// the SHA-256 of the canonical document. When both parties have signed
/// the same document, the version is signed: the contract becomes
/// `signed` (or the amendment comes into force) and the signed PDF is
/// archived.
#[utoipa::path(
    operation_id = "signContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    request_body = SignRequest,
    responses((status = 200, description = "Signed by this party.", body = ContractDto),
        (status = 409, description = "Nothing awaits signature, this party already signed, or the document changed (`document_changed`).", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/contracts/{contract_id}/sign")]
pub async fn sign_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: ApiJson<SignRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let b = body.0;
    let mut errors = Errors::new();
    let signer_name = errors.check("signer_name", required_text(&b.signer_name, 200));
    let signer_title = b.signer_title.and_then(|t| {
        errors
            .check("signer_title", bounded_text(&t, 200))
            .flatten()
    });
    let consent_text = errors.check("consent_text", required_text(&b.consent_text, 2000));
    if !b.agreed {
        errors.push(FieldError::new(
            "agreed",
            "consent_required",
            "the signer must agree to sign electronically",
        ));
    }
    errors.finish()?;
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(500).collect::<String>());
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let pdf_font = state.settings.pdf_font.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            let terms = version_to_sign(&l).cloned().ok_or_else(|| {
                ApiError::conflict(
                    "nothing_to_sign",
                    "Nothing awaits signature: submit the contract or propose an amendment first.",
                )
            })?;
            let data = document_data(conn, &l.contract, &terms)?;
            let hash = document_sha256(&data);
            if b.document_sha256
                .as_deref()
                .is_some_and(|shown| shown != hash)
            {
                return Err(ApiError::conflict(
                    "document_changed",
                    "The document changed since it was shown to the signer; show it again.",
                ));
            }
            let signature = Signature {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.clone(),
                contract_id: id.clone(),
                version_number: terms.number,
                party: b.party,
                signer_name: signer_name.unwrap_or_default(),
                signer_title,
                signed_at: now,
                ip,
                user_agent,
                consent_text: consent_text.unwrap_or_default(),
                document_sha256: hash.clone(),
                recorded_by: actor.principal.id.clone(),
            };
            store::insert_signature(conn, &signature).map_err(|e| match e {
                StorageError::Duplicate { .. } => ApiError::conflict(
                    "already_signed",
                    format!("The {} has already signed this document.", b.party.as_str()),
                ),
                other => other.into(),
            })?;
            actor.record(
                conn,
                now,
                "contract.signature_recorded",
                "contract",
                &id,
                &["signatures"],
            )?;
            let mut signed_by: Vec<SigningParty> = l
                .signatures
                .iter()
                .filter(|s| s.version_number == terms.number && s.document_sha256 == hash)
                .map(|s| s.party)
                .collect();
            signed_by.push(b.party);
            if SigningParty::ALL.iter().all(|p| signed_by.contains(p)) {
                complete_signatures(
                    conn,
                    &actor,
                    &l,
                    terms,
                    &data,
                    &hash,
                    pdf_font.as_deref(),
                    now,
                )
                .map_err(|e| {
                    if e.status == StatusCode::PRECONDITION_FAILED {
                        ApiError::conflict(
                            "concurrent_signature",
                            "Another signature was recorded at the same moment; sign again.",
                        )
                    } else {
                        e
                    }
                })?;
            } else {
                // Every signature moves the contract's version: two parties
                // signing at the same moment cannot both miss the other's
                // signature (the second waits for the first's row lock,
                // finds the version moved and is asked to sign again).
                let mut c = l.contract.clone();
                c.version += 1;
                c.updated_at = now;
                store::update_contract(conn, &c, l.contract.version).map_err(|e| match e {
                    StorageError::VersionConflict => ApiError::conflict(
                        "concurrent_signature",
                        "Another signature was recorded at the same moment; sign again.",
                    ),
                    other => other.into(),
                })?;
            }
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::OK, &l))
}

/// Both parties signed `terms`: it comes into force, and its signed PDF is
/// archived.
#[allow(clippy::too_many_arguments)]
fn complete_signatures(
    conn: &mut DbConnection,
    actor: &Actor,
    l: &Loaded,
    mut terms: Terms,
    data: &crm_domain::contract_document::DocumentData,
    hash: &str,
    pdf_font: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let first = l.contract.status == ContractStatus::PendingSignature;
    terms.status = TermsStatus::Signed;
    terms.signed_at = Some(now);
    terms.updated_at = now;
    store::update_terms(conn, &terms)?;
    if first {
        transition(
            conn,
            actor,
            l,
            ContractAction::CompleteSignatures,
            None,
            now,
        )?;
    } else {
        let mut c = l.contract.clone();
        c.current_version = terms.number;
        c.version += 1;
        c.updated_at = now;
        store::update_contract(conn, &c, l.contract.version)?;
        actor.record(
            conn,
            now,
            "contract.amended",
            "contract",
            &c.id,
            &["current_version"],
        )?;
    }
    let signatures: Vec<Signature> = store::signatures(conn, &l.contract.org_id, &l.contract.id)?
        .into_iter()
        .filter(|s| s.version_number == terms.number && s.document_sha256 == hash)
        .collect();
    let pdf = crate::pdf::contract_pdf(pdf_font, data, hash, &signatures)?;
    store::insert_document(
        conn,
        &store::ArchivedDocument {
            id: crm_domain::id::new_id().to_string(),
            org_id: l.contract.org_id.clone(),
            contract_id: l.contract.id.clone(),
            version_number: terms.number,
            document_sha256: hash.to_string(),
            pdf_sha256: crate::crypto::sha256_hex(&pdf),
            pdf,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "追加淡季价格", "changes": {"room_night_commitment": 900}}))]
pub struct AmendmentRequest {
    /// Why the terms change (补充协议的理由).
    pub reason: String,
    /// A merge patch of the terms in force (`code` and `account_id` stay).
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// Propose an amendment to a signed or active contract: a new version of
/// the terms, awaiting both parties' signatures. The terms in force stay
/// until it is signed.
#[utoipa::path(
    operation_id = "amendContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id")),
    request_body = AmendmentRequest,
    responses((status = 201, description = "The amendment, pending signature.", body = ContractDto))
)]
#[post("/contracts/{contract_id}/amendments")]
pub async fn amend_contract(
    auth: Auth<roles::Managers>,
    request_id: RequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<AmendmentRequest>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let AmendmentRequest { reason, changes } = body.0;
    let reason = required_text(&reason, 2000).map_err(|e| ApiError::from(e.at("reason")))?;
    if !changes.is_object() {
        return Err(ApiError::field("changes", "invalid_patch", "a JSON object"));
    }
    let now = state.clock.now();
    let actor = Actor::new(&auth.principal, &request_id, &state);
    let org = auth.org_id.clone();
    let l = state
        .write(move |conn| {
            let l = load(conn, &org, &id)?;
            if !matches!(
                l.contract.status,
                ContractStatus::Signed | ContractStatus::Active
            ) {
                return Err(ApiError::conflict(
                    "contract_not_amendable",
                    format!(
                        "A {} contract cannot be amended; edit a draft directly.",
                        l.contract.status.as_str()
                    ),
                ));
            }
            if pending_amendment(&l).is_some() {
                return Err(ApiError::conflict(
                    "amendment_pending",
                    "An amendment already awaits signatures: sign or withdraw it first.",
                ));
            }
            let current = l
                .versions
                .iter()
                .find(|t| t.number == l.contract.current_version)
                .cloned()
                .ok_or(StorageError::NotFound)?;
            let patched: TermsWrite =
                apply_merge_patch(&write_of(&l.contract, &current, &l), &changes)?;
            let c = check_terms(conn, &org, patched)?;
            if c.code != l.contract.code || c.account_id != l.contract.account_id {
                return Err(ApiError::field(
                    "changes",
                    "immutable",
                    "an amendment keeps the contract's code and account",
                ));
            }
            let mut next = Terms {
                id: crm_domain::id::new_id().to_string(),
                number: l.versions.iter().map(|t| t.number).max().unwrap_or(0) + 1,
                status: TermsStatus::PendingSignature,
                amendment_reason: Some(reason),
                submitted_at: Some(now),
                signed_at: None,
                created_by: actor.principal.id.clone(),
                created_at: now,
                updated_at: now,
                ..current
            };
            apply_checked(&mut next, c);
            store::insert_terms(conn, &next)?;
            let mut contract = l.contract.clone();
            contract.version += 1;
            contract.updated_at = now;
            store::update_contract(conn, &contract, l.contract.version)?;
            actor.record(
                conn,
                now,
                "contract.amendment_proposed",
                "contract",
                &id,
                &["versions"],
            )?;
            load(conn, &org, &id)
        })
        .await?;
    Ok(response(StatusCode::CREATED, &l))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DocumentParams {
    /// `html` (default) or `pdf`.
    pub format: Option<String>,
    /// A version of the terms; by default the one awaiting signature, else
    /// the one in force.
    pub version: Option<i32>,
}

fn pick_version(l: &Loaded, version: Option<i32>) -> Result<Terms, ApiError> {
    let found = match version {
        Some(n) => l.versions.iter().find(|t| t.number == n),
        None => version_to_sign(l).or_else(|| {
            l.versions
                .iter()
                .find(|t| t.number == l.contract.current_version)
        }),
    };
    found
        .cloned()
        .ok_or_else(|| ApiError::not_found("contract_version_not_found", "contract version"))
}

/// The contract document, rendered from the template version and the
/// contract's data: HTML (the canonical form signatures hash) or PDF.
/// `X-Document-SHA256` carries the canonical hash either way.
#[utoipa::path(
    operation_id = "getContractDocument",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id"), DocumentParams),
    responses((status = 200, description = "The document.", content(
        (String = "text/html"),
        (crate::openapi::BinaryFile = "application/pdf"),
    )))
)]
#[get("/contracts/{contract_id}/document")]
pub async fn get_contract_document(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<DocumentParams>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let pdf = match q.format.as_deref() {
        None | Some("html") => false,
        Some("pdf") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_format",
                "`format` is `html` or `pdf`.",
            ))
        }
    };
    let (org, version) = (auth.org_id.clone(), q.version);
    let (data, signatures) = state
        .read(move |conn| {
            let l = load(conn, &org, &id)?;
            let terms = pick_version(&l, version)?;
            let data = document_data(conn, &l.contract, &terms)?;
            let hash = document_sha256(&data);
            let signatures: Vec<Signature> = l
                .signatures
                .into_iter()
                .filter(|s| s.version_number == terms.number && s.document_sha256 == hash)
                .collect();
            Ok::<_, ApiError>((data, signatures))
        })
        .await?;
    let hash = document_sha256(&data);
    if !pdf {
        return Ok(HttpResponse::Ok()
            .insert_header(("x-document-sha256", hash))
            .content_type("text/html; charset=utf-8")
            .body(data.html()));
    }
    let font = state.settings.pdf_font.clone();
    let canonical = hash.clone();
    let bytes =
        web::block(move || crate::pdf::contract_pdf(font.as_deref(), &data, &hash, &signatures))
            .await
            .map_err(ApiError::internal)??;
    Ok(HttpResponse::Ok()
        .insert_header(("x-document-sha256", canonical))
        .insert_header(("x-pdf-sha256", crate::crypto::sha256_hex(&bytes)))
        .content_type("application/pdf")
        .body(bytes))
}

/// The archived signed PDF of a version (the one in force by default).
#[utoipa::path(
    operation_id = "getSignedContractDocument",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id"), ("version" = Option<i32>, Query, description = "Version of the terms")),
    responses((status = 200, description = "The PDF as archived when both parties had signed.", content((crate::openapi::BinaryFile = "application/pdf"))))
)]
#[get("/contracts/{contract_id}/signed-document")]
pub async fn get_signed_document(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<VersionParam>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let (org, version) = (auth.org_id.clone(), q.version);
    let doc = state
        .read(move |conn| {
            let l = load(conn, &org, &id)?;
            let n = version.unwrap_or(l.contract.current_version);
            store::document(conn, &org, &id, n)?
                .ok_or_else(|| ApiError::not_found("signed_document_not_found", "signed document"))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("x-document-sha256", doc.document_sha256.clone()))
        .insert_header(("x-pdf-sha256", doc.pdf_sha256.clone()))
        .content_type("application/pdf")
        .body(doc.pdf))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// A version of the terms; by default the one in force.
    pub version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyDto {
    pub version: i32,
    pub status: TermsStatus,
    /// SHA-256 of the document rendered now from today's data.
    pub current_sha256: String,
    /// What each signature recorded.
    pub signatures: Vec<SignatureCheck>,
    /// Every signature hashed the document as it renders now.
    pub unchanged: bool,
    /// The archived PDF, if signed: its stored hash still matches its bytes.
    pub archive: Option<ArchiveCheck>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureCheck {
    pub party: SigningParty,
    pub signer_name: String,
    pub signed_at: DateTime<Utc>,
    pub document_sha256: String,
    pub matches_current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArchiveCheck {
    pub document_sha256: String,
    pub pdf_sha256: String,
    pub intact: bool,
}

/// Recompute the document's SHA-256 and say whether it changed since it
/// was signed (an account renamed, a template or rate altered in the
/// database), and whether the archived PDF is intact.
#[utoipa::path(
    operation_id = "verifyContract",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id"), VersionParam),
    responses((status = 200, description = "The check.", body = VerifyDto))
)]
#[get("/contracts/{contract_id}/verify")]
pub async fn verify_contract(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<VersionParam>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let (org, version) = (auth.org_id.clone(), q.version);
    let dto = state
        .read(move |conn| {
            let l = load(conn, &org, &id)?;
            let terms = match version {
                Some(n) => l.versions.iter().find(|t| t.number == n).cloned(),
                None => l
                    .versions
                    .iter()
                    .find(|t| t.number == l.contract.current_version)
                    .cloned(),
            }
            .ok_or_else(|| ApiError::not_found("contract_version_not_found", "contract version"))?;
            let current = document_sha256(&document_data(conn, &l.contract, &terms)?);
            let archive = store::document(conn, &org, &id, terms.number)?;
            let archive_hash = archive.as_ref().map(|a| a.document_sha256.clone());
            // The signatures that count: those of the signed document, or
            // all of this version's while it awaits signatures.
            let signatures: Vec<SignatureCheck> = l
                .signatures
                .iter()
                .filter(|s| s.version_number == terms.number)
                .filter(|s| {
                    archive_hash
                        .as_ref()
                        .is_none_or(|h| *h == s.document_sha256)
                })
                .map(|s| SignatureCheck {
                    party: s.party,
                    signer_name: s.signer_name.clone(),
                    signed_at: s.signed_at,
                    document_sha256: s.document_sha256.clone(),
                    matches_current: s.document_sha256 == current,
                })
                .collect();
            Ok::<_, ApiError>(VerifyDto {
                version: terms.number,
                status: terms.status,
                unchanged: !signatures.is_empty() && signatures.iter().all(|s| s.matches_current),
                signatures,
                archive: archive.map(|a| ArchiveCheck {
                    intact: crate::crypto::sha256_hex(&a.pdf) == a.pdf_sha256,
                    document_sha256: a.document_sha256,
                    pdf_sha256: a.pdf_sha256,
                }),
                current_sha256: current,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PerformanceParams {
    /// The day pace is measured on; today (UTC) by default.
    #[param(value_type = Option<String>, format = Date)]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerformanceDto {
    pub contract_id: String,
    pub currency: String,
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub committed_room_nights: i64,
    pub produced_room_nights: i64,
    /// Room revenue booked at, for the stays checked out.
    pub produced_revenue: Money,
    pub on_the_books_room_nights: i64,
    pub on_the_books_revenue: Money,
    pub pace: Pace,
    /// Room-nights booked at another amount than the negotiated rate.
    pub off_rate_room_nights: i64,
    /// Share of the (non-cancelled) room-nights booked at the negotiated
    /// rate; `null` before any.
    pub rate_compliance: Option<f64>,
    pub cancellations: i64,
    pub months: Vec<MonthFigures>,
}

/// How the contract performs: room-nights and revenue produced (checked
/// out) and on the books against the commitment, pace against the time
/// elapsed, rate compliance and cancellations, by month.
#[utoipa::path(
    operation_id = "getContractPerformance",
    tag = "contracts",
    security(("bearer_auth" = ["admin", "manager"])),
    params(("contract_id" = String, Path, description = "Contract id"), PerformanceParams),
    responses((status = 200, description = "The figures.", body = PerformanceDto))
)]
#[get("/contracts/{contract_id}/performance")]
pub async fn get_contract_performance(
    auth: Auth<roles::Managers>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<PerformanceParams>,
) -> ApiResult<HttpResponse> {
    let id = path_id(&path, "contract_not_found", "contract")?;
    let as_of = q.as_of.unwrap_or_else(|| state.clock.now().date_naive());
    let org = auth.org_id.clone();
    let dto = state
        .read(move |conn| performance(conn, &org, &id, as_of))
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// The figures of [`get_contract_performance`], also used by the alert scan.
pub fn performance(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
    as_of: NaiveDate,
) -> Result<PerformanceDto, ApiError> {
    let contract = store::find_contract(conn, org, id)
        .map_err(|e| or_not_found("contract_not_found", "contract")(e.into()))?;
    let terms = store::terms(conn, org, id, contract.current_version)?;
    let rooms = store::room_stays_of_contract(conn, org, id)?;
    let stays: Vec<ContractStay> = rooms
        .iter()
        .map(|r| ContractStay {
            arrival: r.arrival,
            departure: r.departure,
            revenue: r.amount,
            off_rate: r.negotiated_amount.is_some_and(|n| n != r.amount)
                || r.negotiated_amount.is_none(),
            state: match r.status {
                ReservationStatus::CheckedOut => StayState::Produced,
                ReservationStatus::Confirmed | ReservationStatus::CheckedIn => {
                    StayState::OnTheBooks
                }
                _ => StayState::Lost,
            },
        })
        .collect();
    let months = monthly_figures(&stays);
    let sum = |f: fn(&MonthFigures) -> i64| months.iter().map(f).sum::<i64>();
    let produced = sum(|m| m.produced_room_nights);
    let on_books = sum(|m| m.on_the_books_room_nights);
    let off_rate = sum(|m| m.off_rate_room_nights);
    let booked = produced + on_books;
    let money = |amount: i64| Money {
        amount,
        currency: terms.currency.clone(),
    };
    Ok(PerformanceDto {
        contract_id: id.to_string(),
        as_of,
        committed_room_nights: i64::from(terms.room_night_commitment),
        produced_room_nights: produced,
        produced_revenue: money(sum(|m| m.produced_revenue)),
        on_the_books_room_nights: on_books,
        on_the_books_revenue: money(sum(|m| m.on_the_books_revenue)),
        pace: pace(
            i64::from(terms.room_night_commitment),
            produced,
            terms.valid_from,
            terms.valid_to,
            as_of,
        ),
        off_rate_room_nights: off_rate,
        rate_compliance: (booked > 0).then(|| (booked - off_rate) as f64 / booked as f64),
        cancellations: sum(|m| m.cancellations),
        months,
        currency: terms.currency,
    })
}
