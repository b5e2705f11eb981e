//! Classification of every refresh answer: ok, permanent (re-login), transient (retry) or config
//! (fix the provider settings). The input is the raw HTTP answer — status, headers, body — or a
//! transport failure; the rules are a data table with per-provider overrides from the settings.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

mod class;
mod parse;
mod table;
mod token_answer;
mod words;

pub use class::FailureClass;
pub use parse::sanitize;
use parse::{parse_body, Parsed};
pub use token_answer::TokenAnswer;
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

    /// The table for a provider: the built-in one, the codes of the preset it came from, and
    /// the person's overrides on top. Borrowed when there is nothing to add.
    pub fn for_provider(
        preset: Option<&str>,
        overrides: &ClassOverrides,
    ) -> std::borrow::Cow<'static, ClassTable> {
        let own: Vec<_> = table::PRESET_CODES
            .iter()
            .filter(|(p, _, _)| Some(*p) == preset)
            .collect();
        if own.is_empty() && overrides.is_empty() {
            return std::borrow::Cow::Borrowed(ClassTable::shared());
        }
        let mut t = ClassTable::shared().clone();
        for (_, code, class) in own {
            t.codes.insert(code.to_ascii_lowercase(), *class);
        }
        std::borrow::Cow::Owned(t.with_overrides(overrides))
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
/// The longest `Retry-After` honoured.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// Classifies one raw answer from the token endpoint.
pub fn classify(answer: &RawAnswer<'_>, table: &ClassTable, now: SystemTime) -> Verdict {
    let status = answer.status;
    let body = &answer.body[..answer.body.len().min(SCAN_LIMIT)];
    let parsed = parse_body(body);
    let retry_after = header(answer.headers, "retry-after").and_then(|v| parse_retry_after(v, now));
    let failure = |class: FailureClass, code: String, advice: String, known: bool, p: &Parsed| {
        Verdict::Failure(Failure {
            class,
            advice,
            code,
            subcode: p.subcode.clone(),
            http_status: Some(status),
            description: p.description.clone(),
            retry_after,
            known,
        })
    };
    let fail = |class: FailureClass, code: String, known: bool, p: &Parsed| {
        let said = if known {
            advice(class, &code)
        } else {
            UNKNOWN_ADVICE.to_owned()
        };
        failure(class, code, said, known, p)
    };
    let told_by = |rule: &words::Rule, code: String, p: &Parsed| {
        // Which reading spoke, for whoever wonders why (`RUST_LOG=debug`).
        tracing::debug!(%code, class = %rule.class, source = rule.source, "classified by the provider's words");
        let said = rule
            .advice
            .map_or_else(|| advice(rule.class, &code), str::to_owned);
        failure(rule.class, code, said, true, p)
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

    // No code, but a readable refusal in the provider's words ("Invalid refresh token", "not
    // available in your country"): they decide. A proxy's page is never read as a verdict.
    if matches!(status, 400 | 401 | 403) && parsed.readable {
        if let Some(rule) = parsed.description.as_deref().and_then(words::read) {
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

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
