//! Sign-in as the engine runs it: one flow per account at a time, started by a person (a
//! command, a click), finished in the background, checked against the account's identity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::{blocking, lock, token_set_from, Engine, EngineError};
use crate::events::{DeviceCode, Event};
use crate::oauth::login::{self, BrowserLogin, DeviceLogin, LoginError, LOGIN_TIMEOUT};
use crate::oauth::refresh;
use crate::secret::Secret;
use crate::settings::ProviderSettings;

/// Which flow to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// The browser when the provider has an authorization endpoint, else the device flow.
    #[default]
    Auto,
    /// Authorization code + PKCE in the browser.
    Browser,
    /// The device authorization grant: a code typed at the provider's page.
    Device,
}

/// What to show the person to go on with a sign-in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPrompt {
    /// The account.
    pub account: String,
    /// `browser` or `device`.
    pub method: LoginMethod,
    /// The page to open: the authorization URL, or the device page (with the code in it when
    /// the provider allows). It carries the flow's `state`: shown to the person, never logged.
    pub url: String,
    /// For the device flow: the code to type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// For the device flow: where to type it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri: Option<String>,
    /// How long the person has, in seconds.
    pub expires_in_s: u64,
}

impl std::fmt::Debug for LoginPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPrompt")
            .field("account", &self.account)
            .field("method", &self.method)
            .field("url", &"[not logged]")
            .finish()
    }
}

/// A finished sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOutcome {
    /// The account.
    pub account: String,
    /// Who it is signed in as, when the provider says.
    pub subject: Option<String>,
}

type Finished = Option<Result<LoginOutcome, Arc<EngineError>>>;

struct Pending {
    prompt: LoginPrompt,
    done: watch::Receiver<Finished>,
    /// Stops the flow (its listener, its polling) when a new one replaces it or the account is
    /// signed out: one flow per account, and none that outlives a logout.
    abort: tokio::task::AbortHandle,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// The sign-ins in progress, and the last one of each account once it ended (so that a waiter
/// who asks a moment too late still gets its outcome). A new flow replaces an ended one.
#[derive(Default)]
pub(super) struct Logins {
    pending: Mutex<HashMap<String, Pending>>,
    /// One per account, held while its flow is being set up, so two clicks cannot start two
    /// flows (and one slow provider does not hold up another account's sign-in).
    starting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

enum Flow {
    Browser(BrowserLogin),
    Device(DeviceLogin),
}

impl Engine {
    /// Starts a sign-in for `name` and returns what to show the person; the flow finishes in
    /// the background ([`Engine::wait_login`]). If one is already waiting for the person, its
    /// prompt is returned again instead of a second flow.
    pub async fn begin_login(
        &self,
        name: &str,
        method: LoginMethod,
    ) -> Result<LoginPrompt, EngineError> {
        self.slot(name)?;
        let logins = &self.inner.logins;
        let starting = lock(&logins.starting)
            .entry(name.to_owned())
            .or_default()
            .clone();
        let _starting = starting.lock().await;
        if let Some(p) = lock(&logins.pending).get(name) {
            let waiting = p.done.borrow().is_none();
            if waiting && (method == LoginMethod::Auto || method == p.prompt.method) {
                return Ok(p.prompt.clone());
            }
        }
        let (provider_name, provider) = self.provider_of(name)?;
        let secret = self.client_secret_of(&provider_name, &provider).await?;
        let device = match method {
            LoginMethod::Device => true,
            LoginMethod::Browser => false,
            LoginMethod::Auto => provider.authorize_url.is_none() && provider.device_url.is_some(),
        };
        let failed = |e: LoginError| EngineError::Login {
            account: name.to_owned(),
            message: e.to_string(),
        };
        let (flow, prompt) = if device {
            let d = DeviceLogin::start(&provider, secret.as_ref(), &self.inner.http)
                .await
                .map_err(failed)?;
            let prompt = LoginPrompt {
                account: name.to_owned(),
                method: LoginMethod::Device,
                url: d
                    .verification_uri_complete()
                    .unwrap_or(d.verification_uri())
                    .to_owned(),
                user_code: Some(d.user_code().to_owned()),
                verification_uri: Some(d.verification_uri().to_owned()),
                expires_in_s: d.expires_in().as_secs(),
            };
            (Flow::Device(d), prompt)
        } else {
            let b = BrowserLogin::start(&provider).await.map_err(failed)?;
            let prompt = LoginPrompt {
                account: name.to_owned(),
                method: LoginMethod::Browser,
                url: b.url().to_owned(),
                user_code: None,
                verification_uri: None,
                expires_in_s: LOGIN_TIMEOUT.as_secs(),
            };
            (Flow::Browser(b), prompt)
        };
        let (tx, rx) = watch::channel(None);
        self.publish(Event::LoginStarted {
            account: name.to_owned(),
            device: prompt.user_code.as_ref().map(|code| DeviceCode {
                user_code: code.clone(),
                verification_uri: prompt.verification_uri.clone().unwrap_or_default(),
                expires_in_s: prompt.expires_in_s,
            }),
        });
        let engine = self.clone();
        let account = name.to_owned();
        let task = tokio::spawn(async move {
            let result = engine
                .finish_login(&account, flow, &provider, secret.as_ref())
                .await;
            let message = match &result {
                Ok(o) => match &o.subject {
                    Some(s) => format!("{account} is signed in as {s}"),
                    None => format!("{account} is signed in"),
                },
                Err(e) => e.to_string(),
            };
            engine.publish(Event::LoginFinished {
                account: account.clone(),
                ok: result.is_ok(),
                message,
            });
            let _ = tx.send(Some(result.map_err(Arc::new)));
        });
        // Replacing an entry drops (and so aborts) the flow it held.
        lock(&logins.pending).insert(
            name.to_owned(),
            Pending {
                prompt: prompt.clone(),
                done: rx,
                abort: task.abort_handle(),
            },
        );
        Ok(prompt)
    }

    /// Stops any sign-in of `name` that waits for a person (the account is signed out or
    /// removed).
    pub(super) fn cancel_login(&self, name: &str) {
        let finished = lock(&self.inner.logins.pending)
            .get(name)
            .is_none_or(|p| p.done.borrow().is_some());
        if !finished {
            lock(&self.inner.logins.pending).remove(name);
        }
    }

    /// Waits for the sign-in of `name` that is in progress to end, or answers at once with the
    /// outcome of the last one if it already ended. With none at all, says so.
    pub async fn wait_login(&self, name: &str) -> Result<LoginOutcome, EngineError> {
        let pending = lock(&self.inner.logins.pending)
            .get(name)
            .map(|p| (p.done.clone(), p.prompt.expires_in_s));
        let (rx, expires_in_s) = pending.unzip();
        let Some(mut rx) = rx else {
            return Err(EngineError::Login {
                account: name.to_owned(),
                message: "no sign-in is in progress; start one with `tokentray login`".into(),
            });
        };
        // Past the flow's own deadline (a device code may live 15 minutes or more) plus the
        // token exchange, something is stuck.
        let deadline = Duration::from_secs(expires_in_s.unwrap_or(0)).max(LOGIN_TIMEOUT);
        let waited = tokio::time::timeout(
            deadline + Duration::from_secs(60),
            rx.wait_for(Option::is_some),
        )
        .await;
        let stuck = |message: &str| EngineError::Login {
            account: name.to_owned(),
            message: message.into(),
        };
        match waited {
            Ok(Ok(v)) => match v.clone() {
                Some(Ok(outcome)) => Ok(outcome),
                Some(Err(e)) => Err(EngineError::Shared(e)),
                None => Err(stuck("the sign-in ended without an answer; start it again")),
            },
            // The flow was replaced by a newer one or cancelled by a sign-out.
            Ok(Err(_)) => Err(stuck(
                "the sign-in was replaced or cancelled; start it again if needed",
            )),
            Err(_) => Err(stuck("the sign-in did not finish in time; start it again")),
        }
    }

    /// A person asked to sign `name` in again (a notification's action, a menu item): start a
    /// flow (or find the one waiting) and open its page in the browser.
    pub async fn relogin_interactive(&self, name: &str) -> Result<LoginPrompt, EngineError> {
        let prompt = match self.begin_login(name, LoginMethod::Auto).await {
            Ok(p) => p,
            Err(e) => {
                // The person clicked and is owed an answer: the notifier tells it.
                self.publish(Event::LoginFinished {
                    account: name.to_owned(),
                    ok: false,
                    message: e.to_string(),
                });
                return Err(e);
            }
        };
        if let Err(e) = crate::browser::open(&prompt.url) {
            tracing::warn!(account = %name, "{e}");
            return Err(EngineError::Login {
                account: name.to_owned(),
                message: e.to_string(),
            });
        }
        Ok(prompt)
    }

    async fn finish_login(
        &self,
        name: &str,
        flow: Flow,
        provider: &ProviderSettings,
        secret: Option<&Secret>,
    ) -> Result<LoginOutcome, EngineError> {
        let http = &self.inner.http;
        let answer = match flow {
            Flow::Browser(b) => b.finish(provider, secret, http, LOGIN_TIMEOUT, name).await,
            Flow::Device(d) => d.finish(provider, secret, http).await,
        }
        .map_err(|e| EngineError::Login {
            account: name.to_owned(),
            message: e.to_string(),
        })?;
        let tokens = token_set_from(answer, None);
        let subject = match tokens
            .id_token
            .as_ref()
            .and_then(|t| login::id_token_subject(t.expose()))
        {
            Some(s) => Some(s),
            None => match &provider.userinfo_url {
                Some(url) => {
                    login::userinfo_subject(http.as_ref(), url, &tokens.access_token).await
                }
                None => None,
            },
        };
        let had = self.record(name).subject;
        if let (Some(expected), Some(got)) = (&had, &subject) {
            if expected != got {
                // Not ours to keep: give the stranger's grant back rather than leave it live.
                if let (Some(url), Some(rt)) = (&provider.revoke_url, &tokens.refresh_token) {
                    let _ = refresh::revoke(
                        http.as_ref(),
                        url,
                        &provider.client_id,
                        secret,
                        rt,
                        "refresh_token",
                    )
                    .await;
                }
                tracing::warn!(account = %name, %expected, %got, "re-login as a different user refused");
                return Err(EngineError::IdentityMismatch {
                    account: name.to_owned(),
                    expected: expected.clone(),
                    got: got.clone(),
                });
            }
        }
        if had.is_some() && subject.is_none() {
            // Nothing to compare: the provider gave neither an ID token nor a user endpoint.
            tracing::warn!(account = %name, "the provider did not say who signed in; identity not checked");
        }
        self.sign_in_as(name, tokens, subject.clone()).await?;
        tracing::info!(account = %name, "signed in");
        Ok(LoginOutcome {
            account: name.to_owned(),
            subject,
        })
    }

    /// The provider's client secret from the keychain, when it has one.
    pub(super) async fn client_secret_of(
        &self,
        provider_name: &str,
        provider: &ProviderSettings,
    ) -> Result<Option<Secret>, EngineError> {
        if !provider.client_secret {
            return Ok(None);
        }
        let vault = self.inner.vault.clone();
        let p = provider_name.to_owned();
        blocking(move || vault.client_secret(&p)).await
    }
}
