//! The bulk job tests of `jobs.rs` on PostgreSQL (issue 12 §4: both back ends pass the same
//! suite), the same bodies: a job over 3 tenants with its effects in the sandbox and its undo,
//! pause / resume / cancel refusals, an interactive action overtaking a big job, and a single
//! `riposte serve` on PostgreSQL killed with `kill -9` mid-job that, restarted, does every item
//! exactly once. (Two replicas sharing one job, and one surviving the other's kill, are
//! `replicas.rs`.)

use super::jobs::{self, Backend};

#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_a_job_over_three_tenants_isolates_every_target_and_its_undo_restores_them() {
    jobs::job_over_three_tenants_and_its_undo(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_a_filter_selects_machines_and_a_paused_job_waits_until_resumed() {
    jobs::filter_and_pause(Backend::Postgres).await;
}

/// An interactive action is never queued behind a job's items for the same tenant and budget,
/// with the budget's windows counted in the database.
#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_an_interactive_action_overtakes_a_big_job_of_the_same_tenant() {
    jobs::interactive_overtakes_a_big_job(Backend::Postgres).await;
}

/// kill -9 during a bulk job on PostgreSQL, one replica: after its restart every item is done
/// exactly once and the job completes.
#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_kill_9_during_a_bulk_job_then_every_item_exactly_once() {
    jobs::kill_9_mid_job(Backend::Postgres).await;
}
