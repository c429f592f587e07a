//! The tenant's tables over a longer past than Defender keeps, for the Streaming API's replay
//! (`intel/tables.rs`): Defender streams every event as it happens, so a tenant streamed for
//! 90 days has sent 90 days of rows. The newest 30 days are exactly the tables advanced hunting
//! answers from; each older 30-day window is the world's tables generated as they stood then
//! (the same generator, anchored 30, 60, ... days earlier).

use std::sync::Arc;

use hunt::database::Database;

use super::synth::{Snapshot, TICKS_PER_DAY};
use super::{database, tables, ticks};
use crate::state::AppState;

/// Days each generated window covers (the generator's own horizon).
pub const WINDOW_DAYS: i64 = 30;

/// One window: rows with `lo < Timestamp <= hi` belong to it.
pub struct Window {
    pub lo: i64,
    pub hi: i64,
    pub tables: Arc<Database>,
}

/// Windows covering the last `days` days, newest first; `None` for an unknown tenant.
/// Blocking (generation): call off the async runtime.
pub fn windows(state: &AppState, tenant: &str, days: i64) -> Option<Vec<Window>> {
    let now = state.clock.now();
    let anchor = ticks(now);
    let floor = anchor - days * TICKS_PER_DAY;
    let mut out = Vec::new();
    let mut k = 0;
    while anchor - k * WINDOW_DAYS * TICKS_PER_DAY > floor {
        let hi = anchor - k * WINDOW_DAYS * TICKS_PER_DAY;
        let lo = (hi - WINDOW_DAYS * TICKS_PER_DAY).max(floor);
        let tables = if k == 0 {
            state.world.lock().tenant(tenant)?;
            database(state, tenant)
        } else {
            let then = now - time::Duration::days(k * WINDOW_DAYS);
            let snapshot = state.world.lock().tenant(tenant).map(|t| Snapshot::of(t, state.cfg.seed, then))?;
            Arc::new(tables::generate(&snapshot))
        };
        out.push(Window { lo, hi, tables });
        k += 1;
    }
    Some(out)
}
