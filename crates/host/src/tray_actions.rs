//! What a tray does, for every tray (the Tauri one and the StatusNotifierItem): what it shows
//! now, what keeps it current, and what a click on a menu line does (the adapter passes the
//! line's id and carries out the answer).

use std::future::Future;
use std::pin::Pin;

use tokentray_core::ops::Desk;

use tokentray_core::events::Event;

use crate::autostart::Autostart;
use crate::desk::HostDesk;
use crate::signals::{Signal, Signals};
use crate::tray_model::{id, model, Model};
use crate::Host;

/// What the tray shows now: from the engine's status, or from `problem` (why there is no
/// engine) when `host` is none.
pub fn current_model(host: Option<&Host>, problem: Option<&str>) -> Model {
    let autostart = Autostart::for_current_user().is_enabled();
    match host {
        Some(host) => model(Ok(&host.engine().status()), autostart),
        None => model(
            Err(problem.unwrap_or("the engine did not start")),
            autostart,
        ),
    }
}

/// Keeps a tray current until the engine closes: `redraw` when a state or the settings change
/// (job runs and refreshes do not change the tray), `open_dashboard` when a second launch or
/// the menu asks for the dashboard. Spawn it on the adapter's runtime.
pub fn follow(
    host: &Host,
    redraw: impl Fn() + Send + 'static,
    open_dashboard: impl Fn() + Send + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    use tokio::sync::broadcast::error::RecvError;
    let (mut events, mut signals) = (host.engine().subscribe(), host.signals());
    async move {
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(Event::StateChanged { .. } | Event::SettingsChanged) => redraw(),
                    Ok(_) => {}
                    // Missed some: the tray re-reads the whole status anyway.
                    Err(RecvError::Lagged(_)) => redraw(),
                    Err(RecvError::Closed) => return,
                },
                signal = signals.recv() => match signal {
                    Ok(Signal::ActivateRequested { open_dashboard: open }) => {
                        tracing::debug!(open, "asked to show the dashboard");
                        if open {
                            open_dashboard();
                        }
                    }
                    Ok(Signal::SettingsChanged) | Err(RecvError::Lagged(_)) => redraw(),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

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
