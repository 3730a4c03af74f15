use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::properties;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::guest::Address;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = properties)]
struct PropertyRow {
    id: String,
    org_id: String,
    code: String,
    name: String,
    time_zone: String,
    currency: String,
    country: String,
    address: Option<String>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub id: String,
    pub org_id: String,
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub country: String,
    pub address: Option<Address>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<PropertyRow> for Property {
    type Error = StorageError;
    fn try_from(r: PropertyRow) -> StorageResult<Self> {
        Ok(Property {
            address: r.address.as_deref().map(serde_json::from_str).transpose()?,
            id: r.id,
            org_id: r.org_id,
            code: r.code,
            name: r.name,
            time_zone: r.time_zone,
            currency: r.currency,
            country: r.country,
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

fn to_row(p: &Property) -> StorageResult<PropertyRow> {
    Ok(PropertyRow {
        id: p.id.clone(),
        org_id: p.org_id.clone(),
        code: p.code.clone(),
        name: p.name.clone(),
        time_zone: p.time_zone.clone(),
        currency: p.currency.clone(),
        country: p.country.clone(),
        address: p.address.as_ref().map(serde_json::to_string).transpose()?,
        version: p.version,
        created_at: to_db(p.created_at),
        updated_at: to_db(p.updated_at),
    })
}

pub fn insert(conn: &mut DbConnection, property: &Property) -> StorageResult<()> {
    diesel::insert_into(properties::table)
        .values(to_row(property)?)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<Property> {
    properties::table
        .filter(properties::org_id.eq(org_id))
        .filter(properties::id.eq(id))
        .select(PropertyRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn first_of_org(conn: &mut DbConnection, org_id: &str) -> StorageResult<Option<Property>> {
    properties::table
        .filter(properties::org_id.eq(org_id))
        .order(properties::id.asc())
        .select(PropertyRow::as_select())
        .first(conn)
        .optional()?
        .map(Property::try_from)
        .transpose()
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<Property>> {
    let query = properties::table
        .filter(properties::org_id.eq(org_id.to_string()))
        .select(PropertyRow::as_select())
        .into_boxed();
    let rows: Vec<PropertyRow> = paginate!(query, properties::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(Property::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |p| p.id.clone()))
}

/// Writes `property` if its stored version is still `expected_version`.
pub fn update(
    conn: &mut DbConnection,
    property: &Property,
    expected_version: i32,
) -> StorageResult<()> {
    let row = to_row(property)?;
    let updated = diesel::update(
        properties::table
            .filter(properties::org_id.eq(&property.org_id))
            .filter(properties::id.eq(&property.id))
            .filter(properties::version.eq(expected_version)),
    )
    .set((
        properties::code.eq(row.code),
        properties::name.eq(row.name),
        properties::time_zone.eq(row.time_zone),
        properties::currency.eq(row.currency),
        properties::country.eq(row.country),
        properties::address.eq(row.address),
        properties::version.eq(row.version),
        properties::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}

/// By the code OTAs and the PMS know it by.
pub fn find_by_code(
    conn: &mut DbConnection,
    org_id: &str,
    code: &str,
) -> StorageResult<Option<Property>> {
    properties::table
        .filter(properties::org_id.eq(org_id))
        .filter(properties::code.eq(code))
        .select(PropertyRow::as_select())
        .first(conn)
        .optional()?
        .map(Property::try_from)
        .transpose()
}
