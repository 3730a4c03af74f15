//! Guest imports: saved column mappings, jobs with their progress, the
//! per-row problem report and the source keys that make a re-run create
//! nothing twice.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::{guest_source_keys, import_jobs, import_presets, import_problems};
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_presets)]
struct PresetRow {
    id: String,
    org_id: String,
    name: String,
    mapping: String,
    version: i32,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A saved column mapping: JSON `[{"header", "field"}]` as the API wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub mapping: String,
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PresetRow> for Preset {
    fn from(r: PresetRow) -> Self {
        Preset {
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            mapping: r.mapping,
            version: r.version,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        }
    }
}

pub fn insert_preset(conn: &mut DbConnection, p: &Preset) -> StorageResult<()> {
    diesel::insert_into(import_presets::table)
        .values(PresetRow {
            id: p.id.clone(),
            org_id: p.org_id.clone(),
            name: p.name.clone(),
            mapping: p.mapping.clone(),
            version: p.version,
            created_by: p.created_by.clone(),
            created_at: to_db(p.created_at),
            updated_at: to_db(p.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_preset(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<Preset> {
    Ok(import_presets::table
        .filter(import_presets::org_id.eq(org))
        .filter(import_presets::id.eq(id))
        .select(PresetRow::as_select())
        .first(conn)?
        .into())
}

pub fn list_presets(
    conn: &mut DbConnection,
    org: &str,
    page: &PageRequest,
) -> StorageResult<Page<Preset>> {
    let query = import_presets::table
        .filter(import_presets::org_id.eq(org.to_string()))
        .select(PresetRow::as_select())
        .into_boxed();
    let rows: Vec<PresetRow> = paginate!(query, import_presets::id, page).load(conn)?;
    let items = rows.into_iter().map(Preset::from).collect();
    Ok(Page::from_rows(items, page.limit, |p: &Preset| {
        p.id.clone()
    }))
}

pub fn update_preset(
    conn: &mut DbConnection,
    p: &Preset,
    expected_version: i32,
) -> StorageResult<()> {
    let n = diesel::update(
        import_presets::table
            .filter(import_presets::org_id.eq(&p.org_id))
            .filter(import_presets::id.eq(&p.id))
            .filter(import_presets::version.eq(expected_version)),
    )
    .set((
        import_presets::name.eq(&p.name),
        import_presets::mapping.eq(&p.mapping),
        import_presets::version.eq(p.version),
        import_presets::updated_at.eq(to_db(p.updated_at)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

pub fn delete_preset(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<()> {
    let n = diesel::delete(
        import_presets::table
            .filter(import_presets::org_id.eq(org))
            .filter(import_presets::id.eq(id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_jobs)]
struct JobRow {
    id: String,
    org_id: String,
    status: String,
    dry_run: bool,
    file_name: String,
    format: String,
    encoding: Option<String>,
    mapping: Option<String>,
    preset_id: Option<String>,
    source: String,
    total_bytes: i64,
    processed_bytes: i64,
    rows_read: i32,
    created_count: i32,
    skipped_count: i32,
    failed_count: i32,
    error: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    started_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    heartbeat_at: Option<NaiveDateTime>,
}

/// One import: a file, how its columns were read and what became of its
/// rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportJob {
    pub id: String,
    pub org_id: String,
    /// queued, running, completed, failed
    pub status: String,
    pub dry_run: bool,
    pub file_name: String,
    pub format: String,
    pub encoding: Option<String>,
    /// JSON `[{"header", "field"}]`: the mapping used, once the header was read.
    pub mapping: Option<String>,
    pub preset_id: Option<String>,
    /// `api` or `cli`.
    pub source: String,
    pub total_bytes: i64,
    pub processed_bytes: i64,
    pub rows_read: i32,
    pub created_count: i32,
    pub skipped_count: i32,
    pub failed_count: i32,
    /// Why the whole job failed (a file that cannot be read), not a row's problem.
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for ImportJob {
    fn from(r: JobRow) -> Self {
        ImportJob {
            id: r.id,
            org_id: r.org_id,
            status: r.status,
            dry_run: r.dry_run,
            file_name: r.file_name,
            format: r.format,
            encoding: r.encoding,
            mapping: r.mapping,
            preset_id: r.preset_id,
            source: r.source,
            total_bytes: r.total_bytes,
            processed_bytes: r.processed_bytes,
            rows_read: r.rows_read,
            created_count: r.created_count,
            skipped_count: r.skipped_count,
            failed_count: r.failed_count,
            error: r.error,
            created_by: r.created_by,
            created_at: from_db(r.created_at),
            started_at: r.started_at.map(from_db),
            finished_at: r.finished_at.map(from_db),
            heartbeat_at: r.heartbeat_at.map(from_db),
        }
    }
}

fn job_row(j: &ImportJob) -> JobRow {
    JobRow {
        id: j.id.clone(),
        org_id: j.org_id.clone(),
        status: j.status.clone(),
        dry_run: j.dry_run,
        file_name: j.file_name.clone(),
        format: j.format.clone(),
        encoding: j.encoding.clone(),
        mapping: j.mapping.clone(),
        preset_id: j.preset_id.clone(),
        source: j.source.clone(),
        total_bytes: j.total_bytes,
        processed_bytes: j.processed_bytes,
        rows_read: j.rows_read,
        created_count: j.created_count,
        skipped_count: j.skipped_count,
        failed_count: j.failed_count,
        error: j.error.clone(),
        created_by: j.created_by.clone(),
        created_at: to_db(j.created_at),
        started_at: j.started_at.map(to_db),
        finished_at: j.finished_at.map(to_db),
        heartbeat_at: j.heartbeat_at.map(to_db),
    }
}

pub fn insert_job(conn: &mut DbConnection, j: &ImportJob) -> StorageResult<()> {
    diesel::insert_into(import_jobs::table)
        .values(job_row(j))
        .execute(conn)?;
    Ok(())
}

pub fn find_job(conn: &mut DbConnection, org: &str, id: &str) -> StorageResult<ImportJob> {
    Ok(import_jobs::table
        .filter(import_jobs::org_id.eq(org))
        .filter(import_jobs::id.eq(id))
        .select(JobRow::as_select())
        .first(conn)?
        .into())
}

pub fn list_jobs(
    conn: &mut DbConnection,
    org: &str,
    page: &PageRequest,
) -> StorageResult<Page<ImportJob>> {
    let query = import_jobs::table
        .filter(import_jobs::org_id.eq(org.to_string()))
        .select(JobRow::as_select())
        .into_boxed();
    let rows: Vec<JobRow> = paginate!(query, import_jobs::id, page).load(conn)?;
    let items = rows.into_iter().map(ImportJob::from).collect();
    Ok(Page::from_rows(items, page.limit, |j: &ImportJob| {
        j.id.clone()
    }))
}

/// Writes the job's progress, counters and state (everything but its
/// identity).
pub fn save_job(conn: &mut DbConnection, j: &ImportJob) -> StorageResult<()> {
    let r = job_row(j);
    diesel::update(
        import_jobs::table
            .filter(import_jobs::org_id.eq(&j.org_id))
            .filter(import_jobs::id.eq(&j.id)),
    )
    .set((
        import_jobs::status.eq(r.status),
        import_jobs::encoding.eq(r.encoding),
        import_jobs::mapping.eq(r.mapping),
        import_jobs::processed_bytes.eq(r.processed_bytes),
        import_jobs::rows_read.eq(r.rows_read),
        import_jobs::created_count.eq(r.created_count),
        import_jobs::skipped_count.eq(r.skipped_count),
        import_jobs::failed_count.eq(r.failed_count),
        import_jobs::error.eq(r.error),
        import_jobs::started_at.eq(r.started_at),
        import_jobs::finished_at.eq(r.finished_at),
        import_jobs::heartbeat_at.eq(r.heartbeat_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Jobs left `running` or `queued` whose heartbeat stopped before
/// `stale_before` (the node that ran them died): marked failed, so their
/// status tells the truth. Returns how many.
pub fn fail_abandoned(
    conn: &mut DbConnection,
    stale_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StorageResult<usize> {
    Ok(diesel::update(
        import_jobs::table
            .filter(import_jobs::status.eq_any(["queued", "running"]))
            .filter(
                import_jobs::heartbeat_at
                    .lt(to_db(stale_before))
                    .or(import_jobs::heartbeat_at
                        .is_null()
                        .and(import_jobs::created_at.lt(to_db(stale_before)))),
            ),
    )
    .set((
        import_jobs::status.eq("failed"),
        import_jobs::error.eq("interrupted: the node running the import stopped; upload the file again to finish (rows already imported are skipped)"),
        import_jobs::finished_at.eq(to_db(now)),
    ))
    .execute(conn)?)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_problems)]
pub struct Problem {
    pub org_id: String,
    pub job_id: String,
    /// The row's line in the file, the header being row 1.
    pub row_number: i32,
    pub position: i32,
    /// The column header (or `row`, `mapping`).
    pub field: String,
    pub code: String,
    pub message: String,
}

pub fn insert_problems(conn: &mut DbConnection, rows: &[Problem]) -> StorageResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(1000) {
        n += crate::db::insert_many!(&mut *conn, import_problems::table, chunk)?;
    }
    Ok(n)
}

/// A page of a job's problems in row order, after `(row, position)`.
pub fn problems_after(
    conn: &mut DbConnection,
    org: &str,
    job_id: &str,
    after: (i32, i32),
    limit: i64,
) -> StorageResult<Vec<Problem>> {
    Ok(import_problems::table
        .filter(import_problems::org_id.eq(org))
        .filter(import_problems::job_id.eq(job_id))
        .filter(
            import_problems::row_number
                .gt(after.0)
                .or(import_problems::row_number
                    .eq(after.0)
                    .and(import_problems::position.gt(after.1))),
        )
        .order((import_problems::row_number, import_problems::position))
        .limit(limit)
        .select(Problem::as_select())
        .load(conn)?)
}

/// Which of these source keys were imported before, and as which guest.
pub fn known_source_keys(
    conn: &mut DbConnection,
    org: &str,
    keys: &[String],
) -> StorageResult<HashMap<String, String>> {
    let mut known = HashMap::new();
    for chunk in keys.chunks(900) {
        let rows: Vec<(String, String)> = guest_source_keys::table
            .filter(guest_source_keys::org_id.eq(org))
            .filter(guest_source_keys::source_key.eq_any(chunk))
            .select((guest_source_keys::source_key, guest_source_keys::guest_id))
            .load(conn)?;
        known.extend(rows);
    }
    Ok(known)
}

/// The source keys a guest came in with (export).
pub fn source_keys_of(
    conn: &mut DbConnection,
    org: &str,
    guest_id: &str,
) -> StorageResult<Vec<(String, String, DateTime<Utc>)>> {
    let rows: Vec<(String, String, NaiveDateTime)> = guest_source_keys::table
        .filter(guest_source_keys::org_id.eq(org))
        .filter(guest_source_keys::guest_id.eq(guest_id))
        .select((
            guest_source_keys::source_key,
            guest_source_keys::job_id,
            guest_source_keys::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(k, j, at)| (k, j, from_db(at)))
        .collect())
}
