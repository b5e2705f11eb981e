//! The vault against the real Secret Service (gnome-keyring in the private session).

use std::process::Command;

use tokentray_core::secret::Secret;
use tokentray_core::vault::{OsStore, SecretStore, TokenSet, Vault};
use tokentray_tests::require_session;

fn unique_service() -> String {
    format!("tokentray-test-{}-{}", std::process::id(), line!())
}

fn secret_tool_lookup(service: &str, key: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", key])
        .output()
        .expect("run secret-tool (libsecret-tools)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn tokens_live_in_the_secret_service_and_nowhere_else() {
    require_session();
    let service = unique_service();
    let vault = Vault::new(std::sync::Arc::new(OsStore::new(&service)));
    let now = time::OffsetDateTime::now_utc();
    let tokens = TokenSet {
        access_token: Secret::new("vault-test-access-7f3a"),
        refresh_token: Some(Secret::new("vault-test-refresh-91bc")),
        id_token: None,
        expires_at: Some(now + time::Duration::minutes(5)),
        obtained_at: now,
        scopes: vec!["openid".into(), "api".into()],
        refresh_expires_at: None,
    };
    assert!(vault.tokens("alice").unwrap().is_none());
    vault.save_tokens("alice", &tokens).unwrap();

    // Another program (secret-tool) sees the entry in the real keyring.
    let raw = secret_tool_lookup(&service, "account:alice").expect("entry in the keyring");
    assert!(raw.contains("vault-test-refresh-91bc"));

    let back = vault.tokens("alice").unwrap().unwrap();
    assert_eq!(back.access_token.expose(), "vault-test-access-7f3a");
    assert_eq!(back.scopes, ["openid", "api"]);

    // A rotation replaces the entry in one write.
    let mut rotated = back.clone();
    rotated.refresh_token = Some(Secret::new("vault-test-refresh-rotated"));
    vault.save_tokens("alice", &rotated).unwrap();
    assert!(vault
        .tokens("alice")
        .unwrap()
        .unwrap()
        .refresh_token_differs(&tokens));

    vault.delete_tokens("alice").unwrap();
    vault.delete_tokens("alice").unwrap();
    assert!(vault.tokens("alice").unwrap().is_none());
    assert!(secret_tool_lookup(&service, "account:alice").is_none());
}

#[test]
fn client_secrets_are_kept_per_provider() {
    require_session();
    let service = format!("{}-cs", unique_service());
    let store = OsStore::new(&service);
    store
        .set("client-secret:acme", &Secret::new("s3cret-cs"))
        .unwrap();
    let vault = Vault::new(std::sync::Arc::new(OsStore::new(&service)));
    assert_eq!(
        vault
            .client_secret("acme")
            .unwrap()
            .map(|s| s.expose().to_owned()),
        Some("s3cret-cs".into())
    );
    vault.delete_client_secret("acme").unwrap();
    assert!(vault.client_secret("acme").unwrap().is_none());
}
