//! A Unix socket in the user's private runtime folder (0700), itself 0600; the server also
//! checks each peer's uid, so a permission slip (or root's process) still cannot ask for tokens.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The async stream a server connection speaks on.
pub type Stream = tokio::net::UnixStream;

/// A client's blocking connection.
pub type ClientStream = std::os::unix::net::UnixStream;

/// What a person reads as the engine's address: the socket's path.
pub fn endpoint(socket_file: &Path) -> String {
    socket_file.display().to_string()
}

/// A bound socket, not yet serving. Removes its file when dropped.
pub struct Bound {
    listener: Option<std::os::unix::net::UnixListener>,
    path: PathBuf,
}

/// Binds the socket at `socket_file`. Call under the one-per-user lock: any file there is a
/// leftover of an engine that died, and is replaced.
pub fn bind(socket_file: &Path) -> io::Result<Bound> {
    match std::fs::remove_file(socket_file) {
        Ok(()) => {
            tracing::info!("removed a stale socket left by an engine that did not exit cleanly")
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = std::os::unix::net::UnixListener::bind(socket_file)?;
    listener.set_nonblocking(true)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket_file, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(Bound {
        listener: Some(listener),
        path: socket_file.to_path_buf(),
    })
}

impl Bound {
    /// Starts listening; call inside a tokio runtime, once.
    pub fn listen(&mut self) -> io::Result<Listener> {
        let std_listener = self.listener.take().ok_or_else(|| {
            io::Error::new(io::ErrorKind::AlreadyExists, "listener already taken")
        })?;
        // The socket file is ours (we created it), so its owner is the uid allowed to talk to us.
        let owner = std::fs::metadata(&self.path)
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
        Ok(Listener {
            inner: tokio::net::UnixListener::from_std(std_listener)?,
            owner,
        })
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        // Best effort: a leftover socket is harmless, the next engine removes it under the lock.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The listening socket.
pub struct Listener {
    inner: tokio::net::UnixListener,
    owner: Option<u32>,
}

impl Listener {
    /// The next connection from this user, with the peer's process id where the system tells
    /// it; `Ok(None)` when one from another user was refused.
    pub async fn accept(&mut self) -> io::Result<Option<(Stream, Option<u32>)>> {
        let (stream, _) = self.inner.accept().await?;
        let cred = stream.peer_cred().ok();
        let peer = cred.map(|c| c.uid());
        if self.owner.is_none() || peer != self.owner {
            tracing::warn!(?peer, owner = ?self.owner, "refused a socket connection from another user");
            return Ok(None);
        }
        let pid = cred
            .and_then(|c| c.pid())
            .and_then(|p| u32::try_from(p).ok());
        Ok(Some((stream, pid)))
    }
}

/// Connects to the engine at `socket_file`, waiting at most `timeout` for each read and write.
/// `NotFound` or `ConnectionRefused` mean no engine listens.
pub fn connect(socket_file: &Path, timeout: Option<Duration>) -> io::Result<ClientStream> {
    let stream = std::os::unix::net::UnixStream::connect(socket_file)?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    Ok(stream)
}
