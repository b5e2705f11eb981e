//! The harness's OAuth server as the Rust tests see it: one per test on its own port, with the
//! control API working. (tests/oidc/selftest.mjs covers the flows themselves.)

use serde_json::json;
use tokentray_tests::oidc::{OidcServer, Options};

#[test]
fn each_test_gets_its_own_server_on_an_ephemeral_port() {
    let a = OidcServer::start();
    let b = OidcServer::start();
    assert_ne!(a.issuer(), b.issuer());
    for s in [&a, &b] {
        let url = format!("{}/.well-known/openid-configuration", s.issuer());
        let mut resp = s.agent().get(&url).call().unwrap();
        assert_eq!(resp.status(), 200);
        let d: serde_json::Value = resp.body_mut().read_json().unwrap();
        assert_eq!(d["issuer"], s.issuer());
        assert_eq!(d["token_endpoint"], s.token_url());
        assert_eq!(
            d["grant_types_supported"].as_array().map(|g| g
                .iter()
                .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code")),
            Some(true)
        );
    }
}

fn refresh(s: &OidcServer, refresh_token: &str) -> (u16, String) {
    let mut resp = s
        .agent()
        .post(&s.token_url())
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "tokentray"),
        ])
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn faults_are_injected_and_cleared_and_stats_count_requests() {
    let s = OidcServer::start_with(Options {
        access_ttl: 5,
        ..Options::default()
    });
    s.fault(json!({"kind": "5xx", "path": "/token", "for_ms": 60_000}));
    let (status, body) = refresh(&s, "not-a-token");
    assert_eq!(status, 503);
    assert!(body.contains("<html>"), "{body}");

    s.clear_faults();
    let (status, body) = refresh(&s, "not-a-token");
    assert_eq!(status, 400);
    assert!(body.contains("invalid_grant"), "{body}");

    s.fault(json!({"kind": "status", "path": "/token", "status": 200, "body": "", "count": 1}));
    assert_eq!(refresh(&s, "x"), (200, String::new()));

    assert_eq!(s.revoke("nobody"), 0);
    assert_eq!(s.stats()["token_requests"], 3);
    assert!(s.issued_tokens().is_empty());
    s.set_ttl(7, 3600);
}
