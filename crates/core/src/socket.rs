//! The local socket: how the CLI (and a second launch) talk to the running engine.
//!
//! One JSON request per line, one JSON response per line. The socket lives in the user's private
//! runtime folder (0700) and is itself 0600, so only the same user can connect.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::engine::{Engine, EngineError};

/// A request to the running engine.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Is anyone there? Answers the engine's kind and pid.
    Ping,
    /// A second launch hands over: show the GUI if there is one.
    Activate {
        /// Open the dashboard (false for `--minimized`).
        open_dashboard: bool,
    },
    /// The status snapshot.
    Status,
    /// A fresh access token for an account.
    Token {
        /// The account.
        account: String,
    },
    /// A server rejected this access token (git's `erase`): mark the account stale and find
    /// another token.
    Rejected {
        /// The account.
        account: String,
        /// The rejected access token.
        token: String,
    },
    /// One refresh attempt now.
    Refresh {
        /// The account.
        account: String,
    },
    /// Re-read the settings file (after the CLI changed it).
    Reload,
    /// Stream every engine event from now on, one JSON line each, until the client hangs up.
    Subscribe,
    /// The last `hours` of history, optionally of one account.
    History {
        /// The account, or every account.
        account: Option<String>,
        /// How far back.
        hours: u32,
    },
    /// Sign an account out and delete its secrets.
    Forget {
        /// The account.
        account: String,
    },
    /// Store tokens for an account (a sign-in done elsewhere, or an import).
    SignIn {
        /// The account.
        account: String,
        /// The token endpoint's JSON answer.
        tokens: String,
    },
    /// Start a sign-in (or find the one waiting): answers what to show the person.
    Login {
        /// The account.
        account: String,
        /// Browser, device, or whichever the provider has.
        #[serde(default)]
        method: crate::engine::LoginMethod,
    },
    /// Wait for the account's sign-in in progress to end (up to its 5-minute deadline).
    LoginWait {
        /// The account.
        account: String,
    },
    /// A dashboard command (see [`crate::dashboard`]) with the page's arguments.
    Command {
        /// The command's name.
        name: String,
        /// Its arguments, as the page gave them.
        #[serde(default)]
        args: serde_json::Value,
    },
    /// The user's pause or resume of one account, or of all.
    Pause {
        /// The account; `None` for every account.
        account: Option<String>,
        /// True to pause, false to resume.
        paused: bool,
    },
}

/// Shows the operation and the account only: `sign_in` and `rejected` carry tokens.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = serde_json::to_value(self).unwrap_or_default();
        write!(f, "Request({}", v["op"].as_str().unwrap_or("?"))?;
        if let Some(account) = v["account"].as_str() {
            write!(f, ", {account:?}")?;
        }
        write!(f, ")")
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

/// An error as it crosses the socket: a stable code and the sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// A stable machine-readable code.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// What a `ping` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingInfo {
    /// `app` or `headless`.
    pub kind: String,
    /// The engine's process id.
    pub pid: u32,
    /// The engine's version.
    pub version: String,
    /// The socket protocol's version: [`PROTOCOL`].
    #[serde(default)]
    pub protocol: u32,
}

/// The socket protocol's version. New requests and new fields are additions that keep it; a change
/// that breaks an existing request or answer raises it.
pub const PROTOCOL: u32 = 1;

/// Why a call to the running engine failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No engine is listening.
    #[error("Tokentray is not running; start it with `tokentray run`")]
    NotRunning,
    /// The engine did not answer in time.
    #[error(
        "the running Tokentray engine did not answer within {0:?}; check its log or restart it"
    )]
    Timeout(Duration),
    /// The connection broke or the answer was not understood.
    #[error("talking to the running Tokentray engine failed: {0}")]
    Protocol(String),
    /// The engine answered with an error.
    #[error("{}", .0.message)]
    Engine(WireError),
}

/// The longest request line the server reads; anything longer is a confused or hostile client.
const MAX_LINE: u64 = 64 * 1024;

/// Sends one request to the engine listening at `socket` and waits for its answer.
///
/// Synchronous on purpose: the lean CLI starts no async runtime for a one-shot call.
pub fn call(
    socket: &Path,
    req: &Request,
    timeout: Duration,
) -> Result<serde_json::Value, ClientError> {
    let stream = std::os::unix::net::UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ClientError::NotRunning
        }
        _ => ClientError::Protocol(e.to_string()),
    })?;
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            ClientError::Timeout(timeout)
        }
        _ => ClientError::Protocol(e.to_string()),
    };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
    line.push(b'\n');
    (&stream).write_all(&line).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).map_err(io)?;
    let resp: Response = serde_json::from_str(&answer)
        .map_err(|e| ClientError::Protocol(format!("unreadable answer ({e})")))?;
    match (resp.ok, resp.error) {
        (true, _) => Ok(resp.result.unwrap_or(serde_json::Value::Null)),
        (false, Some(err)) => Err(ClientError::Engine(err)),
        (false, None) => Err(ClientError::Protocol("error without a message".into())),
    }
}

/// Serves requests on `listener` until `shutdown` completes. `kind` is what `ping` reports.
pub async fn serve(
    listener: tokio::net::UnixListener,
    engine: Engine,
    kind: &'static str,
    shutdown: impl std::future::Future<Output = ()>,
) {
    serve_backend(listener, Backend::Engine(engine, kind), shutdown).await
}

/// What a tray app without an engine (its settings file is broken) does when a second launch
/// asks it to show itself.
pub type OnActivate = Arc<dyn Fn(bool) + Send + Sync>;

/// Serves for a tray app that could not open its engine: a second launch still hands over
/// (`activate` calls `on_activate`) instead of starting a second tray, and every other request
/// answers with `problem`, the sentence that says what to fix.
pub async fn serve_without_engine(
    listener: tokio::net::UnixListener,
    problem: String,
    on_activate: OnActivate,
) {
    let backend = Backend::Problem(Arc::new((problem, on_activate)));
    serve_backend(listener, backend, std::future::pending()).await
}

/// Who answers the requests.
#[derive(Clone)]
enum Backend {
    Engine(Engine, &'static str),
    Problem(Arc<(String, OnActivate)>),
}

async fn serve_backend(
    listener: tokio::net::UnixListener,
    backend: Backend,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    // The socket file is ours (we created it), so its owner is the uid allowed to talk to us.
    let owner = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(std::path::Path::to_path_buf))
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // The folder is 0700 and the socket 0600; checking the peer too means a
                    // permission slip (or root's process) still cannot ask for tokens.
                    let peer = stream.peer_cred().map(|c| c.uid()).ok();
                    if owner.is_none() || peer != owner {
                        tracing::warn!(?peer, ?owner, "refused a socket connection from another user");
                        continue;
                    }
                    let backend = backend.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle_connection(stream, backend).await {
                            tracing::debug!("socket client went away: {e}");
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and friends: say so, and yield a moment rather than spin.
                    tracing::warn!("accepting a socket connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn handle_connection(
    stream: tokio::net::UnixStream,
    backend: Backend,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read.take(MAX_LINE));
    let mut line = String::new();
    loop {
        line.clear();
        // The limit is per line: a client may send many requests, none of them huge.
        reader.get_mut().set_limit(MAX_LINE);
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') {
            let resp = failure(
                "bad_request",
                format!("request longer than {MAX_LINE} bytes"),
            );
            return write.write_all(&response_line(&resp)).await;
        }
        let resp = match (serde_json::from_str::<Request>(&line), &backend) {
            (Ok(Request::Subscribe), Backend::Engine(engine, _)) => {
                return stream_events(engine, &mut write).await
            }
            (Ok(req), Backend::Engine(engine, kind)) => answer(engine, kind, req).await,
            (Ok(req), Backend::Problem(problem)) => answer_without_engine(problem, req),
            (Err(e), _) => failure(
                "bad_request",
                format!(
                    "the running engine (Tokentray {}, protocol {PROTOCOL}) does not understand \
                     this request ({e}); if Tokentray was just upgraded, quit and start it again",
                    env!("CARGO_PKG_VERSION")
                ),
            ),
        };
        write.write_all(&response_line(&resp)).await?;
    }
}

/// Answers `subscribe`: an ok line, then one `{"event": …}` line per event.
async fn stream_events(
    engine: &Engine,
    write: &mut tokio::net::unix::OwnedWriteHalf,
) -> std::io::Result<()> {
    use tokio::sync::broadcast::error::RecvError;
    let mut events = engine.subscribe();
    let ok = Response {
        ok: true,
        result: Some(serde_json::json!({ "subscribed": true })),
        error: None,
    };
    write.write_all(&response_line(&ok)).await?;
    loop {
        let line = match events.recv().await {
            Ok(event) => serde_json::json!({ "event": event }),
            // A slow reader missed some: tell it, so it re-reads the status.
            Err(RecvError::Lagged(n)) => serde_json::json!({ "lagged": n }),
            Err(RecvError::Closed) => return Ok(()),
        };
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        write.write_all(&bytes).await?;
    }
}

fn answer_without_engine(problem: &(String, OnActivate), req: Request) -> Response {
    match req {
        Request::Ping => Response {
            ok: true,
            result: Some(serde_json::json!(PingInfo {
                kind: "app-without-engine".to_owned(),
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                protocol: PROTOCOL,
            })),
            error: None,
        },
        Request::Activate { open_dashboard } => {
            (problem.1)(open_dashboard);
            Response {
                ok: true,
                result: Some(serde_json::Value::Null),
                error: None,
            }
        }
        _ => failure("settings", problem.0.clone()),
    }
}

fn response_line(resp: &Response) -> Vec<u8> {
    // Serializing our own plain struct cannot fail; an empty line would still end the exchange.
    let mut bytes = serde_json::to_vec(resp).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

async fn answer(engine: &Engine, kind: &'static str, req: Request) -> Response {
    let result: Result<serde_json::Value, EngineError> = match req {
        Request::Ping => Ok(serde_json::json!(PingInfo {
            kind: kind.to_owned(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: PROTOCOL,
        })),
        Request::Activate { open_dashboard } => {
            engine.request_activation(open_dashboard);
            Ok(serde_json::Value::Null)
        }
        Request::Status => Ok(serde_json::json!(engine.status())),
        Request::Command { name, args } => {
            return match crate::dashboard::call(engine, &name, args).await {
                Ok(v) => Response {
                    ok: true,
                    result: Some(v),
                    error: None,
                },
                Err(message) => failure("command", message),
            }
        }
        Request::Pause { account, paused } => match &account {
            Some(name) => engine.set_paused(name, paused),
            None => engine.set_paused_all(paused),
        }
        .map(|n| serde_json::json!({ "changed": n })),
        // The token crosses only this socket: same user, 0600, in a 0700 folder.
        Request::Reload => engine.reload().map(|()| serde_json::Value::Null),
        // Handled by the connection loop, which turns into a stream.
        Request::Subscribe => Ok(serde_json::Value::Null),
        Request::History { account, hours } => {
            let since = time::OffsetDateTime::now_utc() - time::Duration::hours(i64::from(hours));
            Ok(serde_json::json!({ "entries": engine.history(account.as_deref(), since) }))
        }
        Request::Login { account, method } => engine
            .begin_login(&account, method)
            .await
            .map(|p| serde_json::json!(p)),
        Request::LoginWait { account } => engine
            .wait_login(&account)
            .await
            .map(|o| serde_json::json!(o)),
        Request::Forget { account } => engine
            .forget(&account)
            .await
            .map(|()| serde_json::Value::Null),
        Request::Token { account } => engine.credential(&account).await.map(|c| c.to_json()),
        Request::Rejected { account, token } => engine
            .token_rejected(&account, &crate::secret::Secret::new(token))
            .await
            .map(|c| c.to_json()),
        Request::Refresh { account } => {
            engine.refresh(&account).await.map(|r| serde_json::json!(r))
        }
        Request::SignIn { account, tokens } => engine
            .import(&account, &crate::secret::Secret::new(tokens))
            .await
            .map(|()| serde_json::Value::Null),
    };
    match result {
        Ok(v) => Response {
            ok: true,
            result: Some(v),
            error: None,
        },
        Err(e) => failure(e.code(), e.to_string()),
    }
}

fn failure(code: &str, message: String) -> Response {
    Response {
        ok: false,
        result: None,
        error: Some(WireError {
            code: code.to_owned(),
            message,
        }),
    }
}
