//! The bus the watchers listen on: the system bus, where logind and NetworkManager speak, or —
//! for tests, which send those signals themselves — the session bus.

use dbus::blocking::Connection;

/// The system bus, or the session bus when the environment variable `switch` is `session`.
/// Returns whether it is the session bus.
pub(crate) fn system_or_test(switch: &str) -> Result<(Connection, bool), dbus::Error> {
    let session = std::env::var(switch).is_ok_and(|b| b == "session");
    let conn = if session {
        Connection::new_session()
    } else {
        Connection::new_system()
    }?;
    Ok((conn, session))
}
