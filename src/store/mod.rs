//! Developer storage: the `Store` trait the use cases are written against,
//! and its SQLite implementation.
//!
//! The trait keeps SQL out of the use cases, so that a PostgreSQL backend for
//! Kong clusters can join SQLite without touching them.

mod generation;
mod migrations;
mod sqlite;
#[cfg(test)]
mod tests;

pub use generation::Generation;
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
pub use sqlite::SqliteStore;

use crate::developer::{Change, Counts, Developer, HistoryEntry, Status};
use crate::gateway::{Match, Verdict};
use crate::error::Result;

/// A credential as stored: the auth plugin it belongs to and a salted hash of
/// the secret. The secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// `basic-auth` or `key-auth`.
    pub auth: String,
    /// A PHC string (`$argon2id$...`).
    pub secret_hash: String,
}

/// A developer to insert, already validated.
#[derive(Debug, Clone)]
pub struct NewDeveloper {
    pub email: String,
    pub full_name: String,
    pub meta: serde_json::Map<String, serde_json::Value>,
    pub status: Status,
    pub credential: Option<StoredCredential>,
    /// The creator of the developer, for the first history row.
    pub by: Option<String>,
}

/// A page request for `list`, already validated.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    /// A case-insensitive substring of the email or the full name.
    pub search: Option<String>,
    pub size: u32,
    /// The position token of the first row to return, from a previous page.
    pub after: Option<i64>,
}

/// One page of developers, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub developers: Vec<Developer>,
    /// Every developer that matches the filters, on all pages.
    pub total: u64,
    /// The position token of the next page, if there is one.
    pub next: Option<i64>,
}

/// A registered developer found by email, for invitations.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub id: String,
    pub email: String,
    pub status: Status,
}

/// The operations the use cases need from a store. Every method that writes
/// runs in one transaction, so a change is either whole or absent.
pub trait Store {
    /// Inserts a developer, its credential and its first history row. An email
    /// that is taken in any letter case is a conflict.
    fn insert(&mut self, new: &NewDeveloper) -> Result<Developer>;

    /// Finds a developer by id, or by email in any letter case.
    fn find(&mut self, id_or_email: &str) -> Result<Option<Developer>>;

    fn list(&mut self, query: &ListQuery) -> Result<Page>;

    fn counts(&mut self) -> Result<Counts>;

    /// Moves a developer to `target` when the transition table allows it, and
    /// writes one history row. The check and the write share a transaction,
    /// so concurrent changes cannot both pass the check.
    fn change_status(
        &mut self,
        id_or_email: &str,
        target: Status,
        by: Option<&str>,
    ) -> Result<(Developer, Change)>;

    /// Deletes a developer with its credentials and history, and returns it.
    fn delete(&mut self, id_or_email: &str) -> Result<Developer>;

    /// Returns the status history of a developer, oldest first.
    fn history(&mut self, id_or_email: &str) -> Result<Vec<HistoryEntry>>;

    /// Returns the developers among the given email keys (lowercase).
    fn registered(&mut self, email_keys: &[String]) -> Result<Vec<Registered>>;

    /// Returns the stored credential of a developer for one auth plugin.
    fn credential(&mut self, id: &str, auth: &str) -> Result<Option<StoredCredential>>;

    /// Finds what the gateway needs to know about a consumer: the status of
    /// its developer, that the developer was deleted, or `None` when the
    /// consumer is not a developer.
    fn verdict(&mut self, key: &str, matching: Match) -> Result<Option<Verdict>>;

    /// Records a registration attempt from `address` at `now_ms` (Unix time
    /// in milliseconds) unless `limit` attempts from that address already fall
    /// in the `window_ms` before it. Returns `None` when the attempt was
    /// recorded, or the milliseconds until the oldest counted attempt leaves
    /// the window. Attempts older than the window are deleted for every
    /// address. The count and the insert share a transaction, so concurrent
    /// workers cannot both pass the last free slot.
    fn record_attempt(
        &mut self,
        address: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>>;

    /// Returns a number that changes whenever any process commits a change;
    /// a cache is fresh while the number stays the same.
    fn generation(&self) -> u64;
}
