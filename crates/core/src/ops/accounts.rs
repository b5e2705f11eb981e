//! Operations on an account's state and tokens: status, history, pause, token, refresh, copy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::consent;
use super::context::Cx;
use super::error::{code, OpError};
use crate::engine::{Credential, RefreshReport};
use crate::history::Entry;
use crate::secret::Secret;
use crate::status::Status;
use crate::variant::TokenRequest;

/// The most history one request gets (the dashboard draws 24 h; the file keeps 26).
const MAX_HOURS: u32 = 72;
/// How long a copied token stays on the clipboard.
const CLIPBOARD_KEEP: Duration = Duration::from_secs(120);

/// What `history` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Oldest first.
    pub entries: Vec<Entry>,
}

/// What `set_paused` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    /// How many accounts changed.
    pub changed: usize,
}

pub(super) async fn status(cx: &Cx<'_>) -> Result<Status, OpError> {
    Ok(cx.engine.status())
}

pub(super) async fn history(
    cx: &Cx<'_>,
    account: Option<String>,
    hours: u32,
) -> Result<HistoryPage, OpError> {
    let since =
        time::OffsetDateTime::now_utc() - time::Duration::hours(i64::from(hours.min(MAX_HOURS)));
    Ok(HistoryPage {
        entries: cx.engine.history(account.as_deref(), since),
    })
}

pub(super) async fn set_paused(
    cx: &Cx<'_>,
    account: Option<String>,
    paused: bool,
) -> Result<Changed, OpError> {
    let changed = match &account {
        Some(name) => cx.engine.set_paused(name, paused)?,
        None => cx.engine.set_paused_all(paused)?,
    };
    Ok(Changed { changed })
}

pub(super) async fn token(
    cx: &Cx<'_>,
    account: String,
    request: TokenRequest,
    on_behalf_of: Option<String>,
) -> Result<Credential, OpError> {
    let caller = cx.caller.acting_for(on_behalf_of.as_deref());
    consent::check(cx, &account, &caller).await?;
    Ok(cx.engine.credential_for(&account, &request).await?)
}

pub(super) async fn rejected(
    cx: &Cx<'_>,
    account: String,
    token: Secret,
    request: TokenRequest,
) -> Result<Credential, OpError> {
    consent::check(cx, &account, cx.caller).await?;
    Ok(cx.engine.rejected_for(&account, &token, &request).await?)
}

pub(super) async fn refresh(cx: &Cx<'_>, account: String) -> Result<RefreshReport, OpError> {
    Ok(cx.engine.refresh(&account).await?)
}

pub(super) async fn copy_token(cx: &Cx<'_>, account: String) -> Result<(), OpError> {
    let token = cx.engine.token(&account).await?;
    if cx.desk.copy_secret(&token, CLIPBOARD_KEEP) {
        Ok(())
    } else {
        Err(OpError::new(
            code::UNSUPPORTED,
            "there is no clipboard to copy to on this desktop; `tokentray token NAME` prints \
             the token instead",
        ))
    }
}
