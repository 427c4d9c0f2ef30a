//! Reading the plugin's settings from kong.conf and `KONG_*` environment
//! variables, with Kong's precedence: defaults, then the file, then the
//! environment.
//!
//! Most properties are the Kong Enterprise Developer Portal ones (EE 0.33 to
//! 2.x), read with the same names and defaults. `developer_portal_db`,
//! `portal_register_max_body` and `portal_register_rate_limit` belong to this
//! plugin only.
//!
//! A value that is empty or `NONE` leaves the property at its default. Kong's
//! own loader drops keys it does not know, so this plugin reads kong.conf
//! itself instead of relying on `kong.configuration`.

pub mod parse;
mod values;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use self::parse::ConfFile;
use self::values::{Origin, Raw};
use crate::error::{Error, Result};

/// Paths Kong tries, in order, when no kong.conf is given.
pub const DEFAULT_PATHS: [&str; 2] = ["/etc/kong/kong.conf", "/etc/kong.conf"];

/// File name of the developer store under `prefix` when `developer_portal_db`
/// is unset.
pub const DEFAULT_STORE_FILE: &str = "developer_portal.db";

/// Authentication plugin that protects the portal (`portal_auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalAuth {
    BasicAuth,
    KeyAuth,
    OpenIdConnect,
}

impl PortalAuth {
    pub const ALL: [PortalAuth; 3] = [
        PortalAuth::BasicAuth,
        PortalAuth::KeyAuth,
        PortalAuth::OpenIdConnect,
    ];

    /// Returns the Kong plugin name, as written in kong.conf.
    pub fn as_str(self) -> &'static str {
        match self {
            PortalAuth::BasicAuth => "basic-auth",
            PortalAuth::KeyAuth => "key-auth",
            PortalAuth::OpenIdConnect => "openid-connect",
        }
    }
}

/// The typed kong.conf properties this plugin reads. `Default` gives the
/// documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Authentication plugin that developers use to register and log in.
    pub portal_auth: Option<PortalAuth>,
    /// Configuration object for the `portal_auth` plugin. It is checked even
    /// when `portal_auth` is unset, so a broken value fails at start-up.
    pub portal_auth_conf: Option<Map<String, Value>>,
    /// Whether a developer is approved as soon as registration completes.
    pub portal_auto_approve: bool,
    /// Lifetime of reset-password and verification tokens, in seconds.
    pub portal_token_exp: u64,
    /// Scheme of the portal URL: `http` or `https`.
    pub portal_gui_protocol: String,
    /// Host, with an optional port, of the portal URL.
    pub portal_gui_host: String,
    /// Full portal URL, which replaces protocol and host when set.
    pub portal_gui_url: Option<String>,
    /// `From` header of portal emails.
    pub portal_emails_from: Option<String>,
    /// `Reply-To` header of portal emails.
    pub portal_emails_reply_to: Option<String>,
    /// Whether invited developers get an email.
    pub portal_invite_email: bool,
    /// Whether approved developers get an email.
    pub portal_approved_email: bool,
    /// Kong's working directory.
    ///
    /// NOTE: a relative prefix is kept as written. Kong makes it absolute
    /// against the working directory of the `kong` command.
    pub prefix: PathBuf,
    /// SQLite file of the developer store. A relative path is resolved under
    /// `prefix`.
    pub developer_portal_db: Option<PathBuf>,
    /// Largest Portal API request body accepted, in bytes.
    pub portal_register_max_body: usize,
    /// Registrations accepted per minute from one client address, where 0
    /// means no limit.
    pub portal_register_rate_limit: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            portal_auth: None,
            portal_auth_conf: None,
            portal_auto_approve: false,
            portal_token_exp: 21600,
            portal_gui_protocol: "http".to_string(),
            portal_gui_host: "127.0.0.1:8003".to_string(),
            portal_gui_url: None,
            portal_emails_from: None,
            portal_emails_reply_to: None,
            portal_invite_email: true,
            portal_approved_email: true,
            prefix: PathBuf::from("/usr/local/kong/"),
            developer_portal_db: None,
            portal_register_max_body: 16384,
            portal_register_rate_limit: 10,
        }
    }
}

impl Settings {
    /// Returns the portal's base URL without a trailing `/`: `portal_gui_url`
    /// when set, else `<portal_gui_protocol>://<portal_gui_host>`.
    pub fn portal_url(&self) -> String {
        match &self.portal_gui_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("{}://{}", self.portal_gui_protocol, self.portal_gui_host),
        }
    }

    /// Returns the developer store file: `developer_portal_db`, resolved under
    /// `prefix` when relative, or `<prefix>/developer_portal.db` when unset.
    pub fn store_path(&self) -> PathBuf {
        match &self.developer_portal_db {
            Some(path) => self.prefix.join(path),
            None => self.prefix.join(DEFAULT_STORE_FILE),
        }
    }
}

/// Settings with the file they were read from and any warnings for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub settings: Settings,
    /// The kong.conf that was read, or `None` when defaults and environment
    /// were used alone.
    pub path: Option<PathBuf>,
    /// Problems that do not stop start-up, such as a misspelled property.
    pub warnings: Vec<String>,
}

/// Finds and reads kong.conf, then applies the environment on top of it.
///
/// An explicit path must exist, or the call fails with `no file at: <path>`.
/// Without one, Kong's default paths are tried in order: /etc/kong/kong.conf,
/// then /etc/kong.conf. When neither exists, the settings come from defaults
/// and the environment alone, and a warning reports that no file was found.
///
/// `env` returns the value of an environment variable. Production code
/// passes `|k| std::env::var(k).ok()`.
pub fn load(explicit: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded> {
    let defaults: Vec<&Path> = DEFAULT_PATHS.iter().map(Path::new).collect();
    load_with_defaults(explicit, &defaults, env)
}

/// Parses kong.conf text and applies the environment on top of it.
/// `file_name` is used in error messages.
pub fn from_str(
    text: &str,
    file_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings> {
    let conf = parse::read(text, file_name)?;
    let (settings, _warnings) = resolve(Some(&conf), env)?;
    Ok(settings)
}

fn load_with_defaults(
    explicit: Option<&Path>,
    default_paths: &[&Path],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded> {
    let path = match explicit {
        Some(path) if !path.exists() => {
            return Err(Error::config(format!("no file at: {}", path.display())));
        }
        Some(path) => Some(path.to_path_buf()),
        None => default_paths
            .iter()
            .find(|path| path.exists())
            .map(|path| path.to_path_buf()),
    };

    let Some(path) = path else {
        let (settings, mut warnings) = resolve(None, env)?;
        let tried: Vec<String> = default_paths
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        warnings.insert(
            0,
            format!(
                "no kong.conf found at {}; using defaults and KONG_* environment variables",
                tried.join(" or ")
            ),
        );
        return Ok(Loaded {
            settings,
            path: None,
            warnings,
        });
    };

    let text = std::fs::read_to_string(&path)
        .map_err(|err| Error::config(format!("failed to read {}: {}", path.display(), err)))?;
    let conf = parse::read(&text, &path.display().to_string())?;
    let (settings, warnings) = resolve(Some(&conf), env)?;
    Ok(Loaded {
        settings,
        path: Some(path),
        warnings,
    })
}

/// Keys that people write for a property Kong spells differently, with the
/// spelling that is read.
const MISSPELLINGS: [(&str, &str); 6] = [
    ("portal_auth_config", "portal_auth_conf"),
    ("portal_auth_configuration", "portal_auth_conf"),
    ("portal_token_expiration", "portal_token_exp"),
    ("portal_email_from", "portal_emails_from"),
    ("portal_email_reply_to", "portal_emails_reply_to"),
    ("portal_auto_approval", "portal_auto_approve"),
];

/// The properties this plugin reads, for near-miss warnings.
const READ_PROPERTIES: [&str; 15] = [
    "portal_auth",
    "portal_auth_conf",
    "portal_auto_approve",
    "portal_token_exp",
    "portal_gui_protocol",
    "portal_gui_host",
    "portal_gui_url",
    "portal_emails_from",
    "portal_emails_reply_to",
    "portal_invite_email",
    "portal_approved_email",
    "prefix",
    "developer_portal_db",
    "portal_register_max_body",
    "portal_register_rate_limit",
];

/// Kong Enterprise's other portal properties: near misses of ours that are
/// really these are left alone.
const KONG_PORTAL_PROPERTIES: [&str; 26] = [
    "portal",
    "portal_is_legacy",
    "portal_gui_listen",
    "portal_gui_use_subdomains",
    "portal_gui_ssl_cert",
    "portal_gui_ssl_cert_key",
    "portal_gui_access_log",
    "portal_gui_error_log",
    "portal_cors_origins",
    "portal_api_listen",
    "portal_api_url",
    "portal_api_ssl_cert",
    "portal_api_ssl_cert_key",
    "portal_api_access_log",
    "portal_api_error_log",
    "portal_app_auth",
    "portal_auth_password_complexity",
    "portal_auth_login_attempts",
    "portal_session_conf",
    "portal_email_verification",
    "portal_access_request_email",
    "portal_reset_email",
    "portal_reset_success_email",
    "portal_smtp_admin_emails",
    "portal_application_status_email",
    "portal_application_request_email",
];

/// Returns the Levenshtein distance between two short ASCII names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// Warns about keys one or two letters away from a property this plugin
/// reads, such as `portal_auto_aprove`: Kong would drop them silently.
fn near_miss_warnings(conf: &ConfFile) -> Vec<String> {
    let mut warnings = Vec::new();
    for (key, entry) in conf.iter() {
        if READ_PROPERTIES.contains(&key)
            || KONG_PORTAL_PROPERTIES.contains(&key)
            || MISSPELLINGS.iter().any(|(wrong, _)| *wrong == key)
        {
            continue;
        }
        let closest = READ_PROPERTIES
            .iter()
            .map(|known| (edit_distance(key, known), *known))
            .min();
        if let Some((1..=2, known)) = closest {
            warnings.push(format!(
                "{key} at {}:{} is not a property this plugin reads (did you mean {known}?); \
                 it is ignored",
                conf.file_name(),
                entry.line
            ));
        }
    }
    warnings
}

/// Property source for [`resolve`]: the parsed file, if any, and the
/// environment.
struct Lookup<'a> {
    conf: Option<&'a ConfFile>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Lookup<'_> {
    /// Returns the raw value of `key`, from a non-empty `KONG_<KEY>` variable
    /// if there is one, else from the file. Returns `None` when the value is
    /// missing, empty or `NONE`, so the property keeps its default.
    ///
    /// NOTE: Kong applies an empty variable, which unsets the property (and
    /// turns a boolean off). This reader ignores an empty variable instead,
    /// and `NONE` is the way to unset a property from the environment.
    fn raw(&self, key: &'static str) -> Option<Raw> {
        let variable = env_name(key);
        let from_env = (self.env)(&variable)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty());

        let (value, origin) = match from_env {
            Some(value) => (value, Origin::Environment { variable }),
            None => {
                let conf = self.conf?;
                let entry = conf.get(key)?;
                let origin = Origin::File {
                    name: conf.file_name().to_string(),
                    line: entry.line,
                };
                (entry.value.clone(), origin)
            }
        };

        if value.is_empty() || value == "NONE" {
            return None;
        }
        Some(Raw { key, value, origin })
    }

    fn get<T>(
        &self,
        key: &'static str,
        default: T,
        parse: impl Fn(&Raw) -> Result<T>,
    ) -> Result<T> {
        match self.raw(key) {
            Some(raw) => parse(&raw),
            None => Ok(default),
        }
    }

    fn optional<T>(
        &self,
        key: &'static str,
        parse: impl Fn(&Raw) -> Result<T>,
    ) -> Result<Option<T>> {
        self.raw(key).map(|raw| parse(&raw)).transpose()
    }
}

fn env_name(key: &str) -> String {
    format!("KONG_{}", key.to_ascii_uppercase())
}

/// Builds the settings from an optional parsed file and the environment, and
/// collects warnings.
fn resolve(
    conf: Option<&ConfFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Settings, Vec<String>)> {
    let lookup = Lookup { conf, env };
    let defaults = Settings::default();

    let settings = Settings {
        portal_auth: lookup.optional("portal_auth", values::portal_auth)?,
        portal_auth_conf: lookup.optional("portal_auth_conf", values::json_object)?,
        portal_auto_approve: lookup.get(
            "portal_auto_approve",
            defaults.portal_auto_approve,
            values::boolean,
        )?,
        portal_token_exp: lookup.get("portal_token_exp", defaults.portal_token_exp, |raw| {
            values::whole_number(raw, 1, u64::MAX, "a positive whole number of seconds")
        })?,
        portal_gui_protocol: lookup.get(
            "portal_gui_protocol",
            defaults.portal_gui_protocol,
            values::protocol,
        )?,
        portal_gui_host: lookup.get("portal_gui_host", defaults.portal_gui_host, values::host)?,
        portal_gui_url: lookup.optional("portal_gui_url", values::url)?,
        portal_emails_from: lookup.optional("portal_emails_from", values::mailbox)?,
        portal_emails_reply_to: lookup.optional("portal_emails_reply_to", values::mailbox)?,
        portal_invite_email: lookup.get(
            "portal_invite_email",
            defaults.portal_invite_email,
            values::boolean,
        )?,
        portal_approved_email: lookup.get(
            "portal_approved_email",
            defaults.portal_approved_email,
            values::boolean,
        )?,
        prefix: lookup.get("prefix", defaults.prefix, values::path)?,
        developer_portal_db: lookup.optional("developer_portal_db", values::path)?,
        portal_register_max_body: lookup.get(
            "portal_register_max_body",
            defaults.portal_register_max_body,
            |raw| {
                values::whole_number(
                    raw,
                    1024,
                    1_048_576,
                    "a whole number of bytes from 1024 to 1048576",
                )
                .map(|n| n as usize)
            },
        )?,
        portal_register_rate_limit: lookup.get(
            "portal_register_rate_limit",
            defaults.portal_register_rate_limit,
            |raw| {
                values::whole_number(
                    raw,
                    0,
                    u64::from(u32::MAX),
                    "a whole number of registrations per minute, 0 for no limit",
                )
                .map(|n| n as u32)
            },
        )?,
    };

    let mut warnings = misspelling_warnings(conf, env);
    if let Some(conf) = conf {
        warnings.extend(near_miss_warnings(conf));
    }
    if settings.portal_auth_conf.is_some() && settings.portal_auth.is_none() {
        warnings.push(
            "portal_auth_conf is set but portal_auth is not, so portal_auth_conf has no effect"
                .to_string(),
        );
    }
    Ok((settings, warnings))
}

fn misspelling_warnings(
    conf: Option<&ConfFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (wrong, right) in MISSPELLINGS {
        if let Some(conf) = conf {
            if let Some(entry) = conf.get(wrong) {
                warnings.push(format!(
                    "{wrong} at {}:{} is ignored: the property is spelled {right}",
                    conf.file_name(),
                    entry.line
                ));
            }
        }
        let variable = env_name(wrong);
        if env(&variable).is_some_and(|value| !value.trim().is_empty()) {
            warnings.push(format!(
                "environment variable {variable} is ignored: the variable is spelled {}",
                env_name(right)
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod near_miss_tests {
    use super::*;

    fn warnings_for(text: &str) -> Vec<String> {
        let conf = parse::read(text, "kong.conf").unwrap();
        near_miss_warnings(&conf)
    }

    #[test]
    fn near_miss_of_a_property_is_named() {
        assert_eq!(
            warnings_for("portal_auto_aprove = on\n"),
            vec!["portal_auto_aprove at kong.conf:1 is not a property this plugin reads \
                  (did you mean portal_auto_approve?); it is ignored"
                .to_owned()]
        );
    }

    #[test]
    fn kong_properties_and_far_keys_are_left_alone() {
        assert!(warnings_for("portal_gui_listen = 0.0.0.0:8003\nportal = on\n").is_empty());
        assert!(warnings_for("pg_password = secret\nlog_level = debug\n").is_empty());
        assert!(warnings_for("portal_auth = basic-auth\n").is_empty());
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("prefix", "prefix"), 0);
        assert_eq!(edit_distance("prefx", "prefix"), 1);
        assert_eq!(edit_distance("portal_auht", "portal_auth"), 2);
    }
}
