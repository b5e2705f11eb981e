//! Any status, headers and body from a token endpoint: the classifier answers, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentray_core::oauth::classify::{classify, ClassTable, RawAnswer};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]) % 1000;
    let rest = &data[2..];
    // The first line (if any) is a Retry-After header's value, the rest the body.
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(0);
    let headers = vec![(
        "Retry-After".to_owned(),
        String::from_utf8_lossy(&rest[..split]).into_owned(),
    )];
    let answer = RawAnswer {
        status,
        headers: &headers,
        body: &rest[split..],
    };
    let _ = classify(&answer, &ClassTable::builtin(), std::time::SystemTime::now());
});
