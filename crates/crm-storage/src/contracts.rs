//! Contract templates and their versions, contracts and the versions of
//! their terms, signatures, archived signed documents, allotment counters
//! and alerts.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{
    contract_alerts, contract_documents, contract_nights, contract_signatures,
    contract_template_versions, contract_templates, contract_versions, contracts,
    reservation_rooms, reservations,
};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::contract::{
    Clause, ContractStatus, Enforcement, NegotiatedRate, SigningParty, TemplateStatus, TermsStatus,
};
use crm_domain::reservation::ReservationStatus;
use diesel::prelude::*;

// ---- templates ----------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_templates)]
struct TemplateRow {
    id: String,
    org_id: String,
    name: String,
    description: Option<String>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for Template {
    fn from(r: TemplateRow) -> Self {
        Template {
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            description: r.description,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        }
    }
}

pub fn insert_template(conn: &mut DbConnection, t: &Template) -> StorageResult<()> {
    diesel::insert_into(contract_templates::table)
        .values(TemplateRow {
            id: t.id.clone(),
            org_id: t.org_id.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            version: t.version,
            created_at: to_db(t.created_at),
            updated_at: to_db(t.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_template(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Template> {
    Ok(contract_templates::table
        .filter(contract_templates::org_id.eq(org_id))
        .filter(contract_templates::id.eq(id))
        .select(TemplateRow::as_select())
        .first(conn)?
        .into())
}

pub fn list_templates(
    conn: &mut DbConnection,
    org_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Template>> {
    let query = contract_templates::table
        .filter(contract_templates::org_id.eq(org_id.to_string()))
        .select(TemplateRow::as_select())
        .into_boxed();
    let rows: Vec<TemplateRow> = paginate!(query, contract_templates::id, page).load(conn)?;
    let items: Vec<Template> = rows.into_iter().map(Template::from).collect();
    Ok(Page::from_rows(items, page.limit, |t| t.id.clone()))
}

pub fn update_template(
    conn: &mut DbConnection,
    t: &Template,
    expected_version: i32,
) -> StorageResult<()> {
    let n = diesel::update(
        contract_templates::table
            .filter(contract_templates::org_id.eq(&t.org_id))
            .filter(contract_templates::id.eq(&t.id))
            .filter(contract_templates::version.eq(expected_version)),
    )
    .set((
        contract_templates::name.eq(&t.name),
        contract_templates::description.eq(&t.description),
        contract_templates::version.eq(t.version),
        contract_templates::updated_at.eq(to_db(t.updated_at)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_template_versions)]
struct TemplateVersionRow {
    id: String,
    org_id: String,
    template_id: String,
    number: i32,
    status: String,
    clauses: String,
    published_at: Option<NaiveDateTime>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateVersion {
    pub id: String,
    pub org_id: String,
    pub template_id: String,
    pub number: i32,
    pub status: TemplateStatus,
    pub clauses: Vec<Clause>,
    pub published_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<TemplateVersionRow> for TemplateVersion {
    type Error = StorageError;
    fn try_from(r: TemplateVersionRow) -> StorageResult<Self> {
        Ok(TemplateVersion {
            status: enum_from_db(&r.status)?,
            clauses: serde_json::from_str(&r.clauses)?,
            id: r.id,
            org_id: r.org_id,
            template_id: r.template_id,
            number: r.number,
            published_at: r.published_at.map(from_db),
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn template_version_row(v: &TemplateVersion) -> StorageResult<TemplateVersionRow> {
    Ok(TemplateVersionRow {
        id: v.id.clone(),
        org_id: v.org_id.clone(),
        template_id: v.template_id.clone(),
        number: v.number,
        status: enum_to_db(&v.status)?,
        clauses: serde_json::to_string(&v.clauses)?,
        published_at: v.published_at.map(to_db),
        version: v.version,
        created_at: to_db(v.created_at),
        updated_at: to_db(v.updated_at),
    })
}

pub fn insert_template_version(conn: &mut DbConnection, v: &TemplateVersion) -> StorageResult<()> {
    diesel::insert_into(contract_template_versions::table)
        .values(template_version_row(v)?)
        .execute(conn)?;
    Ok(())
}

pub fn template_versions(
    conn: &mut DbConnection,
    org_id: &str,
    template_id: &str,
) -> StorageResult<Vec<TemplateVersion>> {
    contract_template_versions::table
        .filter(contract_template_versions::org_id.eq(org_id))
        .filter(contract_template_versions::template_id.eq(template_id))
        .order(contract_template_versions::number.asc())
        .select(TemplateVersionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TemplateVersion::try_from)
        .collect()
}

pub fn find_template_version(
    conn: &mut DbConnection,
    org_id: &str,
    template_id: &str,
    number: i32,
) -> StorageResult<TemplateVersion> {
    contract_template_versions::table
        .filter(contract_template_versions::org_id.eq(org_id))
        .filter(contract_template_versions::template_id.eq(template_id))
        .filter(contract_template_versions::number.eq(number))
        .select(TemplateVersionRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn find_template_version_by_id(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
) -> StorageResult<TemplateVersion> {
    contract_template_versions::table
        .filter(contract_template_versions::org_id.eq(org_id))
        .filter(contract_template_versions::id.eq(id))
        .select(TemplateVersionRow::as_select())
        .first(conn)?
        .try_into()
}

/// Writes a draft version's clauses or publishes it. A published version
/// is never written: the filter on `status` makes that a version conflict
/// even if two requests race.
pub fn update_template_version(
    conn: &mut DbConnection,
    v: &TemplateVersion,
    expected_version: i32,
) -> StorageResult<()> {
    let row = template_version_row(v)?;
    let n = diesel::update(
        contract_template_versions::table
            .filter(contract_template_versions::org_id.eq(&v.org_id))
            .filter(contract_template_versions::id.eq(&v.id))
            .filter(contract_template_versions::version.eq(expected_version))
            .filter(contract_template_versions::status.eq(enum_to_db(&TemplateStatus::Draft)?)),
    )
    .set((
        contract_template_versions::status.eq(row.status),
        contract_template_versions::clauses.eq(row.clauses),
        contract_template_versions::published_at.eq(row.published_at),
        contract_template_versions::version.eq(row.version),
        contract_template_versions::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

// ---- contracts ----------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contracts)]
struct ContractRow {
    id: String,
    org_id: String,
    code: String,
    account_id: String,
    status: String,
    current_version: i32,
    terminated_reason: Option<String>,
    status_changed_at: Option<NaiveDateTime>,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A contract: who it is with and where it is in its life. Its terms are
/// in [`Terms`], one row per version.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub id: String,
    pub org_id: String,
    /// What bookings quote to get the negotiated rate.
    pub code: String,
    pub account_id: String,
    pub status: ContractStatus,
    /// The version of the terms in force (or being signed, before the
    /// first signature).
    pub current_version: i32,
    pub terminated_reason: Option<String>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<ContractRow> for Contract {
    type Error = StorageError;
    fn try_from(r: ContractRow) -> StorageResult<Self> {
        Ok(Contract {
            status: enum_from_db(&r.status)?,
            id: r.id,
            org_id: r.org_id,
            code: r.code,
            account_id: r.account_id,
            current_version: r.current_version,
            terminated_reason: r.terminated_reason,
            status_changed_at: r.status_changed_at.map(from_db),
            version: r.version,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn contract_row(c: &Contract) -> StorageResult<ContractRow> {
    Ok(ContractRow {
        id: c.id.clone(),
        org_id: c.org_id.clone(),
        code: c.code.clone(),
        account_id: c.account_id.clone(),
        status: enum_to_db(&c.status)?,
        current_version: c.current_version,
        terminated_reason: c.terminated_reason.clone(),
        status_changed_at: c.status_changed_at.map(to_db),
        version: c.version,
        created_by: c.created_by.clone(),
        created_at: to_db(c.created_at),
        updated_at: to_db(c.updated_at),
    })
}

pub fn insert_contract(conn: &mut DbConnection, c: &Contract) -> StorageResult<()> {
    diesel::insert_into(contracts::table)
        .values(contract_row(c)?)
        .execute(conn)?;
    Ok(())
}

pub fn find_contract(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Contract> {
    contracts::table
        .filter(contracts::org_id.eq(org_id))
        .filter(contracts::id.eq(id))
        .select(ContractRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn find_contract_by_code(
    conn: &mut DbConnection,
    org_id: &str,
    code: &str,
) -> StorageResult<Option<Contract>> {
    contracts::table
        .filter(contracts::org_id.eq(org_id))
        .filter(contracts::code.eq(code))
        .select(ContractRow::as_select())
        .first(conn)
        .optional()?
        .map(Contract::try_from)
        .transpose()
}

#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub status: Option<ContractStatus>,
    pub account_id: Option<String>,
}

pub fn list_contracts(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &ContractFilter,
    page: &PageRequest,
) -> StorageResult<Page<Contract>> {
    let mut query = contracts::table
        .filter(contracts::org_id.eq(org_id.to_string()))
        .select(ContractRow::as_select())
        .into_boxed();
    if let Some(s) = &filter.status {
        query = query.filter(contracts::status.eq(enum_to_db(s)?));
    }
    if let Some(a) = &filter.account_id {
        query = query.filter(contracts::account_id.eq(a.clone()));
    }
    let rows: Vec<ContractRow> = paginate!(query, contracts::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Contract::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id.clone()))
}

/// Contracts of any organisation in one of `statuses`, for the jobs.
pub fn contracts_in(
    conn: &mut DbConnection,
    org_id: &str,
    statuses: &[ContractStatus],
) -> StorageResult<Vec<Contract>> {
    let statuses = statuses
        .iter()
        .map(enum_to_db)
        .collect::<StorageResult<Vec<_>>>()?;
    contracts::table
        .filter(contracts::org_id.eq(org_id))
        .filter(contracts::status.eq_any(statuses))
        .order(contracts::id.asc())
        .select(ContractRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Contract::try_from)
        .collect()
}

pub fn update_contract(
    conn: &mut DbConnection,
    c: &Contract,
    expected_version: i32,
) -> StorageResult<()> {
    let row = contract_row(c)?;
    let n = diesel::update(
        contracts::table
            .filter(contracts::org_id.eq(&c.org_id))
            .filter(contracts::id.eq(&c.id))
            .filter(contracts::version.eq(expected_version)),
    )
    .set((
        contracts::code.eq(row.code),
        contracts::status.eq(row.status),
        contracts::current_version.eq(row.current_version),
        contracts::terminated_reason.eq(row.terminated_reason),
        contracts::status_changed_at.eq(row.status_changed_at),
        contracts::version.eq(row.version),
        contracts::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_versions)]
struct TermsRow {
    id: String,
    org_id: String,
    contract_id: String,
    number: i32,
    status: String,
    template_version_id: String,
    title: String,
    property_ids: String,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    currency: String,
    rates: String,
    room_night_commitment: i32,
    allotment_per_night: Option<i32>,
    enforcement: String,
    payment_terms: Option<String>,
    cancellation_terms: Option<String>,
    breach_penalty: Option<String>,
    pace_alert_percent: i32,
    amendment_reason: Option<String>,
    submitted_at: Option<NaiveDateTime>,
    signed_at: Option<NaiveDateTime>,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// One version of a contract's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Terms {
    pub id: String,
    pub org_id: String,
    pub contract_id: String,
    pub number: i32,
    pub status: TermsStatus,
    pub template_version_id: String,
    pub title: String,
    pub property_ids: Vec<String>,
    pub valid_from: NaiveDate,
    /// Last day of validity, included.
    pub valid_to: NaiveDate,
    pub currency: String,
    pub rates: Vec<NegotiatedRate>,
    pub room_night_commitment: i32,
    pub allotment_per_night: Option<i32>,
    pub enforcement: Enforcement,
    pub payment_terms: Option<String>,
    pub cancellation_terms: Option<String>,
    pub breach_penalty: Option<String>,
    /// Production below this share of the pro-rata commitment raises an
    /// alert.
    pub pace_alert_percent: i32,
    pub amendment_reason: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<TermsRow> for Terms {
    type Error = StorageError;
    fn try_from(r: TermsRow) -> StorageResult<Self> {
        Ok(Terms {
            status: enum_from_db(&r.status)?,
            property_ids: serde_json::from_str(&r.property_ids)?,
            rates: serde_json::from_str(&r.rates)?,
            enforcement: enum_from_db(&r.enforcement)?,
            id: r.id,
            org_id: r.org_id,
            contract_id: r.contract_id,
            number: r.number,
            template_version_id: r.template_version_id,
            title: r.title,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            currency: r.currency,
            room_night_commitment: r.room_night_commitment,
            allotment_per_night: r.allotment_per_night,
            payment_terms: r.payment_terms,
            cancellation_terms: r.cancellation_terms,
            breach_penalty: r.breach_penalty,
            pace_alert_percent: r.pace_alert_percent,
            amendment_reason: r.amendment_reason,
            submitted_at: r.submitted_at.map(from_db),
            signed_at: r.signed_at.map(from_db),
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn terms_row(t: &Terms) -> StorageResult<TermsRow> {
    Ok(TermsRow {
        id: t.id.clone(),
        org_id: t.org_id.clone(),
        contract_id: t.contract_id.clone(),
        number: t.number,
        status: enum_to_db(&t.status)?,
        template_version_id: t.template_version_id.clone(),
        title: t.title.clone(),
        property_ids: serde_json::to_string(&t.property_ids)?,
        valid_from: t.valid_from,
        valid_to: t.valid_to,
        currency: t.currency.clone(),
        rates: serde_json::to_string(&t.rates)?,
        room_night_commitment: t.room_night_commitment,
        allotment_per_night: t.allotment_per_night,
        enforcement: enum_to_db(&t.enforcement)?,
        payment_terms: t.payment_terms.clone(),
        cancellation_terms: t.cancellation_terms.clone(),
        breach_penalty: t.breach_penalty.clone(),
        pace_alert_percent: t.pace_alert_percent,
        amendment_reason: t.amendment_reason.clone(),
        submitted_at: t.submitted_at.map(to_db),
        signed_at: t.signed_at.map(to_db),
        created_by: t.created_by.clone(),
        created_at: to_db(t.created_at),
        updated_at: to_db(t.updated_at),
    })
}

pub fn insert_terms(conn: &mut DbConnection, t: &Terms) -> StorageResult<()> {
    diesel::insert_into(contract_versions::table)
        .values(terms_row(t)?)
        .execute(conn)?;
    Ok(())
}

pub fn terms(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
    number: i32,
) -> StorageResult<Terms> {
    contract_versions::table
        .filter(contract_versions::org_id.eq(org_id))
        .filter(contract_versions::contract_id.eq(contract_id))
        .filter(contract_versions::number.eq(number))
        .select(TermsRow::as_select())
        .first(conn)?
        .try_into()
}

/// Every version of a contract's terms, oldest first.
pub fn all_terms(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
) -> StorageResult<Vec<Terms>> {
    contract_versions::table
        .filter(contract_versions::org_id.eq(org_id))
        .filter(contract_versions::contract_id.eq(contract_id))
        .order(contract_versions::number.asc())
        .select(TermsRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Terms::try_from)
        .collect()
}

/// Writes a version of the terms that is still a draft or pending
/// signature; once signed (or withdrawn), never again.
pub fn update_terms(conn: &mut DbConnection, t: &Terms) -> StorageResult<()> {
    let row = terms_row(t)?;
    let open = [
        enum_to_db(&TermsStatus::Draft)?,
        enum_to_db(&TermsStatus::PendingSignature)?,
    ];
    let n = diesel::update(
        contract_versions::table
            .filter(contract_versions::org_id.eq(&t.org_id))
            .filter(contract_versions::id.eq(&t.id))
            .filter(contract_versions::status.eq_any(open)),
    )
    .set((
        contract_versions::status.eq(row.status),
        contract_versions::template_version_id.eq(row.template_version_id),
        contract_versions::title.eq(row.title),
        contract_versions::property_ids.eq(row.property_ids),
        contract_versions::valid_from.eq(row.valid_from),
        contract_versions::valid_to.eq(row.valid_to),
        contract_versions::currency.eq(row.currency),
        contract_versions::rates.eq(row.rates),
        contract_versions::room_night_commitment.eq(row.room_night_commitment),
        contract_versions::allotment_per_night.eq(row.allotment_per_night),
        contract_versions::enforcement.eq(row.enforcement),
        contract_versions::payment_terms.eq(row.payment_terms),
        contract_versions::cancellation_terms.eq(row.cancellation_terms),
        contract_versions::breach_penalty.eq(row.breach_penalty),
        contract_versions::pace_alert_percent.eq(row.pace_alert_percent),
        contract_versions::amendment_reason.eq(row.amendment_reason),
        contract_versions::submitted_at.eq(row.submitted_at),
        contract_versions::signed_at.eq(row.signed_at),
        contract_versions::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

// ---- signatures and the archive ------------------------------------------

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_signatures)]
struct SignatureRow {
    id: String,
    org_id: String,
    contract_id: String,
    version_number: i32,
    party: String,
    signer_name: String,
    signer_title: Option<String>,
    signed_at: NaiveDateTime,
    ip: Option<String>,
    user_agent: Option<String>,
    consent_text: String,
    document_sha256: String,
    recorded_by: String,
}

/// One party's electronic signature of one version.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub id: String,
    pub org_id: String,
    pub contract_id: String,
    pub version_number: i32,
    pub party: SigningParty,
    pub signer_name: String,
    pub signer_title: Option<String>,
    pub signed_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What the signer agreed to, word for word.
    pub consent_text: String,
    /// SHA-256 (hex) of the canonical document they signed.
    pub document_sha256: String,
    /// The staff user or client that recorded it.
    pub recorded_by: String,
}

pub fn insert_signature(conn: &mut DbConnection, s: &Signature) -> StorageResult<()> {
    diesel::insert_into(contract_signatures::table)
        .values(SignatureRow {
            id: s.id.clone(),
            org_id: s.org_id.clone(),
            contract_id: s.contract_id.clone(),
            version_number: s.version_number,
            party: enum_to_db(&s.party)?,
            signer_name: s.signer_name.clone(),
            signer_title: s.signer_title.clone(),
            signed_at: to_db(s.signed_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            consent_text: s.consent_text.clone(),
            document_sha256: s.document_sha256.clone(),
            recorded_by: s.recorded_by.clone(),
        })
        .execute(conn)?;
    Ok(())
}

/// The signatures of a contract (of every version), in signing order.
pub fn signatures(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
) -> StorageResult<Vec<Signature>> {
    contract_signatures::table
        .filter(contract_signatures::org_id.eq(org_id))
        .filter(contract_signatures::contract_id.eq(contract_id))
        .order((
            contract_signatures::version_number.asc(),
            contract_signatures::signed_at.asc(),
        ))
        .select(SignatureRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| {
            Ok(Signature {
                party: enum_from_db(&r.party)?,
                id: r.id,
                org_id: r.org_id,
                contract_id: r.contract_id,
                version_number: r.version_number,
                signer_name: r.signer_name,
                signer_title: r.signer_title,
                signed_at: from_db(r.signed_at),
                ip: r.ip,
                user_agent: r.user_agent,
                consent_text: r.consent_text,
                document_sha256: r.document_sha256,
                recorded_by: r.recorded_by,
            })
        })
        .collect()
}

/// The signed PDF of one version, archived once.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_documents)]
pub struct ArchivedDocument {
    pub id: String,
    pub org_id: String,
    pub contract_id: String,
    pub version_number: i32,
    /// Of the canonical HTML document both parties signed.
    pub document_sha256: String,
    pub pdf_sha256: String,
    pub pdf: Vec<u8>,
    pub created_at: NaiveDateTime,
}

pub fn insert_document(conn: &mut DbConnection, d: &ArchivedDocument) -> StorageResult<()> {
    diesel::insert_into(contract_documents::table)
        .values(d)
        .execute(conn)?;
    Ok(())
}

pub fn document(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
    version_number: i32,
) -> StorageResult<Option<ArchivedDocument>> {
    Ok(contract_documents::table
        .filter(contract_documents::org_id.eq(org_id))
        .filter(contract_documents::contract_id.eq(contract_id))
        .filter(contract_documents::version_number.eq(version_number))
        .select(ArchivedDocument::as_select())
        .first(conn)
        .optional()?)
}

// ---- allotment and production ---------------------------------------------

/// Rooms booked under a contract on one night, after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractNight {
    pub night: NaiveDate,
    pub change: i64,
    pub rooms: i64,
}

#[derive(Insertable)]
#[diesel(table_name = contract_nights)]
struct ContractNightRow<'a> {
    org_id: &'a str,
    contract_id: &'a str,
    night: NaiveDate,
    rooms: i32,
}

/// Adds `(night, change)` to a contract's per-night counters in the
/// caller's transaction and returns their new values; like the rooms-sold
/// counters (see `inventory::add_sold_nights`), the upsert's row locks
/// serialise bookings of one contract's night, so the value returned is
/// exact. Nights come sorted.
pub fn add_contract_nights(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
    deltas: &[(NaiveDate, i64)],
) -> StorageResult<Vec<ContractNight>> {
    if deltas.is_empty() {
        return Ok(Vec::new());
    }
    let rows = deltas
        .iter()
        .map(|(night, n)| {
            Ok(ContractNightRow {
                org_id,
                contract_id,
                night: *night,
                rooms: i32::try_from(*n)
                    .map_err(|_| StorageError::Corrupt("room night change out of range".into()))?,
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    use diesel::upsert::excluded;
    let target = (
        contract_nights::org_id,
        contract_nights::contract_id,
        contract_nights::night,
    );
    let add = contract_nights::rooms.eq(contract_nights::rooms + excluded(contract_nights::rooms));
    let returned = (contract_nights::night, contract_nights::rooms);
    let after: Vec<(NaiveDate, i32)> =
        crate::db::upsert_returning!(conn, contract_nights::table, &rows, target, add, returned)?;
    deltas
        .iter()
        .map(|(night, change)| {
            let rooms = after
                .iter()
                .find(|(n, _)| n == night)
                .map(|(_, r)| i64::from(*r))
                .ok_or_else(|| {
                    StorageError::Corrupt("a contract counter was not returned".into())
                })?;
            Ok(ContractNight {
                night: *night,
                change: *change,
                rooms,
            })
        })
        .collect()
}

/// Nights from `from` on where the contract's rooms reach `allotment`.
pub fn nights_at_allotment(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
    allotment: i32,
    from: NaiveDate,
) -> StorageResult<Vec<NaiveDate>> {
    Ok(contract_nights::table
        .filter(contract_nights::org_id.eq(org_id))
        .filter(contract_nights::contract_id.eq(contract_id))
        .filter(contract_nights::night.ge(from))
        .filter(contract_nights::rooms.ge(allotment))
        .order(contract_nights::night.asc())
        .select(contract_nights::night)
        .limit(366)
        .load(conn)?)
}

/// One room stay booked under a contract, as performance reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractRoomStay {
    pub status: ReservationStatus,
    pub arrival: NaiveDate,
    pub departure: NaiveDate,
    pub amount: i64,
    pub negotiated_amount: Option<i64>,
}

/// Every room stay of the reservations quoting a contract. Both tables
/// carry the contract id in a covering index, so on PostgreSQL this is a
/// merge join of two index-only range scans, whatever the size of the
/// tables.
pub fn room_stays_of_contract(
    conn: &mut DbConnection,
    org_id: &str,
    contract_id: &str,
) -> StorageResult<Vec<ContractRoomStay>> {
    let rows: Vec<(String, NaiveDate, NaiveDate, i64, Option<i64>)> = reservations::table
        .inner_join(
            reservation_rooms::table.on(reservation_rooms::reservation_id
                .eq(reservations::id)
                .and(reservation_rooms::org_id.eq(reservations::org_id))
                .and(reservation_rooms::contract_id.eq(reservations::contract_id))),
        )
        .filter(reservations::org_id.eq(org_id))
        .filter(reservations::contract_id.eq(contract_id))
        .filter(reservation_rooms::org_id.eq(org_id))
        .filter(reservation_rooms::contract_id.eq(contract_id))
        .select((
            reservations::status,
            reservation_rooms::arrival,
            reservation_rooms::departure,
            reservation_rooms::amount,
            reservation_rooms::negotiated_amount,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(status, arrival, departure, amount, negotiated_amount)| {
            Ok(ContractRoomStay {
                status: enum_from_db(&status)?,
                arrival,
                departure,
                amount,
                negotiated_amount,
            })
        })
        .collect()
}

// ---- alerts ---------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_alerts)]
pub struct AlertRow {
    pub id: String,
    pub org_id: String,
    pub contract_id: String,
    pub kind: String,
    pub period_key: String,
    pub message: String,
    /// JSON with the figures behind it.
    pub details: String,
    /// `open` or `acknowledged`.
    pub status: String,
    pub raised_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
}

/// Records an alert unless the same (contract, kind, period) was raised
/// before; returns whether it is new.
pub fn raise_alert(conn: &mut DbConnection, a: &AlertRow) -> StorageResult<bool> {
    let exists = contract_alerts::table
        .filter(contract_alerts::org_id.eq(&a.org_id))
        .filter(contract_alerts::contract_id.eq(&a.contract_id))
        .filter(contract_alerts::kind.eq(&a.kind))
        .filter(contract_alerts::period_key.eq(&a.period_key))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(false);
    }
    diesel::insert_into(contract_alerts::table)
        .values(a)
        .execute(conn)?;
    Ok(true)
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub contract_id: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
}

pub fn list_alerts(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &AlertFilter,
    page: &PageRequest,
) -> StorageResult<Page<AlertRow>> {
    let mut query = contract_alerts::table
        .filter(contract_alerts::org_id.eq(org_id.to_string()))
        .select(AlertRow::as_select())
        .into_boxed();
    if let Some(c) = &filter.contract_id {
        query = query.filter(contract_alerts::contract_id.eq(c.clone()));
    }
    if let Some(k) = &filter.kind {
        query = query.filter(contract_alerts::kind.eq(k.clone()));
    }
    if let Some(s) = &filter.status {
        query = query.filter(contract_alerts::status.eq(s.clone()));
    }
    let rows: Vec<AlertRow> = paginate!(query, contract_alerts::id, page).load(conn)?;
    Ok(Page::from_rows(rows, page.limit, |a| a.id.clone()))
}

pub fn find_alert(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<AlertRow> {
    Ok(contract_alerts::table
        .filter(contract_alerts::org_id.eq(org_id))
        .filter(contract_alerts::id.eq(id))
        .select(AlertRow::as_select())
        .first(conn)?)
}

pub fn acknowledge_alert(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    diesel::update(
        contract_alerts::table
            .filter(contract_alerts::org_id.eq(org_id))
            .filter(contract_alerts::id.eq(id)),
    )
    .set((
        contract_alerts::status.eq("acknowledged"),
        contract_alerts::acknowledged_at.eq(Some(to_db(now))),
        contract_alerts::acknowledged_by.eq(Some(by)),
    ))
    .execute(conn)?;
    Ok(())
}
