//! Data-key rotation: rewrites every encrypted value and blind-index hash
//! under the current `HOTEL_CRM_DATA_KEY` (`hotel-crm jobs run reencrypt`).
//!
//! Run it after setting the new key with the old one in
//! `HOTEL_CRM_DATA_KEY_PREVIOUS`; nodes read both meanwhile. It pages
//! through the documents in id order, 500 per transaction, and rewrites
//! only what is not already under the current key, so it can be stopped
//! and run again. Afterwards the old key can be removed.

use crate::crypto::DataCipher;
use crate::error::ApiError;
use crate::state::write_transaction;
use crm_storage::{identity_documents, webhooks, Database};

const PAGE: i64 = 500;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rekeyed {
    pub documents_checked: u64,
    pub documents_rewritten: u64,
    pub secrets_rewritten: u64,
}

pub fn reencrypt(db: &Database, cipher: &DataCipher) -> Result<Rekeyed, ApiError> {
    let mut done = Rekeyed::default();
    let mut after = String::new();
    loop {
        let page = db.read(|conn| identity_documents::page_for_rekey(conn, &after, PAGE))?;
        let Some(last) = page.last() else { break };
        after = last.1.clone();
        done.documents_checked += page.len() as u64;
        let mut rewrites = Vec::new();
        for (org, id, encrypted, hash) in page {
            let (number, current) = cipher.decrypt_keyed(&encrypted).map_err(|_| {
                ApiError::internal(format!(
                    "identity document {id} decrypts under none of the configured data keys"
                ))
            })?;
            let fresh_hash = cipher.blind_index(&number);
            if !current || hash != fresh_hash {
                rewrites.push((org, id, cipher.encrypt(&number), fresh_hash));
            }
        }
        if !rewrites.is_empty() {
            write_transaction(db, |conn| {
                for (org, id, encrypted, hash) in &rewrites {
                    identity_documents::set_encryption(conn, org, id, encrypted, hash)?;
                }
                Ok(())
            })?;
            done.documents_rewritten += rewrites.len() as u64;
        }
    }
    let secrets = db.read(webhooks::secrets_for_rekey)?;
    for (org, id, encrypted) in secrets {
        let (secret, current) = cipher.decrypt_keyed(&encrypted).map_err(|_| {
            ApiError::internal(format!(
                "webhook {id}'s secret decrypts under none of the configured data keys"
            ))
        })?;
        if !current {
            let again = cipher.encrypt(&secret);
            write_transaction(db, |conn| {
                Ok(webhooks::set_secret(conn, &org, &id, &again)?)
            })?;
            done.secrets_rewritten += 1;
        }
    }
    Ok(done)
}
