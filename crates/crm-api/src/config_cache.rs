//! A per-node cache of an organisation's configuration: properties, room
//! types, rate plans, integration clients' grants and webhook
//! subscriptions. Every channel push reads all of them and they change a
//! few times a year, so a push should not pay a query for each.
//!
//! A change made through this node is seen at once: the handler that made
//! it calls [`ConfigCache::invalidate`] after its transaction commits,
//! which retires every entry of the organisation. Other nodes see it within
//! the time-to-live (`HOTEL_CRM_CONFIG_CACHE_MS`, default 1000 ms, the same
//! bound as the account-state cache; 0 disables). What is cached is
//! configuration only: rooms sold, reservations and guests are always read
//! in the transaction that uses them.

use crm_storage::api_clients::{self, ApiClient};
use crm_storage::inventory::{self, RatePlan, RoomType};
use crm_storage::properties::{self, Property};
use crm_storage::webhooks::{self, Subscription};
use crm_storage::{DbConnection, StorageError, StorageResult};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries of one kind, keyed by (organisation, key).
struct Shelf<K, V> {
    entries: Mutex<HashMap<(String, K), Entry<V>>>,
}

struct Entry<V> {
    loaded_at: Instant,
    /// The organisation's generation when the value was read.
    generation: u64,
    value: V,
}

impl<K: Hash + Eq, V: Clone> Shelf<K, V> {
    fn new() -> Self {
        Shelf {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &(String, K), generation: u64, ttl: Duration) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|e| e.generation == generation && e.loaded_at.elapsed() < ttl)
            .map(|e| e.value.clone())
    }

    fn put(&self, key: (String, K), generation: u64, ttl: Duration, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES_PER_KIND {
            entries.retain(|_, e| e.loaded_at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES_PER_KIND {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                loaded_at: Instant::now(),
                generation,
                value,
            },
        );
    }
}

/// Bounds memory whatever the number of organisations and properties.
const MAX_ENTRIES_PER_KIND: usize = 10_000;

pub struct ConfigCache {
    ttl: Duration,
    /// Bumped by every change to an organisation's configuration; an entry
    /// read under an older generation is never served. Because the
    /// generation is taken before the read, a value read while a change
    /// commits is stored under the old generation and never served after
    /// the invalidation.
    generations: Mutex<HashMap<String, u64>>,
    properties: Shelf<String, Option<Property>>,
    properties_by_code: Shelf<String, Option<Property>>,
    room_types: Shelf<String, Arc<Vec<RoomType>>>,
    rate_plans: Shelf<String, Arc<Vec<RatePlan>>>,
    clients: Shelf<String, Option<ApiClient>>,
    subscriptions: Shelf<(), Arc<Vec<Subscription>>>,
}

impl std::fmt::Debug for ConfigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigCache")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl ConfigCache {
    pub fn new(ttl: Duration) -> Self {
        ConfigCache {
            ttl,
            generations: Mutex::new(HashMap::new()),
            properties: Shelf::new(),
            properties_by_code: Shelf::new(),
            room_types: Shelf::new(),
            rate_plans: Shelf::new(),
            clients: Shelf::new(),
            subscriptions: Shelf::new(),
        }
    }

    fn generation(&self, org: &str) -> u64 {
        let generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        generations.get(org).copied().unwrap_or(0)
    }

    /// The organisation's configuration changed: forget all of it.
    pub fn invalidate(&self, org: &str) {
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        *generations.entry(org.to_string()).or_insert(0) += 1;
    }

    fn fetch<K: Hash + Eq, V: Clone>(
        &self,
        shelf: &Shelf<K, V>,
        org: &str,
        key: K,
        load: impl FnOnce() -> StorageResult<V>,
    ) -> StorageResult<V> {
        if self.ttl.is_zero() {
            return load();
        }
        let generation = self.generation(org);
        let key = (org.to_string(), key);
        if let Some(v) = shelf.get(&key, generation, self.ttl) {
            return Ok(v);
        }
        let value = load()?;
        shelf.put(key, generation, self.ttl, value.clone());
        Ok(value)
    }

    /// The organisation's property with this id, if any.
    pub fn property(
        &self,
        conn: &mut DbConnection,
        org: &str,
        id: &str,
    ) -> StorageResult<Option<Property>> {
        self.fetch(
            &self.properties,
            org,
            id.to_string(),
            || match properties::find(conn, org, id) {
                Ok(p) => Ok(Some(p)),
                Err(StorageError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// The organisation's property with this code (upper case), if any.
    pub fn property_by_code(
        &self,
        conn: &mut DbConnection,
        org: &str,
        code: &str,
    ) -> StorageResult<Option<Property>> {
        self.fetch(&self.properties_by_code, org, code.to_string(), || {
            properties::find_by_code(conn, org, code)
        })
    }

    /// A property's room types.
    pub fn room_types(
        &self,
        conn: &mut DbConnection,
        org: &str,
        property_id: &str,
    ) -> StorageResult<Arc<Vec<RoomType>>> {
        self.fetch(&self.room_types, org, property_id.to_string(), || {
            inventory::room_types_of(conn, org, property_id).map(Arc::new)
        })
    }

    /// A property's rate plans.
    pub fn rate_plans(
        &self,
        conn: &mut DbConnection,
        org: &str,
        property_id: &str,
    ) -> StorageResult<Arc<Vec<RatePlan>>> {
        self.fetch(&self.rate_plans, org, property_id.to_string(), || {
            inventory::rate_plans_of(conn, org, property_id).map(Arc::new)
        })
    }

    /// An integration client (for its grants), if any.
    pub fn client(
        &self,
        conn: &mut DbConnection,
        org: &str,
        id: &str,
    ) -> StorageResult<Option<ApiClient>> {
        self.fetch(
            &self.clients,
            org,
            id.to_string(),
            || match api_clients::find(conn, org, id) {
                Ok(c) => Ok(Some(c)),
                Err(StorageError::NotFound) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }
}

impl ConfigCache {
    /// The organisation's webhook subscriptions, which every audited
    /// change consults for the events it announces.
    pub fn subscriptions(
        &self,
        conn: &mut DbConnection,
        org: &str,
    ) -> StorageResult<Arc<Vec<Subscription>>> {
        self.fetch(&self.subscriptions, org, (), || {
            webhooks::list_subscriptions(conn, org).map(Arc::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(ms: u64) -> (ConfigCache, Shelf<String, i32>) {
        (ConfigCache::new(Duration::from_millis(ms)), Shelf::new())
    }

    #[test]
    fn serves_until_invalidated_or_expired() {
        let (c, shelf) = cache(60_000);
        let load = |v: i32| move || -> StorageResult<i32> { Ok(v) };
        assert_eq!(c.fetch(&shelf, "o1", "k".into(), load(1)).ok(), Some(1));
        assert_eq!(c.fetch(&shelf, "o1", "k".into(), load(2)).ok(), Some(1));
        // Another organisation's entry is its own.
        assert_eq!(c.fetch(&shelf, "o2", "k".into(), load(3)).ok(), Some(3));
        c.invalidate("o1");
        assert_eq!(c.fetch(&shelf, "o1", "k".into(), load(4)).ok(), Some(4));
        assert_eq!(c.fetch(&shelf, "o2", "k".into(), load(5)).ok(), Some(3));

        let (short, shelf) = cache(20);
        assert_eq!(short.fetch(&shelf, "o1", "k".into(), load(1)).ok(), Some(1));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(short.fetch(&shelf, "o1", "k".into(), load(2)).ok(), Some(2));
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_served_after_it() {
        let (c, shelf) = cache(60_000);
        // The read starts, the change commits and invalidates, then the
        // (old) value the read found is stored.
        let v = c.fetch(&shelf, "o1", "k".into(), || {
            c.invalidate("o1");
            Ok(1)
        });
        assert_eq!(v.ok(), Some(1));
        assert_eq!(c.fetch(&shelf, "o1", "k".into(), || Ok(2)).ok(), Some(2));
    }

    #[test]
    fn a_zero_ttl_always_reads() {
        let (c, shelf) = cache(0);
        assert_eq!(c.fetch(&shelf, "o1", "k".into(), || Ok(1)).ok(), Some(1));
        assert_eq!(c.fetch(&shelf, "o1", "k".into(), || Ok(2)).ok(), Some(2));
    }
}
