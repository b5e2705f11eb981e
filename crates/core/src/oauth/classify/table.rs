//! The built-in classification table: error codes and sub-codes, each with the source that
//! justifies its class. Data only; `ClassTable` reads it.

use super::class::FailureClass::{self, Config, Permanent, Transient};

/// Built-in codes. Matching is case-insensitive.
pub(super) const CODES: &[(&str, FailureClass)] = &[
    // source: RFC 6749 §5.2 — the grant (refresh token) is invalid, expired or revoked.
    ("invalid_grant", Permanent),
    // source: docs/decisions.md (Refresh and classification), and providers that say it in so many words (OpenAI, Anthropic
    // OAuth, custom IdPs). `token_expired` at the refresh boundary means the refresh token.
    ("token_expired", Permanent),
    ("refresh_token_expired", Permanent),
    ("refresh_token_reused", Permanent),
    ("refresh_token_invalidated", Permanent),
    ("refresh_token_revoked", Permanent),
    ("invalid_refresh_token", Permanent), // source: Slack oauth.v2.access errors
    ("token_revoked", Permanent),         // source: Slack
    ("account_inactive", Permanent),      // source: Slack
    ("account_deactivated", Permanent),
    ("account_suspended", Permanent),
    ("account_deleted", Permanent),
    ("user_deactivated", Permanent),
    ("user_not_found", Permanent),
    // source: OpenID Connect Core §3.1.2.6 — from a refresh these mean "sign in again".
    ("interaction_required", Permanent),
    ("login_required", Permanent),
    ("consent_required", Permanent),
    ("account_selection_required", Permanent),
    // source: RFC 6749 §4.1.2.1 — the user (or an admin) withdrew consent.
    ("access_denied", Permanent),
    // source: RFC 8628 §3.5 — the device code expired: start the device flow again.
    ("expired_token", Permanent),
    // source: GitHub "Troubleshooting OAuth app access token request errors".
    ("bad_refresh_token", Permanent),
    ("bad_verification_code", Permanent),
    ("unauthorized", Permanent), // source: GitHub, an app suspended or a token not allowed
    // source: Auth0 Authentication API errors: MFA must be done in a sign-in.
    ("mfa_required", Permanent),
    // source: Slack API: invalid_auth "Some aspect of authentication cannot be validated".
    ("invalid_auth", Permanent),
    // source: Dropbox API errors (`.tag`), LinkedIn 401 REVOKED_ACCESS_TOKEN, HubSpot
    // EXPIRED_AUTHENTICATION.
    ("expired_access_token", Permanent),
    ("invalid_access_token", Permanent),
    ("revoked_access_token", Permanent),
    ("expired_authentication", Permanent),
    // source: AWS Cognito InitiateAuth errors (`__type`).
    ("NotAuthorizedException", Permanent),
    ("UserNotFoundException", Permanent),
    ("UserNotConfirmedException", Permanent),
    ("PasswordResetRequiredException", Permanent),
    // source: RFC 6749 §5.2 — the client is wrong: fix the settings, re-login would not help.
    ("invalid_client", Config),
    ("unauthorized_client", Config),
    ("unsupported_grant_type", Config),
    ("invalid_scope", Config),
    // Decision: a malformed refresh request is our configuration's fault (a missing client id,
    // a provider that wants extra parameters), not a dead grant.
    ("invalid_request", Config),
    ("unsupported_response_type", Config),
    ("invalid_client_metadata", Config), // source: RFC 7591 §3.2.2
    ("incorrect_client_credentials", Config), // source: GitHub
    ("redirect_uri_mismatch", Config),   // source: GitHub, Google
    ("invalid_client_id", Config),       // source: Slack
    ("bad_client_secret", Config),       // source: Slack
    ("ResourceNotFoundException", Config), // source: Cognito (unknown client / pool)
    ("InvalidParameterException", Config), // source: Cognito
    // source: Google, 401 "The OAuth client was deleted." / "…disabled."
    // (github.com/xyou365/AutoRclone/issues/98): a new client is needed, not a sign-in.
    ("deleted_client", Config),
    ("disabled_client", Config),
    // source: OpenAI 403 "Country, region, or territory not supported"
    // (github.com/home-assistant/core/issues/120072): another network, not a retry.
    ("unsupported_country_region_territory", Config),
    // source: Google Workspace: the admin blocked the app, or it is internal to another org —
    // the person's admin or the client's owner must act, not a sign-in.
    ("admin_policy_enforced", Config),
    ("org_internal", Config),
    // source: Slack bad_redirect_uri, LinkedIn invalid_redirect_uri.
    ("bad_redirect_uri", Config),
    ("invalid_redirect_uri", Config),
    // source: Amazon SP-API MissingAuthenticationToken "Access to requested resource is denied."
    ("MissingAuthenticationToken", Config),
    // source: google.rpc.Code: the caller lacks a permission on the project; the project's
    // settings, not the token.
    ("PERMISSION_DENIED", Config),
    ("FAILED_PRECONDITION", Config),
    // source: GitHub Copilot 403 no_copilot_access "No access to GitHub Copilot found."
    ("no_copilot_access", Config),
    // source: RFC 6749 §5.2 errata / RFC 8628 / OAuth 2.1 — come back later.
    ("temporarily_unavailable", Transient),
    ("server_error", Transient),
    ("slow_down", Transient),             // source: RFC 8628 §3.5
    ("authorization_pending", Transient), // source: RFC 8628 §3.5
    ("rate_limit_exceeded", Transient),   // source: OpenAI error codes
    ("rate_limited", Transient),
    ("ratelimited", Transient),      // source: Slack
    ("overloaded_error", Transient), // source: Anthropic API errors
    ("api_error", Transient),        // source: Anthropic API errors
    ("internal_server_error", Transient),
    ("service_unavailable", Transient),
    ("backendError", Transient), // source: Google APIs error reasons
    ("internal_failure", Transient),
    ("TooManyRequestsException", Transient), // source: Cognito
    ("InternalErrorException", Transient),   // source: Cognito
    ("LimitExceededException", Transient),   // source: Cognito
    ("RESOURCE_EXHAUSTED", Transient),       // source: google.rpc.Code
    ("UNAVAILABLE", Transient),              // source: google.rpc.Code
];

/// Built-in sub-codes; they win over the code.
pub(super) const SUBCODES: &[(&str, FailureClass)] = &[
    // source: Microsoft Entra "AADSTS error codes" reference.
    ("AADSTS70008", Permanent),  // refresh token or code expired
    ("AADSTS700082", Permanent), // refresh token expired due to inactivity
    ("AADSTS700084", Permanent), // SPA refresh token expired (24 h)
    ("AADSTS50173", Permanent),  // grant expired: password changed or revoked
    ("AADSTS50076", Permanent),  // MFA required: sign in again
    ("AADSTS50079", Permanent),  // MFA registration required
    ("AADSTS50078", Permanent),  // MFA claim expired
    ("AADSTS50057", Permanent),  // user account disabled
    ("AADSTS50034", Permanent),  // user account not found
    ("AADSTS50126", Permanent),  // invalid user name or password
    ("AADSTS50133", Permanent),  // session invalid: password expired or changed
    ("AADSTS70043", Permanent),  // refresh token expired by Conditional Access sign-in frequency
    ("AADSTS53003", Config), // blocked by Conditional Access: another device or network, not a sign-in
    ("AADSTS54005", Permanent), // code already redeemed
    ("AADSTS65001", Permanent), // consent missing: the user must consent again (a sign-in)
    ("AADSTS7000215", Config), // invalid client secret
    ("AADSTS7000222", Config), // client secret expired
    ("AADSTS700016", Config), // application not found in the tenant
    ("AADSTS90002", Config), // tenant not found
    ("AADSTS900144", Config), // a required request parameter is missing
    ("AADSTS9002313", Config), // "Invalid request. Request is malformed or invalid."
    ("AADSTS90033", Transient), // "a transient error has occurred"
    ("AADSTS50196", Transient), // loop detected: back off
    ("AADSTS90006", Transient), // service could not verify the request: retry
    // source: Azure AD B2C error codes.
    ("AADB2C90085", Transient), // "The service has encountered an internal error"
    // source: Okta API error codes.
    ("E0000011", Permanent), // invalid token provided
    ("E0000015", Config),    // feature not enabled for the org
    ("E0000047", Transient), // API call exceeded rate limit
];

/// Codes whose meaning is one provider's: read this way only for a provider made from that
/// preset (another provider may mean something else by the same word). (preset, code, class).
pub(super) const PRESET_CODES: &[(&str, &str, FailureClass)] = &[
    // source: GitHub Docs, "Authorizing OAuth apps", device flow error codes: the app's owner
    // must enable the device flow; "incorrect_device_code" asks for a new code.
    ("github", "device_flow_disabled", Config),
    ("github", "incorrect_device_code", Permanent),
    // source: Microsoft identity platform, AADSTS500011 invalid_resource: "The resource
    // principal named … was not found in the tenant": the scopes name an API the tenant lacks.
    ("microsoft", "invalid_resource", Config),
    // source: Google Identity, "Using OAuth 2.0 to Access Google APIs": invalid_rapt is the
    // Workspace admin's reauthentication policy; the person signs in again.
    ("google", "invalid_rapt", Permanent),
];
