//! One engine per user: the first launch holds a lock and listens on the socket; any later launch
//! hands over to it and exits.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokentray_core::fsutil;
use tokentray_core::ops::Op;
use tokentray_core::Paths;

use crate::socket::{self, ClientError};
use crate::transport;

/// The outcome of trying to become the engine.
pub enum Claim {
    /// We are the engine: keep this alive for as long as the engine runs.
    Primary(PrimaryGuard),
    /// Another engine runs; hand over to it with [`hand_over`].
    Secondary,
}

/// Held by the one running engine: the lock, and the bound socket until it is taken.
pub struct PrimaryGuard {
    // Fields drop in order: the socket goes before the lock is freed, so a next engine's fresh
    // socket is never removed by this one.
    bound: transport::Bound,
    // Held open for the flock; closing it (process exit included) frees the claim.
    _lock: File,
}

impl PrimaryGuard {
    /// The bound socket (or pipe), listening; call inside a tokio runtime, once.
    pub fn take_listener(&mut self) -> std::io::Result<transport::Listener> {
        self.bound.listen()
    }
}

/// Why the claim could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The runtime folder, lock or socket could not be set up.
    #[error("cannot set up {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Tries to become the one engine of this user.
pub fn claim(paths: &Paths) -> Result<Claim, InstanceError> {
    let io = |path: PathBuf| move |source| InstanceError::Io { path, source };
    fsutil::create_private_dir(&paths.runtime_dir).map_err(io(paths.runtime_dir.clone()))?;
    let lock_path = paths.instance_lock_file();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(lock_path.clone()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Claim::Secondary),
        Err(TryLockError::Error(e)) => return Err(io(lock_path)(e)),
    }
    let socket_path = paths.socket_file();
    // We hold the lock, so whatever the transport finds at its address is a leftover.
    let bound = transport::bind(&socket_path).map_err(io(socket_path))?;
    Ok(Claim::Primary(PrimaryGuard { _lock: lock, bound }))
}

/// Tells the running engine that someone launched Tokentray again. Waits up to `patience` for an
/// engine that holds the lock but is still starting up.
pub fn hand_over(
    paths: &Paths,
    open_dashboard: bool,
    patience: Duration,
) -> Result<(), ClientError> {
    let deadline = Instant::now() + patience;
    let req = Op::Activate { open_dashboard };
    loop {
        match socket::call(&paths.socket_file(), &req, Duration::from_secs(5)) {
            Err(ClientError::NotRunning) if Instant::now() < deadline => {
                // The other engine has the lock but has not bound its socket yet.
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::HostDesk;
    use crate::signals::{Signal, Signals};
    use tokentray_core::Engine;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn second_claim_hands_over_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let Claim::Primary(mut guard) = claim(&paths).unwrap() else {
            panic!("first claim must win");
        };
        assert!(matches!(claim(&paths).unwrap(), Claim::Secondary));

        let engine = Engine::open(paths.clone()).unwrap();
        let signals = Signals::default();
        let mut heard = signals.subscribe();
        let desk = HostDesk::new("test", signals.clone());
        let listener = guard.take_listener().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(socket::serve(listener, engine, desk, signals, async {
            let _ = stop_rx.await;
        }));

        let p = paths.clone();
        tokio::task::spawn_blocking(move || hand_over(&p, true, Duration::from_secs(5)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            heard.recv().await.unwrap(),
            Signal::ActivateRequested {
                open_dashboard: true
            }
        );
        let p = paths.clone();
        let status = tokio::task::spawn_blocking(move || {
            socket::call(&p.socket_file(), &Op::Status {}, Duration::from_secs(5))
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(status, serde_json::json!({"accounts": []}));

        stop_tx.send(()).unwrap();
        server.await.unwrap();
        drop(guard);
        assert!(!paths.socket_file().exists());
        assert!(
            matches!(claim(&paths).unwrap(), Claim::Primary(_)),
            "lock freed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscribers_get_a_stream_of_events() {
        use std::io::{BufRead, BufReader, Write};
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let Claim::Primary(mut guard) = claim(&paths).unwrap() else {
            panic!("first claim must win");
        };
        let engine = Engine::open(paths.clone()).unwrap();
        let signals = Signals::default();
        let desk = HostDesk::new("test", signals.clone());
        let listener = guard.take_listener().unwrap();
        tokio::spawn(socket::serve(
            listener,
            engine,
            desk.clone(),
            signals,
            std::future::pending(),
        ));
        let sock = paths.socket_file();
        let reader = tokio::task::spawn_blocking(move || {
            let mut stream = transport::connect(&sock, None).unwrap();
            stream.write_all(b"{\"op\":\"subscribe\"}\n").unwrap();
            let mut lines = BufReader::new(stream).lines();
            let first = lines.next().unwrap().unwrap();
            let second = lines.next().unwrap().unwrap();
            (first, second)
        });
        // Keep making signals until the reader has one: the subscription's start is not
        // observable.
        let publisher = tokio::spawn(async move {
            loop {
                tokentray_core::ops::Desk::activate(&desk, false);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let (first, second) = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("events within 10 s")
            .unwrap();
        publisher.abort();
        assert!(first.contains("\"subscribed\":true"), "{first}");
        let v: serde_json::Value = serde_json::from_str(&second).unwrap();
        assert_eq!(v["event"]["kind"], "activate_requested");
        drop(guard);
    }

    #[cfg(unix)]
    #[test]
    fn stale_socket_from_a_dead_engine_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        fsutil::create_private_dir(&paths.runtime_dir).unwrap();
        std::fs::write(paths.socket_file(), b"").unwrap();
        assert!(matches!(claim(&paths).unwrap(), Claim::Primary(_)));
    }

    #[test]
    fn hand_over_without_an_engine_says_it_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let err = hand_over(&paths, false, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, ClientError::NotRunning), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn socket_and_runtime_dir_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let _guard = claim(&paths).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&paths.runtime_dir), 0o700);
        assert_eq!(mode(&paths.socket_file()), 0o600);
    }
}
