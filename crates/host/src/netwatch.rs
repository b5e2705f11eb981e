//! The network coming back is an event: every account waiting out a network failure is
//! re-checked at once, instead of when its backoff runs out (minutes after Wi-Fi, a VPN or a
//! captive portal came back).
//!
//! On Linux, NetworkManager's `StateChanged` signal on the system bus (`TOKENTRAY_NM_BUS=session`
//! listens on the session bus instead, for tests): a change to a connected state re-checks.
//! Without NetworkManager, the kernel's own news: address and route changes from a netlink
//! socket, settled for two seconds so one reconnect is one re-check. macOS (`SCNetworkReachability`)
//! and Windows (`NotifyNetworkConnectivityHintChange`) plug in at [`watch`]; until then they rely
//! on the probe cadence alone, which the engine keeps short while a token is expired.

use tokentray_core::Engine;

/// Starts watching in a thread of its own; it blocks in the kernel (or on the bus) and costs
/// nothing while idle.
pub fn watch(engine: Engine) {
    #[cfg(target_os = "linux")]
    {
        let spawned = std::thread::Builder::new()
            .name("tokentray-netwatch".into())
            .spawn(move || {
                if !linux::network_manager(&engine) {
                    linux::netlink(&engine);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot watch for the network coming back: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = engine;
        tracing::info!("the network coming back is not watched on this platform yet");
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::time::{Duration, Instant};

    use dbus::blocking::Connection;
    use dbus::message::MatchRule;
    use tokentray_core::Engine;

    const NM: &str = "org.freedesktop.NetworkManager";
    /// `NM_STATE_CONNECTED_LOCAL`: the lowest state that is connected at all. SITE (60) and
    /// GLOBAL (70) follow; a VPN-only intranet provider may be reachable from any of them.
    const CONNECTED_LOCAL: u32 = 50;
    /// Route and address news of one reconnect arrive in a burst; one re-check after it settles.
    const SETTLE: Duration = Duration::from_secs(2);

    /// Listens to NetworkManager until the bus goes away; false when there is no
    /// NetworkManager to listen to.
    pub fn network_manager(engine: &Engine) -> bool {
        let (conn, session) = match crate::bus::system_or_test("TOKENTRAY_NM_BUS") {
            Ok(c) => c,
            Err(e) => {
                tracing::info!("no system bus ({e}); watching the network through netlink");
                return false;
            }
        };
        // In tests the signal comes from the test itself, with no NetworkManager to own a name.
        if !session && !has_owner(&conn, NM) {
            tracing::info!("NetworkManager is not running; watching the network through netlink");
            return false;
        }
        let rule =
            MatchRule::new_signal(NM, "StateChanged").with_path("/org/freedesktop/NetworkManager");
        let engine = engine.clone();
        let added = conn.add_match(rule, move |(state,): (u32,), _, _| {
            if state >= CONNECTED_LOCAL {
                tracing::info!(
                    state,
                    "the network is back; re-checking accounts that wait for it"
                );
                engine.network_back();
            }
            true
        });
        if let Err(e) = added {
            tracing::info!("cannot listen to NetworkManager ({e}); watching through netlink");
            return false;
        }
        tracing::info!("watching NetworkManager for the network coming back");
        loop {
            if let Err(e) = conn.process(Duration::from_secs(24 * 3600)) {
                tracing::warn!("lost the bus to NetworkManager ({e}); watching through netlink");
                return false;
            }
        }
    }

    fn has_owner(conn: &Connection, name: &str) -> bool {
        let proxy = conn.with_proxy(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            Duration::from_secs(5),
        );
        proxy
            .method_call::<(bool,), _, _, _>("org.freedesktop.DBus", "NameHasOwner", (name,))
            .map(|(owned,)| owned)
            .unwrap_or(false)
    }

    /// Address and route changes from the kernel (`RTMGRP_*` multicast groups of
    /// `NETLINK_ROUTE`): any burst of news, once settled, re-checks.
    pub fn netlink(engine: &Engine) {
        use rustix::net::netlink::SocketAddrNetlink;
        use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType};
        // RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR |
        // RTMGRP_IPV6_ROUTE (linux/rtnetlink.h).
        const GROUPS: u32 = 0x1 | 0x10 | 0x40 | 0x100 | 0x400;
        let socket = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            None,
        )
        .and_then(|fd| rustix::net::bind(&fd, &SocketAddrNetlink::new(0, GROUPS)).map(|()| fd));
        let fd = match socket {
            Ok(fd) => fd,
            Err(e) => {
                tracing::info!("cannot watch the network ({e}); the network coming back will be noticed by the next retry");
                return;
            }
        };
        tracing::info!("watching netlink for the network coming back");
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                // We fell behind the kernel's news: there was news either way.
                Err(rustix::io::Errno::NOBUFS) => {}
                Err(e) => {
                    tracing::warn!("the network watch failed ({e})");
                    return;
                }
            }
            // Let the burst settle: drain news for a second, then re-check once.
            let until = Instant::now() + SETTLE;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                let timeout = rustix::net::sockopt::set_socket_timeout(
                    &fd,
                    rustix::net::sockopt::Timeout::Recv,
                    Some(left.max(Duration::from_millis(1))),
                );
                if timeout.is_err()
                    || rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty()).is_err()
                {
                    break;
                }
            }
            let _ = rustix::net::sockopt::set_socket_timeout(
                &fd,
                rustix::net::sockopt::Timeout::Recv,
                None,
            );
            tracing::info!("the network changed; re-checking accounts that wait for it");
            engine.network_back();
        }
    }
}
