//! What an operation runs with: the engine, and the desktop around it as a trait the host
//! implements (the engine never touches a clipboard, a browser or a window).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use crate::caller::{Caller, Consent};
use crate::secret::Secret;
use crate::Engine;

/// What the desktop around the engine does for an operation. The host layer implements it; the
/// engine never touches a clipboard, a browser or a window.
pub trait Desk: Send + Sync {
    /// What `ping` reports: `app`, `headless` or `cli`.
    fn kind(&self) -> &'static str;
    /// A second launch asks the GUI to show itself.
    fn activate(&self, open_dashboard: bool);
    /// Puts a secret on the clipboard for `for_how_long`, out of clipboard history; false when
    /// there is no clipboard.
    fn copy_secret(&self, secret: &Secret, for_how_long: Duration) -> bool;
    /// Opens a web page in the person's browser.
    fn open_url(&self, url: &str) -> Result<(), String>;
    /// Opens a folder in the file manager.
    fn open_folder(&self, path: &Path) -> Result<(), String>;
    /// Whether the tray app launches at login.
    fn autostart(&self) -> bool;
    /// Makes the tray app launch at login, or not.
    fn set_autostart(&self, on: bool) -> Result<(), String>;
    /// Asks the person whether `caller` may have `account`'s token, waiting at most `patience`
    /// for the answer. A desk with nobody to ask answers [`Consent::NobodyToAsk`] at once.
    fn ask_caller(
        &self,
        account: &str,
        caller: &Caller,
        patience: Duration,
    ) -> Pin<Box<dyn Future<Output = Consent> + Send + 'static>>;
}

/// What an operation runs with.
pub struct Cx<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The desktop around it.
    pub desk: &'a dyn Desk,
    /// The program that asked, as far as the host could tell.
    pub caller: &'a Caller,
}
