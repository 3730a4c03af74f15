//! Integration clients: OTA channel managers, PMS and other systems that
//! authenticate with a client id and secret.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::pagination::{paginate, Page, PageRequest};
use crate::schema::api_clients;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDateTime, Utc};
use crm_domain::channel::ClientGrants;
use crm_domain::role::Role;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients)]
struct ClientRow {
    id: String,
    org_id: String,
    name: String,
    secret_hash: String,
    role: String,
    grants: String,
    disabled_at: Option<NaiveDateTime>,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiClient {
    /// Also the `client_id` of the client-credentials grant.
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub secret_hash: String,
    pub role: Role,
    pub grants: ClientGrants,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<ClientRow> for ApiClient {
    type Error = StorageError;
    fn try_from(r: ClientRow) -> StorageResult<Self> {
        Ok(ApiClient {
            role: r.role.parse().map_err(StorageError::Corrupt)?,
            grants: serde_json::from_str(&r.grants)?,
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            secret_hash: r.secret_hash,
            disabled_at: r.disabled_at.map(from_db),
            version: r.version,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
        })
    }
}

pub fn insert(conn: &mut DbConnection, client: &ApiClient) -> StorageResult<()> {
    diesel::insert_into(api_clients::table)
        .values(ClientRow {
            id: client.id.clone(),
            org_id: client.org_id.clone(),
            name: client.name.clone(),
            secret_hash: client.secret_hash.clone(),
            role: client.role.as_str().to_string(),
            grants: serde_json::to_string(&client.grants)?,
            disabled_at: client.disabled_at.map(to_db),
            version: client.version,
            created_at: to_db(client.created_at),
            updated_at: to_db(client.updated_at),
        })
        .execute(conn)?;
    Ok(())
}

/// By client id alone: the client-credentials grant does not name the
/// organisation.
pub fn find_by_client_id(conn: &mut DbConnection, id: &str) -> StorageResult<Option<ApiClient>> {
    api_clients::table
        .filter(api_clients::id.eq(id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(ApiClient::try_from)
        .transpose()
}

pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> StorageResult<ApiClient> {
    api_clients::table
        .filter(api_clients::org_id.eq(org_id))
        .filter(api_clients::id.eq(id))
        .select(ClientRow::as_select())
        .first(conn)?
        .try_into()
}

pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    page: &PageRequest,
) -> StorageResult<Page<ApiClient>> {
    let query = api_clients::table
        .filter(api_clients::org_id.eq(org_id.to_string()))
        .select(ClientRow::as_select())
        .into_boxed();
    let rows: Vec<ClientRow> = paginate!(query, api_clients::id, page).load(conn)?;
    let items = rows
        .into_iter()
        .map(ApiClient::try_from)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id.clone()))
}

pub fn update(
    conn: &mut DbConnection,
    client: &ApiClient,
    expected_version: i32,
) -> StorageResult<()> {
    let updated = diesel::update(
        api_clients::table
            .filter(api_clients::org_id.eq(&client.org_id))
            .filter(api_clients::id.eq(&client.id))
            .filter(api_clients::version.eq(expected_version)),
    )
    .set((
        api_clients::name.eq(&client.name),
        api_clients::secret_hash.eq(&client.secret_hash),
        api_clients::grants.eq(serde_json::to_string(&client.grants)?),
        api_clients::disabled_at.eq(client.disabled_at.map(to_db)),
        api_clients::version.eq(client.version),
        api_clients::updated_at.eq(to_db(client.updated_at)),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(StorageError::VersionConflict);
    }
    Ok(())
}
