//! The SQLite store: one file, WAL mode, one connection per nginx worker.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use super::generation::Generation;
use super::migrations::MIGRATIONS;
use super::{ListQuery, NewDeveloper, Page, Registered, Store, StoredCredential};
use crate::developer::{Change, Counts, Developer, HistoryEntry, Status};
use crate::error::{Error, ErrorKind, Result};
use crate::gateway::{Match, Verdict};

/// How long a writer waits for another connection's lock before giving up.
/// The nginx worker is blocked meanwhile, so this stays short.
const BUSY_TIMEOUT: Duration = Duration::from_millis(2000);

const DEVELOPER_COLUMNS: &str =
    "id, email, full_name, meta, status, created_at, updated_at, status_changed_at";

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// The change counter shared with other processes; `None` in memory.
    generation: Option<Generation>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and applies the migrations
    /// it lacks.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| storage_error(path, "open", e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            generation: None,
        };
        store.configure()?;
        store.migrate()?;
        let generation = Generation::open(&Generation::path_for(path))?;
        // A process that died between a commit and its bump left other
        // workers' caches stale; a bump on every open clears them.
        generation.bump();
        store.generation = Some(generation);
        Ok(store)
    }

    /// Opens a private in-memory store, for tests.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory()
            .map_err(|e| storage_error(Path::new(":memory:"), "open", e))?;
        let mut store = SqliteStore {
            conn,
            path: PathBuf::from(":memory:"),
            generation: None,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| self.error("read the schema version of", e))
    }

    /// Returns SQLite's `integrity_check` result; `ok` when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| self.error("check", e))
    }

    /// Gives direct access to the connection, for seeding benchmarks and
    /// tests with many rows.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.error("configure", e))?;
        // WAL lets readers in other workers proceed during a write; FULL
        // syncs every commit, so an acknowledged change survives a crash of
        // the process or of the machine.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| self.error("configure", e))
    }

    fn migrate(&mut self) -> Result<()> {
        // An up-to-date file needs no write lock, so a worker can open the
        // store and serve reads while another process holds that lock.
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| storage_error(&self.path, "read the schema version of", e))?;
        if current == MIGRATIONS.len() as i64 {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&self.path, "migrate", e))?;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| storage_error(&self.path, "migrate", e))?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(Error::new(
                ErrorKind::Storage,
                format!(
                    "the developer store {} has schema version {current}, newer than \
                     this plugin's {known}; upgrade the plugin or restore an older file",
                    self.path.display()
                ),
            ));
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)
                .map_err(|e| storage_error(&self.path, "migrate", e))?;
            tx.pragma_update(None, "user_version", index as i64 + 1)
                .map_err(|e| storage_error(&self.path, "migrate", e))?;
            log::info!(
                "developer store {}: applied migration {}",
                self.path.display(),
                index + 1
            );
        }
        tx.commit()
            .map_err(|e| storage_error(&self.path, "migrate", e))
    }

    fn error(&self, action: &str, err: rusqlite::Error) -> Error {
        storage_error(&self.path, action, err)
    }

    fn announce_change(&self) {
        if let Some(generation) = &self.generation {
            generation.bump();
        }
    }

    fn transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, "write to", e))
    }
}

impl Store for SqliteStore {
    fn verdict(&mut self, key: &str, matching: Match) -> Result<Option<Verdict>> {
        let (column, key) = match matching {
            Match::Username => ("email_key", crate::email::key(key)),
            Match::CustomId => ("id", key.to_owned()),
        };
        if let Some(code) = self.verdict_from("developers", column, &key)? {
            return Ok(Status::from_code(code).map(Verdict::Developer));
        }
        Ok(self
            .verdict_from("deleted_developers", column, &key)?
            .map(|_| Verdict::Deleted))
    }

    fn generation(&self) -> u64 {
        self.generation.as_ref().map_or(0, Generation::current)
    }

    fn insert(&mut self, new: &NewDeveloper) -> Result<Developer> {
        let now = now();
        let id = uuid::Uuid::new_v4().to_string();
        let meta = serde_json::Value::Object(new.meta.clone()).to_string();
        let path = self.path.clone();
        let tx = self.transaction()?;

        let inserted = tx.execute(
            "INSERT INTO developers
                 (id, email, email_key, full_name, meta, status,
                  created_at, updated_at, status_changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)",
            params![
                id,
                new.email,
                crate::email::key(&new.email),
                new.full_name,
                meta,
                new.status.code(),
                now
            ],
        );
        if let Err(err) = inserted {
            if is_unique_violation(&err) {
                return Err(Error::conflict(format!(
                    "a developer with email '{}' already exists \
                     (emails are compared without regard to letter case)",
                    new.email
                )));
            }
            return Err(storage_error(&path, "write to", err));
        }
        let seq = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM deleted_developers WHERE email_key = ?1",
            params![crate::email::key(&new.email)],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;

        if let Some(credential) = &new.credential {
            tx.execute(
                "INSERT INTO credentials (developer_seq, auth, secret_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![seq, credential.auth, credential.secret_hash, now],
            )
            .map_err(|e| storage_error(&path, "write to", e))?;
        }
        tx.execute(
            "INSERT INTO status_history (developer_seq, from_status, to_status, at, by)
             VALUES (?1, NULL, ?2, ?3, ?4)",
            params![seq, new.status.code(), now, new.by],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;
        let developer = select_developer(&tx, "seq = ?1", params![seq])
            .map_err(|e| storage_error(&path, "read", e))?
            .ok_or_else(|| internal("inserted developer is missing"))?;
        tx.commit().map_err(|e| storage_error(&path, "commit to", e))?;
        self.announce_change();
        Ok(developer)
    }

    fn find(&mut self, id_or_email: &str) -> Result<Option<Developer>> {
        let (clause, key) = lookup(id_or_email);
        select_developer(&self.conn, clause, params![key]).map_err(|e| self.error("read", e))
    }

    fn list(&mut self, query: &ListQuery) -> Result<Page> {
        let status = query.status.map(Status::code);
        let pattern = query.search.as_deref().map(like_pattern);
        let filter = "(?1 IS NULL OR status = ?1)
             AND (?2 IS NULL OR email_key LIKE ?2 ESCAPE '\\'
                  OR lower(full_name) LIKE ?2 ESCAPE '\\')";

        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) FROM developers WHERE {filter}"))
            .and_then(|mut stmt| stmt.query_row(params![status, pattern], |row| row.get(0)))
            .map_err(|e| self.error("read", e))?;

        let sql = format!(
            "SELECT seq, {DEVELOPER_COLUMNS} FROM developers
             WHERE {filter} AND (?3 IS NULL OR seq <= ?3)
             ORDER BY seq DESC
             LIMIT ?4"
        );
        let mut rows: Vec<(i64, Developer)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                let mapped = stmt.query_map(
                    params![status, pattern, query.after, query.size as i64 + 1],
                    |row| Ok((row.get(0)?, developer_from_row(row, 1)?)),
                )?;
                mapped.collect()
            })
            .map_err(|e| self.error("read", e))?;

        let next = if rows.len() > query.size as usize {
            rows.pop().map(|(seq, _)| seq)
        } else {
            None
        };
        Ok(Page {
            developers: rows.into_iter().map(|(_, d)| d).collect(),
            total: total as u64,
            next,
        })
    }

    fn counts(&mut self) -> Result<Counts> {
        let mut counts = Counts::default();
        let rows: Vec<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT status, count(*) FROM developers GROUP BY status")
            .and_then(|mut stmt| {
                let mapped = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                mapped.collect()
            })
            .map_err(|e| self.error("read", e))?;
        for (code, n) in rows {
            if let Some(status) = Status::from_code(code) {
                counts.add(status, n as u64);
            }
        }
        Ok(counts)
    }

    fn change_status(
        &mut self,
        id_or_email: &str,
        target: Status,
        by: Option<&str>,
    ) -> Result<(Developer, Change)> {
        let path = self.path.clone();
        let tx = self.transaction()?;
        let (clause, key) = lookup(id_or_email);
        let current = select_developer(&tx, clause, params![key])
            .map_err(|e| storage_error(&path, "read", e))?
            .ok_or_else(|| not_found(id_or_email))?;

        let change = current.status.change_to(target, &current.email)?;
        let Change::Moved(from, to) = change else {
            return Ok((current, change));
        };
        let now = now();
        tx.execute(
            "UPDATE developers SET status = ?1, updated_at = ?2, status_changed_at = ?2
             WHERE id = ?3",
            params![to.code(), now, current.id],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;
        tx.execute(
            "INSERT INTO status_history (developer_seq, from_status, to_status, at, by)
             SELECT seq, ?1, ?2, ?3, ?4 FROM developers WHERE id = ?5",
            params![from.code(), to.code(), now, by, current.id],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;
        let updated = select_developer(&tx, "id = ?1", params![current.id])
            .map_err(|e| storage_error(&path, "read", e))?
            .ok_or_else(|| internal("updated developer is missing"))?;
        tx.commit().map_err(|e| storage_error(&path, "commit to", e))?;
        self.announce_change();
        Ok((updated, change))
    }

    fn delete(&mut self, id_or_email: &str) -> Result<Developer> {
        let path = self.path.clone();
        let tx = self.transaction()?;
        let (clause, key) = lookup(id_or_email);
        let developer = select_developer(&tx, clause, params![key])
            .map_err(|e| storage_error(&path, "read", e))?
            .ok_or_else(|| not_found(id_or_email))?;
        // Credentials and history go with the row through ON DELETE CASCADE.
        tx.execute("DELETE FROM developers WHERE id = ?1", params![developer.id])
            .map_err(|e| storage_error(&path, "write to", e))?;
        tx.execute(
            "INSERT OR REPLACE INTO deleted_developers (id, email_key, deleted_at)
             VALUES (?1, ?2, ?3)",
            params![developer.id, crate::email::key(&developer.email), now()],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;
        tx.commit().map_err(|e| storage_error(&path, "commit to", e))?;
        self.announce_change();
        Ok(developer)
    }

    fn history(&mut self, id_or_email: &str) -> Result<Vec<HistoryEntry>> {
        let developer = self.find(id_or_email)?.ok_or_else(|| not_found(id_or_email))?;
        self.conn
            .prepare_cached(
                "SELECT h.from_status, h.to_status, h.at, h.by
                 FROM status_history h JOIN developers d ON d.seq = h.developer_seq
                 WHERE d.id = ?1
                 ORDER BY h.seq",
            )
            .and_then(|mut stmt| {
                let mapped = stmt.query_map(params![developer.id], |row| {
                    let from: Option<i64> = row.get(0)?;
                    Ok(HistoryEntry {
                        from: from.and_then(Status::from_code),
                        to: status_from_code(row.get(1)?)?,
                        at: row.get(2)?,
                        by: row.get(3)?,
                    })
                })?;
                mapped.collect()
            })
            .map_err(|e| self.error("read", e))
    }

    fn registered(&mut self, email_keys: &[String]) -> Result<Vec<Registered>> {
        let mut found = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, email, status FROM developers WHERE email_key = ?1")
            .map_err(|e| storage_error(&self.path, "read", e))?;
        for key in email_keys {
            let row = stmt
                .query_row(params![key], |row| {
                    Ok(Registered {
                        id: row.get(0)?,
                        email: row.get(1)?,
                        status: status_from_code(row.get(2)?)?,
                    })
                })
                .optional()
                .map_err(|e| storage_error(&self.path, "read", e))?;
            found.extend(row);
        }
        Ok(found)
    }

    fn record_attempt(
        &mut self,
        address: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>> {
        let path = self.path.clone();
        let tx = self.transaction()?;
        let window_start = now_ms.saturating_sub(window_ms);
        tx.execute(
            "DELETE FROM registration_attempts WHERE at_ms <= ?1",
            params![window_start],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;
        let (count, oldest): (i64, Option<i64>) = tx
            .query_row(
                "SELECT count(*), min(at_ms) FROM registration_attempts WHERE address = ?1",
                params![address],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|e| storage_error(&path, "read", e))?;
        if count >= i64::from(limit) {
            tx.commit().map_err(|e| storage_error(&path, "commit to", e))?;
            let oldest = oldest.unwrap_or(now_ms);
            return Ok(Some((oldest + window_ms - now_ms).max(1)));
        }
        tx.execute(
            "INSERT INTO registration_attempts (address, at_ms) VALUES (?1, ?2)",
            params![address, now_ms],
        )
        .map_err(|e| storage_error(&path, "write to", e))?;
        tx.commit().map_err(|e| storage_error(&path, "commit to", e))?;
        Ok(None)
    }

    fn credential(&mut self, id: &str, auth: &str) -> Result<Option<StoredCredential>> {
        self.conn
            .prepare_cached(
                "SELECT c.auth, c.secret_hash
                 FROM credentials c JOIN developers d ON d.seq = c.developer_seq
                 WHERE d.id = ?1 AND c.auth = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![id, auth], |row| {
                    Ok(StoredCredential {
                        auth: row.get(0)?,
                        secret_hash: row.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.error("read", e))
    }
}

impl SqliteStore {
    fn verdict_from(&self, table: &str, column: &str, key: &str) -> Result<Option<i64>> {
        let sql = if table == "developers" {
            format!("SELECT status FROM developers WHERE {column} = ?1")
        } else {
            format!("SELECT -1 FROM deleted_developers WHERE {column} = ?1 LIMIT 1")
        };
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row(params![key], |row| row.get(0)).optional())
            .map_err(|e| self.error("read", e))
    }
}

/// Chooses the column to search: a UUID is an id, anything else an email.
fn lookup(id_or_email: &str) -> (&'static str, String) {
    match uuid::Uuid::parse_str(id_or_email) {
        Ok(id) => ("id = ?1", id.hyphenated().to_string()),
        Err(_) => ("email_key = ?1", crate::email::key(id_or_email)),
    }
}

fn select_developer(
    conn: &Connection,
    clause: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Option<Developer>> {
    conn.prepare_cached(&format!(
        "SELECT {DEVELOPER_COLUMNS} FROM developers WHERE {clause}"
    ))?
    .query_row(params, |row| developer_from_row(row, 0))
    .optional()
}

fn developer_from_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Developer> {
    let meta_text: String = row.get(first + 3)?;
    let meta = match serde_json::from_str(&meta_text) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Ok(Developer {
        id: row.get(first)?,
        email: row.get(first + 1)?,
        full_name: row.get(first + 2)?,
        meta,
        status: status_from_code(row.get(first + 4)?)?,
        created_at: row.get(first + 5)?,
        updated_at: row.get(first + 6)?,
        status_changed_at: row.get(first + 7)?,
    })
}

fn status_from_code(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or_else(|| {
        rusqlite::Error::IntegralValueOutOfRange(0, code)
    })
}

/// Builds a LIKE pattern that matches `search` literally, anywhere.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation
    )
}

fn not_found(id_or_email: &str) -> Error {
    Error::not_found(format!(
        "no developer with id or email '{}'",
        crate::email::echo(id_or_email)
    ))
}

fn internal(what: &str) -> Error {
    Error::new(ErrorKind::Storage, format!("internal error in the developer store: {what}"))
}

/// Turns a SQLite error into one that names the file, the action,
/// and whether a retry can help.
fn storage_error(path: &Path, action: &str, err: rusqlite::Error) -> Error {
    let file = path.display();
    let code = match &err {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
        _ => None,
    };
    let (kind, hint) = match code {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => (
            ErrorKind::Unavailable,
            "another process holds a lock on it; retry shortly",
        ),
        Some(ErrorCode::ReadOnly) => (
            ErrorKind::Unavailable,
            "the file or its folder is read-only for the nginx worker user",
        ),
        Some(ErrorCode::DiskFull) => (ErrorKind::Unavailable, "the disk is full"),
        Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => (
            ErrorKind::Unavailable,
            "check that the folder exists and the nginx worker user may write to it",
        ),
        Some(ErrorCode::SystemIoFailure) => (ErrorKind::Unavailable, "an I/O error occurred"),
        _ => (ErrorKind::Storage, "see the error above"),
    };
    Error::new(
        kind,
        format!("could not {action} the developer store {file}: {err} ({hint})"),
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
