//! Fuzzes the mailto builders with arbitrary addresses, names and portal
//! URLs. Every link they return fits in MAX_MAILTO_LEN and carries no raw
//! CR, LF or space, whatever the input.
//!
//! The input is split on NUL bytes: the portal URL, the developer's name,
//! then the addresses.

#![no_main]

use developer_portal_core::mail::{self, Templates, MAX_MAILTO_LEN};
use libfuzzer_sys::fuzz_target;

fn check_link(link: &str) {
    assert!(link.starts_with("mailto:"), "{link}");
    assert!(link.len() <= MAX_MAILTO_LEN, "{} characters", link.len());
    assert!(
        !link.contains(['\r', '\n', ' ', '\t', '\0']),
        "raw whitespace or NUL in {link:?}"
    );
    assert!(link.is_ascii(), "non-ASCII in {link:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.split('\0');
    let url = parts.next().unwrap_or_default();
    let name = parts.next();
    let addresses: Vec<String> = parts.map(str::to_owned).collect();
    let templates = Templates::default();

    if let Ok(links) = mail::invite_links(&addresses, url, &templates) {
        assert!(!links.is_empty());
        for link in &links {
            check_link(link);
        }
    }
    for address in &addresses {
        if let Ok(link) = mail::approved_link(address, name, url, &templates) {
            check_link(&link);
        }
    }
});
