//! The engine's protocol over the local transport ([`crate::transport`]: a Unix socket, or a
//! named pipe on Windows): how the CLI, a second launch and the dashboard talk to the running
//! engine. One JSON request per line, one JSON response per line.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokentray_core::caller::Caller;
use tokentray_core::ops::{self, Op, OpError, PingInfo, PROTOCOL};
use tokentray_core::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::desk::HostDesk;
use crate::signals::Signals;
use crate::transport;

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The error on failure: the operation's code and sentence, as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OpError>,
}

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
    Engine(OpError),
}

/// The longest request line the server reads; anything longer is a confused or hostile client.
const MAX_LINE: u64 = 64 * 1024;

/// Sends one operation to the engine listening at `socket` and reads its answer as `A` (the
/// operation's type in `tokentray_core::ops::answer`).
pub fn ask<A: DeserializeOwned>(
    socket: &Path,
    op: &Op,
    timeout: Duration,
) -> Result<A, ClientError> {
    let value = call(socket, op, timeout)?;
    serde_json::from_value(value).map_err(|e| {
        ClientError::Protocol(format!(
            "the answer to {} was not understood ({e}); is the running engine another version?",
            op.name()
        ))
    })
}

/// Sends one operation to the engine listening at `socket` and waits for its JSON answer.
///
/// Synchronous on purpose: the lean CLI starts no async runtime for a one-shot call.
pub fn call(socket: &Path, req: &Op, timeout: Duration) -> Result<serde_json::Value, ClientError> {
    let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
    line.push(b'\n');
    let answer = exchange_within(socket, line, timeout)?;
    let resp: Response = serde_json::from_str(&answer)
        .map_err(|e| ClientError::Protocol(format!("unreadable answer ({e})")))?;
    match (resp.ok, resp.error) {
        (true, _) => Ok(resp.result.unwrap_or(serde_json::Value::Null)),
        (false, Some(err)) => Err(ClientError::Engine(err)),
        (false, None) => Err(ClientError::Protocol("error without a message".into())),
    }
}

/// Sends `line` and reads one line back, within `timeout`.
#[cfg(unix)]
fn exchange_within(socket: &Path, line: Vec<u8>, timeout: Duration) -> Result<String, ClientError> {
    exchange(socket, &line, timeout)
}

/// Sends `line` and reads one line back, within `timeout`. A pipe has no read timeout of its
/// own, so the exchange runs on a thread that is left behind if the engine never answers.
#[cfg(windows)]
fn exchange_within(socket: &Path, line: Vec<u8>, timeout: Duration) -> Result<String, ClientError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let socket = socket.to_path_buf();
    std::thread::Builder::new()
        .name("tokentray-call".into())
        .spawn(move || {
            let _ = tx.send(exchange(&socket, &line, timeout));
        })
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    rx.recv_timeout(timeout)
        .unwrap_or(Err(ClientError::Timeout(timeout)))
}

fn exchange(socket: &Path, line: &[u8], timeout: Duration) -> Result<String, ClientError> {
    let stream = transport::connect(socket, Some(timeout)).map_err(|e| match e.kind() {
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
    (&stream).write_all(line).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).map_err(io)?;
    Ok(answer)
}

/// Serves operations for `engine` on `listener` until `shutdown` completes; `desk` does what
/// they need of the desktop, and `signals` join the engine's events in `subscribe` streams.
pub async fn serve(
    listener: transport::Listener,
    engine: Engine,
    desk: HostDesk,
    signals: Signals,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let backend = Backend::Engine(Arc::new(Served {
        engine,
        desk,
        signals,
    }));
    serve_backend(listener, backend, shutdown).await
}

/// What a tray app without an engine (its settings file is broken) does when a second launch
/// asks it to show itself.
pub type OnActivate = Arc<dyn Fn(bool) + Send + Sync>;

/// Serves for a tray app that could not open its engine: a second launch still hands over
/// (`activate` calls `on_activate`) instead of starting a second tray, and every other request
/// answers with `problem`, the sentence that says what to fix.
pub async fn serve_without_engine(
    listener: transport::Listener,
    problem: String,
    on_activate: OnActivate,
) {
    let backend = Backend::Problem(Arc::new((problem, on_activate)));
    serve_backend(listener, backend, std::future::pending()).await
}

/// What a server with an engine answers with.
struct Served {
    engine: Engine,
    desk: HostDesk,
    signals: Signals,
}

/// Who answers the requests.
#[derive(Clone)]
enum Backend {
    Engine(Arc<Served>),
    Problem(Arc<(String, OnActivate)>),
}

async fn serve_backend(
    mut listener: transport::Listener,
    backend: Backend,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(Some((stream, pid))) => {
                    let backend = backend.clone();
                    tokio::spawn(async move {
                        let caller = crate::peer::identify(pid);
                        if let Err(e) = handle_connection(stream, backend, caller).await {
                            tracing::debug!("socket client went away: {e}");
                        }
                    });
                }
                // Another user's connection, refused and logged by the transport.
                Ok(None) => {}
                Err(e) => {
                    // EMFILE and friends: say so, and yield a moment rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn handle_connection(
    stream: transport::Stream,
    backend: Backend,
    caller: Caller,
) -> std::io::Result<()> {
    let (read, mut write) = tokio::io::split(stream);
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
        let resp = match (serde_json::from_str::<Op>(&line), &backend) {
            (Ok(Op::Subscribe {}), Backend::Engine(served)) => {
                return stream_events(served, &mut write).await
            }
            (Ok(op), Backend::Engine(served)) => {
                answer(ops::perform(&served.engine, &served.desk, &caller, op).await)
            }
            (Ok(op), Backend::Problem(problem)) => answer_without_engine(problem, op),
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

/// Answers `subscribe`: an ok line, then one `{"event": …}` line per engine event or host
/// signal.
async fn stream_events(
    served: &Served,
    write: &mut (impl tokio::io::AsyncWrite + Unpin),
) -> std::io::Result<()> {
    use tokio::sync::broadcast::error::RecvError;
    let mut events = served.engine.subscribe();
    let mut signals = served.signals.subscribe();
    let ok = Response {
        ok: true,
        result: Some(serde_json::json!({ "subscribed": true })),
        error: None,
    };
    write.write_all(&response_line(&ok)).await?;
    loop {
        let line = tokio::select! {
            event = events.recv() => match event {
                Ok(event) => serde_json::json!({ "event": event }),
                // A slow reader missed some: tell it, so it re-reads the status.
                Err(RecvError::Lagged(n)) => serde_json::json!({ "lagged": n }),
                Err(RecvError::Closed) => return Ok(()),
            },
            signal = signals.recv() => match signal {
                Ok(signal) => serde_json::json!({ "event": signal }),
                Err(RecvError::Lagged(n)) => serde_json::json!({ "lagged": n }),
                Err(RecvError::Closed) => return Ok(()),
            },
        };
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        write.write_all(&bytes).await?;
    }
}

fn answer_without_engine(problem: &(String, OnActivate), op: Op) -> Response {
    match op {
        Op::Ping {} => answer(
            serde_json::to_value(PingInfo::of_this_process("app-without-engine"))
                .map_err(|e| OpError::new(ops::code::INTERNAL, e.to_string())),
        ),
        Op::Activate { open_dashboard } => {
            (problem.1)(open_dashboard);
            answer(Ok(serde_json::Value::Null))
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

fn answer(result: Result<serde_json::Value, OpError>) -> Response {
    match result {
        Ok(v) => Response {
            ok: true,
            result: Some(v),
            error: None,
        },
        Err(e) => Response {
            ok: false,
            result: None,
            error: Some(e),
        },
    }
}

fn failure(code: &str, message: String) -> Response {
    Response {
        ok: false,
        result: None,
        error: Some(OpError::new(code, message)),
    }
}
