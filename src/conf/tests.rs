use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::error::ErrorKind;

const OSS_DEFAULT: &str = include_str!("../../spec/fixtures/kong.conf.default.oss");
const EE_033: &str = include_str!("../../spec/fixtures/ee-0.33-portal-sections.conf");
const EE_034: &str = include_str!("../../spec/fixtures/ee-0.34-portal-sections.conf");
const PLUGIN_DEFAULT: &str = include_str!("../../kong.conf.default");

fn no_env(_: &str) -> Option<String> {
    None
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |key| map.get(key).cloned()
}

fn settings(text: &str) -> Settings {
    from_str(text, "kong.conf", &no_env).expect("settings parse")
}

fn error_of(text: &str) -> String {
    let err = from_str(text, "kong.conf", &no_env).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    err.message
}

fn env_error_of(pairs: &[(&str, &str)]) -> String {
    let err = from_str("", "kong.conf", &env_of(pairs)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    err.message
}

/// Removes the `#` in front of every `#key = value` line that starts at
/// column 0, which turns each documented default into a real setting.
fn uncomment_defaults(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let is_property = line.strip_prefix('#').is_some_and(|rest| {
            let key = rest.split('=').next().unwrap_or("").trim_end();
            rest.contains('=')
                && rest.starts_with(|c: char| c.is_ascii_lowercase())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        out.push_str(if is_property { &line[1..] } else { line });
        out.push('\n');
    }
    out
}

// Defaults and typed values.

#[test]
fn default_settings_match_documented_defaults() {
    let defaults = Settings::default();
    assert_eq!(defaults.portal_auth, None);
    assert_eq!(defaults.portal_auth_conf, None);
    assert!(!defaults.portal_auto_approve);
    assert_eq!(defaults.portal_token_exp, 21600);
    assert_eq!(defaults.portal_gui_protocol, "http");
    assert_eq!(defaults.portal_gui_host, "127.0.0.1:8003");
    assert_eq!(defaults.portal_gui_url, None);
    assert_eq!(defaults.portal_emails_from, None);
    assert_eq!(defaults.portal_emails_reply_to, None);
    assert!(defaults.portal_invite_email);
    assert!(defaults.portal_approved_email);
    assert_eq!(defaults.prefix, PathBuf::from("/usr/local/kong/"));
    assert_eq!(defaults.developer_portal_db, None);
    assert_eq!(defaults.portal_register_max_body, 16384);
    assert_eq!(defaults.portal_register_rate_limit, 10);
}

#[test]
fn empty_text_yields_defaults() {
    assert_eq!(settings(""), Settings::default());
}

#[test]
fn every_property_is_read_from_file() {
    let text = "\
portal_auth = openid-connect
portal_auth_conf = { \"hide_credentials\": true, \"issuer\": \"https://id.example.com\" }
portal_auto_approve = on
portal_token_exp = 3600
portal_gui_protocol = https
portal_gui_host = developers.example.com:8443
portal_gui_url = https://example.com/portal/
portal_emails_from = API Team <api@example.com>
portal_emails_reply_to = support@example.com
portal_invite_email = off
portal_approved_email = false
prefix = /var/run/kong
developer_portal_db = data/devs.db
portal_register_max_body = 1024
portal_register_rate_limit = 0
";
    let parsed = settings(text);
    assert_eq!(parsed.portal_auth, Some(PortalAuth::OpenIdConnect));
    let conf = parsed.portal_auth_conf.clone().unwrap();
    assert_eq!(conf.get("hide_credentials"), Some(&json!(true)));
    assert_eq!(conf.get("issuer"), Some(&json!("https://id.example.com")));
    assert!(parsed.portal_auto_approve);
    assert_eq!(parsed.portal_token_exp, 3600);
    assert_eq!(parsed.portal_gui_protocol, "https");
    assert_eq!(parsed.portal_gui_host, "developers.example.com:8443");
    assert_eq!(
        parsed.portal_gui_url.as_deref(),
        Some("https://example.com/portal/")
    );
    assert_eq!(
        parsed.portal_emails_from.as_deref(),
        Some("API Team <api@example.com>")
    );
    assert_eq!(
        parsed.portal_emails_reply_to.as_deref(),
        Some("support@example.com")
    );
    assert!(!parsed.portal_invite_email);
    assert!(!parsed.portal_approved_email);
    assert_eq!(parsed.prefix, PathBuf::from("/var/run/kong"));
    assert_eq!(
        parsed.developer_portal_db,
        Some(PathBuf::from("data/devs.db"))
    );
    assert_eq!(parsed.portal_register_max_body, 1024);
    assert_eq!(parsed.portal_register_rate_limit, 0);
}

#[test]
fn portal_auth_names_round_trip() {
    for auth in PortalAuth::ALL {
        let parsed = settings(&format!("portal_auth = {}\n", auth.as_str()));
        assert_eq!(parsed.portal_auth, Some(auth));
    }
    assert_eq!(PortalAuth::BasicAuth.as_str(), "basic-auth");
    assert_eq!(PortalAuth::KeyAuth.as_str(), "key-auth");
    assert_eq!(PortalAuth::OpenIdConnect.as_str(), "openid-connect");
}

#[test]
fn boolean_letter_case_is_ignored() {
    assert!(settings("portal_auto_approve = TRUE\n").portal_auto_approve);
    assert!(settings("portal_auto_approve = On\n").portal_auto_approve);
    assert!(!settings("portal_invite_email = OFF\n").portal_invite_email);
    assert!(!settings("portal_invite_email = False\n").portal_invite_email);
}

#[test]
fn empty_value_keeps_default() {
    let parsed =
        settings("portal_invite_email =\nportal_gui_host =   # later\nportal_token_exp =\n");
    assert_eq!(parsed, Settings::default());
}

#[test]
fn none_value_keeps_default() {
    let parsed =
        settings("portal_auth = NONE\nportal_gui_host = NONE\nportal_approved_email = NONE\n");
    assert_eq!(parsed, Settings::default());
}

#[test]
fn protocol_letter_case_is_normalised() {
    assert_eq!(
        settings("portal_gui_protocol = HTTPS\n").portal_gui_protocol,
        "https"
    );
}

#[test]
fn inline_comment_is_stripped_from_values() {
    let parsed = settings(
        "portal_auto_approve = on   # approve everyone\nportal_token_exp = 60#one minute\n",
    );
    assert!(parsed.portal_auto_approve);
    assert_eq!(parsed.portal_token_exp, 60);
}

#[test]
fn escaped_hash_reaches_json() {
    let parsed = settings("portal_auth_conf = { \"secret\": \"a\\#b\" }  # comment\n");
    let conf = parsed.portal_auth_conf.unwrap();
    assert_eq!(conf.get("secret"), Some(&json!("a#b")));
}

#[test]
fn continued_json_is_joined() {
    let parsed =
        settings("portal_auth_conf = { \"hide_credentials\": true, \\\n   \"anonymous\": \"\" }\n");
    let conf = parsed.portal_auth_conf.unwrap();
    assert_eq!(conf.get("hide_credentials"), Some(&json!(true)));
    assert_eq!(conf.get("anonymous"), Some(&json!("")));
}

#[test]
fn crlf_file_is_read() {
    let parsed = settings("# portal\r\nportal_auth = key-auth\r\nportal_auto_approve = on # c\r\n\r\nportal_token_exp = 90\r\n");
    assert_eq!(parsed.portal_auth, Some(PortalAuth::KeyAuth));
    assert!(parsed.portal_auto_approve);
    assert_eq!(parsed.portal_token_exp, 90);
}

#[test]
fn semicolon_comment_is_skipped() {
    let parsed = settings("; portal_auto_approve = on\nportal_auth = key-auth\n");
    assert!(!parsed.portal_auto_approve);
    assert_eq!(parsed.portal_auth, Some(PortalAuth::KeyAuth));
}

#[test]
fn duplicate_key_last_value_wins() {
    let parsed = settings("portal_token_exp = 60\nportal_token_exp = 120\n");
    assert_eq!(parsed.portal_token_exp, 120);
}

#[test]
fn duplicate_key_error_points_at_last_line() {
    let message = error_of("portal_auto_approve = on\nportal_auto_approve = yes\n");
    assert_eq!(
        message,
        "portal_auto_approve: invalid boolean 'yes' at kong.conf:2 (accepted: on, off, true, false)"
    );
}

#[test]
fn key_spelled_with_dashes_is_read() {
    assert!(settings("portal-auto-approve = on\n").portal_auto_approve);
}

// Precedence of defaults, file and environment.

#[test]
fn environment_overrides_file() {
    let env = env_of(&[
        ("KONG_PORTAL_AUTO_APPROVE", "off"),
        ("KONG_PORTAL_TOKEN_EXP", "300"),
    ]);
    let parsed = from_str(
        "portal_auto_approve = on\nportal_token_exp = 60\n",
        "kong.conf",
        &env,
    )
    .unwrap();
    assert!(!parsed.portal_auto_approve);
    assert_eq!(parsed.portal_token_exp, 300);
}

#[test]
fn environment_overrides_defaults() {
    let env = env_of(&[
        ("KONG_PORTAL_AUTH", "basic-auth"),
        ("KONG_PORTAL_REGISTER_RATE_LIMIT", "25"),
    ]);
    let parsed = from_str("", "kong.conf", &env).unwrap();
    assert_eq!(parsed.portal_auth, Some(PortalAuth::BasicAuth));
    assert_eq!(parsed.portal_register_rate_limit, 25);
}

#[test]
fn empty_environment_variable_is_ignored() {
    let env = env_of(&[
        ("KONG_PORTAL_AUTO_APPROVE", ""),
        ("KONG_PORTAL_AUTH", "   "),
    ]);
    let parsed = from_str(
        "portal_auto_approve = on\nportal_auth = key-auth\n",
        "kong.conf",
        &env,
    )
    .unwrap();
    assert!(parsed.portal_auto_approve);
    assert_eq!(parsed.portal_auth, Some(PortalAuth::KeyAuth));
}

#[test]
fn none_in_environment_restores_default() {
    let env = env_of(&[
        ("KONG_PORTAL_AUTH", "NONE"),
        ("KONG_PORTAL_GUI_HOST", "NONE"),
    ]);
    let text = "portal_auth = key-auth\nportal_gui_host = example.com\n";
    let parsed = from_str(text, "kong.conf", &env).unwrap();
    assert_eq!(parsed.portal_auth, None);
    assert_eq!(parsed.portal_gui_host, "127.0.0.1:8003");
}

#[test]
fn environment_value_is_trimmed() {
    let env = env_of(&[("KONG_PORTAL_AUTO_APPROVE", "  on \n")]);
    assert!(from_str("", "kong.conf", &env).unwrap().portal_auto_approve);
}

#[test]
fn environment_value_keeps_hash() {
    let env = env_of(&[("KONG_PORTAL_AUTH_CONF", "{ \"secret\": \"test##12##3#\" }")]);
    let parsed = from_str("", "kong.conf", &env).unwrap();
    let conf = parsed.portal_auth_conf.unwrap();
    assert_eq!(conf.get("secret"), Some(&json!("test##12##3#")));
}

#[test]
fn environment_hash_is_not_a_comment() {
    let message = env_error_of(&[("KONG_PORTAL_AUTO_APPROVE", "on # comment")]);
    assert_eq!(
        message,
        "portal_auto_approve: invalid boolean 'on # comment' in environment variable KONG_PORTAL_AUTO_APPROVE (accepted: on, off, true, false)"
    );
}

#[test]
fn environment_names_are_uppercase() {
    let env = env_of(&[
        ("kong_portal_auto_approve", "on"),
        ("KONG_portal_auto_approve", "on"),
    ]);
    assert!(!from_str("", "kong.conf", &env).unwrap().portal_auto_approve);
}

// Error messages, one per kind of value.

#[test]
fn invalid_boolean_in_file_names_line() {
    let text = format!("{}portal_auto_approve = yes\n", "\n".repeat(211));
    assert_eq!(
        error_of(&text),
        "portal_auto_approve: invalid boolean 'yes' at kong.conf:212 (accepted: on, off, true, false)"
    );
}

#[test]
fn invalid_boolean_in_environment_names_variable() {
    assert_eq!(
        env_error_of(&[("KONG_PORTAL_AUTO_APPROVE", "yes")]),
        "portal_auto_approve: invalid boolean 'yes' in environment variable KONG_PORTAL_AUTO_APPROVE (accepted: on, off, true, false)"
    );
    assert_eq!(
        env_error_of(&[("KONG_PORTAL_INVITE_EMAIL", "1")]),
        "portal_invite_email: invalid boolean '1' in environment variable KONG_PORTAL_INVITE_EMAIL (accepted: on, off, true, false)"
    );
    assert_eq!(
        env_error_of(&[("KONG_PORTAL_APPROVED_EMAIL", "enabled")]),
        "portal_approved_email: invalid boolean 'enabled' in environment variable KONG_PORTAL_APPROVED_EMAIL (accepted: on, off, true, false)"
    );
}

#[test]
fn invalid_portal_auth_lists_plugins() {
    assert_eq!(
        error_of("portal_auth = jwt\n"),
        "portal_auth: invalid value 'jwt' at kong.conf:1 (accepted: basic-auth, key-auth, openid-connect)"
    );
    assert_eq!(
        error_of("portal_auth = Basic-Auth\n"),
        "portal_auth: invalid value 'Basic-Auth' at kong.conf:1 (accepted: basic-auth, key-auth, openid-connect)"
    );
}

#[test]
fn invalid_json_names_parser_error() {
    assert_eq!(
        error_of("portal_auth_conf = { \"hide_credentials\": }\n"),
        "portal_auth_conf: invalid JSON object '{ \"hide_credentials\": }' at kong.conf:1 (accepted: a JSON object, with each # written as \\#): expected value at line 1 column 23"
    );
}

#[test]
fn unescaped_hash_in_json_is_a_comment() {
    assert_eq!(
        error_of("portal_auth_conf = { \"secret\": \"a#b\" }\n"),
        "portal_auth_conf: invalid JSON object '{ \"secret\": \"a' at kong.conf:1 (accepted: a JSON object, with each # written as \\#): EOF while parsing a string at line 1 column 14"
    );
}

#[test]
fn json_that_is_not_an_object_is_rejected() {
    assert_eq!(
        error_of("portal_auth_conf = [1, 2]\n"),
        "portal_auth_conf: invalid JSON object '[1, 2]' at kong.conf:1 (accepted: a JSON object, with each # written as \\#): expected an object, found an array"
    );
    assert_eq!(
        env_error_of(&[("KONG_PORTAL_AUTH_CONF", "true")]),
        "portal_auth_conf: invalid JSON object 'true' in environment variable KONG_PORTAL_AUTH_CONF (accepted: a JSON object): expected an object, found a boolean"
    );
}

#[test]
fn invalid_token_expiry_is_rejected() {
    let accepted = "(accepted: a positive whole number of seconds)";
    assert_eq!(
        error_of("portal_token_exp = 0\n"),
        format!("portal_token_exp: invalid number '0' at kong.conf:1 {accepted}")
    );
    assert_eq!(
        error_of("portal_token_exp = 6h\n"),
        format!("portal_token_exp: invalid number '6h' at kong.conf:1 {accepted}")
    );
    assert_eq!(
        error_of("portal_token_exp = -5\n"),
        format!("portal_token_exp: invalid number '-5' at kong.conf:1 {accepted}")
    );
    assert_eq!(
        env_error_of(&[("KONG_PORTAL_TOKEN_EXP", "1.5")]),
        format!("portal_token_exp: invalid number '1.5' in environment variable KONG_PORTAL_TOKEN_EXP {accepted}")
    );
}

#[test]
fn invalid_protocol_is_rejected() {
    assert_eq!(
        error_of("portal_gui_protocol = ftp\n"),
        "portal_gui_protocol: invalid value 'ftp' at kong.conf:1 (accepted: http, https)"
    );
}

#[test]
fn invalid_host_is_rejected() {
    let accepted =
        "(accepted: a host name or IP address with an optional :port, without scheme or path)";
    for bad in [
        "http://portal.example.com",
        "portal.example.com/dev",
        "portal example.com",
        "portal.example.com:99999",
    ] {
        assert_eq!(
            error_of(&format!("portal_gui_host = {bad}\n")),
            format!("portal_gui_host: invalid value '{bad}' at kong.conf:1 {accepted}")
        );
    }
}

#[test]
fn invalid_url_is_rejected() {
    let accepted = "(accepted: <scheme>://<host>(:<port>)(/<path>) with scheme http or https)";
    for bad in [
        "portal.example.com",
        "ftp://portal.example.com",
        "https://",
        "https://x/a?b=c",
    ] {
        assert_eq!(
            error_of(&format!("portal_gui_url = {bad}\n")),
            format!("portal_gui_url: invalid URL '{bad}' at kong.conf:1 {accepted}")
        );
    }
}

#[test]
fn email_without_at_sign_is_rejected() {
    assert_eq!(
        error_of("portal_emails_from = API Team\n"),
        "portal_emails_from: invalid value 'API Team' at kong.conf:1 (accepted: an email address or Name <address>, without control characters)"
    );
}

#[test]
fn email_header_injection_is_rejected() {
    assert_eq!(
        env_error_of(&[("KONG_PORTAL_EMAILS_REPLY_TO", "a@example.com\r\nBcc: all@example.com")]),
        "portal_emails_reply_to: invalid value 'a@example.com\\r\\nBcc: all@example.com' in environment variable KONG_PORTAL_EMAILS_REPLY_TO (accepted: an email address or Name <address>, without control characters)"
    );
    // A lone CR does not end a line in the file, so it reaches the value.
    assert_eq!(
        error_of("portal_emails_from = Team <a@example.com>\rBcc: all@example.com\n"),
        "portal_emails_from: invalid value 'Team <a@example.com>\\rBcc: all@example.com' at kong.conf:1 (accepted: an email address or Name <address>, without control characters)"
    );
    assert_eq!(
        error_of("portal_emails_from = a@ex\u{0}ample.com\n"),
        "portal_emails_from: invalid value 'a@ex\\u{0}ample.com' at kong.conf:1 (accepted: an email address or Name <address>, without control characters)"
    );
}

#[test]
fn invalid_path_is_rejected() {
    assert_eq!(
        env_error_of(&[("KONG_DEVELOPER_PORTAL_DB", "dev\u{1}.db")]),
        "developer_portal_db: invalid value 'dev\\u{1}.db' in environment variable KONG_DEVELOPER_PORTAL_DB (accepted: a file path without control characters)"
    );
    assert_eq!(
        env_error_of(&[("KONG_PREFIX", "/tmp/\tkong")]),
        "prefix: invalid value '/tmp/\\tkong' in environment variable KONG_PREFIX (accepted: a file path without control characters)"
    );
}

#[test]
fn max_body_outside_range_is_rejected() {
    let accepted = "(accepted: a whole number of bytes from 1024 to 1048576)";
    for bad in ["1023", "1048577", "16k", "0"] {
        assert_eq!(
            error_of(&format!("portal_register_max_body = {bad}\n")),
            format!("portal_register_max_body: invalid number '{bad}' at kong.conf:1 {accepted}")
        );
    }
    assert_eq!(
        settings("portal_register_max_body = 1048576\n").portal_register_max_body,
        1_048_576
    );
}

#[test]
fn invalid_rate_limit_is_rejected() {
    let accepted = "(accepted: a whole number of registrations per minute, 0 for no limit)";
    for bad in ["-1", "4294967296", "ten"] {
        assert_eq!(
            error_of(&format!("portal_register_rate_limit = {bad}\n")),
            format!("portal_register_rate_limit: invalid number '{bad}' at kong.conf:1 {accepted}")
        );
    }
    assert_eq!(
        settings("portal_register_rate_limit = 4294967295\n").portal_register_rate_limit,
        u32::MAX
    );
}

#[test]
fn invalid_line_fails_settings() {
    assert_eq!(
        error_of("portal_auto_approve = on\nportal_auth\n"),
        "invalid line 'portal_auth' at kong.conf:2 (accepted: key = value, a comment starting with # or ;, or a blank line)"
    );
}

#[test]
fn error_names_file_as_given() {
    let err = from_str(
        "portal_auto_approve = maybe\n",
        "/etc/kong/kong.conf",
        &no_env,
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "portal_auto_approve: invalid boolean 'maybe' at /etc/kong/kong.conf:1 (accepted: on, off, true, false)"
    );
}

// Derived values.

#[test]
fn portal_url_from_protocol_and_host() {
    assert_eq!(Settings::default().portal_url(), "http://127.0.0.1:8003");
    let parsed = settings("portal_gui_protocol = https\nportal_gui_host = example.com\n");
    assert_eq!(parsed.portal_url(), "https://example.com");
}

#[test]
fn portal_url_prefers_gui_url_without_slash() {
    let parsed = settings(
        "portal_gui_host = ignored.example.com\nportal_gui_url = https://example.com/dev//\n",
    );
    assert_eq!(parsed.portal_url(), "https://example.com/dev");
    let parsed = settings("portal_gui_url = http://127.0.0.1:8003\n");
    assert_eq!(parsed.portal_url(), "http://127.0.0.1:8003");
}

#[test]
fn store_path_defaults_under_prefix() {
    assert_eq!(
        Settings::default().store_path(),
        PathBuf::from("/usr/local/kong/developer_portal.db")
    );
    let parsed = settings("prefix = /opt/kong\n");
    assert_eq!(
        parsed.store_path(),
        PathBuf::from("/opt/kong/developer_portal.db")
    );
}

#[test]
fn relative_store_path_resolves_under_prefix() {
    let parsed = settings("prefix = /opt/kong\ndeveloper_portal_db = data/devs.db\n");
    assert_eq!(parsed.store_path(), PathBuf::from("/opt/kong/data/devs.db"));
}

#[test]
fn absolute_store_path_is_kept() {
    let parsed = settings("prefix = /opt/kong\ndeveloper_portal_db = /var/lib/portal/devs.db\n");
    assert_eq!(
        parsed.store_path(),
        PathBuf::from("/var/lib/portal/devs.db")
    );
}

// Warnings.

#[test]
fn misspelled_key_in_file_warns() {
    let conf = parse::read("\nportal_auth_config = {}\n", "kong.conf").unwrap();
    let (parsed, warnings) = resolve(Some(&conf), &no_env).unwrap();
    assert_eq!(parsed.portal_auth_conf, None);
    assert_eq!(
        warnings,
        vec!["portal_auth_config at kong.conf:2 is ignored: the property is spelled portal_auth_conf".to_string()]
    );
}

#[test]
fn misspelled_environment_variable_warns() {
    let env = env_of(&[("KONG_PORTAL_TOKEN_EXPIRATION", "60")]);
    let (parsed, warnings) = resolve(None, &env).unwrap();
    assert_eq!(parsed.portal_token_exp, 21600);
    assert_eq!(
        warnings,
        vec!["environment variable KONG_PORTAL_TOKEN_EXPIRATION is ignored: the variable is spelled KONG_PORTAL_TOKEN_EXP".to_string()]
    );
}

#[test]
fn auth_conf_without_auth_warns() {
    let conf = parse::read(
        "portal_auth_conf = { \"hide_credentials\": true }\n",
        "kong.conf",
    )
    .unwrap();
    let (_, warnings) = resolve(Some(&conf), &no_env).unwrap();
    assert_eq!(
        warnings,
        vec![
            "portal_auth_conf is set but portal_auth is not, so portal_auth_conf has no effect"
                .to_string()
        ]
    );
}

#[test]
fn valid_file_has_no_warnings() {
    let conf = parse::read(
        "portal_auth = basic-auth\nportal_auth_conf = {}\n",
        "kong.conf",
    )
    .unwrap();
    let (_, warnings) = resolve(Some(&conf), &no_env).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
}

// Finding and reading the file.

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn load_reads_explicit_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "kong.conf", "portal_auto_approve = on\n");
    let loaded = load(Some(&path), &no_env).unwrap();
    assert!(loaded.settings.portal_auto_approve);
    assert_eq!(loaded.path, Some(path));
    assert!(loaded.warnings.is_empty());
}

#[test]
fn load_missing_explicit_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.conf");
    let err = load(Some(&path), &no_env).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert_eq!(err.message, format!("no file at: {}", path.display()));
}

#[test]
fn load_unreadable_file_names_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let os_error = std::fs::read_to_string(dir.path()).unwrap_err();
    let err = load(Some(dir.path()), &no_env).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert_eq!(
        err.message,
        format!("failed to read {}: {}", dir.path().display(), os_error)
    );
}

#[test]
fn load_error_names_full_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "kong.conf", "portal_auto_approve = yes\n");
    let err = load(Some(&path), &no_env).unwrap_err();
    assert_eq!(
        err.message,
        format!(
            "portal_auto_approve: invalid boolean 'yes' at {}:1 (accepted: on, off, true, false)",
            path.display()
        )
    );
}

#[test]
fn load_applies_environment_over_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "kong.conf", "portal_auth = basic-auth\n");
    let env = env_of(&[("KONG_PORTAL_AUTH", "key-auth")]);
    let loaded = load(Some(&path), &env).unwrap();
    assert_eq!(loaded.settings.portal_auth, Some(PortalAuth::KeyAuth));
}

#[test]
fn load_tries_default_paths_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("kong/kong.conf");
    let second = write_file(dir.path(), "kong.conf", "portal_token_exp = 2\n");
    let defaults = [first.as_path(), second.as_path()];

    let loaded = load_with_defaults(None, &defaults, &no_env).unwrap();
    assert_eq!(loaded.path, Some(second.clone()));
    assert_eq!(loaded.settings.portal_token_exp, 2);

    std::fs::create_dir(dir.path().join("kong")).unwrap();
    write_file(dir.path(), "kong/kong.conf", "portal_token_exp = 1\n");
    let loaded = load_with_defaults(None, &defaults, &no_env).unwrap();
    assert_eq!(loaded.path, Some(first));
    assert_eq!(loaded.settings.portal_token_exp, 1);
}

#[test]
fn load_without_file_uses_environment_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.conf");
    let second = dir.path().join("b.conf");
    let env = env_of(&[("KONG_PORTAL_AUTO_APPROVE", "on")]);
    let loaded = load_with_defaults(None, &[first.as_path(), second.as_path()], &env).unwrap();
    assert_eq!(loaded.path, None);
    assert!(loaded.settings.portal_auto_approve);
    assert_eq!(
        loaded.warnings,
        vec![format!(
            "no kong.conf found at {} or {}; using defaults and KONG_* environment variables",
            first.display(),
            second.display()
        )]
    );
}

#[test]
fn load_explicit_file_skips_default_paths() {
    let dir = tempfile::tempdir().unwrap();
    let default = write_file(dir.path(), "default.conf", "portal_token_exp = 1\n");
    let explicit = write_file(dir.path(), "explicit.conf", "portal_token_exp = 2\n");
    let loaded = load_with_defaults(Some(&explicit), &[default.as_path()], &no_env).unwrap();
    assert_eq!(loaded.settings.portal_token_exp, 2);
}

// Real and layout-faithful files.

#[test]
fn oss_default_file_yields_defaults() {
    let conf = parse::read(OSS_DEFAULT, "kong.conf.default").unwrap();
    assert!(conf.is_empty());
    assert_eq!(
        from_str(OSS_DEFAULT, "kong.conf.default", &no_env).unwrap(),
        Settings::default()
    );
}

#[test]
fn oss_defaults_uncommented_yield_defaults() {
    let text = uncomment_defaults(OSS_DEFAULT);
    let conf = parse::read(&text, "kong.conf.default").unwrap();
    assert_eq!(conf.get("prefix").unwrap().value, "/usr/local/kong/");
    assert_eq!(conf.get("prefix").unwrap().line, 26);
    assert!(
        conf.len() > 100,
        "only {} properties uncommented",
        conf.len()
    );
    assert_eq!(
        from_str(&text, "kong.conf.default", &no_env).unwrap(),
        Settings::default()
    );
}

#[test]
fn oss_default_file_with_portal_setting() {
    let text = format!("{OSS_DEFAULT}\nportal_auto_approve = on\n");
    assert!(
        from_str(&text, "kong.conf", &no_env)
            .unwrap()
            .portal_auto_approve
    );
}

#[test]
fn ee_033_layout_yields_defaults() {
    assert_eq!(
        from_str(EE_033, "kong.conf", &no_env).unwrap(),
        Settings::default()
    );
    let text = uncomment_defaults(EE_033);
    let conf = parse::read(&text, "kong.conf").unwrap();
    assert_eq!(conf.get("portal_auto_approve").unwrap().value, "off");
    assert_eq!(conf.get("portal_auth").unwrap().value, "");
    assert!(conf.get("portal_token_exp").is_none());
    assert!(conf.get("portal_emails_from").is_none());
    assert_eq!(
        from_str(&text, "kong.conf", &no_env).unwrap(),
        Settings::default()
    );
}

#[test]
fn ee_034_layout_yields_defaults() {
    assert_eq!(
        from_str(EE_034, "kong.conf", &no_env).unwrap(),
        Settings::default()
    );
    let text = uncomment_defaults(EE_034);
    let conf = parse::read(&text, "kong.conf").unwrap();
    assert_eq!(conf.get("portal_token_exp").unwrap().value, "21600");
    assert_eq!(conf.get("portal_invite_email").unwrap().value, "on");
    assert_eq!(conf.get("portal_approved_email").unwrap().value, "on");
    assert_eq!(conf.get("portal_emails_from").unwrap().value, "");
    assert_eq!(
        from_str(&text, "kong.conf", &no_env).unwrap(),
        Settings::default()
    );
}

#[test]
fn ee_layouts_accept_auto_approve_on() {
    for (name, text) in [("0.33", EE_033), ("0.34", EE_034)] {
        assert!(text.contains("\n#portal_auto_approve = off\n"), "{name}");
        let edited = text.replace(
            "\n#portal_auto_approve = off\n",
            "\nportal_auto_approve = on\n",
        );
        let parsed = from_str(&edited, "kong.conf", &no_env).unwrap();
        assert!(parsed.portal_auto_approve, "{name}");
        assert_eq!(
            Settings {
                portal_auto_approve: false,
                ..parsed
            },
            Settings::default(),
            "{name}"
        );
    }
}

#[test]
fn ee_034_layout_reads_email_settings() {
    let edited = EE_034
        .replace(
            "\n#portal_invite_email = on\n",
            "\nportal_invite_email = off\n",
        )
        .replace(
            "\n#portal_emails_from =\n",
            "\nportal_emails_from = Portal <portal@example.com>\n",
        )
        .replace(
            "\n#portal_token_exp = 21600\n",
            "\nportal_token_exp = 600\n",
        );
    let parsed = from_str(&edited, "kong.conf", &no_env).unwrap();
    assert!(!parsed.portal_invite_email);
    assert_eq!(
        parsed.portal_emails_from.as_deref(),
        Some("Portal <portal@example.com>")
    );
    assert_eq!(parsed.portal_token_exp, 600);
}

#[test]
fn plugin_default_file_yields_defaults() {
    assert_eq!(
        from_str(PLUGIN_DEFAULT, "kong.conf.default", &no_env).unwrap(),
        Settings::default()
    );
}

#[test]
fn plugin_defaults_uncommented_yield_defaults() {
    let text = uncomment_defaults(PLUGIN_DEFAULT);
    let conf = parse::read(&text, "kong.conf.default").unwrap();
    let documented = [
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
    for key in documented {
        assert!(conf.get(key).is_some(), "{key} is not documented");
    }
    assert_eq!(conf.len(), documented.len());
    assert_eq!(
        from_str(&text, "kong.conf.default", &no_env).unwrap(),
        Settings::default()
    );
}
