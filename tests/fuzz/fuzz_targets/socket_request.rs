//! Any line a socket client sends: a request or an error answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentray_core::ops::Op;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<Op>(data) {
        // Debug must not panic either (it re-serializes to hide tokens).
        let _ = format!("{req:?}");
    }
});
