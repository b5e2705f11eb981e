//! The local transport between the running engine and the programs that talk to it (the CLI, a
//! second launch, the dashboard): a Unix socket on Unix, a named pipe on Windows. On both, only
//! the user who runs the engine gets through, and the client checks the same of the server.
//!
//! Both families offer the same items: [`bind`] (under the one-per-user lock), [`Bound::listen`]
//! (inside the runtime), [`Listener::accept`], the async [`Stream`] the server speaks on, and the
//! blocking [`connect`] for one-shot clients.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{bind, connect, endpoint, Bound, ClientStream, Listener, Stream};

#[cfg(windows)]
mod pipe;
#[cfg(windows)]
mod winsec;
#[cfg(windows)]
pub use pipe::{bind, connect, endpoint, Bound, ClientStream, Listener, Stream};
#[cfg(windows)]
pub(crate) use winsec::{parent_pid, process_image};
