//! PostgreSQL statement for shared budget windows (`crate::budget_windows`): one call of the
//! `riposte_admit_call` function (migrations 0026, 0027).

use sqlx::postgres::PgPool;

use crate::StoreError;
use crate::budget_windows::{BudgetWindow, Claimant, WAITER_SLACK};

/// 0 when admitted, else the milliseconds to wait.
pub(crate) async fn admit(pool: &PgPool, windows: &[BudgetWindow], claimant: Claimant<'_>) -> Result<i64, StoreError> {
    let keys: Vec<&str> = windows.iter().map(|w| w.key.as_str()).collect();
    let counts: Vec<i32> = windows.iter().map(|w| w.count.min(i32::MAX as u32) as i32).collect();
    let millis: Vec<i64> = windows.iter().map(|w| w.window.as_millis().min(i64::MAX as u128) as i64).collect();
    let wait: i64 = sqlx::query_scalar("SELECT riposte_admit_call($1, $2, $3, $4, $5)")
        .bind(&keys)
        .bind(&counts)
        .bind(&millis)
        .bind(claimant.waiter())
        .bind(WAITER_SLACK.as_millis() as i64)
        .fetch_one(pool)
        .await?;
    Ok(wait)
}
