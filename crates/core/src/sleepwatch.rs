//! Suspend and resume: monotonic timers stop while a laptop sleeps, so after a resume every
//! deadline is re-checked at once. The signal is logind's `PrepareForSleep(false)` on the system
//! bus (`TOKENTRAY_LOGIND_BUS=session` listens on the session bus instead, for tests).

use crate::engine::Engine;

/// Starts listening in a thread of its own; it blocks on the bus and costs nothing while idle.
/// Without logind (macOS, Windows, containers) this logs why and does nothing.
pub fn watch(engine: Engine) {
    #[cfg(target_os = "linux")]
    {
        let spawned = std::thread::Builder::new()
            .name("tokentray-sleepwatch".into())
            .spawn(move || linux::run(engine));
        if let Err(e) = spawned {
            tracing::warn!("cannot watch for suspend/resume: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = engine;
        tracing::info!("suspend/resume is not watched on this platform yet");
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::Duration;

    use dbus::blocking::Connection;
    use dbus::message::MatchRule;

    use crate::engine::Engine;

    pub fn run(engine: Engine) {
        let session = std::env::var("TOKENTRAY_LOGIND_BUS").is_ok_and(|b| b == "session");
        let conn = if session {
            Connection::new_session()
        } else {
            Connection::new_system()
        };
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                tracing::info!("no logind bus ({e}); suspend/resume will not be noticed at once");
                return;
            }
        };
        let rule = MatchRule::new_signal("org.freedesktop.login1.Manager", "PrepareForSleep")
            .with_path("/org/freedesktop/login1");
        let added = conn.add_match(rule, move |(going_to_sleep,): (bool,), _, _| {
            if !going_to_sleep {
                tracing::info!("resumed from sleep; re-checking every deadline");
                engine.recheck_all();
            }
            true
        });
        if let Err(e) = added {
            tracing::info!("cannot listen for logind's PrepareForSleep ({e})");
            return;
        }
        loop {
            // Blocks until a message arrives; the timeout only bounds one wait.
            if let Err(e) = conn.process(Duration::from_secs(24 * 3600)) {
                tracing::warn!(
                    "lost the logind bus ({e}); suspend/resume will not be noticed at once"
                );
                return;
            }
        }
    }
}
