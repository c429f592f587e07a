//! ARM's per-subscription request quotas (upstream-apis.md §5.2): reads, writes and deletes
//! are counted separately, every answer reports what is left in
//! `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`, and an exhausted quota is
//! 429 `SubscriptionRequestsThrottled` with `Retry-After`.
//!
//! The documented hourly limits (12,000 reads, 1,200 writes, 15,000 deletes) are the defaults;
//! the token-bucket numbers of the current algorithm are not documented (§9 question 7).

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::errors;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Read,
    Write,
    Delete,
}

impl Class {
    pub fn of(method: &Method) -> Class {
        match *method {
            Method::GET | Method::HEAD => Class::Read,
            Method::DELETE => Class::Delete,
            _ => Class::Write,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::Delete => "delete",
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Class::Read => "x-ms-ratelimit-remaining-subscription-reads",
            Class::Write => "x-ms-ratelimit-remaining-subscription-writes",
            Class::Delete => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }

    fn per_hour(self, state: &AppState) -> u32 {
        let s = state.settings.lock();
        match self {
            Class::Read => s.arm_reads_per_hour,
            Class::Write => s.arm_writes_per_hour,
            Class::Delete => s.arm_deletes_per_hour,
        }
    }
}

/// Counts the request; `Ok(remaining)` or the 429 to send.
pub fn admit(state: &AppState, sub: &str, class: Class) -> Result<usize, Response> {
    let per_hour = class.per_hour(state);
    let key = format!("{}/{}", sub.to_ascii_lowercase(), class.word());
    let mut quota = state.arm_quota.lock();
    match quota.check(&key, std::time::Instant::now(), u32::MAX, per_hour) {
        Ok(()) => Ok((per_hour as usize).saturating_sub(quota.used_in_hour(&key))),
        Err(retry_after) => {
            let mut resp = errors::arm(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of '{}' requests for subscription '{sub}' exceeded. Please try again after '{retry_after}' seconds.",
                    class.word()
                ),
            );
            let h = resp.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            h.insert(class.header(), HeaderValue::from(0u32));
            Err(resp)
        }
    }
}
