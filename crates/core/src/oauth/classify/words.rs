//! The provider's words beside the code: providers report a dead refresh token under codes that
//! say otherwise (`invalid_request`, `unauthorized_client`), and a refusal nobody can retry away
//! (a region, a deleted client) under codes that say "try later". Each rule names what it reads
//! and its source. Data only; `classify` decides when words may speak (never on a 429 or 5xx,
//! and never to make an answer without an OAuth error code permanent).

use super::class::FailureClass::{self, Config, Permanent};

/// One reading of a description: every group must match (any of its phrases), no phrase of any
/// `unless` group.
pub(super) struct Rule {
    /// The class the words give.
    pub class: FailureClass,
    /// Groups of phrases, all of which must appear (lower case).
    pub all: &'static [&'static [&'static str]],
    /// Phrases that veto the rule (a missing parameter is our request's fault, "try again" is a
    /// pause, not a verdict).
    pub unless: &'static [&'static [&'static str]],
    /// What the person should do, when the class's usual sentence would mislead.
    pub advice: Option<&'static str>,
    /// Why.
    pub source: &'static str,
}

/// Words that say the answer is not a verdict: something missing from our request, or a pause.
const NOT_A_VERDICT: &[&str] = &[
    "missing",
    "required",
    "must be",
    "temporar",
    "try again",
    "retry",
    "rate limit",
    "too many",
    "unavailable",
    "timeout",
    "timed out",
];

/// Words about the request's shape: an unsupported `grant_type` is our settings, not the grant.
const REQUEST_SHAPE: &[&str] = &["grant_type", "grant type", "parameter"];

/// The rules, in order; the first that matches speaks.
pub(super) const RULES: &[Rule] = &[
    Rule {
        class: Config,
        all: &[
            &["country", "region", "territory", "geograph", "egress", "vpn", "location"],
            &["not supported", "not available", "unsupported", "blocked", "not allowed", "restricted", "denied"],
        ],
        unless: &[&["temporar", "try again"]],
        advice: Some(
            "The provider refuses requests from this country, region or network; connect \
             through another network and Tokentray goes on by itself",
        ),
        source: "OpenAI 403 unsupported_country_region_territory: \"Country, region, or territory not \
                 supported\" (github.com/home-assistant/core/issues/120072); no retry helps, another \
                 network does",
    },
    Rule {
        class: Config,
        all: &[
            &["client", "application", "app "],
            &["was deleted", "been deleted", "is deleted", "was disabled", "been disabled", "is disabled", "suspended", "does not exist"],
        ],
        unless: &[NOT_A_VERDICT],
        advice: Some(
            "The OAuth client is deleted or disabled at the provider; register a client again \
             and put its id in the provider settings",
        ),
        source: "Google 401 deleted_client: \"The OAuth client was deleted.\" \
                 (github.com/xyou365/AutoRclone/issues/98); the settings need a new client, not a re-login",
    },
    Rule {
        class: Permanent,
        all: &[
            &["refresh token", "refresh_token", "refreshtoken", "grant"],
            &["expired", "revoked", "invalid", "has been used", "already used", "already been used", "reused", "no longer valid", "not valid", "unknown", "not found", "malformed"],
        ],
        unless: &[NOT_A_VERDICT, REQUEST_SHAPE],
        advice: None,
        source: "Atlassian 403 \"Unknown or invalid refresh token.\" \
                 (developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens): whatever \
                 the code, the words say the grant is dead",
    },
];

/// The class the description gives, if a rule reads it.
pub(super) fn read(description: &str) -> Option<&'static Rule> {
    let text = description.to_ascii_lowercase();
    RULES.iter().find(|rule| {
        rule.all
            .iter()
            .all(|group| group.iter().any(|p| text.contains(p)))
            && !rule
                .unless
                .iter()
                .flat_map(|g| g.iter())
                .any(|p| text.contains(p))
    })
}
