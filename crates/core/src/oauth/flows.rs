//! Interactive sign-in with the `oauth2` crate: authorization code + PKCE (S256) over a loopback
//! redirect on 127.0.0.1 (RFC 8252), and the device authorization grant (RFC 8628). Every request
//! goes through Tokentray's own [`Http`] (no redirects, timeouts, a size cap).
//!
//! A flow is two steps: `start` (what to show the person: a URL, maybe a code) and `finish` (wait
//! for them, then exchange). The engine owns the steps; this module knows no accounts.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardDeviceAuthorizationResponse, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::http::{Http, HttpRequest};
use crate::oauth::classify::TokenAnswer;
use crate::secret::Secret;
use crate::settings::ProviderSettings;

/// How long a browser sign-in waits for the person before giving up.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Why a sign-in did not complete. Each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The provider has no authorization endpoint.
    #[error("the provider has no authorization endpoint for a browser sign-in; use `--device`, or set `authorize_url` in its settings")]
    NoBrowserFlow,
    /// The provider has no device authorization endpoint.
    #[error("the provider has no device authorization endpoint; sign in with the browser instead, or set `device_url` in its settings")]
    NoDeviceFlow,
    /// An endpoint in the settings is not a URL.
    #[error("the provider's settings hold a bad URL ({0}); fix it in settings.toml")]
    BadUrl(String),
    /// Nobody finished the provider's page in time.
    #[error("the sign-in was not finished within {} minutes; start it again", .0.as_secs() / 60)]
    TimedOut(Duration),
    /// The person (or the provider) cancelled at the provider's page.
    #[error("the sign-in was cancelled at the provider ({0}); start it again to sign in")]
    Denied(String),
    /// The provider refused to hand out tokens.
    #[error(
        "the provider refused the sign-in ({0}); check the client id and scopes, then try again"
    )]
    Refused(String),
    /// The provider could not be reached.
    #[error("cannot reach the provider ({0}); check the network and try again")]
    Network(String),
    /// The loopback listener could not be opened.
    #[error("cannot listen for the browser's return on 127.0.0.1 ({0})")]
    Listen(String),
}

/// The fields providers add to the token answer: OpenID's ID token, GitHub's refresh token
/// lifetime.
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    /// The ID token (a JWT), if the provider sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The refresh token's lifetime in seconds, if the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
}

impl std::fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.id_token.as_ref().map(|_| "[redacted]");
        f.debug_struct("IdTokenField")
            .field("id_token", &shown)
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .finish()
    }
}

impl oauth2::ExtraTokenFields for IdTokenField {}

type LoginTokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type LoginClient<Auth, Device> = oauth2::Client<
    BasicErrorResponse,
    LoginTokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    Auth,
    Device,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A transport failure as the `oauth2` crate wants it: an `Error`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

type OauthFuture<'h> =
    Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpFailure>> + Send + 'h>>;

/// Tokentray's [`Http`] as the `oauth2` crate's async client. An owning struct rather than a
/// closure over `&dyn Http`: a borrowed client makes the flow's future lose `Send` to a
/// higher-ranked lifetime, and then the engine cannot spawn it.
struct OauthHttp(Arc<dyn Http>);

impl<'c> oauth2::AsyncHttpClient<'c> for OauthHttp {
    type Error = HttpFailure;
    type Future = OauthFuture<'c>;

    fn call(&'c self, req: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let headers = req
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let answer = self
                .0
                .send(HttpRequest {
                    method: req.method().as_str().to_owned(),
                    url: req.uri().to_string(),
                    headers,
                    body: req.body().clone(),
                })
                .await
                .map_err(|e| HttpFailure(format!("{e:?}")))?;
            // Only a 200 is rewritten (and then it is JSON: its type and length are new).
            let rewritten = answer.status == 200;
            let (status, body) = if rewritten {
                as_rfc_answer(answer.body)
            } else {
                (answer.status, answer.body)
            };
            let mut builder = oauth2::http::Response::builder().status(status);
            for (k, v) in &answer.headers {
                let framing = k.eq_ignore_ascii_case("content-type")
                    || k.eq_ignore_ascii_case("content-length");
                if !(rewritten && framing) {
                    builder = builder.header(k, v);
                }
            }
            if rewritten {
                builder = builder.header("content-type", "application/json");
            }
            builder.body(body).map_err(|e| HttpFailure(e.to_string()))
        })
    }
}

/// A 200 answer as RFC 6749 would have sent it. GitHub answers form-encoded unless it heeds our
/// `Accept`, and reports errors (`authorization_pending`, `slow_down`, `bad_verification_code`)
/// with HTTP 200: as form fields they become JSON, and an error document gets its 400, so that
/// the device flow's polling and a refused exchange read as what they are.
fn as_rfc_answer(body: Vec<u8>) -> (u16, Vec<u8>) {
    let body = form_as_json(&body).unwrap_or(body);
    let is_error = serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| {
        v.get("error").is_some_and(serde_json::Value::is_string) && v.get("access_token").is_none()
    });
    if is_error {
        return (400, body);
    }
    (200, lenient(&body).unwrap_or(body))
}

/// `a=1&b=2` → `{"a":"1","b":"2"}`; `None` for anything that is not a form.
fn form_as_json(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty()
        || text.starts_with(['{', '[', '<'])
        || !text.contains('=')
        || text.contains(char::is_whitespace)
    {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> =
        url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
    serde_json::to_vec(&map).ok()
}

/// The `oauth2` crate reads answers to the letter of RFC 6749, but providers that refresh fine
/// answer sign-ins loosely too: no `token_type` (the refresh path ignores it), `expires_in` or
/// `interval` as a string ("3600"). Such an answer is rewritten into the strict form; anything
/// else is left as it is (`None`).
fn lenient(body: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object_mut()?;
    let mut changed = false;
    if obj.contains_key("access_token") && !obj.contains_key("token_type") {
        obj.insert("token_type".into(), "Bearer".into());
        changed = true;
    }
    for key in ["expires_in", "interval", "refresh_token_expires_in"] {
        let number = obj
            .get(key)
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.trim().parse::<u64>().ok());
        if let Some(n) = number {
            obj.insert(key.into(), n.into());
            changed = true;
        }
    }
    if changed {
        serde_json::to_vec(&v).ok()
    } else {
        None
    }
}

fn url<T>(
    make: impl FnOnce(String) -> Result<T, url::ParseError>,
    s: &str,
) -> Result<T, LoginError> {
    make(s.to_owned()).map_err(|e| LoginError::BadUrl(format!("{s}: {e}")))
}

/// The parts every flow shares: client id, optional secret, token endpoint.
fn base_client(
    provider: &ProviderSettings,
    secret: Option<&Secret>,
) -> Result<LoginClient<EndpointNotSet, EndpointNotSet>, LoginError> {
    let mut client = oauth2::Client::new(ClientId::new(provider.client_id.clone()))
        .set_token_uri(url(TokenUrl::new, &provider.token_url)?);
    if let Some(secret) = secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_owned()));
    }
    Ok(client)
}

/// The client for the device flow: the base parts plus the device authorization endpoint.
fn device_client(
    provider: &ProviderSettings,
    secret: Option<&Secret>,
) -> Result<LoginClient<EndpointNotSet, EndpointSet>, LoginError> {
    let device = provider
        .device_url
        .as_deref()
        .ok_or(LoginError::NoDeviceFlow)?;
    Ok(base_client(provider, secret)?
        .set_device_authorization_url(url(DeviceAuthorizationUrl::new, device)?))
}

fn scopes(provider: &ProviderSettings) -> impl Iterator<Item = Scope> + '_ {
    provider.scopes.iter().map(|s| Scope::new(s.clone()))
}

fn answer_from(tokens: LoginTokens) -> TokenAnswer {
    TokenAnswer {
        access_token: Secret::new(tokens.access_token().secret().clone()),
        refresh_token: tokens
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        id_token: tokens.extra_fields().id_token.clone().map(Secret::new),
        expires_in: tokens.expires_in().map(|d| d.as_secs()),
        scope: tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        token_type: Some("Bearer".into()),
        refresh_expires_in: tokens.extra_fields().refresh_token_expires_in,
    }
}

fn exchange_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, impl oauth2::ErrorResponse + 'static>,
) -> LoginError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            LoginError::Refused(crate::oauth::classify::sanitize(&r.to_string()))
        }
        RequestTokenError::Request(e) => LoginError::Network(e.to_string()),
        RequestTokenError::Parse(e, _) => {
            LoginError::Refused(format!("the answer was not a token response: {e}"))
        }
        RequestTokenError::Other(e) => LoginError::Refused(e),
    }
}

/// A browser sign-in waiting for its callback.
pub struct BrowserLogin {
    listener: tokio::net::TcpListener,
    url: String,
    redirect: RedirectUrl,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
}

impl BrowserLogin {
    /// Opens the loopback listener on an ephemeral port and builds the authorization URL.
    pub async fn start(provider: &ProviderSettings) -> Result<BrowserLogin, LoginError> {
        let auth = provider
            .authorize_url
            .as_deref()
            .ok_or(LoginError::NoBrowserFlow)?;
        // 127.0.0.1 rather than localhost (RFC 8252 §8.3): no resolver, no IPv6 surprise.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| LoginError::Listen(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| LoginError::Listen(e.to_string()))?
            .port();
        let redirect = url(
            RedirectUrl::new,
            &format!("http://127.0.0.1:{port}/callback"),
        )?;
        let client = base_client(provider, None)?
            .set_auth_uri(url(AuthUrl::new, auth)?)
            .set_redirect_uri(redirect.clone());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(scopes(provider))
            .set_pkce_challenge(challenge);
        // The protocol's own parameters are ours; settings only add the provider's extras.
        const OURS: [&str; 7] = [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ];
        for (k, v) in &provider.authorize_params {
            if !OURS.contains(&k.as_str()) {
                request = request.add_extra_param(k.as_str(), v.as_str());
            }
        }
        let (auth_url, state) = request.url();
        Ok(BrowserLogin {
            listener,
            url: auth_url.to_string(),
            redirect,
            state,
            verifier,
        })
    }

    /// The page to open in the browser. Carries the `state` and PKCE challenge: do not log it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits for the browser to come back with a code (callbacks with the wrong `state` are
    /// refused and the wait goes on), exchanges it, tells the browser how it went, and closes
    /// the listener. `label` names the account on the page.
    pub async fn finish(
        self,
        provider: &ProviderSettings,
        secret: Option<&Secret>,
        http: &Arc<dyn Http>,
        timeout: Duration,
        label: &str,
    ) -> Result<TokenAnswer, LoginError> {
        let BrowserLogin {
            listener,
            redirect,
            state,
            verifier,
            ..
        } = self;
        let (tx, mut rx) = mpsc::channel::<Callback>(8);
        let wait = async {
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            tokio::spawn(read_callback(stream, tx.clone()));
                        }
                        // Out of descriptors, say: wait a little rather than spin.
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    },
                    Some(cb) = rx.recv() => {
                        match cb.judge(state.secret()) {
                            Judged::Ignore(page) => cb.reply(page),
                            Judged::Denied(reason) => {
                                cb.reply(Page::failed(label, &format!("The sign-in was cancelled ({reason}).")));
                                return Err(LoginError::Denied(reason));
                            }
                            Judged::Code(code) => return Ok((code, cb)),
                        }
                    }
                }
            }
        };
        let (code, cb) = match tokio::time::timeout(timeout, wait).await {
            Err(_) => return Err(LoginError::TimedOut(timeout)),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(found)) => found,
        };
        drop(listener);
        let client = base_client(provider, secret)?.set_redirect_uri(redirect);
        let exchanged = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&OauthHttp(http.clone()))
            .await
            .map(answer_from)
            .map_err(exchange_error);
        match &exchanged {
            Ok(_) => cb.reply(Page::signed_in(label)),
            Err(e) => cb.reply(Page::failed(label, &e.to_string())),
        }
        exchanged
    }
}

/// A device sign-in: the code to show, then the polling.
pub struct DeviceLogin {
    details: StandardDeviceAuthorizationResponse,
}

impl DeviceLogin {
    /// Asks the provider for a device code.
    pub async fn start(
        provider: &ProviderSettings,
        secret: Option<&Secret>,
        http: &Arc<dyn Http>,
    ) -> Result<DeviceLogin, LoginError> {
        let client = device_client(provider, secret)?;
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(scopes(provider))
            .request_async(&OauthHttp(http.clone()))
            .await
            .map_err(exchange_error)?;
        Ok(DeviceLogin { details })
    }

    /// The code the person types at the provider's page.
    pub fn user_code(&self) -> &str {
        self.details.user_code().secret()
    }

    /// The page where the code is typed.
    pub fn verification_uri(&self) -> &str {
        self.details.verification_uri().as_str()
    }

    /// The page with the code already filled in, if the provider offers one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.details
            .verification_uri_complete()
            .map(|u| u.secret().as_str())
    }

    /// How long the code is valid.
    pub fn expires_in(&self) -> Duration {
        self.details.expires_in()
    }

    /// Polls the token endpoint at the provider's `interval` (slower after `slow_down`) until
    /// the person approves, refuses, or the code expires.
    pub async fn finish(
        self,
        provider: &ProviderSettings,
        secret: Option<&Secret>,
        http: &Arc<dyn Http>,
    ) -> Result<TokenAnswer, LoginError> {
        let client = device_client(provider, secret)?;
        let expires = self.details.expires_in();
        // Nobody approves within no time: the first poll waits an interval like the others
        // (GitHub answers slow_down to a poll sooner than that).
        tokio::time::sleep(self.details.interval()).await;
        let answer = client
            .exchange_device_access_token(&self.details)
            .request_async(&OauthHttp(http.clone()), tokio::time::sleep, Some(expires))
            .await;
        match answer {
            Ok(tokens) => Ok(answer_from(tokens)),
            Err(RequestTokenError::ServerResponse(r)) => {
                use oauth2::DeviceCodeErrorResponseType as T;
                match r.error() {
                    T::AccessDenied => Err(LoginError::Denied("access_denied".into())),
                    T::ExpiredToken => Err(LoginError::TimedOut(expires)),
                    _ => Err(LoginError::Refused(r.to_string())),
                }
            }
            Err(e) => Err(exchange_error(e)),
        }
    }
}

/// Who signed in: the provider's stable subject, compared across sign-ins, and the name a
/// person knows the account by, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// OpenID's `sub`, or GitHub's and GitLab's numeric `id` (stable, unlike a login name
    /// that can be renamed).
    pub subject: String,
    /// `login` (GitHub), `preferred_username`, `username` (GitLab), `email` or `name`,
    /// whichever the provider gives first.
    pub name: Option<String>,
}

impl Identity {
    /// The subject and name from a JSON object of claims or a user endpoint's answer.
    fn from_claims(v: &serde_json::Value) -> Option<Identity> {
        let subject = match (v.get("sub"), v.get("id")) {
            (Some(serde_json::Value::String(s)), _) => s.clone(),
            (_, Some(serde_json::Value::Number(n))) => n.to_string(),
            (_, Some(serde_json::Value::String(s))) => s.clone(),
            _ => return None,
        };
        let name = ["login", "preferred_username", "username", "email", "name"]
            .iter()
            .find_map(|k| v.get(*k)?.as_str().filter(|s| !s.trim().is_empty()))
            .map(str::to_owned);
        Some(Identity { subject, name })
    }
}

/// Who an ID token names. The token came straight from the token endpoint over the
/// connection we opened, so its claims are read without checking the signature (OpenID Connect
/// Core §3.1.3.7 allows that for the code flow).
pub fn id_token_identity(id_token: &str) -> Option<Identity> {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    // An ID token always has `sub`; `id` is a user endpoint's.
    claims.get("sub")?.as_str()?;
    Identity::from_claims(&claims)
}

/// Who a userinfo or user endpoint says the token belongs to.
pub async fn userinfo_identity(
    http: &dyn Http,
    url: &str,
    access_token: &Secret,
) -> Option<Identity> {
    let answer = http
        .send(HttpRequest {
            method: "GET".into(),
            url: url.to_owned(),
            headers: vec![
                (
                    "authorization".into(),
                    format!("Bearer {}", access_token.expose()),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: Vec::new(),
        })
        .await
        .ok()?;
    if answer.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&answer.body).ok()?;
    Identity::from_claims(&v)
}

/// One request that reached the loopback listener, and the way to answer it.
struct Callback {
    target: String,
    reply: oneshot::Sender<Page>,
}

enum Judged {
    /// Not the callback we wait for (wrong path, wrong state): answer it and keep waiting.
    Ignore(Page),
    /// The provider sent the person back with an error.
    Denied(String),
    /// The code, with the right state.
    Code(String),
}

impl Callback {
    fn judge(&self, state: &str) -> Judged {
        let Ok(parsed) = url::Url::parse(&format!("http://127.0.0.1{}", self.target)) else {
            return Judged::Ignore(Page::not_found());
        };
        if parsed.path() != "/callback" {
            return Judged::Ignore(Page::not_found());
        }
        let param = |name: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        // A page in another tab can send requests here too: without the state this sign-in
        // started with, a callback is someone else's (or a forgery) and changes nothing.
        if param("state").as_deref() != Some(state) {
            return Judged::Ignore(Page::wrong_state());
        }
        if let Some(error) = param("error") {
            return Judged::Denied(error);
        }
        match param("code") {
            Some(code) => Judged::Code(code),
            None => Judged::Ignore(Page::wrong_state()),
        }
    }

    fn reply(self, page: Page) {
        // The connection task may be gone (the browser hung up); nothing to answer then.
        let _ = self.reply.send(page);
    }
}

/// Reads one HTTP request head (bounded in size and time) and answers with the page it is given.
async fn read_callback(mut stream: tokio::net::TcpStream, tx: mpsc::Sender<Callback>) {
    let mut head = Vec::with_capacity(1024);
    let read = async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    // Browsers open speculative connections that never send anything: drop them quietly.
    if !matches!(
        tokio::time::timeout(Duration::from_secs(10), read).await,
        Ok(Some(()))
    ) {
        return;
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.lines().next().unwrap_or("").split_whitespace();
    let page = match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => {
            let (reply, answer) = oneshot::channel();
            let cb = Callback {
                target: target.to_owned(),
                reply,
            };
            if tx.send(cb).await.is_err() {
                return;
            }
            match answer.await {
                Ok(page) => page,
                Err(_) => return,
            }
        }
        _ => Page::not_found(),
    };
    let _ = stream.write_all(&page.to_http()).await;
    let _ = stream.shutdown().await;
}

/// A short page for the browser tab.
struct Page {
    status: &'static str,
    title: String,
    body: String,
}

impl Page {
    fn signed_in(label: &str) -> Page {
        Page {
            status: "200 OK",
            title: "Signed in".into(),
            body: format!(
                "Tokentray is signed in to <b>{}</b>. You can close this tab.",
                escape(label)
            ),
        }
    }

    fn failed(label: &str, why: &str) -> Page {
        Page {
            status: "200 OK",
            title: "Sign-in did not complete".into(),
            body: format!(
                "Tokentray could not sign in to <b>{}</b>: {}<br>You can close this tab and try again from Tokentray.",
                escape(label),
                escape(why)
            ),
        }
    }

    fn wrong_state() -> Page {
        Page {
            status: "400 Bad Request",
            title: "Not this sign-in".into(),
            body: "This link is not the sign-in Tokentray is waiting for, so it was ignored. \
                   You can close this tab."
                .into(),
        }
    }

    fn not_found() -> Page {
        Page {
            status: "404 Not Found",
            title: "Not found".into(),
            body: "Nothing here.".into(),
        }
    }

    fn to_http(&self) -> Vec<u8> {
        let html = format!(
            "<!doctype html><html lang=en><meta charset=utf-8>\
             <meta name=viewport content='width=device-width'><title>Tokentray: {title}</title>\
             <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:4em auto;\
             padding:0 1em;color:#1d1d1f;background:#fff}}h1{{font-size:1.4em}}\
             @media(prefers-color-scheme:dark){{body{{color:#e8e8e8;background:#1e1e1e}}}}</style>\
             <h1>{title}</h1><p>{body}</p></html>",
            title = self.title,
            body = self.body
        );
        format!(
            "HTTP/1.1 {}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
             cache-control: no-store\r\ncontent-security-policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
             referrer-policy: no-referrer\r\nconnection: close\r\n\r\n{}",
            self.status,
            html.len(),
            html
        )
        .into_bytes()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_token_answers_are_read_and_strict_ones_left_alone() {
        let loose = br#"{"access_token":"a","refresh_token":"r","expires_in":"3600"}"#;
        assert!(serde_json::from_slice::<LoginTokens>(loose).is_err());
        let fixed = lenient(loose).unwrap();
        let tokens: LoginTokens = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(tokens.access_token().secret(), "a");
        assert_eq!(tokens.expires_in(), Some(Duration::from_secs(3600)));
        let strict = br#"{"access_token":"a","token_type":"Bearer","expires_in":3600}"#;
        assert!(lenient(strict).is_none());
        assert!(lenient(b"not json").is_none());
        assert!(lenient(br#"{"error":"invalid_grant"}"#).is_none());
        let device = br#"{"device_code":"d","user_code":"u","verification_uri":"https://x","expires_in":"600","interval":"5"}"#;
        let fixed: serde_json::Value = serde_json::from_slice(&lenient(device).unwrap()).unwrap();
        assert_eq!(
            (fixed["expires_in"].as_u64(), fixed["interval"].as_u64()),
            (Some(600), Some(5))
        );
    }

    #[test]
    fn githubs_forms_and_200_errors_read_as_rfc_answers() {
        // source: GitHub Docs, "Authorizing OAuth apps": form-encoded unless Accept asks for
        // JSON, and errors with HTTP 200.
        let form = b"access_token=ghu_a&expires_in=28800&refresh_token=ghr_b&refresh_token_expires_in=15811200&scope=&token_type=bearer".to_vec();
        let (status, body) = as_rfc_answer(form);
        assert_eq!(status, 200);
        let tokens: LoginTokens = serde_json::from_slice(&body).unwrap();
        assert_eq!(tokens.access_token().secret(), "ghu_a");
        assert_eq!(
            tokens.extra_fields().refresh_token_expires_in,
            Some(15_811_200)
        );
        let pending = b"error=authorization_pending&error_description=The+authorization+request+is+still+pending.".to_vec();
        let (status, body) = as_rfc_answer(pending);
        assert_eq!(status, 400);
        let e: oauth2::DeviceCodeErrorResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            *e.error(),
            oauth2::DeviceCodeErrorResponseType::AuthorizationPending
        );
        let (status, _) = as_rfc_answer(br#"{"error":"slow_down","interval":10}"#.to_vec());
        assert_eq!(status, 400);
        let (status, body) = as_rfc_answer(b"<html>hi</html>".to_vec());
        assert_eq!((status, body.as_slice()), (200, &b"<html>hi</html>"[..]));
    }

    fn cb(target: &str) -> Callback {
        Callback {
            target: target.into(),
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn only_the_callback_with_the_right_state_counts() {
        assert!(matches!(cb("/callback?code=c&state=s").judge("s"), Judged::Code(c) if c == "c"));
        assert!(
            matches!(cb("/callback?code=c&state=x").judge("s"), Judged::Ignore(p) if p.status.starts_with("400"))
        );
        assert!(matches!(
            cb("/callback?code=c").judge("s"),
            Judged::Ignore(_)
        ));
        assert!(
            matches!(cb("/favicon.ico").judge("s"), Judged::Ignore(p) if p.status.starts_with("404"))
        );
        assert!(
            matches!(cb("/callback?error=access_denied&state=s").judge("s"), Judged::Denied(e) if e == "access_denied")
        );
        // An error without the state is someone else's too.
        assert!(matches!(
            cb("/callback?error=access_denied").judge("s"),
            Judged::Ignore(_)
        ));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let page = Page::failed("<script>", "a & b").to_http();
        let text = String::from_utf8(page).unwrap();
        assert!(text.contains("&lt;script&gt;") && text.contains("a &amp; b"));
        assert!(!text.contains("<script>"));
    }

    #[test]
    fn identities_are_read_with_their_names_and_garbage_is_none() {
        use base64::Engine as _;
        let token = |claims: &str| {
            format!(
                "h.{}.s",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims)
            )
        };
        let alice = id_token_identity(&token(r#"{"sub":"alice"}"#)).unwrap();
        // No name claim: the subject is all there is (LoginOutcome::shown falls back to it).
        assert_eq!((alice.subject.as_str(), alice.name), ("alice", None));
        let named = id_token_identity(&token(
            r#"{"sub":"00u1","preferred_username":"ann@example.com"}"#,
        ))
        .unwrap();
        assert_eq!(
            (
                named.subject.as_str(),
                named.name.as_deref().unwrap_or_default()
            ),
            ("00u1", "ann@example.com")
        );
        // A GitHub user: the stable numeric id, shown by its login.
        let octo =
            Identity::from_claims(&serde_json::json!({"login": "octo", "id": 583231})).unwrap();
        assert_eq!(
            (
                octo.subject.as_str(),
                octo.name.as_deref().unwrap_or_default()
            ),
            ("583231", "octo")
        );
        assert_eq!(id_token_identity(&token(r#"{"id":1}"#)), None);
        assert_eq!(id_token_identity("not a jwt"), None);
        assert_eq!(id_token_identity("a.!!!.c"), None);
    }
}
