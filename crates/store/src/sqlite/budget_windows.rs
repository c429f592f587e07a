//! SQLite statements for shared budget windows (`crate::budget_windows`): the PostgreSQL
//! function's steps in one write transaction (SQLite's single writer orders admissions).

use sqlx::sqlite::SqlitePool;

use super::begin_write;
use crate::StoreError;
use crate::budget_windows::{BudgetWindow, Claimant, WAITER_SLACK};

/// 0 when admitted, else the milliseconds to wait.
pub(crate) async fn admit(
    pool: &SqlitePool,
    windows: &[BudgetWindow],
    claimant: Claimant<'_>,
) -> Result<i64, StoreError> {
    let mut tx = begin_write(pool).await?;
    // The clock is read once the write lock is held: read before, a call admitted by another
    // replica while this one waited would stamp a later time than ours, and our wait would
    // overshoot the window.
    let now = micros_now();
    let slack = WAITER_SLACK.as_micros() as i64;
    for w in windows {
        sqlx::query("DELETE FROM budget_waiters WHERE window_key = $1 AND until <= $2")
            .bind(&w.key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    if claimant == Claimant::Bulk {
        let mut held: Option<i64> = None;
        for w in windows {
            let until: Option<i64> = sqlx::query_scalar("SELECT MAX(until) FROM budget_waiters WHERE window_key = $1")
                .bind(&w.key)
                .fetch_one(&mut *tx)
                .await?;
            held = held.max(until);
        }
        if let Some(until) = held {
            tx.commit().await?;
            return Ok(((until - now).min(slack).max(1) + 999) / 1000);
        }
    }
    let mut wait_us: i64 = 0;
    for w in windows {
        let span = w.window.as_micros().min(i64::MAX as u128) as i64;
        sqlx::query("DELETE FROM budget_calls WHERE window_key = $1 AND at <= $2")
            .bind(&w.key)
            .bind(now - span)
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM budget_calls WHERE window_key = $1")
            .bind(&w.key)
            .fetch_one(&mut *tx)
            .await?;
        if n >= i64::from(w.count) {
            let oldest: i64 =
                sqlx::query_scalar("SELECT at FROM budget_calls WHERE window_key = $1 ORDER BY at LIMIT 1 OFFSET $2")
                    .bind(&w.key)
                    .bind(n - i64::from(w.count))
                    .fetch_one(&mut *tx)
                    .await?;
            // At most one window: a wall clock stepped back must not stall calls longer.
            wait_us = wait_us.max((oldest + span - now).min(span)).max(1);
        }
    }
    for w in windows {
        match (wait_us == 0, claimant.waiter()) {
            (true, waiter) => {
                sqlx::query("INSERT INTO budget_calls (window_key, at) VALUES ($1, $2)")
                    .bind(&w.key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if let Some(waiter) = waiter {
                    sqlx::query("DELETE FROM budget_waiters WHERE window_key = $1 AND waiter = $2")
                        .bind(&w.key)
                        .bind(waiter)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            (false, Some(waiter)) => {
                sqlx::query(
                    "INSERT INTO budget_waiters (window_key, waiter, until) VALUES ($1, $2, $3)
                     ON CONFLICT (window_key, waiter) DO UPDATE SET until = excluded.until",
                )
                .bind(&w.key)
                .bind(waiter)
                .bind(now + wait_us + slack)
                .execute(&mut *tx)
                .await?;
            }
            (false, None) => {}
        }
    }
    tx.commit().await?;
    Ok(if wait_us == 0 { 0 } else { (wait_us + 999) / 1000 })
}

fn micros_now() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}
