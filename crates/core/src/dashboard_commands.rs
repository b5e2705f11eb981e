// Every dashboard command's name, in one place: `dashboard.rs` answers them, and the app's build
// script (which `include!`s this file) declares them so its capability can allow each by name.

/// Every dashboard command's name.
pub const COMMANDS: [&str; 17] = [
    "status",
    "history",
    "set_paused",
    "refresh_now",
    "sign_in",
    "remove_account",
    "copy_token",
    "presets",
    "discover",
    "add_account",
    "save_job",
    "remove_job",
    "run_job",
    "app_settings",
    "set_autostart",
    "set_notify",
    "open_log_folder",
];
