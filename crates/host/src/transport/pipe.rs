//! A named pipe that only this user may open (a DACL naming the user's SID; remote clients
//! refused). Its name is derived from the socket path under the user's profile, so two users, or
//! two test sandboxes, never meet; a client also checks that the server runs as the same user,
//! so a program that grabbed the name first cannot pose as the engine.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};

use super::winsec;

/// The async stream a server connection speaks on.
pub type Stream = NamedPipeServer;

/// A client's blocking connection.
pub type ClientStream = std::fs::File;

/// The pipe's name for the engine whose Unix-style socket path would be `socket_file`.
pub fn endpoint(socket_file: &Path) -> String {
    // FNV-1a: stable across versions and builds, unlike std's hasher.
    let hash = socket_file
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!(r"\\.\pipe\tokentray-{hash:016x}")
}

/// The pipe's name, claimed: the pipe itself is created by [`Bound::listen`] inside the runtime.
pub struct Bound {
    name: String,
}

/// Claims the pipe name for `socket_file`. Call under the one-per-user lock.
pub fn bind(socket_file: &Path) -> io::Result<Bound> {
    Ok(Bound {
        name: endpoint(socket_file),
    })
}

impl Bound {
    /// Creates the pipe's first instance; fails if another program already holds the name.
    pub fn listen(&mut self) -> io::Result<Listener> {
        let sid = winsec::user_sid(None)?;
        let first = create(&self.name, &sid, true).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create the pipe {} ({e}); another program holds its name",
                    self.name
                ),
            )
        })?;
        Ok(Listener {
            name: self.name.clone(),
            sid,
            next: first,
        })
    }
}

fn create(name: &str, sid: &str, first: bool) -> io::Result<NamedPipeServer> {
    let mut options = ServerOptions::new();
    options
        .first_pipe_instance(first)
        .reject_remote_clients(true);
    winsec::create_pipe(&options, name, sid)
}

/// The listening pipe: one instance waits for the next client at any time.
pub struct Listener {
    name: String,
    sid: String,
    next: NamedPipeServer,
}

impl Listener {
    /// The next connection from this user; `Ok(None)` when one from another user was refused
    /// (the DACL already keeps them out; this is the second lock).
    pub async fn accept(&mut self) -> io::Result<Option<(Stream, Option<u32>)>> {
        self.next.connect().await?;
        let fresh = create(&self.name, &self.sid, false)?;
        let connected = std::mem::replace(&mut self.next, fresh);
        match winsec::peer_sid(&connected, false) {
            Ok(peer) if peer == self.sid => {
                let pid = winsec::peer_pid(&connected, false).ok();
                Ok(Some((connected, pid)))
            }
            other => {
                tracing::warn!(peer = ?other.ok(), "refused a pipe connection from another user");
                Ok(None)
            }
        }
    }
}

/// `ERROR_PIPE_BUSY`: every instance is taken for a moment; the server makes a new one.
const ERROR_PIPE_BUSY: i32 = 231;

/// Connects to the engine for `socket_file`, waiting up to `timeout` while the pipe is busy.
/// `NotFound` means no engine listens. Reads and writes have no timeout of their own: callers
/// that need one run the exchange on a thread.
pub fn connect(socket_file: &Path, timeout: Option<Duration>) -> io::Result<ClientStream> {
    use std::os::windows::fs::OpenOptionsExt;
    let name = endpoint(socket_file);
    let deadline = Instant::now() + timeout.unwrap_or(Duration::from_secs(5));
    let file = loop {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            // The server may learn who we are, never act as us.
            .security_qos_flags(windows_sys::Win32::Storage::FileSystem::SECURITY_IDENTIFICATION)
            .open(&name)
        {
            Ok(file) => break file,
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(e),
        }
    };
    let me = winsec::user_sid(None)?;
    match winsec::peer_sid(&file, true) {
        Ok(server) if server == me => Ok(file),
        Ok(server) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the program serving {name} runs as another user ({server}); not talking to it"
            ),
        )),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot tell who serves {name} ({e}); not talking to it"),
        )),
    }
}
