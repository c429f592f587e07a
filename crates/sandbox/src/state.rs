//! Shared server state: the world behind one lock, plus clock, faults, quotas, stats, settings.

use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::SandboxConfig;
use crate::auth::{Api, Keys};
use crate::clock::Clock;
use crate::faults::Faults;
use crate::limits::Limiter;
use crate::world::World;

#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub cfg: SandboxConfig,
    /// Where clients reach us; used in `@odata.context`, nextLinks, issuers.
    pub base_url: String,
    pub clock: Clock,
    pub world: Mutex<World>,
    pub faults: Mutex<Faults>,
    pub limiter: Mutex<Limiter>,
    /// ARM per-subscription reads / writes / deletes per hour (`arm/quota.rs`).
    pub arm_quota: Mutex<Limiter>,
    pub stats: Mutex<Stats>,
    /// Every request the clouds received (`requests.rs`, `/_sandbox/requests`).
    pub requests: Mutex<crate::requests::RequestLog>,
    pub settings: Mutex<Settings>,
    pub keys: Keys,
    /// Analysts who sign in with a password for an API such as Riposte's (`users.rs`).
    pub accounts: Mutex<crate::users::Accounts>,
    /// Token lifetimes are drawn from this, so a seed gives a reproducible sequence.
    pub token_rng: Mutex<StdRng>,
    /// Advanced hunting: per-tenant tables (generated on first query) and quota.
    pub hunting: crate::hunting::Hunting,
}

impl Shared {
    pub fn new(cfg: SandboxConfig, base_url: String) -> anyhow::Result<Shared> {
        let clock = Clock::new();
        let world = World::generate(cfg.seed, cfg.tenants, clock.now());
        Ok(Shared {
            base_url,
            world: Mutex::new(world),
            faults: Mutex::new(Faults::new(cfg.seed)),
            limiter: Mutex::new(Limiter::default()),
            arm_quota: Mutex::new(Limiter::default()),
            stats: Mutex::new(Stats::default()),
            requests: Mutex::new(Default::default()),
            settings: Mutex::new(Settings::for_mode(cfg.realistic)),
            keys: Keys::generate()?,
            accounts: Mutex::new(crate::users::Accounts::default()),
            token_rng: Mutex::new(StdRng::seed_from_u64(cfg.seed ^ 0x70CE_5EED)),
            hunting: crate::hunting::Hunting::default(),
            clock,
            cfg,
        })
    }

    /// Back to the freshly seeded world: clears actions, faults, quotas, stats and settings.
    pub fn reset(&self) {
        let now = self.clock.now();
        *self.world.lock() = World::generate(self.cfg.seed, self.cfg.tenants, now);
        *self.faults.lock() = Faults::new(self.cfg.seed);
        self.limiter.lock().reset();
        self.arm_quota.lock().reset();
        *self.stats.lock() = Stats::default();
        *self.settings.lock() = Settings::for_mode(self.cfg.realistic);
        *self.token_rng.lock() = StdRng::seed_from_u64(self.cfg.seed ^ 0x70CE_5EED);
        *self.accounts.lock() = crate::users::Accounts::default();
        self.hunting.reset();
    }
}

/// Knobs tests and demos turn through `/_sandbox/settings`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// MDE quota per tenant (documented: 100/min, 1,500/h).
    pub mde_per_minute: u32,
    pub mde_per_hour: u32,
    /// The MDE quota windows run this many times faster than real time (the minute's quota per
    /// `60 / scale` s, the hour's per `3600 / scale` s), so a benchmark meets Microsoft's limits
    /// in compressed time, counted as exactly as at 1 (real time, the default).
    #[serde(default = "real_time")]
    pub mde_window_scale: f64,
    /// Seconds (sandbox clock) a machine action waits in Pending before the device picks it up.
    pub action_pending_seconds: i64,
    /// Seconds (sandbox clock) from InProgress to the final state.
    pub action_run_seconds: i64,
    /// Seconds an action for an offline device stays Pending before TimeOut. Microsoft documents
    /// 3 days for live response; we use that for every action.
    pub offline_timeout_seconds: i64,
    /// ARM requests per subscription per hour (documented defaults: 12,000 reads, 1,200
    /// writes, 15,000 deletes).
    pub arm_reads_per_hour: u32,
    pub arm_writes_per_hour: u32,
    pub arm_deletes_per_hour: u32,
    /// Sandbox seconds an ARM long-running operation stays InProgress.
    pub arm_operation_seconds: i64,
    /// `Retry-After` seconds sent with ARM long-running operations and their polls.
    pub arm_retry_after_seconds: u64,
    /// Sandbox seconds a Graph password reset takes to succeed or fail (`notStarted` for up to
    /// one of them, then `running`). Microsoft documents no duration.
    pub graph_operation_seconds: i64,
    /// `Retry-After` seconds sent with resetPassword's 202 and with polls of a running operation.
    pub graph_retry_after_seconds: u64,
    /// Accept app-only tokens on resetPassword and its operation, which Microsoft supports with
    /// delegated permissions only (off: 403 `accessDenied`). For tests that
    /// drive the flow with the sandbox's client-credentials tokens (`graph/auth_methods.rs`).
    pub graph_app_password_reset: bool,
    /// Token lifetime bounds in seconds (Entra: random 60-90 minutes).
    pub token_min_seconds: i64,
    pub token_max_seconds: i64,
    /// runliveresponse calls per minute per tenant (documented: 10).
    pub live_response_per_minute: u32,
    /// Concurrent (non-final) live response sessions per tenant (documented: 25).
    pub live_response_max_sessions: u32,
    /// startInvestigation calls per hour per tenant (documented: 50).
    pub investigations_per_hour: u32,
    /// Advanced hunting limits (`hunting_per_minute`, `hunting_per_hour`,
    /// `hunting_timeout_seconds`, `hunting_max_rows`).
    #[serde(flatten)]
    pub hunting: crate::hunting::HuntingSettings,
}

impl Settings {
    /// Lifecycles run in seconds by default; `realistic` uses Microsoft's timings (an action
    /// is picked up within ~30 s and runs ~90 s; an offline device times out after 3 days; an
    /// ARM operation takes ~30 s and asks clients to poll every 10 s). Quotas are Microsoft's
    /// documented numbers in both modes.
    pub fn for_mode(realistic: bool) -> Settings {
        let (pending, run, offline, arm_op, arm_retry) =
            if realistic { (30, 90, 3 * 24 * 3600, 30, 10) } else { (1, 2, 8, 2, 1) };
        let (graph_op, graph_retry) = if realistic { (5, 2) } else { (2, 1) };
        Settings {
            mde_per_minute: 100,
            mde_per_hour: 1500,
            mde_window_scale: 1.0,
            action_pending_seconds: pending,
            action_run_seconds: run,
            offline_timeout_seconds: offline,
            arm_reads_per_hour: 12_000,
            arm_writes_per_hour: 1_200,
            arm_deletes_per_hour: 15_000,
            arm_operation_seconds: arm_op,
            arm_retry_after_seconds: arm_retry,
            graph_operation_seconds: graph_op,
            graph_retry_after_seconds: graph_retry,
            graph_app_password_reset: false,
            token_min_seconds: 3600,
            token_max_seconds: 5400,
            hunting: crate::hunting::HuntingSettings::default(),
            live_response_per_minute: 10,
            live_response_max_sessions: 25,
            investigations_per_hour: 50,
        }
    }
}

fn real_time() -> f64 {
    1.0
}

/// Counters exposed at `/_sandbox/stats`.
#[derive(Default, Serialize, Clone)]
pub struct Stats {
    /// tenant -> audience (graph/mde/arm) -> issued tokens
    pub token_requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// tenant (or the tenant string sent) -> failed token requests
    pub token_failures: BTreeMap<String, u64>,
    /// tenant -> api -> authenticated API calls
    pub api_calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// tenant ("-" when unknown) -> 429 responses served (quota or injected)
    pub throttled: BTreeMap<String, u64>,
    pub throttled_total: u64,
    pub faults_injected: u64,
}

impl Stats {
    pub fn token_issued(&mut self, tenant: &str, api: Api) {
        *self.token_requests.entry(tenant.to_string()).or_default().entry(api.name().to_string()).or_default() += 1;
    }

    pub fn api_call(&mut self, tenant: &str, api: Api) {
        *self.api_calls.entry(tenant.to_string()).or_default().entry(api.name().to_string()).or_default() += 1;
    }
}
