//! Duplicate candidates: pairs of guests that look like one person, found
//! by the duplicate scan or at creation, until merged or dismissed. A
//! dismissed pair stays dismissed: later scans do not reopen it.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::{
    duplicate_candidates as dc, duplicate_scans, guest_identity_documents, guests,
};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

/// What matching reads of a guest, as stored.
#[derive(Debug, Clone)]
pub struct MatchRow {
    pub id: String,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name_latin: Option<String>,
    pub given_name_latin: Option<String>,
    pub birthday: Option<NaiveDate>,
    /// JSON address, phones and e-mails as `guests` stores them.
    pub address: Option<String>,
    pub phones: String,
    pub emails: String,
    pub updated_at: DateTime<Utc>,
    pub document_hashes: Vec<String>,
}

type MatchTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDate>,
    Option<String>,
    String,
    String,
    NaiveDateTime,
);

/// The columns of a [`MatchTuple`].
const MATCH_COLUMNS: (
    guests::id,
    guests::family_name,
    guests::given_name,
    guests::family_name_latin,
    guests::given_name_latin,
    guests::birthday,
    guests::address,
    guests::phones,
    guests::emails,
    guests::updated_at,
) = (
    guests::id,
    guests::family_name,
    guests::given_name,
    guests::family_name_latin,
    guests::given_name_latin,
    guests::birthday,
    guests::address,
    guests::phones,
    guests::emails,
    guests::updated_at,
);

/// Builds the match rows and hands each its documents' hashes, from
/// `docs` (guest id, hash) pairs the caller loaded.
fn match_rows(rows: Vec<MatchTuple>, docs: Vec<(String, String)>) -> Vec<MatchRow> {
    let mut out: Vec<MatchRow> = rows
        .into_iter()
        .map(|r| MatchRow {
            id: r.0,
            family_name: r.1,
            given_name: r.2,
            family_name_latin: r.3,
            given_name_latin: r.4,
            birthday: r.5,
            address: r.6,
            phones: r.7,
            emails: r.8,
            updated_at: from_db(r.9),
            document_hashes: Vec::new(),
        })
        .collect();
    let index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    for (guest, hash) in docs {
        if let Some(r) = index.get(&guest).and_then(|&i| out.get_mut(i)) {
            r.document_hashes.push(hash);
        }
    }
    out
}

/// A page of the organisation's live guests (neither erased nor merged
/// away) after `after`, in id order, for the scan.
pub fn match_rows_after(
    conn: &mut DbConnection,
    org: &str,
    after: &str,
    limit: i64,
) -> StorageResult<Vec<MatchRow>> {
    let rows: Vec<MatchTuple> = guests::table
        .filter(guests::org_id.eq(org))
        .filter(guests::id.gt(after))
        .filter(guests::erased_at.is_null())
        .filter(guests::merged_into.is_null())
        .order(guests::id.asc())
        .limit(limit)
        .select(MATCH_COLUMNS)
        .load(conn)?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Vec::new());
    };
    // The documents of the guests in this id range, in one query.
    let docs: Vec<(String, String)> = guest_identity_documents::table
        .filter(guest_identity_documents::org_id.eq(org))
        .filter(guest_identity_documents::guest_id.ge(&first.0))
        .filter(guest_identity_documents::guest_id.le(&last.0))
        .select((
            guest_identity_documents::guest_id,
            guest_identity_documents::number_hash,
        ))
        .load(conn)?;
    Ok(match_rows(rows, docs))
}

/// These live guests' match rows (the creation check's candidates).
pub fn match_rows_of(
    conn: &mut DbConnection,
    org: &str,
    ids: &[String],
) -> StorageResult<Vec<MatchRow>> {
    let rows: Vec<MatchTuple> = guests::table
        .filter(guests::org_id.eq(org))
        .filter(guests::id.eq_any(ids))
        .filter(guests::erased_at.is_null())
        .filter(guests::merged_into.is_null())
        .order(guests::id.asc())
        .select(MATCH_COLUMNS)
        .load(conn)?;
    let docs: Vec<(String, String)> = guest_identity_documents::table
        .filter(guest_identity_documents::org_id.eq(org))
        .filter(guest_identity_documents::guest_id.eq_any(ids))
        .select((
            guest_identity_documents::guest_id,
            guest_identity_documents::number_hash,
        ))
        .load(conn)?;
    Ok(match_rows(rows, docs))
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dc)]
struct CandidateRow {
    id: String,
    org_id: String,
    guest_a: String,
    guest_b: String,
    score: i32,
    reasons: String,
    status: String,
    found_at: NaiveDateTime,
    decided_by: Option<String>,
    decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub org_id: String,
    /// The pair, `guest_a < guest_b`.
    pub guest_a: String,
    pub guest_b: String,
    pub score: i32,
    /// JSON array of reasons.
    pub reasons: String,
    /// open, dismissed, merged
    pub status: String,
    pub found_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<CandidateRow> for Candidate {
    fn from(r: CandidateRow) -> Self {
        Candidate {
            id: r.id,
            org_id: r.org_id,
            guest_a: r.guest_a,
            guest_b: r.guest_b,
            score: r.score,
            reasons: r.reasons,
            status: r.status,
            found_at: from_db(r.found_at),
            decided_by: r.decided_by,
            decided_at: r.decided_at.map(from_db),
        }
    }
}

/// A pair found now: (guest_a, guest_b, score, reasons JSON), a < b.
pub type FoundPair = (String, String, i32, String);

/// Records found pairs: new ones open; open ones get the new score;
/// dismissed and merged ones are left as they are. Returns how many were
/// new.
pub fn record_found(
    conn: &mut DbConnection,
    org: &str,
    found: &[FoundPair],
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    let mut new_rows = Vec::new();
    for chunk in found.chunks(400) {
        let firsts: Vec<&str> = chunk.iter().map(|p| p.0.as_str()).collect();
        let existing: Vec<(String, String, String, i32, String)> = dc::table
            .filter(dc::org_id.eq(org))
            .filter(dc::guest_a.eq_any(&firsts))
            .select((dc::id, dc::guest_a, dc::guest_b, dc::score, dc::status))
            .load(conn)?;
        let known: HashMap<(&str, &str), (&str, i32, &str)> = existing
            .iter()
            .map(|(id, a, b, s, st)| ((a.as_str(), b.as_str()), (id.as_str(), *s, st.as_str())))
            .collect();
        for (a, b, score, reasons) in chunk {
            match known.get(&(a.as_str(), b.as_str())) {
                None => new_rows.push(CandidateRow {
                    id: crm_domain::id::new_id().to_string(),
                    org_id: org.to_string(),
                    guest_a: a.clone(),
                    guest_b: b.clone(),
                    score: *score,
                    reasons: reasons.clone(),
                    status: "open".into(),
                    found_at: to_db(now),
                    decided_by: None,
                    decided_at: None,
                }),
                Some((id, old, "open")) if old != score => {
                    diesel::update(dc::table.filter(dc::org_id.eq(org)).filter(dc::id.eq(*id)))
                        .set((dc::score.eq(*score), dc::reasons.eq(reasons)))
                        .execute(conn)?;
                }
                Some(_) => {}
            }
        }
    }
    // A pair found twice in one call is written once.
    new_rows.sort_by(|x, y| (&x.guest_a, &x.guest_b).cmp(&(&y.guest_a, &y.guest_b)));
    new_rows.dedup_by(|x, y| x.guest_a == y.guest_a && x.guest_b == y.guest_b);
    for chunk in new_rows.chunks(500) {
        crate::db::insert_many!(&mut *conn, dc::table, chunk)?;
    }
    Ok(new_rows.len())
}

/// Open candidates, highest score first. The cursor is `score:id` of the
/// last row.
pub fn list_open(
    conn: &mut DbConnection,
    org: &str,
    guest_id: Option<&str>,
    min_score: i32,
    after: Option<&str>,
    limit: i64,
) -> StorageResult<(Vec<Candidate>, Option<String>)> {
    let mut q = dc::table
        .filter(dc::org_id.eq(org.to_string()))
        .filter(dc::status.eq("open"))
        .filter(dc::score.ge(min_score))
        .select(CandidateRow::as_select())
        .into_boxed();
    if let Some(g) = guest_id {
        q = q.filter(
            dc::guest_a
                .eq(g.to_string())
                .or(dc::guest_b.eq(g.to_string())),
        );
    }
    if let Some(after) = after {
        let (score, id) = after
            .split_once(':')
            .and_then(|(s, id)| s.parse::<i32>().ok().map(|s| (s, id.to_string())))
            .ok_or(StorageError::NotFound)?;
        q = q.filter(
            dc::score
                .lt(score)
                .or(dc::score.eq(score).and(dc::id.gt(id))),
        );
    }
    let mut rows: Vec<CandidateRow> = q
        .order((dc::score.desc(), dc::id.asc()))
        .limit(limit + 1)
        .load(conn)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|r| format!("{}:{}", r.score, r.id))
    } else {
        None
    };
    Ok((rows.into_iter().map(Candidate::from).collect(), next))
}

pub fn find(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<Candidate> {
    Ok(dc::table
        .filter(dc::org_id.eq(org))
        .filter(dc::id.eq(id))
        .select(CandidateRow::as_select())
        .first(conn)?
        .into())
}

/// The candidate row of a pair, in either order.
pub fn find_pair(
    conn: &mut DbConnection,
    org: &str,
    x: &str,
    y: &str,
) -> StorageResult<Option<Candidate>> {
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    Ok(dc::table
        .filter(dc::org_id.eq(org))
        .filter(dc::guest_a.eq(a))
        .filter(dc::guest_b.eq(b))
        .select(CandidateRow::as_select())
        .first(conn)
        .optional()?
        .map(Candidate::from))
}

/// Sets a pair's status (dismissed, merged, open again on unmerge);
/// creates the row when the pair was never found (a merge of guests the
/// scan did not pair).
pub fn decide(
    conn: &mut DbConnection,
    org: &str,
    x: &str,
    y: &str,
    status: &str,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> StorageResult<()> {
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    let n = diesel::update(
        dc::table
            .filter(dc::org_id.eq(org))
            .filter(dc::guest_a.eq(a))
            .filter(dc::guest_b.eq(b)),
    )
    .set((
        dc::status.eq(status),
        dc::decided_by.eq(by),
        dc::decided_at.eq(Some(to_db(now))),
    ))
    .execute(conn)?;
    if n == 0 {
        diesel::insert_into(dc::table)
            .values(CandidateRow {
                id: crm_domain::id::new_id().to_string(),
                org_id: org.to_string(),
                guest_a: a.to_string(),
                guest_b: b.to_string(),
                score: 0,
                reasons: "[]".into(),
                status: status.to_string(),
                found_at: to_db(now),
                decided_by: by.map(str::to_string),
                decided_at: Some(to_db(now)),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Drops the open candidates involving `guest` (merged away or erased:
/// the pairs no longer mean anything; the next scan pairs the survivor).
pub fn drop_open_for(conn: &mut DbConnection, org: &str, guest: &str) -> StorageResult<usize> {
    Ok(diesel::delete(
        dc::table
            .filter(dc::org_id.eq(org))
            .filter(dc::status.eq("open"))
            .filter(dc::guest_a.eq(guest).or(dc::guest_b.eq(guest))),
    )
    .execute(conn)?)
}

/// Every candidate row involving `guest` (export).
pub fn all_for(conn: &mut DbConnection, org: &str, guest: &str) -> StorageResult<Vec<Candidate>> {
    Ok(dc::table
        .filter(dc::org_id.eq(org))
        .filter(dc::guest_a.eq(guest).or(dc::guest_b.eq(guest)))
        .order(dc::id.asc())
        .select(CandidateRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Candidate::from)
        .collect())
}

/// Deletes every candidate row involving `guest` (erasure).
pub fn delete_all_for(conn: &mut DbConnection, org: &str, guest: &str) -> StorageResult<usize> {
    Ok(diesel::delete(
        dc::table
            .filter(dc::org_id.eq(org))
            .filter(dc::guest_a.eq(guest).or(dc::guest_b.eq(guest))),
    )
    .execute(conn)?)
}

/// When the organisation's last scan ran.
pub fn last_scan(conn: &mut DbConnection, org: &str) -> StorageResult<Option<DateTime<Utc>>> {
    Ok(duplicate_scans::table
        .filter(duplicate_scans::org_id.eq(org))
        .select(duplicate_scans::last_scan_at)
        .first::<NaiveDateTime>(conn)
        .optional()?
        .map(from_db))
}

pub fn record_scan(
    conn: &mut DbConnection,
    org: &str,
    at: DateTime<Utc>,
    guests: i32,
    pairs: i32,
) -> StorageResult<()> {
    let n = diesel::update(duplicate_scans::table.filter(duplicate_scans::org_id.eq(org)))
        .set((
            duplicate_scans::last_scan_at.eq(to_db(at)),
            duplicate_scans::guests.eq(guests),
            duplicate_scans::pairs.eq(pairs),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(duplicate_scans::table)
            .values((
                duplicate_scans::org_id.eq(org),
                duplicate_scans::last_scan_at.eq(to_db(at)),
                duplicate_scans::guests.eq(guests),
                duplicate_scans::pairs.eq(pairs),
            ))
            .execute(conn)?;
    }
    Ok(())
}
