//! A job as `GET /v1/jobs/{id}` shows it: the stored job, counts per state and per tenant,
//! throughput and an ETA.

use crate::{Engine, EngineError, Principal};
use serde::Serialize;
use std::collections::BTreeMap;
use store::{Job, item_state};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// Items per state.
    pub counts: BTreeMap<String, i64>,
    /// Items per tenant, per state.
    pub tenants: BTreeMap<String, BTreeMap<String, i64>>,
    /// Items ended per second since the job was created (ended items / elapsed).
    pub throughput_per_second: Option<f64>,
    /// Seconds until the open items are done at that throughput.
    pub eta_seconds: Option<f64>,
    /// Where to follow it.
    pub links: BTreeMap<&'static str, String>,
}

impl JobView {
    /// Items not ended yet.
    pub fn open(&self) -> i64 {
        [item_state::PENDING, item_state::RUNNING].iter().map(|s| self.counts.get(*s).copied().unwrap_or(0)).sum()
    }
}

impl Engine {
    /// The job with its counts, throughput and ETA.
    pub async fn job_view(&self, principal: &Principal, id: Uuid) -> Result<JobView, EngineError> {
        let job = self.job_for(principal, id).await?;
        let counts = self.store().job_counts(id).await?;
        let ended: i64 =
            [item_state::SUCCEEDED, item_state::FAILED, item_state::CANCELLED].iter().map(|s| counts.count(s)).sum();
        let open = counts.count(item_state::PENDING) + counts.count(item_state::RUNNING);
        let throughput = counts.last_finished_at.and_then(|last| {
            let elapsed = (last - job.created_at).as_seconds_f64();
            (ended > 0 && elapsed > 0.0).then(|| ended as f64 / elapsed)
        });
        let eta = throughput.filter(|t| *t > 0.0).map(|t| open as f64 / t);
        let links = BTreeMap::from([
            ("self", format!("/v1/jobs/{id}")),
            ("items", format!("/v1/jobs/{id}/items")),
            ("failed", format!("/v1/jobs/{id}/items?state=Failed")),
        ]);
        Ok(JobView {
            job,
            counts: counts.by_state,
            tenants: counts.by_tenant,
            throughput_per_second: throughput,
            eta_seconds: eta,
            links,
        })
    }
}
