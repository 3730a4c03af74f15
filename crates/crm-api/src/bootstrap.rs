//! First start on an empty database: an organisation, a property and an
//! admin, so a hotel can log in straight away.

use crate::auth::password;
use crate::config::Settings;
use chrono::{DateTime, Utc};
use crm_domain::role::Role;
use crm_storage::organizations::{self, Organization};
use crm_storage::properties::{self, Property};
use crm_storage::users::{self, User};
use crm_storage::{Database, StorageError, StorageResult};

pub fn new_organization(name: &str, country: &str, now: DateTime<Utc>) -> Organization {
    Organization {
        id: crm_domain::id::new_id().to_string(),
        name: name.to_string(),
        default_country: country.to_string(),
        created_at: now,
        updated_at: now,
    }
}

pub fn new_user(
    org_id: &str,
    email: &str,
    role: Role,
    password_hash: String,
    must_change: bool,
    now: DateTime<Utc>,
) -> User {
    User {
        id: crm_domain::id::new_id().to_string(),
        org_id: org_id.to_string(),
        email: email.to_string(),
        display_name: email.split('@').next().unwrap_or(email).to_string(),
        role,
        password_hash,
        must_change_password: must_change,
        disabled_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Creates the first organisation when there is none. Returns the admin's
/// e-mail when it did.
pub fn ensure_first_organization(
    db: &Database,
    settings: &Settings,
    now: DateTime<Utc>,
) -> StorageResult<Option<String>> {
    if db.read(organizations::count)? > 0 {
        return Ok(None);
    }
    let email = settings
        .bootstrap_admin_email
        .clone()
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_else(|| "admin@localhost".to_string());
    let (secret, generated) = match &settings.bootstrap_admin_password {
        Some(p) => (p.clone(), false),
        None => (password::generate(), true),
    };
    let hash = password::hash(&secret).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let org = new_organization(&settings.bootstrap_org_name, "CN", now);
    let property = Property {
        id: crm_domain::id::new_id().to_string(),
        org_id: org.id.clone(),
        code: "MAIN".into(),
        name: "Main property".into(),
        time_zone: "Asia/Shanghai".into(),
        currency: "CNY".into(),
        country: "CN".into(),
        address: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let admin = new_user(&org.id, &email, Role::Admin, hash, false, now);
    let created = db.write(|conn| {
        if organizations::count(conn)? > 0 {
            return Ok(false);
        }
        organizations::insert(conn, &org)?;
        properties::insert(conn, &property)?;
        users::insert(conn, &admin)?;
        Ok(true)
    });
    match created {
        Ok(true) => {
            log::info!("created the first organisation with property MAIN and an admin account");
            if generated {
                // Printed once, to the operator's terminal, never to the log.
                eprintln!(
                    "\n  hotel-crm: first start. Log in as {email} with password: {secret}\n  \
                     (shown only now; set HOTEL_CRM_BOOTSTRAP_ADMIN_PASSWORD to choose it)\n"
                );
            }
            Ok(Some(email))
        }
        // Another node bootstrapped at the same moment.
        Ok(false) | Err(StorageError::Duplicate { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
