//! Tests of the SQLite store, against in-memory stores and, where the file
//! matters (WAL, migrations, several connections), against a temporary file.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::{
    ListQuery, NewDeveloper, Registered, SqliteStore, Store, StoredCredential, SCHEMA_VERSION,
};
use crate::developer::{Change, Counts, Developer, HistoryEntry, Status};
use crate::error::ErrorKind;

const SECRET_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";

fn memory_store() -> SqliteStore {
    SqliteStore::open_in_memory().expect("in-memory store opens")
}

fn new_developer(email: &str, full_name: &str, status: Status) -> NewDeveloper {
    let mut meta = Map::new();
    meta.insert("full_name".to_owned(), Value::String(full_name.to_owned()));
    NewDeveloper {
        email: email.to_owned(),
        full_name: full_name.to_owned(),
        meta,
        status,
        credential: None,
        by: Some("registration".to_owned()),
    }
}

fn insert(store: &mut SqliteStore, email: &str, full_name: &str, status: Status) -> Developer {
    store
        .insert(&new_developer(email, full_name, status))
        .expect("insert succeeds")
}

fn query(size: u32) -> ListQuery {
    ListQuery {
        size,
        ..ListQuery::default()
    }
}

fn emails(developers: &[Developer]) -> Vec<&str> {
    developers.iter().map(|d| d.email.as_str()).collect()
}

fn count_rows(store: &mut SqliteStore, table: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("count query runs")
}

fn pragma_text(store: &mut SqliteStore, pragma: &str) -> String {
    store
        .connection()
        .query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))
        .expect("pragma query runs")
}

fn pragma_number(store: &mut SqliteStore, pragma: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))
        .expect("pragma query runs")
}

// Migrations and connection settings.

#[test]
fn new_file_reaches_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("x.db")).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn in_memory_store_reaches_schema_version() {
    let store = memory_store();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

/// Migration 1 creates tables without `IF NOT EXISTS`, so applying it a
/// second time would fail: a clean reopen shows that nothing ran again.
#[test]
fn reopen_applies_no_migration_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let id = {
        let mut store = SqliteStore::open(&path).unwrap();
        insert(&mut store, "dev1@example.com", "Dev One", Status::Requested).id
    };

    let mut reopened = SqliteStore::open(&path).expect("reopen succeeds");
    assert_eq!(reopened.schema_version().unwrap(), SCHEMA_VERSION);
    let found = reopened.find(&id).unwrap();
    assert_eq!(found.map(|d| d.email), Some("dev1@example.com".to_owned()));
    assert_eq!(count_rows(&mut reopened, "developers"), 1);
}

#[test]
fn open_rejects_newer_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store
            .connection()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }

    let err = SqliteStore::open(&path).err().expect("open fails");
    assert_eq!(err.kind, ErrorKind::Storage);
    assert_eq!(
        err.message,
        format!(
            "the developer store {} has schema version {}, newer than this plugin's {}; \
             upgrade the plugin or restore an older file",
            path.display(),
            SCHEMA_VERSION + 1,
            SCHEMA_VERSION
        )
    );
}

#[test]
fn open_in_missing_folder_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("x.db");
    let err = SqliteStore::open(&path).err().expect("open fails");
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(
        err.message.starts_with(&format!(
            "could not open the developer store {}: ",
            path.display()
        )),
        "{}",
        err.message
    );
    assert!(
        err.message
            .ends_with("(check that the folder exists and the nginx worker user may write to it)"),
        "{}",
        err.message
    );
}

#[test]
fn file_store_uses_wal_journal() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("x.db")).unwrap();
    assert_eq!(pragma_text(&mut store, "journal_mode"), "wal");
}

#[test]
fn file_store_syncs_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("x.db")).unwrap();
    // 2 is FULL.
    assert_eq!(pragma_number(&mut store, "synchronous"), 2);
}

#[test]
fn foreign_keys_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let mut file_store = SqliteStore::open(&dir.path().join("x.db")).unwrap();
    assert_eq!(pragma_number(&mut file_store, "foreign_keys"), 1);

    let mut store = memory_store();
    assert_eq!(pragma_number(&mut store, "foreign_keys"), 1);
    let orphan = store.connection().execute(
        "INSERT INTO credentials (developer_seq, auth, secret_hash, created_at)
         VALUES (999, 'basic-auth', 'x', 0)",
        [],
    );
    assert!(
        orphan.is_err(),
        "a credential without a developer was stored"
    );
}

// Insert and find.

#[test]
fn insert_returns_stored_developer() {
    let mut store = memory_store();
    let mut new = new_developer("dev1@example.com", "Dev One", Status::Requested);
    new.meta.insert("company".to_owned(), json!("Example Ltd"));
    let developer = store.insert(&new).unwrap();

    assert!(
        uuid::Uuid::parse_str(&developer.id).is_ok(),
        "{}",
        developer.id
    );
    assert_eq!(developer.email, "dev1@example.com");
    assert_eq!(developer.full_name, "Dev One");
    assert_eq!(developer.meta, new.meta);
    assert_eq!(developer.status, Status::Requested);
    assert!(developer.created_at > 0);
    assert_eq!(developer.updated_at, developer.created_at);
    assert_eq!(developer.status_changed_at, developer.created_at);
}

#[test]
fn find_by_id() {
    let mut store = memory_store();
    let developer = insert(&mut store, "dev1@example.com", "Dev One", Status::Requested);
    assert_eq!(store.find(&developer.id).unwrap(), Some(developer));
}

#[test]
fn find_by_id_in_uppercase() {
    let mut store = memory_store();
    let developer = insert(&mut store, "dev1@example.com", "Dev One", Status::Requested);
    let found = store.find(&developer.id.to_uppercase()).unwrap();
    assert_eq!(found, Some(developer));
}

#[test]
fn find_by_email_in_any_case() {
    let mut store = memory_store();
    let developer = insert(&mut store, "Dev1@Example.com", "Dev One", Status::Requested);
    for spelling in ["Dev1@Example.com", "dev1@example.com", "DEV1@EXAMPLE.COM"] {
        let found = store.find(spelling).unwrap();
        assert_eq!(found.as_ref(), Some(&developer), "{spelling}");
    }
}

#[test]
fn find_unknown_returns_none() {
    let mut store = memory_store();
    insert(&mut store, "dev1@example.com", "Dev One", Status::Requested);
    assert_eq!(store.find("dev2@example.com").unwrap(), None);
    assert_eq!(
        store.find("00000000-0000-4000-8000-000000000000").unwrap(),
        None
    );
}

#[test]
fn insert_keeps_first_spelling() {
    let mut store = memory_store();
    insert(&mut store, "Dev1@Example.com", "Dev One", Status::Requested);
    let found = store.find("dev1@example.com").unwrap().unwrap();
    assert_eq!(found.email, "Dev1@Example.com");
}

#[test]
fn insert_rejects_email_in_other_case() {
    let mut store = memory_store();
    insert(&mut store, "Dev1@Example.com", "Dev One", Status::Requested);

    let err = store
        .insert(&new_developer(
            "dev1@EXAMPLE.com",
            "Someone Else",
            Status::Approved,
        ))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        "a developer with email 'dev1@EXAMPLE.com' already exists \
         (emails are compared without regard to letter case)"
    );
    assert_eq!(count_rows(&mut store, "developers"), 1);
    assert_eq!(count_rows(&mut store, "status_history"), 1);
}

#[test]
fn insert_stores_credential_as_given() {
    let mut store = memory_store();
    let mut new = new_developer("dev1@example.com", "Dev One", Status::Requested);
    let credential = StoredCredential {
        auth: "basic-auth".to_owned(),
        secret_hash: SECRET_HASH.to_owned(),
    };
    new.credential = Some(credential.clone());
    let developer = store.insert(&new).unwrap();

    assert_eq!(
        store.credential(&developer.id, "basic-auth").unwrap(),
        Some(credential)
    );
    assert_eq!(store.credential(&developer.id, "key-auth").unwrap(), None);
}

#[test]
fn find_output_has_no_credential() {
    let mut store = memory_store();
    let mut new = new_developer("dev1@example.com", "Dev One", Status::Requested);
    new.credential = Some(StoredCredential {
        auth: "basic-auth".to_owned(),
        secret_hash: SECRET_HASH.to_owned(),
    });
    let developer = store.insert(&new).unwrap();

    let found = store.find(&developer.id).unwrap().unwrap();
    let debug_text = format!("{found:?}");
    assert!(!debug_text.contains(SECRET_HASH), "{debug_text}");
    assert!(!debug_text.contains("argon2"), "{debug_text}");
    let listed = store.list(&query(10)).unwrap();
    assert!(!format!("{listed:?}").contains(SECRET_HASH));
}

#[test]
fn insert_without_credential_stores_none() {
    let mut store = memory_store();
    let developer = insert(&mut store, "dev1@example.com", "Dev One", Status::Requested);
    assert_eq!(count_rows(&mut store, "credentials"), 0);
    assert_eq!(store.credential(&developer.id, "basic-auth").unwrap(), None);
}

#[test]
fn insert_writes_first_history_row() {
    let mut store = memory_store();
    let developer = insert(&mut store, "dev1@example.com", "Dev One", Status::Approved);
    let history = store.history(&developer.id).unwrap();
    assert_eq!(
        history,
        vec![HistoryEntry {
            from: None,
            to: Status::Approved,
            at: developer.created_at,
            by: Some("registration".to_owned()),
        }]
    );
}

// List.

#[test]
fn list_returns_newest_first() {
    let mut store = memory_store();
    for n in 1..=3 {
        insert(
            &mut store,
            &format!("dev{n}@example.com"),
            "Dev",
            Status::Requested,
        );
    }
    let page = store.list(&query(10)).unwrap();
    assert_eq!(
        emails(&page.developers),
        ["dev3@example.com", "dev2@example.com", "dev1@example.com"]
    );
    assert_eq!(page.total, 3);
    assert_eq!(page.next, None);
}

#[test]
fn list_of_empty_store() {
    let mut store = memory_store();
    let page = store.list(&query(10)).unwrap();
    assert!(page.developers.is_empty());
    assert_eq!(page.total, 0);
    assert_eq!(page.next, None);
}

#[test]
fn list_filters_by_status() {
    let mut store = memory_store();
    insert(&mut store, "a@example.com", "A", Status::Requested);
    insert(&mut store, "b@example.com", "B", Status::Approved);
    insert(&mut store, "c@example.com", "C", Status::Requested);
    insert(&mut store, "d@example.com", "D", Status::Revoked);

    let requested = store
        .list(&ListQuery {
            status: Some(Status::Requested),
            ..query(10)
        })
        .unwrap();
    assert_eq!(
        emails(&requested.developers),
        ["c@example.com", "a@example.com"]
    );
    assert_eq!(requested.total, 2);

    let rejected = store
        .list(&ListQuery {
            status: Some(Status::Rejected),
            ..query(10)
        })
        .unwrap();
    assert!(rejected.developers.is_empty());
    assert_eq!(rejected.total, 0);
}

fn search(store: &mut SqliteStore, text: &str) -> Vec<String> {
    let page = store
        .list(&ListQuery {
            search: Some(text.to_owned()),
            ..query(100)
        })
        .unwrap();
    assert_eq!(
        page.total as usize,
        page.developers.len(),
        "total for {text:?}"
    );
    page.developers.into_iter().map(|d| d.email).collect()
}

#[test]
fn list_searches_email_and_full_name() {
    let mut store = memory_store();
    insert(
        &mut store,
        "Ada@Example.com",
        "Ada Lovelace",
        Status::Requested,
    );
    insert(
        &mut store,
        "grace@navy.example",
        "Grace Hopper",
        Status::Approved,
    );

    assert_eq!(search(&mut store, "ada@"), ["Ada@Example.com"]);
    assert_eq!(search(&mut store, "EXAMPLE.COM"), ["Ada@Example.com"]);
    assert_eq!(search(&mut store, "hopper"), ["grace@navy.example"]);
    assert_eq!(search(&mut store, "LOVELACE"), ["Ada@Example.com"]);
    assert_eq!(
        search(&mut store, "example"),
        ["grace@navy.example", "Ada@Example.com"]
    );
    assert!(search(&mut store, "turing").is_empty());
}

#[test]
fn list_search_matches_wildcards_literally() {
    let mut store = memory_store();
    insert(
        &mut store,
        "a_b@example.com",
        "Under Score",
        Status::Requested,
    );
    insert(&mut store, "axb@example.com", "Plain", Status::Requested);
    insert(&mut store, "c@example.com", "100% Done", Status::Requested);
    insert(&mut store, "d@example.com", "100 Done", Status::Requested);
    insert(
        &mut store,
        "e@example.com",
        "Back\\Slash",
        Status::Requested,
    );
    insert(&mut store, "f@example.com", "BackSlash", Status::Requested);

    assert_eq!(search(&mut store, "a_b"), ["a_b@example.com"]);
    assert_eq!(search(&mut store, "_"), ["a_b@example.com"]);
    assert_eq!(search(&mut store, "100%"), ["c@example.com"]);
    assert_eq!(search(&mut store, "%"), ["c@example.com"]);
    assert_eq!(search(&mut store, "k\\s"), ["e@example.com"]);
}

/// SQLite's built-in `lower()` and `LIKE` fold ASCII letters only, so a
/// search in another letter case misses non-ASCII names.
#[test]
#[ignore = "search folds ASCII letters only: SQLite's lower() and LIKE ignore non-ASCII case"]
fn list_search_folds_non_ascii_case() {
    let mut store = memory_store();
    insert(&mut store, "e@example.com", "Émile Zola", Status::Requested);
    assert_eq!(search(&mut store, "émile"), ["e@example.com"]);
}

#[test]
fn list_search_combines_with_status() {
    let mut store = memory_store();
    insert(&mut store, "ann@example.com", "Ann", Status::Requested);
    insert(&mut store, "anna@example.com", "Anna", Status::Approved);
    let page = store
        .list(&ListQuery {
            status: Some(Status::Approved),
            search: Some("ann".to_owned()),
            ..query(10)
        })
        .unwrap();
    assert_eq!(emails(&page.developers), ["anna@example.com"]);
    assert_eq!(page.total, 1);
}

/// Follows `next` from the first page to the last, returning the pages.
fn walk(store: &mut SqliteStore, first: ListQuery) -> Vec<super::Page> {
    let mut pages = Vec::new();
    let mut request = first;
    loop {
        let page = store.list(&request).unwrap();
        let next = page.next;
        pages.push(page);
        match next {
            Some(after) => request.after = Some(after),
            None => return pages,
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

#[test]
fn pagination_walks_every_row_once() {
    let mut store = memory_store();
    let mut inserted = Vec::new();
    for n in 1..=25 {
        inserted.push(
            insert(
                &mut store,
                &format!("dev{n}@example.com"),
                "Dev",
                Status::Requested,
            )
            .id,
        );
    }

    let pages = walk(&mut store, query(7));
    let sizes: Vec<usize> = pages.iter().map(|p| p.developers.len()).collect();
    assert_eq!(sizes, [7, 7, 7, 4]);
    for page in &pages {
        assert_eq!(page.total, 25);
    }
    assert_eq!(pages.last().unwrap().next, None);

    let walked: Vec<String> = pages
        .iter()
        .flat_map(|p| p.developers.iter().map(|d| d.id.clone()))
        .collect();
    let distinct: HashSet<&String> = walked.iter().collect();
    assert_eq!(distinct.len(), 25);
    inserted.reverse();
    assert_eq!(walked, inserted);
}

#[test]
fn pagination_ends_on_full_last_page() {
    let mut store = memory_store();
    for n in 1..=21 {
        insert(
            &mut store,
            &format!("dev{n}@example.com"),
            "Dev",
            Status::Requested,
        );
    }
    let pages = walk(&mut store, query(7));
    let sizes: Vec<usize> = pages.iter().map(|p| p.developers.len()).collect();
    assert_eq!(sizes, [7, 7, 7]);
}

#[test]
fn pagination_with_status_filter() {
    let mut store = memory_store();
    let mut approved = Vec::new();
    for n in 1..=20 {
        let status = if n % 2 == 0 {
            Status::Approved
        } else {
            Status::Requested
        };
        let developer = insert(&mut store, &format!("dev{n}@example.com"), "Dev", status);
        if status == Status::Approved {
            approved.push(developer.id);
        }
    }

    let pages = walk(
        &mut store,
        ListQuery {
            status: Some(Status::Approved),
            ..query(3)
        },
    );
    for page in &pages {
        assert_eq!(page.total, 10);
    }
    let walked: Vec<String> = pages
        .iter()
        .flat_map(|p| p.developers.iter().map(|d| d.id.clone()))
        .collect();
    approved.reverse();
    assert_eq!(walked, approved);
}

// Counts.

#[test]
fn counts_per_status() {
    let mut store = memory_store();
    assert_eq!(store.counts().unwrap(), Counts::default());

    let statuses = [
        Status::Requested,
        Status::Requested,
        Status::Requested,
        Status::Approved,
        Status::Approved,
        Status::Rejected,
    ];
    for (n, status) in statuses.into_iter().enumerate() {
        insert(&mut store, &format!("dev{n}@example.com"), "Dev", status);
    }
    let counts = store.counts().unwrap();
    assert_eq!(counts.requested, 3);
    assert_eq!(counts.approved, 2);
    assert_eq!(counts.rejected, 1);
    assert_eq!(counts.revoked, 0);
    assert_eq!(counts.total(), 6);
}

// Status changes.

#[test]
fn change_status_follows_transition_table() {
    for from in Status::ALL {
        for to in Status::ALL {
            let mut store = memory_store();
            let developer = insert(&mut store, "dev@example.com", "Dev", from);
            let outcome = store.change_status(&developer.id, to, Some("admin"));
            let stored = store.find(&developer.id).unwrap().unwrap();
            let history = store.history(&developer.id).unwrap();
            let case = format!("{} -> {}", from.label(), to.label());

            if from == to {
                let (returned, change) = outcome.expect(&case);
                assert_eq!(change, Change::Unchanged, "{case}");
                assert_eq!(returned, developer, "{case}");
                assert_eq!(stored.status, from, "{case}");
                assert_eq!(history.len(), 1, "{case}");
            } else if from.allowed_targets().contains(&to) {
                let (returned, change) = outcome.expect(&case);
                assert_eq!(change, Change::Moved(from, to), "{case}");
                assert_eq!(returned.status, to, "{case}");
                assert_eq!(stored.status, to, "{case}");
                assert_eq!(history.len(), 2, "{case}");
                assert_eq!(history[1].from, Some(from), "{case}");
                assert_eq!(history[1].to, to, "{case}");
                assert_eq!(history[1].by.as_deref(), Some("admin"), "{case}");
            } else {
                let err = outcome.expect_err(&case);
                let allowed = match from {
                    Status::Requested => {
                        "a requested developer can only become approved or rejected"
                    }
                    Status::Approved => "an approved developer can only become revoked",
                    Status::Rejected => "a rejected developer can only become approved",
                    Status::Revoked => "a revoked developer can only become approved",
                };
                assert_eq!(err.kind, ErrorKind::Conflict, "{case}");
                assert_eq!(
                    err.message,
                    format!(
                        "cannot change the status of 'dev@example.com' from {} to {}: {allowed}",
                        from.label(),
                        to.label(),
                    ),
                    "{case}"
                );
                assert_eq!(stored.status, from, "{case}");
                assert_eq!(history.len(), 1, "{case}");
            }
        }
    }
}

#[test]
fn change_status_counts_allowed_pairs() {
    let allowed: usize = Status::ALL.iter().map(|s| s.allowed_targets().len()).sum();
    // requested -> approved or rejected, approved -> revoked,
    // revoked -> approved, rejected -> approved.
    assert_eq!(allowed, 5);
}

#[test]
fn forbidden_change_names_allowed_targets() {
    let mut store = memory_store();
    insert(&mut store, "Dev@Example.com", "Dev", Status::Approved);
    let err = store
        .change_status("dev@example.com", Status::Rejected, None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        "cannot change the status of 'Dev@Example.com' from approved to rejected: \
         an approved developer can only become revoked"
    );
}

#[test]
fn change_status_updates_timestamps() {
    let mut store = memory_store();
    let developer = insert(&mut store, "dev@example.com", "Dev", Status::Requested);
    let (changed, _) = store
        .change_status(&developer.id, Status::Approved, None)
        .unwrap();
    assert_eq!(changed.created_at, developer.created_at);
    assert!(changed.updated_at >= developer.updated_at);
    assert_eq!(changed.status_changed_at, changed.updated_at);
}

#[test]
fn change_status_by_email_in_other_case() {
    let mut store = memory_store();
    let developer = insert(&mut store, "Dev@Example.com", "Dev", Status::Requested);
    let (changed, change) = store
        .change_status("DEV@EXAMPLE.COM", Status::Rejected, None)
        .unwrap();
    assert_eq!(change, Change::Moved(Status::Requested, Status::Rejected));
    assert_eq!(changed.id, developer.id);
}

#[test]
fn history_lists_changes_oldest_first() {
    let mut store = memory_store();
    let developer = insert(&mut store, "dev@example.com", "Dev", Status::Requested);
    store
        .change_status(&developer.id, Status::Approved, Some("alice"))
        .unwrap();
    store
        .change_status(&developer.id, Status::Approved, Some("alice"))
        .unwrap();
    store
        .change_status(&developer.id, Status::Revoked, Some("bob"))
        .unwrap();
    store
        .change_status(&developer.id, Status::Approved, None)
        .unwrap();

    let history = store.history("DEV@example.com").unwrap();
    let steps: Vec<(Option<Status>, Status, Option<&str>)> = history
        .iter()
        .map(|h| (h.from, h.to, h.by.as_deref()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, Status::Requested, Some("registration")),
            (Some(Status::Requested), Status::Approved, Some("alice")),
            (Some(Status::Approved), Status::Revoked, Some("bob")),
            (Some(Status::Revoked), Status::Approved, None),
        ]
    );
    for pair in history.windows(2) {
        assert!(pair[0].at <= pair[1].at, "{history:?}");
    }
}

#[test]
fn unknown_developer_is_not_found() {
    let mut store = memory_store();
    insert(&mut store, "dev@example.com", "Dev", Status::Requested);
    let message = "no developer with id or email 'nobody@example.com'";

    let err = store
        .change_status("nobody@example.com", Status::Approved, None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.message, message);

    let err = store.history("nobody@example.com").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.message, message);

    let err = store.delete("nobody@example.com").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.message, message);
}

#[test]
fn unknown_id_is_not_found() {
    let mut store = memory_store();
    let id = "00000000-0000-4000-8000-000000000000";
    let err = store.change_status(id, Status::Approved, None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.message, format!("no developer with id or email '{id}'"));
}

#[test]
fn not_found_message_escapes_control_characters() {
    let mut store = memory_store();
    let err = store.delete("a\r\nb").unwrap_err();
    assert_eq!(err.message, "no developer with id or email 'a\\r\\nb'");
}

// Delete.

#[test]
fn delete_removes_credentials_and_history() {
    let mut store = memory_store();
    let mut doomed = new_developer("doomed@example.com", "Doomed", Status::Requested);
    doomed.credential = Some(StoredCredential {
        auth: "basic-auth".to_owned(),
        secret_hash: SECRET_HASH.to_owned(),
    });
    let doomed = store.insert(&doomed).unwrap();
    store
        .change_status(&doomed.id, Status::Approved, Some("admin"))
        .unwrap();
    let mut kept = new_developer("kept@example.com", "Kept", Status::Requested);
    kept.credential = Some(StoredCredential {
        auth: "basic-auth".to_owned(),
        secret_hash: SECRET_HASH.to_owned(),
    });
    let kept = store.insert(&kept).unwrap();
    assert_eq!(count_rows(&mut store, "credentials"), 2);
    assert_eq!(count_rows(&mut store, "status_history"), 3);

    let deleted = store.delete("DOOMED@example.com").unwrap();
    assert_eq!(deleted.id, doomed.id);
    assert_eq!(deleted.status, Status::Approved);
    assert_eq!(store.find(&doomed.id).unwrap(), None);
    assert_eq!(count_rows(&mut store, "developers"), 1);
    assert_eq!(count_rows(&mut store, "credentials"), 1);
    assert_eq!(count_rows(&mut store, "status_history"), 1);
    assert!(store.credential(&kept.id, "basic-auth").unwrap().is_some());
    assert_eq!(store.history(&kept.id).unwrap().len(), 1);
}

#[test]
fn deleted_email_can_register_again() {
    let mut store = memory_store();
    let first = insert(&mut store, "dev@example.com", "Dev", Status::Approved);
    store.delete(&first.id).unwrap();
    let second = insert(&mut store, "Dev@Example.com", "Dev", Status::Requested);
    assert_ne!(second.id, first.id);
    assert_eq!(store.history(&second.id).unwrap().len(), 1);
}

// Several connections.

#[test]
fn second_connection_reads_committed_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let mut writer = SqliteStore::open(&path).unwrap();
    let mut reader = SqliteStore::open(&path).unwrap();
    assert_eq!(reader.find("dev@example.com").unwrap(), None);

    let developer = insert(&mut writer, "dev@example.com", "Dev", Status::Requested);
    let seen = reader.find("dev@example.com").unwrap();
    assert_eq!(seen.as_ref().map(|d| d.status), Some(Status::Requested));

    writer
        .change_status(&developer.id, Status::Approved, Some("admin"))
        .unwrap();
    let seen = reader.find(&developer.id).unwrap().unwrap();
    assert_eq!(seen.status, Status::Approved);
    assert_eq!(reader.counts().unwrap().approved, 1);
    assert_eq!(reader.history(&developer.id).unwrap().len(), 2);

    writer
        .change_status(&developer.id, Status::Revoked, Some("admin"))
        .unwrap();
    let seen = reader.find(&developer.id).unwrap().unwrap();
    assert_eq!(seen.status, Status::Revoked);

    writer.delete(&developer.id).unwrap();
    assert_eq!(reader.find(&developer.id).unwrap(), None);
}

#[test]
fn second_connection_hits_email_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let mut first = SqliteStore::open(&path).unwrap();
    let mut second = SqliteStore::open(&path).unwrap();
    insert(&mut first, "dev@example.com", "Dev", Status::Requested);
    let err = second
        .insert(&new_developer("DEV@example.com", "Dev", Status::Requested))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
}

/// A worker that opens the store while another process holds the write lock
/// can still read, and its writes fail as unavailable, without waiting for
/// the lock to open the file. The write waits for the 2 s busy timeout.
#[test]
fn open_while_write_locked_reads_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let developer = {
        let mut store = SqliteStore::open(&path).unwrap();
        insert(&mut store, "dev@example.com", "Dev", Status::Requested)
    };
    let locker = rusqlite::Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let mut store = SqliteStore::open(&path).expect("open succeeds under a write lock");
    let found = store.find(&developer.id).unwrap();
    assert_eq!(found.map(|d| d.status), Some(Status::Requested));

    let err = store
        .change_status(&developer.id, Status::Approved, Some("admin"))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.message.contains("database is locked"), "{}", err.message);

    locker.execute_batch("COMMIT").unwrap();
    store
        .change_status(&developer.id, Status::Approved, Some("admin"))
        .expect("the write succeeds once the lock is released");
    assert_eq!(store.history(&developer.id).unwrap().len(), 2);
}

#[test]
fn path_is_the_opened_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(memory_store().path(), Path::new(":memory:"));
}

// Registered.

#[test]
fn registered_finds_lowercase_keys() {
    let mut store = memory_store();
    let developer = insert(&mut store, "Dev1@Example.com", "Dev", Status::Revoked);
    insert(&mut store, "other@example.com", "Other", Status::Approved);

    let keys = vec![
        "dev1@example.com".to_owned(),
        "nobody@example.com".to_owned(),
    ];
    let found = store.registered(&keys).unwrap();
    assert_eq!(
        found,
        vec![Registered {
            id: developer.id,
            email: "Dev1@Example.com".to_owned(),
            status: Status::Revoked,
        }]
    );
}

#[test]
fn registered_of_no_keys_is_empty() {
    let mut store = memory_store();
    insert(&mut store, "dev@example.com", "Dev", Status::Approved);
    assert!(store.registered(&[]).unwrap().is_empty());
}

#[test]
fn record_attempt_counts_per_address() {
    let mut store = memory_store();
    assert_eq!(store.record_attempt("192.0.2.1", 2, 60_000, 1_000).unwrap(), None);
    assert_eq!(store.record_attempt("192.0.2.1", 2, 60_000, 2_000).unwrap(), None);
    assert_eq!(
        store.record_attempt("192.0.2.1", 2, 60_000, 3_000).unwrap(),
        Some(58_000),
        "the wait runs until the oldest attempt leaves the window"
    );
    assert_eq!(store.record_attempt("192.0.2.2", 2, 60_000, 3_000).unwrap(), None);
    assert_eq!(count_rows(&mut store, "registration_attempts"), 3);
}

#[test]
fn record_attempt_window_slides() {
    let mut store = memory_store();
    store.record_attempt("192.0.2.1", 1, 60_000, 0).unwrap();
    assert_eq!(store.record_attempt("192.0.2.1", 1, 60_000, 59_999).unwrap(), Some(1));
    assert_eq!(store.record_attempt("192.0.2.1", 1, 60_000, 60_000).unwrap(), None);
}

#[test]
fn record_attempt_prunes_old_rows() {
    let mut store = memory_store();
    for i in 0..5 {
        store.record_attempt(&format!("192.0.2.{i}"), 10, 60_000, 0).unwrap();
    }
    store.record_attempt("192.0.2.9", 10, 60_000, 120_000).unwrap();
    assert_eq!(count_rows(&mut store, "registration_attempts"), 1);
}

#[test]
fn record_attempt_is_shared_by_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let mut first = SqliteStore::open(&path).unwrap();
    let mut second = SqliteStore::open(&path).unwrap();
    assert_eq!(first.record_attempt("192.0.2.1", 2, 60_000, 0).unwrap(), None);
    assert_eq!(second.record_attempt("192.0.2.1", 2, 60_000, 1).unwrap(), None);
    assert_eq!(first.record_attempt("192.0.2.1", 2, 60_000, 2).unwrap(), Some(59_998));
    assert_eq!(second.record_attempt("192.0.2.1", 2, 60_000, 3).unwrap(), Some(59_997));
}
