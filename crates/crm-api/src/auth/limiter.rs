//! Failed-login limits per account and per client IP, and request-rate
//! limits (token buckets) on logins and channel pushes per client and per
//! IP. Kept in process memory: with several nodes, each enforces its own
//! window, which still caps guessing at (nodes × limit) per window.

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

/// Requests per minute per key, as token buckets holding a minute's worth:
/// a client may burst up to its minute's allowance, then gets one request
/// per `60 / per_minute` seconds. `per_minute == 0` switches it off.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the bucket of each key; when any is empty,
    /// takes nothing and returns the seconds until it has one again.
    pub fn take(&self, keys: &[&str], now: std::time::Instant) -> Option<u64> {
        if self.per_minute == 0 {
            return None;
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bounded memory: full buckets hold nothing worth keeping.
            map.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < capacity
            });
        }
        let mut wait: Option<f64> = None;
        for key in keys {
            let (tokens, at) = map.get(*key).copied().unwrap_or((capacity, now));
            let tokens =
                (tokens + now.saturating_duration_since(at).as_secs_f64() * per_sec).min(capacity);
            map.insert((*key).to_string(), (tokens, now));
            if tokens < 1.0 {
                let secs = (1.0 - tokens) / per_sec;
                wait = Some(wait.map_or(secs, |w| w.max(secs)));
            }
        }
        if let Some(secs) = wait {
            return Some(secs.ceil().max(1.0) as u64);
        }
        for key in keys {
            if let Some((tokens, _)) = map.get_mut(*key) {
                *tokens -= 1.0;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_minute_then_one_request_per_interval() {
        use std::time::{Duration as StdDuration, Instant};
        let l = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            assert_eq!(l.take(&["client:a", "ip:1"], t0), None);
        }
        assert_eq!(l.take(&["client:a", "ip:1"], t0), Some(1));
        // Another client from another address is not affected…
        assert_eq!(l.take(&["client:b", "ip:2"], t0), None);
        // …but the same address is, whoever the client.
        assert_eq!(l.take(&["client:c", "ip:1"], t0), Some(1));
        // A second later the address has one request again.
        let t1 = t0 + StdDuration::from_millis(1_100);
        assert_eq!(l.take(&["client:a", "ip:1"], t1), None);
        assert_eq!(l.take(&["client:a", "ip:1"], t1), Some(1));
        assert_eq!(RateLimiter::new(0).take(&["x"], t0), None);
    }

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
