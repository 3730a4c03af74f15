//! Guest profiles with their tags and search terms.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{guest_identity_documents, guest_search_terms, guest_tags, guests};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::guest::{BlacklistCategory, EmailEntry, GuestProfile, PhoneEntry};
use crm_domain::search;
use crm_domain::values::{CountryCode, Email, LanguageTag, PhoneE164};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = guests)]
struct GuestRow {
    id: String,
    org_id: String,
    family_name: Option<String>,
    given_name: Option<String>,
    family_name_latin: Option<String>,
    given_name_latin: Option<String>,
    gender: Option<String>,
    birthday: Option<NaiveDate>,
    nationality: Option<String>,
    language: Option<String>,
    phones: String,
    emails: String,
    company: Option<String>,
    address: Option<String>,
    notes: Option<String>,
    preferences: String,
    tags: String,
    resident: bool,
    blacklisted: bool,
    blacklist_category: Option<String>,
    blacklist_reason: Option<String>,
    blacklisted_by: Option<String>,
    blacklisted_at: Option<NaiveDateTime>,
    erased_at: Option<NaiveDateTime>,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    merged_into: Option<String>,
    merged_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Blacklisting {
    pub category: BlacklistCategory,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A stored guest: the profile plus what the system keeps about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Guest {
    pub id: String,
    pub org_id: String,
    pub profile: GuestProfile,
    pub blacklist: Option<Blacklisting>,
    pub erased_at: Option<DateTime<Utc>>,
    /// Set on a tombstone: the guest this one was merged into.
    pub merged_into: Option<String>,
    pub merged_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<GuestRow> for Guest {
    type Error = StorageError;

    fn try_from(r: GuestRow) -> StorageResult<Self> {
        let phones: Vec<PhoneEntry> = serde_json::from_str(&r.phones)?;
        let emails: Vec<EmailEntry> = serde_json::from_str(&r.emails)?;
        let profile = GuestProfile {
            family_name: r.family_name,
            given_name: r.given_name,
            family_name_latin: r.family_name_latin,
            given_name_latin: r.given_name_latin,
            gender: r.gender.as_deref().map(enum_from_db).transpose()?,
            birthday: r.birthday,
            nationality: r
                .nationality
                .as_deref()
                .map(|c| {
                    CountryCode::parse(c).map_err(|_| StorageError::Corrupt(format!("country {c}")))
                })
                .transpose()?,
            language: r
                .language
                .as_deref()
                .map(|l| {
                    LanguageTag::parse(l)
                        .map_err(|_| StorageError::Corrupt(format!("language {l}")))
                })
                .transpose()?,
            phones: phones
                .into_iter()
                .map(|p| (PhoneE164::from_stored(p.number), p.kind))
                .collect(),
            emails: emails
                .into_iter()
                .map(|e| {
                    Email::parse(&e.address)
                        .map(|a| (a, e.kind))
                        .map_err(|_| StorageError::Corrupt("stored e-mail".into()))
                })
                .collect::<StorageResult<_>>()?,
            company: r.company,
            address: r.address.as_deref().map(serde_json::from_str).transpose()?,
            notes: r.notes,
            preferences: serde_json::from_str(&r.preferences)?,
            tags: serde_json::from_str(&r.tags)?,
            resident: r.resident,
        };
        let blacklist = match (
            r.blacklisted,
            r.blacklist_category,
            r.blacklist_reason,
            r.blacklisted_by,
            r.blacklisted_at,
        ) {
            (true, Some(category), Some(reason), Some(by), Some(at)) => Some(Blacklisting {
                category: enum_from_db(&category)?,
                reason,
                by,
                at: from_db(at),
            }),
            _ => None,
        };
        Ok(Guest {
            id: r.id,
            org_id: r.org_id,
            profile,
            blacklist,
            erased_at: r.erased_at.map(from_db),
            merged_into: r.merged_into,
            merged_at: r.merged_at.map(from_db),
            version: r.version,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn to_row(g: &Guest) -> StorageResult<GuestRow> {
    let p = &g.profile;
    let phones: Vec<PhoneEntry> = p
        .phones
        .iter()
        .map(|(n, kind)| PhoneEntry {
            number: n.as_str().to_string(),
            kind: *kind,
        })
        .collect();
    let emails: Vec<EmailEntry> = p
        .emails
        .iter()
        .map(|(a, kind)| EmailEntry {
            address: a.as_str().to_string(),
            kind: *kind,
        })
        .collect();
    Ok(GuestRow {
        id: g.id.clone(),
        org_id: g.org_id.clone(),
        family_name: p.family_name.clone(),
        given_name: p.given_name.clone(),
        family_name_latin: p.family_name_latin.clone(),
        given_name_latin: p.given_name_latin.clone(),
        gender: p.gender.as_ref().map(enum_to_db).transpose()?,
        birthday: p.birthday,
        nationality: p.nationality.map(|c| c.as_str().to_string()),
        language: p.language.as_ref().map(|l| l.as_str().to_string()),
        phones: serde_json::to_string(&phones)?,
        emails: serde_json::to_string(&emails)?,
        company: p.company.clone(),
        address: p.address.as_ref().map(serde_json::to_string).transpose()?,
        notes: p.notes.clone(),
        preferences: serde_json::to_string(&p.preferences)?,
        tags: serde_json::to_string(&p.tags)?,
        resident: p.resident,
        blacklisted: g.blacklist.is_some(),
        blacklist_category: g
            .blacklist
            .as_ref()
            .map(|b| enum_to_db(&b.category))
            .transpose()?,
        blacklist_reason: g.blacklist.as_ref().map(|b| b.reason.clone()),
        blacklisted_by: g.blacklist.as_ref().map(|b| b.by.clone()),
        blacklisted_at: g.blacklist.as_ref().map(|b| to_db(b.at)),
        erased_at: g.erased_at.map(to_db),
        version: g.version,
        created_by: g.created_by.clone(),
        created_at: to_db(g.created_at),
        updated_at: to_db(g.updated_at),
        merged_into: g.merged_into.clone(),
        merged_at: g.merged_at.map(to_db),
    })
}

/// Rewrites the derived rows (tags, search terms) from the profile.
#[derive(Insertable)]
#[diesel(table_name = guest_tags)]
struct TagRow<'a> {
    org_id: &'a str,
    guest_id: &'a str,
    tag: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = guest_search_terms)]
struct TermRow<'a> {
    org_id: &'a str,
    guest_id: &'a str,
    term: String,
}

/// Writes the derived rows (tags, search terms) of a profile; `replace`
/// deletes the old ones first (a new guest has none).
fn write_index_rows(conn: &mut DbConnection, g: &Guest, replace: bool) -> StorageResult<()> {
    if replace {
        diesel::delete(guest_tags::table.filter(guest_tags::guest_id.eq(&g.id))).execute(conn)?;
        diesel::delete(guest_search_terms::table.filter(guest_search_terms::guest_id.eq(&g.id)))
            .execute(conn)?;
    }
    let tags: Vec<TagRow> = g
        .profile
        .tags
        .iter()
        .map(|t| TagRow {
            org_id: &g.org_id,
            guest_id: &g.id,
            tag: t,
        })
        .collect();
    // Erased guests and tombstones are not found by search.
    let terms: Vec<TermRow> = if g.erased_at.is_none() && g.merged_into.is_none() {
        search::terms_for(&g.profile)
            .into_iter()
            .map(|term| TermRow {
                org_id: &g.org_id,
                guest_id: &g.id,
                term,
            })
            .collect()
    } else {
        Vec::new()
    };
    // One multi-row INSERT each.
    crate::db::insert_many!(&mut *conn, guest_tags::table, &tags[..])?;
    crate::db::insert_many!(&mut *conn, guest_search_terms::table, &terms[..])?;
    Ok(())
}

pub fn insert(conn: &mut DbConnection, guest: &Guest) -> StorageResult<()> {
    diesel::insert_into(guests::table)
        .values(to_row(guest)?)
        .execute(conn)?;
    write_index_rows(conn, guest, false)
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Guest> {
    guests::table
        .filter(guests::org_id.eq(org_id))
        .filter(guests::id.eq(id))
        .select(GuestRow::as_select())
        .first(conn)?
        .try_into()
}

/// Writes every field of `guest` if the stored version is still
/// `expected_version`, and refreshes tags and search terms.
pub fn update(conn: &mut DbConnection, guest: &Guest, expected_version: i32) -> StorageResult<()> {
    let row = to_row(guest)?;
    let updated = diesel::update(
        guests::table
            .filter(guests::org_id.eq(&guest.org_id))
            .filter(guests::id.eq(&guest.id))
            .filter(guests::version.eq(expected_version)),
    )
    .set((
        (
            guests::family_name.eq(row.family_name),
            guests::given_name.eq(row.given_name),
            guests::family_name_latin.eq(row.family_name_latin),
            guests::given_name_latin.eq(row.given_name_latin),
            guests::gender.eq(row.gender),
            guests::birthday.eq(row.birthday),
            guests::nationality.eq(row.nationality),
            guests::language.eq(row.language),
            guests::phones.eq(row.phones),
            guests::emails.eq(row.emails),
            guests::company.eq(row.company),
            guests::address.eq(row.address),
        ),
        (
            guests::notes.eq(row.notes),
            guests::preferences.eq(row.preferences),
            guests::tags.eq(row.tags),
            guests::resident.eq(row.resident),
            guests::blacklisted.eq(row.blacklisted),
            guests::blacklist_category.eq(row.blacklist_category),
            guests::blacklist_reason.eq(row.blacklist_reason),
            guests::blacklisted_by.eq(row.blacklisted_by),
            guests::blacklisted_at.eq(row.blacklisted_at),
            guests::erased_at.eq(row.erased_at),
            guests::version.eq(row.version),
            guests::updated_at.eq(row.updated_at),
        ),
        (
            guests::merged_into.eq(row.merged_into),
            guests::merged_at.eq(row.merged_at),
        ),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(StorageError::VersionConflict);
    }
    write_index_rows(conn, guest, true)
}

#[derive(Debug, Clone, Default)]
pub struct GuestFilter {
    /// Normalised prefix (see `crm_domain::search::query_prefix`).
    pub search_prefix: Option<String>,
    pub tag: Option<String>,
    pub blacklisted: Option<bool>,
    pub resident: Option<bool>,
    pub nationality: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// The document number's blind-index hashes (one per data key while
    /// a rotation is under way); empty: no filter.
    pub document_hashes: Vec<String>,
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &GuestFilter,
    page: &PageRequest,
) -> StorageResult<Page<Guest>> {
    let org = org_id.to_string();
    // Tombstones of merged guests are not listed (their ids still resolve).
    let mut query = guests::table
        .filter(guests::org_id.eq(org.clone()))
        .filter(guests::merged_into.is_null())
        .select(GuestRow::as_select())
        .into_boxed();
    if let Some(prefix) = &filter.search_prefix {
        let matching = guest_search_terms::table
            .filter(guest_search_terms::org_id.eq(org.clone()))
            .filter(guest_search_terms::term.ge(prefix.clone()))
            .filter(guest_search_terms::term.lt(search::prefix_upper_bound(prefix)))
            .select(guest_search_terms::guest_id);
        query = query.filter(guests::id.eq_any(matching));
    }
    if let Some(tag) = &filter.tag {
        let tagged = guest_tags::table
            .filter(guest_tags::org_id.eq(org.clone()))
            .filter(guest_tags::tag.eq(tag.clone()))
            .select(guest_tags::guest_id);
        query = query.filter(guests::id.eq_any(tagged));
    }
    if !filter.document_hashes.is_empty() {
        let holders = guest_identity_documents::table
            .filter(guest_identity_documents::org_id.eq(org.clone()))
            .filter(guest_identity_documents::number_hash.eq_any(filter.document_hashes.clone()))
            .select(guest_identity_documents::guest_id);
        query = query.filter(guests::id.eq_any(holders));
    }
    if let Some(b) = filter.blacklisted {
        query = query.filter(guests::blacklisted.eq(b));
    }
    if let Some(r) = filter.resident {
        query = query.filter(guests::resident.eq(r));
    }
    if let Some(n) = &filter.nationality {
        query = query.filter(guests::nationality.eq(n.clone()));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(guests::created_at.ge(to_db(from)));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(guests::created_at.lt(to_db(before)));
    }
    let rows: Vec<GuestRow> = paginate!(query, guests::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Guest::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |g| g.id.clone()))
}

/// The oldest non-erased guest holding any of these exact search terms
/// (E.164 phones, e-mails) or this identity-document hash: how a booking's
/// guest is matched to an existing profile.
pub fn find_matching(
    conn: &mut DbConnection,
    org_id: &str,
    exact_terms: &[String],
    document_hashes: &[String],
) -> StorageResult<Option<Guest>> {
    let org = org_id.to_string();
    let mut candidates: Vec<String> = guest_search_terms::table
        .filter(guest_search_terms::org_id.eq(org.clone()))
        .filter(guest_search_terms::term.eq_any(exact_terms))
        .select(guest_search_terms::guest_id)
        .load(conn)?;
    if !document_hashes.is_empty() {
        let holders: Vec<String> = guest_identity_documents::table
            .filter(guest_identity_documents::org_id.eq(org.clone()))
            .filter(guest_identity_documents::number_hash.eq_any(document_hashes))
            .select(guest_identity_documents::guest_id)
            .load(conn)?;
        candidates.extend(holders);
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    guests::table
        .filter(guests::org_id.eq(org))
        .filter(guests::id.eq_any(candidates))
        .filter(guests::erased_at.is_null())
        .filter(guests::merged_into.is_null())
        .order(guests::id.asc())
        .select(GuestRow::as_select())
        .first(conn)
        .optional()?
        .map(Guest::try_from)
        .transpose()
}

/// The organisation's guests with these ids (any order; unknown ids are
/// left out).
pub fn find_many(
    conn: &mut DbConnection,
    org_id: &str,
    ids: &[String],
) -> StorageResult<Vec<Guest>> {
    guests::table
        .filter(guests::org_id.eq(org_id))
        .filter(guests::id.eq_any(ids))
        .select(GuestRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Guest::try_from)
        .collect()
}

/// A page of the organisation's guest ids after `after` (for jobs that
/// walk every guest).
pub fn ids_after(
    conn: &mut DbConnection,
    org_id: &str,
    after: &str,
    limit: i64,
) -> StorageResult<Vec<String>> {
    Ok(guests::table
        .filter(guests::org_id.eq(org_id))
        .filter(guests::id.gt(after))
        .order(guests::id.asc())
        .select(guests::id)
        .limit(limit)
        .load(conn)?)
}

/// Guests changed since `since` (profile, tags, blacklist, erasure).
pub fn changed_since(
    conn: &mut DbConnection,
    org_id: &str,
    since: NaiveDateTime,
) -> StorageResult<Vec<String>> {
    Ok(guests::table
        .filter(guests::org_id.eq(org_id))
        .filter(guests::updated_at.gt(since))
        .select(guests::id)
        .load(conn)?)
}

/// The rows `insert` would write for a new guest (profile, tags, search
/// terms), for bulk loading with `crate::bulk`.
pub fn bulk_rows(
    g: &Guest,
) -> StorageResult<(
    crate::bulk::GuestRow,
    Vec<crate::bulk::TagRow>,
    Vec<crate::bulk::TermRow>,
)> {
    let r = to_row(g)?;
    let tags = g
        .profile
        .tags
        .iter()
        .map(|t| crate::bulk::TagRow {
            org_id: g.org_id.clone(),
            guest_id: g.id.clone(),
            tag: t.clone(),
        })
        .collect();
    let terms = search::terms_for(&g.profile)
        .into_iter()
        .map(|term| crate::bulk::TermRow {
            org_id: g.org_id.clone(),
            guest_id: g.id.clone(),
            term,
        })
        .collect();
    let row = crate::bulk::GuestRow {
        id: r.id,
        org_id: r.org_id,
        family_name: r.family_name,
        given_name: r.given_name,
        family_name_latin: r.family_name_latin,
        given_name_latin: r.given_name_latin,
        gender: r.gender,
        birthday: r.birthday,
        nationality: r.nationality,
        language: r.language,
        phones: r.phones,
        emails: r.emails,
        company: r.company,
        address: r.address,
        notes: r.notes,
        preferences: r.preferences,
        tags: r.tags,
        resident: r.resident,
        blacklisted: r.blacklisted,
        blacklist_category: r.blacklist_category,
        blacklist_reason: r.blacklist_reason,
        blacklisted_by: r.blacklisted_by,
        blacklisted_at: r.blacklisted_at,
        erased_at: r.erased_at,
        version: r.version,
        created_by: r.created_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
    };
    Ok((row, tags, terms))
}

/// The stored row of a guest as JSON: what a merge keeps to restore it.
pub fn snapshot(g: &Guest) -> StorageResult<String> {
    Ok(serde_json::to_string(&to_row(g)?)?)
}

/// The guest a snapshot holds.
pub fn from_snapshot(snapshot: &str) -> StorageResult<Guest> {
    let row: GuestRow = serde_json::from_str(snapshot)?;
    row.try_into()
}

/// Live guests (not erased, not merged away, created before `cutoff`)
/// whose last stay began before `cutoff_day` (or who never stayed), with
/// no open booking (confirmed or in house): what a retention policy
/// anonymises. A page after `after`, in id order.
pub fn retention_due(
    conn: &mut DbConnection,
    org_id: &str,
    cutoff: DateTime<Utc>,
    cutoff_day: NaiveDate,
    after: &str,
    limit: i64,
) -> StorageResult<Vec<String>> {
    use crate::schema::{guest_stats, reservations};
    let recent = guest_stats::table
        .filter(guest_stats::org_id.eq(org_id.to_string()))
        .filter(guest_stats::last_stay_on.ge(cutoff_day))
        .select(guest_stats::guest_id);
    let upcoming = reservations::table
        .filter(reservations::org_id.eq(org_id.to_string()))
        .filter(reservations::status.eq_any(["confirmed", "checked_in"]))
        .select(reservations::guest_id);
    Ok(guests::table
        .filter(guests::org_id.eq(org_id))
        .filter(guests::id.gt(after))
        .filter(guests::erased_at.is_null())
        .filter(guests::merged_into.is_null())
        .filter(guests::created_at.lt(to_db(cutoff)))
        .filter(diesel::dsl::not(guests::id.eq_any(recent)))
        .filter(diesel::dsl::not(guests::id.eq_any(upcoming)))
        .order(guests::id.asc())
        .select(guests::id)
        .limit(limit)
        .load(conn)?)
}

/// Live guests holding any of these exact search terms (phones, e-mails,
/// name readings), born on `birthday` when given; at most `limit`.
pub fn holders_of_terms(
    conn: &mut DbConnection,
    org_id: &str,
    terms: &[String],
    birthday: Option<NaiveDate>,
    limit: i64,
) -> StorageResult<Vec<String>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let holders = guest_search_terms::table
        .filter(guest_search_terms::org_id.eq(org_id.to_string()))
        .filter(guest_search_terms::term.eq_any(terms.to_vec()))
        .select(guest_search_terms::guest_id);
    let mut q = guests::table
        .filter(guests::org_id.eq(org_id.to_string()))
        .filter(guests::id.eq_any(holders))
        .filter(guests::erased_at.is_null())
        .filter(guests::merged_into.is_null())
        .select(guests::id)
        .into_boxed();
    if let Some(b) = birthday {
        q = q.filter(guests::birthday.eq(b));
    }
    Ok(q.order(guests::id.asc()).limit(limit).load(conn)?)
}

/// The tombstones of guests merged into `survivor` (erasure anonymises
/// them with it).
pub fn tombstones_of(
    conn: &mut DbConnection,
    org_id: &str,
    survivor: &str,
) -> StorageResult<Vec<Guest>> {
    guests::table
        .filter(guests::org_id.eq(org_id))
        .filter(guests::merged_into.eq(survivor))
        .select(GuestRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Guest::try_from)
        .collect()
}
