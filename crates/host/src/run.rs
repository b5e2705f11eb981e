//! The host: one engine on this desktop, served until shutdown. Both `tokentray run
//! --headless` and the tray app run it; the tray app adds its icon and windows around it.

use std::future::Future;

use tokentray_core::engine::SHUTDOWN_PATIENCE;
use tokentray_core::{Engine, EngineError};

use crate::desk::HostDesk;
use crate::signals::{Signal, Signals};

/// Which process hosts the engine: what `ping` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The tray app.
    App,
    /// `tokentray run --headless`.
    Headless,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Headless => "headless",
        }
    }
}

/// The engine and the desktop adapters around it.
#[derive(Clone)]
pub struct Host {
    engine: Engine,
    signals: Signals,
    kind: Kind,
}

impl Host {
    /// A host for `engine`; nothing runs until [`Host::run`].
    pub fn new(engine: Engine, kind: Kind) -> Host {
        Host {
            engine,
            signals: Signals::default(),
            kind,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The desktop operations use.
    pub fn desk(&self) -> HostDesk {
        HostDesk::new(self.kind.name(), self.signals.clone())
    }

    /// Listens to the host's signals (activation, app settings changed).
    pub fn signals(&self) -> tokio::sync::broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    /// Asks the GUI to show itself, as a second launch does: an open dashboard (another
    /// process, listening on the socket) comes to the front.
    pub fn activate(&self, open_dashboard: bool) {
        self.signals
            .send(Signal::ActivateRequested { open_dashboard });
    }

    /// Runs the engine's scheduler, the sleep, clock and network watchers, the notifier and the
    /// socket server on `listener`, until `shutdown` completes; then stops the engine (a
    /// refresh in flight stores its tokens first) and returns. Call within a tokio runtime.
    pub async fn run(
        &self,
        listener: std::io::Result<crate::transport::Listener>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), EngineError> {
        let engine = &self.engine;
        engine.start_scheduler();
        crate::sleepwatch::watch(engine.clone());
        crate::netwatch::watch(engine.clone());
        crate::notifier::start(engine.clone());
        match listener {
            Ok(listener) => {
                tracing::info!(kind = self.kind.name(), "engine running");
                crate::socket::serve(
                    listener,
                    engine.clone(),
                    self.desk(),
                    self.signals.clone(),
                    shutdown,
                )
                .await
            }
            Err(e) => {
                // Tokens still stay fresh and jobs run; only the CLI cannot reach us.
                tracing::error!("the CLI cannot reach this engine: {e}");
                shutdown.await
            }
        }
        tracing::info!("stopping: a refresh in flight finishes storing its tokens first");
        engine.shutdown(SHUTDOWN_PATIENCE).await
    }
}

/// Completes on SIGTERM or Ctrl-C: how a headless engine is told to stop.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM ({e}); stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
