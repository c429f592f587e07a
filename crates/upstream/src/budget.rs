//! Per tenant × API-family budgets at Microsoft's documented limits, so we wait locally
//! instead of sending a call that would earn a 429 (which still counts against the quota).
//!
//! Each documented limit is a sliding-window log keyed by tenant id: a call is admitted while
//! fewer than `count` calls were admitted in the last `per`. That is how Microsoft counts ("100
//! calls per minute"), and it never lets more than `count` calls into any window. A token bucket
//! (GCRA, e.g. `governor`) with a full burst does: it admits the burst and then keeps refilling,
//! so up to twice the limit can land inside one sliding minute and earn 429s. Hand-written
//! because no well-kept crate offers a keyed sliding-window log; it is a few lines over a deque.
//!
//! A call draws from every window of every bucket that applies, one after another. When a
//! later window makes us wait, the earlier ones have already been charged: that over-counts
//! slightly, which only ever makes us *more* polite than Microsoft requires.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::api::{Api, BudgetGroup};
use crate::error::UpstreamError;

/// `count` calls per `per`, e.g. 100 per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn new(count: u32, per: Duration) -> Rate {
        Rate { count, per }
    }
    pub const fn per_second(count: u32) -> Rate {
        Rate::new(count, Duration::from_secs(1))
    }
    pub const fn per_minute(count: u32) -> Rate {
        Rate::new(count, Duration::from_secs(60))
    }
    pub const fn per_hour(count: u32) -> Rate {
        Rate::new(count, Duration::from_secs(3600))
    }

    /// The window we count over: the documented one plus a small guard, because our clock starts
    /// a call a little before Microsoft's counts it (at most 1 s, 2% of the window).
    fn guarded_window(self) -> Duration {
        self.per + (self.per / 50).min(Duration::from_secs(1))
    }
}

/// Limits per tenant, per bucket. An empty list means "no local limit".
///
/// Defaults are Microsoft's documented numbers (`upstream-apis.md` §2.10, §3, §4.2, §5.2):
/// - MDE general endpoints (machines, machine actions, indicators POST, ...): 100/min **and** 1,500/h;
/// - MDE live response 10/min; indicator import 30/min; startInvestigation 50/h;
/// - advanced hunting 45/min and 1,500/h ("at least 45/min per tenant");
/// - XDR incidents 50/min and 1,500/h;
/// - Graph `/security`: 150/min per app per tenant;
/// - Graph in general: the global limit is 130,000 per 10 s per app across tenants, far above
///   what one tenant needs; we use Intune's 2,000 per 20 s per app per tenant, the tightest
///   general figure, as a generous per-tenant ceiling;
/// - ARM: the (2020) documented hourly limits per principal: 12,000 reads, 1,200 writes,
///   15,000 deletes. Today's ARM uses token buckets (~250 reads burst at ~25/s); the hourly
///   figures are the safe approximation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budgets {
    pub mde: Vec<Rate>,
    pub live_response: Vec<Rate>,
    pub hunting: Vec<Rate>,
    pub indicator_import: Vec<Rate>,
    pub investigation: Vec<Rate>,
    pub incidents: Vec<Rate>,
    pub graph: Vec<Rate>,
    pub graph_security: Vec<Rate>,
    pub arm_read: Vec<Rate>,
    pub arm_write: Vec<Rate>,
    pub arm_delete: Vec<Rate>,
    /// Longest a call waits for budget before giving up with `Throttled`.
    pub max_wait: Duration,
}

impl Default for Budgets {
    fn default() -> Budgets {
        Budgets {
            mde: vec![Rate::per_minute(100), Rate::per_hour(1500)],
            live_response: vec![Rate::per_minute(10)],
            hunting: vec![Rate::per_minute(45), Rate::per_hour(1500)],
            indicator_import: vec![Rate::per_minute(30)],
            investigation: vec![Rate::per_hour(50)],
            incidents: vec![Rate::per_minute(50), Rate::per_hour(1500)],
            graph: vec![Rate::new(2000, Duration::from_secs(20))],
            graph_security: vec![Rate::per_minute(150)],
            arm_read: vec![Rate::per_hour(12_000)],
            arm_write: vec![Rate::per_hour(1_200)],
            arm_delete: vec![Rate::per_hour(15_000)],
            max_wait: Duration::from_secs(120),
        }
    }
}

impl Budgets {
    /// No local limits at all (tests, or when an outer layer already shapes traffic).
    pub fn unlimited() -> Budgets {
        Budgets::uniform(Vec::new())
    }

    /// The same limits for every bucket (handy in tests).
    pub fn uniform(rates: Vec<Rate>) -> Budgets {
        Budgets {
            mde: rates.clone(),
            live_response: rates.clone(),
            hunting: rates.clone(),
            indicator_import: rates.clone(),
            investigation: rates.clone(),
            incidents: rates.clone(),
            graph: rates.clone(),
            graph_security: rates.clone(),
            arm_read: rates.clone(),
            arm_write: rates.clone(),
            arm_delete: rates,
            max_wait: Duration::from_secs(120),
        }
    }

    fn rates(&self, bucket: Bucket) -> &[Rate] {
        match bucket {
            Bucket::Mde => &self.mde,
            Bucket::LiveResponse => &self.live_response,
            Bucket::Hunting => &self.hunting,
            Bucket::IndicatorImport => &self.indicator_import,
            Bucket::Investigation => &self.investigation,
            Bucket::Incidents => &self.incidents,
            Bucket::Graph => &self.graph,
            Bucket::GraphSecurity => &self.graph_security,
            Bucket::ArmRead => &self.arm_read,
            Bucket::ArmWrite => &self.arm_write,
            Bucket::ArmDelete => &self.arm_delete,
        }
    }
}

/// One documented limit family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    Mde,
    LiveResponse,
    Hunting,
    IndicatorImport,
    Investigation,
    Incidents,
    Graph,
    GraphSecurity,
    ArmRead,
    ArmWrite,
    ArmDelete,
}

impl Bucket {
    const ALL: [Bucket; 11] = [
        Bucket::Mde,
        Bucket::LiveResponse,
        Bucket::Hunting,
        Bucket::IndicatorImport,
        Bucket::Investigation,
        Bucket::Incidents,
        Bucket::Graph,
        Bucket::GraphSecurity,
        Bucket::ArmRead,
        Bucket::ArmWrite,
        Bucket::ArmDelete,
    ];
}

/// Which buckets a call draws from. `path` is relative to the family's base URL.
pub(crate) fn buckets_for(
    api: Api,
    group: BudgetGroup,
    method: &reqwest::Method,
    path: &str,
) -> Vec<Bucket> {
    match (api, group) {
        (Api::Mde, BudgetGroup::Default) => vec![Bucket::Mde],
        (_, BudgetGroup::LiveResponse) => vec![Bucket::LiveResponse],
        (_, BudgetGroup::IndicatorImport) => vec![Bucket::IndicatorImport],
        (_, BudgetGroup::Investigation) => vec![Bucket::Investigation],
        (Api::Graph, BudgetGroup::Hunting) => vec![Bucket::GraphSecurity, Bucket::Hunting],
        (_, BudgetGroup::Hunting) => vec![Bucket::Hunting],
        (_, BudgetGroup::Incidents) => vec![Bucket::Incidents],
        (Api::Graph, BudgetGroup::Default) if is_graph_security(path) => {
            vec![Bucket::GraphSecurity]
        }
        (Api::Graph, BudgetGroup::Default) => vec![Bucket::Graph],
        (Api::Arm, BudgetGroup::Default) => vec![arm_bucket(method)],
    }
}

/// `/v1.0/security/...` and `/beta/security/...` share the 150/min `/security` limit.
fn is_graph_security(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    let _version = segments.next();
    segments.next() == Some("security")
}

/// ARM counts reads, writes and deletes separately.
fn arm_bucket(method: &reqwest::Method) -> Bucket {
    match *method {
        reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS => Bucket::ArmRead,
        reqwest::Method::DELETE => Bucket::ArmDelete,
        _ => Bucket::ArmWrite,
    }
}

/// One documented window (`count` per `per`) for every tenant: the instants of the calls
/// admitted within the window, oldest first.
struct SlidingWindow {
    count: usize,
    window: Duration,
    admitted: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    fn new(rate: Rate) -> Option<SlidingWindow> {
        (rate.count > 0 && !rate.per.is_zero()).then(|| SlidingWindow {
            count: rate.count as usize,
            window: rate.guarded_window(),
            admitted: Mutex::new(HashMap::new()),
        })
    }

    /// Admit one call for `tenant` now, or say how long until the oldest call leaves the window.
    fn try_admit(&self, tenant: &str, now: Instant) -> Result<(), Duration> {
        let mut admitted = self.admitted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let calls = admitted.entry(tenant.to_owned()).or_default();
        while calls.front().is_some_and(|&t| now.duration_since(t) >= self.window) {
            calls.pop_front();
        }
        if calls.len() < self.count {
            calls.push_back(now);
            return Ok(());
        }
        let oldest = calls.front().copied().unwrap_or(now);
        Err((oldest + self.window).saturating_duration_since(now).max(Duration::from_millis(1)))
    }
}

/// The live limiters: every window of every bucket.
pub(crate) struct Limiters {
    windows: HashMap<Bucket, Vec<SlidingWindow>>,
    max_wait: Duration,
}

impl Limiters {
    /// Builds limiters; a zero count or zero window is a configuration error, not "unlimited".
    pub(crate) fn new(budgets: &Budgets) -> Result<Limiters, UpstreamError> {
        let mut windows = HashMap::new();
        for bucket in Bucket::ALL {
            let limiters = budgets
                .rates(bucket)
                .iter()
                .map(|&rate| {
                    SlidingWindow::new(rate).ok_or_else(|| {
                        UpstreamError::Config(format!("budget {bucket:?}: invalid rate {rate:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            windows.insert(bucket, limiters);
        }
        Ok(Limiters { windows, max_wait: budgets.max_wait })
    }

    /// Waits until every applicable window admits one call for `tenant`.
    ///
    /// Returns how long we waited, or `Err(needed)` with the wait still needed when it would
    /// exceed `max_wait` (the caller turns that into `Throttled`).
    pub(crate) async fn acquire(
        &self,
        tenant: &str,
        buckets: &[Bucket],
    ) -> Result<Duration, Duration> {
        let mut waited = Duration::ZERO;
        for bucket in buckets {
            for window in self.windows.get(bucket).into_iter().flatten() {
                waited += self.acquire_one(window, tenant, waited).await?;
            }
        }
        Ok(waited)
    }

    async fn acquire_one(
        &self,
        window: &SlidingWindow,
        tenant: &str,
        already_waited: Duration,
    ) -> Result<Duration, Duration> {
        let mut waited = Duration::ZERO;
        loop {
            match window.try_admit(tenant, Instant::now()) {
                Ok(()) => return Ok(waited),
                Err(wait) => {
                    if already_waited + waited + wait > self.max_wait {
                        return Err(wait);
                    }
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    #[test]
    fn resolves_documented_buckets() {
        use BudgetGroup as G;
        assert_eq!(
            buckets_for(
                Api::Mde,
                G::Default,
                &Method::POST,
                "/api/machines/a/isolate"
            ),
            vec![Bucket::Mde]
        );
        assert_eq!(
            buckets_for(Api::Mde, G::LiveResponse, &Method::POST, "/x"),
            vec![Bucket::LiveResponse]
        );
        assert_eq!(
            buckets_for(
                Api::Graph,
                G::Default,
                &Method::GET,
                "/v1.0/security/alerts_v2"
            ),
            vec![Bucket::GraphSecurity]
        );
        assert_eq!(
            buckets_for(Api::Graph, G::Default, &Method::GET, "/v1.0/users/x"),
            vec![Bucket::Graph]
        );
        assert_eq!(
            buckets_for(Api::Graph, G::Default, &Method::GET, "/beta/securityish"),
            vec![Bucket::Graph]
        );
        assert_eq!(
            buckets_for(Api::Arm, G::Default, &Method::GET, "/subscriptions"),
            vec![Bucket::ArmRead]
        );
        assert_eq!(
            buckets_for(Api::Arm, G::Default, &Method::PUT, "/subscriptions"),
            vec![Bucket::ArmWrite]
        );
        assert_eq!(
            buckets_for(Api::Arm, G::Default, &Method::DELETE, "/subscriptions"),
            vec![Bucket::ArmDelete]
        );
    }

    #[test]
    fn zero_rate_is_a_config_error() {
        let mut budgets = Budgets::unlimited();
        budgets.mde = vec![Rate::per_minute(0)];
        assert!(matches!(
            Limiters::new(&budgets),
            Err(UpstreamError::Config(_))
        ));
    }

    #[test]
    fn defaults_match_documented_mde_limits() {
        let b = Budgets::default();
        assert_eq!(b.mde, vec![Rate::per_minute(100), Rate::per_hour(1500)]);
        assert_eq!(b.hunting[0], Rate::per_minute(45));
        assert_eq!(b.live_response, vec![Rate::per_minute(10)]);
    }

    #[tokio::test]
    async fn sixth_call_waits_instead_of_failing() {
        let mut budgets = Budgets::uniform(vec![Rate::per_second(5)]);
        budgets.max_wait = Duration::from_secs(5);
        let limiters = Limiters::new(&budgets).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..5 {
            limiters.acquire("t1", &[Bucket::Mde]).await.unwrap();
        }
        assert!(start.elapsed() < Duration::from_millis(100));
        limiters.acquire("t1", &[Bucket::Mde]).await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(150),
            "6th call should wait ~200ms"
        );
        // Another tenant has its own budget.
        let other = std::time::Instant::now();
        limiters.acquire("t2", &[Bucket::Mde]).await.unwrap();
        assert!(other.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn never_admits_more_than_count_in_any_window() {
        // The token-bucket failure mode: a full burst, then refills inside the same window.
        let w = SlidingWindow::new(Rate::per_minute(10)).unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            w.try_admit("t", t0 + Duration::from_secs(i)).unwrap();
        }
        // 30 s later the first burst is still inside the minute: nothing more is admitted.
        let wait = w.try_admit("t", t0 + Duration::from_secs(30)).unwrap_err();
        assert!(wait > Duration::from_secs(29) && wait <= Duration::from_secs(32), "{wait:?}");
        // Once the oldest call leaves the (guarded) window, exactly one more gets in.
        let later = t0 + Duration::from_millis(61_500);
        w.try_admit("t", later).unwrap();
        assert!(w.try_admit("t", later).is_err());
        // Tenants are independent.
        w.try_admit("other", t0).unwrap();
    }

    #[tokio::test]
    async fn gives_up_when_wait_exceeds_bound() {
        let mut budgets = Budgets::uniform(vec![Rate::per_minute(1)]);
        budgets.max_wait = Duration::from_millis(100);
        let limiters = Limiters::new(&budgets).unwrap();
        limiters.acquire("t", &[Bucket::Graph]).await.unwrap();
        let needed = limiters.acquire("t", &[Bucket::Graph]).await.unwrap_err();
        assert!(needed > Duration::from_secs(50));
    }
}
