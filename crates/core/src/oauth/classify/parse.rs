//! Reading an answer's body: the code, sub-code and description a provider put in it, in the
//! shapes providers use — RFC 6749 JSON, GitHub's form, nested `error` objects (OpenAI,
//! Anthropic, Google RPC, Dropbox's `.tag`), Cognito's `__type`, Okta's `errorCode`, `errors`
//! lists (Strava, Twitter, Amazon), HubSpot's and LinkedIn's own fields, Intuit's XML — or the
//! tokens of a successful one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::token_answer::TokenAnswer;
use crate::secret::Secret;

/// The longest description kept.
pub(super) const DESCRIPTION_LIMIT: usize = 300;

/// An error as the provider expressed it, before classification.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub code: Option<String>,
    pub subcode: Option<String>,
    pub description: Option<String>,
    /// The answer was a token response.
    pub tokens: Option<TokenAnswer>,
    /// The body was a readable document (JSON, form or XML), not a proxy's page.
    pub readable: bool,
}

/// Reads a body (already cut to the scan limit).
pub(super) fn parse_body(body: &[u8]) -> Parsed {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(map)) => from_json(&lower_keys(&map)),
            // Google's RPC errors sometimes come as a one-element list.
            Ok(Value::Array(list)) => match list.first() {
                Some(Value::Object(map)) => from_json(&lower_keys(map)),
                _ => Parsed::default(),
            },
            _ => Parsed::default(),
        };
    }
    if trimmed.starts_with("<?xml") {
        return from_xml(trimmed);
    }
    if trimmed.contains('=') && !trimmed.starts_with('<') && !trimmed.contains(char::is_whitespace)
    {
        return from_form(trimmed);
    }
    Parsed::default()
}

/// Keys in lower case: Azure DevOps says `Error` and `ErrorDescription`.
fn lower_keys(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

fn str_field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

/// The first of `keys` that holds text.
fn first_text<'a>(map: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| str_field(map, k))
}

/// A code as providers write it: `invalid_grant`, `BAD_REFRESH_TOKEN`, `invalid request`
/// (Dropbox), or `invalid_client: Invalid client_id…` (code and words in one string). A whole
/// sentence is words, not a code.
fn split_code(raw: &str) -> (Option<String>, Option<String>) {
    let raw = raw.trim();
    if let Some((code, rest)) = raw.split_once(": ") {
        if !code.contains(char::is_whitespace) {
            return (Some(code.to_owned()), Some(rest.to_owned()));
        }
    }
    let words: Vec<&str> = raw.split_whitespace().collect();
    match words.len() {
        0 => (None, None),
        1 | 2 => (Some(words.join("_")), None),
        _ => (None, Some(raw.to_owned())),
    }
}

fn from_json(map: &Map<String, Value>) -> Parsed {
    let mut p = Parsed {
        readable: true,
        ..Parsed::default()
    };
    let mut words: Option<String> = None;
    match map.get("error") {
        Some(Value::String(raw)) => {
            let (code, rest) = split_code(raw);
            p.code = code;
            words = first_text(map, &["error_description", "errordescription", "message"])
                .map(str::to_owned)
                .or(rest);
        }
        // OpenAI `{"error": {"code", "message", "type"}}`; Anthropic `{"error": {"type", …}}`;
        // Google RPC `{"error": {"code": 403, "message", "status"}}`; Facebook's
        // `{"error": {"type": "OAuthException", "code": 190}}`; Dropbox `{".tag": …}`.
        Some(Value::Object(inner)) => {
            p.code = first_text(inner, &["code", ".tag", "status", "type"]).map(str::to_owned);
            words = str_field(inner, "message").map(str::to_owned);
        }
        _ => {}
    }
    // Cognito: `{"__type": "NotAuthorizedException", "message": …}` (sometimes "ns#" first).
    if p.code.is_none() {
        if let Some(t) = str_field(map, "__type") {
            p.code = Some(t.rsplit('#').next().unwrap_or(t).to_owned());
        }
    }
    // Okta's own error shape.
    if let Some(ec) = str_field(map, "errorcode") {
        p.subcode = Some(ec.to_owned());
        p.code.get_or_insert_with(|| ec.to_owned());
        words = words.or_else(|| str_field(map, "errorsummary").map(str::to_owned));
    }
    // Providers' own fields: HubSpot `status`/`category` in capitals, LinkedIn `code`.
    if p.code.is_none() && !map.contains_key("access_token") {
        p.code = ["category", "code", "status"]
            .iter()
            .filter_map(|k| str_field(map, k))
            .find(|v| {
                v.len() > 3
                    && v.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_owned);
    }
    // `errors: [{"code", "message"}]` (Amazon, Twitter) or `[{"resource", "field", "code"}]`
    // (Strava): the first item's words, its code only when it names something.
    if let Some(Value::Object(first)) = map.get("errors").and_then(|e| e.as_array()?.first()) {
        if p.code.is_none() {
            p.code = str_field(first, "code")
                .filter(|c| c.len() > 8)
                .map(str::to_owned);
        }
        let said: Vec<&str> = ["resource", "field", "code", "message"]
            .iter()
            .filter_map(|k| str_field(first, k))
            .collect();
        words = words.or_else(|| (!said.is_empty()).then(|| said.join(" ")));
    }
    // GitHub Copilot: `{"error_details": {"notification_id", "message"}}`.
    if let Some(Value::Object(details)) = map.get("error_details") {
        if p.code.is_none() {
            p.code = str_field(details, "notification_id").map(str::to_owned);
        }
        words = words.or_else(|| str_field(details, "message").map(str::to_owned));
    }
    // Intuit: `{"fault": {"error": [{"message": "message=AuthenticationFailed; …"}]}}`.
    if let Some(Value::Object(fault)) = map.get("fault") {
        if let Some(Value::Object(first)) = fault.get("error").and_then(|e| e.as_array()?.first()) {
            words = words.or_else(|| str_field(first, "message").map(str::to_owned));
        }
    }
    // The provider's words under whatever name it uses (FastAPI's `detail`, Zoom's `reason`).
    words = words.or_else(|| {
        first_text(
            map,
            &[
                "error_description",
                "errordescription",
                "message",
                "detail",
                "reason",
                "error_summary",
            ],
        )
        .map(str::to_owned)
    });
    p.description = words.as_deref().map(sanitize);
    // Microsoft: `"error_codes": [70008]` or "AADSTS70008: …" (B2C: "AADB2C90085: …") first.
    if p.subcode.is_none() {
        if let Some(n) = map
            .get("error_codes")
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
            .and_then(Value::as_u64)
        {
            p.subcode = Some(format!("AADSTS{n}"));
        } else if let Some(d) = &p.description {
            p.subcode = microsoft_prefix(d);
        }
    }
    if p.code.is_none() {
        if let Some(at) = str_field(map, "access_token") {
            p.tokens = Some(TokenAnswer {
                access_token: Secret::new(at),
                refresh_token: str_field(map, "refresh_token").map(Secret::new),
                id_token: str_field(map, "id_token").map(Secret::new),
                expires_in: seconds(map.get("expires_in")),
                refresh_expires_in: seconds(map.get("refresh_token_expires_in")),
                scope: str_field(map, "scope").map(str::to_owned),
                token_type: str_field(map, "token_type").map(str::to_owned),
            });
        }
    }
    p
}

/// A number of seconds, sent as a number or as a string ("3600").
fn seconds(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `AADSTS70008: …` → `AADSTS70008`; `AADB2C90085: …` → `AADB2C90085`.
fn microsoft_prefix(description: &str) -> Option<String> {
    ["AADSTS", "AADB2C"].iter().find_map(|prefix| {
        let rest = description.strip_prefix(prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!digits.is_empty()).then(|| format!("{prefix}{digits}"))
    })
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
            refresh_expires_in: fields
                .get("refresh_token_expires_in")
                .and_then(|s| s.parse().ok()),
            scope: fields.get("scope").cloned(),
            token_type: fields.get("token_type").cloned(),
        });
    }
    p
}

/// An XML fault (Intuit): its text, tags dropped, as the description; no code.
fn from_xml(text: &str) -> Parsed {
    let mut plain = String::new();
    let mut in_tag = false;
    for ch in text.chars() {
        match ch {
            '<' => {
                in_tag = true;
                plain.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    Parsed {
        readable: !plain.is_empty(),
        description: (!plain.is_empty()).then(|| sanitize(&plain)),
        ..Parsed::default()
    }
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
