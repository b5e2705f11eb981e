//! The provider's words beside the code: providers report a dead refresh token under codes that
//! say otherwise (`invalid_request`, `unauthorized_client`), and a refusal nobody can retry away
//! (a region, a deleted client) under codes that say "try later". Each rule names what it reads
//! and its source. Data only; `classify` decides when words may speak (never on a 429 or 5xx,
//! never over a code the person classed, and without a code only in a readable 400/401/403).

use super::class::FailureClass::{self, Config, Permanent, Transient};

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

/// Words that say the answer is not a verdict on the grant: something missing from our request.
const NOT_A_VERDICT: &[&str] = &[
    "missing required",
    "missing parameter",
    "required parameter",
    "is missing",
    "is required",
    "must be",
    "must include",
];

/// Words about the request's shape: an unsupported `grant_type` is our settings, not the grant.
const REQUEST_SHAPE: &[&str] = &["grant_type", "grant type", "parameter", "token request"];

/// Words of a pause: whatever the code, the provider says to come back.
const PAUSE: &[&str] = &[
    "internal error",
    "internal server error",
    "temporar",
    "transient",
    "try again later",
    "please try again",
    "service unavailable",
    "timed out",
    "timeout",
    "overloaded",
    "rate limit",
    "too many requests",
    "throttl",
    "limit reached",
];

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
                 supported\" (github.com/home-assistant/core/issues/120072); Gemini 400 \"User location \
                 is not supported for the API use.\"; no retry helps, another network does",
    },
    Rule {
        class: Transient,
        all: &[PAUSE],
        unless: &[],
        advice: None,
        source: "Entra AADSTS90033 \"A transient error has occurred. Please try again.\"; Azure AD B2C \
                 AADB2C90085 \"The service has encountered an internal error\" under invalid_grant \
                 (github.com/Azure-Samples/active-directory-b2c-dotnet-webapp-and-webapi/issues/8): \
                 a pause under a code of verdict is still a pause",
    },
    Rule {
        class: Config,
        all: &[
            &["client", "application", "app ", "robot", "service account"],
            &["was deleted", "been deleted", "is deleted", "was disabled", "been disabled", "is disabled", "suspended", "does not exist"],
        ],
        unless: &[NOT_A_VERDICT],
        advice: Some(
            "The OAuth client is deleted or disabled at the provider; register a client again \
             and put its id in the provider settings",
        ),
        source: "Google 401 deleted_client: \"The OAuth client was deleted.\" \
                 (github.com/xyou365/AutoRclone/issues/98); Google invalid_grant \"Robot is disabled.\"; \
                 the settings need a new client, not a re-login",
    },
    Rule {
        class: Config,
        all: &[&[
            "invalid client",
            "client authentication failed",
            "client credentials",
            "client secret",
            "client_secret",
            "client_id",
            "client id",
            "unknown client",
            "client not found",
            "redirect uri",
            "redirect_uri",
            "code verifier",
        ]],
        unless: &[],
        advice: None,
        source: "Keycloak unauthorized_client \"Invalid client credentials\"; Dropbox \"invalid_client: \
                 Invalid client_id or client_secret\"; Twitch \"missing client secret\"; Strava \
                 errors [{resource: Application, field: client_id, code: invalid}]; LinkedIn \
                 \"appid/redirect uri/code verifier does not match\": the client's settings, \
                 whatever the code",
    },
    Rule {
        class: Permanent,
        all: &[&[
            "hasn't authorized",
            "has not authorized",
            "not authorized the app",
            "revoked access",
            "access was revoked",
            "deauthoriz",
            "uninstalled",
            "not consented",
            "consent was revoked",
            "withdrew consent",
        ]],
        unless: &[],
        advice: None,
        source: "Facebook OAuthException (#200) \"The user hasn't authorized the application to \
                 perform this action\"; Azure AD B2C access_denied \"The user revoked access to the \
                 app.\": consent is given again by signing in",
    },
    Rule {
        class: Permanent,
        all: &[
            &["refresh token", "refresh_token", "refreshtoken", "grant", "token", "session", "credentials", "password", "authorization code", "authorizationcode"],
            &["expired", "revoked", "invalid", "not valid", "has been used", "already used", "already been used", "reused", "no longer valid", "unknown", "not found", "malformed", "not active", "stale"],
        ],
        unless: &[NOT_A_VERDICT, REQUEST_SHAPE],
        advice: None,
        source: "Atlassian 403 \"Unknown or invalid refresh token.\" \
                 (developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens); Twitch 400 \
                 \"Invalid refresh token\"; Strava [{resource: RefreshToken, code: invalid}]: \
                 whatever the code, the words say the grant is dead",
    },
    Rule {
        class: Permanent,
        all: &[&["authentication failed", "authenticationfailed", "authentication failure"]],
        unless: &[],
        advice: None,
        source: "Intuit 401 \"AuthenticationFailed; errorCode=003200\" \
                 (github.com/routablehq/python-quickbooks/issues/120); Salesforce invalid_grant \
                 \"authentication failure\": the user's credentials, after the client's were ruled out",
    },
    Rule {
        class: Config,
        all: &[
            &["scope"],
            &["invalid", "not valid", "isn't valid", "unknown", "not allowed", "unsupported", "not supported", "malformed"],
        ],
        unless: &[],
        advice: None,
        source: "Strava [{resource: Authorize, field: scope, code: invalid}]; RFC 6749 §5.2 \
                 invalid_scope: the scopes in the settings",
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
