//! Any settings text: parsed or reported with a line and column, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentray_core::settings::Settings;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Settings::parse(text, std::path::Path::new("settings.toml"));
    }
});
