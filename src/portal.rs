//! The use cases: register, create, list, change status, delete, invite and
//! the approved email. Each validates its input, applies the rules and calls
//! the store; none depends on HTTP or Lua.

use serde_json::{Map, Value};

use crate::conf::{PortalAuth, Settings};
use crate::developer::{Change, Counts, Developer, HistoryEntry, Status};
use crate::email;
use crate::error::{Error, Result};
use crate::input::{Fields, TextOrItems};
use crate::mail::{self, Rejected, Templates};
use crate::secret;
use crate::store::{ListQuery, NewDeveloper, Page, Registered, Store, StoredCredential};

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;
const MAX_FULL_NAME: usize = 200;
const MAX_META_KEYS: usize = 20;
const MAX_META_VALUE: usize = 1000;
const SECRET_LENGTH: std::ops::RangeInclusive<usize> = 8..=256;
const MAX_SEARCH: usize = 254;
/// The sliding window of `portal_register_rate_limit`, in milliseconds.
pub const RATE_LIMIT_WINDOW_MS: i64 = 60_000;

/// The result of an invitation: the `mailto:` links to open and what was
/// left out, with reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub links: Vec<String>,
    pub invited: Vec<String>,
    pub invalid: Vec<Rejected>,
    pub duplicates: Vec<Rejected>,
    pub registered: Vec<Registered>,
}

/// A status change and, when it approves a developer for the first time, the
/// approved email to send.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub developer: Developer,
    pub change: Change,
    pub approved_email: Option<String>,
}

pub struct Portal<S: Store> {
    settings: Settings,
    templates: Templates,
    store: S,
}

impl<S: Store> Portal<S> {
    pub fn new(settings: Settings, templates: Templates, store: S) -> Portal<S> {
        Portal {
            settings,
            templates,
            store,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&mut self) -> &mut S {
        &mut self.store
    }

    /// Registers a developer from the Portal API. The developer starts as
    /// requested, or approved when `portal_auto_approve` is on.
    ///
    /// `client_address` is the address the request came from. Once the body
    /// is valid, the registration counts against that address's
    /// `portal_register_rate_limit` before the credential is hashed, so a
    /// refused client costs no hashing. Malformed requests do not count.
    pub fn register(&mut self, fields: &Fields, client_address: &str) -> Result<Developer> {
        fields.deny_unknown(&["email", "password", "key", "meta"])?;
        let auth = self.settings.portal_auth.ok_or_else(|| {
            Error::disabled(
                "registration is closed: portal_auth is not set in kong.conf \
                 (accepted: basic-auth, key-auth, openid-connect)",
            )
        })?;
        let (status, by) = if self.settings.portal_auto_approve {
            (Status::Approved, "registration (portal_auto_approve = on)")
        } else {
            (Status::Requested, "registration")
        };
        identity(fields)?;
        read_secret(fields, auth)?;
        self.admit_registration(client_address, now_ms())?;
        let new = self.new_developer(fields, auth, status, Some(by.to_string()))?;
        let developer = self.store.insert(&new)?;
        log::info!(
            "developer {} registered as {}",
            developer.id,
            developer.status.label()
        );
        Ok(developer)
    }

    /// Counts one registration from `client_address` at `now_ms` (Unix time in
    /// milliseconds), or refuses it when the address already made
    /// `portal_register_rate_limit` registrations in the last 60 seconds.
    /// A limit of 0 admits every registration.
    pub fn admit_registration(&mut self, client_address: &str, now_ms: i64) -> Result<()> {
        let limit = self.settings.portal_register_rate_limit;
        if limit == 0 {
            return Ok(());
        }
        // Without an address every such client shares one budget, which errs
        // on the side of refusing.
        let address = match client_address.trim() {
            "" => "unknown",
            address => address,
        };
        let Some(wait_ms) = self
            .store
            .record_attempt(address, limit, RATE_LIMIT_WINDOW_MS, now_ms)?
        else {
            return Ok(());
        };
        let wait_secs = (wait_ms as u64).div_ceil(1000).max(1);
        log::warn!(
            "registration from {} refused: over portal_register_rate_limit = {limit} per minute",
            address.escape_debug()
        );
        Err(Error::rate_limited(
            format!(
                "too many registrations from {}: at most {limit} per minute \
                 (portal_register_rate_limit); retry in {wait_secs} seconds",
                address.escape_debug()
            ),
            wait_secs,
        ))
    }

    /// Rejects a Portal API request body of `length` bytes when it is over
    /// `portal_register_max_body`.
    pub fn check_body_size(&self, length: usize) -> Result<()> {
        let max = self.settings.portal_register_max_body;
        if length > max {
            return Err(Error::too_large(format!(
                "request body too large: {length} bytes (at most {max} bytes, \
                 set by portal_register_max_body)"
            )));
        }
        Ok(())
    }

    /// Creates a developer from the Admin API, as requested unless `status`
    /// names another status.
    pub fn create(&mut self, fields: &Fields, by: Option<&str>) -> Result<Developer> {
        fields.deny_unknown(&["email", "password", "key", "meta", "status"])?;
        let status = match fields.string("status")? {
            Some(text) => Status::parse(&text)?,
            None => Status::Requested,
        };
        let auth = self.settings.portal_auth;
        let new = match auth {
            Some(auth) => self.new_developer(fields, auth, status, by.map(str::to_owned))?,
            None => {
                if fields.get("password").is_some() || fields.get("key").is_some() {
                    return Err(Error::invalid(
                        "a credential was given but portal_auth is not set in kong.conf",
                    ));
                }
                let (email, full_name, meta) = identity(fields)?;
                NewDeveloper {
                    email,
                    full_name,
                    meta,
                    status,
                    credential: None,
                    by: by.map(str::to_owned),
                }
            }
        };
        let developer = self.store.insert(&new)?;
        log::info!("developer {} created as {}", developer.id, developer.status.label());
        Ok(developer)
    }

    pub fn get(&mut self, id_or_email: &str) -> Result<Developer> {
        self.store
            .find(id_or_email)?
            .ok_or_else(|| not_found(id_or_email))
    }

    /// Lists developers, newest first, from the `status`, `q`, `size` and
    /// `offset` query parameters.
    pub fn list(&mut self, query: &Fields) -> Result<Page> {
        query.deny_unknown(&["status", "q", "size", "offset"])?;
        let status = match query.string("status")? {
            Some(text) if !text.is_empty() => Some(Status::parse(&text)?),
            _ => None,
        };
        let search = match query.string("q")? {
            Some(text) if text.chars().count() > MAX_SEARCH => {
                return Err(Error::invalid(format!(
                    "q is too long: {} characters (at most {MAX_SEARCH})",
                    text.chars().count()
                )))
            }
            Some(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            _ => None,
        };
        let size = match query.string("size")? {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "invalid size '{}' (accepted: an integer from 1 to {MAX_PAGE_SIZE})",
                        text.escape_debug()
                    ))
                })?,
        };
        let after = match query.string("offset")? {
            None => None,
            Some(text) => Some(text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid offset '{}' (accepted: the offset value returned with \
                     the previous page)",
                    text.escape_debug()
                ))
            })?),
        };
        self.store.list(&ListQuery {
            status,
            search,
            size,
            after,
        })
    }

    pub fn counts(&mut self) -> Result<Counts> {
        self.store.counts()
    }

    /// Changes a developer's status from the `status` field, following the
    /// transition table.
    pub fn change_status(
        &mut self,
        id_or_email: &str,
        fields: &Fields,
        by: Option<&str>,
    ) -> Result<StatusChange> {
        fields.deny_unknown(&["status"])?;
        let target = Status::parse(&fields.required_string("status")?)?;
        let (developer, change) = self.store.change_status(id_or_email, target, by)?;
        let mut approved_email = None;
        if let Change::Moved(from, to) = change {
            log::info!(
                "developer {} moved from {} to {}",
                developer.id,
                from.label(),
                to.label()
            );
            // A developer re-approved after a revocation has used the portal
            // before, so only a first approval carries the approved email.
            if to == Status::Approved && from != Status::Revoked && self.settings.portal_approved_email
            {
                approved_email = Some(self.approved_link(&developer)?);
            }
        }
        Ok(StatusChange {
            developer,
            change,
            approved_email,
        })
    }

    pub fn delete(&mut self, id_or_email: &str) -> Result<Developer> {
        let developer = self.store.delete(id_or_email)?;
        log::info!("developer {} deleted", developer.id);
        Ok(developer)
    }

    pub fn history(&mut self, id_or_email: &str) -> Result<Vec<HistoryEntry>> {
        self.store.history(id_or_email)
    }

    /// Builds the invitation `mailto:` links for the addresses an admin typed,
    /// leaving out invalid, repeated and already registered ones.
    pub fn invite(&mut self, fields: &Fields) -> Result<Invitation> {
        fields.deny_unknown(&["emails"])?;
        if !self.settings.portal_invite_email {
            return Err(Error::disabled(
                "invitations are off: set portal_invite_email = on in kong.conf",
            ));
        }
        // A string is a pasted list to split; an array element is one address.
        let list = match fields.string_or_list("emails")? {
            None => mail::parse_invite_list("")?,
            Some(TextOrItems::Text(text)) => mail::parse_invite_list(&text)?,
            Some(TextOrItems::Items(entries)) => mail::parse_invite_entries(&entries)?,
        };
        if list.accepted.is_empty() && list.invalid.is_empty() && list.duplicates.is_empty() {
            return Err(Error::invalid(
                "emails is required: a comma-separated string or an array of addresses",
            ));
        }
        let keys: Vec<String> = list.accepted.iter().map(|e| email::key(e)).collect();
        let registered = self.store.registered(&keys)?;
        let invited: Vec<String> = list
            .accepted
            .into_iter()
            .filter(|e| !registered.iter().any(|r| email::key(&r.email) == email::key(e)))
            .collect();
        let links = if invited.is_empty() {
            Vec::new()
        } else {
            mail::invite_links(&invited, &self.settings.portal_url(), &self.templates)?
        };
        Ok(Invitation {
            links,
            invited,
            invalid: list.invalid,
            duplicates: list.duplicates,
            registered,
        })
    }

    /// Returns the approved email link of each approved developer in a list,
    /// so a page of developers needs no request per row. Others, and all
    /// when `portal_approved_email` is off or a link cannot be built, get
    /// `None`.
    pub fn approved_emails(&self, developers: &[Developer]) -> Vec<Option<String>> {
        developers
            .iter()
            .map(|d| {
                let eligible = self.settings.portal_approved_email && d.status == Status::Approved;
                eligible.then(|| self.approved_link(d).ok()).flatten()
            })
            .collect()
    }

    /// Builds the approved email for an approved developer.
    pub fn approved_email(&mut self, id_or_email: &str) -> Result<String> {
        if !self.settings.portal_approved_email {
            return Err(Error::disabled(
                "approved emails are off: set portal_approved_email = on in kong.conf",
            ));
        }
        let developer = self.get(id_or_email)?;
        if developer.status != Status::Approved {
            return Err(Error::conflict(format!(
                "'{}' is {}: only approved developers get the approved email",
                developer.email,
                developer.status.label()
            )));
        }
        self.approved_link(&developer)
    }

    /// Checks a developer's login. Wrong credentials and a status other than
    /// approved are both refused; the second names the status and what to do.
    pub fn login(&mut self, fields: &Fields) -> Result<Developer> {
        fields.deny_unknown(&["email", "password", "key"])?;
        let (_, secret_field) = self.credential_kind()?;
        let email = fields.required_string("email")?;
        let secret = fields.required_string(secret_field)?;
        let developer = self.authenticate(&email, &secret)?;
        match developer.status {
            Status::Approved => Ok(developer),
            Status::Requested => Err(Error::unauthorized(
                "your registration is awaiting approval by an administrator; \
                 you can log in once it is approved",
            )),
            Status::Rejected => Err(Error::unauthorized(
                "your registration was rejected; contact the portal's administrators \
                 if you think this is a mistake",
            )),
            Status::Revoked => Err(Error::unauthorized(
                "your access has been revoked; contact the portal's administrators \
                 to have it restored",
            )),
        }
    }

    /// Issues an API key for the developer named by an `Authorization: Basic`
    /// header (email and password, or email and portal key). Only approved
    /// developers get one; others are refused with the gateway's message.
    /// The key is the one in the `key` field, or a random one.
    pub fn new_api_key(&mut self, authorization: &str, fields: &Fields) -> Result<(Developer, String)> {
        fields.deny_unknown(&["key"])?;
        let (email, secret) = basic_credentials(authorization)?;
        let developer = self.authenticate(&email, &secret)?;
        if let Some(message) = crate::gateway::refusal_message(developer.status.code()) {
            return Err(Error::unauthorized(message));
        }
        let key = match fields.string("key")? {
            Some(key) => {
                check_secret("key", &key, true)?;
                key
            }
            None => random_key(),
        };
        Ok((developer, key))
    }

    /// Returns the auth plugin name and the field that carries its secret.
    fn credential_kind(&self) -> Result<(&'static str, &'static str)> {
        match self.settings.portal_auth {
            None => Err(Error::disabled("login is closed: portal_auth is not set in kong.conf")),
            Some(PortalAuth::BasicAuth) => Ok(("basic-auth", "password")),
            Some(PortalAuth::KeyAuth) => Ok(("key-auth", "key")),
            Some(PortalAuth::OpenIdConnect) => Err(Error::disabled(
                "login with portal_auth = openid-connect goes through the identity provider",
            )),
        }
    }

    /// Finds the developer whose stored credential matches, whatever its
    /// status. Unknown emails and wrong secrets get the same error.
    fn authenticate(&mut self, email: &str, secret: &str) -> Result<Developer> {
        let (auth_name, _) = self.credential_kind()?;
        let wrong = || Error::unauthorized("invalid email or credentials");
        let Some(developer) = self.store.find(email.trim())? else {
            // Hash anyway, so the response takes as long as for a known email.
            let _ = secret::hash(secret);
            return Err(wrong());
        };
        let stored = self.store.credential(&developer.id, auth_name)?;
        if !stored.is_some_and(|c| secret::verify(secret, &c.secret_hash)) {
            return Err(wrong());
        }
        Ok(developer)
    }

    fn approved_link(&self, developer: &Developer) -> Result<String> {
        let name = Some(developer.full_name.as_str()).filter(|n| !n.is_empty());
        mail::approved_link(&developer.email, name, &self.settings.portal_url(), &self.templates)
    }

    fn new_developer(
        &self,
        fields: &Fields,
        auth: PortalAuth,
        status: Status,
        by: Option<String>,
    ) -> Result<NewDeveloper> {
        let (email, full_name, meta) = identity(fields)?;
        let credential = credential(fields, auth)?;
        Ok(NewDeveloper {
            email,
            full_name,
            meta,
            status,
            credential,
            by,
        })
    }
}

/// Reads and validates the email and `meta` (with its required `full_name`).
fn identity(fields: &Fields) -> Result<(String, String, Map<String, Value>)> {
    let email = email::check("email", &fields.required_string("email")?)?;
    let meta = fields
        .object("meta")?
        .ok_or_else(|| Error::invalid("meta is required: a JSON object with full_name"))?;
    if meta.len() > MAX_META_KEYS {
        return Err(Error::invalid(format!(
            "meta has {} keys (at most {MAX_META_KEYS})",
            meta.len()
        )));
    }
    for (key, value) in &meta {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(Error::invalid(format!(
                    "meta.{} must be a string, number or boolean",
                    key.escape_debug()
                )))
            }
        };
        if text.chars().count() > MAX_META_VALUE {
            return Err(Error::invalid(format!(
                "meta.{} is too long: {} characters (at most {MAX_META_VALUE})",
                key.escape_debug(),
                text.chars().count()
            )));
        }
    }
    let full_name = match meta.get("full_name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        Some(Value::String(_)) | None => {
            return Err(Error::invalid("meta.full_name is required and must not be blank"))
        }
        Some(_) => return Err(Error::invalid("meta.full_name must be a string")),
    };
    if full_name.chars().count() > MAX_FULL_NAME {
        return Err(Error::invalid(format!(
            "meta.full_name is too long: {} characters (at most {MAX_FULL_NAME})",
            full_name.chars().count()
        )));
    }
    if full_name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "meta.full_name '{}' contains control characters such as line breaks",
            full_name.escape_debug()
        )));
    }
    Ok((email, full_name, meta))
}

/// Reads the credential that `portal_auth` requires and hashes it.
fn credential(fields: &Fields, auth: PortalAuth) -> Result<Option<StoredCredential>> {
    let Some(secret) = read_secret(fields, auth)? else {
        return Ok(None);
    };
    Ok(Some(StoredCredential {
        auth: auth.as_str().to_owned(),
        secret_hash: secret::hash(&secret)?,
    }))
}

/// Reads and checks the secret that `portal_auth` requires: `None` for
/// openid-connect, which takes no secret.
fn read_secret(fields: &Fields, auth: PortalAuth) -> Result<Option<String>> {
    let (wanted, other) = match auth {
        PortalAuth::BasicAuth => ("password", "key"),
        PortalAuth::KeyAuth => ("key", "password"),
        PortalAuth::OpenIdConnect => {
            for field in ["password", "key"] {
                if fields.get(field).is_some() {
                    return Err(Error::invalid(format!(
                        "{field} is not used when portal_auth = openid-connect"
                    )));
                }
            }
            return Ok(None);
        }
    };
    if fields.get(other).is_some() {
        return Err(Error::invalid(format!(
            "{other} is not used when portal_auth = {}; send {wanted}",
            auth.as_str()
        )));
    }
    let secret = fields.string(wanted)?.unwrap_or_default();
    check_secret(wanted, &secret, auth == PortalAuth::KeyAuth)?;
    Ok(Some(secret))
}

/// Checks a password or key: its length, and no control characters (nor,
/// for keys, whitespace, which headers and query strings would mangle).
fn check_secret(field: &str, secret: &str, is_key: bool) -> Result<()> {
    let length = secret.chars().count();
    if !SECRET_LENGTH.contains(&length) {
        return Err(Error::invalid(format!(
            "{field} must be {} to {} characters long, got {length}",
            SECRET_LENGTH.start(),
            SECRET_LENGTH.end()
        )));
    }
    if secret.chars().any(char::is_control) || (is_key && secret.chars().any(char::is_whitespace)) {
        return Err(Error::invalid(format!(
            "{field} contains whitespace or control characters"
        )));
    }
    Ok(())
}

/// Reads `Basic base64(email:secret)` (RFC 7617).
fn basic_credentials(header: &str) -> Result<(String, String)> {
    use base64::Engine;

    let missing = || {
        Error::unauthorized(
            "send your portal email and password (or portal key) as \
             'Authorization: Basic base64(email:password)'",
        )
    };
    let encoded = header
        .trim()
        .strip_prefix("Basic ")
        .or_else(|| header.trim().strip_prefix("basic "))
        .ok_or_else(missing)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| missing())?;
    let text = String::from_utf8(decoded).map_err(|_| missing())?;
    let (email, secret) = text.split_once(':').ok_or_else(missing)?;
    Ok((email.to_owned(), secret.to_owned()))
}

/// Returns 32 random hexadecimal characters (128 bits), as Kong's key-auth
/// generates when no key is given.
fn random_key() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn not_found(id_or_email: &str) -> Error {
    Error::not_found(format!(
        "no developer with id or email '{}'",
        crate::email::echo(id_or_email)
    ))
}

#[cfg(test)]
#[path = "portal_tests.rs"]
mod tests;
