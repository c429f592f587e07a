//! Several replicas on one database (issue 12 §4): heartbeats and the take-over of a dead
//! replica's operations.
//!
//! Each operation is owned by the replica that accepted it (`store::replicas`). Every
//! [`HEARTBEAT`] a replica renews its heartbeat for [`LEASE`]; every heartbeat it also claims the
//! unfinished operations whose owner stopped beating and brings them to an end exactly as a
//! restart would ([`crate::reconcile`]): `Queued` runs, a `Running` machine action resumes by its
//! marker, other interrupted writes end `Unknown` with the reason, `InProgress` ones are tracked.
//! The claim compares and sets the owner in one statement, so two survivors never both take one.
//! Heartbeats use the wall clock, never the sandbox clock that schedules follow.
//!
//! On SQLite the same runs with a single replica: its restart (same id, `{data}/replica.id`)
//! reclaims its own leftovers at once.
//!
//! Budgets hold across replicas: on PostgreSQL every call to Microsoft is admitted by budget
//! windows in the database ([`share_budgets`]), whichever replica and whichever path (an
//! interactive action, a bulk item, tracking, a revert) makes it.

use std::time::Duration;

use store::Operation;

use crate::{Engine, EngineError, status};

/// How often a replica beats and looks for orphans.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a heartbeat counts: a replica silent this long is dead and its work is taken over.
pub const LEASE: Duration = Duration::from_secs(10);

/// Operations a replica can leave unfinished.
const OPEN: [&str; 3] = [status::QUEUED, status::RUNNING, status::IN_PROGRESS];

/// Renews this replica's heartbeat now.
pub(crate) async fn beat(engine: &Engine) -> Result<(), EngineError> {
    engine.store().heartbeat(time::OffsetDateTime::now_utc() + LEASE).await?;
    Ok(())
}

/// Claims open operations of dead replicas (and, with `include_own`, this replica's own from a
/// previous life). `InProgress` ones go to the tracker here; the rest are returned to reconcile.
pub(crate) async fn claim_open(engine: &Engine, include_own: bool) -> Result<Vec<Operation>, EngineError> {
    beat(engine).await?;
    let claimed =
        engine.store().claim_orphaned_operations(&OPEN, include_own, time::OffsetDateTime::now_utc(), 10_000).await?;
    let (tracked, rest): (Vec<Operation>, Vec<Operation>) =
        claimed.into_iter().partition(|op| op.status == status::IN_PROGRESS);
    for op in tracked.iter().filter(|op| !crate::procedures::live_response::is_session(op)) {
        engine.inner.tracker.watch(op.id);
    }
    Ok(rest)
}

/// Upstream's budget windows counted in the store (`store::budget_windows`), shared by every
/// replica on the database.
struct StoreWindows(store::Store);

impl upstream::SharedWindows for StoreWindows {
    fn admit<'a>(
        &'a self,
        windows: &'a [upstream::SharedWindow],
        waiter: Option<&'a str>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = upstream::Admission> + Send + 'a>> {
        Box::pin(async move {
            let windows: Vec<store::BudgetWindow> = windows
                .iter()
                .map(|w| store::BudgetWindow { key: w.key.clone(), count: w.count, window: w.window })
                .collect();
            let claimant = waiter.map_or(store::Claimant::Bulk, store::Claimant::Interactive);
            self.0.admit_budget_call(&windows, claimant).await.map_err(|e| store::describe_error(&e))
        })
    }
}

/// On PostgreSQL (several replicas may share the database), budget windows are counted in the
/// database from now on, so a tenant's documented limits hold across replicas for every call.
/// SQLite has one gateway per data directory: its windows stay in memory, where they cost nothing.
pub(crate) fn share_budgets(engine: &Engine) {
    if engine.store().backend_name() == "postgres"
        && engine.upstream().share_windows(std::sync::Arc::new(StoreWindows(engine.store().clone())))
    {
        tracing::info!("budget windows shared by the replicas (counted in the database)");
    }
}

/// The background loop: beat, and take over what dead replicas left.
pub(crate) fn spawn(engine: Engine) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = take_over(&engine).await {
                tracing::warn!(error = %e, "replica heartbeat / take-over failed; retrying");
            }
        }
    });
}

async fn take_over(engine: &Engine) -> Result<(), EngineError> {
    let orphans = claim_open(engine, false).await?;
    if !orphans.is_empty() {
        tracing::warn!(operations = orphans.len(), "taking over the operations of a replica that stopped");
        let report = crate::reconcile::reconcile_claimed(engine, orphans).await?;
        tracing::info!(?report, "take-over reconciled");
    }
    Ok(())
}
