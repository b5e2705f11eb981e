//! Any line a socket client sends: a request or an error answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentray_core::socket::Request;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<Request>(data) {
        // Debug must not panic either (it re-serializes to hide tokens).
        let _ = format!("{req:?}");
    }
});
