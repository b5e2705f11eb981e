//! The real OAuth server for tests: panva's `oidc-provider` (tests/oidc/server.mjs) on
//! 127.0.0.1 with an ephemeral port, one per test, plus its control API (revoke, faults, stats).

use crate::deadline::OutputWithin;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// Token lifetimes and other start-up options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Access token lifetime in seconds.
    pub access_ttl: u64,
    /// Refresh token lifetime in seconds.
    pub refresh_ttl: u64,
    /// A provider's documented behaviour (tests/oidc/quirks.mjs): github, google, microsoft,
    /// gitlab.
    pub quirks: Option<&'static str>,
    /// Resource servers (RFC 8707) as JSON, `{"https://one.test":"api"}`: each with its
    /// scopes; a sign-in is granted them all.
    pub resources: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            access_ttl: 60,
            refresh_ttl: 86_400,
            quirks: None,
            resources: None,
        }
    }
}

/// A running oidc-provider; stopped when dropped.
pub struct OidcServer {
    child: Child,
    issuer: String,
    agent: ureq::Agent,
}

/// Every token the server at `issuer` has issued so far (its control endpoint's record).
pub fn issued_tokens_at(issuer: &str) -> Result<Vec<String>, String> {
    let url = format!("{issuer}/__control/stats");
    let stats: Value = ureq::get(&url)
        .config()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_json()
        .map_err(|e| e.to_string())?;
    Ok(tokens_in(&stats))
}

fn tokens_in(stats: &Value) -> Vec<String> {
    let mut all = Vec::new();
    if let Some(issued) = stats["issued"].as_object() {
        for list in issued.values() {
            for t in list.as_array().into_iter().flatten() {
                if let Some(t) = t.as_str() {
                    all.push(t.to_owned());
                }
            }
        }
    }
    all
}

/// The folder of the Node server and the scripted user.
pub fn oidc_dir() -> PathBuf {
    crate::bins::repo_root().join("tests/oidc")
}

/// The scripted user at the browser: run as `$BROWSER URL`, it completes the provider's login
/// and consent pages (or the device page) like a person would.
pub fn scripted_user() -> PathBuf {
    oidc_dir().join("user.mjs")
}

/// How long a server may take to print its ready line (it takes well under a second).
const SERVER_START: Duration = Duration::from_secs(30);

impl OidcServer {
    /// Starts a server with default options.
    pub fn start() -> OidcServer {
        OidcServer::start_with(Options::default())
    }

    /// Starts a server and waits until it listens.
    pub fn start_with(opts: Options) -> OidcServer {
        let dir = oidc_dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the test OAuth server is not installed: run `make test-deps` (npm ci in tests/oidc)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .env("OIDC_ACCESS_TTL", opts.access_ttl.to_string())
            .env("OIDC_REFRESH_TTL", opts.refresh_ttl.to_string())
            .env("OIDC_QUIRKS", opts.quirks.unwrap_or_default())
            .env("OIDC_RESOURCES", opts.resources.unwrap_or("{}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node tests/oidc/server.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let line = crate::deadline::first_line_within(
            &mut child,
            stdout,
            SERVER_START,
            "node tests/oidc/server.mjs",
        );
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the OAuth server did not start ({e}): {line:?}"));
        let issuer = ready["issuer"]
            .as_str()
            .expect("issuer in the ready line")
            .to_owned();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            // Node closes idle keep-alive connections after 5 s; ureq does not notice before it
            // reuses one, and the request meets a reset. Retire them well before.
            .max_idle_age(Duration::from_secs(2))
            .build()
            .into();
        OidcServer {
            child,
            issuer,
            agent,
        }
    }

    /// The issuer URL (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// An HTTP client that does not treat 4xx/5xx as errors.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/__control/{path}", self.issuer);
        let mut resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, Some(body)) => self.agent.post(&url).send_json(body),
            (_, None) => self.agent.post(&url).send_empty(),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        assert!(
            resp.status().is_success(),
            "{method} {url}: {}",
            resp.status()
        );
        resp.body_mut().read_json().unwrap_or(Value::Null)
    }

    /// Revokes every grant and token of user `sub`; returns how many were revoked.
    pub fn revoke(&self, sub: &str) -> u64 {
        self.control("POST", "revoke", Some(json!({ "sub": sub })))["revoked"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Makes the provider stop accepting `sub`'s access tokens (its refresh token still works).
    pub fn revoke_access_tokens(&self, sub: &str) -> u64 {
        self.control("POST", "revoke_access", Some(json!({ "sub": sub })))["revoked"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Injects a fault (see tests/oidc/README.md for its shape).
    pub fn fault(&self, fault: Value) {
        self.control("POST", "fault", Some(fault));
    }

    /// Starts a server that answers as `provider` does (tests/oidc/quirks.mjs).
    pub fn like(provider: &'static str) -> OidcServer {
        OidcServer::start_with(Options {
            quirks: Some(provider),
            ..Options::default()
        })
    }

    /// Sets the quirk mode's controls (`{"slow_down_next": 1}`).
    pub fn quirk(&self, controls: Value) {
        self.control("POST", "quirk", Some(controls));
    }

    /// Clears every fault.
    pub fn clear_faults(&self) {
        self.control("DELETE", "fault", None);
    }

    /// Counters and every token value the server issued.
    pub fn stats(&self) -> Value {
        self.control("GET", "stats", None)
    }

    /// Changes token lifetimes for tokens issued from now on.
    pub fn set_ttl(&self, access_s: u64, refresh_s: u64) {
        self.control(
            "POST",
            "ttl",
            Some(json!({ "access": access_s, "refresh": refresh_s })),
        );
    }

    /// Signs `user` in through the real login page (the scripted user) and returns the token
    /// endpoint's JSON answer.
    pub fn sign_in(&self, user: &str) -> String {
        let out = Command::new("node")
            .arg(oidc_dir().join("signin.mjs"))
            .args([self.issuer(), user])
            .output_within(crate::deadline::CLI_DEADLINE, None);
        assert!(
            out.status.success(),
            "sign-in failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// How many refresh-token grants the token endpoint has seen.
    pub fn refresh_count(&self) -> u64 {
        self.stats()["token_requests_by_grant"]["refresh_token"]
            .as_u64()
            .unwrap_or(0)
    }

    /// `GET /api/whoami` with `token`: the status and the `sub` it names.
    pub fn whoami(&self, token: &str) -> (u16, String) {
        let (status, v) = self.whoami_json(token);
        (status, v["sub"].as_str().unwrap_or_default().to_owned())
    }

    /// `GET /api/whoami` with `token`: the status and the whole answer (`sub`, `scope`, `aud`).
    pub fn whoami_json(&self, token: &str) -> (u16, Value) {
        let url = format!("{}/api/whoami", self.issuer);
        let mut resp = self
            .agent
            .get(&url)
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_json().unwrap_or(Value::Null))
    }

    /// Every access, refresh and ID token the server issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        tokens_in(&self.stats())
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
