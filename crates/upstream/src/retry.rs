//! When and how long to wait before trying again.

use std::time::Duration;

use rand::Rng;
use reqwest::Method;
use reqwest::header::HeaderMap;
use time::{OffsetDateTime, PrimitiveDateTime, macros::format_description};

use crate::config::RetryPolicy;

/// Statuses that mean "the server did not act; come back later". Safe to retry for any method.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || status == 503
}

/// Methods whose repetition has no extra effect, so a transport error (request may have
/// reached the server) can be retried. POST and PATCH cannot.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE)
}

/// Whether a failed send may be repeated: always when the connection was never made,
/// otherwise only for idempotent methods.
pub(crate) fn may_retry_transport(method: &Method, err: &reqwest::Error) -> bool {
    err.is_connect() || is_idempotent(method)
}

/// `Retry-After` as delta-seconds (what Microsoft sends) or an HTTP-date (RFC 9110 allows it).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, OffsetDateTime::now_utc())
}

fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let when = parse_http_date(value)?;
    let delta = when - now;
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}

/// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let format =
        format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    PrimitiveDateTime::parse(value, format).ok().map(PrimitiveDateTime::assume_utc)
}

/// How long to wait before attempt `attempt + 1`.
///
/// With `Retry-After` we never go earlier than asked (early retries earn another 429 and
/// still count), jitter only adds up to 10%. Without it: exponential backoff from
/// `initial_backoff`, capped at `max_wait`, with "equal jitter" (50–100% of the step).
pub(crate) fn delay(policy: &RetryPolicy, attempt: u32, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(asked) => {
            let extra = if policy.jitter { jitter_fraction(0.0, 0.1) } else { 0.0 };
            asked.mul_f64(1.0 + extra).min(policy.max_wait.max(asked))
        }
        None => {
            let exponent = attempt.saturating_sub(1).min(20);
            let step = policy.initial_backoff.saturating_mul(1u32 << exponent).min(policy.max_wait);
            if policy.jitter { step.mul_f64(jitter_fraction(0.5, 1.0)) } else { step }
        }
    }
}

fn jitter_fraction(low: f64, high: f64) -> f64 {
    rand::rng().random_range(low..=high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_seconds_and_http_date() {
        let now = datetime!(1994-11-06 08:49:30 UTC);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 6,
            max_throttled_attempts: 12,
            max_wait: Duration::from_secs(5),
            jitter: false,
            initial_backoff: Duration::from_secs(1),
        };
        assert_eq!(delay(&policy, 1, None), Duration::from_secs(1));
        assert_eq!(delay(&policy, 2, None), Duration::from_secs(2));
        assert_eq!(delay(&policy, 3, None), Duration::from_secs(4));
        assert_eq!(delay(&policy, 4, None), Duration::from_secs(5));
        assert_eq!(delay(&policy, 40, None), Duration::from_secs(5));
    }

    #[test]
    fn retry_after_is_never_shortened_by_jitter() {
        let policy = RetryPolicy { jitter: true, ..RetryPolicy::default() };
        for _ in 0..100 {
            let d = delay(&policy, 1, Some(Duration::from_secs(2)));
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_millis(2200), "{d:?}");
        }
    }

    #[test]
    fn idempotency() {
        assert!(is_idempotent(&Method::GET));
        assert!(is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}
