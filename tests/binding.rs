//! Tests of the Lua binding: a LuaJIT state loads the module table and Lua
//! code drives it as the plugin's shim does.
//!
//! The module keeps its settings and store connection in thread-local state.
//! Each test runs its body on a thread it spawns, so it starts uninitialised
//! whichever harness thread runs it.

use std::path::{Path, PathBuf};

use mlua::{Lua, Table, Value as LuaValue};
use serde_json::{json, Value};

const NOT_INITIALISED: &str = "the developer-portal core is not initialised: call init() first";

/// Runs `test` on a new thread and re-raises its panic, if any.
fn on_fresh_thread(test: impl FnOnce() + Send + 'static) {
    if let Err(panic) = std::thread::spawn(test).join() {
        std::panic::resume_unwind(panic);
    }
}

/// Creates a Lua state with the module table in the global `core`.
fn load_core() -> Lua {
    let lua = Lua::new();
    let core = developer_portal_core::lua::developer_portal_core(&lua).expect("module table");
    lua.globals().set("core", core).unwrap();
    lua
}

fn write_conf(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("kong.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// Calls `core.init` with the given kong.conf and prefix, from Lua.
fn init(lua: &Lua, conf_path: &Path, prefix: &Path) -> (Option<Table>, Option<Table>) {
    lua.globals()
        .set("conf_path", conf_path.display().to_string())
        .unwrap();
    lua.globals()
        .set("prefix", prefix.display().to_string())
        .unwrap();
    lua.load("return core.init({conf_path = conf_path, prefix = prefix})")
        .eval()
        .unwrap()
}

/// Evaluates `code` (which must return the pair a core function returns)
/// under `pcall`, and checks that no Lua error was raised.
fn call(lua: &Lua, code: &str) -> (LuaValue, Option<Table>) {
    let chunk = format!("return pcall(function() {code} end)");
    let (ok, result, err): (bool, LuaValue, LuaValue) = lua.load(&chunk).eval().unwrap();
    assert!(ok, "{code} raised a Lua error: {result:?}");
    let err = match err {
        LuaValue::Nil => None,
        LuaValue::Table(table) => Some(table),
        other => panic!("{code} returned a non-table error {other:?}"),
    };
    (result, err)
}

/// Calls a core function that must succeed and decodes its JSON text.
fn call_json(lua: &Lua, code: &str) -> Value {
    let (result, err) = call(lua, code);
    if let Some(err) = err {
        panic!(
            "{code} failed: {}: {}",
            err.get::<String>("kind").unwrap(),
            err.get::<String>("message").unwrap()
        );
    }
    let LuaValue::String(text) = result else {
        panic!("{code} returned {result:?}, not a JSON string");
    };
    serde_json::from_slice(&text.as_bytes()).expect("result is JSON")
}

/// Calls a core function that must fail and returns the error's kind and
/// message.
fn call_error(lua: &Lua, code: &str) -> (String, String) {
    let (result, err) = call(lua, code);
    assert!(
        matches!(result, LuaValue::Nil),
        "{code} returned {result:?}"
    );
    let err = err.unwrap_or_else(|| panic!("{code} returned no error"));
    (err.get("kind").unwrap(), err.get("message").unwrap())
}

#[test]
fn init_returns_summary() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(
            dir.path(),
            "portal_auth = basic-auth\n\
             portal_auto_approve = on\n\
             portal_gui_url = https://portal.example.com/\n",
        );
        let lua = load_core();
        let (summary, err) = init(&lua, &conf, dir.path());
        assert!(err.is_none());
        let summary = summary.expect("summary table");

        assert_eq!(
            summary.get::<String>("conf_path").unwrap(),
            conf.display().to_string()
        );
        assert_eq!(
            summary.get::<String>("store_path").unwrap(),
            dir.path().join("developer_portal.db").display().to_string()
        );
        assert_eq!(
            summary.get::<String>("portal_url").unwrap(),
            "https://portal.example.com"
        );
        assert!(summary.get::<bool>("portal_auto_approve").unwrap());
        assert_eq!(summary.get::<String>("portal_auth").unwrap(), "basic-auth");
        let warnings: Table = summary.get("warnings").unwrap();
        assert_eq!(warnings.raw_len(), 0);
    });
}

#[test]
fn init_reports_warnings() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(dir.path(), "portal_auto_approval = on\n");
        let lua = load_core();
        let (summary, _) = init(&lua, &conf, dir.path());
        let warnings: Vec<String> = summary.unwrap().get("warnings").unwrap();
        assert_eq!(
            warnings,
            [format!(
                "portal_auto_approval at {}:1 is ignored: the property is spelled \
                 portal_auto_approve",
                conf.display()
            )]
        );
    });
}

#[test]
fn init_rejects_invalid_value() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(
            dir.path(),
            "# DEVELOPER PORTAL AUTHENTICATION\n\
             portal_auth = basic-auth\n\
             portal_auto_approve = yes\n",
        );
        let lua = load_core();
        let (summary, err) = init(&lua, &conf, dir.path());
        assert!(summary.is_none());
        let err = err.expect("error table");
        assert_eq!(err.get::<String>("kind").unwrap(), "config");
        assert_eq!(
            err.get::<String>("message").unwrap(),
            format!(
                "portal_auto_approve: invalid boolean 'yes' at {}:3 \
                 (accepted: on, off, true, false)",
                conf.display()
            )
        );

        let (kind, message) = call_error(&lua, "return core.counts()");
        assert_eq!(kind, "config");
        assert_eq!(message, NOT_INITIALISED);
    });
}

#[test]
fn init_rejects_missing_conf_file() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.conf");
        let lua = load_core();
        let (summary, err) = init(&lua, &missing, dir.path());
        assert!(summary.is_none());
        let err = err.expect("error table");
        assert_eq!(err.get::<String>("kind").unwrap(), "config");
        assert_eq!(
            err.get::<String>("message").unwrap(),
            format!("no file at: {}", missing.display())
        );
    });
}

#[test]
fn calls_before_init_are_config_errors() {
    on_fresh_thread(|| {
        let lua = load_core();
        let calls = [
            r#"return core.register('{"email":"a@example.com"}', 'application/json')"#,
            r#"return core.login('{"email":"a@example.com"}', 'application/json')"#,
            r#"return core.create('{"email":"a@example.com"}', 'application/json', 'admin')"#,
            "return core.get('a@example.com')",
            "return core.list('', '/developers')",
            "return core.counts()",
            r#"return core.change_status('a@example.com', '{"status":0}', 'application/json')"#,
            "return core.delete('a@example.com')",
            "return core.history('a@example.com')",
            r#"return core.invite('{"emails":"a@example.com"}', 'application/json')"#,
            "return core.approved_email('a@example.com')",
        ];
        for code in calls {
            let (kind, message) = call_error(&lua, code);
            assert_eq!(kind, "config", "{code}");
            assert_eq!(message, NOT_INITIALISED, "{code}");
        }
    });
}

#[test]
fn malformed_json_returns_invalid() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(dir.path(), "portal_auth = basic-auth\n");
        let lua = load_core();
        init(&lua, &conf, dir.path()).0.expect("init succeeds");

        let (ok, result, err): (bool, LuaValue, Table) = lua
            .load(r#"return pcall(core.register, '{"email": ', 'application/json')"#)
            .eval()
            .unwrap();
        assert!(ok, "register raised a Lua error");
        assert!(matches!(result, LuaValue::Nil), "{result:?}");
        assert_eq!(err.get::<String>("kind").unwrap(), "invalid");
        let message: String = err.get("message").unwrap();
        assert!(
            message.starts_with("malformed JSON in the request body: "),
            "{message}"
        );
    });
}

#[test]
fn error_kinds_reach_lua() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(dir.path(), "portal_auth = basic-auth\n");
        let lua = load_core();
        init(&lua, &conf, dir.path()).0.expect("init succeeds");
        call_json(
            &lua,
            r#"return core.register([[{"email":"ada@example.com","password":"correct horse",
                "meta":{"full_name":"Ada"}}]], 'application/json')"#,
        );

        let (kind, message) = call_error(&lua, "return core.get('nobody@example.com')");
        assert_eq!(kind, "not_found");
        assert_eq!(
            message,
            "no developer with id or email 'nobody@example.com'"
        );

        let (kind, _) = call_error(
            &lua,
            r#"return core.change_status('ada@example.com', '{"status":"revoked"}',
                'application/json')"#,
        );
        assert_eq!(kind, "conflict");

        let (kind, message) = call_error(
            &lua,
            r#"return core.login('{"email":"ada@example.com","password":"correct horse"}',
                'application/json')"#,
        );
        assert_eq!(kind, "unauthorized");
        assert!(
            message.starts_with("your registration is awaiting approval"),
            "{message}"
        );

        let (kind, _) = call_error(&lua, "return core.list('size=0')");
        assert_eq!(kind, "invalid");
    });
}

#[test]
fn developer_lifecycle_through_lua() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(
            dir.path(),
            "portal_auth = basic-auth\n\
             portal_gui_url = https://portal.example.com\n",
        );
        let lua = load_core();
        init(&lua, &conf, dir.path()).0.expect("init succeeds");

        // Register two developers.
        let registered = call_json(
            &lua,
            r#"return core.register([[{"email":"Ada@Example.com","password":"correct horse",
                "meta":{"full_name":"Ada Lovelace"}}]], 'application/json')"#,
        );
        let ada = &registered["developer"];
        let id = ada["id"].as_str().expect("id is a string").to_owned();
        assert_eq!(ada["email"], "Ada@Example.com");
        assert_eq!(ada["full_name"], "Ada Lovelace");
        assert_eq!(ada["status"], 1);
        assert_eq!(ada["status_label"], "requested");
        assert_eq!(ada["meta"], r#"{"full_name":"Ada Lovelace"}"#);
        call_json(
            &lua,
            "return core.register('email=grace%40example.com&password=correct%20horse\
             &meta=%7B%22full_name%22%3A%22Grace%22%7D', 'application/x-www-form-urlencoded')",
        );
        assert!(dir.path().join("developer_portal.db").exists());
        lua.globals().set("id", id.as_str()).unwrap();

        // Get by id and by email in another case.
        let by_id = call_json(&lua, "return core.get(id)");
        assert_eq!(by_id, *ada);
        let by_email = call_json(&lua, "return core.get('ada@example.com')");
        assert_eq!(by_email["id"], id);

        // List one per page, newest first.
        let first = call_json(&lua, "return core.list('size=1&status=1', '/developers')");
        assert_eq!(first["total"], 2);
        assert_eq!(first["data"][0]["email"], "grace@example.com");
        let offset = first["offset"]
            .as_str()
            .expect("offset is a string")
            .to_owned();
        assert_eq!(
            first["next"],
            format!("/developers?size=1&status=1&offset={offset}")
        );
        lua.globals().set("offset", offset.as_str()).unwrap();
        let second = call_json(
            &lua,
            "return core.list('size=1&status=1&offset=' .. offset, '/developers')",
        );
        assert_eq!(second["data"][0]["id"], id);
        assert_eq!(second["next"], Value::Null);
        assert_eq!(second["offset"], Value::Null);

        // Approve, then approve again.
        let approved = call_json(
            &lua,
            r#"return core.change_status(id, '{"status":"approved"}', 'application/json', 'admin')"#,
        );
        assert_eq!(approved["changed"], true);
        assert_eq!(approved["developer"]["status"], 0);
        assert_eq!(approved["developer"]["status_label"], "approved");
        let mailto = approved["email"]["mailto"]
            .as_str()
            .expect("approved email");
        assert!(mailto.starts_with("mailto:Ada@Example.com?"), "{mailto}");
        let again = call_json(
            &lua,
            r#"return core.change_status(id, '{"status":0}', 'application/json', 'admin')"#,
        );
        assert_eq!(again["changed"], false);
        assert!(again.get("email").is_none(), "{again}");

        // History, counts, login, invite and the approved email.
        let history = call_json(&lua, "return core.history(id)");
        assert_eq!(history["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(history["data"][0]["from"], Value::Null);
        assert_eq!(history["data"][0]["to"], 1);
        assert_eq!(history["data"][0]["by"], "registration");
        assert_eq!(history["data"][1]["from"], 1);
        assert_eq!(history["data"][1]["from_label"], "requested");
        assert_eq!(history["data"][1]["to"], 0);
        assert_eq!(history["data"][1]["to_label"], "approved");
        assert_eq!(history["data"][1]["by"], "admin");

        let counts = call_json(&lua, "return core.counts()");
        assert_eq!(
            counts,
            json!({"approved": 1, "requested": 1, "rejected": 0, "revoked": 0, "total": 2})
        );

        let login = call_json(
            &lua,
            r#"return core.login('{"email":"ada@example.com","password":"correct horse"}',
                'application/json')"#,
        );
        assert_eq!(login["developer"]["id"], id);

        let invitation = call_json(
            &lua,
            r#"return core.invite('{"emails":["new@example.com","ADA@example.com"]}',
                'application/json')"#,
        );
        assert_eq!(invitation["invited"], json!(["new@example.com"]));
        assert_eq!(invitation["registered"][0]["id"], id);
        assert_eq!(invitation["registered"][0]["status_label"], "approved");
        assert_eq!(invitation["links"].as_array().map(Vec::len), Some(1));

        let email = call_json(&lua, "return core.approved_email(id)");
        assert!(
            email["mailto"]
                .as_str()
                .unwrap()
                .starts_with("mailto:Ada@Example.com?"),
            "{email}"
        );

        // Delete, after which the developer is gone.
        let deleted = call_json(&lua, "return core.delete(id)");
        assert_eq!(deleted["id"], id);
        assert_eq!(deleted["status"], 0);
        let (kind, message) = call_error(&lua, "return core.get(id)");
        assert_eq!(kind, "not_found");
        assert_eq!(message, format!("no developer with id or email '{id}'"));

        // The info records of the calls above, then nothing.
        let logs: Vec<(String, String)> = lua
            .load(
                "local out = {}
                 for i, record in ipairs(core.take_logs()) do
                     out[i] = {record.level, record.message}
                 end
                 return out",
            )
            .eval::<Vec<Vec<String>>>()
            .unwrap()
            .into_iter()
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        for expected in [
            format!("developer {id} registered as requested"),
            format!("developer {id} moved from requested to approved"),
            format!("developer {id} deleted"),
        ] {
            assert!(
                logs.contains(&("info".to_owned(), expected.clone())),
                "{expected} missing from {logs:?}"
            );
        }
        assert!(logs.iter().all(|(level, _)| level == "info"), "{logs:?}");
        let left: Table = lua.load("return core.take_logs()").eval().unwrap();
        assert_eq!(left.raw_len(), 0);
    });
}

/// A `nil` or a table where a string is expected is returned as an
/// `invalid` error, not raised: ngx_lua turns a raised error into a bare 500.
#[test]
fn wrong_argument_type_returns_invalid() {
    on_fresh_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = write_conf(dir.path(), "portal_auth = basic-auth\n");
        let lua = load_core();
        init(&lua, &conf, dir.path()).0.expect("init succeeds");
        for code in [
            "return core.get(nil)",
            "return core.delete({})",
            "return core.list({})",
            "return core.change_status(nil, '{}', 'application/json')",
        ] {
            let (kind, _) = call_error(&lua, code);
            assert_eq!(kind, "invalid", "{code}");
        }
    });
}
