//! Email address validation and the case-insensitive developer identity.
//!
//! Accepted addresses are ASCII `local-part@domain` with a dot-atom local part
//! (RFC 5322 section 3.2.3) and a host name domain of letters, digits and
//! hyphens (RFC 1035 section 2.3.1, as relaxed by RFC 1123). Quoted local parts,
//! IP address literals and non-ASCII addresses (RFC 6531) are rejected.

use crate::error::{Error, Result};

/// Maximum length of the local part (RFC 5321 section 4.5.3.1.1).
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// Maximum length of the domain as text. RFC 1035 section 2.3.4 limits a name
/// to 255 octets in wire format, which is 253 characters written out.
pub const MAX_DOMAIN_LEN: usize = 253;
/// Maximum length of the whole address: a 256-octet SMTP path minus its two
/// angle brackets (RFC 5321 section 4.5.3.1.3).
pub const MAX_ADDRESS_LEN: usize = 254;
/// Maximum length of one domain label (RFC 1035 section 2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Maximum number of characters of a rejected value echoed in an error message,
/// so that a huge input does not end up whole in a log line.
const MAX_ECHOED_LEN: usize = 300;

/// Validates an email address as given, without trimming it.
///
/// The error is a lowercase reason such as `missing '@' symbol` or
/// `domain missing '.' character`, meant to follow "invalid email '...':".
pub fn validate(input: &str) -> std::result::Result<(), String> {
    if input.is_empty() {
        return Err("address is empty".into());
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters".into());
    }
    if !input.is_ascii() {
        return Err(
            "non-ASCII characters are not supported; write the domain in its xn-- \
                    form and the local part in ASCII"
                .into(),
        );
    }

    // The domain cannot contain '@', so the last one separates the parts. An
    // '@' left in the local part is reported below as a character it may not
    // contain, unless the local part is quoted.
    let Some(at) = input.rfind('@') else {
        return Err("missing '@' symbol".into());
    };
    let local = &input[..at];
    let domain = &input[at + 1..];

    if local.is_empty() {
        return Err("missing local-part".into());
    }
    if domain.is_empty() {
        return Err("missing domain".into());
    }
    if local.len() > MAX_LOCAL_PART_LEN {
        return Err(format!("local-part over {MAX_LOCAL_PART_LEN} characters"));
    }
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(format!("domain over {MAX_DOMAIN_LEN} characters"));
    }
    if input.len() > MAX_ADDRESS_LEN {
        return Err(format!("address over {MAX_ADDRESS_LEN} characters"));
    }

    validate_local_part(local)?;
    validate_domain(domain)
}

/// Checks the dot-atom rules of the local part.
fn validate_local_part(local: &str) -> std::result::Result<(), String> {
    if local.starts_with('"') {
        return Err("invalid format: quoted local parts are not supported".into());
    }
    if local.starts_with('.') {
        return Err("invalid format: local-part starts with '.'".into());
    }
    if local.ends_with('.') {
        return Err("invalid format: local-part ends with '.'".into());
    }
    if local.contains("..") {
        return Err("invalid format: local-part contains '..'".into());
    }
    if let Some(c) = local.chars().find(|&c| !is_atext(c) && c != '.') {
        return Err(format!("invalid format: local-part contains '{c}'"));
    }
    Ok(())
}

/// Checks the host name rules of the domain.
fn validate_domain(domain: &str) -> std::result::Result<(), String> {
    if domain.starts_with('[') {
        return Err("invalid format: IP address literals are not supported".into());
    }
    if let Some(c) = domain
        .chars()
        .find(|&c| !c.is_ascii_alphanumeric() && c != '-' && c != '.')
    {
        return Err(format!("invalid format: domain contains '{c}'"));
    }
    if !domain.contains('.') {
        return Err("domain missing '.' character".into());
    }

    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("invalid format: domain starts or ends with '.' or contains '..'".into());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "invalid format: domain label '{label}' over {MAX_LABEL_LEN} characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "invalid format: domain label '{label}' starts or ends with '-'"
            ));
        }
    }

    // An all-digit top-level domain would make `1.2.3.4` look like a host name.
    let top_level = labels[labels.len() - 1];
    if top_level.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid format: top-level domain is all digits".into());
    }
    Ok(())
}

/// Returns whether `c` is an RFC 5322 `atext` character, which are the
/// characters of a dot-atom apart from the dot.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Returns the identity that makes two spellings of an address one developer:
/// the whole address in ASCII lowercase.
///
/// `Dev1@Example.com` and `dev1@example.com` are one developer. The local part
/// is case-sensitive in RFC 5321, but treating it so would let one person
/// register twice by changing the case of their address.
pub fn key(email: &str) -> String {
    email.to_ascii_lowercase()
}

/// Trims `input`, validates it and returns the trimmed address in its original
/// case.
///
/// The `Invalid` error names the field, the value and the reason. Control
/// characters in the echoed value are escaped, so a CR or LF never reaches a
/// log line raw, and a value over 300 characters is cut short.
pub fn check(field: &str, input: &str) -> Result<String> {
    let trimmed = input.trim();
    match validate(trimmed) {
        Ok(()) => Ok(trimmed.to_string()),
        Err(reason) => Err(Error::invalid(format!(
            "invalid email '{}' in {field}: {reason}",
            echo(input)
        ))),
    }
}

/// Formats a rejected value for a message: escaped with `escape_debug` and
/// cut to `MAX_ECHOED_LEN` characters.
pub(crate) fn echo(value: &str) -> String {
    let mut echoed: String = value.chars().take(MAX_ECHOED_LEN).collect();
    if echoed.len() < value.len() {
        echoed.push_str("...");
    }
    echoed.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn reason(input: &str) -> String {
        validate(input).expect_err(input)
    }

    #[test]
    fn validate_accepts_common_addresses() {
        for ok in [
            "dev1@example.com",
            "Dev1@Example.COM",
            "first.last@sub.example.co.uk",
            "a+tag@x.io",
            "o'brien@example.ie",
            "a%0Ab@example.com",
            "x@xn--bcher-kva.example",
            "user_name-1@my-host.example",
            "!#$%&'*+-/=?^_`{|}~@example.com",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn validate_reports_missing_parts() {
        assert_eq!(reason(""), "address is empty");
        assert_eq!(reason("dev.example.com"), "missing '@' symbol");
        assert_eq!(reason("@example.com"), "missing local-part");
        assert_eq!(reason("dev@"), "missing domain");
        assert_eq!(reason("dev@localhost"), "domain missing '.' character");
    }

    #[test]
    fn validate_reports_whitespace_and_controls() {
        let expected = "contains whitespace or control characters";
        for bad in [
            "dev @example.com",
            " dev@example.com",
            "dev@example.com\r\nBcc: x@y.z",
            "dev@example.com\n",
            "dev\t@example.com",
            "dev\0@example.com",
            "dev\u{a0}@example.com",
        ] {
            assert_eq!(reason(bad), expected, "{bad:?}");
        }
    }

    #[test]
    fn validate_rejects_non_ascii() {
        let expected = "non-ASCII characters are not supported; write the domain in its \
                        xn-- form and the local part in ASCII";
        assert_eq!(reason("dev@bücher.example"), expected);
        assert_eq!(reason("josé@example.com"), expected);
        assert_eq!(reason("用户@例子.广告"), expected);
    }

    #[test]
    fn validate_local_part_length_limit() {
        let ok = format!("{}@example.com", "a".repeat(64));
        let long = format!("{}@example.com", "a".repeat(65));
        assert_eq!(validate(&ok), Ok(()));
        assert_eq!(reason(&long), "local-part over 64 characters");
    }

    #[test]
    fn validate_domain_length_limits() {
        // Four labels of 63 characters plus three dots make 255; trim to size.
        let label = "d".repeat(63);
        let base = format!("{label}.{label}.{label}.{label}");
        let domain_253 = format!("{}.com", &base[..249]);
        let domain_254 = format!("{}.com", &base[..250]);
        assert_eq!(domain_253.len(), 253);
        assert_eq!(domain_254.len(), 254);

        assert_eq!(
            reason(&format!("a@{domain_254}")),
            "domain over 253 characters"
        );
        // A valid 253-character domain leaves room for no local part at all.
        assert_eq!(
            reason(&format!("a@{domain_253}")),
            "address over 254 characters"
        );

        let domain_252 = format!("{}.com", &base[..248]);
        assert_eq!(validate(&format!("a@{domain_252}")), Ok(()));
        assert_eq!(format!("a@{domain_252}").len(), 254);
        assert_eq!(
            reason(&format!("ab@{domain_252}")),
            "address over 254 characters"
        );
    }

    #[test]
    fn validate_reports_dot_rules() {
        assert_eq!(
            reason(".dev@example.com"),
            "invalid format: local-part starts with '.'"
        );
        assert_eq!(
            reason("dev.@example.com"),
            "invalid format: local-part ends with '.'"
        );
        assert_eq!(
            reason("d..ev@example.com"),
            "invalid format: local-part contains '..'"
        );
        let domain_dots = "invalid format: domain starts or ends with '.' or contains '..'";
        assert_eq!(reason("dev@.example.com"), domain_dots);
        assert_eq!(reason("dev@example.com."), domain_dots);
        assert_eq!(reason("dev@example..com"), domain_dots);
    }

    #[test]
    fn validate_reports_bad_characters() {
        assert_eq!(
            reason("\"dev\"@example.com"),
            "invalid format: quoted local parts are not supported"
        );
        assert_eq!(
            reason("a@b@example.com"),
            "invalid format: local-part contains '@'"
        );
        assert_eq!(
            reason("a(b)@example.com"),
            "invalid format: local-part contains '('"
        );
        assert_eq!(
            reason("dev@exa%0Ample.com"),
            "invalid format: domain contains '%'"
        );
        assert_eq!(
            reason("dev@exa_mple.com"),
            "invalid format: domain contains '_'"
        );
        assert_eq!(
            reason("dev@[192.0.2.1]"),
            "invalid format: IP address literals are not supported"
        );
        assert_eq!(
            reason("dev@192.0.2.1"),
            "invalid format: top-level domain is all digits"
        );
    }

    #[test]
    fn validate_reports_label_rules() {
        assert_eq!(
            reason("dev@-example.com"),
            "invalid format: domain label '-example' starts or ends with '-'"
        );
        assert_eq!(
            reason("dev@example-.com"),
            "invalid format: domain label 'example-' starts or ends with '-'"
        );
        let label_63 = "l".repeat(63);
        let label_64 = "l".repeat(64);
        assert_eq!(validate(&format!("dev@{label_63}.com")), Ok(()));
        assert_eq!(
            reason(&format!("dev@{label_64}.com")),
            format!("invalid format: domain label '{label_64}' over 63 characters")
        );
    }

    #[test]
    fn key_lowercases_whole_address() {
        assert_eq!(key("Dev1@Example.com"), "dev1@example.com");
        assert_eq!(key("Dev1@Example.com"), key("dev1@example.com"));
    }

    #[test]
    fn check_trims_and_keeps_case() {
        assert_eq!(
            check("email", "  Dev1@Example.com \n"),
            Ok("Dev1@Example.com".into())
        );
    }

    #[test]
    fn check_error_names_field_and_value() {
        let err = check("portal_emails_from", "nobody").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(
            err.message,
            "invalid email 'nobody' in portal_emails_from: missing '@' symbol"
        );
    }

    #[test]
    fn check_escapes_line_breaks() {
        let err = check("email", "a@example.com\r\nBcc: evil@example.com").unwrap_err();
        assert!(!err.message.contains('\r'), "{}", err.message);
        assert!(!err.message.contains('\n'), "{}", err.message);
        assert!(err
            .message
            .contains(r"a@example.com\r\nBcc: evil@example.com"));
        assert!(err
            .message
            .ends_with("contains whitespace or control characters"));
    }

    #[test]
    fn check_cuts_huge_values() {
        let huge = "a".repeat(100_000);
        let err = check("email", &huge).unwrap_err();
        assert!(err.message.len() < 400, "{} bytes", err.message.len());
        assert!(err.message.contains("..."));
    }
}
