//! The last call per tenant × API family, and when it was last throttled: what a health view
//! (seed 002's `GET /api/v1/mdr/status`) shows per tenant. Prometheus counters are per family
//! only (a tenant label would grow without bound across customers); this keeps one small entry
//! per configured tenant and family, in memory, overwritten on every attempt.

use crate::api::Api;
use parking_lot::Mutex;
use std::collections::HashMap;
use time::OffsetDateTime;

/// What is known of a tenant's calls to one API family in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallActivity {
    /// When the last attempt was answered (or failed in transport).
    pub last_at: OffsetDateTime,
    /// Its HTTP status; `None` when no response came back.
    pub last_status: Option<u16>,
    /// The last time Microsoft (or AWS) throttled this tenant on this family.
    pub throttled_at: Option<OffsetDateTime>,
}

/// Every tenant's last calls, shared by the clones of an `Upstream`.
#[derive(Debug, Default)]
pub struct Activity {
    calls: Mutex<HashMap<(String, Api), CallActivity>>,
}

impl Activity {
    /// One attempt's answer: its status (`None`: transport failure) and whether it was a
    /// throttling answer (429, or an AWS throttling code).
    pub(crate) fn record(&self, tenant: &str, api: Api, status: Option<u16>, throttled: bool) {
        let now = OffsetDateTime::now_utc();
        let mut calls = self.calls.lock();
        let entry = calls.entry((tenant.to_ascii_lowercase(), api)).or_insert(CallActivity {
            last_at: now,
            last_status: status,
            throttled_at: None,
        });
        entry.last_at = now;
        entry.last_status = status;
        if throttled {
            entry.throttled_at = Some(now);
        }
    }

    /// The tenant's last call to `api`, if there was one since start-up.
    pub fn get(&self, tenant: &str, api: Api) -> Option<CallActivity> {
        self.calls.lock().get(&(tenant.to_ascii_lowercase(), api)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_call_wins_and_throttling_is_remembered() {
        let a = Activity::default();
        assert!(a.get("T1", Api::Mde).is_none());
        a.record("T1", Api::Mde, Some(429), true);
        a.record("t1", Api::Mde, Some(200), false);
        let seen = a.get("T1", Api::Mde).expect("recorded");
        assert_eq!(seen.last_status, Some(200));
        assert!(seen.throttled_at.is_some());
        assert!(a.get("t1", Api::Graph).is_none());
    }
}
