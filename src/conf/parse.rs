//! The line syntax of kong.conf, as Kong reads it.
//!
//! Kong reads kong.conf with Penlight's `pl.config` and then strips inline
//! comments from each value. This reader follows those rules:
//!
//! * A line whose first non-blank character is `#` or `;` is a comment, and
//!   blank lines are skipped.
//! * A line ending in `\` (optionally followed by whitespace) continues on the
//!   next line. The `\` is removed and the next line is appended as is. This
//!   happens before comments are recognised, as in Penlight.
//! * An unescaped `#`, everything after it and the whitespace before it are
//!   dropped. `\#` becomes a literal `#`.
//! * `key = value` is split on the first `=`, and key and value are trimmed.
//!   Every byte of the key that is not an ASCII letter or digit becomes `_`.
//! * When a key appears twice, the last value wins.
//!
//! Two rules differ from Penlight on purpose. A line without `=` is an error
//! here, where Penlight keeps it as an anonymous array item that Kong ignores.
//! The inline comment is stripped before the split, so an `=` inside a comment
//! never turns a stray line into a key.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One property value read from a file, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value after comment stripping, `\#` unescaping and trimming. It can
    /// be empty.
    pub value: String,
    /// The 1-based line number where the logical line starts. A value
    /// continued with `\` reports its first line.
    pub line: usize,
}

/// The properties of one kong.conf file, keyed by their normalised names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfFile {
    file_name: String,
    entries: BTreeMap<String, Entry>,
}

impl ConfFile {
    /// Returns the entry for `key`, which must be given in normalised form
    /// (such as `portal_auth_conf`).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Returns the file name used in error messages.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Iterates over all properties in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(key, entry)| (key.as_str(), entry))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Parses the text of a kong.conf file. `file_name` is used in error messages
/// and may be a full path or a base name.
///
/// Fails with a config error naming the file and line when a line that is not
/// a comment has no `=` or has nothing before it.
pub fn read(text: &str, file_name: &str) -> Result<ConfFile> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = BTreeMap::new();

    for (line_number, line) in logical_lines(text) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }

        let content = strip_inline_comment(&line);
        let invalid_line = || {
            Error::config(format!(
                "invalid line '{}' at {}:{} (accepted: key = value, a comment starting with # or ;, or a blank line)",
                printable(line.trim()),
                file_name,
                line_number
            ))
        };
        let (key, value) = content.split_once('=').ok_or_else(invalid_line)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid_line());
        }

        let entry = Entry {
            value: value.trim().replace("\\#", "#"),
            line: line_number,
        };
        entries.insert(normalize_key(key), entry);
    }

    Ok(ConfFile {
        file_name: file_name.to_string(),
        entries,
    })
}

/// Splits a list value on commas, trims each entry and drops empty entries,
/// as Kong does for its `array` properties.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// Replaces every byte of `key` that is not an ASCII letter or digit with `_`,
/// as Penlight does. A multi-byte character therefore becomes several `_`.
pub fn normalize_key(key: &str) -> String {
    key.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                byte as char
            } else {
                '_'
            }
        })
        .collect()
}

/// Escapes control characters so that a value can be quoted in a one-line
/// message.
pub(crate) fn printable(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Joins lines that end in `\` with the line after them, and returns each
/// logical line with the number of its first physical line.
///
/// Penlight drops a continued line that reaches the end of the file. This
/// reader keeps it, so a stray `\` on the last line loses no value.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut result = Vec::new();
    let mut pending: Option<(usize, String)> = None;

    for (index, physical) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        let without_space = physical.trim_end();
        match without_space.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(physical);
                result.push((start, joined));
            }
        }
    }

    if let Some(last) = pending {
        result.push(last);
    }
    result
}

/// Cuts `line` at the first `#` that is not preceded by `\`, together with the
/// whitespace before that `#`.
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'#' && (index == 0 || bytes[index - 1] != b'\\') {
            return line[..index].trim_end();
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn value_of(text: &str, key: &str) -> Option<String> {
        let conf = read(text, "kong.conf").expect("text parses");
        conf.get(key).map(|entry| entry.value.clone())
    }

    #[test]
    fn key_value_is_split_on_first_equals() {
        let conf = read("portal_auth_conf = {\"a\": \"b=c\"}\n", "kong.conf").unwrap();
        let entry = conf.get("portal_auth_conf").unwrap();
        assert_eq!(entry.value, "{\"a\": \"b=c\"}");
        assert_eq!(entry.line, 1);
    }

    #[test]
    fn whitespace_around_key_and_value_is_trimmed() {
        assert_eq!(
            value_of("   portal_auth\t=\t basic-auth   \n", "portal_auth").as_deref(),
            Some("basic-auth")
        );
        assert_eq!(
            value_of("portal_auth=key-auth", "portal_auth").as_deref(),
            Some("key-auth")
        );
    }

    #[test]
    fn hash_comment_lines_are_skipped() {
        let conf = read(
            "# portal_auth = basic-auth\n   #portal_auto_approve = on\n",
            "kong.conf",
        )
        .unwrap();
        assert!(conf.is_empty());
    }

    #[test]
    fn semicolon_comment_lines_are_skipped() {
        let conf = read(
            "; portal_auth = basic-auth\n\t;another comment\n",
            "kong.conf",
        )
        .unwrap();
        assert!(conf.is_empty());
    }

    #[test]
    fn blank_lines_are_skipped() {
        let conf = read("\n   \n\t\nportal_auth = key-auth\n\n", "kong.conf").unwrap();
        assert_eq!(conf.len(), 1);
        assert_eq!(conf.get("portal_auth").unwrap().line, 4);
    }

    #[test]
    fn inline_comment_is_stripped() {
        assert_eq!(
            value_of("log_level =        debug       # strip this\n", "log_level").as_deref(),
            Some("debug")
        );
        assert_eq!(
            value_of("portal_auto_approve = on#no space\n", "portal_auto_approve").as_deref(),
            Some("on")
        );
    }

    #[test]
    fn escaped_hash_becomes_literal_hash() {
        let text = "pg_password = test\\#123  # do not strip an escaped octothorpe\n";
        assert_eq!(value_of(text, "pg_password").as_deref(), Some("test#123"));
        assert_eq!(value_of("a = \\#\\#x\\#\n", "a").as_deref(), Some("##x#"));
    }

    #[test]
    fn value_that_is_only_a_comment_is_empty() {
        assert_eq!(
            value_of("portal_auth = # unset for now\n", "portal_auth").as_deref(),
            Some("")
        );
        assert_eq!(
            value_of("portal_auth =\n", "portal_auth").as_deref(),
            Some("")
        );
    }

    #[test]
    fn key_characters_become_underscores() {
        let conf = read(
            "portal.auth-conf = x\nportal_gui_host = y\nclé = z\n",
            "kong.conf",
        )
        .unwrap();
        assert_eq!(conf.get("portal_auth_conf").unwrap().value, "x");
        assert_eq!(conf.get("portal_gui_host").unwrap().value, "y");
        assert_eq!(conf.get("cl__").unwrap().value, "z");
    }

    #[test]
    fn duplicate_key_last_one_wins() {
        let conf = read(
            "portal_auth = basic-auth\nportal_auth = key-auth\n",
            "kong.conf",
        )
        .unwrap();
        let entry = conf.get("portal_auth").unwrap();
        assert_eq!(entry.value, "key-auth");
        assert_eq!(entry.line, 2);
    }

    #[test]
    fn line_numbers_count_comments_and_blanks() {
        let text = "# header\n\n; note\nportal_auth = basic-auth\n\n  # x\nportal_token_exp = 60\n";
        let conf = read(text, "kong.conf").unwrap();
        assert_eq!(conf.get("portal_auth").unwrap().line, 4);
        assert_eq!(conf.get("portal_token_exp").unwrap().line, 7);
    }

    #[test]
    fn trailing_backslash_continues_line() {
        let text =
            "portal_auth_conf = { \"hide_credentials\": \\\n  true }\nportal_auth = basic-auth\n";
        let conf = read(text, "kong.conf").unwrap();
        let entry = conf.get("portal_auth_conf").unwrap();
        assert_eq!(entry.value, "{ \"hide_credentials\":   true }");
        assert_eq!(entry.line, 1);
        assert_eq!(conf.get("portal_auth").unwrap().line, 3);
    }

    #[test]
    fn continuation_allows_trailing_whitespace() {
        assert_eq!(
            value_of("a = one\\  \ntwo\n", "a").as_deref(),
            Some("onetwo")
        );
    }

    #[test]
    fn continued_comment_swallows_next_line() {
        // Penlight joins lines before it looks for comments.
        let conf = read("# a comment \\\nportal_auth = basic-auth\n", "kong.conf").unwrap();
        assert!(conf.get("portal_auth").is_none());
    }

    #[test]
    fn continuation_on_last_line_keeps_value() {
        assert_eq!(value_of("a = tail\\", "a").as_deref(), Some("tail"));
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let text = "# comment\r\nportal_auth = key-auth\r\nportal_auto_approve = on   # c\r\na = b\\\r\nc\r\n";
        let conf = read(text, "kong.conf").unwrap();
        assert_eq!(conf.get("portal_auth").unwrap().value, "key-auth");
        assert_eq!(conf.get("portal_auto_approve").unwrap().value, "on");
        assert_eq!(conf.get("portal_auto_approve").unwrap().line, 3);
        assert_eq!(conf.get("a").unwrap().value, "bc");
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        assert_eq!(
            value_of("\u{feff}portal_auth = key-auth\n", "portal_auth").as_deref(),
            Some("key-auth")
        );
    }

    #[test]
    fn file_without_sections_is_read() {
        let conf = read(
            "portal_auth = basic-auth\nportal_auto_approve = on\n",
            "kong.conf",
        )
        .unwrap();
        assert_eq!(conf.len(), 2);
    }

    #[test]
    fn line_without_equals_is_rejected() {
        let err = read("# ok\nportal_auth basic-auth\n", "kong.conf").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert_eq!(
            err.message,
            "invalid line 'portal_auth basic-auth' at kong.conf:2 (accepted: key = value, a comment starting with # or ;, or a blank line)"
        );
    }

    #[test]
    fn equals_inside_comment_does_not_make_key() {
        let err = read("portal_auth basic-auth # a = b\n", "/etc/kong/kong.conf").unwrap_err();
        assert_eq!(
            err.message,
            "invalid line 'portal_auth basic-auth # a = b' at /etc/kong/kong.conf:1 (accepted: key = value, a comment starting with # or ;, or a blank line)"
        );
    }

    #[test]
    fn line_without_key_is_rejected() {
        let err = read("\n\n = on\n", "kong.conf").unwrap_err();
        assert_eq!(
            err.message,
            "invalid line '= on' at kong.conf:3 (accepted: key = value, a comment starting with # or ;, or a blank line)"
        );
    }

    #[test]
    fn section_header_is_rejected() {
        let err = read("[portal]\n", "kong.conf").unwrap_err();
        assert_eq!(
            err.message,
            "invalid line '[portal]' at kong.conf:1 (accepted: key = value, a comment starting with # or ;, or a blank line)"
        );
    }

    #[test]
    fn list_entries_are_trimmed_and_empty_dropped() {
        assert_eq!(
            split_list(" a@x.org , ,b@x.org,, "),
            vec!["a@x.org", "b@x.org"]
        );
        assert!(split_list(" , ").is_empty());
        assert!(split_list("").is_empty());
    }
}
