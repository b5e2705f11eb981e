//! HTTP as the engine uses it: raw status, headers and body, a bounded body, a timeout on every
//! call. Behind a trait so tests can put a fault in between; the real one is `reqwest`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::oauth::classify::TransportFailure;

/// A request. Its `Debug` shows the method, the URL without its query and the header names only:
/// a header may carry a bearer token, a query an API key, a body a refresh token.
#[derive(Clone)]
pub struct HttpRequest {
    /// GET, POST, …
    pub method: String,
    /// The URL.
    pub url: String,
    /// Headers. May carry a bearer token: never log a request.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &without_query(&self.url))
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The URL without its query and fragment: what may be shown or logged of a URL whose query may
/// carry an API key.
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or_default()
}

/// A response, raw.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, cut at [`MAX_BODY`].
    pub body: Vec<u8>,
}

/// The longest body read; a token endpoint's answer is a few KiB, anything huge is an error page
/// or an attack, and the classifier needs only its start.
pub const MAX_BODY: usize = 1024 * 1024;

/// The longest any network call may take (the brief's ceiling).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The future an [`Http`] call returns.
pub type HttpFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, TransportFailure>> + Send + 'a>>;

/// Sends HTTP requests.
pub trait Http: Send + Sync {
    /// Sends `req` and returns the raw answer or what went wrong below HTTP.
    fn send(&self, req: HttpRequest) -> HttpFuture<'_>;
}

/// The real client: rustls, no redirects (a token endpoint that redirects is misconfigured, and
/// following it could send a refresh token elsewhere), 30 s timeout.
pub struct ReqwestHttp {
    client: reqwest::Client,
}

impl ReqwestHttp {
    /// A client with Tokentray's defaults.
    pub fn new() -> Result<ReqwestHttp, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            // A fresh connection for every call. Calls come minutes apart (a refresh, a job)
            // or a few seconds apart (probes during an outage), right where servers close idle
            // keep-alive connections (Node's default is 5 s): a request sent as the server
            // closes fails with no HTTP answer, reads as "offline", and the next probe waits
            // the offline cadence (30 s) instead of the outage one (6 s). A handshake per call
            // costs nothing at this rate; a retried POST could spend a refresh token twice.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("tokentray/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        Ok(ReqwestHttp { client })
    }
}

impl Http for ReqwestHttp {
    fn send(&self, req: HttpRequest) -> HttpFuture<'_> {
        Box::pin(async move {
            let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|_| {
                TransportFailure::Other(format!("bad HTTP method {:?}", req.method))
            })?;
            let mut builder = self.client.request(method, &req.url);
            for (k, v) in &req.headers {
                builder = builder.header(k, v);
            }
            let mut resp = builder
                .body(req.body)
                .send()
                .await
                .map_err(transport_failure)?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(transport_failure)? {
                let room = MAX_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_BODY {
                    break;
                }
            }
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

/// The real client, created on first use: a CLI call that never touches the network never pays
/// for loading the TLS roots.
#[derive(Default)]
pub struct LazyHttp {
    client: std::sync::OnceLock<Result<ReqwestHttp, String>>,
}

impl Http for LazyHttp {
    fn send(&self, req: HttpRequest) -> HttpFuture<'_> {
        match self.client.get_or_init(ReqwestHttp::new) {
            Ok(client) => client.send(req),
            Err(e) => {
                let e = e.clone();
                Box::pin(async move { Err(TransportFailure::Other(e)) })
            }
        }
    }
}

fn transport_failure(e: reqwest::Error) -> TransportFailure {
    // reqwest's Display never includes request bodies; URLs here carry no secrets.
    let text = error_chain(&e);
    if e.is_timeout() {
        TransportFailure::Timeout
    } else if text.contains("certificate") || text.contains("tls") || text.contains("TLS") {
        TransportFailure::Tls(text)
    } else if e.is_connect() {
        TransportFailure::Connect(text)
    } else {
        TransportFailure::Other(text)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_never_debug_prints_its_headers_query_or_body() {
        let req = HttpRequest {
            method: "POST".into(),
            url: "https://api.example/quota?key=k-123#frag".into(),
            headers: vec![("authorization".into(), "Bearer at-secret".into())],
            body: b"refresh_token=rt-secret".to_vec(),
        };
        let shown = format!("{req:?}");
        for secret in ["at-secret", "rt-secret", "k-123", "frag"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("https://api.example/quota") && shown.contains("authorization"));
    }
}
