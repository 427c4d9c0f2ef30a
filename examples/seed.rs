//! Fills a developer store (and, optionally, the host's stand-in for Kong's
//! database) with many approved developers, for benchmarks.
//!
//!     cargo run --release --example seed -- STORE COUNT [KONG_DB]
//!
//! Developer `i` is `dev{i}@bench.example`; with KONG_DB it also gets a
//! consumer named after its email and the key-auth key `bench-key-{i}`.
//! Rows go straight in with SQL, skipping the Argon2 hashing that makes
//! registration deliberately slow.

use std::path::Path;
use std::time::Instant;

use developer_portal_core::store::{SqliteStore, Store};
use rusqlite::params;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: seed STORE COUNT [KONG_DB]");
        std::process::exit(2);
    }
    let count: u64 = args[2].parse().unwrap_or_else(|_| {
        eprintln!("seed: invalid COUNT '{}' (expected a whole number)", args[2]);
        std::process::exit(2);
    });
    let started = Instant::now();
    seed_store(Path::new(&args[1]), count);
    if let Some(kong_db) = args.get(3) {
        seed_kong_db(Path::new(kong_db), count);
    }
    eprintln!("seed: {count} developers in {:.1} s", started.elapsed().as_secs_f64());
}

fn seed_store(path: &Path, count: u64) {
    let mut store = SqliteStore::open(path).unwrap_or_else(|e| {
        eprintln!("seed: {e}");
        std::process::exit(1);
    });
    let conn = store.connection();
    let tx = conn.transaction().expect("begin");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO developers
                     (id, email, email_key, full_name, meta, status,
                      created_at, updated_at, status_changed_at)
                 VALUES (?1, ?2, ?2, ?3, '{}', 0, 0, 0, 0)",
            )
            .expect("prepare");
        for i in 0..count {
            let email = format!("dev{i}@bench.example");
            insert
                .execute(params![format!("00000000-0000-4000-8000-{i:012}"), email, "Bench"])
                .expect("insert developer");
        }
    }
    tx.commit().expect("commit");
    // Opening the store once more bumps the change counter, so running
    // workers drop what they had cached.
    drop(store);
    let reopened = SqliteStore::open(path).expect("reopen");
    let _ = reopened.generation();
}

fn seed_kong_db(path: &Path, count: u64) {
    let mut conn = rusqlite::Connection::open(path).expect("open kong db");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS consumers (
             id TEXT PRIMARY KEY, username TEXT UNIQUE, custom_id TEXT UNIQUE,
             created_at INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS keyauth_credentials (
             id TEXT PRIMARY KEY,
             consumer_id TEXT NOT NULL REFERENCES consumers (id) ON DELETE CASCADE,
             key TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);",
    )
    .expect("schema");
    let tx = conn.transaction().expect("begin");
    {
        let mut consumer = tx
            .prepare("INSERT INTO consumers (id, username, custom_id, created_at) VALUES (?1, ?2, ?3, 0)")
            .expect("prepare");
        let mut key = tx
            .prepare("INSERT INTO keyauth_credentials (id, consumer_id, key, created_at) VALUES (?1, ?2, ?3, 0)")
            .expect("prepare");
        for i in 0..count {
            let consumer_id = format!("c-{i}");
            consumer
                .execute(params![
                    consumer_id,
                    format!("dev{i}@bench.example"),
                    format!("00000000-0000-4000-8000-{i:012}")
                ])
                .expect("insert consumer");
            key.execute(params![format!("k-{i}"), consumer_id, format!("bench-key-{i}")])
                .expect("insert key");
        }
    }
    tx.commit().expect("commit");
}
