//! Typed parsing of single property values, with the error messages that name
//! the property, the value, where it came from and what is accepted.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::parse::printable;
use super::PortalAuth;
use crate::error::{Error, Result};

/// Source of a raw value, named in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    File { name: String, line: usize },
    Environment { variable: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { name, line } => write!(f, "at {name}:{line}"),
            Origin::Environment { variable } => write!(f, "in environment variable {variable}"),
        }
    }
}

/// A set property value before typing: trimmed, never empty and never `NONE`.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub key: &'static str,
    pub value: String,
    pub origin: Origin,
}

impl Raw {
    /// Builds the config error `<key>: invalid <kind> '<value>' <origin> (accepted: <accepted>)`.
    fn invalid(&self, kind: &str, accepted: &str) -> Error {
        Error::config(format!(
            "{}: invalid {} '{}' {} (accepted: {})",
            self.key,
            kind,
            printable(&self.value),
            self.origin,
            accepted
        ))
    }
}

/// Parses `on`, `off`, `true` or `false` in any letter case.
///
/// Kong reads any other word as false. This plugin rejects it, because a typo
/// such as `yes` would otherwise switch a feature off without notice.
pub(crate) fn boolean(raw: &Raw) -> Result<bool> {
    match raw.value.to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(raw.invalid("boolean", "on, off, true, false")),
    }
}

/// Parses a decimal whole number in `min..=max`. Signs, fractions and
/// exponents are rejected.
pub(crate) fn whole_number(raw: &Raw, min: u64, max: u64, accepted: &str) -> Result<u64> {
    let digits_only = !raw.value.is_empty() && raw.value.bytes().all(|b| b.is_ascii_digit());
    let number = if digits_only {
        raw.value.parse::<u64>().ok()
    } else {
        None
    };
    match number {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(raw.invalid("number", accepted)),
    }
}

pub(crate) fn portal_auth(raw: &Raw) -> Result<PortalAuth> {
    PortalAuth::ALL
        .into_iter()
        .find(|auth| auth.as_str() == raw.value)
        .ok_or_else(|| raw.invalid("value", "basic-auth, key-auth, openid-connect"))
}

/// Decodes a JSON object. In a file, every `#` of the JSON text must be
/// written `\#`, because an unescaped `#` starts a comment.
pub(crate) fn json_object(raw: &Raw) -> Result<Map<String, Value>> {
    let accepted = match raw.origin {
        Origin::File { .. } => "a JSON object, with each # written as \\#",
        Origin::Environment { .. } => "a JSON object",
    };
    let detail = match serde_json::from_str::<Value>(&raw.value) {
        Ok(Value::Object(map)) => return Ok(map),
        Ok(other) => format!("expected an object, found {}", json_kind(&other)),
        Err(err) => err.to_string(),
    };
    Err(Error::config(format!(
        "{}: invalid JSON object '{}' {} (accepted: {}): {}",
        raw.key,
        printable(&raw.value),
        raw.origin,
        accepted,
        detail
    )))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses `http` or `https` in any letter case and returns it in lower case.
pub(crate) fn protocol(raw: &Raw) -> Result<String> {
    let lower = raw.value.to_ascii_lowercase();
    match lower.as_str() {
        "http" | "https" => Ok(lower),
        _ => Err(raw.invalid("value", "http, https")),
    }
}

/// Checks a host or `host:port` with no scheme, path or whitespace.
pub(crate) fn host(raw: &Raw) -> Result<String> {
    if is_host_port(&raw.value) {
        Ok(raw.value.clone())
    } else {
        Err(raw.invalid(
            "value",
            "a host name or IP address with an optional :port, without scheme or path",
        ))
    }
}

/// Checks `<scheme>://<host>(:<port>)(/<path>)` with scheme http or https.
/// A query or fragment is rejected, because the plugin appends paths such as
/// `/register` to this URL.
pub(crate) fn url(raw: &Raw) -> Result<String> {
    let accepted = "<scheme>://<host>(:<port>)(/<path>) with scheme http or https";
    let value = raw.value.as_str();
    let rest = value
        .split_once("://")
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        })
        .map(|(_, rest)| rest)
        .ok_or_else(|| raw.invalid("URL", accepted))?;
    let (authority, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, ""),
    };
    let path_ok = path
        .chars()
        .all(|c| !c.is_whitespace() && !c.is_control() && c != '?' && c != '#');
    if is_host_port(authority) && path_ok {
        Ok(value.to_string())
    } else {
        Err(raw.invalid("URL", accepted))
    }
}

/// Checks an email address or `Name <address>`. Control characters are
/// rejected, because a CR or LF would start a new mail header.
pub(crate) fn mailbox(raw: &Raw) -> Result<String> {
    if is_mailbox(&raw.value) {
        Ok(raw.value.clone())
    } else {
        Err(raw.invalid(
            "value",
            "an email address or Name <address>, without control characters",
        ))
    }
}

/// Accepts any path without control characters.
pub(crate) fn path(raw: &Raw) -> Result<PathBuf> {
    if raw.value.chars().any(char::is_control) {
        Err(raw.invalid("value", "a file path without control characters"))
    } else {
        Ok(PathBuf::from(&raw.value))
    }
}

fn is_mailbox(value: &str) -> bool {
    if value.chars().any(char::is_control) {
        return false;
    }
    match value.find('<') {
        None => is_address(value),
        Some(open) => {
            let name = &value[..open];
            let Some(address) = value[open + 1..].strip_suffix('>') else {
                return false;
            };
            !name.contains('>') && is_address(address)
        }
    }
}

/// Checks `local@domain` loosely: one `@`, both sides non-empty, and none of
/// the characters that separate or enclose addresses in a header.
fn is_address(address: &str) -> bool {
    let forbidden = |c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"');
    if address.chars().any(forbidden) {
        return false;
    }
    match address.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

/// Checks `host`, `host:port`, `[ipv6]` or `[ipv6]:port`.
fn is_host_port(value: &str) -> bool {
    let (host_ok, port) = if let Some(bracketed) = value.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return false;
        };
        let inside_ok = !inside.is_empty()
            && inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        };
        (inside_ok, port)
    } else {
        let (name, port) = match value.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value, None),
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        (name_ok, port)
    };
    host_ok && port.is_none_or(is_port)
}

fn is_port(port: &str) -> bool {
    !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && matches!(port.parse::<u32>(), Ok(1..=65535))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(key: &'static str, value: &str) -> Raw {
        Raw {
            key,
            value: value.to_string(),
            origin: Origin::File {
                name: "kong.conf".to_string(),
                line: 7,
            },
        }
    }

    #[test]
    fn boolean_accepts_any_letter_case() {
        for (text, expected) in [
            ("on", true),
            ("ON", true),
            ("True", true),
            ("off", false),
            ("OFF", false),
            ("fAlSe", false),
        ] {
            assert_eq!(
                boolean(&from_file("portal_auto_approve", text)).unwrap(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn host_forms_are_checked() {
        for good in [
            "127.0.0.1:8003",
            "portal.example.com",
            "localhost:1",
            "[::1]:8003",
            "[fe80::1]",
            "my_host:65535",
        ] {
            assert!(is_host_port(good), "{good} should be accepted");
        }
        for bad in [
            "",
            "http://x",
            "x/y",
            "x:",
            "x:0",
            "x:65536",
            "x:80a",
            "a b",
            "[::1",
            "[::1]8003",
            "[]",
            ":80",
            "x:80:90",
        ] {
            assert!(!is_host_port(bad), "{bad} should be rejected");
        }
    }

    #[test]
    fn mailbox_forms_are_checked() {
        for good in [
            "dev@example.com",
            "Portal Team <portal@example.com>",
            "\"Doe, J\" <j@x.io>",
            "<a@b>",
        ] {
            assert!(is_mailbox(good), "{good} should be accepted");
        }
        for bad in [
            "example.com",
            "a@b\r\nBcc: c@d",
            "a@b\tc",
            "Name <a@b",
            "Name a@b>",
            "a@@b",
            "@b",
            "a@",
            "a@b, c@d",
            "N <a b@c>",
            "N <a@b> x",
        ] {
            assert!(!is_mailbox(bad), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn url_forms_are_checked() {
        for good in [
            "http://127.0.0.1:8003",
            "https://portal.example.com",
            "http://dev-machine/dev-285",
            "HTTPS://x/",
            "http://[::1]:8003/a/b",
        ] {
            assert!(
                url(&from_file("portal_gui_url", good)).is_ok(),
                "{good} should be accepted"
            );
        }
        for bad in [
            "portal.example.com",
            "ftp://x",
            "http://",
            "http:///x",
            "http://x:0",
            "http://x/a b",
            "http://x/?q=1",
            "http//x",
        ] {
            assert!(
                url(&from_file("portal_gui_url", bad)).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn whole_number_rejects_signs_and_fractions() {
        for bad in [
            "+5",
            "-5",
            "5.0",
            "1e3",
            "0x10",
            " 5",
            "99999999999999999999999",
        ] {
            assert!(
                whole_number(&from_file("portal_token_exp", bad), 1, u64::MAX, "x").is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            whole_number(&from_file("portal_token_exp", "0042"), 1, u64::MAX, "x").unwrap(),
            42
        );
    }
}
