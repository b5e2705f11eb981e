//! The classifier against answers real providers send, each case named after its source.

use super::parse::DESCRIPTION_LIMIT;
use super::*;
use crate::secret::Secret;

/// What a case expects: `None` class means `Verdict::Ok`.
struct Case {
    name: &'static str,
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    class: Option<FailureClass>,
    code: &'static str,
    known: bool,
}

const fn case(
    name: &'static str,
    status: u16,
    body: &'static str,
    class: Option<FailureClass>,
    code: &'static str,
) -> Case {
    Case {
        name,
        status,
        headers: &[],
        body,
        class,
        code,
        known: true,
    }
}

const P: Option<FailureClass> = Some(Permanent);
const T: Option<FailureClass> = Some(Transient);
const C: Option<FailureClass> = Some(Config);
const OK: Option<FailureClass> = None;

const CASES: &[Case] = &[
    // --- RFC 6749 §5.2 error codes ---
    // source: RFC 6749 §5.2
    case("rfc invalid_grant", 400, r#"{"error":"invalid_grant"}"#, P, "invalid_grant"),
    case("rfc invalid_client", 401, r#"{"error":"invalid_client"}"#, C, "invalid_client"),
    case("rfc unauthorized_client", 400, r#"{"error":"unauthorized_client"}"#, C, "unauthorized_client"),
    case("rfc unsupported_grant_type", 400, r#"{"error":"unsupported_grant_type"}"#, C, "unsupported_grant_type"),
    case("rfc invalid_scope", 400, r#"{"error":"invalid_scope"}"#, C, "invalid_scope"),
    case("rfc invalid_request", 400, r#"{"error":"invalid_request","error_description":"missing refresh_token"}"#, C, "invalid_request"),
    // source: RFC 6749 §4.1.2.1 (server_error, temporarily_unavailable)
    case("rfc temporarily_unavailable", 400, r#"{"error":"temporarily_unavailable"}"#, T, "temporarily_unavailable"),
    case("rfc server_error", 400, r#"{"error":"server_error"}"#, T, "server_error"),
    // source: RFC 8628 §3.5
    case("rfc8628 slow_down", 400, r#"{"error":"slow_down"}"#, T, "slow_down"),
    case("rfc8628 authorization_pending", 400, r#"{"error":"authorization_pending"}"#, T, "authorization_pending"),
    case("rfc8628 expired_token", 400, r#"{"error":"expired_token"}"#, P, "expired_token"),
    case("rfc access_denied", 400, r#"{"error":"access_denied"}"#, P, "access_denied"),
    // --- the design sketch's permanent codes ---
    // source: the classification rules in docs/decisions.md (Refresh and classification)
    case("design token_expired", 401, r#"{"error":"token_expired"}"#, P, "token_expired"),
    case("design refresh_token_expired", 400, r#"{"error":"refresh_token_expired"}"#, P, "refresh_token_expired"),
    case("design refresh_token_reused", 400, r#"{"error":"refresh_token_reused"}"#, P, "refresh_token_reused"),
    case("design refresh_token_invalidated", 400, r#"{"error":"refresh_token_invalidated"}"#, P, "refresh_token_invalidated"),
    case("design account_deactivated", 403, r#"{"error":"account_deactivated"}"#, P, "account_deactivated"),
    case("design account_suspended", 403, r#"{"error":"account_suspended"}"#, P, "account_suspended"),
    case("design account_deleted", 403, r#"{"error":"account_deleted"}"#, P, "account_deleted"),
    // source: OpenID Connect Core 1.0 §3.1.2.6
    case("oidc interaction_required", 400, r#"{"error":"interaction_required"}"#, P, "interaction_required"),
    case("oidc login_required", 400, r#"{"error":"login_required"}"#, P, "login_required"),
    case("oidc consent_required", 400, r#"{"error":"consent_required"}"#, P, "consent_required"),
    // --- Microsoft Entra ID ---
    // source: Microsoft identity platform, "AADSTS error codes" and token endpoint error docs
    case("aad 70008 expired refresh token", 400, r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.","error_codes":[70008]}"#, P, "invalid_grant"),
    case("aad 700082 inactivity", 400, r#"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.","error_codes":[700082]}"#, P, "invalid_grant"),
    case("aad 50173 password changed", 400, r#"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked."}"#, P, "invalid_grant"),
    case("aad 50076 mfa", 400, r#"{"error":"invalid_grant","error_description":"AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.","error_codes":[50076]}"#, P, "invalid_grant"),
    case("aad 7000215 bad secret", 401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#, C, "invalid_client"),
    case("aad 7000222 secret expired", 401, r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired.","error_codes":[7000222]}"#, C, "invalid_client"),
    case("aad 700016 app not found", 400, r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory.","error_codes":[700016]}"#, C, "unauthorized_client"),
    // A transient sub-code wins over the code's usual class.
    case("aad 90033 transient", 400, r#"{"error":"invalid_grant","error_description":"AADSTS90033: A transient error has occurred. Please try again.","error_codes":[90033]}"#, T, "invalid_grant"),
    case("aad 50196 loop", 400, r#"{"error":"invalid_grant","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop."}"#, T, "invalid_grant"),
    // Blocked by policy (device, location): a sign-in from the same place is blocked again.
    case("aad 53003 conditional access", 400, r#"{"error":"invalid_grant","error_description":"AADSTS53003: Access has been blocked by Conditional Access policies.","error_codes":[53003]}"#, C, "invalid_grant"),
    // --- Google ---
    // source: Google Identity "Using OAuth 2.0 to Access Google APIs" (refresh token expiration)
    case("google revoked", 400, r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#, P, "invalid_grant"),
    case("google bad client", 401, r#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#, C, "invalid_client"),
    // A deleted client needs new settings, not retries (issue 16; was transient, unknown).
    case("google deleted client", 401, r#"{"error":"deleted_client","error_description":"The OAuth client was deleted."}"#, C, "deleted_client"),
    // --- GitHub: HTTP 200 with the error in the body ---
    // source: GitHub Docs "Troubleshooting OAuth app access token request errors" / refreshing user tokens
    case("github bad_refresh_token json", 200, r#"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired.","error_uri":"https://docs.github.com"}"#, P, "bad_refresh_token"),
    case("github bad_refresh_token form", 200, "error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com", P, "bad_refresh_token"),
    case("github incorrect_client_credentials", 200, r#"{"error":"incorrect_client_credentials","error_description":"The client_id and/or client_secret passed are incorrect."}"#, C, "incorrect_client_credentials"),
    // A suspended app is its owner's to fix: a re-login would not help (issue 16; was permanent).
    case("github unauthorized", 200, r#"{"error":"unauthorized","error_description":"This app is suspended."}"#, C, "unauthorized"),
    case("github form token ok", 200, "access_token=ghu_abc&expires_in=28800&refresh_token=ghr_def&refresh_token_expires_in=15811200&scope=&token_type=bearer", OK, ""),
    // --- Okta ---
    // source: Okta "Error codes" reference and /token error responses
    case("okta invalid_grant", 400, r#"{"error":"invalid_grant","error_description":"The refresh token is invalid or expired."}"#, P, "invalid_grant"),
    case("okta E0000011", 401, r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}"#, P, "E0000011"),
    case("okta E0000047 rate", 403, r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#, T, "E0000047"),
    // --- Auth0 ---
    // source: Auth0 "Refresh Tokens" and Authentication API error codes
    case("auth0 unknown refresh token", 403, r#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#, P, "invalid_grant"),
    case("auth0 reuse detected", 403, r#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#, P, "invalid_grant"),
    case("auth0 unauthorized_client", 403, r#"{"error":"unauthorized_client","error_description":"Grant type 'refresh_token' not allowed for the client."}"#, C, "unauthorized_client"),
    // --- Keycloak ---
    // source: Keycloak TokenEndpoint error responses
    case("keycloak not active", 400, r#"{"error":"invalid_grant","error_description":"Token is not active"}"#, P, "invalid_grant"),
    case("keycloak session not active", 400, r#"{"error":"invalid_grant","error_description":"Session not active"}"#, P, "invalid_grant"),
    case("keycloak stale token", 400, r#"{"error":"invalid_grant","error_description":"Stale token"}"#, P, "invalid_grant"),
    // --- AWS Cognito ---
    // source: Cognito InitiateAuth / token endpoint errors
    case("cognito expired", 400, r#"{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}"#, P, "NotAuthorizedException"),
    case("cognito throttled", 400, r#"{"__type":"TooManyRequestsException","message":"Rate exceeded"}"#, T, "TooManyRequestsException"),
    case("cognito internal", 400, r#"{"__type":"com.amazonaws#InternalErrorException","message":"Internal"}"#, T, "InternalErrorException"),
    case("cognito unknown client", 400, r#"{"__type":"ResourceNotFoundException","message":"User pool client x does not exist."}"#, C, "ResourceNotFoundException"),
    case("cognito oauth endpoint", 400, r#"{"error":"invalid_grant"}"#, P, "invalid_grant"),
    // --- Slack: HTTP 200 with ok=false ---
    // source: Slack API oauth.v2.access errors
    case("slack invalid_refresh_token", 200, r#"{"ok":false,"error":"invalid_refresh_token"}"#, P, "invalid_refresh_token"),
    case("slack token_revoked", 200, r#"{"ok":false,"error":"token_revoked"}"#, P, "token_revoked"),
    case("slack bad_client_secret", 200, r#"{"ok":false,"error":"bad_client_secret"}"#, C, "bad_client_secret"),
    case("slack ratelimited", 200, r#"{"ok":false,"error":"ratelimited"}"#, T, "ratelimited"),
    // --- OpenAI and Anthropic: nested error objects ---
    // source: OpenAI API "Error codes"
    case("openai nested token_expired", 401, r#"{"error":{"message":"Provided authentication token is expired.","type":"invalid_request_error","code":"token_expired"}}"#, P, "token_expired"),
    case("openai refresh_token_reused", 401, r#"{"error":{"message":"Your refresh token has already been used to generate a new access token.","type":"invalid_request_error","code":"refresh_token_reused"}}"#, P, "refresh_token_reused"),
    case("openai server_error 500", 500, r#"{"error":{"message":"The server had an error","type":"server_error","code":null}}"#, T, "server_error"),
    // source: Anthropic API "Errors"
    case("anthropic overloaded 529", 529, r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, T, "overloaded_error"),
    case("anthropic api_error", 400, r#"{"type":"error","error":{"type":"api_error","message":"Internal"}}"#, T, "api_error"),
    // --- GitLab (Doorkeeper, RFC style) ---
    // source: GitLab OAuth 2.0 identity provider API
    case("gitlab invalid_grant", 400, r#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}"#, P, "invalid_grant"),
    case("gitlab invalid_client", 401, r#"{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}"#, C, "invalid_client"),
    // --- status rules: a busy gateway is transient whatever its body says ---
    // source: RFC 9110 §15.6 (5xx), RFC 6585 §4 (429)
    case("429 with invalid_grant body", 429, r#"{"error":"invalid_grant"}"#, T, "invalid_grant"),
    case("503 with permanent code", 503, r#"{"error":"refresh_token_expired"}"#, T, "refresh_token_expired"),
    case("nginx 502 html", 502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", T, "http_502"),
    case("nginx 504 html", 504, "<html><body><h1>504 Gateway Time-out</h1></body></html>", T, "http_504"),
    case("408", 408, "", T, "http_408"),
    case("empty 500", 500, "", T, "http_500"),
    // --- hostile and broken answers ---
    case("cloudflare 403 html", 403, "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>blocked</body></html>", T, "unparseable"),
    case("400 html", 400, "<html><body>Bad Request</body></html>", T, "unparseable"),
    case("empty 200", 200, "", T, "empty_body"),
    case("whitespace 200", 200, " \n ", T, "empty_body"),
    case("200 without a token", 200, r#"{"token_type":"Bearer","expires_in":3600}"#, T, "no_access_token"),
    case("200 empty access token", 200, r#"{"access_token":"","expires_in":3600}"#, T, "no_access_token"),
    case("truncated json 200", 200, r#"{"access_token":"abc","refresh_tok"#, T, "unparseable"),
    case("truncated json 400", 400, r#"{"error":"invalid_gr"#, T, "unparseable"),
    case("json array", 400, r#"["invalid_grant"]"#, T, "unparseable"),
    case("numeric error", 400, r#"{"error":42}"#, T, "unparseable"),
    case("form without error", 400, "foo=bar&baz=1", T, "unparseable"),
    case("empty 400", 400, "", T, "empty_body"),
    case("unknown code", 400, r#"{"error":"something_new"}"#, T, "something_new"),
    case("valid token answer", 200, r#"{"access_token":"at-x","refresh_token":"rt-x","expires_in":"3600","token_type":"Bearer","scope":"openid"}"#, OK, ""),
    // --- The words beside the code (issue 16): a dead grant under another code, a refusal
    // nobody can retry away under a code that says "later" ---
    // source: Atlassian "Implementing the refresh token flow": 403 "Unknown or invalid refresh token."
    case("atlassian unknown refresh token", 403, r#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#, P, "invalid_grant"),
    case("words: spent token under unauthorized_client", 403, r#"{"error":"unauthorized_client","error_description":"refresh_token is invalid"}"#, P, "unauthorized_client"),
    case("words: expired token under invalid_request", 400, r#"{"error":"invalid_request","error_description":"The refresh token has expired"}"#, P, "invalid_request"),
    case("words: reused token under invalid_scope", 400, r#"{"error":"invalid_scope","error_description":"Refresh token has already been used"}"#, P, "invalid_scope"),
    case("words: revoked grant under an unknown code", 400, r#"{"error":"grant_revoked_by_user","error_description":"The grant was revoked by the user."}"#, P, "grant_revoked_by_user"),
    // Not a verdict on the grant: our request's shape, or a pause.
    case("words: missing refresh token is ours", 400, r#"{"error":"invalid_request","error_description":"Missing required parameter: refresh_token"}"#, C, "invalid_request"),
    case("words: invalid grant_type is ours", 400, r#"{"error":"unsupported_grant_type","error_description":"Invalid grant_type parameter value"}"#, C, "unsupported_grant_type"),
    case("words: a known 'later' code stays later", 400, r#"{"error":"temporarily_unavailable","error_description":"Refresh token store unavailable, the token is not valid until it syncs"}"#, T, "temporarily_unavailable"),
    case("words: refresh token invalid behind a 503 stays transient", 503, r#"{"error":"invalid_grant","error_description":"refresh token revoked"}"#, T, "invalid_grant"),
    // source: OpenAI 403 (github.com/home-assistant/core/issues/120072)
    case("openai unsupported region", 403, r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#, C, "unsupported_country_region_territory"),
    case("words: region refusal under an unknown code", 403, r#"{"error":{"code":"forbidden","message":"Requests from your region are not supported"}}"#, C, "forbidden"),
    case("words: region refusal without a code", 403, r#"{"message":"This service is not available in your country"}"#, C, "http_403"),
    case("words: egress refusal in detail", 403, r#"{"detail":"Access from this VPN egress is blocked"}"#, C, "http_403"),
    // source: Twitch 400 {"status":400,"message":"Invalid refresh token"}: no code, plain words.
    case("words: a dead grant in words alone", 400, r#"{"message":"refresh token expired"}"#, P, "http_400"),
    case("words: but not in a proxy's page", 400, "<html><body>refresh token expired</body></html>", T, "unparseable"),
    // source: Google 401 disabled_client "The OAuth client was disabled."
    case("google disabled client", 401, r#"{"error":"disabled_client","error_description":"The OAuth client was disabled."}"#, C, "disabled_client"),
    case("words: deleted application under invalid_grant", 400, r#"{"error":"invalid_grant","error_description":"The application was deleted by its owner"}"#, C, "invalid_grant"),
];

fn run(c: &Case, table: &ClassTable) -> Verdict {
    let headers: Vec<(String, String)> = c
        .headers
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    classify(
        &RawAnswer {
            status: c.status,
            headers: &headers,
            body: c.body.as_bytes(),
        },
        table,
        SystemTime::UNIX_EPOCH,
    )
}

#[test]
fn every_reading_of_words_names_its_source_and_the_person_can_overrule_it() {
    for rule in super::words::RULES {
        assert!(rule.source.len() > 20, "a rule without a source");
    }
    // A class the person set for a code beats the words beside it.
    let mut overrides = ClassOverrides::default();
    overrides.codes.insert("unauthorized_client".into(), Config);
    let table = ClassTable::builtin().with_overrides(&overrides);
    let c = case(
        "overruled",
        403,
        r#"{"error":"unauthorized_client","error_description":"refresh_token is invalid"}"#,
        C,
        "unauthorized_client",
    );
    match run(&c, &table) {
        Verdict::Failure(f) => assert_eq!(f.class, Config),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_table_of_documented_answers() {
    let table = ClassTable::builtin();
    assert!(CASES.len() >= 60, "{} cases", CASES.len());
    for c in CASES {
        let got = run(c, &table);
        match (c.class, &got) {
            (None, Verdict::Ok(_)) => {}
            (Some(class), Verdict::Failure(f)) => {
                assert_eq!(f.class, class, "{}: {f:?}", c.name);
                assert_eq!(f.code, c.code, "{}", c.name);
                let expect_known = c.known && c.code != "something_new";
                assert_eq!(f.known, expect_known, "{}", c.name);
                assert_eq!(f.http_status, Some(c.status), "{}", c.name);
                assert!(!f.advice.is_empty(), "{}", c.name);
                if !expect_known {
                    assert!(f.advice.starts_with("Tokentray cannot tell"), "{}", c.name);
                }
            }
            _ => panic!("{}: expected {:?}, got {got:?}", c.name, c.class),
        }
    }
}

/// The class the classifier gives one corpus answer (`Ok` counts as transient: never a verdict).
fn class_of(a: &super::corpus::Answer, table: &ClassTable) -> FailureClass {
    let raw = RawAnswer {
        status: a.status,
        headers: &[],
        body: a.body.as_bytes(),
    };
    match classify(&raw, table, SystemTime::UNIX_EPOCH) {
        Verdict::Failure(f) => f.class,
        Verdict::Ok(_) => Transient,
    }
}

#[test]
fn the_corpus_of_real_answers() {
    use std::collections::BTreeSet;
    let table = ClassTable::builtin();
    let corpus = super::corpus::CORPUS;
    let providers: BTreeSet<&str> = corpus.iter().map(|a| a.provider).collect();
    assert!(
        corpus.len() >= 150 && providers.len() >= 25,
        "{} cases, {} providers",
        corpus.len(),
        providers.len()
    );
    let (mut misses, mut worst) = (Vec::new(), Vec::new());
    for a in corpus {
        assert!(a.source.len() > 10, "{}: no source", a.provider);
        let got = class_of(a, &table);
        if got != a.class {
            misses.push(format!(
                "{} {} {}: {got}, a person says {}",
                a.provider, a.status, a.body, a.class
            ));
        }
        // The invariant: nothing a person calls transient is ever made permanent.
        if a.class == Transient && got == Permanent {
            worst.push(format!("{}: {}", a.provider, a.body));
        }
    }
    println!("{}", misses.join("\n"));
    assert!(
        worst.is_empty(),
        "transient made permanent:\n{}",
        worst.join("\n")
    );
    println!(
        "corpus: {} of {} right, {} providers",
        corpus.len() - misses.len(),
        corpus.len(),
        providers.len()
    );
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn sub_codes_are_extracted() {
    let table = ClassTable::builtin();
    let sub = |i: usize| match run(&CASES[i], &table) {
        Verdict::Failure(f) => f.subcode,
        Verdict::Ok(_) => None,
    };
    let idx = |name: &str| CASES.iter().position(|c| c.name == name).unwrap();
    assert_eq!(
        sub(idx("aad 70008 expired refresh token")).as_deref(),
        Some("AADSTS70008")
    );
    assert_eq!(
        sub(idx("aad 50173 password changed")).as_deref(),
        Some("AADSTS50173")
    );
    assert_eq!(sub(idx("okta E0000011")).as_deref(), Some("E0000011"));
    assert_eq!(sub(idx("google revoked")), None);
}

#[test]
fn token_answers_parse_and_their_debug_hides_tokens() {
    let table = ClassTable::builtin();
    let c = CASES
        .iter()
        .find(|c| c.name == "valid token answer")
        .unwrap();
    let Verdict::Ok(t) = run(c, &table) else {
        panic!("not ok");
    };
    assert_eq!(t.access_token.expose(), "at-x");
    assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("rt-x"));
    assert_eq!(t.expires_in, Some(3600));
    let dbg = format!("{t:?}");
    assert!(!dbg.contains("at-x") && !dbg.contains("rt-x"), "{dbg}");

    let gh = CASES
        .iter()
        .find(|c| c.name == "github form token ok")
        .unwrap();
    let Verdict::Ok(t) = run(gh, &table) else {
        panic!("not ok");
    };
    assert_eq!(
        t.refresh_token.as_ref().map(Secret::expose),
        Some("ghr_def")
    );
    assert_eq!(t.expires_in, Some(28800));
}

#[test]
fn retry_after_in_seconds_and_as_a_date() {
    let table = ClassTable::builtin();
    let headers = vec![("Retry-After".to_string(), "120".to_string())];
    let v = classify(
        &RawAnswer {
            status: 429,
            headers: &headers,
            body: b"",
        },
        &table,
        SystemTime::UNIX_EPOCH,
    );
    let Verdict::Failure(f) = v else { panic!() };
    assert_eq!(f.retry_after, Some(Duration::from_secs(120)));

    // source: RFC 9110 §10.2.3 (HTTP-date form)
    let headers = vec![(
        "retry-after".to_string(),
        "Wed, 21 Oct 2015 07:28:00 GMT".to_string(),
    )];
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480 - 90);
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 503,
            headers: &headers,
            body: b"",
        },
        &table,
        now,
    ) else {
        panic!()
    };
    assert_eq!(f.retry_after, Some(Duration::from_secs(90)));
    let later = now + Duration::from_secs(1000);
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 503,
            headers: &headers,
            body: b"",
        },
        &table,
        later,
    ) else {
        panic!()
    };
    assert_eq!(f.retry_after, Some(Duration::ZERO));
    let headers = vec![("retry-after".to_string(), "999999".to_string())];
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 503,
            headers: &headers,
            body: b"",
        },
        &table,
        now,
    ) else {
        panic!()
    };
    assert_eq!(f.retry_after, Some(RETRY_AFTER_CAP));
}

#[test]
fn a_401_challenge_names_the_error() {
    let table = ClassTable::builtin();
    let headers = vec![(
        "WWW-Authenticate".to_string(),
        r#"Basic realm="x", error="invalid_client""#.to_string(),
    )];
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 401,
            headers: &headers,
            body: b"",
        },
        &table,
        SystemTime::UNIX_EPOCH,
    ) else {
        panic!()
    };
    assert_eq!((f.class, f.code.as_str()), (Config, "invalid_client"));
}

#[test]
fn a_presets_own_codes_count_only_for_its_providers() {
    let c = case(
        "github device flow off",
        200,
        r#"{"error":"device_flow_disabled","error_description":"Device flow is disabled for this app."}"#,
        C,
        "device_flow_disabled",
    );
    let none = ClassOverrides::default();
    let class = |preset: Option<&str>| match run(&c, &ClassTable::for_provider(preset, &none)) {
        Verdict::Failure(f) => (f.class, f.known),
        Verdict::Ok(_) => panic!("ok"),
    };
    assert_eq!(class(Some("github")), (Config, true));
    assert_eq!(class(None), (Transient, false));
    assert_eq!(class(Some("gitlab")), (Transient, false));
    // The person's word still wins over the preset's.
    let mut mine = ClassOverrides::default();
    mine.codes.insert("device_flow_disabled".into(), Transient);
    let Verdict::Failure(f) = run(&c, &ClassTable::for_provider(Some("github"), &mine)) else {
        panic!("ok")
    };
    assert_eq!(f.class, Transient);
}

#[test]
fn overrides_change_codes_and_subcodes() {
    let mut o = ClassOverrides::default();
    o.codes.insert("something_new".into(), Permanent);
    o.subcodes.insert("AADSTS90033".into(), Permanent);
    o.codes.insert("INVALID_GRANT".into(), Transient);
    let table = ClassTable::builtin().with_overrides(&o);
    let class = |name: &str| match run(CASES.iter().find(|c| c.name == name).unwrap(), &table) {
        Verdict::Failure(f) => (f.class, f.known),
        Verdict::Ok(_) => panic!("ok"),
    };
    assert_eq!(class("unknown code"), (Permanent, true));
    assert_eq!(class("aad 90033 transient"), (Permanent, true));
    assert_eq!(class("google revoked"), (Transient, true));
    // And from the settings file's TOML.
    let parsed: ClassOverrides = toml::from_str(
        "codes = { weird = \"config\" }\nsubcodes = { \"E0000011\" = \"transient\" }",
    )
    .unwrap();
    assert_eq!(parsed.codes["weird"], Config);
    assert!(toml::from_str::<ClassOverrides>("code = {}").is_err());
}

#[test]
fn huge_and_binary_bodies_are_handled() {
    let table = ClassTable::builtin();
    let mut huge = br#"{"error":"invalid_grant","error_description":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 5 * 1024 * 1024));
    huge.extend(br#""}"#);
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 400,
            headers: &[],
            body: &huge,
        },
        &table,
        SystemTime::UNIX_EPOCH,
    ) else {
        panic!()
    };
    // Cut at the scan limit, so not a readable document: transient, never permanent.
    assert_eq!(f.class, Transient);

    let long = format!(
        r#"{{"error":"invalid_grant","error_description":"{}\u0007end"}}"#,
        "y".repeat(1000)
    );
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 400,
            headers: &[],
            body: long.as_bytes(),
        },
        &table,
        SystemTime::UNIX_EPOCH,
    ) else {
        panic!()
    };
    let d = f.description.unwrap();
    assert!(
        d.chars().count() <= DESCRIPTION_LIMIT + 1 && !d.contains('\u{7}'),
        "{d}"
    );

    let bin = [0xff, 0xfe, b'{', 0x00, b'%', b'e', b'%'];
    let Verdict::Failure(f) = classify(
        &RawAnswer {
            status: 400,
            headers: &[],
            body: &bin,
        },
        &table,
        SystemTime::UNIX_EPOCH,
    ) else {
        panic!()
    };
    assert_eq!(f.class, Transient);
}

#[test]
fn random_bytes_never_panic() {
    let table = ClassTable::builtin();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let alphabet = br#"{}[]":,=&%+ abcdefghijklmnopqrstuvwxyz_0123456789<>/\"#;
    for i in 0..5000 {
        let len = (i * 7) % 300;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(5) {
                    (x >> 8) as u8
                } else {
                    alphabet[(x as usize >> 3) % alphabet.len()]
                }
            })
            .collect();
        for status in [200, 400, 401, 403, 429, 500, 503] {
            let _ = classify(
                &RawAnswer {
                    status,
                    headers: &[],
                    body: &body,
                },
                &table,
                SystemTime::UNIX_EPOCH,
            );
        }
    }
}

#[test]
fn transport_failures_are_transient() {
    for t in [
        TransportFailure::Timeout,
        TransportFailure::Connect("refused".into()),
        TransportFailure::Tls("invalid peer certificate".into()),
        TransportFailure::Other("reset".into()),
    ] {
        let f = classify_transport(&t);
        assert_eq!(f.class, Transient);
        assert!(f.known && f.http_status.is_none());
    }
    assert_eq!(
        classify_transport(&TransportFailure::Timeout).code,
        "timeout"
    );
}
