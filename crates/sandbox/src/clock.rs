//! The sandbox clock: real time plus an offset, optionally running faster.
//!
//! Everything Microsoft-visible that depends on time (token expiry, machine-action lifecycles,
//! `lastSeen`) reads this clock, so tests can jump hours ahead without sleeping. Rate limits are
//! the exception: they use real time, because clients really wait for `Retry-After`.

use parking_lot::Mutex;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

pub struct Clock {
    anchor: Mutex<Anchor>,
}

/// The virtual time `virt` was current at real instant `real`; since then it runs at `speed`.
struct Anchor {
    real: Instant,
    virt: OffsetDateTime,
    speed: f64,
}

impl Anchor {
    fn now(&self) -> OffsetDateTime {
        let elapsed = self.real.elapsed().as_secs_f64() * self.speed;
        // Saturate rather than panic if someone runs the clock towards year 9999.
        Duration::checked_seconds_f64(elapsed).and_then(|d| self.virt.checked_add(d)).unwrap_or(self.virt)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        Clock { anchor: Mutex::new(Anchor { real: Instant::now(), virt: OffsetDateTime::now_utc(), speed: 1.0 }) }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.anchor.lock().now()
    }

    /// Moves virtual time forward; false (and no change) if the result is not representable.
    /// Negative values are refused by the admin API so time stays monotonic (lifecycles are
    /// evaluated lazily and assume it never runs backwards).
    pub fn advance(&self, seconds: f64) -> bool {
        let mut a = self.anchor.lock();
        let now = a.now();
        let Some(target) = Duration::checked_seconds_f64(seconds).and_then(|d| now.checked_add(d)) else {
            return false;
        };
        a.real = Instant::now();
        a.virt = target;
        true
    }

    pub fn set_speed(&self, speed: f64) {
        let mut a = self.anchor.lock();
        let now = a.now();
        a.real = Instant::now();
        a.virt = now;
        a.speed = speed;
    }

    pub fn speed(&self) -> f64 {
        self.anchor.lock().speed
    }

    /// Seconds the virtual clock is ahead of the wall clock.
    pub fn offset_seconds(&self) -> f64 {
        (self.now() - OffsetDateTime::now_utc()).as_seconds_f64()
    }
}

/// MDE style timestamps: seven fractional digits, `Z` suffix (as in Microsoft's examples).
pub fn fmt_mde(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");
    t.format(&f).unwrap_or_default()
}

/// Graph / ARM / login style timestamps: whole seconds, `Z` suffix.
pub fn fmt_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}

/// Parses the datetime forms OData clients send: full RFC 3339, RFC 3339 without offset
/// (taken as UTC), a bare date, or a date with a trailing `Z` (MDE docs use `2018-08-01Z`).
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let with_z = format!("{s}Z");
    if let Ok(t) = OffsetDateTime::parse(&with_z, &Rfc3339) {
        return Some(t);
    }
    let date_part = s.strip_suffix('Z').unwrap_or(s);
    let f = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(date_part, &f) {
        return Some(d.midnight().assume_utc());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_time_forward() {
        let c = Clock::new();
        let before = c.now();
        c.advance(3600.0);
        let after = c.now();
        assert!((after - before).whole_seconds() >= 3600);
    }

    #[test]
    fn parses_odata_dates() {
        assert!(parse_datetime("2018-08-01Z").is_some());
        assert!(parse_datetime("2018-08-01").is_some());
        assert!(parse_datetime("2018-08-01T10:00:00Z").is_some());
        assert!(parse_datetime("2018-08-01T10:00:00.1234567Z").is_some());
        assert!(parse_datetime("2018-08-01T10:00:00").is_some());
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn formats_mde_with_seven_digits() {
        let t = parse_datetime("2020-01-02T03:04:05Z").unwrap();
        assert_eq!(fmt_mde(t), "2020-01-02T03:04:05.0000000Z");
        assert_eq!(fmt_utc(t), "2020-01-02T03:04:05Z");
    }
}
