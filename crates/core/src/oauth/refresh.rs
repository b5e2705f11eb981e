//! One refresh-token grant (RFC 6749 §6), sent by hand so that the answer reaches the classifier
//! raw: the `oauth2` crate folds an HTML 503 page into a parse error and drops the status.

use std::time::SystemTime;

use crate::http::{Http, HttpRequest};
use crate::oauth::classify::{self, ClassTable, Failure, RawAnswer, TokenAnswer, Verdict};
use crate::secret::Secret;

/// What a refresh needs.
pub struct RefreshRequest<'a> {
    /// The token endpoint.
    pub token_url: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// The client secret, for confidential clients (sent with HTTP Basic, RFC 6749 §2.3.1).
    pub client_secret: Option<&'a Secret>,
    /// The refresh token to spend.
    pub refresh_token: &'a Secret,
    /// Scopes to ask for instead of the grant's (RFC 6749 §6: a subset of them).
    pub scopes: &'a [String],
    /// The resource the access token is for (RFC 8707).
    pub resource: Option<&'a str>,
}

/// Spends the refresh token once and classifies the answer.
pub async fn refresh(
    http: &dyn Http,
    req: &RefreshRequest<'_>,
    table: &ClassTable,
) -> Result<TokenAnswer, Failure> {
    let scope = req.scopes.join(" ");
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", req.refresh_token.expose()),
    ];
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    if let Some(resource) = req.resource {
        form.push(("resource", resource));
    }
    let mut headers = vec![
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        // GitHub answers form-encoded unless asked for JSON.
        ("accept".to_owned(), "application/json".to_owned()),
    ];
    match req.client_secret {
        Some(secret) => headers.push((
            "authorization".to_owned(),
            basic_auth(req.client_id, secret.expose()),
        )),
        None => form.push(("client_id", req.client_id)),
    }
    let request = HttpRequest {
        method: "POST".into(),
        url: req.token_url.to_owned(),
        headers,
        body: form_encode(&form).into_bytes(),
    };
    match http.send(request).await {
        Err(transport) => Err(classify::classify_transport(&transport)),
        Ok(resp) => {
            let answer = RawAnswer {
                status: resp.status,
                headers: &resp.headers,
                body: &resp.body,
            };
            match classify::classify(&answer, table, SystemTime::now()) {
                Verdict::Ok(tokens) => Ok(tokens),
                Verdict::Failure(f) => Err(f),
            }
        }
    }
}

/// Revokes a token (RFC 7009). Best effort: the caller deletes its copy whatever happens.
pub async fn revoke(
    http: &dyn Http,
    revoke_url: &str,
    client_id: &str,
    client_secret: Option<&Secret>,
    token: &Secret,
    hint: &str,
) -> Result<(), String> {
    let mut form = vec![("token", token.expose()), ("token_type_hint", hint)];
    let mut headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    match client_secret {
        Some(secret) => headers.push((
            "authorization".to_owned(),
            basic_auth(client_id, secret.expose()),
        )),
        None => form.push(("client_id", client_id)),
    }
    let resp = http
        .send(HttpRequest {
            method: "POST".into(),
            url: revoke_url.to_owned(),
            headers,
            body: form_encode(&form).into_bytes(),
        })
        .await
        .map_err(|e| format!("{e:?}"))?;
    if (200..300).contains(&resp.status) {
        Ok(())
    } else {
        Err(format!(
            "the revocation endpoint answered HTTP {}",
            resp.status
        ))
    }
}

/// `application/x-www-form-urlencoded` (the WHATWG serializer: unreserved kept, space as `+`).
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn encode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// HTTP Basic with the client id and secret form-encoded first, as RFC 6749 §2.3.1 asks.
fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", encode_component(id), encode_component(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(
            form_encode(&[("a b", "c&d=e/f"), ("x", "ok-._*")]),
            "a+b=c%26d%3De%2Ff&x=ok-._*"
        );
    }

    #[test]
    fn basic_auth_is_rfc_6749_encoded_base64() {
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuK3Nlc2FtZQ=="
        );
        assert_eq!(basic_auth("a:b", "ü"), "Basic YSUzQWI6JUMzJUJD");
    }
}
