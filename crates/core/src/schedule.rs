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
/// The longest wait between retries.
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

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

/// The wait before retry number `attempt` (1-based): "full jitter" — uniform in
/// [0, min(cap, base·2^(attempt-1))] — and never shorter than the server's `Retry-After`.
pub fn backoff(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    let exp = BACKOFF_BASE
        .saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(BACKOFF_CAP);
    let wait = exp.mul_f64(jitter.clamp(0.0, 1.0));
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
        assert_eq!(backoff(1, None, 1.0), Duration::from_secs(5));
        assert_eq!(backoff(3, None, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(40, None, 1.0), BACKOFF_CAP);
        assert_eq!(backoff(3, None, 0.0), Duration::ZERO);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(60)), 0.1),
            Duration::from_secs(60)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(86_400)), 0.1),
            BACKOFF_CAP
        );
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
