//! Duplicate detection: the scan over an organisation's guests (a job) and
//! the check when one guest is created. The rules are
//! `crm_domain::duplicate`'s; this reads guests, hands them over and
//! records the pairs.

use crate::error::ApiError;
use crate::state::write_transaction;
use chrono::{DateTime, Utc};
use crm_domain::duplicate::{self, MatchInput, Reason};
use crm_domain::guest::GuestProfile;
use crm_storage::duplicates::{self as store, FoundPair, MatchRow};
use crm_storage::{guests, Database, DbConnection};
use serde::Serialize;

/// Blocks bigger than this are skipped (a hotel's own phone number typed
/// for every walk-in, a very common name on one birthday).
const MAX_BLOCK: usize = 200;
const PAGE: i64 = 5_000;

fn city_of(address: Option<&str>) -> Option<String> {
    let a: serde_json::Value = serde_json::from_str(address?).ok()?;
    a.get("city")?.as_str().map(str::to_string)
}

fn texts(json: &str, key: &str) -> Vec<String> {
    serde_json::from_str::<Vec<serde_json::Value>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.get(key).and_then(|x| x.as_str()).map(str::to_lowercase))
        .collect()
}

pub fn input_of_row(r: &MatchRow) -> MatchInput {
    MatchInput {
        family_name: r.family_name.clone(),
        given_name: r.given_name.clone(),
        family_name_latin: r.family_name_latin.clone(),
        given_name_latin: r.given_name_latin.clone(),
        birthday: r.birthday,
        city: city_of(r.address.as_deref()),
        phones: texts(&r.phones, "number"),
        emails: texts(&r.emails, "address"),
        document_hashes: r.document_hashes.clone(),
    }
}

pub fn input_of_profile(p: &GuestProfile, document_hashes: Vec<String>) -> MatchInput {
    MatchInput {
        family_name: p.family_name.clone(),
        given_name: p.given_name.clone(),
        family_name_latin: p.family_name_latin.clone(),
        given_name_latin: p.given_name_latin.clone(),
        birthday: p.birthday,
        city: p.address.as_ref().and_then(|a| a.city.clone()),
        phones: p
            .phones
            .iter()
            .map(|(n, _)| n.as_str().to_string())
            .collect(),
        emails: p
            .emails
            .iter()
            .map(|(e, _)| e.as_str().to_lowercase())
            .collect(),
        document_hashes,
    }
}

fn pair(x: &str, y: &str, m: &duplicate::Match) -> Result<FoundPair, ApiError> {
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    Ok((
        a.to_string(),
        b.to_string(),
        i32::from(m.score),
        serde_json::to_string(&m.reasons).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

/// What a scan did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ScanReport {
    /// Live guests read.
    pub guests: u64,
    /// Guests new or changed since the previous scan (all on the first).
    pub focus: u64,
    /// Pairs at or above the candidate threshold.
    pub pairs: u64,
    /// Pairs not seen before.
    pub new_pairs: u64,
    /// Blocking keys shared by too many guests to compare (shared numbers).
    pub skipped_blocks: u64,
    pub full: bool,
}

/// Scans an organisation: pairs involving a guest new or changed since the
/// last scan (every guest when `full` or on the first scan) are scored and
/// recorded. Dismissed pairs stay dismissed.
pub fn scan(
    db: &Database,
    org: &str,
    full: bool,
    now: DateTime<Utc>,
) -> Result<ScanReport, ApiError> {
    let last = db.read(|conn| store::last_scan(conn, org))?;
    let since = if full { None } else { last };
    let mut ids: Vec<String> = Vec::new();
    let mut inputs: Vec<MatchInput> = Vec::new();
    let mut focus: Vec<bool> = Vec::new();
    let mut after = String::new();
    loop {
        let rows = db.read(|conn| store::match_rows_after(conn, org, &after, PAGE))?;
        let Some(last_row) = rows.last() else { break };
        after = last_row.id.clone();
        for r in &rows {
            inputs.push(input_of_row(r));
            // A margin for changes committing while the previous scan read.
            focus.push(since.is_none_or(|s| r.updated_at >= s - chrono::Duration::minutes(5)));
            ids.push(r.id.clone());
        }
    }
    let found = duplicate::find_pairs(
        &inputs,
        |i| focus.get(i).copied().unwrap_or(false),
        MAX_BLOCK,
    );
    drop(inputs);
    let pairs: Vec<FoundPair> = found
        .pairs
        .iter()
        .filter_map(|(i, j, m)| Some((ids.get(*i)?, ids.get(*j)?, m)))
        .map(|(x, y, m)| pair(x, y, m))
        .collect::<Result<_, _>>()?;
    let mut new_pairs = 0;
    for chunk in pairs.chunks(2_000) {
        new_pairs += write_transaction(db, |conn| Ok(store::record_found(conn, org, chunk, now)?))?;
    }
    let report = ScanReport {
        guests: ids.len() as u64,
        focus: focus.iter().filter(|f| **f).count() as u64,
        pairs: pairs.len() as u64,
        new_pairs: new_pairs as u64,
        skipped_blocks: found.skipped_blocks as u64,
        full: since.is_none(),
    };
    write_transaction(db, |conn| {
        Ok(store::record_scan(
            conn,
            org,
            now,
            i32::try_from(report.guests).unwrap_or(i32::MAX),
            i32::try_from(report.pairs).unwrap_or(i32::MAX),
        )?)
    })?;
    Ok(report)
}

/// A guest that looks like the one just written.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PossibleDuplicate {
    pub guest_id: String,
    /// 0 to 100.
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// The live guests that look like `profile` (guest `id`), best first,
/// recorded as candidates in the caller's transaction. Candidates come
/// from the search index: the same phone or e-mail, or a name reading
/// (pinyin and Latin meet there) held by a guest with the same birthday.
pub fn check(
    conn: &mut DbConnection,
    org: &str,
    id: &str,
    profile: &GuestProfile,
    now: DateTime<Utc>,
) -> Result<Vec<PossibleDuplicate>, ApiError> {
    let me = input_of_profile(profile, Vec::new());
    let mut exact: Vec<String> = me.phones.clone();
    exact.extend(me.emails.iter().cloned());
    let names = duplicate::name_keys(&me);
    let mut ids = guests::holders_of_terms(conn, org, &exact, None, 50)?;
    if profile.birthday.is_some() && !names.is_empty() {
        ids.extend(guests::holders_of_terms(
            conn,
            org,
            &names,
            profile.birthday,
            50,
        )?);
    }
    ids.retain(|g| g != id);
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = store::match_rows_of(conn, org, &ids)?;
    let mut found: Vec<PossibleDuplicate> = rows
        .iter()
        .filter_map(|r| {
            duplicate::score(&me, &input_of_row(r)).map(|m| PossibleDuplicate {
                guest_id: r.id.clone(),
                score: m.score,
                reasons: m.reasons,
            })
        })
        .collect();
    found.sort_by(|a, b| b.score.cmp(&a.score).then(a.guest_id.cmp(&b.guest_id)));
    let pairs: Vec<FoundPair> = found
        .iter()
        .map(|d| {
            pair(
                id,
                &d.guest_id,
                &duplicate::Match {
                    score: d.score,
                    reasons: d.reasons.clone(),
                },
            )
        })
        .collect::<Result<_, _>>()?;
    store::record_found(conn, org, &pairs, now)?;
    Ok(found)
}
