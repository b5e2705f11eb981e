//! What the app knows of its own start, shared by the tray and the dashboard window.

/// Why the engine did not start (a broken settings file), kept as app state for the tray's menu
/// and the dashboard's banner.
pub struct StartupError(pub String);
