//! What bookings and jobs need of contracts: the terms a contract code
//! applies, the checks of validity and allotment, the document built from
//! a version of the terms, and the alert scan.

use crate::error::ApiError;
use crate::routes::reservations::Warning;
use chrono::NaiveDate;
use crm_domain::contract::{ContractStatus, Enforcement};
use crm_domain::contract_document::{DocumentData, RateLine};
use crm_storage::contracts::{self as store, Contract, ContractNight, Terms};
use crm_storage::reservations::RoomStay;
use crm_storage::{accounts, inventory, organizations, properties, DbConnection};

/// A contract a booking quotes, with the terms in force.
#[derive(Debug, Clone)]
pub struct AppliedContract {
    pub contract: Contract,
    pub terms: Terms,
}

/// The active contract with this code, if it covers the property.
pub fn for_booking(
    conn: &mut DbConnection,
    org: &str,
    code: &str,
    property_id: &str,
) -> Result<AppliedContract, ApiError> {
    let code = code.trim().to_ascii_uppercase();
    let contract = store::find_contract_by_code(conn, org, &code)?.ok_or_else(|| {
        ApiError::field(
            "contract_code",
            "unknown_contract",
            "no contract with this code",
        )
    })?;
    if !contract.status.applies_to_bookings() {
        return Err(ApiError::conflict(
            "contract_not_active",
            format!(
                "Contract {} is {}; only an active contract prices bookings.",
                contract.code,
                contract.status.as_str()
            ),
        ));
    }
    let terms = store::terms(conn, org, &contract.id, contract.current_version)?;
    if !terms.property_ids.iter().any(|p| p == property_id) {
        return Err(ApiError::field(
            "contract_code",
            "contract_not_for_property",
            "the contract does not cover this property",
        ));
    }
    Ok(AppliedContract { contract, terms })
}

/// The terms in force of the contract a reservation quoted.
pub fn terms_in_force(
    conn: &mut DbConnection,
    org: &str,
    contract_id: &str,
) -> Result<Terms, ApiError> {
    let contract = store::find_contract(conn, org, contract_id)?;
    Ok(store::terms(
        conn,
        org,
        &contract.id,
        contract.current_version,
    )?)
}

/// Stays with nights outside the contract's validity: refused (422) or,
/// unless enforced, a warning.
pub fn check_validity(
    terms: &Terms,
    stays: &[RoomStay],
    enforce: bool,
) -> Result<Vec<Warning>, ApiError> {
    let outside: Vec<usize> = stays
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.arrival < terms.valid_from
                || s.departure
                    .pred_opt()
                    .is_some_and(|last| last > terms.valid_to)
        })
        .map(|(i, _)| i)
        .collect();
    let Some(first) = outside.first() else {
        return Ok(Vec::new());
    };
    let message = format!(
        "The contract is valid from {} to {}; some nights fall outside.",
        terms.valid_from, terms.valid_to
    );
    if enforce {
        return Err(ApiError::field(
            &format!("rooms[{first}].arrival"),
            "outside_contract_validity",
            message,
        ));
    }
    Ok(vec![Warning {
        code: "outside_contract_validity".into(),
        message,
    }])
}

/// Nights a booking just took past the contract's allotment: refused (409)
/// or, unless enforced, a warning.
pub fn check_allotment(
    terms: &Terms,
    moved: &[ContractNight],
    enforce: bool,
) -> Result<Vec<Warning>, ApiError> {
    let Some(allotment) = terms.allotment_per_night else {
        return Ok(Vec::new());
    };
    let over: Vec<NaiveDate> = moved
        .iter()
        .filter(|n| n.change > 0 && n.rooms > i64::from(allotment))
        .map(|n| n.night)
        .collect();
    let Some(first) = over.first() else {
        return Ok(Vec::new());
    };
    let message = format!(
        "The contract's allotment of {allotment} rooms per night is used up on {first}{}.",
        if over.len() > 1 {
            " and other nights"
        } else {
            ""
        }
    );
    if enforce {
        return Err(
            ApiError::conflict("allotment_exhausted", message).with_extension(
                "nights",
                serde_json::json!(over.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
            ),
        );
    }
    Ok(vec![Warning {
        code: "allotment_exhausted".into(),
        message,
    }])
}

/// Contract enforcement for a booking: a channel's booking is already
/// sold, so for it every contract problem is a warning.
pub fn enforced(terms: &Terms, booking_enforced: bool) -> bool {
    booking_enforced && terms.enforcement == Enforcement::Reject
}

/// The document of one version of a contract's terms, from today's data
/// of the account, properties and room types it names.
pub fn document_data(
    conn: &mut DbConnection,
    contract: &Contract,
    terms: &Terms,
) -> Result<DocumentData, ApiError> {
    let org = &contract.org_id;
    let account = accounts::find(conn, org, &contract.account_id)?;
    let organization = organizations::find(conn, org)?;
    let template = store::find_template_version_by_id(conn, org, &terms.template_version_id)?;
    let mut property_names = Vec::new();
    let mut rates = Vec::new();
    for property_id in &terms.property_ids {
        let p = properties::find(conn, org, property_id)?;
        property_names.push(p.name.clone());
    }
    for r in &terms.rates {
        let property = properties::find(conn, org, &r.property_id)?;
        let room_type = inventory::find_room_type(conn, org, &r.room_type_id)?;
        let rate_plan = match &r.rate_plan_id {
            Some(id) => Some(inventory::find_rate_plan(conn, org, id)?),
            None => None,
        };
        rates.push(RateLine {
            property: property.name,
            room_type: format!("{} {}", room_type.code, room_type.name),
            rate_plan: rate_plan.map(|p| format!("{} {}", p.code, p.name)),
            price_per_night: r.price_per_night,
            seasons: r
                .seasons
                .iter()
                .map(|s| format!("{} – {}", s.from, s.to))
                .collect::<Vec<_>>()
                .join("; "),
            breakfast_included: r.breakfast_included,
        });
    }
    Ok(DocumentData {
        hotel_name: organization.name,
        account_legal_name: account.legal_name,
        account_tax_id: account.tax_id,
        account_address: account.address,
        account_kind: serde_json::to_value(account.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        contract_code: contract.code.clone(),
        contract_title: terms.title.clone(),
        contract_version: terms.number,
        valid_from: terms.valid_from.to_string(),
        valid_to: terms.valid_to.to_string(),
        currency: terms.currency.clone(),
        room_night_commitment: i64::from(terms.room_night_commitment),
        allotment_per_night: terms.allotment_per_night.map(i64::from),
        payment_terms: terms.payment_terms.clone(),
        cancellation_terms: terms.cancellation_terms.clone(),
        breach_penalty: terms.breach_penalty.clone(),
        properties: property_names,
        rates,
        clauses: template.clauses,
    })
}

/// SHA-256 (hex) of a document's canonical HTML.
pub fn document_sha256(data: &DocumentData) -> String {
    crate::crypto::sha256_hex(data.html().as_bytes())
}

/// The status change a contract is due today, if any: a signed contract
/// whose validity has begun becomes active, an active one past its last
/// day expires. The lifecycle job applies them until none is due.
pub fn due_transition(
    status: ContractStatus,
    terms: &Terms,
    today: NaiveDate,
) -> Option<crm_domain::contract::ContractAction> {
    use crm_domain::contract::ContractAction;
    match status {
        ContractStatus::Signed if today >= terms.valid_from => Some(ContractAction::Activate),
        ContractStatus::Active if today > terms.valid_to => Some(ContractAction::Expire),
        _ => None,
    }
}
