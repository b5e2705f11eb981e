//! Shutdown as a parameter of every long-lived task: once it begins, no new refresh starts, the
//! scheduler, job and state-writer tasks end, a refresh already in flight finishes its keychain
//! write, and the state is flushed.

use std::sync::Arc;
use std::time::Duration;

use super::error::EngineError;
use super::handle::Engine;
use super::slot::Slot;
use crate::sync::lock;

/// How long a stop waits for a refresh in flight to store its tokens: past the HTTP client's own
/// 30 s ceiling, so a refresh that can still end does.
pub const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(35);

impl Engine {
    /// True once shutdown began.
    pub(super) fn is_closing(&self) -> bool {
        *self.inner.closing.borrow()
    }

    /// Resolves once shutdown began (at once if it already has).
    pub(super) async fn closed(&self) {
        self.until_shutdown().await
    }

    /// A future that resolves once shutdown began, for an adapter's long-lived task (a socket
    /// server, a notifier) to end with the engine. Holds no reference to the engine.
    pub fn until_shutdown(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.inner.closing.subscribe();
        async move {
            // An error means the engine is gone: shut down all the more.
            let _ = closing.wait_for(|closing| *closing).await;
        }
    }

    /// Stops the engine: takes no new refresh, lets one in flight finish storing its tokens
    /// (waiting up to `patience`), ends the engine's tasks, writes back tokens the keychain
    /// refused earlier if it takes them now, and flushes the state file.
    pub async fn shutdown(&self, patience: Duration) -> Result<(), EngineError> {
        self.inner.closing.send_replace(true);
        let slots: Vec<Arc<Slot>> = lock(&self.inner.slots).values().cloned().collect();
        let in_flight = async {
            for slot in slots {
                // Held for a whole refresh: taking it waits for the one in flight, and every
                // later taker sees the engine closing and leaves at once.
                drop(slot.flight.lock().await);
            }
        };
        if tokio::time::timeout(patience, in_flight).await.is_err() {
            tracing::warn!("a refresh did not finish within {patience:?}; stopping without it");
        }
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.flush())
            .await
            .map_err(|e| EngineError::KeychainCall(e.to_string()))?
    }
}
