//! The harness for Tokentray's end-to-end tests: the built binaries, an isolated home for each
//! test, the real OAuth server (panva's `oidc-provider`), and process measurements.
//!
//! The tests run inside `tests/session.sh` (a private Xvfb, D-Bus, gnome-keyring and dunst);
//! `make test` arranges that.

pub mod bins;
pub mod cleanroot;
pub mod deadline;
pub mod desktop;
pub mod modgraph;
pub mod mount;
pub mod oidc;
pub mod panel;
pub mod procstat;
pub mod sandbox;
pub mod screen;
pub mod webdriver;
pub mod wine;

/// Panics with a clear message unless the test runs inside `tests/session.sh`, so that a test
/// needing the desktop fails loudly instead of testing nothing. Starts the test's watchdog
/// ([`deadline::start_watchdog`]).
pub fn require_session() {
    deadline::start_watchdog();
    assert!(
        std::env::var_os("TOKENTRAY_SESSION").is_some(),
        "this test needs the private desktop session: run it with `make test` \
         (or `tests/session.sh cargo test`)"
    );
}

/// A finished process's stdout and stderr together, for assertion messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Polls `done` every 200 ms until it is true; panics naming `what` after `within`.
pub fn wait_until(what: &str, within: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("timed out after {within:?} waiting for {what}");
}

/// A test that needs a privilege this run lacks (mounting, setting the clock) says so and
/// returns — unless the run is root, where `make test` sets `TOKENTRAY_REQUIRE_PRIVILEGED`:
/// there a skip would hide a test that should have run, so it fails.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("TOKENTRAY_REQUIRE_PRIVILEGED").is_none(),
        "this run must not skip, but: {why}"
    );
    eprintln!("SKIPPED: {why}");
}
