//! What the tray shows — its icon's state, tooltip and menu — decided once from the engine's
//! status for every tray adapter (the Tauri tray today; a D-Bus StatusNotifierItem needs the
//! same decisions without Tauri). Pure, so the decisions are tested here and each adapter only
//! draws them and forwards clicks by id.

use tokentray_core::accounts::{AccountState, Health, LastError};
use tokentray_core::oauth::classify::FailureClass;
use tokentray_core::status::Status;

/// Menu item ids.
pub mod id {
    /// Open dashboard.
    pub const DASHBOARD: &str = "dashboard";
    /// Launch at login.
    pub const AUTOSTART: &str = "autostart";
    /// Pause all.
    pub const PAUSE_ALL: &str = "pause-all";
    /// Resume all.
    pub const RESUME_ALL: &str = "resume-all";
    /// Quit.
    pub const QUIT: &str = "quit";
    /// Followed by the account's name.
    pub const RELOGIN_PREFIX: &str = "relogin:";
}

/// One line of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Information only (greyed out).
    Info(String),
    /// A clickable action.
    Action {
        /// Its id ([`id`]).
        id: &'static str,
        /// What it says.
        label: &'static str,
        /// Whether it can be clicked now.
        enabled: bool,
    },
    /// "Re-login NAME…" for an account whose sign-in died (`again`), "Sign in NAME…" for one
    /// never signed in.
    SignIn {
        /// The account.
        account: String,
        /// Whether it was signed in before (its sign-in died).
        again: bool,
    },
    /// A check item.
    Check {
        /// Its id ([`id`]).
        id: &'static str,
        /// What it says.
        label: &'static str,
        /// Whether it is ticked.
        checked: bool,
    },
    /// A line between groups.
    Separator,
}

/// What the tray shows: its icon, tooltip and menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The worst state, which picks the icon.
    pub health: Health,
    /// The tooltip.
    pub tooltip: String,
    /// The menu, top to bottom.
    pub entries: Vec<Entry>,
}

/// Decides the tray's look. `status` is the engine's snapshot, or why there is no engine.
pub fn model(status: Result<&Status, &str>, autostart: bool) -> Model {
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

/// "Re-login NAME…" or "Sign in NAME…".
pub fn sign_in_label(account: &str, again: bool) -> String {
    if again {
        format!("Re-login {account}…")
    } else {
        format!("Sign in {account}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokentray_core::status::AccountStatus;

    fn status(states: &[(&str, AccountState)]) -> Status {
        Status {
            accounts: states
                .iter()
                .map(|(name, state)| AccountStatus::new(name, "p", *state))
                .collect(),
            ..Status::default()
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
}
