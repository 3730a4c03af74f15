//! Identity documents. This layer stores what the API hands it: the number
//! already encrypted, its keyed hash and its masked form. It never sees the
//! plain number or the key.

use crate::codec::{enum_from_db, enum_to_db};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::guest_identity_documents as docs;
use crate::time::{from_db, to_db};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use crm_domain::identity::DocumentType;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = docs)]
struct DocumentRow {
    id: String,
    org_id: String,
    guest_id: String,
    doc_type: String,
    number_encrypted: String,
    number_hash: String,
    number_masked: String,
    issuing_country: Option<String>,
    expires_on: Option<NaiveDate>,
    created_by: String,
    created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityDocument {
    pub id: String,
    pub org_id: String,
    pub guest_id: String,
    pub doc_type: DocumentType,
    /// AES-256-GCM ciphertext, base64 (nonce ‖ ciphertext ‖ tag).
    pub number_encrypted: String,
    /// HMAC-SHA256 of the normalised number under a key derived from the
    /// data key: exact-match search without decrypting.
    pub number_hash: String,
    pub number_masked: String,
    pub issuing_country: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

fn from_row(r: DocumentRow) -> StorageResult<IdentityDocument> {
    Ok(IdentityDocument {
        doc_type: enum_from_db(&r.doc_type)?,
        id: r.id,
        org_id: r.org_id,
        guest_id: r.guest_id,
        number_encrypted: r.number_encrypted,
        number_hash: r.number_hash,
        number_masked: r.number_masked,
        issuing_country: r.issuing_country,
        expires_on: r.expires_on,
        created_by: r.created_by,
        created_at: from_db(r.created_at),
    })
}

pub fn insert(conn: &mut DbConnection, d: &IdentityDocument) -> StorageResult<()> {
    diesel::insert_into(docs::table)
        .values(DocumentRow {
            id: d.id.clone(),
            org_id: d.org_id.clone(),
            guest_id: d.guest_id.clone(),
            doc_type: enum_to_db(&d.doc_type)?,
            number_encrypted: d.number_encrypted.clone(),
            number_hash: d.number_hash.clone(),
            number_masked: d.number_masked.clone(),
            issuing_country: d.issuing_country.clone(),
            expires_on: d.expires_on,
            created_by: d.created_by.clone(),
            created_at: to_db(d.created_at),
        })
        .execute(conn)?;
    Ok(())
}

pub fn list_for_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<Vec<IdentityDocument>> {
    docs::table
        .filter(docs::org_id.eq(org_id))
        .filter(docs::guest_id.eq(guest_id))
        .order(docs::id.asc())
        .select(DocumentRow::as_select())
        .load(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

pub fn find(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    id: &str,
) -> StorageResult<IdentityDocument> {
    from_row(
        docs::table
            .filter(docs::org_id.eq(org_id))
            .filter(docs::guest_id.eq(guest_id))
            .filter(docs::id.eq(id))
            .select(DocumentRow::as_select())
            .first(conn)?,
    )
}

/// Deletes one document; false when there was none.
pub fn delete(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    id: &str,
) -> StorageResult<bool> {
    let n = diesel::delete(
        docs::table
            .filter(docs::org_id.eq(org_id))
            .filter(docs::guest_id.eq(guest_id))
            .filter(docs::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

pub fn delete_all_for_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
) -> StorageResult<usize> {
    Ok(diesel::delete(
        docs::table
            .filter(docs::org_id.eq(org_id))
            .filter(docs::guest_id.eq(guest_id)),
    )
    .execute(conn)?)
}

/// Does the guest already hold a document with this hash and type?
pub fn exists_for_guest(
    conn: &mut DbConnection,
    org_id: &str,
    guest_id: &str,
    doc_type: DocumentType,
    number_hash: &str,
) -> StorageResult<bool> {
    let n: i64 = docs::table
        .filter(docs::org_id.eq(org_id))
        .filter(docs::guest_id.eq(guest_id))
        .filter(docs::doc_type.eq(enum_to_db(&doc_type)?))
        .filter(docs::number_hash.eq(number_hash))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// One page of every organisation's documents, in id order after `after`:
/// `(org_id, id, number_encrypted, number_hash)`. For the data-key rotation,
/// a maintenance job that works across organisations.
pub fn page_for_rekey(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> StorageResult<Vec<(String, String, String, String)>> {
    Ok(docs::table
        .filter(docs::id.gt(after))
        .order(docs::id.asc())
        .limit(limit)
        .select((
            docs::org_id,
            docs::id,
            docs::number_encrypted,
            docs::number_hash,
        ))
        .load(conn)?)
}

/// Stores a document's number re-encrypted and re-hashed under a new key.
pub fn set_encryption(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    number_encrypted: &str,
    number_hash: &str,
) -> StorageResult<()> {
    diesel::update(
        docs::table
            .filter(docs::org_id.eq(org_id))
            .filter(docs::id.eq(id)),
    )
    .set((
        docs::number_encrypted.eq(number_encrypted),
        docs::number_hash.eq(number_hash),
    ))
    .execute(conn)?;
    Ok(())
}
