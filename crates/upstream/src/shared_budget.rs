//! Budget windows shared by several processes (replicas on one database, issue 12 §4).
//!
//! The sliding windows of [`crate::budget`] live in one process's memory: two replicas calling
//! Microsoft for one tenant would each admit a full window, twice the documented limit between
//! them. When a [`SharedWindows`] ledger is installed ([`crate::Upstream::share_windows`]) every
//! call, from any path (an interactive action, a bulk item, the tracker's polls, a revert), is
//! admitted by the ledger instead: all windows of the call at once, or none, against the calls
//! every replica recorded. The ledger is the store's (`store::Store::admit_budget_call`, a
//! PostgreSQL table); this crate only says which windows a call draws from and waits.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One documented window a call draws from, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SharedWindow {
    /// Names the tenant, the limit and its size, e.g. `t1/Mde/100/61000`: two processes with the
    /// same configuration count in the same window; a changed limit starts a new one.
    pub key: String,
    /// Calls admitted per window.
    pub count: u32,
    /// The window, with the same guard as the local windows.
    pub window: Duration,
}

/// What the ledger answered.
pub type Admission = Result<Option<Duration>, String>;

/// A ledger of admitted calls shared by every replica. `admit` records one call in every window
/// and answers `Ok(None)` when all of them have room, else records nothing and answers how long
/// until the fullest one has room (`Ok(Some(wait))`). `Err` is the ledger failing (the caller
/// waits a second and asks again; it never calls unadmitted).
///
/// `waiter` names an interactive call (the same name on each attempt of one call); `None` is a
/// bulk job's call, which the ledger holds back while an interactive call, on any replica,
/// waits for one of its windows (issue 12: interactive overtakes bulk, across replicas too).
pub trait SharedWindows: Send + Sync + 'static {
    fn admit<'a>(
        &'a self,
        windows: &'a [SharedWindow],
        waiter: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = Admission> + Send + 'a>>;
}

/// How long to wait before asking a failing ledger again.
pub(crate) const LEDGER_RETRY: Duration = Duration::from_secs(1);

impl crate::Upstream {
    /// Counts every budget window in `ledger` (shared by replicas on one database) instead of in
    /// this process from now on. Once per client: `false` if a ledger was already installed.
    pub fn share_windows(&self, ledger: std::sync::Arc<dyn SharedWindows>) -> bool {
        self.inner.limiters.share(ledger)
    }
}
