//! Budget windows shared by replicas (migration 0026): the ledger `upstream`'s shared budgets
//! count in (`upstream::shared_budget`), so a tenant's documented limit holds across every
//! replica on one database and every path that calls Microsoft.
//!
//! [`Store::admit_budget_call`] admits one call in all the windows it draws from at once, or in
//! none, and says how long until there is room. PostgreSQL does it in one round trip (a function
//! taking each window's advisory lock, migration 0026) with the database's clock; SQLite in one
//! `BEGIN IMMEDIATE` transaction with this host's clock.
//!
//! Interactive calls come first on every replica (migration 0027): an interactive call a window
//! refused is recorded as waiting, by a name of its own, until it is admitted or its wait (plus
//! [`WAITER_SLACK`]) has passed; a bulk job's call is refused while such a call waits for one of
//! its windows. So the slot a window frees goes to the interactive call, whichever replica's bulk
//! items ask at the same moment.

use std::time::Duration;

use crate::{Backend, Store, StoreError, postgres, sqlite};

/// One window a call draws from: its name (tenant, limit, size), how many calls it admits and
/// how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetWindow {
    pub key: String,
    pub count: u32,
    pub window: Duration,
}

/// Who asks for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimant<'a> {
    /// An interactive call, by a name of its own (the same on each attempt of one call).
    Interactive(&'a str),
    /// A bulk job's call: it yields to interactive calls waiting for one of its windows.
    Bulk,
}

impl Claimant<'_> {
    /// The waiter's name the ledger records; none for a bulk call.
    pub(crate) fn waiter(&self) -> Option<&str> {
        match self {
            Claimant::Interactive(name) => Some(name),
            Claimant::Bulk => None,
        }
    }
}

/// How long past the wait it was told an interactive call stays ahead of bulk calls: time to
/// come back for its slot. Also the longest a bulk call is told to wait behind one.
pub const WAITER_SLACK: Duration = Duration::from_millis(250);

impl Store {
    /// Records one call in every window of `windows` when all have room (`Ok(None)`), else
    /// records nothing and answers the wait until the fullest has room. Windows should be sorted
    /// by key: concurrent admissions lock them in the order given. A bulk call also waits while
    /// an interactive one waits for any of its windows, on any replica.
    pub async fn admit_budget_call(
        &self,
        windows: &[BudgetWindow],
        claimant: Claimant<'_>,
    ) -> Result<Option<Duration>, StoreError> {
        if windows.is_empty() {
            return Ok(None);
        }
        let wait_ms = match &self.backend {
            Backend::Sqlite(p) => sqlite::budget_windows::admit(p, windows, claimant).await?,
            Backend::Postgres(p) => postgres::budget_windows::admit(p, windows, claimant).await?,
        };
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms as u64)))
    }
}
