//! The outage rule: many accounts of one provider failing "permanently" in the same minutes is
//! an outage at the provider, not a mass revocation, so they are held in stale and re-checked
//! instead of all being flipped to error.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::lock;

/// How long a permanent failure of one of several accounts of a provider waits for confirmation.
pub(super) const CONFIRM_AFTER: Duration = Duration::from_secs(60);
/// A provider with at least this many accounts gets the outage rule.
const OUTAGE_MIN_ACCOUNTS: usize = 3;

/// Recent permanent failures: (when, provider, account).
#[derive(Default)]
pub(super) struct Outages {
    recent: Mutex<Vec<(Instant, String, String)>>,
}

/// What the rule makes of one permanent answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ruling {
    /// It stands: the account is in error.
    Stands,
    /// The first of one of several accounts: check again after [`CONFIRM_AFTER`].
    Confirm,
    /// Most of the provider's accounts failed together: an outage, keep retrying.
    Outage,
}

impl Outages {
    /// Records a permanent answer for `account` of `provider` (which has `total` accounts), its
    /// `strikes`-th in a row, and rules on it.
    pub(super) fn rule(&self, provider: &str, account: &str, total: usize, strikes: u32) -> Ruling {
        let failing = self.note(provider, account);
        if total < OUTAGE_MIN_ACCOUNTS {
            Ruling::Stands
        } else if strikes == 1 {
            Ruling::Confirm
        } else if failing * 3 >= total * 2 {
            tracing::warn!(%provider, failing, total, "most accounts of this provider fail permanently at once; treating it as an outage");
            Ruling::Outage
        } else {
            Ruling::Stands
        }
    }

    /// Notes the failure; returns how many of the provider's accounts failed permanently in the
    /// last two minutes.
    fn note(&self, provider: &str, account: &str) -> usize {
        let now = Instant::now();
        let mut recent = lock(&self.recent);
        recent.retain(|(at, _, _)| now.duration_since(*at) < 2 * CONFIRM_AFTER);
        recent.push((now, provider.to_owned(), account.to_owned()));
        let mut failing: Vec<&str> = recent
            .iter()
            .filter(|(_, p, _)| p == provider)
            .map(|(_, _, a)| a.as_str())
            .collect();
        failing.sort_unstable();
        failing.dedup();
        failing.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_two_accounts_get_no_grace() {
        let o = Outages::default();
        assert_eq!(o.rule("p", "a", 2, 1), Ruling::Stands);
    }

    #[test]
    fn a_first_strike_of_several_is_confirmed_and_most_failing_is_an_outage() {
        let o = Outages::default();
        assert_eq!(o.rule("p", "a", 3, 1), Ruling::Confirm);
        assert_eq!(o.rule("p", "a", 3, 2), Ruling::Stands, "one of three");
        assert_eq!(o.rule("p", "b", 3, 1), Ruling::Confirm);
        assert_eq!(o.rule("p", "b", 3, 2), Ruling::Outage, "two of three");
        assert_eq!(o.rule("q", "c", 3, 2), Ruling::Stands, "another provider");
    }
}
