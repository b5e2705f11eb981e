//! Suspend and resume, and wall-clock jumps: the engine sleeps on monotonic timers that were set
//! from wall-clock deadlines (token expiry), so when the machine wakes up or the clock is set
//! (NTP after a resume, a manual change) every deadline is re-checked at once.
//!
//! Resume is logind's `PrepareForSleep(false)` on the system bus (`TOKENTRAY_LOGIND_BUS=session`
//! listens on the session bus instead, for tests). A clock change is a `timerfd` armed with
//! `TFD_TIMER_CANCEL_ON_SET`, which the kernel cancels whenever the realtime clock is set.

use tokentray_core::Engine;

/// Starts listening in threads of their own; each blocks in the kernel and costs nothing while
/// idle. Without logind (macOS, Windows, containers) this logs why and does nothing.
pub fn watch(engine: Engine) {
    #[cfg(target_os = "linux")]
    {
        let clock_engine = engine.clone();
        let spawned = std::thread::Builder::new()
            .name("tokentray-sleepwatch".into())
            .spawn(move || linux::run(engine));
        if let Err(e) = spawned {
            tracing::warn!("cannot watch for suspend/resume: {e}");
        }
        let spawned = std::thread::Builder::new()
            .name("tokentray-clockwatch".into())
            .spawn(move || linux::watch_clock(clock_engine));
        if let Err(e) = spawned {
            tracing::warn!("cannot watch for wall-clock changes: {e}");
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

    use dbus::message::MatchRule;

    use tokentray_core::Engine;

    pub fn run(engine: Engine) {
        let conn = match crate::bus::system_or_test("TOKENTRAY_LOGIND_BUS") {
            Ok((c, _)) => c,
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

    /// Blocks until the realtime clock is set, re-checks every deadline, and waits again.
    pub fn watch_clock(engine: Engine) {
        use rustix::io::Errno;
        use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};
        let fd = match rustix::time::timerfd_create(TimerfdClockId::Realtime, TimerfdFlags::CLOEXEC)
        {
            Ok(fd) => fd,
            Err(e) => {
                tracing::info!(
                    "cannot watch the wall clock ({e}); clock changes will not be noticed at once"
                );
                return;
            }
        };
        // Armed for a moment that never comes (absolute, far future): only a clock change ends
        // the wait, with ECANCELED.
        let never = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: i64::from(i32::MAX) * 64,
                tv_nsec: 0,
            },
        };
        let flags = TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET;
        loop {
            if let Err(e) = rustix::time::timerfd_settime(&fd, flags, &never) {
                tracing::info!("cannot arm the wall-clock watch ({e})");
                return;
            }
            let mut expirations = [0u8; 8];
            match rustix::io::read(&fd, &mut expirations) {
                Err(Errno::CANCELED) => {
                    tracing::info!("the wall clock was changed; re-checking every deadline");
                    engine.recheck_all();
                }
                Err(Errno::INTR) | Ok(_) => {}
                Err(e) => {
                    tracing::warn!(
                        "the wall-clock watch failed ({e}); clock changes will not be noticed at once"
                    );
                    return;
                }
            }
        }
    }
}
