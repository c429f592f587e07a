//! The scanner's two loops over the database:
//!
//! - **ingest**: per partition, fetch from the checkpointed offset, parse, and store the
//!   evidence, the dead letters and the next offset in one transaction (at-least-once; a
//!   replay inserts nothing new);
//! - **write**: alerts whose evidence has settled (no new hash for `settle`) and is not yet
//!   covered by the ledger are looked up together (one lookup per distinct hash) and written
//!   back, one comment per alert, tenants in parallel.
//!
//! Evidence of one alert arrives as several rows, possibly in several messages; waiting for it
//! to settle is what lets one comment cover all of an alert's hashes.
//!
//! Catching up: an alert written while a provider was unavailable (a hash left unknown with that
//! provider skipped) is checked again once the degraded verdict expires. Its hashes are looked up
//! again (the provider is back, or skipped again), and the alert gets a new comment only if a
//! verdict changed (the ledger's digest). The list of alerts to check again is kept in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use store::{AlertEvidence, EnrichmentCounts, NewDeadLetter, Store, StoreError, StreamBatch};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::envelope::{ParseOptions, parse_message};
use crate::hash::{FileHash, HashKind};
use crate::lookup::{CacheStatus, LookupError, Lookups};
use crate::metrics::Metrics;
use crate::providers::GateStatus;
use crate::source::{IDLE_POLL, SourceError, StreamSource};
use crate::writeback::{Outcome, Writer};

#[derive(Clone, Debug)]
pub struct ScannerOptions {
    pub parse: ParseOptions,
    /// An alert is written once no new hash arrived for this long.
    pub settle: Duration,
    /// Records per fetch.
    pub fetch_max: usize,
    /// Alerts per write pass.
    pub write_batch: i64,
}

impl Default for ScannerOptions {
    fn default() -> Self {
        ScannerOptions {
            parse: ParseOptions::default(),
            settle: Duration::from_secs(2),
            fetch_max: 200,
            write_batch: 500,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
}

pub struct Scanner {
    store: Store,
    source: Arc<dyn StreamSource>,
    lookups: Arc<Lookups>,
    writer: Arc<Writer>,
    opts: ScannerOptions,
    metrics: Arc<Metrics>,
    lag: Mutex<BTreeMap<i32, PartitionLag>>,
    /// Alerts written with degraded verdicts, and when to check them again.
    recheck: Mutex<Vec<(std::time::Instant, store::PendingAlert)>>,
}

#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartitionLag {
    pub partition: i32,
    pub next_offset: i64,
    pub high_watermark: i64,
    pub lag: i64,
}

/// What one write pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteReport {
    pub alerts: usize,
    pub posted: usize,
    pub adopted: usize,
    pub unchanged: usize,
    pub quiet: usize,
    pub failed: usize,
    /// Alerts checked again after a provider was unavailable (included in `alerts`).
    pub rechecked: usize,
}

/// `GET /v1/enrichment/status`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScannerStatus {
    pub source: String,
    pub partitions: Vec<PartitionLag>,
    pub providers: Vec<GateStatus>,
    pub cache: CacheStatus,
    pub counts: EnrichmentCounts,
    pub writebacks: BTreeMap<String, u64>,
    /// Alerts written while a provider was unavailable, to be checked again when it returns.
    pub rechecks_pending: usize,
}

impl Scanner {
    pub fn new(
        store: Store,
        source: Arc<dyn StreamSource>,
        lookups: Arc<Lookups>,
        writer: Arc<Writer>,
        opts: ScannerOptions,
        metrics: Arc<Metrics>,
    ) -> Scanner {
        Scanner {
            store,
            source,
            lookups,
            writer,
            opts,
            metrics,
            lag: Mutex::new(BTreeMap::new()),
            recheck: Mutex::new(Vec::new()),
        }
    }

    pub fn lookups(&self) -> &Arc<Lookups> {
        &self.lookups
    }

    /// One pass over every partition; the number of records read.
    pub async fn ingest_once(&self) -> Result<usize, ScanError> {
        let name = self.source.name().to_string();
        let offsets: HashMap<i32, i64> =
            self.store.stream_offsets(&name).await?.into_iter().map(|o| (o.partition, o.next_offset)).collect();
        let mut read = 0;
        for partition in self.source.partitions().await? {
            let next = offsets.get(&partition).copied().unwrap_or(0);
            let fetched = self.source.fetch(partition, next, self.opts.fetch_max).await?;
            let Some(&(last, _)) = fetched.records.last() else {
                self.note_lag(partition, next, fetched.high_watermark);
                continue;
            };
            let mut batch = StreamBatch {
                source: name.clone(),
                partition,
                next_offset: last + 1,
                high_watermark: fetched.high_watermark.max(last + 1),
                ..StreamBatch::default()
            };
            for (offset, body) in &fetched.records {
                let parsed = parse_message(body, &self.opts.parse);
                self.metrics.records.inc_by(parsed.records as u64);
                self.metrics.dead_letters.inc_by(parsed.dead.len() as u64);
                batch.alerts.extend(parsed.alerts.into_iter().map(|a| AlertEvidence {
                    tenant: a.tenant,
                    alert_id: a.alert_id,
                    incident_id: a.incident_id,
                    device_id: a.device_id,
                    hashes: a.hashes.into_iter().map(|h| (h.kind.as_str().to_string(), h.value)).collect(),
                }));
                batch.dead.extend(parsed.dead.into_iter().enumerate().map(|(i, d)| NewDeadLetter {
                    offset: *offset,
                    position: i as i32,
                    reason: d.reason,
                    payload: d.payload,
                }));
            }
            self.store.record_stream_batch(&batch).await?;
            self.note_lag(partition, batch.next_offset, batch.high_watermark);
            read += fetched.records.len();
        }
        Ok(read)
    }

    fn note_lag(&self, partition: i32, next_offset: i64, high_watermark: i64) {
        let lag = (high_watermark - next_offset).max(0);
        self.metrics.lag.get_or_create(&vec![("partition".to_string(), partition.to_string())]).set(lag);
        self.lag.lock().insert(partition, PartitionLag { partition, next_offset, high_watermark, lag });
    }

    /// One write pass over the settled, pending alerts.
    pub async fn write_once(&self) -> Result<WriteReport, ScanError> {
        let settled_before = OffsetDateTime::now_utc() - self.opts.settle;
        let mut pending = self.store.pending_alerts(settled_before, self.opts.write_batch).await?;
        let due = self.due_rechecks(&pending);
        let rechecked = due.len();
        pending.extend(due);
        if pending.is_empty() {
            return Ok(WriteReport::default());
        }
        let hashes: Vec<FileHash> = pending
            .iter()
            .flat_map(|a| a.hashes.iter())
            .filter_map(|(k, v)| HashKind::parse(k).and_then(|k| FileHash::new(k, v)))
            .collect();
        let verdicts = Arc::new(self.lookups.verdicts(&hashes).await?);
        self.export_provider_metrics();
        self.schedule_rechecks(&pending, &verdicts);
        let mut by_tenant: BTreeMap<String, Vec<store::PendingAlert>> = BTreeMap::new();
        for a in pending {
            by_tenant.entry(a.tenant.clone()).or_default().push(a);
        }
        let tasks = by_tenant.into_values().map(|alerts| {
            let (writer, verdicts) = (self.writer.clone(), verdicts.clone());
            async move {
                let mut outcomes = Vec::with_capacity(alerts.len());
                for a in &alerts {
                    let r = writer.write(a, &verdicts).await;
                    if let Err(e) = &r {
                        tracing::warn!(tenant = %a.tenant, alert = %a.alert_id, error = %e, "write-back failed; retried next pass");
                    }
                    outcomes.push(r.ok());
                }
                outcomes
            }
        });
        let mut report = WriteReport { rechecked, ..WriteReport::default() };
        for outcome in futures::future::join_all(tasks).await.into_iter().flatten() {
            report.alerts += 1;
            let label = match outcome {
                Some(Outcome::Posted) => {
                    report.posted += 1;
                    "posted"
                }
                Some(Outcome::Adopted) => {
                    report.adopted += 1;
                    "adopted"
                }
                Some(Outcome::Unchanged) => {
                    report.unchanged += 1;
                    "unchanged"
                }
                Some(Outcome::Quiet) => {
                    report.quiet += 1;
                    "quiet"
                }
                None => {
                    report.failed += 1;
                    "failed"
                }
            };
            self.metrics.writebacks.get_or_create(&vec![("outcome".to_string(), label.to_string())]).inc();
        }
        Ok(report)
    }

    /// Rechecks that are due, minus alerts already pending (they are looked at anyway).
    fn due_rechecks(&self, pending: &[store::PendingAlert]) -> Vec<store::PendingAlert> {
        let now = std::time::Instant::now();
        let mut list = self.recheck.lock();
        let (due, later): (Vec<_>, Vec<_>) = list.drain(..).partition(|(at, _)| *at <= now);
        *list = later;
        due.into_iter()
            .map(|(_, a)| a)
            .filter(|a| !pending.iter().any(|p| p.tenant == a.tenant && p.alert_id == a.alert_id))
            .collect()
    }

    /// Alerts with a hash left unknown while a provider was skipped are checked again when that
    /// degraded verdict expires.
    fn schedule_rechecks(&self, alerts: &[store::PendingAlert], verdicts: &HashMap<String, crate::Verdict>) {
        let after = Duration::from_secs(self.lookups.ttls().degraded_secs.max(0) as u64);
        let at = std::time::Instant::now() + after;
        let mut list = self.recheck.lock();
        for a in alerts {
            let degraded = a.hashes.iter().any(|(_, h)| verdicts.get(h).is_some_and(|v| !v.skipped.is_empty()));
            if degraded && !list.iter().any(|(_, p)| p.tenant == a.tenant && p.alert_id == a.alert_id) {
                list.push((at, a.clone()));
            }
        }
    }

    /// Alerts waiting to be checked again (status).
    pub fn rechecks_pending(&self) -> usize {
        self.recheck.lock().len()
    }

    fn export_provider_metrics(&self) {
        let cache = self.lookups.cache_status();
        self.metrics.cache_hits.inner().store(cache.hits, std::sync::atomic::Ordering::Relaxed);
        self.metrics.cache_misses.inner().store(cache.misses, std::sync::atomic::Ordering::Relaxed);
        for p in self.lookups.providers() {
            let label = vec![("provider".to_string(), p.name.clone())];
            self.metrics
                .provider_hashes
                .get_or_create(&label)
                .inner()
                .store(p.hashes, std::sync::atomic::Ordering::Relaxed);
            self.metrics
                .provider_throttled
                .get_or_create(&label)
                .inner()
                .store(p.throttled, std::sync::atomic::Ordering::Relaxed);
            self.metrics.provider_available.get_or_create(&label).set(i64::from(p.condition == "available"));
            if let Some(left) = p.quota_left {
                self.metrics.quota_left.get_or_create(&label).set(left as i64);
            }
        }
    }

    /// Runs both loops until `shutdown` turns true. Errors are logged and the pass retried.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let ingest = {
            let me = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    let pause = match me.ingest_once().await {
                        Ok(0) => IDLE_POLL,
                        Ok(_) => Duration::ZERO,
                        Err(e) => {
                            tracing::warn!(error = %e, "ingest pass failed");
                            Duration::from_secs(1)
                        }
                    };
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            })
        };
        loop {
            let pause = match self.write_once().await {
                Ok(r) if r.alerts > 0 => Duration::from_millis(50),
                Ok(_) => IDLE_POLL,
                Err(e) => {
                    tracing::warn!(error = %e, "write pass failed");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        let _ = ingest.await;
    }

    pub async fn status(&self) -> Result<ScannerStatus, ScanError> {
        let mut partitions: BTreeMap<i32, PartitionLag> = self
            .store
            .stream_offsets(self.source.name())
            .await?
            .into_iter()
            .map(|o| {
                let lag = (o.high_watermark - o.next_offset).max(0);
                (
                    o.partition,
                    PartitionLag {
                        partition: o.partition,
                        next_offset: o.next_offset,
                        high_watermark: o.high_watermark,
                        lag,
                    },
                )
            })
            .collect();
        partitions.extend(self.lag.lock().iter().map(|(p, l)| (*p, *l)));
        let writebacks = self.metrics.writeback_counts();
        Ok(ScannerStatus {
            source: self.source.name().to_string(),
            partitions: partitions.into_values().collect(),
            providers: self.lookups.providers(),
            cache: self.lookups.cache_status(),
            counts: self.store.enrichment_counts().await?,
            writebacks,
            rechecks_pending: self.rechecks_pending(),
        })
    }
}
