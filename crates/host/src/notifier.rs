//! Desktop notifications, driven by the engine's events, in the tray app and headless alike.
//!
//! One notification per failure episode per account: when an account turns to error the person
//! is told once (the episode is persisted, so a restart does not tell again); a success starts a
//! new episode. A permanent failure's notification has the action "Re-login", and a click on its
//! body does the same; it stays until acted on or dismissed, and is withdrawn once the account
//! works again. A configuration failure names the setting to fix. Transient trouble never
//! notifies: the tray shows it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::error::RecvError;

use tokentray_core::accounts::AccountState;
use tokentray_core::caller::{Caller, Consent};
use tokentray_core::events::Event;
use tokentray_core::oauth::classify::FailureClass;
use tokentray_core::status::AccountStatus;
use tokentray_core::Engine;

use crate::told::Told;

/// The action id of the "Re-login" button; `default` is a click on the body.
const RELOGIN: &str = "relogin";
/// The action ids of a question about a caller.
const ALLOW_ONCE: &str = "allow-once";
const ALLOW_ALWAYS: &str = "allow-always";
const DENY: &str = "deny";

/// An account's failure to tell the person of.
struct Notice {
    account: String,
    provider: String,
    /// Permanent or config (transient trouble is never told).
    class: FailureClass,
    message: String,
}

/// What the notifier works with.
#[derive(Clone)]
struct Notifier {
    engine: Engine,
    /// Notification ids on screen, by account, so they can be withdrawn.
    shown: Shown,
    told: Arc<Told>,
    rt: tokio::runtime::Handle,
}

type Shown = Arc<Mutex<HashMap<String, u32>>>;

/// Starts the notifier on the current tokio runtime; it ends when the engine shuts down.
pub fn start(engine: Engine) {
    let notifier = Notifier {
        told: Arc::new(Told::open(&engine.paths().state_dir)),
        engine,
        shown: Shown::default(),
        rt: tokio::runtime::Handle::current(),
    };
    tokio::spawn(async move { notifier.run().await });
}

/// Tells the person that a sign-in they asked for (a notification's or the tray's Re-login)
/// could not start. Call it within the tokio runtime or outside: it shows on a thread of its
/// own.
pub fn tell_sign_in_failed(account: &str, message: &str) {
    show(
        &format!("Sign-in to {account} did not complete"),
        message,
        Kind::Info,
        None,
        None,
    );
}

/// Asks the person whether `caller` may have `account`'s token: one notification with Allow
/// once, Always allow and Deny, withdrawn after `patience` without an answer. No notification
/// service is [`Consent::NobodyToAsk`].
pub async fn ask_caller(account: &str, caller: &Caller, patience: std::time::Duration) -> Consent {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let id = Arc::new(Mutex::new(None));
    let summary = format!("Tokentray: allow a program to use {account}?");
    let body = format!(
        "{} asks for the token of {account}. Without an answer within {} s it gets none.",
        caller.describe(),
        patience.as_secs()
    );
    let shown_id = id.clone();
    let spawned = std::thread::Builder::new()
        .name("tokentray-consent".into())
        .spawn(move || {
            let mut n = notify_rust::Notification::new();
            n.appname("Tokentray")
                .summary(&summary)
                .body(&body)
                .timeout(notify_rust::Timeout::Never)
                .action(ALLOW_ONCE, "Allow once")
                .action(ALLOW_ALWAYS, "Always allow")
                .action(DENY, "Deny");
            #[cfg(any(windows, all(unix, not(target_os = "macos"))))]
            n.urgency(notify_rust::Urgency::Critical);
            let handle = match n.show() {
                Ok(h) => h,
                Err(e) => {
                    let _ = tx.send(Consent::NobodyToAsk(format!(
                        "no notification service answers ({e})"
                    )));
                    return;
                }
            };
            #[cfg(all(unix, not(target_os = "macos")))]
            if let Ok(mut slot) = shown_id.lock() {
                *slot = Some(handle.id());
            }
            // A toast cannot be withdrawn by id; it goes when answered or dismissed.
            #[cfg(windows)]
            let _ = &shown_id;
            #[cfg(any(windows, all(unix, not(target_os = "macos"))))]
            handle.wait_for_action(|chosen| {
                let consent = match chosen {
                    ALLOW_ONCE => Consent::Once,
                    ALLOW_ALWAYS => Consent::Always,
                    DENY => Consent::Deny,
                    // Dismissed, or withdrawn when the time was up.
                    _ => Consent::NoAnswer,
                };
                let _ = tx.send(consent);
            });
            #[cfg(target_os = "macos")]
            {
                let _ = (handle, shown_id);
                let _ = tx.send(Consent::NobodyToAsk(
                    "notifications cannot ask questions on macOS yet".into(),
                ));
            }
        });
    if let Err(e) = spawned {
        return Consent::NobodyToAsk(format!("cannot show a notification ({e})"));
    }
    let withdraw = || {
        if let Some(id) = id.lock().ok().and_then(|mut s| s.take()) {
            close(id);
        }
    };
    match tokio::time::timeout(patience, rx).await {
        Ok(Ok(consent)) => {
            // Answered: the question goes (a server may keep a notification after an action).
            withdraw();
            consent
        }
        Ok(Err(_)) => Consent::NoAnswer,
        Err(_) => {
            // Nobody answered: take the question off the screen, which also ends its thread.
            withdraw();
            Consent::NoAnswer
        }
    }
}

impl Notifier {
    async fn run(self) {
        let mut events = self.engine.subscribe();
        let stop = self.engine.until_shutdown();
        tokio::pin!(stop);
        // Failures from before this start (the CLI's own refresh, an engine that crashed before it
        // told anyone) are told now, once.
        self.check_all();
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = &mut stop => return,
            };
            match event {
                Ok(Event::StateChanged { account, to, from }) => {
                    if to == AccountState::Error {
                        self.check(&account);
                    } else if matches!(to, AccountState::Enabled | AccountState::SignedOut) {
                        // It works again (or was signed out): a next failure is a new episode.
                        self.told.retain(|a| a != account);
                        if from == AccountState::Error {
                            withdraw(&self.shown, &account);
                        }
                    }
                }
                Ok(Event::LoginStarted {
                    account,
                    device: Some(code),
                }) => {
                    let copied = crate::clipboard::copy(
                        &code.user_code,
                        std::time::Duration::from_secs(code.expires_in_s.min(30 * 60)),
                    );
                    let body = format!(
                        "Enter the code {} at {}{}",
                        code.user_code,
                        code.verification_uri,
                        if copied {
                            " (it is on the clipboard)"
                        } else {
                            ""
                        }
                    );
                    show(
                        &format!("Sign in to {account}"),
                        &body,
                        Kind::Info,
                        None,
                        None,
                    );
                }
                Ok(Event::LoginFinished {
                    account,
                    ok: false,
                    message,
                }) => tell_sign_in_failed(&account, &message),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => self.check_all(),
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn check_all(&self) {
        let accounts = self.engine.status().accounts;
        // Accounts that work again, or are gone, start afresh.
        self.told.retain(|name| {
            accounts.iter().any(|a| {
                a.name == name
                    && !matches!(a.status, AccountState::Enabled | AccountState::SignedOut)
            })
        });
        for account in accounts {
            if account.status == AccountState::Error {
                self.tell(&account);
            }
        }
    }

    fn check(&self, name: &str) {
        let status = self.engine.status();
        if let Some(account) = status.accounts.iter().find(|a| a.name == name) {
            if account.status == AccountState::Error {
                self.tell(account);
            }
        }
    }

    /// Tells of the account's failure if this episode has not been told yet.
    fn tell(&self, account: &AccountStatus) {
        let Some(error) = &account.last_error else {
            return;
        };
        let episode = account.obtained_at.as_deref().unwrap_or("never signed in");
        if !self.told.first_time(&account.name, episode) {
            return;
        }
        let notice = Notice {
            account: account.name.clone(),
            provider: account.provider.clone(),
            class: error.class,
            message: error.message.clone(),
        };
        let (engine, shown, rt) = (&self.engine, &self.shown, &self.rt);
        let wanted = engine.settings().notifications;
        let enabled = if notice.class == FailureClass::Config {
            wanted.config
        } else {
            wanted.permanent
        };
        if !enabled {
            // Told in the tray and the dashboard only, as the settings ask.
            tracing::info!(
                account = %notice.account,
                class = %notice.class,
                "notification turned off in the settings"
            );
            return;
        }
        let (summary, body, kind) = describe(engine, &notice);
        let on_action = {
            let engine = engine.clone();
            let rt = rt.clone();
            let name = notice.account.clone();
            move || {
                let engine = engine.clone();
                let name = name.clone();
                rt.spawn(async move {
                    if let Err(e) = crate::relogin::relogin(&engine, &name).await {
                        tracing::warn!(account = %name, "re-login from the notification: {e}");
                        tell_sign_in_failed(&name, &e.to_string());
                    }
                });
            }
        };
        let action: Option<Box<dyn Fn() + Send>> = match kind {
            Kind::Relogin => Some(Box::new(on_action)),
            _ => None,
        };
        show(
            &summary,
            &body,
            kind,
            action,
            Some((shown.clone(), notice.account.clone())),
        );
    }
}

fn describe(engine: &Engine, notice: &Notice) -> (String, String, Kind) {
    if notice.class == FailureClass::Config {
        let file = engine.paths().settings_file();
        (
            format!("Tokentray: {} needs a settings fix", notice.account),
            format!(
                "{} Fix [provider.{}] in {}.",
                notice.message,
                notice.provider,
                file.display()
            ),
            Kind::Config,
        )
    } else {
        (
            format!("Tokentray: sign in to {} again", notice.account),
            notice.message.clone(),
            Kind::Relogin,
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A permanent failure: "Re-login", stays until acted on.
    Relogin,
    /// A configuration failure: stays, no action (re-login would not help).
    Config,
    /// News the person asked for (a device code, a failed sign-in): goes away on its own.
    Info,
}

/// Shows a notification on a thread of its own (D-Bus calls block, and the handle must stay on
/// the thread that made it) and, for one with an action, waits there for the person. A shown
/// notification's id goes into `shown` under `account`. A missing notification daemon is
/// logged, never an error.
fn show(
    summary: &str,
    body: &str,
    kind: Kind,
    action: Option<Box<dyn Fn() + Send>>,
    shown: Option<(Shown, String)>,
) {
    let (summary, body) = (summary.to_owned(), body.to_owned());
    let spawned = std::thread::Builder::new()
        .name("tokentray-notification".into())
        .spawn(move || {
            let mut n = notify_rust::Notification::new();
            n.appname("Tokentray").summary(&summary).body(&body);
            if kind == Kind::Info {
                n.timeout(notify_rust::Timeout::Default);
            } else {
                n.timeout(notify_rust::Timeout::Never);
                // On Windows a critical toast is a "reminder": it stays until acted on.
                #[cfg(any(windows, all(unix, not(target_os = "macos"))))]
                n.urgency(notify_rust::Urgency::Critical);
            }
            if action.is_some() {
                n.action("default", "Re-login").action(RELOGIN, "Re-login");
            }
            let handle = match n.show() {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!("cannot show a notification ({e}): {summary}");
                    return;
                }
            };
            tracing::info!(%summary, "notified");
            #[cfg(all(unix, not(target_os = "macos")))]
            if let Some((shown, account)) = shown {
                if let Ok(mut s) = shown.lock() {
                    s.insert(account, handle.id());
                }
            }
            // The toast's buttons and its Activated event on Windows (while this process
            // runs), the XDG action on Linux.
            #[cfg(any(windows, all(unix, not(target_os = "macos"))))]
            {
                #[cfg(windows)]
                let _ = shown;
                if let Some(action) = action {
                    handle.wait_for_action(|chosen| {
                        if chosen == "default" || chosen == RELOGIN {
                            action();
                        }
                    });
                }
            }
            #[cfg(target_os = "macos")]
            let _ = (handle, action, shown);
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot show a notification: {e}");
    }
}

/// Takes the account's notification off the screen (it works again).
fn withdraw(shown: &Shown, account: &str) {
    if let Some(id) = shown.lock().ok().and_then(|mut s| s.remove(account)) {
        close(id);
    }
}

/// Takes notification `id` off the screen.
fn close(id: u32) {
    #[cfg(target_os = "linux")]
    {
        std::thread::spawn(move || {
            let closed = dbus::blocking::Connection::new_session().and_then(|c| {
                c.with_proxy(
                    "org.freedesktop.Notifications",
                    "/org/freedesktop/Notifications",
                    std::time::Duration::from_secs(5),
                )
                .method_call::<(), _, _, _>(
                    "org.freedesktop.Notifications",
                    "CloseNotification",
                    (id,),
                )
            });
            if let Err(e) = closed {
                tracing::debug!("cannot withdraw notification {id}: {e}");
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = id;
}
