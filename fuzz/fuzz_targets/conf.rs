//! Fuzzes the kong.conf reader. The input is the file text, then an optional
//! NUL byte followed by `KONG_*=value` lines that the environment returns.

#![no_main]

use std::collections::HashMap;

use developer_portal_core::conf;
use developer_portal_core::error::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (text, env_lines) = input.split_once('\0').unwrap_or((input, ""));
    let variables: HashMap<&str, &str> = env_lines
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let env = |key: &str| variables.get(key).map(|value| value.to_string());

    if let Err(err) = conf::from_str(text, "kong.conf", &env) {
        assert_eq!(err.kind, ErrorKind::Config, "{err}");
        assert!(!err.message.is_empty());
    }
});
