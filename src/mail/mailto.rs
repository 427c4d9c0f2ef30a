//! `mailto:` links (RFC 6068) that open a pre-filled email in the admin's own
//! mail client: the invite, with every invitee in Bcc, and the approved email.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::templates::{render, Templates};
use crate::email;
use crate::error::{Error, Result};

/// Maximum length of one link, in characters, kept short because browsers and
/// mail clients may cut or reject long `mailto:` URLs.
// NOTE: 2000 is a conservative choice, not a documented limit of a particular
// client.
pub const MAX_MAILTO_LEN: usize = 2000;

/// Characters that are percent-encoded in every part of a link: all but the
/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) and `@`. So `+`
/// becomes `%2B` and a space `%20`, and `&`, `=`, `?`, `#`, `%`, `/` and `:`
/// cannot end or split a field. Non-ASCII text is encoded as UTF-8 bytes.
const MAILTO_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

const INVITE_PREFIX: &str = "mailto:?bcc=";

/// Builds the invite links: every address in `bcc` is a Bcc recipient and
/// the To part stays empty, so invitees do not see each other.
///
/// Returns one link when it fits in `MAX_MAILTO_LEN` characters, and otherwise
/// splits the invitees, in order, over as few links as greedy packing gives.
/// Each link has the same subject and body, and every entry of `bcc`,
/// duplicates included, appears in exactly one link.
///
/// Returns an `Invalid` error when `bcc` is empty or contains an invalid address,
/// or when `portal_url` is not an http(s) URL, and a `Config` error when the
/// subject and body leave no room for even one invitee.
pub fn invite_links(bcc: &[String], portal_url: &str, t: &Templates) -> Result<Vec<String>> {
    if bcc.is_empty() {
        return Err(Error::invalid(
            "no addresses to invite: the bcc list is empty",
        ));
    }
    let urls = PortalUrls::new(portal_url)?;

    let mut encoded = Vec::with_capacity(bcc.len());
    for address in bcc {
        if let Err(reason) = email::validate(address) {
            return Err(Error::invalid(format!(
                "invalid email '{}' in bcc: {reason}",
                email::echo(address)
            )));
        }
        encoded.push(encode(address));
    }

    let subject = render(&t.invite.subject, |name| {
        urls.value(name).map(|v| one_line(&v))
    });
    let body = render(&t.invite.body, |name| urls.value(name));
    let suffix = format!("&{}", header_fields(&subject, &body));
    let fixed_len = INVITE_PREFIX.len() + suffix.len();

    // Greedy packing: add invitees to the current link until the next one
    // would push it over the limit.
    let mut links = Vec::new();
    let mut current = String::from(INVITE_PREFIX);
    let mut current_count = 0;
    for address in &encoded {
        if fixed_len + address.len() > MAX_MAILTO_LEN {
            return Err(Error::config(format!(
                "invite message too long for a mailto link: with one invitee the link is {} \
                 characters, over the limit of {MAX_MAILTO_LEN}; shorten the [invite] subject \
                 or body",
                fixed_len + address.len()
            )));
        }
        let separator_len = usize::from(current_count > 0);
        if current.len() + separator_len + address.len() + suffix.len() > MAX_MAILTO_LEN {
            current.push_str(&suffix);
            links.push(current);
            current = String::from(INVITE_PREFIX);
            current_count = 0;
        }
        if current_count > 0 {
            current.push(',');
        }
        current.push_str(address);
        current_count += 1;
    }
    current.push_str(&suffix);
    links.push(current);
    Ok(links)
}

/// Builds the approved email link for one developer: `mailto:<email>` with
/// a subject and a body that give the login page and the login email.
///
/// `name` fills `{name}` and falls back to the email when it is absent or
/// blank. When the name would make the link longer than `MAX_MAILTO_LEN`, the
/// email is used in its place.
///
/// Returns an `Invalid` error when `email` is not a valid address as given or
/// when `portal_url` is not an http(s) URL. The email is not trimmed, so a CR
/// or LF is rejected. Returns a `Config` error when the templates alone make
/// the link too long.
pub fn approved_link(
    email: &str,
    name: Option<&str>,
    portal_url: &str,
    t: &Templates,
) -> Result<String> {
    if let Err(reason) = email::validate(email) {
        return Err(Error::invalid(format!(
            "invalid email '{}' in approved email: {reason}",
            email::echo(email)
        )));
    }
    let urls = PortalUrls::new(portal_url)?;

    // The name comes from what the developer typed at registration, so it may
    // contain anything. Rejecting it would leave the admin unable to write to
    // that developer, so control characters become spaces instead. In the body
    // a space is harmless text. In the subject it means that no line break can
    // reach the header that the mail client builds from it.
    let name = name.map(clean_name).filter(|n| !n.is_empty());

    let link = build_approved_link(email, name.as_deref().unwrap_or(email), &urls, t);
    if link.len() <= MAX_MAILTO_LEN {
        return Ok(link);
    }
    let link = build_approved_link(email, email, &urls, t);
    if link.len() <= MAX_MAILTO_LEN {
        return Ok(link);
    }
    Err(Error::config(format!(
        "approved message too long for a mailto link: the link is {} characters, over the \
         limit of {MAX_MAILTO_LEN}; shorten the [approved] subject or body",
        link.len()
    )))
}

fn build_approved_link(email: &str, name: &str, urls: &PortalUrls, t: &Templates) -> String {
    let value = |placeholder: &str| match placeholder {
        "email" => Some(email.to_string()),
        "name" => Some(name.to_string()),
        other => urls.value(other),
    };
    let subject = render(&t.approved.subject, |p| value(p).map(|v| one_line(&v)));
    let body = render(&t.approved.body, value);
    format!(
        "mailto:{}?{}",
        encode(email),
        header_fields(&subject, &body)
    )
}

/// The portal URL with the registration and login page URLs derived from it.
struct PortalUrls {
    portal: String,
    register: String,
    login: String,
}

impl PortalUrls {
    /// Checks that `portal_url` is an http(s) URL without whitespace or control
    /// characters, and removes trailing slashes so that `/register` and
    /// `/login` can be appended.
    fn new(portal_url: &str) -> Result<PortalUrls> {
        let invalid = |why: &str| {
            Error::invalid(format!(
                "invalid portal URL '{}': {why}",
                email::echo(portal_url)
            ))
        };
        if portal_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("contains whitespace or control characters"));
        }
        let lower = portal_url.to_ascii_lowercase();
        let host_start = if lower.starts_with("https://") {
            "https://".len()
        } else if lower.starts_with("http://") {
            "http://".len()
        } else {
            return Err(invalid("expected an http:// or https:// URL"));
        };
        let portal = portal_url.trim_end_matches('/');
        if portal.len() <= host_start {
            return Err(invalid("missing host"));
        }
        Ok(PortalUrls {
            portal: portal.to_string(),
            register: format!("{portal}/register"),
            login: format!("{portal}/login"),
        })
    }

    fn value(&self, placeholder: &str) -> Option<String> {
        match placeholder {
            "portal_url" => Some(self.portal.clone()),
            "register_url" => Some(self.register.clone()),
            "login_url" => Some(self.login.clone()),
            _ => None,
        }
    }
}

/// Formats the `subject=...&body=...` header fields, with the body's line
/// breaks as CRLF, which RFC 6068 section 2 requires.
fn header_fields(subject: &str, body: &str) -> String {
    format!(
        "subject={}&body={}",
        encode(subject),
        encode(&crlf_line_breaks(body))
    )
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, MAILTO_ENCODE).to_string()
}

/// Converts LF, CR and CRLF line breaks to CRLF.
fn crlf_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n")
}

/// Replaces control characters, CR and LF included, with spaces.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn clean_name(name: &str) -> String {
    one_line(name).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use percent_encoding::percent_decode_str;

    const PORTAL: &str = "https://portal.example.com";

    fn test_templates() -> Templates {
        Templates::from_toml(
            r#"
[invite]
subject = "Join us at {portal_url}"
body = "Hi!\nRegister: {register_url}\r\nBye"

[approved]
subject = "Welcome {name}"
body = "Hello {name},\nlog in at {login_url} as {email}."
"#,
        )
        .unwrap()
    }

    fn decode(text: &str) -> String {
        percent_decode_str(text).decode_utf8().unwrap().into_owned()
    }

    /// Splits an invite link into its decoded bcc addresses, subject and body.
    fn parse_invite(link: &str) -> (Vec<String>, String, String) {
        let rest = link.strip_prefix("mailto:?bcc=").expect(link);
        let (bcc, fields) = rest.split_once("&subject=").expect(link);
        let (subject, body) = fields.split_once("&body=").expect(link);
        let addresses = bcc.split(',').map(decode).collect();
        (addresses, decode(subject), decode(body))
    }

    /// Builds a valid address of about 200 characters with a `+` and the index.
    fn long_address(i: usize) -> String {
        let local = format!("developer.{i}+portal-invite.{}", "l".repeat(40));
        let local = &local[..64];
        format!(
            "{local}@{}.{}.team{i}.example.com",
            "a".repeat(60),
            "b".repeat(60)
        )
    }

    fn check_invite_links(bcc: &[String], t: &Templates) {
        let links = invite_links(bcc, PORTAL, t).unwrap();
        let mut collected = Vec::new();
        for link in &links {
            assert!(
                link.len() <= MAX_MAILTO_LEN,
                "{} > {MAX_MAILTO_LEN}",
                link.len()
            );
            let (addresses, _, _) = parse_invite(link);
            assert!(!addresses.is_empty());
            collected.extend(addresses);
        }
        assert_eq!(collected, bcc);
    }

    #[test]
    fn invite_link_exact_for_two_invitees() {
        let bcc = ["a+b@x.com".to_string(), "c@y.org".to_string()];
        let links = invite_links(&bcc, "https://portal.example.com/", &test_templates()).unwrap();
        assert_eq!(
            links,
            ["mailto:?bcc=a%2Bb@x.com,c@y.org\
              &subject=Join%20us%20at%20https%3A%2F%2Fportal.example.com\
              &body=Hi%21%0D%0ARegister%3A%20https%3A%2F%2Fportal.example.com%2Fregister%0D%0ABye"]
        );
    }

    #[test]
    fn invite_link_encodes_reserved_characters() {
        let bcc = ["a&b=c?d#e%f/g@x.com".to_string()];
        let links = invite_links(&bcc, PORTAL, &test_templates()).unwrap();
        assert!(links[0].starts_with("mailto:?bcc=a%26b%3Dc%3Fd%23e%25f%2Fg@x.com&subject="));
        let (addresses, _, _) = parse_invite(&links[0]);
        assert_eq!(addresses, bcc);
    }

    #[test]
    fn invite_link_default_texts_decode() {
        let bcc = ["dev@example.com".to_string()];
        let links = invite_links(&bcc, PORTAL, &Templates::default()).unwrap();
        assert_eq!(links.len(), 1);
        assert!(!links[0].contains('+'));
        assert!(!links[0].contains(' '));
        let (addresses, subject, body) = parse_invite(&links[0]);
        assert_eq!(addresses, bcc);
        assert!(subject.contains(PORTAL));
        assert!(!subject.contains(['\r', '\n']));
        assert!(body.contains("https://portal.example.com/register"));
        assert!(body.contains("\r\n"));
        assert!(!body.replace("\r\n", "").contains(['\r', '\n']));
    }

    #[test]
    fn invite_links_keep_every_long_address() {
        for count in [1, 50, 500] {
            let bcc: Vec<String> = (0..count).map(long_address).collect();
            for address in &bcc {
                assert_eq!(email::validate(address), Ok(()), "{address}");
            }
            check_invite_links(&bcc, &Templates::default());
            check_invite_links(&bcc, &test_templates());
        }
    }

    #[test]
    fn invite_links_split_only_when_needed() {
        let bcc: Vec<String> = (0..500).map(long_address).collect();
        let links = invite_links(&bcc, PORTAL, &Templates::default()).unwrap();
        assert!(links.len() > 1);
        let few = invite_links(&bcc[..3], PORTAL, &Templates::default()).unwrap();
        assert_eq!(few.len(), 1);
    }

    /// A small deterministic generator (64-bit LCG), so the test needs no crate.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % bound as u64) as usize
        }
    }

    #[test]
    fn invite_links_never_drop_or_repeat() {
        // Characters that need encoding (`%`, `+`, `/`, ...) make the encoded
        // length of an address up to three times its own.
        const LOCAL_CHARS: &[u8] = b"abcxyz0189-_~+%&=?#/!$'*^`{|}";
        let mut random = Lcg(0x5eed);
        let mut split_rounds = 0;

        for round in 0..200 {
            let padding = "x".repeat(random.next(1300));
            let text = format!(
                "[invite]\nsubject = \"Join {{portal_url}} {round}\"\n\
                 body = \"{padding}\\n{{register_url}}\"\n\
                 [approved]\nsubject = \"s\"\nbody = \"b\"\n"
            );
            let t = Templates::from_toml(&text).unwrap();

            let count = 1 + random.next(300);
            let bcc: Vec<String> = (0..count)
                .map(|i| {
                    let len = 1 + random.next(64);
                    let local: String = (0..len)
                        .map(|_| LOCAL_CHARS[random.next(LOCAL_CHARS.len())] as char)
                        .collect();
                    // Case-insensitive duplicates are allowed here on purpose.
                    if i > 0 && random.next(10) == 0 {
                        return format!("{local}@DUP.example.com");
                    }
                    format!("{local}@host{}.example.com", random.next(1000))
                })
                .collect();

            let links = invite_links(&bcc, PORTAL, &t).unwrap();
            if links.len() > 1 {
                split_rounds += 1;
            }
            let mut collected = Vec::new();
            for (index, link) in links.iter().enumerate() {
                assert!(
                    link.len() <= MAX_MAILTO_LEN,
                    "round {round}: {} chars",
                    link.len()
                );
                let (addresses, subject, _) = parse_invite(link);
                assert_eq!(subject, format!("Join {PORTAL} {round}"));
                collected.extend(addresses);

                // Greedy packing: the next address would not have fit.
                if index + 1 < links.len() {
                    let next = encode(&bcc[collected.len()]);
                    assert!(
                        link.len() + 1 + next.len() > MAX_MAILTO_LEN,
                        "round {round}"
                    );
                }
            }
            assert_eq!(collected, bcc, "round {round}");
        }
        // The generator must exercise splitting, not only single links.
        assert!(
            split_rounds > 100,
            "only {split_rounds} of 200 rounds split"
        );
    }

    #[test]
    fn invite_links_reject_oversized_template() {
        let body = "y".repeat(2000);
        let text = format!(
            "[invite]\nsubject = \"s\"\nbody = \"{body}\"\n[approved]\nsubject = \"s\"\nbody = \"b\"\n"
        );
        let t = Templates::from_toml(&text).unwrap();
        let err = invite_links(&["a@x.com".to_string()], PORTAL, &t).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        // "mailto:?bcc=" + "a@x.com" + "&subject=s&body=" + 2000.
        assert!(
            err.message.contains("the link is 2035 characters"),
            "{}",
            err.message
        );
        assert!(err.message.contains("limit of 2000"), "{}", err.message);
    }

    #[test]
    fn invite_links_reject_bad_input() {
        let t = test_templates();
        let err = invite_links(&[], PORTAL, &t).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);

        let bcc = [
            "ok@x.com".to_string(),
            "bad@x.com\r\nBcc: evil@y.com".to_string(),
        ];
        let err = invite_links(&bcc, PORTAL, &t).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(!err.message.contains(['\r', '\n']), "{}", err.message);
        assert!(err.message.contains("in bcc"), "{}", err.message);

        let bcc = ["ok@x.com".to_string()];
        for url in [
            "https://portal.example.com\r\nBcc: evil@y.com",
            "portal.example.com",
            "ftp://portal.example.com",
            "https://",
            "https:///",
            "",
        ] {
            let err = invite_links(&bcc, url, &t).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid, "{url:?}");
            assert!(
                err.message.starts_with("invalid portal URL"),
                "{}",
                err.message
            );
            assert!(!err.message.contains(['\r', '\n']), "{}", err.message);
        }
    }

    #[test]
    fn approved_link_exact() {
        let link = approved_link(
            "a+b@x.com",
            Some("Ada Lovelace"),
            "https://portal.example.com",
            &test_templates(),
        )
        .unwrap();
        assert_eq!(
            link,
            "mailto:a%2Bb@x.com?subject=Welcome%20Ada%20Lovelace\
             &body=Hello%20Ada%20Lovelace%2C%0D%0Alog%20in%20at%20\
             https%3A%2F%2Fportal.example.com%2Flogin%20as%20a%2Bb@x.com."
        );
    }

    #[test]
    fn approved_link_default_texts_decode() {
        let link = approved_link("Dev1@Example.com", None, PORTAL, &Templates::default()).unwrap();
        let rest = link
            .strip_prefix("mailto:Dev1@Example.com?subject=")
            .expect(&link);
        let (subject, body) = rest.split_once("&body=").unwrap();
        assert!(!decode(subject).contains(['\r', '\n']));
        let body = decode(body);
        assert!(body.contains("Hi Dev1@Example.com,"), "{body}");
        assert!(body.contains("https://portal.example.com/login"), "{body}");
        assert!(
            body.contains("Your login email is Dev1@Example.com."),
            "{body}"
        );
    }

    #[test]
    fn approved_link_name_falls_back_to_email() {
        let t = test_templates();
        for name in [None, Some(""), Some("  \r\n ")] {
            let link = approved_link("dev@x.com", name, PORTAL, &t).unwrap();
            assert!(
                link.contains("subject=Welcome%20dev@x.com&"),
                "{name:?}: {link}"
            );
        }
        let huge = "N".repeat(3000);
        let link = approved_link("dev@x.com", Some(&huge), PORTAL, &t).unwrap();
        assert!(link.len() <= MAX_MAILTO_LEN);
        assert!(link.contains("subject=Welcome%20dev@x.com&"), "{link}");
    }

    #[test]
    fn approved_link_name_controls_become_spaces() {
        let name = "Eve\r\nBcc: victim@y.com\0";
        let link = approved_link("dev@x.com", Some(name), PORTAL, &test_templates()).unwrap();
        let (subject, body) = link.split_once("&body=").unwrap();
        assert!(
            !subject.contains("%0D") && !subject.contains("%0A"),
            "{subject}"
        );
        assert!(!subject.contains("%00"), "{subject}");
        assert!(
            subject.ends_with("Welcome%20Eve%20%20Bcc%3A%20victim@y.com"),
            "{subject}"
        );
        assert!(decode(body).starts_with("Hello Eve  Bcc: victim@y.com,\r\n"));
    }

    #[test]
    fn approved_link_rejects_bad_email_and_url() {
        let t = test_templates();
        for bad in ["dev@x.com\r\nBcc: evil@y.com", " dev@x.com", "nobody"] {
            let err = approved_link(bad, None, PORTAL, &t).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid, "{bad:?}");
            assert!(!err.message.contains(['\r', '\n']), "{}", err.message);
        }
        let err = approved_link("dev@x.com", None, "https://p.example\ncom", &t).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
    }

    #[test]
    fn crlf_line_breaks_normalizes_all_forms() {
        assert_eq!(crlf_line_breaks("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
    }
}
