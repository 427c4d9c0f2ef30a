//! The binding to Lua: the only file that knows mlua.
//!
//! Each exported function converts its arguments, calls one core function and
//! returns a JSON text, or `nil, {kind = ..., message = ...}`. Nothing raises
//! a Lua error: ngx_lua would answer an uncaught one with a bare 500. A panic
//! in the core is caught here and returned as a `storage` error.
//!
//! Settings are read by `init`, which the shim calls when Kong loads the
//! plugin in the nginx master process; the workers inherit them through
//! fork. Each worker opens its own store connection on first use.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use std::ffi::{c_char, c_int};

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

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Runs `f` on this process's portal, opening the store on first use.
fn with_portal<T>(f: impl FnOnce(&mut Portal<SqliteStore>) -> Result<T>) -> Result<T> {
    STATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let state = guard.as_mut().ok_or_else(|| {
            Error::config("the developer-portal core is not initialised: call init() first")
        })?;
        let pid = std::process::id();
        if let Some((owner, _)) = &state.portal {
            if *owner != pid {
                // A connection must not be used across fork; this one belongs
                // to the parent, so it is left untouched and never closed here.
                if let Some((_, inherited)) = state.portal.take() {
                    std::mem::forget(inherited);
                }
            }
        }
        if state.portal.is_none() {
            let store = SqliteStore::open(&state.settings.store_path())?;
            let portal = Portal::new(state.settings.clone(), state.templates.clone(), store);
            state.portal = Some((pid, portal));
        }
        let (_, portal) = state.portal.as_mut().expect("portal was just opened");
        f(portal)
    })
}

/// Looks up the gateway verdict for a consumer key. This runs on every
/// proxied request, so it skips the fork check `with_portal` makes: the
/// master process never opens the store, so a worker's first call opens it.
fn lookup_verdict(key: &[u8], matching: Match) -> Result<Option<i64>> {
    STATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let state = guard.as_mut().ok_or_else(|| {
            Error::config("the developer-portal core is not initialised: call init() first")
        })?;
        if state.portal.is_none() {
            let store = SqliteStore::open(&state.settings.store_path())?;
            let portal = Portal::new(state.settings.clone(), state.templates.clone(), store);
            state.portal = Some((std::process::id(), portal));
        }
        let (_, portal) = state.portal.as_mut().expect("portal was just opened");
        let verdict = state.cache.lookup(portal.store(), key, matching)?;
        Ok(verdict.map(|v| v.code()))
    })
}

/// `lookup(key, by_custom_id)`: returns the verdict code (Kong's status
/// integer, or 4 for a deleted developer), nil for a consumer that is not a
/// developer, or nil and an error table. Never raises.
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
    let outcome = catch_unwind(AssertUnwindSafe(|| lookup_verdict(key, matching)));
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
    Ok(table)
}

fn body_fields(body: Option<LuaString>, content_type: Option<String>) -> Result<Fields> {
    let bytes = body.map(|b| b.as_bytes().to_vec()).unwrap_or_default();
    Fields::from_body(&bytes, content_type.as_deref())
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
    exports.set("lookup", unsafe { lua.create_c_function(lookup_c)? })?;
    exports.set("noop", unsafe { lua.create_c_function(noop_c)? })?;

    let refusals = lua.create_table()?;
    for code in 1..=gateway::DELETED_CODE {
        refusals.set(code, gateway::refusal_message(code))?;
    }
    exports.set("refusals", refusals)?;

    exports.set(
        "register",
        lua.create_function(|lua, (body, ctype): (Option<LuaString>, Option<String>)| {
            respond(lua, || {
                let fields = body_fields(body, ctype)?;
                let developer = with_portal(|p| p.register(&fields))?;
                json(serde_json::json!({ "developer": view::developer(&developer) }))
            })
        })?,
    )?;

    exports.set(
        "login",
        lua.create_function(|lua, (body, ctype): (Option<LuaString>, Option<String>)| {
            respond(lua, || {
                let fields = body_fields(body, ctype)?;
                let developer = with_portal(|p| p.login(&fields))?;
                json(serde_json::json!({ "developer": view::developer(&developer) }))
            })
        })?,
    )?;

    exports.set(
        "new_api_key",
        lua.create_function(
            |lua, (authorization, body, ctype): (Option<String>, Option<LuaString>, Option<String>)| {
                respond(lua, || {
                    let fields = body_fields(body, ctype)?;
                    let header = authorization.unwrap_or_default();
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
            |lua, (body, ctype, by): (Option<LuaString>, Option<String>, Option<String>)| {
                respond(lua, || {
                    let fields = body_fields(body, ctype)?;
                    let developer = with_portal(|p| p.create(&fields, by.as_deref()))?;
                    json(view::developer(&developer))
                })
            },
        )?,
    )?;

    exports.set(
        "get",
        lua.create_function(|lua, id: String| {
            respond(lua, || json(view::developer(&with_portal(|p| p.get(&id))?)))
        })?,
    )?;

    exports.set(
        "list",
        lua.create_function(|lua, (query, path): (Option<String>, Option<String>)| {
            respond(lua, || {
                let query = query.unwrap_or_default();
                let fields = Fields::from_query(&query)?;
                let page = with_portal(|p| p.list(&fields))?;
                let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let path = path.unwrap_or_else(|| "/developers".to_owned());
                json(view::page(&page, &path, &pairs))
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
                String,
                Option<LuaString>,
                Option<String>,
                Option<String>,
            )| {
                respond(lua, || {
                    let fields = body_fields(body, ctype)?;
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
        lua.create_function(|lua, id: String| {
            respond(lua, || json(view::developer(&with_portal(|p| p.delete(&id))?)))
        })?,
    )?;

    exports.set(
        "history",
        lua.create_function(|lua, id: String| {
            respond(lua, || json(view::history(&with_portal(|p| p.history(&id))?)))
        })?,
    )?;

    exports.set(
        "invite",
        lua.create_function(|lua, (body, ctype): (Option<LuaString>, Option<String>)| {
            respond(lua, || {
                let fields = body_fields(body, ctype)?;
                json(view::invitation(&with_portal(|p| p.invite(&fields))?))
            })
        })?,
    )?;

    exports.set(
        "approved_email",
        lua.create_function(|lua, id: String| {
            respond(lua, || {
                let link = with_portal(|p| p.approved_email(&id))?;
                json(serde_json::json!({ "mailto": link }))
            })
        })?,
    )?;

    Ok(exports)
}
