//! Parsing of the address list that an admin pastes into the invite form.

use std::collections::HashMap;

use serde::Serialize;

use crate::email;
use crate::error::{Error, Result};

/// Maximum number of distinct valid addresses in one invite list.
pub const MAX_INVITEES: usize = 1000;
/// Maximum size of the pasted invite list, in bytes (256 KiB).
pub const MAX_INVITE_TEXT_BYTES: usize = 256 * 1024;

/// An entry of the invite list that will not be invited, and why.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The entry as typed, with control characters escaped.
    pub email: String,
    pub reason: String,
}

/// The outcome of parsing an invite list.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct InviteList {
    /// Valid addresses in order of first appearance, each spelled as first typed.
    pub accepted: Vec<String>,
    /// Entries that are not valid addresses, with the validation reason.
    pub invalid: Vec<Rejected>,
    /// Later spellings of an accepted address, compared without regard to case.
    pub duplicates: Vec<Rejected>,
}

/// Splits a pasted list of addresses, validates each and removes duplicates.
///
/// Entries are separated by commas, semicolons or any whitespace, including
/// CRLF and LF line breaks, and empty entries are dropped. One pair of angle
/// brackets around an entry (`<dev@example.com>`, as mail clients copy
/// addresses) is removed. In the `Name <addr>` form that mail clients copy,
/// the name is dropped: within one comma-, semicolon- or line-separated part
/// that contains a bracketed address, words without `@` are the display name,
/// and a double-quoted name may contain commas.
///
/// Returns an `Invalid` error when the text is over 256 KiB or contains more than
/// 1000 distinct valid addresses.
pub fn parse_invite_list(text: &str) -> Result<InviteList> {
    check_size(text.len())?;
    let mut entries = Vec::new();
    for part in split_parts(text) {
        let named = has_bracketed_address(part);
        for word in part.split(char::is_whitespace).filter(|w| !w.is_empty()) {
            // In `"Jane Doe" <jane@example.com>`, the words without `@` are
            // the display name, not invitees.
            if named && !word.contains('@') {
                continue;
            }
            entries.push(word);
        }
    }
    collect(entries.into_iter())
}

/// Splits at commas, semicolons and line breaks outside double quotes.
fn split_parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (at, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' | ';' | '\r' | '\n' if !quoted => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Tells whether a part contains `<...@...>`, the address of a `Name <addr>`.
fn has_bracketed_address(part: &str) -> bool {
    let Some(open) = part.find('<') else {
        return false;
    };
    let rest = &part[open..];
    match (rest.find('@'), rest.find('>')) {
        (Some(at), Some(close)) => at < close,
        _ => false,
    }
}

/// Validates a list of entries that each hold one address, as sent in a JSON
/// array, and removes duplicates.
///
/// Unlike [`parse_invite_list`], an entry is never split: `a b@example.com`
/// is one invalid entry. Each entry is trimmed, blank entries are dropped and
/// one pair of angle brackets is removed. The limits are those of
/// [`parse_invite_list`], with the entries' lengths summed for the size.
pub fn parse_invite_entries(entries: &[String]) -> Result<InviteList> {
    check_size(entries.iter().map(String::len).sum())?;
    collect(entries.iter().map(|entry| entry.trim()).filter(|entry| !entry.is_empty()))
}

fn check_size(bytes: usize) -> Result<()> {
    if bytes > MAX_INVITE_TEXT_BYTES {
        return Err(Error::invalid(format!(
            "invite list too large: {bytes} bytes (at most {MAX_INVITE_TEXT_BYTES} bytes, 256 KiB); \
             split it over several invites"
        )));
    }
    Ok(())
}

/// Validates each entry, in order, and sorts it into accepted, invalid or
/// duplicate.
fn collect<'a>(entries: impl Iterator<Item = &'a str>) -> Result<InviteList> {
    let mut list = InviteList {
        accepted: Vec::new(),
        invalid: Vec::new(),
        duplicates: Vec::new(),
    };
    // Maps each accepted address's key to its index in `list.accepted`.
    let mut seen: HashMap<String, usize> = HashMap::new();

    for entry in entries {
        let address = strip_angle_brackets(entry);
        if let Err(reason) = email::validate(address) {
            list.invalid.push(Rejected {
                email: escape_controls(entry),
                reason,
            });
            continue;
        }

        let key = email::key(address);
        if let Some(&index) = seen.get(&key) {
            list.duplicates.push(Rejected {
                email: entry.to_string(),
                reason: format!("duplicate of '{}'", list.accepted[index]),
            });
            continue;
        }
        seen.insert(key, list.accepted.len());
        list.accepted.push(address.to_string());
    }

    if list.accepted.len() > MAX_INVITEES {
        return Err(Error::invalid(format!(
            "too many addresses: {} (at most {MAX_INVITEES} per invite)",
            list.accepted.len()
        )));
    }
    Ok(list)
}

fn strip_angle_brackets(entry: &str) -> &str {
    entry
        .strip_prefix('<')
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(entry)
}

/// Escapes control characters (`\u{0}`, `\u{1b}`, CR, LF and so on) and leaves
/// the rest as typed, so an entry can be shown or logged safely. Line breaks
/// separate entries in a pasted list, but an array element may contain them.
fn escape_controls(entry: &str) -> String {
    let mut out = String::with_capacity(entry.len());
    for c in entry.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn parse(text: &str) -> InviteList {
        parse_invite_list(text).expect(text)
    }

    fn rejected(email: &str, reason: &str) -> Rejected {
        Rejected {
            email: email.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn parse_splits_mixed_separators() {
        let list = parse("a@x.com, b@x.com;c@x.com d@x.com\te@x.com\nf@x.com\r\ng@x.com");
        assert_eq!(
            list.accepted,
            ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com", "f@x.com", "g@x.com"]
        );
        assert!(list.invalid.is_empty());
        assert!(list.duplicates.is_empty());
    }

    #[test]
    fn parse_drops_empty_entries() {
        let list = parse(",,a@x.com,, ;;\r\n\r\nb@x.com,\n");
        assert_eq!(list.accepted, ["a@x.com", "b@x.com"]);
        assert!(list.invalid.is_empty());
        assert!(!list.accepted.iter().any(|a| a.is_empty()));
    }

    #[test]
    fn parse_empty_text_gives_empty_list() {
        for text in ["", "\n", "\r\n", " , ; "] {
            let list = parse(text);
            assert!(list.accepted.is_empty(), "{text:?}");
            assert!(list.invalid.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn parse_handles_crlf_lines() {
        let list = parse("a@x.com\r\nb@x.com\r\n");
        assert_eq!(list.accepted, ["a@x.com", "b@x.com"]);
        assert!(list.invalid.is_empty());
    }

    #[test]
    fn parse_drops_display_names() {
        let list = parse(
            "\"Doe, Jane\" <jane@example.com>, Bob Smith <bob@example.com>; carol@example.com",
        );
        assert_eq!(list.accepted, ["jane@example.com", "bob@example.com", "carol@example.com"]);
        assert!(list.invalid.is_empty(), "{:?}", list.invalid);
    }

    #[test]
    fn parse_keeps_words_without_brackets_as_entries() {
        let list = parse("user@exa mple.com");
        assert!(list.accepted.is_empty());
        assert_eq!(list.invalid.len(), 2);
    }

    #[test]
    fn parse_strips_one_pair_of_angle_brackets() {
        let list = parse("<a@x.com>, <<b@x.com>>, <c@x.com, <>");
        assert_eq!(list.accepted, ["a@x.com"]);
        assert_eq!(
            list.invalid,
            [
                rejected("<<b@x.com>>", "invalid format: local-part contains '<'"),
                rejected("<c@x.com", "invalid format: local-part contains '<'"),
                rejected("<>", "address is empty"),
            ]
        );
    }

    #[test]
    fn parse_keeps_first_spelling_of_duplicates() {
        let list =
            parse("Dev1@Example.com, dev1@example.com\n<DEV1@EXAMPLE.COM>, b@x.com, b@x.com");
        assert_eq!(list.accepted, ["Dev1@Example.com", "b@x.com"]);
        assert_eq!(
            list.duplicates,
            [
                rejected("dev1@example.com", "duplicate of 'Dev1@Example.com'"),
                rejected("<DEV1@EXAMPLE.COM>", "duplicate of 'Dev1@Example.com'"),
                rejected("b@x.com", "duplicate of 'b@x.com'"),
            ]
        );
    }

    #[test]
    fn parse_lists_invalid_entries_with_reasons() {
        let list = parse("good@x.com, nobody, @x.com, dev@localhost, josé@x.com, a\0b@x.com");
        assert_eq!(list.accepted, ["good@x.com"]);
        assert_eq!(
            list.invalid,
            [
                rejected("nobody", "missing '@' symbol"),
                rejected("@x.com", "missing local-part"),
                rejected("dev@localhost", "domain missing '.' character"),
                rejected(
                    "josé@x.com",
                    "non-ASCII characters are not supported; write the domain in its xn-- \
                     form and the local part in ASCII"
                ),
                rejected("a\\0b@x.com", "contains whitespace or control characters"),
            ]
        );
    }

    #[test]
    fn parse_accepts_1000_addresses() {
        let text: Vec<String> = (0..1000).map(|i| format!("dev{i}@example.com")).collect();
        let list = parse(&text.join(","));
        assert_eq!(list.accepted.len(), 1000);
        assert_eq!(list.accepted, text);
    }

    #[test]
    fn parse_rejects_over_1000_addresses() {
        let text: Vec<String> = (0..1234).map(|i| format!("dev{i}@example.com")).collect();
        let err = parse_invite_list(&text.join("\n")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(
            err.message,
            "too many addresses: 1234 (at most 1000 per invite)"
        );
    }

    #[test]
    fn parse_cap_ignores_duplicates_and_invalid() {
        let mut text: Vec<String> = (0..1000).map(|i| format!("dev{i}@example.com")).collect();
        text.extend((0..500).map(|i| format!("DEV{i}@EXAMPLE.COM")));
        text.extend((0..500).map(|i| format!("broken{i}")));
        let list = parse(&text.join(","));
        assert_eq!(list.accepted.len(), 1000);
        assert_eq!(list.duplicates.len(), 500);
        assert_eq!(list.invalid.len(), 500);
    }

    #[test]
    fn entries_are_never_split() {
        let entries: Vec<String> = ["a b@x.com", " c@x.com ", "", "<d@x.com>", "e@x.com,f@x.com", "g\r\nh@x.com"]
            .iter()
            .map(|e| e.to_string())
            .collect();
        let list = parse_invite_entries(&entries).unwrap();
        assert_eq!(list.accepted, ["c@x.com", "d@x.com"]);
        let invalid: Vec<&str> = list.invalid.iter().map(|r| r.email.as_str()).collect();
        assert_eq!(invalid, ["a b@x.com", "e@x.com,f@x.com", "g\\r\\nh@x.com"]);
        assert_eq!(list.invalid[0].reason, "contains whitespace or control characters");
    }

    #[test]
    fn entries_share_the_size_limit() {
        let entries = vec!["a".repeat(MAX_INVITE_TEXT_BYTES / 2), "b".repeat(MAX_INVITE_TEXT_BYTES / 2 + 1)];
        let err = parse_invite_entries(&entries).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err.message.starts_with("invite list too large: 262145 bytes"), "{}", err.message);
    }

    #[test]
    fn parse_rejects_text_over_256_kib() {
        let text = " ".repeat(MAX_INVITE_TEXT_BYTES + 1);
        let err = parse_invite_list(&text).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(
            err.message,
            "invite list too large: 262145 bytes (at most 262144 bytes, 256 KiB); \
             split it over several invites"
        );
        assert!(parse_invite_list(&" ".repeat(MAX_INVITE_TEXT_BYTES)).is_ok());
    }
}
