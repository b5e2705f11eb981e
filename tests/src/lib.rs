//! The harness for Tokentray's end-to-end tests: the built binaries, an isolated home for each
//! test, the real OAuth server (panva's `oidc-provider`), and process measurements.
//!
//! The tests run inside `tests/session.sh` (a private Xvfb, D-Bus, gnome-keyring and dunst);
//! `make test` arranges that.

pub mod bins;
pub mod desktop;
pub mod oidc;
pub mod procstat;
pub mod sandbox;
pub mod webdriver;

/// Panics with a clear message unless the test runs inside `tests/session.sh`, so that a test
/// needing the desktop fails loudly instead of testing nothing.
pub fn require_session() {
    assert!(
        std::env::var_os("TOKENTRAY_SESSION").is_some(),
        "this test needs the private desktop session: run it with `make test` \
         (or `tests/session.sh cargo test`)"
    );
}
