use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::organizations;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
struct OrganizationRow {
    id: String,
    name: String,
    default_country: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    /// Country used to read phone numbers typed without a country code when
    /// no property is named.
    pub default_country: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrganizationRow> for Organization {
    fn from(r: OrganizationRow) -> Self {
        Organization {
            id: r.id,
            name: r.name,
            default_country: r.default_country,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        }
    }
}

pub fn insert(conn: &mut DbConnection, org: &Organization) -> StorageResult<()> {
    diesel::insert_into(organizations::table)
        .values(OrganizationRow {
            id: org.id.clone(),
            name: org.name.clone(),
            default_country: org.default_country.clone(),
            created_at: to_db(org.created_at),
            updated_at: to_db(org.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> StorageResult<Organization> {
    Ok(organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first(conn)?
        .into())
}

pub fn count(conn: &mut DbConnection) -> StorageResult<i64> {
    Ok(organizations::table.count().get_result(conn)?)
}

pub fn list_all(conn: &mut DbConnection) -> StorageResult<Vec<Organization>> {
    Ok(organizations::table
        .order(organizations::id.asc())
        .select(OrganizationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Organization::from)
        .collect())
}

pub fn rename(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    default_country: &str,
    now: DateTime<Utc>,
) -> StorageResult<Organization> {
    diesel::update(organizations::table.find(id))
        .set((
            organizations::name.eq(name),
            organizations::default_country.eq(default_country),
            organizations::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    find(conn, id)
}
