//! The core of the developer-portal plugin for Kong.
//!
//! - [`conf`]: reads kong.conf with Kong's syntax rules and `KONG_*`
//!   overrides into typed settings.
//! - [`developer`]: developers, statuses and the transition table.
//! - [`email`]: address validation and the case-insensitive identity.
//! - [`mail`]: invitation and approved-email `mailto:` links (RFC 6068).
//! - [`store`]: the `Store` trait and its SQLite implementation.
//! - [`gateway`]: the per-worker status cache behind the proxy check.
//! - [`portal`]: the use cases the Admin and Portal APIs call.
//! - [`input`] and [`view`]: request parsing and response shapes.
//! - [`lua`]: the binding that LuaJIT loads; the only module that knows mlua.

pub mod conf;
pub mod developer;
pub mod email;
pub mod error;
pub mod gateway;
pub mod input;
pub mod logger;
pub mod lua;
pub mod mail;
pub mod portal;
pub mod secret;
pub mod store;
pub mod view;
