//! A re-login the person asked for with one click (the notification's action, the tray's
//! "Re-login NAME…"): start the sign-in in the engine and open its page in the browser.

use tokentray_core::engine::{LoginMethod, LoginPrompt};
use tokentray_core::{Engine, EngineError};

/// Starts the account's sign-in (or finds the one waiting) and opens its page. The outcome
/// arrives as the engine's `login_finished` event; a failure to start is returned, for the
/// caller to tell the person who clicked.
pub async fn relogin(engine: &Engine, account: &str) -> Result<LoginPrompt, EngineError> {
    let prompt = engine.begin_login(account, LoginMethod::Auto).await?;
    if let Err(e) = crate::browser::open(&prompt.url) {
        tracing::warn!(%account, "{e}");
        return Err(EngineError::Login {
            account: account.to_owned(),
            message: e.to_string(),
        });
    }
    Ok(prompt)
}
