//! MDE call quotas: 100 calls/minute and 1,500 calls/hour per tenant (upstream-apis.md §2.10),
//! as sliding windows over real time. Only admitted calls are counted, so `Retry-After` is exact:
//! a client that waits that long is admitted.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct Limiter {
    /// Per tenant: admitted calls of the last minute and of the last hour, oldest first.
    calls: HashMap<String, (VecDeque<Instant>, VecDeque<Instant>)>,
}

/// How long until the call at `len - limit` leaves a window of `window` (zero if it fits).
fn wait_for(q: &VecDeque<Instant>, limit: u32, window: Duration, now: Instant) -> Duration {
    if limit == 0 {
        return window;
    }
    if q.len() < limit as usize {
        return Duration::ZERO;
    }
    let oldest = q.get(q.len() - limit as usize).copied().unwrap_or(now);
    window.saturating_sub(now.duration_since(oldest))
}

impl Limiter {
    /// Admits and records a call, or returns the whole seconds to wait (at least 1).
    pub fn check(&mut self, tenant: &str, now: Instant, per_minute: u32, per_hour: u32) -> Result<(), u64> {
        self.check_scaled(tenant, now, per_minute, per_hour, 1.0)
    }

    /// [`check`](Self::check) with both windows `scale` times shorter (benchmarks in compressed
    /// time; `Retry-After` stays whole seconds, as Microsoft sends it).
    pub fn check_scaled(
        &mut self,
        tenant: &str,
        now: Instant,
        per_minute: u32,
        per_hour: u32,
        scale: f64,
    ) -> Result<(), u64> {
        let scale = if scale.is_finite() && scale >= 1.0 { scale } else { 1.0 };
        let (minute_window, hour_window) = (MINUTE.div_f64(scale), HOUR.div_f64(scale));
        let (minute, hour) = self.calls.entry(tenant.to_string()).or_default();
        while minute.front().is_some_and(|t| now.saturating_duration_since(*t) >= minute_window) {
            minute.pop_front();
        }
        while hour.front().is_some_and(|t| now.saturating_duration_since(*t) >= hour_window) {
            hour.pop_front();
        }
        let wait = wait_for(minute, per_minute, minute_window, now).max(wait_for(hour, per_hour, hour_window, now));
        if wait > Duration::ZERO {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(secs.max(1));
        }
        minute.push_back(now);
        hour.push_back(now);
        Ok(())
    }

    /// Calls admitted for `key` in the last hour (after `check` has pruned the window).
    pub fn used_in_hour(&self, key: &str) -> usize {
        self.calls.get(key).map(|(_, hour)| hour.len()).unwrap_or(0)
    }

    pub fn reset(&mut self) {
        self.calls.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_window_then_recovery() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(l.check("t", t0, 100, 1500).is_ok());
        }
        let wait = l.check("t", t0, 100, 1500).unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(l.check("other", t0, 100, 1500).is_ok(), "per tenant");
        assert!(l.check("t", t0 + Duration::from_secs(61), 100, 1500).is_ok());
    }

    #[test]
    fn scaled_windows_count_the_same_calls_in_less_time() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(l.check_scaled("t", t0, 100, 1500, 60.0).is_ok());
        }
        assert!(l.check_scaled("t", t0 + Duration::from_millis(900), 100, 1500, 60.0).is_err());
        // A scaled minute is one second; a scaled hour a minute.
        for s in 1..15u64 {
            for _ in 0..100 {
                assert!(l.check_scaled("t", t0 + Duration::from_millis(s * 1001), 100, 1500, 60.0).is_ok());
            }
        }
        assert!(l.check_scaled("t", t0 + Duration::from_secs(30), 100, 1500, 60.0).is_err(), "1,500 in the hour");
        assert!(l.check_scaled("t", t0 + Duration::from_millis(60_001), 100, 1500, 60.0).is_ok());
    }

    #[test]
    fn hour_window() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..15u64 {
            for _ in 0..100 {
                assert!(l.check("t", t0 + Duration::from_secs(i * 61), 100, 1500).is_ok());
            }
        }
        let at = t0 + Duration::from_secs(15 * 61);
        let wait = l.check("t", at, 100, 1500).unwrap_err();
        assert!(wait > 60 && wait <= 3600, "{wait}");
    }
}
