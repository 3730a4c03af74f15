//! Failed-login limits per account and per client IP. Kept in process
//! memory: with several nodes, each enforces its own window, which still
//! caps guessing at (nodes × limit) per window.

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub struct LoginLimiter {
    window: Duration,
    per_account: usize,
    per_ip: usize,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: usize, per_ip: usize) -> Self {
        LoginLimiter {
            window,
            per_account,
            per_ip,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait when `account` or `ip` is over its limit.
    pub fn check(&self, account: &str, ip: &str, now: DateTime<Utc>) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, limit) in [
            (format!("acct:{account}"), self.per_account),
            (format!("ip:{ip}"), self.per_ip),
        ] {
            if let Some(times) = map.get_mut(&key) {
                while times.front().is_some_and(|t| *t + self.window <= now) {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times.front().copied().unwrap_or(now);
                    let secs = (oldest + self.window - now).num_seconds().max(1) as u64;
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn record_failure(&self, account: &str, ip: &str, now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bounded memory under a spray of made-up accounts.
            let window = self.window;
            map.retain(|_, times| times.back().is_some_and(|t| *t + window > now));
        }
        for key in [format!("acct:{account}"), format!("ip:{ip}")] {
            map.entry(key).or_default().push_back(now);
        }
    }

    pub fn record_success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("acct:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_in_the_window_waits() {
        let l = LoginLimiter::new(Duration::minutes(15), 5, 20);
        let t0 = Utc::now();
        for _ in 0..5 {
            assert_eq!(l.check("a", "ip", t0), None);
            l.record_failure("a", "ip", t0);
        }
        let wait = l.check("a", "ip", t0 + Duration::minutes(1)).unwrap();
        assert_eq!(wait, 14 * 60);
        assert_eq!(
            l.check("b", "ip", t0),
            None,
            "other accounts from the IP still try"
        );
        assert_eq!(
            l.check("a", "ip", t0 + Duration::minutes(15)),
            None,
            "window passed"
        );
    }

    #[test]
    fn success_clears_the_account_but_not_the_ip() {
        let l = LoginLimiter::new(Duration::minutes(15), 5, 6);
        let t0 = Utc::now();
        for _ in 0..5 {
            l.record_failure("a", "ip", t0);
        }
        l.record_success("a");
        assert_eq!(l.check("a", "ip", t0), None);
        l.record_failure("c", "ip", t0);
        assert!(l.check("d", "ip", t0).is_some(), "six failures from one IP");
    }
}
