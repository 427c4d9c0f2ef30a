//! The gateway check: may this consumer's request pass?
//!
//! Each nginx worker keeps the verdicts it has looked up in memory. The store's
//! change counter (see `store::Generation`) is read on every lookup, and the
//! whole cache is dropped when it has moved, so a status change committed by
//! any worker is honoured by every worker on its next request.

use rustc_hash::FxHashMap;

use crate::developer::Status;
use crate::error::Result;
use crate::store::Store;

/// The consumer field matched against a developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The consumer's `username` is the developer's email, in any letter case.
    Username,
    /// The consumer's `custom_id` is the developer's id.
    CustomId,
}

/// The store's verdict on a consumer that is, or was, a developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Developer(Status),
    /// The developer was deleted; its consumer may linger in Kong's caches.
    Deleted,
}

impl Verdict {
    /// Returns the code the Lua shim receives: Kong's status integer, or
    /// `DELETED_CODE`.
    pub fn code(self) -> i64 {
        match self {
            Verdict::Developer(status) => status.code(),
            Verdict::Deleted => DELETED_CODE,
        }
    }
}

/// The code for a deleted developer; it follows Kong's four statuses.
pub const DELETED_CODE: i64 = 4;

/// Returns the gateway's refusal message for a verdict code, in Kong's words
/// (`Unauthorized: Developer status "REVOKED"`), or `None` for approved.
pub fn refusal_message(code: i64) -> Option<String> {
    let label = match code {
        DELETED_CODE => "DELETED",
        other => match Status::from_code(other)? {
            Status::Approved => return None,
            status => status.kong_label(),
        },
    };
    Some(format!("Unauthorized: Developer status \"{label}\""))
}

/// Entries kept per match mode before the cache starts over; a bound on
/// memory for gateways with very many consumers.
pub const MAX_CACHED: usize = 200_000;

/// The per-worker cache of verdicts, keyed by the consumer's username or
/// custom_id exactly as Kong gives it.
#[derive(Default)]
pub struct StatusCache {
    generation: u64,
    by_username: FxHashMap<Box<[u8]>, Option<Verdict>>,
    by_custom_id: FxHashMap<Box<[u8]>, Option<Verdict>>,
}

impl StatusCache {
    pub fn new() -> StatusCache {
        StatusCache::default()
    }

    /// Returns the verdict for a consumer key, from memory when the store has
    /// not changed since it was cached.
    pub fn lookup<S: Store>(
        &mut self,
        store: &mut S,
        key: &[u8],
        matching: Match,
    ) -> Result<Option<Verdict>> {
        let generation = store.generation();
        if generation != self.generation {
            self.by_username.clear();
            self.by_custom_id.clear();
            self.generation = generation;
        }
        let map = match matching {
            Match::Username => &mut self.by_username,
            Match::CustomId => &mut self.by_custom_id,
        };
        if let Some(verdict) = map.get(key) {
            return Ok(*verdict);
        }

        // A key that is not UTF-8 cannot name a developer.
        let verdict = match std::str::from_utf8(key) {
            Ok(text) => store.verdict(text, matching)?,
            Err(_) => None,
        };
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(key.into(), verdict);
        Ok(verdict)
    }

    /// Returns the number of cached verdicts, for tests and benchmarks.
    pub fn len(&self) -> usize {
        self.by_username.len() + self.by_custom_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewDeveloper, SqliteStore};

    fn developer(email: &str, status: Status) -> NewDeveloper {
        NewDeveloper {
            email: email.to_owned(),
            full_name: "Test".to_owned(),
            meta: serde_json::Map::new(),
            status,
            credential: None,
            by: None,
        }
    }

    fn file_store(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::open(&dir.path().join("store.db")).unwrap()
    }

    #[test]
    fn refusal_messages_use_kong_labels() {
        assert_eq!(refusal_message(0), None);
        assert_eq!(
            refusal_message(1).unwrap(),
            "Unauthorized: Developer status \"PENDING\""
        );
        assert_eq!(
            refusal_message(3).unwrap(),
            "Unauthorized: Developer status \"REVOKED\""
        );
        assert_eq!(
            refusal_message(DELETED_CODE).unwrap(),
            "Unauthorized: Developer status \"DELETED\""
        );
    }

    #[test]
    fn lookup_matches_username_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        store.insert(&developer("Dev@Example.com", Status::Approved)).unwrap();
        let mut cache = StatusCache::new();
        let verdict = cache
            .lookup(&mut store, b"dev@example.COM", Match::Username)
            .unwrap();
        assert_eq!(verdict, Some(Verdict::Developer(Status::Approved)));
    }

    #[test]
    fn lookup_matches_custom_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        let dev = store.insert(&developer("a@example.com", Status::Requested)).unwrap();
        let mut cache = StatusCache::new();
        let verdict = cache
            .lookup(&mut store, dev.id.as_bytes(), Match::CustomId)
            .unwrap();
        assert_eq!(verdict, Some(Verdict::Developer(Status::Requested)));
        let by_name = cache
            .lookup(&mut store, dev.id.as_bytes(), Match::Username)
            .unwrap();
        assert_eq!(by_name, None);
    }

    #[test]
    fn unknown_consumer_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        let mut cache = StatusCache::new();
        assert_eq!(
            cache.lookup(&mut store, b"nobody@example.com", Match::Username).unwrap(),
            None
        );
        assert_eq!(cache.lookup(&mut store, &[0xff, 0xfe], Match::Username).unwrap(), None);
    }

    #[test]
    fn change_through_another_connection_is_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut gateway_store = file_store(&dir);
        let mut admin_store = file_store(&dir);
        admin_store
            .insert(&developer("dev@example.com", Status::Approved))
            .unwrap();
        let mut cache = StatusCache::new();
        let first = cache.lookup(&mut gateway_store, b"dev@example.com", Match::Username);
        assert_eq!(first.unwrap(), Some(Verdict::Developer(Status::Approved)));

        admin_store
            .change_status("dev@example.com", Status::Revoked, None)
            .unwrap();
        let second = cache.lookup(&mut gateway_store, b"dev@example.com", Match::Username);
        assert_eq!(second.unwrap(), Some(Verdict::Developer(Status::Revoked)));
    }

    #[test]
    fn deleted_developer_stays_refused_until_registered_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        let dev = store.insert(&developer("dev@example.com", Status::Approved)).unwrap();
        store.delete(&dev.id).unwrap();
        let mut cache = StatusCache::new();
        assert_eq!(
            cache.lookup(&mut store, b"dev@example.com", Match::Username).unwrap(),
            Some(Verdict::Deleted)
        );
        assert_eq!(
            cache.lookup(&mut store, dev.id.as_bytes(), Match::CustomId).unwrap(),
            Some(Verdict::Deleted)
        );
        store.insert(&developer("DEV@example.com", Status::Requested)).unwrap();
        assert_eq!(
            cache.lookup(&mut store, b"dev@example.com", Match::Username).unwrap(),
            Some(Verdict::Developer(Status::Requested))
        );
    }

    #[test]
    fn cache_serves_repeated_lookups_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = file_store(&dir);
        store.insert(&developer("dev@example.com", Status::Approved)).unwrap();
        let mut cache = StatusCache::new();
        cache.lookup(&mut store, b"dev@example.com", Match::Username).unwrap();
        // Dropping the table would make a store read fail, so a second verdict
        // can only come from memory.
        store
            .connection()
            .execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE status_history; DROP TABLE credentials; DROP TABLE developers;")
            .unwrap();
        let again = cache.lookup(&mut store, b"dev@example.com", Match::Username);
        assert_eq!(again.unwrap(), Some(Verdict::Developer(Status::Approved)));
        assert_eq!(cache.len(), 1);
    }
}
