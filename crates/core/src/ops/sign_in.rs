//! Operations that give an account its tokens or take them away: sign-in (from a terminal or
//! the dashboard), import, sign-out.

use serde::{Deserialize, Serialize};

use super::context::Cx;
use super::error::{code, OpError};
use crate::engine::{LoginMethod, LoginOutcome, LoginPrompt};
use crate::secret::Secret;

/// What the dashboard shows while a sign-in waits: a code to type, or nothing (the browser is
/// open). Unlike [`LoginPrompt`] it carries no URL: the page never holds the flow's `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInView {
    /// `browser` or `device`.
    pub method: LoginMethod,
    /// The device code, to show and copy.
    pub user_code: Option<String>,
    /// Where to type it.
    pub verification_uri: Option<String>,
    /// How long the person has.
    pub expires_in_s: u64,
}

pub(super) async fn login(
    cx: &Cx<'_>,
    account: String,
    method: LoginMethod,
) -> Result<LoginPrompt, OpError> {
    Ok(cx.engine.begin_login(&account, method).await?)
}

pub(super) async fn login_wait(cx: &Cx<'_>, account: String) -> Result<LoginOutcome, OpError> {
    Ok(cx.engine.wait_login(&account).await?)
}

pub(super) async fn sign_in(
    cx: &Cx<'_>,
    account: String,
    device: bool,
) -> Result<SignInView, OpError> {
    let method = if device {
        LoginMethod::Device
    } else {
        LoginMethod::Auto
    };
    let prompt = cx.engine.begin_login(&account, method).await?;
    if let Err(e) = cx.desk.open_url(&prompt.url) {
        // A device code can be typed on any machine: show it even when no browser opens here
        // (a headless engine without a display). A browser sign-in cannot go on without one.
        if prompt.user_code.is_none() {
            return Err(OpError::new(
                code::UNSUPPORTED,
                format!("{e}; or sign in from a terminal with `tokentray login {account}`"),
            ));
        }
        tracing::warn!(%account, "cannot open the device sign-in page: {e}");
    }
    Ok(SignInView {
        method: prompt.method,
        user_code: prompt.user_code,
        verification_uri: prompt.verification_uri,
        expires_in_s: prompt.expires_in_s,
    })
}

pub(super) async fn import(cx: &Cx<'_>, account: String, tokens: Secret) -> Result<(), OpError> {
    Ok(cx.engine.import(&account, &tokens).await?)
}

pub(super) async fn forget(cx: &Cx<'_>, account: String) -> Result<(), OpError> {
    Ok(cx.engine.forget(&account).await?)
}
