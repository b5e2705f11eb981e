//! Classification of every refresh answer: ok, permanent (re-login), transient (retry) or config
//! (fix the provider settings). The input is the raw HTTP answer — status, headers, body — or a
//! transport failure; the rules are a data table with per-provider overrides from the settings.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

mod class;
mod table;
mod words;

pub use class::FailureClass;
use FailureClass::{Config, Permanent, Transient};

/// A raw answer from the token endpoint.
pub struct RawAnswer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The headers (any case).
    pub headers: &'a [(String, String)],
    /// The body as received.
    pub body: &'a [u8],
}

/// What went wrong below HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    /// No answer in time.
    Timeout,
    /// No connection (refused, DNS, unreachable).
    Connect(String),
    /// The TLS handshake failed (a bad certificate, an intercepting proxy).
    Tls(String),
    /// Anything else (a reset mid-answer).
    Other(String),
}

/// The verdict on one answer.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// New tokens.
    Ok(TokenAnswer),
    /// A failure and its class.
    Failure(Failure),
}

/// A successful token response. The tokens are [`Secret`]s from the moment they are parsed.
#[derive(Debug, Clone)]
pub struct TokenAnswer {
    /// The new access token.
    pub access_token: Secret,
    /// A new (rotated) refresh token, if the provider sent one.
    pub refresh_token: Option<Secret>,
    /// A new ID token, if any.
    pub id_token: Option<Secret>,
    /// The access token's lifetime in seconds.
    pub expires_in: Option<u64>,
    /// The granted scopes (space-separated), if sent.
    pub scope: Option<String>,
    /// The token type (normally `Bearer`).
    pub token_type: Option<String>,
}

/// A classified failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its class.
    pub class: FailureClass,
    /// The provider's code (`invalid_grant`), or ours: `http_503`, `timeout`, `connect`, `tls`,
    /// `transport`, `unparseable`, `empty_body`, `no_access_token`.
    pub code: String,
    /// A provider sub-code (`AADSTS70008`, an Okta `E0000011`), if any.
    pub subcode: Option<String>,
    /// The HTTP status, when there was an answer.
    pub http_status: Option<u16>,
    /// The provider's own description, sanitized and cut to 300 characters.
    pub description: Option<String>,
    /// What the user should do, in one sentence.
    pub advice: String,
    /// How long the provider asked us to wait (`Retry-After`), capped at an hour.
    pub retry_after: Option<Duration>,
    /// False when the code is not in the table: transient, but counted by the scheduler.
    pub known: bool,
}

/// Changes to the table for one provider, from the settings file:
/// `[provider.NAME.errors]` with `codes = { some_code = "permanent" }` and `subcodes = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassOverrides {
    /// Code → class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub codes: BTreeMap<String, FailureClass>,
    /// Sub-code → class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subcodes: BTreeMap<String, FailureClass>,
}

impl ClassOverrides {
    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty() && self.subcodes.is_empty()
    }
}

/// The classification table: code → class and sub-code → class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTable {
    codes: BTreeMap<String, FailureClass>,
    subcodes: BTreeMap<String, FailureClass>,
    /// Codes the person set in the settings: their word beats the provider's description.
    #[serde(default, skip)]
    overridden: std::collections::BTreeSet<String>,
}

impl ClassTable {
    /// The built-in table.
    pub fn builtin() -> ClassTable {
        let lower = |t: &[(&str, FailureClass)]| -> BTreeMap<String, FailureClass> {
            t.iter()
                .map(|(k, c)| (k.to_ascii_lowercase(), *c))
                .collect()
        };
        ClassTable {
            codes: lower(table::CODES),
            subcodes: lower(table::SUBCODES),
            overridden: Default::default(),
        }
    }

    /// The built-in table, built once per process.
    pub fn shared() -> &'static ClassTable {
        static TABLE: std::sync::OnceLock<ClassTable> = std::sync::OnceLock::new();
        TABLE.get_or_init(ClassTable::builtin)
    }

    /// This table with `overrides` on top.
    pub fn with_overrides(&self, overrides: &ClassOverrides) -> ClassTable {
        let mut t = self.clone();
        for (k, c) in &overrides.codes {
            t.codes.insert(k.to_ascii_lowercase(), *c);
            t.overridden.insert(k.to_ascii_lowercase());
        }
        for (k, c) in &overrides.subcodes {
            t.subcodes.insert(k.to_ascii_lowercase(), *c);
        }
        t
    }

    fn code(&self, code: &str) -> Option<FailureClass> {
        self.codes.get(&code.to_ascii_lowercase()).copied()
    }

    fn subcode(&self, sub: &str) -> Option<FailureClass> {
        self.subcodes.get(&sub.to_ascii_lowercase()).copied()
    }
}

/// The most of a body we look at; enough for any real error document.
const SCAN_LIMIT: usize = 64 * 1024;
/// The longest description kept.
const DESCRIPTION_LIMIT: usize = 300;
/// The longest `Retry-After` honoured.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// An error as the provider expressed it, before classification.
#[derive(Debug, Default)]
struct Parsed {
    code: Option<String>,
    subcode: Option<String>,
    description: Option<String>,
    /// The answer was a token response.
    tokens: Option<TokenAnswer>,
    /// The body was a readable document (JSON object or form).
    readable: bool,
}

/// Classifies one raw answer from the token endpoint.
pub fn classify(answer: &RawAnswer<'_>, table: &ClassTable, now: SystemTime) -> Verdict {
    let status = answer.status;
    let body = &answer.body[..answer.body.len().min(SCAN_LIMIT)];
    let parsed = parse_body(body);
    let retry_after = header(answer.headers, "retry-after").and_then(|v| parse_retry_after(v, now));
    let told_by = |rule: &words::Rule, code: String, p: &Parsed| {
        // Which reading spoke, for whoever wonders why (`RUST_LOG=debug`).
        tracing::debug!(%code, class = %rule.class, source = rule.source, "classified by the provider's words");
        Verdict::Failure(Failure {
            class: rule.class,
            advice: rule
                .advice
                .map_or_else(|| advice(rule.class, &code), str::to_owned),
            code,
            subcode: p.subcode.clone(),
            http_status: Some(status),
            description: p.description.clone(),
            retry_after,
            known: true,
        })
    };
    let fail = |class: FailureClass, code: String, known: bool, p: &Parsed| {
        Verdict::Failure(Failure {
            class,
            advice: if known {
                advice(class, &code)
            } else {
                UNKNOWN_ADVICE.to_owned()
            },
            code,
            subcode: p.subcode.clone(),
            http_status: Some(status),
            description: p.description.clone(),
            retry_after,
            known,
        })
    };

    // A gateway under load may pass along any body; 429 and 5xx are "later", whatever the body
    // says (a permanent code behind a 503 is not an answer from a healthy provider).
    if status == 408 || status == 425 || status == 429 || (500..600).contains(&status) {
        let code = parsed
            .code
            .clone()
            .unwrap_or_else(|| format!("http_{status}"));
        return fail(Transient, code, true, &parsed);
    }

    if let Some(code) = parsed.code.clone() {
        if let Some(class) = parsed.subcode.as_deref().and_then(|s| table.subcode(s)) {
            return fail(class, code, true, &parsed);
        }
        let by_code = table.code(&code);
        // The words beside the code, unless the code itself says "later" or the person set
        // this code's class: a dead grant under another code, a refusal nobody can retry away.
        let overridden = table.overridden.contains(&code.to_ascii_lowercase());
        if by_code != Some(Transient) && !overridden {
            if let Some(rule) = parsed.description.as_deref().and_then(words::read) {
                return told_by(rule, code, &parsed);
            }
        }
        return match by_code {
            Some(class) => fail(class, code, true, &parsed),
            None => fail(Transient, code, false, &parsed),
        };
    }

    // No OAuth error code: words may say the refusal is for good (a region, a deleted client:
    // the settings or the network must change), but never that the grant is dead.
    if matches!(status, 400 | 401 | 403) {
        let rule = parsed.description.as_deref().and_then(words::read);
        if let Some(rule) = rule.filter(|r| r.class == Config) {
            return told_by(rule, format!("http_{status}"), &parsed);
        }
    }

    if (200..300).contains(&status) {
        return match parsed.tokens {
            Some(tokens) => Verdict::Ok(tokens),
            None if body.iter().all(u8::is_ascii_whitespace) => {
                fail(Transient, "empty_body".into(), true, &parsed)
            }
            None if parsed.readable => fail(Transient, "no_access_token".into(), true, &parsed),
            None => fail(Transient, "unparseable".into(), true, &parsed),
        };
    }

    // A 401 without a readable body may still say what is wrong in its challenge.
    if status == 401 {
        if let Some(code) = header(answer.headers, "www-authenticate").and_then(challenge_error) {
            return match table.code(&code) {
                Some(class) => fail(class, code, true, &parsed),
                None => fail(Transient, code, false, &parsed),
            };
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return fail(Transient, "empty_body".into(), true, &parsed);
    }
    // An HTML page or garbage from a proxy is not an answer from the provider.
    fail(Transient, "unparseable".into(), true, &parsed)
}

/// Classifies a failure below HTTP: always transient.
pub fn classify_transport(failure: &TransportFailure) -> Failure {
    let (code, description) = match failure {
        TransportFailure::Timeout => ("timeout", None),
        TransportFailure::Connect(d) => ("connect", Some(d)),
        TransportFailure::Tls(d) => ("tls", Some(d)),
        TransportFailure::Other(d) => ("transport", Some(d)),
    };
    Failure {
        class: Transient,
        code: code.into(),
        subcode: None,
        http_status: None,
        description: description.map(|d| sanitize(d)),
        advice: advice(Transient, code),
        retry_after: None,
        known: true,
    }
}

/// What an answer with a code nobody told Tokentray about says to the person.
const UNKNOWN_ADVICE: &str = "Tokentray cannot tell what the provider means by this answer; it \
     keeps retrying, and asks for a new sign-in if the answer keeps coming. If you know what the \
     code means, set its class in the provider's settings (see docs/providers.md)";

fn advice(class: FailureClass, code: &str) -> String {
    match (class, code) {
        (Transient, "tls") => "The provider's certificate was not accepted (a proxy or a misconfigured server?); Tokentray will retry.".into(),
        (Transient, _) => "The provider is unreachable or busy; Tokentray will retry.".into(),
        (Permanent, _) => "The provider no longer accepts this sign-in; re-login is needed.".into(),
        (Config, c) => format!("The provider rejected the client settings ({c}); check the client id, secret and scopes."),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Bearer error="invalid_client", …` → `invalid_client`.
fn challenge_error(value: &str) -> Option<String> {
    let start = value.find("error=")? + "error=".len();
    let rest = value[start..].trim_start_matches('"');
    let end = rest.find(['"', ',', ' ']).unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_owned())
}

/// Seconds, or an HTTP-date (IMF-fixdate), relative to `now`; capped, past dates are zero.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(RETRY_AFTER_CAP));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(v, &format)
        .ok()?
        .assume_utc();
    let at: SystemTime = at.into();
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(RETRY_AFTER_CAP),
    )
}

fn parse_body(body: &[u8]) -> Parsed {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        if let Ok(serde_json::Value::Object(map)) =
            serde_json::from_str::<serde_json::Value>(trimmed)
        {
            return from_json(&map);
        }
        return Parsed::default();
    }
    if trimmed.contains('=') && !trimmed.starts_with('<') && !trimmed.contains(char::is_whitespace)
    {
        return from_form(trimmed);
    }
    Parsed::default()
}

fn str_field<'a>(
    map: &'a serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Option<&'a str> {
    map.get(key)?.as_str().filter(|s| !s.is_empty())
}

fn from_json(map: &serde_json::Map<String, serde_json::Value>) -> Parsed {
    let mut p = Parsed {
        readable: true,
        ..Parsed::default()
    };
    match map.get("error") {
        Some(serde_json::Value::String(code)) if !code.is_empty() => {
            p.code = Some(code.clone());
            p.description = str_field(map, "error_description")
                .or_else(|| str_field(map, "message"))
                .map(sanitize);
        }
        // OpenAI `{"error": {"code", "message", "type"}}`; Anthropic `{"error": {"type", …}}`.
        Some(serde_json::Value::Object(inner)) => {
            p.code = str_field(inner, "code")
                .or_else(|| str_field(inner, "type"))
                .map(str::to_owned);
            p.description = str_field(inner, "message").map(sanitize);
        }
        _ => {}
    }
    // No description beside the code, or no code at all: the provider's words may be under
    // another name (`message`, FastAPI's `detail`, Zoom's `reason`).
    if p.description.is_none() {
        p.description = ["error_description", "message", "detail", "reason"]
            .iter()
            .find_map(|k| str_field(map, k))
            .map(sanitize);
    }
    // Cognito: `{"__type": "NotAuthorizedException", "message": …}` (sometimes prefixed "ns#").
    if p.code.is_none() {
        if let Some(t) = str_field(map, "__type") {
            p.code = Some(t.rsplit('#').next().unwrap_or(t).to_owned());
            p.description = str_field(map, "message").map(sanitize);
        }
    }
    // Okta's own error shape.
    if let Some(ec) = str_field(map, "errorCode") {
        p.subcode = Some(ec.to_owned());
        if p.code.is_none() {
            p.code = Some(ec.to_owned());
        }
        if p.description.is_none() {
            p.description = str_field(map, "errorSummary").map(sanitize);
        }
    }
    // Microsoft: `"error_codes": [70008]` or "AADSTS70008: …" at the start of the description.
    if p.subcode.is_none() {
        if let Some(n) = map
            .get("error_codes")
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
            .and_then(serde_json::Value::as_u64)
        {
            p.subcode = Some(format!("AADSTS{n}"));
        } else if let Some(d) = &p.description {
            p.subcode = aadsts_prefix(d);
        }
    }
    // Slack: `{"ok": false, "error": "…"}` already handled; `ok: true` is a token answer below.
    if p.code.is_none() {
        if let Some(at) = str_field(map, "access_token") {
            p.tokens = Some(TokenAnswer {
                access_token: Secret::new(at),
                refresh_token: str_field(map, "refresh_token").map(Secret::new),
                id_token: str_field(map, "id_token").map(Secret::new),
                expires_in: map.get("expires_in").and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                }),
                scope: str_field(map, "scope").map(str::to_owned),
                token_type: str_field(map, "token_type").map(str::to_owned),
            });
        }
    }
    p
}

fn aadsts_prefix(description: &str) -> Option<String> {
    let rest = description.strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

/// `error=bad_refresh_token&error_description=…` (GitHub without `Accept: application/json`).
fn from_form(text: &str) -> Parsed {
    let fields: BTreeMap<String, String> = url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect();
    let mut p = Parsed::default();
    if let Some(code) = fields.get("error").filter(|c| !c.is_empty()) {
        p.readable = true;
        p.code = Some(code.clone());
        p.description = fields.get("error_description").map(|d| sanitize(d));
    } else if let Some(at) = fields.get("access_token").filter(|t| !t.is_empty()) {
        p.readable = true;
        p.tokens = Some(TokenAnswer {
            access_token: Secret::new(at.clone()),
            refresh_token: fields.get("refresh_token").cloned().map(Secret::new),
            id_token: fields.get("id_token").cloned().map(Secret::new),
            expires_in: fields.get("expires_in").and_then(|s| s.parse().ok()),
            scope: fields.get("scope").cloned(),
            token_type: fields.get("token_type").cloned(),
        });
    }
    p
}

/// Keeps a provider's description printable and short.
pub fn sanitize(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    match clean.char_indices().nth(DESCRIPTION_LIMIT) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean.to_owned(),
    }
}

#[cfg(test)]
mod tests;
