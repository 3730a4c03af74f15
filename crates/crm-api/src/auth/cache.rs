//! A short-lived cache of "is this account enabled, and with which role?",
//! so an authenticated read costs one query, not two. Changes made through
//! this node invalidate their entry at once; other nodes notice within the
//! time-to-live (`HOTEL_CRM_AUTH_CACHE_MS`, default 1000 ms; 0 disables).

use crate::auth::PrincipalKind;
use crm_domain::role::Role;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type Key = (PrincipalKind, String);

/// When the state was read, whether the account is enabled, its role.
type Entry = (Instant, bool, Role);

pub struct PrincipalCache {
    ttl: Duration,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl PrincipalCache {
    pub fn new(ttl: Duration) -> Self {
        PrincipalCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `(enabled, role)` if known and fresh.
    pub fn get(&self, kind: PrincipalKind, id: &str) -> Option<(bool, Role)> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(kind, id.to_string()))
            .filter(|(at, _, _)| at.elapsed() < self.ttl)
            .map(|(_, enabled, role)| (*enabled, *role))
    }

    pub fn put(&self, kind: PrincipalKind, id: &str, enabled: bool, role: Role) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 10_000 {
            let ttl = self.ttl;
            entries.retain(|_, (at, _, _)| at.elapsed() < ttl);
        }
        entries.insert((kind, id.to_string()), (Instant::now(), enabled, role));
    }

    /// Forget an account whose status or role just changed.
    pub fn invalidate(&self, kind: PrincipalKind, id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&(kind, id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_invalidated() {
        let cache = PrincipalCache::new(Duration::from_millis(50));
        cache.put(PrincipalKind::User, "u1", true, Role::Manager);
        assert_eq!(
            cache.get(PrincipalKind::User, "u1"),
            Some((true, Role::Manager))
        );
        assert_eq!(cache.get(PrincipalKind::Client, "u1"), None);
        cache.invalidate(PrincipalKind::User, "u1");
        assert_eq!(cache.get(PrincipalKind::User, "u1"), None);
        cache.put(PrincipalKind::User, "u1", true, Role::Manager);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(PrincipalKind::User, "u1"), None);
        let off = PrincipalCache::new(Duration::ZERO);
        off.put(PrincipalKind::User, "u1", true, Role::Admin);
        assert_eq!(off.get(PrincipalKind::User, "u1"), None);
    }
}
