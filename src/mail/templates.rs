//! Subjects and bodies of the invite and approved emails, loaded from TOML.

use crate::error::{Error, Result};

/// The default texts, compiled into the library.
const DEFAULT_MESSAGES: &str = include_str!("messages.toml");

/// Placeholders that every message may use.
const SHARED_PLACEHOLDERS: [&str; 3] = ["portal_url", "register_url", "login_url"];
/// Placeholders that name one developer, so only the approved email may use them.
const DEVELOPER_PLACEHOLDERS: [&str; 2] = ["email", "name"];

/// Subject and body of one email, with `{placeholder}` markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) subject: String,
    pub(crate) body: String,
}

/// The texts of the invite and approved emails.
///
/// Every placeholder in a `Templates` value is known, and every subject is one
/// line: `from_toml` checks both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    pub(crate) invite: Message,
    pub(crate) approved: Message,
}

impl Default for Templates {
    /// Parses the texts compiled into the library.
    fn default() -> Self {
        Templates::from_toml(DEFAULT_MESSAGES).expect("the embedded messages.toml is valid")
    }
}

impl Templates {
    /// Parses templates from TOML text with an `[invite]` and an `[approved]`
    /// table, each with a `subject` and a `body` string.
    ///
    /// Returns a `Config` error that names the missing or unknown key, the
    /// unknown placeholder, or the subject that spans several lines.
    pub fn from_toml(text: &str) -> Result<Templates> {
        let table: toml::Table = text
            .parse()
            .map_err(|e| Error::config(format!("invalid email templates: {e}")))?;

        for name in table.keys() {
            if name != "invite" && name != "approved" {
                return Err(Error::config(format!(
                    "unknown table [{name}] in email templates (expected [invite] and [approved])"
                )));
            }
        }

        let invite = read_message(&table, "invite", false)?;
        let approved = read_message(&table, "approved", true)?;
        Ok(Templates { invite, approved })
    }
}

/// Reads and checks one `[section]` table.
fn read_message(table: &toml::Table, section: &str, per_developer: bool) -> Result<Message> {
    let Some(value) = table.get(section) else {
        return Err(Error::config(format!(
            "missing table [{section}] in email templates"
        )));
    };
    let Some(fields) = value.as_table() else {
        return Err(Error::config(format!(
            "'{section}' in email templates must be a table with subject and body"
        )));
    };

    for key in fields.keys() {
        if key != "subject" && key != "body" {
            return Err(Error::config(format!(
                "unknown key '{section}.{key}' in email templates (expected subject and body)"
            )));
        }
    }

    let subject = read_string(fields, section, "subject")?;
    let body = read_string(fields, section, "body")?;

    if subject.contains(['\r', '\n']) {
        return Err(Error::config(format!(
            "'{section}.subject' in email templates must be one line"
        )));
    }
    check_placeholders(&subject, section, "subject", per_developer)?;
    check_placeholders(&body, section, "body", per_developer)?;
    Ok(Message { subject, body })
}

fn read_string(fields: &toml::Table, section: &str, key: &str) -> Result<String> {
    match fields.get(key) {
        None => Err(Error::config(format!(
            "missing key '{section}.{key}' in email templates"
        ))),
        Some(toml::Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(Error::config(format!(
            "'{section}.{key}' in email templates must be a string, not {}",
            other.type_str()
        ))),
    }
}

/// Rejects unknown placeholders, placeholders that name a developer in a
/// message sent to many, and an unclosed `{`.
fn check_placeholders(text: &str, section: &str, key: &str, per_developer: bool) -> Result<()> {
    for token in tokens(text) {
        match token {
            Token::Text(_) => {}
            Token::Unclosed => {
                return Err(Error::config(format!(
                    "unclosed '{{' in '{section}.{key}' of email templates (write {{{{ for a literal brace)"
                )));
            }
            Token::Placeholder(name) => {
                if SHARED_PLACEHOLDERS.contains(&name) {
                    continue;
                }
                if DEVELOPER_PLACEHOLDERS.contains(&name) {
                    if per_developer {
                        continue;
                    }
                    return Err(Error::config(format!(
                        "placeholder '{{{name}}}' in '{section}.{key}' of email templates names \
                         one developer, but one invite goes to every invitee"
                    )));
                }
                return Err(Error::config(format!(
                    "unknown placeholder '{{{name}}}' in '{section}.{key}' of email templates \
                     (known: {{portal_url}}, {{register_url}}, {{login_url}}, {{email}}, {{name}})"
                )));
            }
        }
    }
    Ok(())
}

/// Replaces each `{placeholder}` with `value(name)`, `{{` with `{` and `}}`
/// with `}`. A placeholder without a value stays as written. That does not
/// happen to templates from `from_toml`, which rejects unknown placeholders.
pub(crate) fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut output = String::with_capacity(text.len());
    for token in tokens(text) {
        match token {
            Token::Text(literal) => output.push_str(literal),
            Token::Placeholder(name) => match value(name) {
                Some(v) => output.push_str(&v),
                None => {
                    output.push('{');
                    output.push_str(name);
                    output.push('}');
                }
            },
            Token::Unclosed => output.push('{'),
        }
    }
    output
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Placeholder(&'a str),
    /// A `{` with no `}` after it.
    Unclosed,
}

/// Splits a template into literal text and placeholders. `{{` and `}}` are
/// literal braces, and a lone `}` is literal text.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{") {
            out.push(Token::Text("{"));
            rest = after;
        } else if let Some(after) = rest.strip_prefix("}}") {
            out.push(Token::Text("}"));
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            match after.find('}') {
                Some(end) => {
                    out.push(Token::Placeholder(&after[..end]));
                    rest = &after[end + 1..];
                }
                None => {
                    out.push(Token::Unclosed);
                    rest = after;
                }
            }
        } else {
            let end = rest.find(['{', '}']).unwrap_or(rest.len());
            // A lone '}' at the start is literal, so always advance.
            let end = if end == 0 { 1 } else { end };
            out.push(Token::Text(&rest[..end]));
            rest = &rest[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const VALID: &str = r#"
[invite]
subject = "Join {portal_url}"
body = "Register at {register_url}"

[approved]
subject = "Approved"
body = "Hi {name}, log in at {login_url} as {email}"
"#;

    fn config_error(text: &str) -> String {
        let err = Templates::from_toml(text).expect_err(text);
        assert_eq!(err.kind, ErrorKind::Config);
        err.message
    }

    #[test]
    fn default_templates_parse() {
        let t = Templates::default();
        assert!(t.invite.body.contains("{register_url}"));
        assert!(t.invite.body.contains('\n'));
        assert!(t.approved.body.contains("{login_url}"));
        assert!(t.approved.body.contains("{email}"));
        assert!(t.approved.body.contains("{name}"));
    }

    #[test]
    fn from_toml_reads_all_fields() {
        let t = Templates::from_toml(VALID).unwrap();
        assert_eq!(t.invite.subject, "Join {portal_url}");
        assert_eq!(t.invite.body, "Register at {register_url}");
        assert_eq!(t.approved.subject, "Approved");
        assert_eq!(
            t.approved.body,
            "Hi {name}, log in at {login_url} as {email}"
        );
    }

    #[test]
    fn from_toml_names_missing_key() {
        let text = VALID.replace("body = \"Register at {register_url}\"", "");
        assert_eq!(
            config_error(&text),
            "missing key 'invite.body' in email templates"
        );
    }

    #[test]
    fn from_toml_names_missing_table() {
        let text = "[invite]\nsubject = \"s\"\nbody = \"b\"\n";
        assert_eq!(
            config_error(text),
            "missing table [approved] in email templates"
        );
    }

    #[test]
    fn from_toml_names_unknown_keys() {
        let text = VALID.replace("subject = \"Approved\"", "subject = \"A\"\nsubjcet = \"B\"");
        assert!(config_error(&text).starts_with("unknown key 'approved.subjcet'"));
        let text = format!("{VALID}\n[reset]\nsubject = \"x\"\n");
        assert!(config_error(&text).starts_with("unknown table [reset]"));
    }

    #[test]
    fn from_toml_names_unknown_placeholder() {
        let text = VALID.replace("{login_url}", "{logn_url}");
        assert!(
            config_error(&text).starts_with("unknown placeholder '{logn_url}' in 'approved.body'")
        );
    }

    #[test]
    fn from_toml_rejects_developer_placeholder_in_invite() {
        let text = VALID.replace("Join {portal_url}", "Join, {name}");
        assert!(config_error(&text).starts_with("placeholder '{name}' in 'invite.subject'"));
    }

    #[test]
    fn from_toml_rejects_multiline_subject() {
        let text = VALID.replace(
            "subject = \"Approved\"",
            "subject = \"Approved\\r\\nBcc: x@y.z\"",
        );
        assert_eq!(
            config_error(&text),
            "'approved.subject' in email templates must be one line"
        );
    }

    #[test]
    fn from_toml_rejects_wrong_types_and_syntax() {
        let text = VALID.replace("subject = \"Approved\"", "subject = 3");
        assert_eq!(
            config_error(&text),
            "'approved.subject' in email templates must be a string, not integer"
        );
        assert!(config_error("[invite").starts_with("invalid email templates:"));
        let text = VALID.replace("Register at {register_url}", "Register at {register_url");
        assert!(config_error(&text).starts_with("unclosed '{' in 'invite.body'"));
    }

    #[test]
    fn render_replaces_placeholders_and_braces() {
        let text = "{{literal}} {portal_url}/x }";
        let out = render(text, |name| (name == "portal_url").then(|| "P".to_string()));
        assert_eq!(out, "{literal} P/x }");
    }
}
