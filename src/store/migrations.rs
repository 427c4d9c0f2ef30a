//! The store's schema, as an ordered list of migrations.
//!
//! `PRAGMA user_version` records how many have been applied. Each migration
//! runs in the same immediate transaction as the version bump, so two workers
//! that start together apply it once.

/// Each entry moves the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: developers, their credentials, and the status history.
    r#"
    CREATE TABLE developers (
        seq               INTEGER PRIMARY KEY AUTOINCREMENT,
        id                TEXT    NOT NULL UNIQUE,
        email             TEXT    NOT NULL,
        email_key         TEXT    NOT NULL UNIQUE,
        full_name         TEXT    NOT NULL DEFAULT '',
        meta              TEXT    NOT NULL DEFAULT '{}',
        status            INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        status_changed_at INTEGER NOT NULL
    );

    CREATE INDEX developers_status_seq ON developers (status, seq);

    CREATE TABLE credentials (
        developer_seq INTEGER NOT NULL
                      REFERENCES developers (seq) ON DELETE CASCADE,
        auth          TEXT    NOT NULL,
        secret_hash   TEXT    NOT NULL,
        created_at    INTEGER NOT NULL,
        PRIMARY KEY (developer_seq, auth)
    );

    CREATE TABLE status_history (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        developer_seq INTEGER NOT NULL
                      REFERENCES developers (seq) ON DELETE CASCADE,
        from_status   INTEGER,
        to_status     INTEGER NOT NULL,
        at            INTEGER NOT NULL,
        by            TEXT
    );

    CREATE INDEX status_history_developer ON status_history (developer_seq, seq);
    "#,
    // 2: deleted developers, so the gateway keeps refusing a deleted
    // developer's consumer even while Kong still has it cached.
    r#"
    CREATE TABLE deleted_developers (
        id         TEXT    PRIMARY KEY,
        email_key  TEXT    NOT NULL,
        deleted_at INTEGER NOT NULL
    );

    CREATE INDEX deleted_developers_email ON deleted_developers (email_key);
    "#,
    // 3: recent registration attempts per client address, for the rate
    // limit that every nginx worker enforces through this shared file.
    r#"
    CREATE TABLE registration_attempts (
        address TEXT    NOT NULL,
        at_ms   INTEGER NOT NULL
    );

    CREATE INDEX registration_attempts_address ON registration_attempts (address, at_ms);
    CREATE INDEX registration_attempts_at ON registration_attempts (at_ms);
    "#,
];

/// The schema version this build expects.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
