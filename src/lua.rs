//! The binding to Lua: the only file that uses mlua.
//!
//! Each exported function converts its arguments, calls one core function and
//! returns a JSON text, or `nil, {kind = ..., message = ...}`. No function
//! raises a Lua error except when Lua runs out of memory, because ngx_lua
//! would turn an uncaught one into a bare 500. A panic in the core is caught
//! here and returned as a `storage` error.
//!
//! Settings are read by `init`, which the shim calls when Kong loads the
//! plugin in the nginx master process; the workers inherit them through
//! fork. Each worker opens its own store connection on first use.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use std::ffi::{c_char, c_int, c_void};

use mlua::ffi;
use mlua::prelude::*;

use crate::conf::{self, Settings};
use crate::error::{Error, ErrorKind, Result};
use crate::gateway::{self, Match, StatusCache};
use crate::input::Fields;
use crate::logger;
use crate::mail::Templates;
use crate::portal::Portal;
use crate::store::SqliteStore;
use crate::view;

struct State {
    settings: Settings,
    templates: Templates,
    /// The worker's portal and the process id that opened its connection.
    portal: Option<(u32, Portal<SqliteStore>)>,
    /// The worker's cache of gateway verdicts.
    cache: StatusCache,
}

type SharedState = RefCell<Option<State>>;

thread_local! {
    // Leaked once per thread that loads the module (one per nginx worker
    // process): `lookup` keeps a pointer to it as an upvalue, which is
    // cheaper to reach than a thread-local in a dlopen'ed library.
    static STATE: &'static SharedState = Box::leak(Box::new(RefCell::new(None)));
}

/// Runs `f` on this process's portal, opening the store on first use.
fn with_portal<T>(f: impl FnOnce(&mut Portal<SqliteStore>) -> Result<T>) -> Result<T> {
    STATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let state = guard.as_mut().ok_or_else(|| {
            Error::config("the developer-portal core is not initialised: call init() first")
        })?;
        if let Some((owner, _)) = &state.portal {
            if *owner != std::process::id() {
                // A connection must not be used across fork; this one belongs
                // to the parent, so it is left untouched and never closed here.
                if let Some((_, inherited)) = state.portal.take() {
                    std::mem::forget(inherited);
                }
            }
        }
        open_portal(state)?;
        let (_, portal) = state.portal.as_mut().expect("portal was just opened");
        f(portal)
    })
}

/// Opens this process's store and portal, unless they are open already.
fn open_portal(state: &mut State) -> Result<()> {
    if state.portal.is_none() {
        let store = SqliteStore::open(&state.settings.store_path())?;
        let portal = Portal::new(state.settings.clone(), state.templates.clone(), store);
        state.portal = Some((std::process::id(), portal));
    }
    Ok(())
}

/// Looks up the gateway verdict for a consumer key. This runs on every
/// proxied request, so it skips the fork check `with_portal` makes: the
/// master process never opens the store, so a worker's first call opens it.
fn lookup_verdict(cell: &SharedState, key: &[u8], matching: Match) -> Result<Option<i64>> {
    let mut guard = cell.borrow_mut();
    let state = guard.as_mut().ok_or_else(|| {
        Error::config("the developer-portal core is not initialised: call init() first")
    })?;
    open_portal(state)?;
    let (_, portal) = state.portal.as_mut().expect("portal was just opened");
    let verdict = state.cache.lookup(portal.store(), key, matching)?;
    Ok(verdict.map(|v| v.code()))
}

/// `lookup(key, by_custom_id)`: returns the verdict code (Kong's status
/// integer, or 4 for a deleted developer), nil for a consumer that is not a
/// developer, or nil and an error table. It raises only when Lua runs out of
/// memory while pushing the result.
unsafe extern "C-unwind" fn lookup_c(state: *mut ffi::lua_State) -> c_int {
    let mut len = 0usize;
    let ptr = ffi::lua_tolstring(state, 1, &mut len);
    if ptr.is_null() {
        return push_error(state, "invalid", "lookup: the consumer key must be a string");
    }
    // SAFETY: lua_tolstring returned a pointer to `len` bytes that stay
    // valid while the string is on the stack, which is for this whole call.
    let key = std::slice::from_raw_parts(ptr as *const u8, len);
    let matching = if ffi::lua_toboolean(state, 2) != 0 {
        Match::CustomId
    } else {
        Match::Username
    };
    // SAFETY: upvalue 1 is the light userdata set in `developer_portal_core`,
    // a pointer to this thread's leaked state, valid for the whole process.
    let cell = &*(ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)) as *const SharedState);
    let outcome = catch_unwind(AssertUnwindSafe(|| lookup_verdict(cell, key, matching)));
    match outcome {
        Ok(Ok(Some(code))) => {
            ffi::lua_pushinteger(state, code as ffi::lua_Integer);
            1
        }
        Ok(Ok(None)) => {
            ffi::lua_pushnil(state);
            1
        }
        Ok(Err(err)) => push_error(state, err.kind.as_str(), &err.message),
        Err(_) => push_error(
            state,
            "storage",
            "internal error in the developer-portal core: the status lookup panicked",
        ),
    }
}

unsafe extern "C-unwind" fn noop_c(state: *mut ffi::lua_State) -> c_int {
    let mut len = 0usize;
    let _ = ffi::lua_tolstring(state, 1, &mut len);
    let _ = ffi::lua_toboolean(state, 2);
    ffi::lua_pushnil(state);
    1
}

/// Pushes `nil, {kind = kind, message = message}` and returns 2.
unsafe fn push_error(state: *mut ffi::lua_State, kind: &str, message: &str) -> c_int {
    ffi::lua_pushnil(state);
    ffi::lua_createtable(state, 0, 2);
    ffi::lua_pushlstring(state, kind.as_ptr() as *const c_char, kind.len());
    ffi::lua_setfield(state, -2, c"kind".as_ptr());
    ffi::lua_pushlstring(state, message.as_ptr() as *const c_char, message.len());
    ffi::lua_setfield(state, -2, c"message".as_ptr());
    2
}

/// A string argument read as UTF-8 with invalid bytes replaced by U+FFFD,
/// or the `invalid` error for an argument of another type.
///
/// Paths, headers and query strings carry whatever bytes a client sent. A
/// strict conversion by mlua would raise a Lua error before the function
/// body runs, and the host responds to an uncaught error with a 500. Numbers are
/// accepted in their text form.
struct Text(Result<String>);

impl FromLua for Text {
    fn from_lua(value: LuaValue, _lua: &Lua) -> LuaResult<Self> {
        Ok(Text(match value {
            LuaValue::String(s) => Ok(s.to_string_lossy()),
            LuaValue::Integer(n) => Ok(n.to_string()),
            LuaValue::Number(n) => Ok(n.to_string()),
            other => Err(Error::invalid(format!(
                "invalid argument: expected a string, got {}",
                other.type_name()
            ))),
        }))
    }
}

/// Returns an optional string argument; `nil` is `None`.
fn text(value: Option<Text>) -> Result<Option<String>> {
    value.map(|Text(result)| result).transpose()
}

/// Calls the core, turning its errors and any panic into `nil, err`.
fn respond(lua: &Lua, f: impl FnOnce() -> Result<String>) -> LuaResult<(LuaValue, LuaValue)> {
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(Error::new(
            ErrorKind::Storage,
            format!("internal error in the developer-portal core: {what}"),
        ))
    });
    match outcome {
        Ok(json) => Ok((LuaValue::String(lua.create_string(&json)?), LuaValue::Nil)),
        Err(err) => Ok((LuaValue::Nil, LuaValue::Table(error_table(lua, &err)?))),
    }
}

fn error_table(lua: &Lua, err: &Error) -> LuaResult<LuaTable> {
    let table = lua.create_table()?;
    table.set("kind", err.kind.as_str())?;
    table.set("message", err.message.as_str())?;
    if let Some(seconds) = err.retry_after {
        table.set("retry_after", seconds)?;
    }
    Ok(table)
}

fn body_fields(body: Option<LuaString>, content_type: Option<String>) -> Result<Fields> {
    let bytes = body.map(|b| b.as_bytes().to_vec()).unwrap_or_default();
    Fields::from_body(&bytes, content_type.as_deref())
}

/// Parses a Portal API body after checking its size against
/// `portal_register_max_body`.
fn portal_body_fields(body: Option<LuaString>, content_type: Option<String>) -> Result<Fields> {
    let length = body.as_ref().map_or(0, |b| b.as_bytes().len());
    with_portal(|p| p.check_body_size(length))?;
    body_fields(body, content_type)
}

fn json(value: serde_json::Value) -> Result<String> {
    Ok(value.to_string())
}

/// `init({conf_path =, prefix =})`: reads kong.conf and the `KONG_*`
/// environment. Returns a summary table, or `nil, err` naming the bad value.
fn init(lua: &Lua, opts: Option<LuaTable>) -> LuaResult<(LuaValue, LuaValue)> {
    let conf_path: Option<String> = opts.as_ref().and_then(|o| o.get("conf_path").ok());
    let prefix: Option<String> = opts.as_ref().and_then(|o| o.get("prefix").ok());
    let loaded = (|| -> Result<_> {
        let env = |key: &str| std::env::var(key).ok();
        let mut loaded = conf::load(conf_path.as_deref().map(std::path::Path::new), &env)?;
        // Kong has already resolved `prefix` from kong.conf, the environment
        // and its command line (`kong start -p`), so its value wins.
        if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
            loaded.settings.prefix = PathBuf::from(prefix);
        }
        check_store_folder(&loaded.settings.store_path())?;
        Ok(loaded)
    })();
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return Ok((LuaValue::Nil, LuaValue::Table(error_table(lua, &err)?))),
    };
    let summary = lua.create_table()?;
    summary.set("conf_path", loaded.path.as_ref().map(|p| p.display().to_string()))?;
    summary.set("store_path", loaded.settings.store_path().display().to_string())?;
    summary.set("portal_url", loaded.settings.portal_url())?;
    summary.set("portal_auto_approve", loaded.settings.portal_auto_approve)?;
    summary.set(
        "portal_auth",
        loaded.settings.portal_auth.map(|a| a.as_str().to_owned()),
    )?;
    summary.set("warnings", lua.create_sequence_from(loaded.warnings.clone())?)?;
    STATE.with(|cell| {
        *cell.borrow_mut() = Some(State {
            settings: loaded.settings,
            templates: Templates::default(),
            portal: None,
            cache: StatusCache::new(),
        })
    });
    Ok((LuaValue::Table(summary), LuaValue::Nil))
}

/// Builds the module table. LuaJIT calls it through `luaopen_developer_portal_core`
/// when the library is built with the `module` feature; binding tests call it
/// directly on a Lua state of their own.
/// Fails start-up when the store's folder is missing, instead of failing
/// every request later. Whether the worker user may write there can only be
/// known in a worker, so that is reported on first use.
fn check_store_folder(store: &std::path::Path) -> Result<()> {
    let folder = match store.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => return Ok(()),
    };
    if folder.is_dir() {
        return Ok(());
    }
    Err(Error::config(format!(
        "developer_portal_db: the folder {} of the developer store {} does not exist \
         (create it, or set developer_portal_db to a file in an existing folder)",
        folder.display(),
        store.display()
    )))
}

#[cfg_attr(feature = "module", mlua::lua_module(name = "developer_portal_core"))]
pub fn developer_portal_core(lua: &Lua) -> LuaResult<LuaTable> {
    logger::install();
    let exports = lua.create_table()?;
    exports.set("init", lua.create_function(init)?)?;

    exports.set(
        "take_logs",
        lua.create_function(|lua, ()| {
            let records = lua.create_table()?;
            for (i, (level, message)) in logger::take().into_iter().enumerate() {
                let record = lua.create_table()?;
                record.set("level", level)?;
                record.set("message", message)?;
                records.set(i + 1, record)?;
            }
            Ok(records)
        })?,
    )?;

    // The gateway's hot path is written against the Lua C API, skipping
    // mlua's argument and result conversion, which costs more than the
    // lookup itself. `noop` has the same shape and does nothing: it is the
    // floor the benchmarks compare with.
    // SAFETY: both functions follow the lua_CFunction contract (see below).
    let shared: &'static SharedState = STATE.with(|cell| *cell);
    let lookup: LuaFunction = unsafe {
        lua.exec_raw((), |state| {
            ffi::lua_pushlightuserdata(state, shared as *const SharedState as *mut c_void);
            ffi::lua_pushcclosure(state, lookup_c, 1);
        })?
    };
    exports.set("lookup", lookup)?;
    exports.set("noop", unsafe { lua.create_c_function(noop_c)? })?;

    let refusals = lua.create_table()?;
    for code in 1..=gateway::DELETED_CODE {
        refusals.set(code, gateway::refusal_message(code))?;
    }
    exports.set("refusals", refusals)?;

    // `check_body_size(length)`: lets the shim reject a Portal API request
    // from its Content-Length before reading the body. Returns true or
    // `nil, err` of kind `too_large`.
    exports.set(
        "check_body_size",
        lua.create_function(|lua, length: f64| {
            let length = if length.is_finite() && length > 0.0 {
                length as usize
            } else {
                0
            };
            match with_portal(|p| p.check_body_size(length)) {
                Ok(()) => Ok((LuaValue::Boolean(true), LuaValue::Nil)),
                Err(err) => Ok((LuaValue::Nil, LuaValue::Table(error_table(lua, &err)?))),
            }
        })?,
    )?;

    // `register(body, content_type, client_address)`: the address counts
    // against `portal_register_rate_limit`; nil counts as "unknown".
    exports.set(
        "register",
        lua.create_function(
            |lua, (body, ctype, client): (Option<LuaString>, Option<Text>, Option<Text>)| {
                respond(lua, || {
                    let fields = portal_body_fields(body, text(ctype)?)?;
                    let client = text(client)?.unwrap_or_default();
                    let developer = with_portal(|p| p.register(&fields, &client))?;
                    json(serde_json::json!({ "developer": view::developer(&developer) }))
                })
            },
        )?,
    )?;

    exports.set(
        "login",
        lua.create_function(|lua, (body, ctype): (Option<LuaString>, Option<Text>)| {
            respond(lua, || {
                let fields = portal_body_fields(body, text(ctype)?)?;
                let developer = with_portal(|p| p.login(&fields))?;
                json(serde_json::json!({ "developer": view::developer(&developer) }))
            })
        })?,
    )?;

    exports.set(
        "new_api_key",
        lua.create_function(
            |lua, (authorization, body, ctype): (Option<Text>, Option<LuaString>, Option<Text>)| {
                respond(lua, || {
                    let fields = portal_body_fields(body, text(ctype)?)?;
                    let header = text(authorization)?.unwrap_or_default();
                    let (developer, key) = with_portal(|p| p.new_api_key(&header, &fields))?;
                    json(serde_json::json!({
                        "developer": view::developer(&developer),
                        "key": key,
                    }))
                })
            },
        )?,
    )?;

    exports.set(
        "create",
        lua.create_function(
            |lua, (body, ctype, by): (Option<LuaString>, Option<Text>, Option<Text>)| {
                respond(lua, || {
                    let fields = body_fields(body, text(ctype)?)?;
                    let by = text(by)?;
                    let developer = with_portal(|p| p.create(&fields, by.as_deref()))?;
                    json(view::developer(&developer))
                })
            },
        )?,
    )?;

    exports.set(
        "get",
        lua.create_function(|lua, id: Text| {
            respond(lua, || {
                let id = id.0?;
                json(view::developer(&with_portal(|p| p.get(&id))?))
            })
        })?,
    )?;

    exports.set(
        "list",
        lua.create_function(|lua, (query, path): (Option<Text>, Option<Text>)| {
            respond(lua, || {
                let query = text(query)?.unwrap_or_default();
                let path = text(path)?;
                let fields = Fields::from_query(&query)?;
                let (page, approved_emails) = with_portal(|p| {
                    let page = p.list(&fields)?;
                    let links = p.approved_emails(&page.developers);
                    Ok((page, links))
                })?;
                let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let path = path.unwrap_or_else(|| "/developers".to_owned());
                json(view::page(&page, &approved_emails, &path, &pairs))
            })
        })?,
    )?;

    exports.set(
        "counts",
        lua.create_function(|lua, ()| {
            respond(lua, || json(view::counts(&with_portal(|p| p.counts())?)))
        })?,
    )?;

    exports.set(
        "change_status",
        lua.create_function(
            |lua,
             (id, body, ctype, by): (
                Text,
                Option<LuaString>,
                Option<Text>,
                Option<Text>,
            )| {
                respond(lua, || {
                    let id = id.0?;
                    let by = text(by)?;
                    let fields = body_fields(body, text(ctype)?)?;
                    let outcome = with_portal(|p| p.change_status(&id, &fields, by.as_deref()))?;
                    let mut answer = serde_json::json!({
                        "developer": view::developer(&outcome.developer),
                        "changed": matches!(outcome.change, crate::developer::Change::Moved(..)),
                    });
                    if let Some(link) = outcome.approved_email {
                        answer["email"] = serde_json::json!({ "mailto": link });
                    }
                    json(answer)
                })
            },
        )?,
    )?;

    exports.set(
        "delete",
        lua.create_function(|lua, id: Text| {
            respond(lua, || {
                let id = id.0?;
                json(view::developer(&with_portal(|p| p.delete(&id))?))
            })
        })?,
    )?;

    exports.set(
        "history",
        lua.create_function(|lua, id: Text| {
            respond(lua, || {
                let id = id.0?;
                json(view::history(&with_portal(|p| p.history(&id))?))
            })
        })?,
    )?;

    exports.set(
        "invite",
        lua.create_function(|lua, (body, ctype): (Option<LuaString>, Option<Text>)| {
            respond(lua, || {
                let fields = body_fields(body, text(ctype)?)?;
                json(view::invitation(&with_portal(|p| p.invite(&fields))?))
            })
        })?,
    )?;

    exports.set(
        "approved_email",
        lua.create_function(|lua, id: Text| {
            respond(lua, || {
                let id = id.0?;
                let link = with_portal(|p| p.approved_email(&id))?;
                json(serde_json::json!({ "mailto": link }))
            })
        })?,
    )?;

    Ok(exports)
}

#[cfg(all(test, not(feature = "module")))]
mod tests {
    use super::*;

    /// Loads the module into a fresh Lua state, initialised with a kong.conf
    /// in `dir`. The state is per thread, so each test spawns its own.
    fn initialised_lua(dir: &std::path::Path) -> Lua {
        let conf = dir.join("kong.conf");
        std::fs::write(&conf, "portal_auth = basic-auth\n").unwrap();
        let lua = Lua::new();
        lua.globals()
            .set("core", developer_portal_core(&lua).unwrap())
            .unwrap();
        lua.globals().set("conf_path", conf.display().to_string()).unwrap();
        lua.globals().set("prefix", dir.display().to_string()).unwrap();
        let (summary, _): (LuaValue, LuaValue) = lua
            .load("return core.init({conf_path = conf_path, prefix = prefix})")
            .eval()
            .unwrap();
        assert!(summary.is_table(), "init failed");
        lua
    }

    /// Runs `code` under pcall and returns the error table's kind and message.
    fn error_of(lua: &Lua, code: &str) -> (String, String) {
        let chunk = format!("return pcall(function() {code} end)");
        let (ok, result, err): (bool, LuaValue, LuaValue) = lua.load(&chunk).eval().unwrap();
        assert!(ok, "{code} raised a Lua error: {result:?}");
        let LuaValue::Table(err) = err else {
            panic!("{code} returned no error table: {result:?}");
        };
        (err.get("kind").unwrap(), err.get("message").unwrap())
    }

    fn on_fresh_thread(test: impl FnOnce() + Send + 'static) {
        if let Err(panic) = std::thread::spawn(test).join() {
            std::panic::resume_unwind(panic);
        }
    }

    #[test]
    fn invalid_utf8_arguments_do_not_raise() {
        on_fresh_thread(|| {
            let dir = tempfile::tempdir().unwrap();
            let lua = initialised_lua(dir.path());
            let (kind, message) = error_of(&lua, r#"return core.get("\192\174\255")"#);
            assert_eq!(kind, "not_found");
            assert_eq!(message, "no developer with id or email '\u{fffd}\u{fffd}\u{fffd}'");
            for code in [
                r#"return core.history("\255")"#,
                r#"return core.delete("\255")"#,
                r#"return core.approved_email("\255")"#,
                r#"return core.change_status("\255", '{"status":0}', 'application/json', "\255")"#,
            ] {
                let (kind, _) = error_of(&lua, code);
                assert_eq!(kind, "not_found", "{code}");
            }
            let (kind, message) = error_of(&lua, r#"return core.create('x', "text/\255")"#);
            assert_eq!(kind, "invalid");
            assert!(message.starts_with("unsupported content type 'text/\u{fffd}'"), "{message}");
            let (kind, _) = error_of(&lua, r#"return core.new_api_key("Basic \255", '', nil)"#);
            assert_eq!(kind, "unauthorized");
        });
    }

    #[test]
    fn non_string_arguments_are_invalid() {
        on_fresh_thread(|| {
            let dir = tempfile::tempdir().unwrap();
            let lua = initialised_lua(dir.path());
            for code in [
                "return core.get(nil)",
                "return core.delete({})",
                "return core.list({})",
                "return core.change_status(nil, '{}', 'application/json')",
                "return core.register('{}', {})",
            ] {
                let (kind, message) = error_of(&lua, code);
                assert_eq!(kind, "invalid", "{code}");
                assert!(message.starts_with("invalid argument: expected a string, got "), "{message}");
            }
        });
    }

    #[test]
    fn rate_limited_error_carries_retry_after() {
        on_fresh_thread(|| {
            let lua = Lua::new();
            let err = Error::rate_limited("slow down", 42);
            let table = error_table(&lua, &err).unwrap();
            assert_eq!(table.get::<String>("kind").unwrap(), "rate_limited");
            assert_eq!(table.get::<u64>("retry_after").unwrap(), 42);
            let table = error_table(&lua, &Error::too_large("big")).unwrap();
            assert_eq!(table.get::<String>("kind").unwrap(), "too_large");
            assert!(table.get::<LuaValue>("retry_after").unwrap().is_nil());
        });
    }

    #[test]
    fn check_body_size_reports_the_limit() {
        on_fresh_thread(|| {
            let dir = tempfile::tempdir().unwrap();
            let lua = initialised_lua(dir.path());
            let ok: bool = lua.load("return core.check_body_size(16384)").eval().unwrap();
            assert!(ok);
            let (kind, message) = error_of(&lua, "return core.check_body_size(20000)");
            assert_eq!(kind, "too_large");
            assert!(message.contains("20000 bytes (at most 16384 bytes"), "{message}");
            let (kind, _) = error_of(
                &lua,
                &format!("return core.register('{{}}{}', 'application/json')", " ".repeat(16384)),
            );
            assert_eq!(kind, "too_large");
        });
    }
}
