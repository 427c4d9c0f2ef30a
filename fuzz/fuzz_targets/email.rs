//! Fuzzes the email validator and the field check built on it.

#![no_main]

use developer_portal_core::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match email::validate(input) {
        Ok(()) => {
            assert!(input.is_ascii());
            assert!(input.len() <= email::MAX_ADDRESS_LEN);
            assert!(!input.contains(|c: char| c.is_whitespace() || c.is_control()));
            assert_eq!(email::validate(&email::key(input)), Ok(()));
        }
        Err(reason) => assert!(!reason.is_empty()),
    }
    match email::check("email", input) {
        Ok(address) => {
            assert_eq!(address, input.trim());
            assert_eq!(email::validate(&address), Ok(()));
        }
        Err(err) => {
            assert!(!err.message.contains(['\r', '\n']), "raw line break in {:?}", err.message);
            assert!(err.message.len() < 2000, "message of {} bytes", err.message.len());
        }
    }
});
