//! Tests of the use cases, on a portal with an in-memory SQLite store.

use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use super::*;
use crate::conf::{PortalAuth, Settings};
use crate::error::ErrorKind;
use crate::mail::Rejected;
use crate::store::SqliteStore;

const PORTAL_URL: &str = "https://portal.example.com";
const PASSWORD: &str = "correct horse";
/// The client address that registrations in these tests come from.
const CLIENT: &str = "192.0.2.10";

fn settings(auth: Option<PortalAuth>) -> Settings {
    Settings {
        portal_auth: auth,
        portal_gui_url: Some(PORTAL_URL.to_owned()),
        ..Settings::default()
    }
}

fn portal_with(settings: Settings) -> Portal<SqliteStore> {
    let store = SqliteStore::open_in_memory().expect("in-memory store opens");
    Portal::new(settings, Templates::default(), store)
}

fn basic_portal() -> Portal<SqliteStore> {
    portal_with(settings(Some(PortalAuth::BasicAuth)))
}

/// Builds a portal without `portal_auth`, where admins create developers
/// without credentials, so no test time goes to hashing.
fn admin_portal() -> Portal<SqliteStore> {
    portal_with(settings(None))
}

fn body(value: Value) -> Fields {
    Fields::from_body(value.to_string().as_bytes(), Some("application/json"))
        .expect("test body parses")
}

fn query(text: &str) -> Fields {
    Fields::from_query(text).expect("test query parses")
}

fn registration(email: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "meta": {"full_name": "Ada Lovelace"},
    })
}

fn create(portal: &mut Portal<SqliteStore>, email: &str, status: &str) -> Developer {
    portal
        .create(
            &body(json!({
                "email": email,
                "meta": {"full_name": "Ada Lovelace"},
                "status": status,
            })),
            Some("admin"),
        )
        .expect("create succeeds")
}

fn history_by(portal: &mut Portal<SqliteStore>, id: &str) -> Vec<Option<String>> {
    portal
        .history(id)
        .unwrap()
        .into_iter()
        .map(|h| h.by)
        .collect()
}

fn decode(text: &str) -> String {
    percent_decode_str(text)
        .decode_utf8()
        .expect("link decodes to UTF-8")
        .into_owned()
}

/// Returns the Bcc addresses of an invite link, decoded.
fn bcc_of(link: &str) -> Vec<String> {
    let rest = link
        .strip_prefix("mailto:?bcc=")
        .unwrap_or_else(|| panic!("not an invite link: {link}"));
    let (bcc, _headers) = rest.split_once('&').expect("link has a subject and body");
    bcc.split(',').map(decode).collect()
}

// Register.

#[test]
fn register_is_requested_by_default() {
    let mut portal = basic_portal();
    let developer = portal
        .register(&body(registration("Ada@Example.com")), CLIENT)
        .unwrap();
    assert_eq!(developer.status, Status::Requested);
    assert_eq!(developer.email, "Ada@Example.com");
    assert_eq!(developer.full_name, "Ada Lovelace");
    assert_eq!(
        history_by(&mut portal, &developer.id),
        [Some("registration".to_owned())]
    );
}

#[test]
fn register_with_auto_approve_is_approved() {
    let mut portal = portal_with(Settings {
        portal_auto_approve: true,
        ..settings(Some(PortalAuth::BasicAuth))
    });
    let developer = portal
        .register(&body(registration("ada@example.com")), CLIENT)
        .unwrap();
    assert_eq!(developer.status, Status::Approved);
    assert_eq!(
        history_by(&mut portal, &developer.id),
        [Some("registration (portal_auto_approve = on)".to_owned())]
    );
}

#[test]
fn register_stores_hashed_password() {
    let mut portal = basic_portal();
    let developer = portal
        .register(&body(registration("ada@example.com")), CLIENT)
        .unwrap();
    let stored = portal
        .store()
        .credential(&developer.id, "basic-auth")
        .unwrap()
        .expect("credential stored");
    assert!(
        stored.secret_hash.starts_with("$argon2id$"),
        "{}",
        stored.secret_hash
    );
    assert!(!stored.secret_hash.contains(PASSWORD));
    assert!(secret::verify(PASSWORD, &stored.secret_hash));
}

#[test]
fn register_trims_email() {
    let mut portal = basic_portal();
    let developer = portal
        .register(&body(registration("  ada@example.com ")), CLIENT)
        .unwrap();
    assert_eq!(developer.email, "ada@example.com");
}

#[test]
fn register_closed_without_portal_auth() {
    let mut portal = admin_portal();
    let err = portal
        .register(&body(registration("ada@example.com")), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disabled);
    assert_eq!(
        err.message,
        "registration is closed: portal_auth is not set in kong.conf \
         (accepted: basic-auth, key-auth, openid-connect)"
    );
}

#[test]
fn register_basic_auth_needs_password() {
    let mut portal = basic_portal();
    let err = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "password must be 8 to 256 characters long, got 0"
    );
}

#[test]
fn register_key_auth_needs_key() {
    let mut portal = portal_with(settings(Some(PortalAuth::KeyAuth)));
    let err = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.message, "key must be 8 to 256 characters long, got 0");
}

#[test]
fn register_key_auth_stores_key() {
    let mut portal = portal_with(settings(Some(PortalAuth::KeyAuth)));
    let developer = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "key": "a-long-api-key",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap();
    let stored = portal
        .store()
        .credential(&developer.id, "key-auth")
        .unwrap();
    assert!(stored.is_some_and(|c| secret::verify("a-long-api-key", &c.secret_hash)));
}

#[test]
fn register_key_auth_rejects_whitespace_in_key() {
    let mut portal = portal_with(settings(Some(PortalAuth::KeyAuth)));
    let err = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "key": "a long api key",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.message, "key contains whitespace or control characters");
}

#[test]
fn register_openid_connect_takes_no_credential() {
    let mut portal = portal_with(settings(Some(PortalAuth::OpenIdConnect)));
    let developer = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap();
    assert_eq!(
        portal
            .store()
            .credential(&developer.id, "basic-auth")
            .unwrap(),
        None
    );
    assert_eq!(
        portal
            .store()
            .credential(&developer.id, "key-auth")
            .unwrap(),
        None
    );

    for field in ["password", "key"] {
        let err = portal
            .register(&body(json!({
                "email": "other@example.com",
                field: "a-long-secret",
                "meta": {"full_name": "Other"},
            })), CLIENT)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{field}");
        assert_eq!(
            err.message,
            format!("{field} is not used when portal_auth = openid-connect"),
            "{field}"
        );
    }
}

#[test]
fn register_rejects_wrong_credential_field() {
    let mut portal = basic_portal();
    let err = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "key": "a-long-api-key",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "key is not used when portal_auth = basic-auth; send password"
    );

    let mut portal = portal_with(settings(Some(PortalAuth::KeyAuth)));
    let err = portal
        .register(&body(registration("ada@example.com")), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "password is not used when portal_auth = key-auth; send key"
    );
}

#[test]
fn register_rejects_short_password() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["password"] = json!("1234567");
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "password must be 8 to 256 characters long, got 7"
    );
}

#[test]
fn register_rejects_long_password() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["password"] = json!("x".repeat(257));
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(
        err.message,
        "password must be 8 to 256 characters long, got 257"
    );
}

#[test]
fn register_rejects_unknown_field() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["nickname"] = json!("ada");
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "unknown field 'nickname' in the request body (accepted: email, password, key, meta)"
    );
}

#[test]
fn register_rejects_status_field() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["status"] = json!("approved");
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "unknown field 'status' in the request body (accepted: email, password, key, meta)"
    );
}

#[test]
fn register_requires_email() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request.as_object_mut().unwrap().remove("email");
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.message, "email is required");
}

#[test]
fn register_requires_meta() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request.as_object_mut().unwrap().remove("meta");
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "meta is required: a JSON object with full_name"
    );
}

#[test]
fn register_requires_full_name() {
    let mut portal = basic_portal();
    for meta in [
        json!({}),
        json!({"full_name": "   "}),
        json!({"company": "X"}),
    ] {
        let mut request = registration("ada@example.com");
        request["meta"] = meta.clone();
        let err = portal.register(&body(request), CLIENT).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{meta}");
        assert_eq!(
            err.message, "meta.full_name is required and must not be blank",
            "{meta}"
        );
    }
}

#[test]
fn register_rejects_full_name_of_other_type() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["meta"] = json!({"full_name": 42});
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.message, "meta.full_name must be a string");
}

#[test]
fn register_accepts_meta_as_json_string() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["meta"] = json!(r#"{"full_name":"Ada Lovelace","company":"Analytical Engines"}"#);
    let developer = portal.register(&body(request), CLIENT).unwrap();
    assert_eq!(developer.full_name, "Ada Lovelace");
    assert_eq!(developer.meta["company"], "Analytical Engines");
}

#[test]
fn register_rejects_non_json_meta_string() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["meta"] = json!("full_name=Ada");
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(
        err.message.starts_with("meta is not a valid JSON object: "),
        "{}",
        err.message
    );
}

#[test]
fn register_rejects_nested_meta_value() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["meta"] = json!({"full_name": "Ada", "links": ["x"]});
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(
        err.message,
        "meta.links must be a string, number or boolean"
    );
}

#[test]
fn register_rejects_control_characters_in_full_name() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["meta"] = json!({"full_name": "Ada\nLovelace"});
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "meta.full_name 'Ada\\nLovelace' contains control characters such as line breaks"
    );
}

#[test]
fn register_rejects_long_full_name() {
    let mut portal = basic_portal();
    let mut request = registration("ada@example.com");
    request["meta"] = json!({"full_name": "a".repeat(201)});
    let err = portal.register(&body(request), CLIENT).unwrap_err();
    assert_eq!(
        err.message,
        "meta.full_name is too long: 201 characters (at most 200)"
    );
}

#[test]
fn register_rejects_invalid_email() {
    let mut portal = basic_portal();
    let err = portal
        .register(&body(registration("not-an-email")), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "invalid email 'not-an-email' in email: missing '@' symbol"
    );
}

#[test]
fn register_rejects_email_in_other_case() {
    let mut portal = basic_portal();
    portal
        .register(&body(registration("Ada@Example.com")), CLIENT)
        .unwrap();
    let err = portal
        .register(&body(registration("ada@example.COM")), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        "a developer with email 'ada@example.COM' already exists \
         (emails are compared without regard to letter case)"
    );
}

// Create, get and delete.

#[test]
fn create_accepts_status_label() {
    let mut portal = admin_portal();
    let developer = create(&mut portal, "ada@example.com", "approved");
    assert_eq!(developer.status, Status::Approved);
    assert_eq!(
        history_by(&mut portal, &developer.id),
        [Some("admin".to_owned())]
    );
}

#[test]
fn create_accepts_status_integer() {
    let mut portal = admin_portal();
    let developer = portal
        .create(
            &body(json!({
                "email": "ada@example.com",
                "meta": {"full_name": "Ada"},
                "status": 3,
            })),
            None,
        )
        .unwrap();
    assert_eq!(developer.status, Status::Revoked);
    assert_eq!(history_by(&mut portal, &developer.id), [None]);
}

#[test]
fn create_is_requested_by_default() {
    let mut portal = admin_portal();
    let developer = portal
        .create(
            &body(json!({"email": "ada@example.com", "meta": {"full_name": "Ada"}})),
            None,
        )
        .unwrap();
    assert_eq!(developer.status, Status::Requested);
}

#[test]
fn create_rejects_unknown_status() {
    let mut portal = admin_portal();
    let err = portal
        .create(
            &body(json!({
                "email": "ada@example.com",
                "meta": {"full_name": "Ada"},
                "status": "invited",
            })),
            None,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "invalid status 'invited' (accepted: 0 or approved, 1 or requested \
         (alias pending), 2 or rejected, 3 or revoked)"
    );
}

#[test]
fn create_rejects_credential_without_portal_auth() {
    let mut portal = admin_portal();
    let err = portal
        .create(
            &body(json!({
                "email": "ada@example.com",
                "password": PASSWORD,
                "meta": {"full_name": "Ada"},
            })),
            None,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "a credential was given but portal_auth is not set in kong.conf"
    );
}

#[test]
fn get_finds_by_id_and_email() {
    let mut portal = admin_portal();
    let developer = create(&mut portal, "Ada@Example.com", "requested");
    assert_eq!(portal.get(&developer.id).unwrap(), developer);
    assert_eq!(portal.get("ADA@example.com").unwrap(), developer);
}

#[test]
fn get_unknown_is_not_found() {
    let mut portal = admin_portal();
    let err = portal.get("nobody@example.com").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(
        err.message,
        "no developer with id or email 'nobody@example.com'"
    );
}

#[test]
fn delete_removes_developer() {
    let mut portal = admin_portal();
    let developer = create(&mut portal, "ada@example.com", "approved");
    assert_eq!(portal.delete("ada@example.com").unwrap().id, developer.id);
    assert_eq!(
        portal.get(&developer.id).unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        portal.delete(&developer.id).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

// List.

fn list_error(portal: &mut Portal<SqliteStore>, text: &str) -> Error {
    let err = portal.list(&query(text)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{text}");
    err
}

#[test]
fn list_rejects_size_out_of_range() {
    let mut portal = admin_portal();
    for size in ["0", "1001", "-1", "abc", "", "1.5"] {
        let err = list_error(&mut portal, &format!("size={size}"));
        assert_eq!(
            err.message,
            format!("invalid size '{size}' (accepted: an integer from 1 to 1000)"),
        );
    }
}

#[test]
fn list_accepts_size_bounds() {
    let mut portal = admin_portal();
    assert!(portal.list(&query("size=1")).is_ok());
    assert!(portal.list(&query("size=1000")).is_ok());
}

#[test]
fn list_rejects_invalid_offset() {
    let mut portal = admin_portal();
    for offset in ["0", "-5", "abc"] {
        let err = list_error(&mut portal, &format!("offset={offset}"));
        assert_eq!(
            err.message,
            format!(
                "invalid offset '{offset}' (accepted: the offset value returned with \
                 the previous page)"
            ),
        );
    }
}

#[test]
fn list_rejects_unknown_parameter() {
    let mut portal = admin_portal();
    let err = list_error(&mut portal, "page=2");
    assert_eq!(
        err.message,
        "unknown field 'page' in the request query (accepted: status, q, size, offset)"
    );
}

#[test]
fn list_rejects_long_search() {
    let mut portal = admin_portal();
    let err = list_error(&mut portal, &format!("q={}", "a".repeat(255)));
    assert_eq!(err.message, "q is too long: 255 characters (at most 254)");
    assert!(portal
        .list(&query(&format!("q={}", "a".repeat(254))))
        .is_ok());
}

#[test]
fn list_rejects_unknown_status() {
    let mut portal = admin_portal();
    let err = list_error(&mut portal, "status=5");
    assert_eq!(
        err.message,
        "invalid status '5' (accepted: 0 or approved, 1 or requested \
         (alias pending), 2 or rejected, 3 or revoked)"
    );
}

#[test]
fn list_default_page_size() {
    let mut portal = admin_portal();
    for n in 0..=DEFAULT_PAGE_SIZE {
        create(&mut portal, &format!("dev{n}@example.com"), "requested");
    }
    let page = portal.list(&query("")).unwrap();
    assert_eq!(page.developers.len(), DEFAULT_PAGE_SIZE as usize);
    assert_eq!(page.total, u64::from(DEFAULT_PAGE_SIZE) + 1);
    assert!(page.next.is_some());
}

#[test]
fn list_filters_status_and_search() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "approved");
    create(&mut portal, "grace@example.com", "requested");
    create(&mut portal, "alan@example.com", "requested");

    let pending = portal.list(&query("status=pending")).unwrap();
    let emails: Vec<&str> = pending
        .developers
        .iter()
        .map(|d| d.email.as_str())
        .collect();
    assert_eq!(emails, ["alan@example.com", "grace@example.com"]);

    let found = portal.list(&query("status=1&q=%20GRACE%20")).unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.developers[0].email, "grace@example.com");

    let everyone = portal.list(&query("status=&q=")).unwrap();
    assert_eq!(everyone.total, 3);
}

#[test]
fn list_follows_offset() {
    let mut portal = admin_portal();
    for n in 1..=5 {
        create(&mut portal, &format!("dev{n}@example.com"), "requested");
    }
    let first = portal.list(&query("size=3")).unwrap();
    let offset = first.next.expect("a second page");
    let second = portal
        .list(&query(&format!("size=3&offset={offset}")))
        .unwrap();
    let emails: Vec<&str> = second.developers.iter().map(|d| d.email.as_str()).collect();
    assert_eq!(emails, ["dev2@example.com", "dev1@example.com"]);
    assert_eq!(second.next, None);
}

#[test]
fn counts_per_status() {
    let mut portal = admin_portal();
    create(&mut portal, "a@example.com", "approved");
    create(&mut portal, "b@example.com", "requested");
    create(&mut portal, "c@example.com", "revoked");
    let counts = portal.counts().unwrap();
    assert_eq!(counts.approved, 1);
    assert_eq!(counts.requested, 1);
    assert_eq!(counts.rejected, 0);
    assert_eq!(counts.revoked, 1);
}

// Status changes.

fn change(portal: &mut Portal<SqliteStore>, id: &str, status: &str) -> StatusChange {
    portal
        .change_status(id, &body(json!({ "status": status })), Some("admin"))
        .unwrap_or_else(|err| panic!("change to {status} fails: {err}"))
}

#[test]
fn first_approval_carries_approved_email() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "requested");
    let outcome = change(&mut portal, "ada@example.com", "approved");
    assert_eq!(
        outcome.change,
        Change::Moved(Status::Requested, Status::Approved)
    );
    assert_eq!(outcome.developer.status, Status::Approved);
    let link = outcome.approved_email.expect("approved email");
    assert!(link.starts_with("mailto:ada@example.com?"), "{link}");
}

#[test]
fn approval_after_rejection_carries_approved_email() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "requested");
    change(&mut portal, "ada@example.com", "rejected");
    let outcome = change(&mut portal, "ada@example.com", "approved");
    assert_eq!(
        outcome.change,
        Change::Moved(Status::Rejected, Status::Approved)
    );
    assert!(outcome.approved_email.is_some());
}

#[test]
fn reapproval_after_revocation_has_no_email() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "approved");
    let revoked = change(&mut portal, "ada@example.com", "revoked");
    assert_eq!(revoked.approved_email, None);
    let outcome = change(&mut portal, "ada@example.com", "approved");
    assert_eq!(
        outcome.change,
        Change::Moved(Status::Revoked, Status::Approved)
    );
    assert_eq!(outcome.approved_email, None);
}

#[test]
fn approval_has_no_email_when_switched_off() {
    let mut portal = portal_with(Settings {
        portal_approved_email: false,
        ..settings(None)
    });
    create(&mut portal, "ada@example.com", "requested");
    let outcome = change(&mut portal, "ada@example.com", "approved");
    assert_eq!(
        outcome.change,
        Change::Moved(Status::Requested, Status::Approved)
    );
    assert_eq!(outcome.approved_email, None);
}

#[test]
fn same_status_is_unchanged_without_email() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "approved");
    let outcome = change(&mut portal, "ada@example.com", "0");
    assert_eq!(outcome.change, Change::Unchanged);
    assert_eq!(outcome.approved_email, None);
    assert_eq!(history_by(&mut portal, "ada@example.com").len(), 1);
}

#[test]
fn change_status_records_who() {
    let mut portal = admin_portal();
    let developer = create(&mut portal, "ada@example.com", "requested");
    change(&mut portal, &developer.id, "approved");
    portal
        .change_status(&developer.id, &body(json!({"status": 3})), None)
        .unwrap();
    assert_eq!(
        history_by(&mut portal, &developer.id),
        [Some("admin".to_owned()), Some("admin".to_owned()), None]
    );
}

#[test]
fn change_status_rejects_forbidden_change() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "requested");
    let err = portal
        .change_status("ada@example.com", &body(json!({"status": "revoked"})), None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        "cannot change the status of 'ada@example.com' from requested to revoked: \
         a requested developer can only become approved or rejected"
    );
}

#[test]
fn change_status_requires_status() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "requested");
    let err = portal
        .change_status("ada@example.com", &body(json!({})), None)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.message, "status is required");

    let err = portal
        .change_status(
            "ada@example.com",
            &body(json!({"status": "approved", "reason": "ok"})),
            None,
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "unknown field 'reason' in the request body (accepted: status)"
    );
}

#[test]
fn change_status_of_unknown_is_not_found() {
    let mut portal = admin_portal();
    let err = portal
        .change_status(
            "nobody@example.com",
            &body(json!({"status": "approved"})),
            None,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

// Invitations.

#[test]
fn invite_sorts_mixed_list() {
    let mut portal = admin_portal();
    let registered = create(&mut portal, "Registered@Example.com", "approved");

    let invitation = portal
        .invite(&body(json!({
            "emails": "a@example.com, c+tag@example.com; not-an-email\n\
                       A@EXAMPLE.COM registered@example.com",
        })))
        .unwrap();

    assert_eq!(invitation.invited, ["a@example.com", "c+tag@example.com"]);
    assert_eq!(
        invitation.invalid,
        [Rejected {
            email: "not-an-email".to_owned(),
            reason: "missing '@' symbol".to_owned(),
        }]
    );
    assert_eq!(
        invitation.duplicates,
        [Rejected {
            email: "A@EXAMPLE.COM".to_owned(),
            reason: "duplicate of 'a@example.com'".to_owned(),
        }]
    );
    assert_eq!(
        invitation.registered,
        [Registered {
            id: registered.id,
            email: "Registered@Example.com".to_owned(),
            status: Status::Approved,
        }]
    );
    assert_eq!(invitation.links.len(), 1);
    assert_eq!(bcc_of(&invitation.links[0]), invitation.invited);
    assert!(
        invitation.links[0].contains("c%2Btag@example.com"),
        "{}",
        invitation.links[0]
    );
}

#[test]
fn invite_link_points_to_register_page() {
    let mut portal = admin_portal();
    let invitation = portal
        .invite(&body(json!({"emails": ["a@example.com", "b@example.com"]})))
        .unwrap();
    assert_eq!(invitation.invited, ["a@example.com", "b@example.com"]);
    let decoded = decode(&invitation.links[0]);
    assert!(
        decoded.contains("https://portal.example.com/register"),
        "{decoded}"
    );
}

#[test]
fn invite_links_split_long_lists() {
    let mut portal = admin_portal();
    let addresses: Vec<String> = (0..200)
        .map(|n| format!("developer.number{n}@example.com"))
        .collect();
    let invitation = portal
        .invite(&body(json!({ "emails": addresses })))
        .unwrap();
    assert!(
        invitation.links.len() > 1,
        "{} links",
        invitation.links.len()
    );
    for link in &invitation.links {
        assert!(
            link.len() <= mail::MAX_MAILTO_LEN,
            "{} characters",
            link.len()
        );
    }
    let decoded: Vec<String> = invitation.links.iter().flat_map(|l| bcc_of(l)).collect();
    assert_eq!(decoded, addresses);
}

#[test]
fn invite_of_registered_only_has_no_link() {
    let mut portal = admin_portal();
    create(&mut portal, "ada@example.com", "requested");
    let invitation = portal
        .invite(&body(json!({"emails": "ADA@example.com"})))
        .unwrap();
    assert!(invitation.links.is_empty());
    assert!(invitation.invited.is_empty());
    assert_eq!(invitation.registered.len(), 1);
}

#[test]
fn invite_disabled_when_switched_off() {
    let mut portal = portal_with(Settings {
        portal_invite_email: false,
        ..settings(None)
    });
    let err = portal
        .invite(&body(json!({"emails": "a@example.com"})))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disabled);
    assert_eq!(
        err.message,
        "invitations are off: set portal_invite_email = on in kong.conf"
    );
}

#[test]
fn invite_requires_emails() {
    let mut portal = admin_portal();
    for request in [
        json!({"emails": ""}),
        json!({"emails": " , ; "}),
        json!({"emails": []}),
        json!({}),
    ] {
        let err = portal.invite(&body(request.clone())).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{request}");
        assert_eq!(
            err.message, "emails is required: a comma-separated string or an array of addresses",
            "{request}"
        );
    }
}

#[test]
fn invite_of_invalid_only_has_no_link() {
    let mut portal = admin_portal();
    let invitation = portal.invite(&body(json!({"emails": "nope"}))).unwrap();
    assert!(invitation.links.is_empty());
    assert_eq!(invitation.invalid.len(), 1);
}

// Approved email.

#[test]
fn approved_email_links_to_login() {
    let mut portal = admin_portal();
    create(&mut portal, "Ada@Example.com", "approved");
    let link = portal.approved_email("ada@example.com").unwrap();
    assert!(link.starts_with("mailto:Ada@Example.com?"), "{link}");
    let decoded = decode(&link);
    assert!(
        decoded.contains(&format!("{PORTAL_URL}/login")),
        "{decoded}"
    );
    assert!(
        decoded.contains("Your login email is Ada@Example.com."),
        "{decoded}"
    );
    assert!(decoded.contains("Hi Ada Lovelace,"), "{decoded}");
}

#[test]
fn approved_email_only_for_approved() {
    let mut portal = admin_portal();
    for status in ["requested", "rejected", "revoked"] {
        let email = format!("{status}@example.com");
        create(&mut portal, &email, status);
        let err = portal.approved_email(&email).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict, "{status}");
        assert_eq!(
            err.message,
            format!("'{email}' is {status}: only approved developers get the approved email"),
        );
    }
}

#[test]
fn approved_email_disabled_when_switched_off() {
    let mut portal = portal_with(Settings {
        portal_approved_email: false,
        ..settings(None)
    });
    create(&mut portal, "ada@example.com", "approved");
    let err = portal.approved_email("ada@example.com").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disabled);
    assert_eq!(
        err.message,
        "approved emails are off: set portal_approved_email = on in kong.conf"
    );
}

#[test]
fn approved_email_of_unknown_is_not_found() {
    let mut portal = admin_portal();
    let err = portal.approved_email("nobody@example.com").unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

// Login.

fn login_body(email: &str, password: &str) -> Fields {
    body(json!({"email": email, "password": password}))
}

/// Registers a developer with `PASSWORD` and moves it to `status`.
fn registered_as(portal: &mut Portal<SqliteStore>, email: &str, status: Status) -> Developer {
    let developer = portal.register(&body(registration(email)), CLIENT).unwrap();
    let path: &[Status] = match status {
        Status::Requested => &[],
        Status::Approved => &[Status::Approved],
        Status::Rejected => &[Status::Rejected],
        Status::Revoked => &[Status::Approved, Status::Revoked],
    };
    for step in path {
        portal
            .store()
            .change_status(&developer.id, *step, Some("admin"))
            .unwrap();
    }
    portal.get(&developer.id).unwrap()
}

#[test]
fn login_passes_approved_developer() {
    let mut portal = basic_portal();
    let developer = registered_as(&mut portal, "Ada@Example.com", Status::Approved);
    let logged_in = portal
        .login(&login_body("ada@example.COM", PASSWORD))
        .unwrap();
    assert_eq!(logged_in.id, developer.id);
}

#[test]
fn login_refuses_other_statuses() {
    let mut portal = basic_portal();
    let cases = [
        (
            Status::Requested,
            "your registration is awaiting approval by an administrator; \
             you can log in once it is approved",
        ),
        (
            Status::Rejected,
            "your registration was rejected; contact the portal's administrators \
             if you think this is a mistake",
        ),
        (
            Status::Revoked,
            "your access has been revoked; contact the portal's administrators \
             to have it restored",
        ),
    ];
    for (status, message) in cases {
        let email = format!("{}@example.com", status.label());
        registered_as(&mut portal, &email, status);
        let err = portal.login(&login_body(&email, PASSWORD)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized, "{status:?}");
        assert_eq!(err.message, message, "{status:?}");
    }
}

#[test]
fn login_wrong_password_matches_unknown_email() {
    let mut portal = basic_portal();
    registered_as(&mut portal, "ada@example.com", Status::Approved);

    let wrong_password = portal
        .login(&login_body("ada@example.com", "wrong horse"))
        .unwrap_err();
    let unknown_email = portal
        .login(&login_body("nobody@example.com", PASSWORD))
        .unwrap_err();
    assert_eq!(wrong_password.kind, ErrorKind::Unauthorized);
    assert_eq!(wrong_password.message, "invalid email or credentials");
    assert_eq!(unknown_email, wrong_password);
}

#[test]
fn login_hides_status_behind_wrong_password() {
    let mut portal = basic_portal();
    registered_as(&mut portal, "ada@example.com", Status::Revoked);
    let err = portal
        .login(&login_body("ada@example.com", "wrong horse"))
        .unwrap_err();
    assert_eq!(err.message, "invalid email or credentials");
}

#[test]
fn login_with_key_auth() {
    let mut portal = portal_with(settings(Some(PortalAuth::KeyAuth)));
    let developer = portal
        .register(&body(json!({
            "email": "ada@example.com",
            "key": "a-long-api-key",
            "meta": {"full_name": "Ada"},
        })), CLIENT)
        .unwrap();
    portal
        .store()
        .change_status(&developer.id, Status::Approved, None)
        .unwrap();
    let fields = body(json!({"email": "ada@example.com", "key": "a-long-api-key"}));
    assert_eq!(portal.login(&fields).unwrap().id, developer.id);
    let fields = body(json!({"email": "ada@example.com", "key": "another-api-key"}));
    assert_eq!(
        portal.login(&fields).unwrap_err().kind,
        ErrorKind::Unauthorized
    );
}

#[test]
fn login_closed_without_portal_auth() {
    let mut portal = admin_portal();
    let err = portal
        .login(&login_body("ada@example.com", PASSWORD))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Disabled);
    assert_eq!(
        err.message,
        "login is closed: portal_auth is not set in kong.conf"
    );
}

#[test]
fn login_requires_password() {
    let mut portal = basic_portal();
    let err = portal
        .login(&body(json!({"email": "ada@example.com"})))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.message, "password is required");
}

// Request limits.

fn limited_portal(limit: u32) -> Portal<SqliteStore> {
    portal_with(Settings {
        portal_register_rate_limit: limit,
        ..settings(Some(PortalAuth::BasicAuth))
    })
}

#[test]
fn register_over_rate_limit_is_refused() {
    let mut portal = limited_portal(2);
    portal.register(&body(registration("a@example.com")), CLIENT).unwrap();
    portal.register(&body(registration("b@example.com")), CLIENT).unwrap();
    let err = portal
        .register(&body(registration("c@example.com")), CLIENT)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    let wait = err.retry_after.expect("a rate-limited error has retry_after");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        err.message,
        format!(
            "too many registrations from 192.0.2.10: at most 2 per minute \
             (portal_register_rate_limit); retry in {wait} seconds"
        )
    );
    assert!(portal.get("c@example.com").is_err(), "nothing was stored");
    portal
        .register(&body(registration("c@example.com")), "192.0.2.11")
        .expect("another address has its own budget");
}

#[test]
fn rate_limit_window_slides() {
    let mut portal = limited_portal(2);
    portal.admit_registration(CLIENT, 0).unwrap();
    portal.admit_registration(CLIENT, 10_000).unwrap();
    let err = portal.admit_registration(CLIENT, 20_000).unwrap_err();
    assert_eq!(err.retry_after, Some(40));
    let err = portal.admit_registration(CLIENT, 59_999).unwrap_err();
    assert_eq!(err.retry_after, Some(1), "a wait under a second rounds up to 1");
    portal.admit_registration(CLIENT, 60_000).unwrap();
    let err = portal.admit_registration(CLIENT, 60_001).unwrap_err();
    assert_eq!(err.retry_after, Some(10));
}

#[test]
fn rate_limit_zero_means_unlimited() {
    let mut portal = limited_portal(0);
    for i in 0..100 {
        portal.admit_registration(CLIENT, i).unwrap();
    }
}

#[test]
fn rate_limit_without_address_shares_one_budget() {
    let mut portal = limited_portal(1);
    portal.admit_registration("", 0).unwrap();
    let err = portal.admit_registration("  ", 1).unwrap_err();
    assert!(err.message.contains("from unknown:"), "{}", err.message);
}

#[test]
fn malformed_registration_does_not_count() {
    let mut portal = limited_portal(1);
    for _ in 0..5 {
        let err = portal
            .register(&body(registration("not-an-email")), CLIENT)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        let err = portal
            .register(&body(json!({"email": "a@example.com", "password": "short",
                                   "meta": {"full_name": "A"}})), CLIENT)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
    }
    portal.register(&body(registration("a@example.com")), CLIENT).unwrap();
}

#[test]
fn rate_limited_address_is_escaped() {
    let mut portal = limited_portal(1);
    portal.admit_registration("evil\r\nX: y", 0).unwrap();
    let err = portal.admit_registration("evil\r\nX: y", 1).unwrap_err();
    assert!(!err.message.contains('\n'), "{}", err.message);
    assert!(err.message.contains("evil\\r\\nX: y"), "{}", err.message);
}

#[test]
fn body_over_max_body_is_too_large() {
    let portal = basic_portal();
    portal.check_body_size(0).unwrap();
    portal.check_body_size(16_384).unwrap();
    let err = portal.check_body_size(16_385).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert_eq!(
        err.message,
        "request body too large: 16385 bytes (at most 16384 bytes, set by \
         portal_register_max_body)"
    );
    let portal = portal_with(Settings {
        portal_register_max_body: 1024,
        ..settings(Some(PortalAuth::BasicAuth))
    });
    assert_eq!(portal.check_body_size(1025).unwrap_err().kind, ErrorKind::TooLarge);
}

#[test]
fn invite_array_element_is_one_address() {
    let mut portal = admin_portal();
    let invitation = portal
        .invite(&body(json!({"emails": ["a b@example.com", "c@example.com,d@example.com",
                                        " e@example.com "]})))
        .unwrap();
    assert_eq!(invitation.invited, ["e@example.com"]);
    let invalid: Vec<&str> = invitation.invalid.iter().map(|r| r.email.as_str()).collect();
    assert_eq!(invalid, ["a b@example.com", "c@example.com,d@example.com"]);
}

#[test]
fn invite_array_element_with_line_break_is_invalid() {
    let mut portal = admin_portal();
    let invitation = portal
        .invite(&body(json!({"emails": ["a@example.com\r\nBcc: x@evil.example"]})))
        .unwrap();
    assert!(invitation.links.is_empty());
    assert_eq!(invitation.invalid.len(), 1);
    assert_eq!(invitation.invalid[0].email, "a@example.com\\r\\nBcc: x@evil.example");
}

#[test]
fn not_found_message_cuts_long_values() {
    let mut portal = admin_portal();
    let long = "a".repeat(5000);
    let err = portal.get(&long).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.len() < 400, "{} bytes", err.message.len());
    assert!(err.message.contains(&format!("'{}...'", "a".repeat(300))), "{}", err.message);
}
