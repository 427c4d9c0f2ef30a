//! Fuzzes the invite list parsers: the input as one pasted list, and split
//! on NUL bytes into array entries.

#![no_main]

use developer_portal_core::email;
use developer_portal_core::mail::{self, InviteList, MAX_INVITEES};
use libfuzzer_sys::fuzz_target;

fn check(list: &InviteList) {
    assert!(list.accepted.len() <= MAX_INVITEES);
    for address in &list.accepted {
        assert_eq!(email::validate(address), Ok(()), "accepted an invalid address");
    }
    let mut keys: Vec<String> = list.accepted.iter().map(|a| email::key(a)).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), list.accepted.len(), "accepted a duplicate");
    for rejected in list.invalid.iter().chain(&list.duplicates) {
        assert!(!rejected.email.contains(['\r', '\n']), "raw line break in {:?}", rejected.email);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = mail::parse_invite_list(text) {
        check(&list);
    }
    let entries: Vec<String> = text.split('\0').map(str::to_owned).collect();
    if let Ok(list) = mail::parse_invite_entries(&entries) {
        check(&list);
    }
});
