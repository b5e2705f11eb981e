//! The tray icon and its menu. `model` decides what to show from the status (pure, tested);
//! `render` turns that into Tauri menu items; clicks go back to the engine.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tokentray_core::accounts::{AccountState, Health, LastError};
use tokentray_core::oauth::classify::FailureClass;
use tokentray_core::ops::Desk;
use tokentray_core::status::Status;
use tokentray_core::Engine;
use tokentray_host::autostart::Autostart;
use tokentray_host::desk::HostDesk;
use tokentray_host::signals::Signals;
use tokentray_host::Host;

use crate::dashboard;
use crate::startup::StartupError;

const TRAY_ID: &str = "main";

/// Menu item ids.
mod id {
    pub const DASHBOARD: &str = "dashboard";
    pub const AUTOSTART: &str = "autostart";
    pub const PAUSE_ALL: &str = "pause-all";
    pub const RESUME_ALL: &str = "resume-all";
    pub const QUIT: &str = "quit";
    /// Followed by the account's name.
    pub const RELOGIN_PREFIX: &str = "relogin:";
}

/// One line of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// Information only (greyed out).
    Info(String),
    /// A clickable action.
    Action {
        id: &'static str,
        label: &'static str,
        enabled: bool,
    },
    /// "Re-login NAME…" for an account whose sign-in died (`again`), "Sign in NAME…" for one
    /// never signed in.
    SignIn {
        account: String,
        again: bool,
    },
    /// A check item.
    Check {
        id: &'static str,
        label: &'static str,
        checked: bool,
    },
    Separator,
}

/// What the tray shows: its icon, tooltip and menu.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    health: Health,
    tooltip: String,
    entries: Vec<Entry>,
}

/// Decides the tray's look. `status` is the engine's snapshot, or why there is no engine.
fn model(status: Result<&Status, &str>, autostart: bool) -> Model {
    let mut entries = Vec::new();
    let (health, tooltip) = match status {
        Err(problem) => {
            entries.push(Entry::Info(problem.to_owned()));
            (Health::Error, format!("Tokentray: {problem}"))
        }
        Ok(status) if status.accounts.is_empty() => {
            entries.push(Entry::Info(
                "No accounts yet: add one in the dashboard".into(),
            ));
            (Health::Ok, "Tokentray: no accounts yet".into())
        }
        Ok(status) => {
            for a in &status.accounts {
                entries.push(Entry::Info(format!("{} — {}", a.name, a.status.label())));
            }
            // Re-login helps a dead grant, not a misconfigured provider; an account never
            // signed in is one click from it too.
            let relogin: Vec<Entry> = status
                .accounts
                .iter()
                .filter_map(|a| {
                    let dead = |e: &LastError| e.class != FailureClass::Config;
                    let again = match a.status {
                        AccountState::Error if a.last_error.as_ref().is_none_or(dead) => true,
                        AccountState::SignedOut => false,
                        _ => return None,
                    };
                    Some(Entry::SignIn {
                        account: a.name.clone(),
                        again,
                    })
                })
                .collect();
            if !relogin.is_empty() {
                entries.push(Entry::Separator);
                entries.extend(relogin);
            }
            let health = status.health();
            (health, format!("Tokentray: {}", summary(status)))
        }
    };
    let accounts = status.map(|s| s.accounts.as_slice()).unwrap_or_default();
    let any = |state: AccountState| accounts.iter().any(|a| a.status == state);
    entries.extend([
        Entry::Separator,
        Entry::Action {
            id: id::DASHBOARD,
            label: "Open dashboard",
            enabled: true,
        },
        Entry::Check {
            id: id::AUTOSTART,
            label: "Launch at login",
            checked: autostart,
        },
        Entry::Separator,
        Entry::Action {
            id: id::PAUSE_ALL,
            label: "Pause all",
            enabled: accounts.iter().any(|a| a.status != AccountState::Paused),
        },
        Entry::Action {
            id: id::RESUME_ALL,
            label: "Resume all",
            enabled: any(AccountState::Paused),
        },
        Entry::Separator,
        Entry::Action {
            id: id::QUIT,
            label: "Quit",
            enabled: true,
        },
    ]);
    Model {
        health,
        tooltip,
        entries,
    }
}

/// "2 ok, 1 needs attention", in the order of severity.
fn summary(status: &Status) -> String {
    let order = [
        AccountState::Error,
        AccountState::Stale,
        AccountState::Paused,
        AccountState::SignedOut,
        AccountState::Enabled,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|state| {
            let n = status
                .accounts
                .iter()
                .filter(|a| a.status == *state)
                .count();
            (n > 0).then(|| format!("{n} {}", state.label()))
        })
        .collect();
    parts.join(", ")
}

fn sign_in_label(account: &str, again: bool) -> String {
    if again {
        format!("Re-login {account}…")
    } else {
        format!("Sign in {account}…")
    }
}

fn icon(health: Health) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match health {
        Health::Ok => include_bytes!("../../icons/tray-ok.png"),
        Health::Paused => include_bytes!("../../icons/tray-paused.png"),
        Health::Stale => include_bytes!("../../icons/tray-stale.png"),
        Health::Error => include_bytes!("../../icons/tray-error.png"),
    };
    Image::from_bytes(bytes)
}

fn render(app: &AppHandle, model: &Model) -> tauri::Result<Menu<Wry>> {
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = Vec::new();
    for (n, entry) in model.entries.iter().enumerate() {
        items.push(match entry {
            Entry::Info(text) => Box::new(MenuItem::with_id(
                app,
                format!("info-{n}"),
                text,
                false,
                None::<&str>,
            )?),
            Entry::Action { id, label, enabled } => {
                Box::new(MenuItem::with_id(app, *id, *label, *enabled, None::<&str>)?)
            }
            Entry::SignIn { account, again } => Box::new(MenuItem::with_id(
                app,
                format!("{}{account}", id::RELOGIN_PREFIX),
                sign_in_label(account, *again),
                true,
                None::<&str>,
            )?),
            Entry::Check { id, label, checked } => Box::new(CheckMenuItem::with_id(
                app,
                *id,
                *label,
                true,
                *checked,
                None::<&str>,
            )?),
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        });
    }
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(|b| b.as_ref()).collect();
    Menu::with_items(app, &refs)
}

fn current_model(app: &AppHandle) -> Model {
    let autostart = Autostart::for_current_user().is_enabled();
    match app.try_state::<Host>() {
        Some(host) => model(Ok(&host.engine().status()), autostart),
        None => {
            let problem = app
                .try_state::<StartupError>()
                .map(|e| e.0.clone())
                .unwrap_or_else(|| "the engine did not start".into());
            model(Err(&problem), autostart)
        }
    }
}

/// Creates the tray icon. `engine` is the engine or why it could not start.
pub fn create(app: &AppHandle, engine: Result<&Engine, &str>) -> tauri::Result<()> {
    if let Err(problem) = engine {
        app.manage(StartupError(problem.to_owned()));
    }
    let model = current_model(app);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(model.health)?)
        .tooltip(&model.tooltip)
        .menu(&render(app, &model)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_click(app, event.id.as_ref()))
        .build(app)?;
    // The start-up benchmark times the launch to this line.
    tracing::info!("tray icon created");
    Ok(())
}

/// Re-reads the status and redraws the icon and menu.
pub fn update(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let model = current_model(app);
    let result = icon(model.health)
        .and_then(|i| tray.set_icon(Some(i)))
        .and_then(|()| tray.set_tooltip(Some(&model.tooltip)))
        .and_then(|()| render(app, &model))
        .and_then(|menu| tray.set_menu(Some(menu)));
    if let Err(e) = result {
        tracing::warn!("cannot update the tray: {e}");
    }
}

fn on_click(app: &AppHandle, id: &str) {
    match id {
        // Through the host's signal, so an open dashboard (another process) comes to the front.
        id::DASHBOARD => match app.try_state::<Host>() {
            Some(host) => host.activate(true),
            None => dashboard::open(app),
        },
        id::AUTOSTART => toggle_autostart(app),
        id::PAUSE_ALL | id::RESUME_ALL => {
            if let Some(host) = app.try_state::<Host>() {
                // The engine's event redraws the tray.
                if let Err(e) = host.engine().set_paused_all(id == id::PAUSE_ALL) {
                    tracing::error!("{e}");
                }
            }
        }
        id::QUIT => app.exit(0),
        other => {
            if let (Some(account), Some(host)) = (
                other.strip_prefix(id::RELOGIN_PREFIX),
                app.try_state::<Host>(),
            ) {
                let (engine, account) = (host.engine().clone(), account.to_owned());
                tauri::async_runtime::spawn(async move {
                    // The browser opens because the person clicked, who is owed an answer if it
                    // cannot.
                    if let Err(e) = tokentray_host::relogin::relogin(&engine, &account).await {
                        tracing::warn!(%account, "re-login: {e}");
                        tokentray_host::notifier::tell_sign_in_failed(&account, &e.to_string());
                    }
                });
            }
        }
    }
}

fn toggle_autostart(app: &AppHandle) {
    // The same desk the dashboard's switch uses, so both write the same entry.
    let desk = match app.try_state::<Host>() {
        Some(host) => host.desk(),
        None => HostDesk::new("app", Signals::default()),
    };
    if let Err(e) = desk.set_autostart(!desk.autostart()) {
        tracing::error!("{e}");
    }
    // Redraw either way: the check mark must show the truth, not the click.
    update(app);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokentray_core::status::AccountStatus;

    fn status(states: &[(&str, AccountState)]) -> Status {
        Status {
            accounts: states
                .iter()
                .map(|(name, state)| AccountStatus {
                    name: (*name).into(),
                    provider: "p".into(),
                    status: *state,
                    expires_at: None,
                    last_refresh: None,
                    sign_in_expires_at: None,
                    obtained_at: None,
                    next_refresh: None,
                    last_error: None,
                    jobs: vec![],
                    variants: vec![],
                    callers: Default::default(),
                    allowed_callers: vec![],
                })
                .collect(),
            storage_error: None,
        }
    }

    fn labels(m: &Model) -> Vec<String> {
        m.entries
            .iter()
            .map(|e| match e {
                Entry::Info(t) => t.clone(),
                Entry::Action { label, enabled, .. } => {
                    format!("{label}{}", if *enabled { "" } else { " (disabled)" })
                }
                Entry::Check { label, checked, .. } => {
                    format!("[{}] {label}", if *checked { "x" } else { " " })
                }
                Entry::Separator => "---".into(),
                Entry::SignIn { account, again } => sign_in_label(account, *again),
            })
            .collect()
    }

    #[test]
    fn no_accounts_says_so_and_offers_the_fixed_items() {
        let m = model(Ok(&Status::default()), true);
        assert_eq!(m.health, Health::Ok);
        assert_eq!(
            labels(&m),
            [
                "No accounts yet: add one in the dashboard",
                "---",
                "Open dashboard",
                "[x] Launch at login",
                "---",
                "Pause all (disabled)",
                "Resume all (disabled)",
                "---",
                "Quit"
            ]
        );
    }

    #[test]
    fn one_line_per_account_and_the_worst_state_sets_the_icon() {
        let s = status(&[
            ("alice", AccountState::Enabled),
            ("bob", AccountState::Error),
            ("carol", AccountState::Paused),
        ]);
        let m = model(Ok(&s), false);
        assert_eq!(m.health, Health::Error);
        let l = labels(&m);
        assert_eq!(
            &l[..3],
            ["alice — ok", "bob — needs attention", "carol — paused"]
        );
        assert!(l.contains(&"Pause all".to_string()));
        assert!(l.contains(&"Resume all".to_string()));
        assert_eq!(m.tooltip, "Tokentray: 1 needs attention, 1 paused, 1 ok");
    }

    #[test]
    fn accounts_in_error_get_a_relogin_entry_unless_the_settings_are_at_fault() {
        let mut st = status(&[
            ("alice", AccountState::Error),
            ("bob", AccountState::Error),
            ("carol", AccountState::Stale),
        ]);
        st.accounts[1].last_error = Some(tokentray_core::accounts::LastError {
            class: FailureClass::Config,
            code: "invalid_client".into(),
            http_status: Some(401),
            message: "fix it".into(),
            at: String::new(),
        });
        let l = labels(&model(Ok(&st), false));
        assert!(l.contains(&"Re-login alice…".to_string()), "{l:?}");
        assert!(
            !l.iter()
                .any(|x| x.contains("Re-login bob") || x.contains("Re-login carol")),
            "{l:?}"
        );
        let healthy = labels(&model(
            Ok(&status(&[("alice", AccountState::Enabled)])),
            false,
        ));
        assert!(!healthy.iter().any(|x| x.starts_with("Re-login")));
        // Never signed in: one click from it.
        let new = labels(&model(
            Ok(&status(&[("dora", AccountState::SignedOut)])),
            false,
        ));
        assert!(new.contains(&"Sign in dora…".to_string()), "{new:?}");
    }

    #[test]
    fn an_engine_that_did_not_start_shows_why() {
        let m = model(Err("the settings file is invalid at line 3"), false);
        assert_eq!(m.health, Health::Error);
        assert_eq!(labels(&m)[0], "the settings file is invalid at line 3");
    }

    #[test]
    fn every_state_icon_decodes() {
        for h in [Health::Ok, Health::Paused, Health::Stale, Health::Error] {
            let image = icon(h).unwrap();
            assert_eq!((image.width(), image.height()), (64, 64), "{h:?}");
        }
    }
}
