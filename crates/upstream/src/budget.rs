//! Per tenant × API-family budgets at Microsoft's documented limits, so we wait locally
//! instead of sending a call that would earn a 429 (a 429 gives its slot back except where
//! Microsoft says throttled calls count, see `client::throttled_calls_count`).
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

use crate::api::{Api, Budget, Method};
use crate::error::UpstreamError;

tokio::task_local! {
    /// Set while a bulk job's item runs: its calls yield the tenant's budget to interactive ones.
    static BULK: ();
}

/// Runs `f` as bulk work: every call it makes waits while an interactive call of the same
/// tenant is waiting for the same budget, so an analyst's single action takes the next free slot
/// instead of queueing behind a job's items (issue 12: interactive overtakes bulk).
pub async fn as_bulk<F: std::future::Future>(f: F) -> F::Output {
    BULK.scope((), f).await
}

/// Whether the current task runs bulk work ([`as_bulk`]); work it hands to a task of its own
/// passes the mark on with `as_bulk`.
pub fn is_bulk() -> bool {
    BULK.try_with(|_| ()).is_ok()
}

/// How often a bulk call looks again while an interactive one waits for its tenant's budget.
const YIELD_POLL: Duration = Duration::from_millis(5);

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
    /// a call a little before Microsoft's counts it (at most `cap`, 2% of the window).
    fn guarded_window(self, cap: Duration) -> Duration {
        self.per + (self.per / 50).min(cap)
    }
}

/// Limits per tenant, per bucket. An empty list means "no local limit".
///
/// Defaults are Microsoft's documented numbers (`upstream-apis.md` §2.10, §3, §4.2, §5.2):
/// - MDE general endpoints (machines, machine actions, indicators POST, ...): 100/min **and** 1,500/h;
/// - MDE live response 10/min; indicator import 30/min; startInvestigation 50/h;
/// - advanced hunting 45/min and 1,500/h ("at least 45/min per tenant");
/// - XDR incidents 50/min and 1,500/h; Graph `/security/incidents` draws it as well as the
///   `/security` limit, since the Graph incidents API fronts the same service (inferred: Graph
///   documents only the `/security` figure);
/// - Graph `/security`: 150/min per app per tenant;
/// - Graph in general: the global limit is 130,000 per 10 s per app across tenants, far above
///   what one tenant needs; we use Intune's 2,000 per 20 s per app per tenant, the tightest
///   general figure, as a generous per-tenant ceiling;
/// - ARM: the (2020) documented hourly limits per principal: 12,000 reads, 1,200 writes,
///   15,000 deletes. Today's ARM uses token buckets (~250 reads burst at ~25/s); the hourly
///   figures are the safe approximation;
/// - Cloud Apps: 30 requests/min per tenant (§7, not verified against Microsoft's page);
/// - Key Vault data plane: 4,000 transactions per 10 s per vault for secrets and software keys
///   (Key Vault service limits; applied per tenant, which is stricter);
/// - EC2: AWS throttles by token bucket per account and region; 5/s is the documented refill of
///   the mutating-actions bucket, so never more than AWS sustains (the burst is not used).
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
    pub cloud_apps: Vec<Rate>,
    pub key_vault: Vec<Rate>,
    pub ec2: Vec<Rate>,
    /// Exchange Online's admin REST endpoint (the EXO V3 module's `InvokeCommand`). Microsoft
    /// publishes no number for it (Exchange's throttling budgets are per tenant and not listed),
    /// so this is a conservative guess of our own: 60 cmdlets a minute per tenant.
    pub exchange_online: Vec<Rate>,
    /// Longest a call waits for budget before giving up with `Throttled`.
    pub max_wait: Duration,
    /// The most each window is lengthened by (see `Rate::guarded_window`): 1 s, the time a
    /// call may take between our clock and Microsoft's. Real time: a benchmark that shortens the
    /// windows by a time scale shortens this too, or its hour would carry a guard 60 times the
    /// production one.
    pub guard: Duration,
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
            cloud_apps: vec![Rate::per_minute(30)],
            key_vault: vec![Rate::new(4000, Duration::from_secs(10))],
            ec2: vec![Rate::per_second(5)],
            exchange_online: vec![Rate::per_minute(60)],
            max_wait: Duration::from_secs(120),
            guard: Duration::from_secs(1),
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
            arm_delete: rates.clone(),
            cloud_apps: rates.clone(),
            key_vault: rates.clone(),
            ec2: rates.clone(),
            exchange_online: rates,
            max_wait: Duration::from_secs(120),
            guard: Duration::from_secs(1),
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
            Bucket::CloudApps => &self.cloud_apps,
            Bucket::KeyVault => &self.key_vault,
            Bucket::Ec2 => &self.ec2,
            Bucket::ExchangeOnline => &self.exchange_online,
        }
    }
}

/// One documented limit: a field of [`Budgets`], internal to this module's bookkeeping (callers
/// speak [`Budget`], the shared vocabulary, and this resolves it with the family and path).
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
    CloudApps,
    KeyVault,
    Ec2,
    ExchangeOnline,
}

impl Bucket {
    const ALL: [Bucket; 15] = [
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
        Bucket::CloudApps,
        Bucket::KeyVault,
        Bucket::Ec2,
        Bucket::ExchangeOnline,
    ];
}

/// Which buckets a call draws from. `path` is relative to the family's base URL.
pub(crate) fn buckets_for(api: Api, budget: Budget, method: Method, path: &str) -> Vec<Bucket> {
    match budget {
        Budget::Default => family_buckets(api, method, path),
        Budget::LiveResponse => vec![Bucket::LiveResponse],
        Budget::IndicatorImport => vec![Bucket::IndicatorImport],
        Budget::Investigation => vec![Bucket::Investigation],
        Budget::Hunting if api == Api::Graph => vec![Bucket::GraphSecurity, Bucket::Hunting],
        Budget::Hunting => vec![Bucket::Hunting],
        Budget::Incidents if api == Api::Graph => vec![Bucket::GraphSecurity, Bucket::Incidents],
        Budget::Incidents => vec![Bucket::Incidents],
    }
}

/// A family's general limits, by path where Microsoft documents endpoint groups.
fn family_buckets(api: Api, method: Method, path: &str) -> Vec<Bucket> {
    match api {
        Api::Mde => vec![Bucket::Mde],
        Api::Graph => match graph_area(path) {
            GraphArea::Incidents => vec![Bucket::GraphSecurity, Bucket::Incidents],
            GraphArea::Security => vec![Bucket::GraphSecurity],
            GraphArea::Other => vec![Bucket::Graph],
        },
        Api::Arm => vec![arm_bucket(method)],
        Api::CloudApps => vec![Bucket::CloudApps],
        Api::KeyVault => vec![Bucket::KeyVault],
        Api::Ec2 => vec![Bucket::Ec2],
        Api::ExchangeOnline => vec![Bucket::ExchangeOnline],
    }
}

/// Where a Graph path falls among Graph's documented limit groups.
#[derive(Debug, PartialEq, Eq)]
enum GraphArea {
    /// `/{version}/security/incidents...`: the XDR incidents service.
    Incidents,
    /// Anything else under `/{version}/security`.
    Security,
    Other,
}

/// `/v1.0/security/...` and `/beta/security/...` share the 150/min `/security` limit.
fn graph_area(path: &str) -> GraphArea {
    let mut segments = path.trim_start_matches('/').split(['/', '?']);
    let _version = segments.next();
    match (segments.next(), segments.next()) {
        (Some("security"), Some(s)) if s == "incidents" || s.starts_with("incidents(") => GraphArea::Incidents,
        (Some("security"), _) => GraphArea::Security,
        _ => GraphArea::Other,
    }
}

/// ARM counts reads, writes and deletes separately.
fn arm_bucket(method: Method) -> Bucket {
    match method {
        Method::Get => Bucket::ArmRead,
        Method::Delete => Bucket::ArmDelete,
        Method::Post | Method::Put | Method::Patch => Bucket::ArmWrite,
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
    fn new(rate: Rate, guard: Duration) -> Option<SlidingWindow> {
        (rate.count > 0 && !rate.per.is_zero()).then(|| SlidingWindow {
            count: rate.count as usize,
            window: rate.guarded_window(guard),
            admitted: Mutex::new(HashMap::new()),
        })
    }

    /// Take back a call admitted at `at` (it was answered 429 and does not count).
    fn refund(&self, tenant: &str, at: Instant) {
        let mut admitted = self.admitted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(calls) = admitted.get_mut(tenant)
            && let Some(i) = calls.iter().rposition(|&t| t == at)
        {
            calls.remove(i);
        }
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

/// Where one call was counted: the instant it entered each local window, in the order
/// [`Limiters::admit`] walks them (none when a shared ledger counts).
pub(crate) struct Admission {
    pub(crate) waited: Duration,
    at: Vec<Instant>,
}

/// The live limiters: every window of every bucket.
pub(crate) struct Limiters {
    windows: HashMap<Bucket, Vec<SlidingWindow>>,
    max_wait: Duration,
    /// When set (replicas on one database), the windows are counted there instead of here
    /// (`shared_budget`).
    shared: std::sync::OnceLock<std::sync::Arc<dyn crate::shared_budget::SharedWindows>>,
    /// Interactive calls waiting for budget, per tenant: bulk calls of that tenant hold back.
    interactive_waiting: std::sync::Arc<Mutex<HashMap<String, usize>>>,
}

/// Counts an interactive call as waiting for its tenant's budget while it lives.
struct Waiting {
    tenant: String,
    map: std::sync::Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(n) = map.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.tenant);
            }
        }
    }
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
                    SlidingWindow::new(rate, budgets.guard)
                        .ok_or_else(|| UpstreamError::Config(format!("budget {bucket:?}: invalid rate {rate:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            windows.insert(bucket, limiters);
        }
        Ok(Limiters {
            windows,
            max_wait: budgets.max_wait,
            shared: std::sync::OnceLock::new(),
            interactive_waiting: std::sync::Arc::default(),
        })
    }

    /// Counts every window in `ledger` from now on (once; a second ledger is refused).
    pub(crate) fn share(&self, ledger: std::sync::Arc<dyn crate::shared_budget::SharedWindows>) -> bool {
        self.shared.set(ledger).is_ok()
    }

    /// The windows a call for `tenant` draws from, as the shared ledger names them, sorted (so
    /// two replicas lock them in the same order).
    fn shared_windows(&self, tenant: &str, buckets: &[Bucket]) -> Vec<crate::shared_budget::SharedWindow> {
        let mut out: Vec<_> = buckets
            .iter()
            .flat_map(|bucket| {
                self.windows.get(bucket).into_iter().flatten().map(move |w| crate::shared_budget::SharedWindow {
                    key: format!("{tenant}/{bucket:?}/{}/{}", w.count, w.window.as_millis()),
                    count: w.count as u32,
                    window: w.window,
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Waits until the shared ledger admits the call in every window at once.
    async fn acquire_shared(
        &self,
        ledger: &dyn crate::shared_budget::SharedWindows,
        tenant: &str,
        buckets: &[Bucket],
    ) -> Result<Duration, Duration> {
        let windows = self.shared_windows(tenant, buckets);
        if windows.is_empty() {
            return Ok(Duration::ZERO);
        }
        // Interactive first here too: this replica's bulk calls hold back while one of its
        // interactive calls waits for the tenant, and the ledger holds back every replica's
        // bulk calls while an interactive call it refused waits for one of their windows.
        let bulk = is_bulk();
        let _waiting = (!bulk).then(|| self.waiting(tenant));
        let waiter = (!bulk).then(|| uuid::Uuid::new_v4().to_string());
        let mut waited = Duration::ZERO;
        loop {
            if bulk && self.interactive_waits(tenant) {
                if waited + YIELD_POLL > self.max_wait {
                    return Err(YIELD_POLL);
                }
                tokio::time::sleep(YIELD_POLL).await;
                waited += YIELD_POLL;
                continue;
            }
            let wait = match ledger.admit(&windows, waiter.as_deref()).await {
                Ok(None) => return Ok(waited),
                Ok(Some(wait)) => wait.max(Duration::from_millis(1)),
                Err(e) => {
                    tracing::warn!(error = %e, "shared budget ledger failed; asking again");
                    crate::shared_budget::LEDGER_RETRY
                }
            };
            if waited + wait > self.max_wait {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// Waits until every applicable window admits one call for `tenant`.
    ///
    /// Returns how long we waited, or `Err(needed)` with the wait still needed when it would
    /// exceed `max_wait` (the caller turns that into `Throttled`).
    pub(crate) async fn acquire(&self, tenant: &str, buckets: &[Bucket]) -> Result<Duration, Duration> {
        self.admit(tenant, buckets).await.map(|a| a.waited)
    }

    /// [`acquire`](Self::acquire), keeping where the call was counted so that it can be
    /// [`refund`](Self::refund)ed.
    pub(crate) async fn admit(&self, tenant: &str, buckets: &[Bucket]) -> Result<Admission, Duration> {
        if let Some(ledger) = self.shared.get() {
            let waited = self.acquire_shared(ledger.as_ref(), tenant, buckets).await?;
            // The shared ledger keeps its count: nothing here to take back.
            return Ok(Admission { waited, at: Vec::new() });
        }
        let bulk = is_bulk();
        let _waiting = (!bulk).then(|| self.waiting(tenant));
        let windows: Vec<&SlidingWindow> =
            buckets.iter().flat_map(|b| self.windows.get(b).into_iter().flatten()).collect();
        let (waited, now) = self.acquire_all(&windows, tenant, bulk).await?;
        Ok(Admission { waited, at: vec![now; windows.len()] })
    }

    /// Marks an interactive call of `tenant` as waiting (bulk calls hold back) until dropped.
    fn waiting(&self, tenant: &str) -> Waiting {
        let map = self.interactive_waiting.clone();
        *map.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(tenant.to_owned()).or_default() += 1;
        Waiting { tenant: tenant.to_owned(), map }
    }

    fn interactive_waits(&self, tenant: &str) -> bool {
        self.interactive_waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains_key(tenant)
    }

    /// Takes a call back out of every window that counted it: Microsoft answered 429, so the
    /// call was not served (see `Api::throttled_calls_count`).
    pub(crate) fn refund(&self, tenant: &str, buckets: &[Bucket], admission: &Admission) {
        let windows = buckets.iter().flat_map(|b| self.windows.get(b).into_iter().flatten());
        for (window, &at) in windows.zip(&admission.at) {
            window.refund(tenant, at);
        }
    }

    /// Admits one call into every window of `windows` at the same instant, waiting until all
    /// of them have room. Taken one window after the other, a call could be counted in the
    /// minute window, then wait for the hour window, and go out long after its minute slot:
    /// Microsoft counts it when it arrives, so the minute window would let through more calls
    /// than Microsoft's allows (seen as 429s over the quota under load). A window that was full
    /// gives back the slots taken in the others before waiting, and so does a caller that gives
    /// up (past `max_wait`).
    async fn acquire_all(
        &self,
        windows: &[&SlidingWindow],
        tenant: &str,
        bulk: bool,
    ) -> Result<(Duration, Instant), Duration> {
        let mut waited = Duration::ZERO;
        loop {
            let wait = if bulk && self.interactive_waits(tenant) {
                YIELD_POLL
            } else {
                let now = Instant::now();
                match Self::try_admit_all(windows, tenant, now) {
                    Ok(()) => return Ok((waited, now)),
                    Err(wait) => wait,
                }
            };
            if waited + wait > self.max_wait {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// One call into every window at `now`, or none of them and how long the fullest one says
    /// to wait.
    fn try_admit_all(windows: &[&SlidingWindow], tenant: &str, now: Instant) -> Result<(), Duration> {
        for (i, window) in windows.iter().enumerate() {
            if let Err(wait) = window.try_admit(tenant, now) {
                for taken in &windows[..i] {
                    taken.refund(tenant, now);
                }
                return Err(wait);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_documented_buckets() {
        use Budget as B;
        let cases = [
            (Api::Mde, B::Default, Method::Post, "/api/machines/a/isolate", vec![Bucket::Mde]),
            (Api::Mde, B::LiveResponse, Method::Post, "/x", vec![Bucket::LiveResponse]),
            (Api::Mde, B::Investigation, Method::Post, "/x", vec![Bucket::Investigation]),
            (Api::Mde, B::Hunting, Method::Post, "/api/advancedqueries/run", vec![Bucket::Hunting]),
            (
                Api::Graph,
                B::Hunting,
                Method::Post,
                "/v1.0/security/runHuntingQuery",
                vec![Bucket::GraphSecurity, Bucket::Hunting],
            ),
            (Api::Graph, B::Default, Method::Get, "/v1.0/security/alerts_v2", vec![Bucket::GraphSecurity]),
            (Api::Graph, B::Default, Method::Get, "/v1.0/users/x", vec![Bucket::Graph]),
            (Api::Graph, B::Default, Method::Get, "/beta/securityish", vec![Bucket::Graph]),
            (Api::Arm, B::Default, Method::Get, "/subscriptions", vec![Bucket::ArmRead]),
            (Api::Arm, B::Default, Method::Put, "/subscriptions", vec![Bucket::ArmWrite]),
            (Api::Arm, B::Default, Method::Delete, "/subscriptions", vec![Bucket::ArmDelete]),
            (Api::CloudApps, B::Default, Method::Post, "/api/v1/alerts/", vec![Bucket::CloudApps]),
            (Api::KeyVault, B::Default, Method::Get, "/secrets/s", vec![Bucket::KeyVault]),
            (Api::Ec2, B::Default, Method::Post, "/", vec![Bucket::Ec2]),
        ];
        for (api, budget, method, path, want) in cases {
            assert_eq!(buckets_for(api, budget, method, path), want, "{api} {budget:?} {path}");
        }
    }

    #[test]
    fn xdr_incidents_budget_applies_to_graph_incident_calls() {
        for path in [
            "/v1.0/security/incidents",
            "/v1.0/security/incidents/42",
            "/beta/security/incidents/42/comments",
            "/v1.0/security/incidents?$top=5",
        ] {
            for method in [Method::Get, Method::Patch, Method::Post] {
                assert_eq!(
                    buckets_for(Api::Graph, Budget::Default, method, path),
                    vec![Bucket::GraphSecurity, Bucket::Incidents],
                    "{path}"
                );
            }
        }
        assert_eq!(
            buckets_for(Api::Graph, Budget::Default, Method::Get, "/v1.0/security/incidentsish"),
            vec![Bucket::GraphSecurity]
        );
        assert_eq!(
            buckets_for(Api::Graph, Budget::Incidents, Method::Get, "/v1.0/x"),
            vec![Bucket::GraphSecurity, Bucket::Incidents]
        );
        let b = Budgets::default();
        assert_eq!(b.incidents, vec![Rate::per_minute(50), Rate::per_hour(1500)]);
        assert_eq!(b.cloud_apps, vec![Rate::per_minute(30)]);
    }

    #[test]
    fn every_bucket_has_a_configured_default() {
        let b = Budgets::default();
        for bucket in Bucket::ALL {
            assert!(!b.rates(bucket).is_empty(), "{bucket:?} has no documented default");
        }
    }

    #[test]
    fn zero_rate_is_a_config_error() {
        let mut budgets = Budgets::unlimited();
        budgets.mde = vec![Rate::per_minute(0)];
        assert!(matches!(Limiters::new(&budgets), Err(UpstreamError::Config(_))));
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
        assert!(start.elapsed() >= Duration::from_millis(150), "6th call should wait ~200ms");
        // Another tenant has its own budget.
        let other = std::time::Instant::now();
        limiters.acquire("t2", &[Bucket::Mde]).await.unwrap();
        assert!(other.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn never_admits_more_than_count_in_any_window() {
        // The token-bucket failure mode: a full burst, then refills inside the same window.
        let w = SlidingWindow::new(Rate::per_minute(10), Duration::from_secs(1)).unwrap();
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
    async fn a_refunded_call_leaves_every_window_it_entered() {
        let mut budgets = Budgets::uniform(vec![Rate::per_minute(2), Rate::per_hour(3)]);
        budgets.max_wait = Duration::from_millis(10);
        let limiters = Limiters::new(&budgets).unwrap();
        let first = limiters.admit("t", &[Bucket::Mde]).await.unwrap();
        limiters.admit("t", &[Bucket::Mde]).await.unwrap();
        assert!(limiters.acquire("t", &[Bucket::Mde]).await.is_err(), "the minute is full");
        limiters.refund("t", &[Bucket::Mde], &first);
        limiters.admit("t", &[Bucket::Mde]).await.unwrap();
        // The minute is full again (and the hour holds two of its three).
        assert!(limiters.acquire("t", &[Bucket::Mde]).await.is_err());
        // Refunds are per tenant.
        limiters.refund("other", &[Bucket::Mde], &first);
        assert!(limiters.acquire("t", &[Bucket::Mde]).await.is_err());
    }

    /// A ledger that admits every call and keeps who asked.
    struct RecordingLedger(Mutex<Vec<Option<String>>>);

    impl crate::shared_budget::SharedWindows for RecordingLedger {
        fn admit<'a>(
            &'a self,
            _windows: &'a [crate::shared_budget::SharedWindow],
            waiter: Option<&'a str>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::shared_budget::Admission> + Send + 'a>> {
            self.0.lock().unwrap().push(waiter.map(str::to_owned));
            Box::pin(async { Ok(None) })
        }
    }

    #[tokio::test]
    async fn the_shared_ledger_hears_an_interactive_call_by_name_and_a_bulk_call_as_bulk() {
        let limiters = Limiters::new(&Budgets::uniform(vec![Rate::per_minute(100)])).unwrap();
        let ledger = std::sync::Arc::new(RecordingLedger(Mutex::new(Vec::new())));
        assert!(limiters.share(ledger.clone()));
        limiters.acquire("t", &[Bucket::Mde]).await.unwrap();
        as_bulk(limiters.acquire("t", &[Bucket::Mde])).await.unwrap();
        limiters.acquire("t", &[Bucket::Mde]).await.unwrap();
        let asked = ledger.0.lock().unwrap().clone();
        assert!(asked[0].is_some() && asked[1].is_none() && asked[2].is_some(), "{asked:?}");
        assert_ne!(asked[0], asked[2], "each interactive call waits under a name of its own");
    }

    #[tokio::test]
    async fn an_interactive_call_takes_the_next_slot_before_waiting_bulk_calls() {
        let mut budgets = Budgets::uniform(vec![Rate::new(1, Duration::from_millis(200))]);
        budgets.max_wait = Duration::from_secs(10);
        let limiters = std::sync::Arc::new(Limiters::new(&budgets).unwrap());
        limiters.acquire("t", &[Bucket::Mde]).await.unwrap();
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut bulk = Vec::new();
        for i in 0..4 {
            let (l, o) = (limiters.clone(), order.clone());
            bulk.push(tokio::spawn(as_bulk(async move {
                l.acquire("t", &[Bucket::Mde]).await.unwrap();
                o.lock().unwrap().push(format!("bulk{i}"));
            })));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!is_bulk());
        limiters.acquire("t", &[Bucket::Mde]).await.unwrap();
        order.lock().unwrap().push("interactive".into());
        for b in bulk {
            b.await.unwrap();
        }
        // Four bulk calls were waiting first; the interactive one still had the next slot.
        assert_eq!(order.lock().unwrap()[0], "interactive", "{:?}", order.lock().unwrap());
    }

    #[tokio::test]
    async fn a_call_is_counted_in_every_window_at_once_or_in_none() {
        // 5 a second and 1 an hour: the hour is full after one call.
        let mut budgets = Budgets::uniform(vec![Rate::new(5, Duration::from_secs(1)), Rate::per_hour(1)]);
        budgets.max_wait = Duration::from_millis(10);
        let limiters = Limiters::new(&budgets).unwrap();
        limiters.acquire("t", &[Bucket::Mde]).await.unwrap();
        for _ in 0..4 {
            assert!(limiters.acquire("t", &[Bucket::Mde]).await.is_err(), "the hour is full");
        }
        // The calls given up on hold no slot in the short window: four more fit there now.
        let short = &limiters.windows.get(&Bucket::Mde).unwrap()[0];
        let now = Instant::now();
        for i in 0..4 {
            assert!(
                short.try_admit("t", now).is_ok(),
                "slot {i} of the short window was taken by a call that never went"
            );
        }
        assert!(short.try_admit("t", now).is_err());
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
