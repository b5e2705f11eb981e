//! `tokentray autostart on|off|status`: the same switch as the tray's "Launch at login".

use tokentray_host::autostart::Autostart;

use crate::error::CliError;

/// Arguments of `autostart`.
#[derive(clap::Args)]
pub struct AutostartArgs {
    #[arg(value_enum)]
    action: Action,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Action {
    /// Start the tray app (minimized) at every login.
    On,
    /// Stop starting at login.
    Off,
    /// Say whether it starts at login.
    Status,
}

/// Runs `autostart`.
pub fn run(args: AutostartArgs) -> Result<(), CliError> {
    let autostart = Autostart::for_current_user();
    let entry = autostart.location();
    match args.action {
        Action::On => {
            let app =
                tokentray_core::paths::app_binary().map_err(|e| CliError::new(e.to_string()))?;
            autostart
                .enable(&app)
                .map_err(|e| CliError::new(e.to_string()))?;
            println!("on: {} starts at login ({entry})", app.display());
        }
        Action::Off => {
            autostart
                .disable()
                .map_err(|e| CliError::new(e.to_string()))?;
            println!("off: Tokentray does not start at login");
        }
        Action::Status => {
            if autostart.is_enabled() {
                println!("on ({entry})");
            } else {
                println!("off");
            }
        }
    }
    Ok(())
}
