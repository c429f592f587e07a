//! The door to one provider: a sliding-window rate limit (calls per minute), a daily quota in
//! lookups (reset 00:00 UTC, as RL and VirusTotal do), and the back-off after a 429, a spent
//! quota or refused credentials. The gate never fails open: an unavailable provider is skipped
//! by the lookup chain and the reason is shown in status and metrics, so the condition is seen
//! (TheHive's analyzers reporting success while rate limited is the complaint this answers).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use time::OffsetDateTime;

use super::ProviderError;

/// A provider's documented (or contracted) limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub per_minute: u32,
    pub daily_quota: Option<u64>,
}

/// Why a provider is skipped now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The day's quota is used up (counted here, or the provider said so).
    Quota,
    /// After a 429, an auth failure or repeated errors, until the back-off passes.
    BackingOff(String),
    /// The per-minute window is full for longer than the scanner waits.
    RateLimited,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Quota => f.write_str("daily quota exhausted"),
            Unavailable::BackingOff(why) => write!(f, "backing off: {why}"),
            Unavailable::RateLimited => f.write_str("rate limited"),
        }
    }
}

/// What status shows for a provider.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateStatus {
    pub name: String,
    pub limits: Limits,
    /// Lookups left today (0 while the provider says its quota is spent); none when unlimited.
    pub quota_left: Option<u64>,
    /// `available`, or why not (`daily quota exhausted`, `backing off: HTTP 429 ...`).
    pub condition: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub blocked_until: Option<OffsetDateTime>,
    pub calls: u64,
    pub hashes: u64,
    pub throttled: u64,
    pub errors: u64,
}

#[derive(Debug)]
struct State {
    window: VecDeque<Instant>,
    day: time::Date,
    used_today: u64,
    blocked: Option<(OffsetDateTime, String)>,
    calls: u64,
    hashes: u64,
    throttled: u64,
    errors: u64,
}

/// One per configured provider.
#[derive(Debug)]
pub struct Gate {
    name: String,
    limits: Limits,
    /// How long a call may wait for a slot in the per-minute window before the chain moves on.
    max_wait: Duration,
    /// After a spent quota, try again after this long even before 00:00 UTC (a contract may be
    /// raised, a sandbox refilled); the provider answers 429 again if it is still spent.
    quota_probe: Duration,
    state: Mutex<State>,
}

impl Gate {
    pub fn new(name: &str, limits: Limits, max_wait: Duration, quota_probe: Duration) -> Gate {
        let now = OffsetDateTime::now_utc();
        Gate {
            name: name.to_string(),
            limits,
            max_wait,
            quota_probe,
            state: Mutex::new(State {
                window: VecDeque::new(),
                day: now.date(),
                used_today: 0,
                blocked: None,
                calls: 0,
                hashes: 0,
                throttled: 0,
                errors: 0,
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes a slot for a call of `units` lookups, waiting up to `max_wait` for the window.
    pub async fn admit(&self, units: u64) -> Result<(), Unavailable> {
        let deadline = Instant::now() + self.max_wait;
        loop {
            let wait = self.try_admit(units)?;
            let Some(wait) = wait else { return Ok(()) };
            if Instant::now() + wait > deadline {
                return Err(Unavailable::RateLimited);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// `Ok(None)`: admitted; `Ok(Some(wait))`: the window frees a slot after `wait`.
    fn try_admit(&self, units: u64) -> Result<Option<Duration>, Unavailable> {
        let now = OffsetDateTime::now_utc();
        let mut s = self.state.lock();
        if s.day != now.date() {
            s.day = now.date();
            s.used_today = 0;
        }
        if let Some((until, why)) = &s.blocked {
            if now < *until {
                return Err(if why == QUOTA { Unavailable::Quota } else { Unavailable::BackingOff(why.clone()) });
            }
            s.blocked = None;
        }
        if self.limits.daily_quota.is_some_and(|q| s.used_today + units > q) {
            return Err(Unavailable::Quota);
        }
        let tick = Instant::now();
        while s.window.front().is_some_and(|t| tick.duration_since(*t) >= MINUTE) {
            s.window.pop_front();
        }
        if s.window.len() >= self.limits.per_minute.max(1) as usize {
            let oldest = *s.window.front().expect("a full window has a front");
            return Ok(Some(MINUTE.saturating_sub(tick.duration_since(oldest))));
        }
        s.window.push_back(tick);
        s.used_today += units;
        s.calls += 1;
        Ok(None)
    }

    /// Records a call's result: counts, and the back-off its failure calls for.
    pub fn record<T>(&self, units: u64, result: &Result<T, ProviderError>) {
        let now = OffsetDateTime::now_utc();
        let mut s = self.state.lock();
        match result {
            Ok(_) => s.hashes += units,
            Err(ProviderError::RateLimited { retry_after, quota }) => {
                s.throttled += 1;
                // The call was not counted by the provider (only 200s count).
                s.used_today = s.used_today.saturating_sub(units);
                let until = match (retry_after, quota) {
                    (Some(d), _) => now + *d,
                    (None, _) => (now + self.quota_probe).min(next_midnight(now)),
                };
                let why = if *quota && retry_after.is_none() { QUOTA.to_string() } else { "HTTP 429".to_string() };
                s.blocked = Some((until, why));
            }
            Err(ProviderError::Auth { status }) => {
                s.errors += 1;
                s.blocked = Some((now + self.quota_probe, format!("credentials refused (HTTP {status})")));
            }
            Err(e) => {
                s.errors += 1;
                s.blocked = Some((now + ERROR_BACKOFF, e.to_string()));
            }
        }
    }

    pub fn status(&self) -> GateStatus {
        let now = OffsetDateTime::now_utc();
        let s = self.state.lock();
        let used = if s.day == now.date() { s.used_today } else { 0 };
        let blocked = s.blocked.as_ref().filter(|(until, _)| now < *until);
        // The provider's word wins over our count: a quota it says is spent leaves nothing.
        let spent = blocked.is_some_and(|(_, why)| why == QUOTA);
        let quota_left = if spent { Some(0) } else { self.limits.daily_quota.map(|q| q.saturating_sub(used)) };
        let condition = match (blocked, quota_left) {
            (Some((_, why)), _) if why == QUOTA => QUOTA.to_string(),
            (Some((_, why)), _) => format!("backing off: {why}"),
            (None, Some(0)) => QUOTA.to_string(),
            _ => "available".to_string(),
        };
        GateStatus {
            name: self.name.clone(),
            limits: self.limits,
            quota_left,
            condition,
            blocked_until: blocked.map(|(until, _)| *until),
            calls: s.calls,
            hashes: s.hashes,
            throttled: s.throttled,
            errors: s.errors,
        }
    }
}

const QUOTA: &str = "daily quota exhausted";
const MINUTE: Duration = Duration::from_secs(60);
/// After a transport or protocol error: short, the next batch tries again.
const ERROR_BACKOFF: time::Duration = time::Duration::seconds(5);

fn next_midnight(now: OffsetDateTime) -> OffsetDateTime {
    let tomorrow = now.date().next_day().unwrap_or(now.date());
    tomorrow.midnight().assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(per_minute: u32, quota: Option<u64>) -> Gate {
        Gate::new("P", Limits { per_minute, daily_quota: quota }, Duration::ZERO, Duration::from_secs(3600))
    }

    #[tokio::test]
    async fn quota_is_counted_in_lookups_and_shown() {
        let g = gate(100, Some(3));
        g.admit(2).await.expect("first");
        assert_eq!(g.admit(2).await, Err(Unavailable::Quota));
        g.admit(1).await.expect("fits");
        let st = g.status();
        assert_eq!(st.quota_left, Some(0));
        assert_eq!(st.condition, "daily quota exhausted");
    }

    #[tokio::test]
    async fn the_window_refuses_when_waiting_is_not_allowed() {
        let g = gate(2, None);
        g.admit(1).await.expect("1");
        g.admit(1).await.expect("2");
        assert_eq!(g.admit(1).await, Err(Unavailable::RateLimited));
    }

    #[tokio::test]
    async fn a_429_backs_off_and_says_why() {
        let g = gate(100, Some(10));
        g.admit(1).await.expect("admitted");
        g.record::<()>(1, &Err(ProviderError::RateLimited { retry_after: None, quota: true }));
        assert_eq!(g.admit(1).await, Err(Unavailable::Quota));
        let st = g.status();
        assert_eq!(st.condition, "daily quota exhausted");
        assert!(st.blocked_until.is_some());
        assert_eq!(st.throttled, 1);

        let g = gate(100, None);
        g.record::<()>(
            1,
            &Err(ProviderError::RateLimited { retry_after: Some(Duration::from_secs(30)), quota: false }),
        );
        assert!(matches!(g.admit(1).await, Err(Unavailable::BackingOff(_))));
        assert_eq!(g.status().condition, "backing off: HTTP 429");
    }
}
