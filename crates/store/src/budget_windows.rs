//! Budget windows shared by replicas (migration 0026): the ledger `upstream`'s shared budgets
//! count in (`upstream::shared_budget`), so a tenant's documented limit holds across every
//! replica on one database and every path that calls Microsoft.
//!
//! [`Store::admit_budget_call`] admits one call in all the windows it draws from at once, or in
//! none, and says how long until there is room. PostgreSQL does it in one round trip (a function
//! taking each window's advisory lock, migration 0026) with the database's clock; SQLite in one
//! `BEGIN IMMEDIATE` transaction with this host's clock.

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

impl Store {
    /// Records one call in every window of `windows` when all have room (`Ok(None)`), else
    /// records nothing and answers the wait until the fullest has room. Windows should be sorted
    /// by key: concurrent admissions lock them in the order given.
    pub async fn admit_budget_call(&self, windows: &[BudgetWindow]) -> Result<Option<Duration>, StoreError> {
        if windows.is_empty() {
            return Ok(None);
        }
        let wait_ms = match &self.backend {
            Backend::Sqlite(p) => sqlite::budget_windows::admit(p, windows).await?,
            Backend::Postgres(p) => postgres::budget_windows::admit(p, windows).await?,
        };
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms as u64)))
    }
}
