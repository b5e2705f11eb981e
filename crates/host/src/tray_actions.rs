//! What a click on a tray menu line does, for every tray (the Tauri one and the
//! StatusNotifierItem): the adapter passes the line's id and carries out the answer.

use std::future::Future;
use std::pin::Pin;

use tokentray_core::ops::Desk;

use crate::desk::HostDesk;
use crate::signals::Signals;
use crate::tray_model::id;
use crate::Host;

/// What the tray adapter does after a click.
pub enum After {
    /// Nothing: the engine's events redraw the tray if anything changed.
    Nothing,
    /// Redraw now: a setting outside the engine (launch at login) changed, or did not.
    Redraw,
    /// Open the dashboard directly (there is no engine to ask).
    OpenDashboard,
    /// End the tray process (the host stops cleanly on the way out).
    Quit,
    /// Run this on the adapter's runtime: a re-login waits for the engine and the browser.
    Spawn(Pin<Box<dyn Future<Output = ()> + Send>>),
}

/// Carries out the click on the line `clicked`; `host` is none when the engine could not start.
pub fn on_click(host: Option<&Host>, clicked: &str) -> After {
    match clicked {
        // Through the host's signal, so an open dashboard (another process) comes to the front.
        id::DASHBOARD => match host {
            Some(host) => {
                host.activate(true);
                After::Nothing
            }
            None => After::OpenDashboard,
        },
        id::AUTOSTART => {
            // The same desk the dashboard's switch uses, so both write the same entry.
            let desk = match host {
                Some(host) => host.desk(),
                None => HostDesk::new("app", Signals::default()),
            };
            if let Err(e) = desk.set_autostart(!desk.autostart()) {
                tracing::error!("{e}");
            }
            // Redraw either way: the check mark must show the truth, not the click.
            After::Redraw
        }
        id::PAUSE_ALL | id::RESUME_ALL => {
            if let Some(host) = host {
                // The engine's event redraws the tray.
                if let Err(e) = host.engine().set_paused_all(clicked == id::PAUSE_ALL) {
                    tracing::error!("{e}");
                }
            }
            After::Nothing
        }
        id::QUIT => After::Quit,
        other => match (other.strip_prefix(id::RELOGIN_PREFIX), host) {
            (Some(account), Some(host)) => {
                let (engine, account) = (host.engine().clone(), account.to_owned());
                After::Spawn(Box::pin(async move {
                    // The browser opens because the person clicked, who is owed an answer if
                    // it cannot.
                    if let Err(e) = crate::relogin::relogin(&engine, &account).await {
                        tracing::warn!(%account, "re-login: {e}");
                        crate::notifier::tell_sign_in_failed(&account, &e.to_string());
                    }
                }))
            }
            _ => After::Nothing,
        },
    }
}
