//! The engine's notion of "now" for schedules (time-boxed actions).
//!
//! Wall-clock time plus an offset. In production the offset stays zero. Against the sandbox,
//! whose clock tests move hours ahead (`/_sandbox/clock`), the application keeps the offset equal
//! to the sandbox's (`riposte::app::follow_clock`), so a revert due "in 4 hours" fires when the
//! sandbox says 4 hours have passed, and survives a restart the same way. Only schedules read
//! this clock: rate budgets and timeouts use real time, because Microsoft's limits do.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Follow another clock that is `seconds` ahead of the wall clock (never behind: schedules
    /// assume time does not run backwards, as the sandbox's clock does).
    pub fn set_offset_seconds(&self, seconds: f64) {
        let ms = (seconds.max(0.0) * 1000.0).min(i64::MAX as f64) as i64;
        self.offset_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub fn offset_seconds(&self) -> f64 {
        self.offset_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_now_forward_and_never_back() {
        let c = Clock::default();
        c.set_offset_seconds(3600.0);
        assert!(c.now() - OffsetDateTime::now_utc() >= time::Duration::seconds(3599));
        c.set_offset_seconds(10.0);
        assert_eq!(c.offset_seconds(), 3600.0);
    }
}
