//! Retention policies: anonymise guests with no stay for N years.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::retention_policies as rp;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rp)]
struct PolicyRow {
    org_id: String,
    enabled: bool,
    anonymise_after_years: i32,
    version: i32,
    updated_by: String,
    updated_at: NaiveDateTime,
    last_run_at: Option<NaiveDateTime>,
    last_run_count: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub org_id: String,
    pub enabled: bool,
    pub anonymise_after_years: i32,
    pub version: i32,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_run_count: Option<i32>,
}

pub fn find(conn: &mut DbConnection, org: &str) -> StorageResult<Option<Policy>> {
    Ok(rp::table
        .filter(rp::org_id.eq(org))
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?
        .map(|r| Policy {
            org_id: r.org_id,
            enabled: r.enabled,
            anonymise_after_years: r.anonymise_after_years,
            version: r.version,
            updated_by: r.updated_by,
            updated_at: from_db(r.updated_at),
            last_run_at: r.last_run_at.map(from_db),
            last_run_count: r.last_run_count,
        }))
}

/// Writes the policy: inserts version 1, or updates when the stored
/// version is `expected_version`.
pub fn save(
    conn: &mut DbConnection,
    p: &Policy,
    expected_version: Option<i32>,
) -> StorageResult<()> {
    match expected_version {
        None => {
            diesel::insert_into(rp::table)
                .values(PolicyRow {
                    org_id: p.org_id.clone(),
                    enabled: p.enabled,
                    anonymise_after_years: p.anonymise_after_years,
                    version: p.version,
                    updated_by: p.updated_by.clone(),
                    updated_at: to_db(p.updated_at),
                    last_run_at: p.last_run_at.map(to_db),
                    last_run_count: p.last_run_count,
                })
                .execute(conn)?;
        }
        Some(v) => {
            let n = diesel::update(
                rp::table
                    .filter(rp::org_id.eq(&p.org_id))
                    .filter(rp::version.eq(v)),
            )
            .set((
                rp::enabled.eq(p.enabled),
                rp::anonymise_after_years.eq(p.anonymise_after_years),
                rp::version.eq(p.version),
                rp::updated_by.eq(&p.updated_by),
                rp::updated_at.eq(to_db(p.updated_at)),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(StorageError::VersionConflict);
            }
        }
    }
    Ok(())
}

pub fn record_run(
    conn: &mut DbConnection,
    org: &str,
    at: DateTime<Utc>,
    count: i32,
) -> StorageResult<()> {
    diesel::update(rp::table.filter(rp::org_id.eq(org)))
        .set((
            rp::last_run_at.eq(Some(to_db(at))),
            rp::last_run_count.eq(Some(count)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Organisations whose policy is enabled (the scheduled job's work).
pub fn enabled_orgs(conn: &mut DbConnection) -> StorageResult<Vec<String>> {
    Ok(rp::table
        .filter(rp::enabled.eq(true))
        .select(rp::org_id)
        .load(conn)?)
}
