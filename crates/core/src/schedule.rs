//! When to refresh: ahead of expiry by a lead time, with jitter; after a failure, exponential
//! backoff with full jitter. Pure functions of their inputs, so tests need no clock.

use std::time::Duration;

use time::OffsetDateTime;

/// The shortest lead: refreshing 30 s ahead leaves room for one slow round trip.
pub const MIN_LEAD: Duration = Duration::from_secs(30);
/// The longest lead: no need to refresh an hour-long token more than 5 minutes early.
pub const MAX_LEAD: Duration = Duration::from_secs(300);
/// The first retry delay after a transient failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// The longest wait between retries while the access token still works.
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);
/// The longest wait between retries once the access token has expired (or will within the lead)
/// and the provider answered: the wait grown during an outage must not outlast it, so the
/// account works again within seconds of the provider's return.
pub const PROBE_CAP: Duration = Duration::from_secs(6);
/// The same when nothing answered at all (the network, not the provider): the network's return
/// is an event that re-checks at once, so probing can be sparser.
pub const OFFLINE_PROBE_CAP: Duration = Duration::from_secs(30);

/// How long before expiry to refresh: 10% of the lifetime, clamped to [30 s, 5 min], and never
/// more than half the lifetime (a 20 s token is refreshed after 10 s, not in a tight loop).
pub fn lead(lifetime: Duration) -> Duration {
    (lifetime / 10).clamp(MIN_LEAD, MAX_LEAD).min(lifetime / 2)
}

/// When to refresh tokens obtained at `obtained_at` that expire at `expires_at`. `jitter` in
/// [0, 1) moves the moment earlier by up to a quarter of the lead, so that many accounts
/// with the same lifetime do not refresh in the same second.
pub fn refresh_at(
    obtained_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    jitter: f64,
) -> OffsetDateTime {
    let lifetime = Duration::try_from(expires_at - obtained_at).unwrap_or(Duration::ZERO);
    let lead = lead(lifetime);
    let spread = lead.mul_f64(0.25 * jitter.clamp(0.0, 1.0));
    let at = expires_at - lead - spread;
    at.max(obtained_at)
}

/// Whether tokens expiring at `expires_at` should be refreshed before use at `now`.
pub fn needs_refresh(
    obtained_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    now >= refresh_at(obtained_at, expires_at, 0.0)
}

/// The wait before retry number `attempt` (1-based), never shorter than the server's
/// `Retry-After`. While the token lives: "full jitter", uniform in [0, min(cap,
/// base·2^(attempt-1))]. While it is expired, `probe` caps the growth and the jitter is "equal"
/// (uniform in the upper half), so probes come at a steady cadence, neither bunched nor late.
pub fn backoff(
    attempt: u32,
    retry_after: Option<Duration>,
    jitter: f64,
    probe: Option<Duration>,
) -> Duration {
    let grown = BACKOFF_BASE.saturating_mul(
        1u32.checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX),
    );
    let jitter = jitter.clamp(0.0, 1.0);
    let wait = match probe {
        Some(cap) => grown.min(cap).mul_f64(0.5 + 0.5 * jitter),
        None => grown.min(BACKOFF_CAP).mul_f64(jitter),
    };
    match retry_after {
        Some(ra) => wait.max(ra.min(BACKOFF_CAP)),
        None => wait,
    }
}

/// A small, fast random source for jitter (xorshift64*). Jitter needs spread, not secrecy.
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock and the process id.
    pub fn from_entropy() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter::seeded(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// A fixed seed, for tests and benchmarks.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter(seed.max(1))
    }

    /// The next value in [0, 1).
    pub fn sample(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)
    }

    #[test]
    fn lead_is_ten_percent_clamped() {
        assert_eq!(lead(Duration::from_secs(3600)), Duration::from_secs(300));
        assert_eq!(lead(Duration::from_secs(1200)), Duration::from_secs(120));
        assert_eq!(lead(Duration::from_secs(60)), Duration::from_secs(30));
        assert_eq!(lead(Duration::from_secs(20)), Duration::from_secs(10));
    }

    #[test]
    fn refresh_happens_before_expiry_and_not_before_issue() {
        assert_eq!(refresh_at(t(0), t(3600), 0.0), t(3300));
        let jittered = refresh_at(t(0), t(3600), 0.999);
        assert!(jittered < t(3300) && jittered >= t(3225), "{jittered}");
        assert_eq!(refresh_at(t(0), t(20), 0.0), t(10));
        assert_eq!(
            refresh_at(t(100), t(50), 0.5),
            t(100),
            "already expired: now-ish"
        );
    }

    #[test]
    fn needs_refresh_inside_the_lead() {
        assert!(!needs_refresh(t(0), t(3600), t(3000)));
        assert!(needs_refresh(t(0), t(3600), t(3300)));
        assert!(needs_refresh(t(0), t(3600), t(4000)));
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        assert_eq!(backoff(1, None, 1.0, None), Duration::from_secs(5));
        assert_eq!(backoff(3, None, 1.0, None), Duration::from_secs(20));
        assert_eq!(backoff(40, None, 1.0, None), BACKOFF_CAP);
        assert_eq!(backoff(3, None, 0.0, None), Duration::ZERO);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(60)), 0.1, None),
            Duration::from_secs(60)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(86_400)), 0.1, None),
            BACKOFF_CAP
        );
    }

    #[test]
    fn an_expired_token_is_probed_at_a_steady_cadence_however_long_the_outage() {
        // An hour of failures: still a few seconds apart, never zero, never past the cap.
        for attempt in [2, 10, 700] {
            for jitter in [0.0, 0.5, 0.999] {
                let wait = backoff(attempt, None, jitter, Some(PROBE_CAP));
                assert!(
                    wait >= PROBE_CAP / 2 && wait <= PROBE_CAP,
                    "{attempt}: {wait:?}"
                );
            }
        }
        // The first probe comes sooner; a provider's Retry-After still wins.
        assert!(backoff(1, None, 0.0, Some(PROBE_CAP)) >= BACKOFF_BASE / 2);
        assert_eq!(
            backoff(50, Some(Duration::from_secs(120)), 0.3, Some(PROBE_CAP)),
            Duration::from_secs(120)
        );
        // While the token lives the long cap stays.
        assert_eq!(backoff(40, None, 1.0, None), BACKOFF_CAP);
    }

    #[test]
    fn jitter_is_spread_over_the_unit_interval() {
        let mut j = Jitter::seeded(42);
        let v: Vec<f64> = (0..1000).map(|_| j.sample()).collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let low = v.iter().filter(|x| **x < 0.5).count();
        assert!((400..600).contains(&low), "{low}");
    }
}
