//! Sign-in as the engine runs it: one flow per account at a time, started by a person (a
//! command, a click), finished in the background, checked against the account's identity.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::error::EngineError;
use super::handle::Engine;
use super::keychain::blocking;
use super::logins::{LoginMethod, LoginOutcome, LoginPrompt, Pending};
use super::tokens::token_set_from;
use crate::events::{DeviceCode, Event};
use crate::oauth::flows::{self, BrowserLogin, DeviceLogin, LoginError, LOGIN_TIMEOUT};
use crate::oauth::refresh;
use crate::secret::Secret;
use crate::settings::ProviderSettings;
use crate::sync::lock;

/// The flow being run.
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
                Ok(o) => match o.shown() {
                    Some(who) => format!("{account} is signed in as {who}"),
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
        let identity = match tokens
            .id_token
            .as_ref()
            .and_then(|t| flows::id_token_identity(t.expose()))
        {
            Some(who) => Some(who),
            None => match &provider.userinfo_url {
                Some(url) => {
                    flows::userinfo_identity(http.as_ref(), url, &tokens.access_token).await
                }
                None => None,
            },
        };
        let subject = identity.as_ref().map(|who| who.subject.clone());
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
            user: identity.and_then(|who| who.name),
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

    /// Stores a provider's client secret in the keychain (never in the settings file).
    pub async fn save_client_secret(
        &self,
        provider_name: &str,
        secret: &Secret,
    ) -> Result<(), EngineError> {
        let vault = self.inner.vault.clone();
        let (p, secret) = (provider_name.to_owned(), secret.clone());
        blocking(move || vault.save_client_secret(&p, &secret)).await
    }
}
