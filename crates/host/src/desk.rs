//! The desktop an operation may use (`tokentray_core::ops::Desk`): the clipboard, the browser,
//! launch at login, and showing the GUI through the host's signals.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokentray_core::caller::{Caller, Consent};
use tokentray_core::ops::Desk;
use tokentray_core::secret::Secret;

use crate::autostart::Autostart;
use crate::signals::{Signal, Signals};

/// This machine's desktop, as the host sees it.
#[derive(Clone)]
pub struct HostDesk {
    kind: &'static str,
    signals: Signals,
    /// Questions about callers on screen, by (account, program): later askers wait for the
    /// same answer.
    asking: Asking,
}

type Asking = Arc<Mutex<HashMap<(String, String), tokio::sync::broadcast::Sender<Consent>>>>;

/// A question on the list of those being asked, taken off when dropped.
struct Pending {
    asking: Asking,
    key: (String, String),
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.asking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl HostDesk {
    /// A desk that reports `kind` to `ping` and sends GUI signals on `signals`. Only the `app`
    /// kind asks the person about callers; the others have nobody to ask.
    pub fn new(kind: &'static str, signals: Signals) -> HostDesk {
        HostDesk {
            kind,
            signals,
            asking: Asking::default(),
        }
    }
}

impl Desk for HostDesk {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn activate(&self, open_dashboard: bool) {
        tracing::info!(
            open_dashboard,
            "another launch handed over to this {}",
            self.kind
        );
        self.signals
            .send(Signal::ActivateRequested { open_dashboard });
    }

    fn copy_secret(&self, secret: &Secret, for_how_long: Duration) -> bool {
        crate::clipboard::copy(secret.expose(), for_how_long)
    }

    fn open_url(&self, url: &str) -> Result<(), String> {
        crate::browser::open(url).map_err(|e| e.to_string())
    }

    fn open_folder(&self, path: &Path) -> Result<(), String> {
        crate::browser::open_path(path).map_err(|e| e.to_string())
    }

    fn autostart(&self) -> bool {
        Autostart::for_current_user().is_enabled()
    }

    fn ask_caller(
        &self,
        account: &str,
        caller: &Caller,
        patience: Duration,
    ) -> Pin<Box<dyn Future<Output = Consent> + Send + 'static>> {
        let why = match self.kind {
            "app" => None,
            "headless" => {
                Some("this Tokentray runs without a desktop (`run --headless`) to ask you on")
            }
            _ => Some("no Tokentray app is running to ask you"),
        };
        if let Some(why) = why {
            return Box::pin(std::future::ready(Consent::NobodyToAsk(why.to_owned())));
        }
        let key = (
            account.to_owned(),
            caller.program.clone().unwrap_or_default(),
        );
        let asking = self.asking.clone();
        let (account, caller) = (account.to_owned(), caller.clone());
        Box::pin(async move {
            // The same program asking again while the person decides (20 `git fetch`es): one
            // notification, one answer for all of them.
            let (mine, waiter) = {
                let mut pending = asking.lock().unwrap_or_else(|p| p.into_inner());
                match pending.get(&key) {
                    Some(tx) => (None, tx.subscribe()),
                    None => {
                        let (tx, rx) = tokio::sync::broadcast::channel(1);
                        pending.insert(key.clone(), tx.clone());
                        (Some(tx), rx)
                    }
                }
            };
            let Some(tx) = mine else {
                let mut waiter = waiter;
                return tokio::time::timeout(patience + Duration::from_secs(5), waiter.recv())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or(Consent::NoAnswer);
            };
            // The question leaves the list however this ends, so a request abandoned midway
            // cannot keep later ones waiting on an answer nobody will send.
            let pending = Pending { asking, key };
            let consent = crate::notifier::ask_caller(&account, &caller, patience).await;
            // Off the list before the answer goes out: a request arriving now asks anew
            // rather than waiting for an answer already sent.
            drop(pending);
            let _ = tx.send(consent.clone());
            consent
        })
    }

    fn set_autostart(&self, on: bool) -> Result<(), String> {
        let autostart = Autostart::for_current_user();
        let result = if on {
            tokentray_core::paths::app_binary()
                .map_err(|e| e.to_string())
                .and_then(|app| autostart.enable(&app).map_err(|e| e.to_string()))
        } else {
            autostart.disable().map_err(|e| e.to_string())
        };
        // The tray's "Launch at login" check item follows, whatever happened.
        self.signals.send(Signal::SettingsChanged);
        result
    }
}
