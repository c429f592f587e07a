//! Dedupe and look up: the history first (a verdict is trusted until its TTL), then **one
//! lookup per hash at a time** (a hash another task is already looking up is waited for, not
//! asked again), through the providers in configured order: the next provider is asked when
//! one answers unknown or is unavailable (quota, back-off, refused credentials), so a provider
//! at quota degrades to the others, and its unknowns expire early to catch up later.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use store::{Store, StoreError, StoredLookup};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::hash::{FileHash, HashKind};
use crate::providers::{Gate, GateStatus, Provider};
use crate::verdict::{Status, Ttls, Verdict};

/// One configured provider and its gate.
pub struct Slot {
    pub provider: Box<dyn Provider>,
    pub gate: Gate,
}

/// Cache counters for status and metrics.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub coalesced: AtomicU64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStatus {
    pub hits: u64,
    pub misses: u64,
    pub coalesced: u64,
    /// hits / (hits + misses); none before the first lookup.
    pub hit_rate: Option<f64>,
}

type Waiter = watch::Receiver<Option<Verdict>>;

pub struct Lookups {
    store: Store,
    chain: Vec<Slot>,
    ttls: Ttls,
    inflight: Mutex<HashMap<String, Waiter>>,
    pub stats: CacheStats,
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("lookup history: {0}")]
    Store(#[from] StoreError),
    /// The task looking this hash up failed before answering; the caller retries later.
    #[error("the lookup of {0} in another task did not finish")]
    Abandoned(String),
}

impl Lookups {
    pub fn new(store: Store, chain: Vec<Slot>, ttls: Ttls) -> Lookups {
        Lookups { store, chain, ttls, inflight: Mutex::new(HashMap::new()), stats: CacheStats::default() }
    }

    pub fn ttls(&self) -> Ttls {
        self.ttls
    }

    pub fn providers(&self) -> Vec<GateStatus> {
        self.chain.iter().map(|s| s.gate.status()).collect()
    }

    pub fn cache_status(&self) -> CacheStatus {
        let hits = self.stats.hits.load(Ordering::Relaxed);
        let misses = self.stats.misses.load(Ordering::Relaxed);
        CacheStatus {
            hits,
            misses,
            coalesced: self.stats.coalesced.load(Ordering::Relaxed),
            hit_rate: (hits + misses > 0).then(|| hits as f64 / (hits + misses) as f64),
        }
    }

    /// The verdict of every hash, by value.
    pub async fn verdicts(&self, hashes: &[FileHash]) -> Result<HashMap<String, Verdict>, LookupError> {
        let mut wanted: Vec<FileHash> = hashes.to_vec();
        wanted.sort();
        wanted.dedup();
        let mut out = self.fresh_in_history(&wanted).await?;
        let missing: Vec<FileHash> = wanted.into_iter().filter(|h| !out.contains_key(&h.value)).collect();
        let (mine, theirs) = self.claim(&missing);
        if !mine.is_empty() {
            let guard = Claim { lookups: self, hashes: mine.iter().map(|(h, _)| h.value.clone()).collect() };
            let found = self.look_up(mine.iter().map(|(h, _)| h.clone()).collect()).await;
            let stored = match found {
                Ok(found) => self.remember(&found).await.map(|_| found),
                Err(e) => Err(e),
            };
            let found = stored?;
            for (h, tx) in &mine {
                if let Some(v) = found.get(&h.value) {
                    let _ = tx.send(Some(v.clone()));
                }
            }
            drop(guard);
            out.extend(found);
        }
        for (hash, mut rx) in theirs {
            let verdict = loop {
                if let Some(v) = rx.borrow().clone() {
                    break Some(v);
                }
                if rx.changed().await.is_err() {
                    break rx.borrow().clone();
                }
            };
            out.insert(hash.clone(), verdict.ok_or(LookupError::Abandoned(hash))?);
        }
        Ok(out)
    }

    /// Fresh verdicts from the history; counts hits and misses.
    async fn fresh_in_history(&self, hashes: &[FileHash]) -> Result<HashMap<String, Verdict>, LookupError> {
        let values: Vec<String> = hashes.iter().map(|h| h.value.clone()).collect();
        let now = OffsetDateTime::now_utc();
        let mut out = HashMap::new();
        for row in self.store.lookups(&values).await? {
            if row.expires_at > now
                && let Ok(v) = serde_json::from_value::<Verdict>(row.verdict)
            {
                out.insert(row.hash, v);
            }
        }
        self.stats.hits.fetch_add(out.len() as u64, Ordering::Relaxed);
        self.stats.misses.fetch_add((hashes.len() - out.len()) as u64, Ordering::Relaxed);
        Ok(out)
    }

    /// Splits hashes into those this task looks up (with the sender its waiters watch) and
    /// those already in flight elsewhere (with the receiver to wait on).
    #[allow(clippy::type_complexity)]
    fn claim(&self, hashes: &[FileHash]) -> (Vec<(FileHash, watch::Sender<Option<Verdict>>)>, Vec<(String, Waiter)>) {
        let mut inflight = self.inflight.lock();
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for h in hashes {
            match inflight.get(&h.value) {
                Some(rx) => {
                    self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
                    theirs.push((h.value.clone(), rx.clone()));
                }
                None => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(h.value.clone(), rx);
                    mine.push((h.clone(), tx));
                }
            }
        }
        (mine, theirs)
    }

    /// Asks the providers in order; a hash leaves the chain at its first definitive answer.
    async fn look_up(&self, hashes: Vec<FileHash>) -> Result<HashMap<String, Verdict>, LookupError> {
        let mut remaining = hashes;
        let mut answered: HashMap<String, Verdict> = HashMap::new();
        let mut first_unknown: HashMap<String, Verdict> = HashMap::new();
        let mut skipped: HashMap<String, Vec<String>> = HashMap::new();
        for slot in &self.chain {
            if remaining.is_empty() {
                break;
            }
            let mut still = Vec::new();
            for batch in batches(&remaining, slot.provider.batch_size()) {
                let units = batch.len() as u64;
                let result = match slot.gate.admit(units).await {
                    Err(why) => Err(why.to_string()),
                    Ok(()) => {
                        let r = slot.provider.lookup(&batch).await;
                        slot.gate.record(units, &r);
                        r.map_err(|e| e.to_string())
                    }
                };
                match result {
                    Ok(verdicts) => {
                        for (h, v) in verdicts {
                            if v.status.is_definitive() {
                                answered.insert(h.value.clone(), v);
                            } else {
                                first_unknown.entry(h.value.clone()).or_insert(v);
                                still.push(h);
                            }
                        }
                    }
                    Err(why) => {
                        tracing::warn!(provider = slot.provider.name(), %why, hashes = batch.len(), "provider unavailable");
                        for h in batch {
                            skipped.entry(h.value.clone()).or_default().push(slot.provider.name().to_string());
                            still.push(h);
                        }
                    }
                }
            }
            remaining = still;
        }
        for h in remaining {
            let mut v = first_unknown.remove(&h.value).unwrap_or_else(|| Verdict::unknown("none"));
            v.skipped = skipped.remove(&h.value).unwrap_or_default();
            answered.insert(h.value, v);
        }
        Ok(answered)
    }

    async fn remember(&self, found: &HashMap<String, Verdict>) -> Result<(), LookupError> {
        let now = OffsetDateTime::now_utc();
        let rows: Vec<StoredLookup> = found
            .iter()
            .map(|(hash, v)| StoredLookup {
                hash: hash.clone(),
                kind: HashKind::from_len(hash.len()).map_or("unknown", HashKind::as_str).to_string(),
                status: v.status.as_str().to_string(),
                source: v.source.clone(),
                verdict: serde_json::to_value(v).expect("a verdict serialises"),
                looked_up_at: now,
                expires_at: now + self.ttls.for_verdict(v),
            })
            .collect();
        self.store.put_lookups(&rows).await?;
        Ok(())
    }

    /// The newest stored verdict of a hash and every lookup of it (for the API and CLI).
    pub async fn history(&self, hash: &FileHash) -> Result<LookupHistory, LookupError> {
        let current = self.store.lookups(std::slice::from_ref(&hash.value)).await?.into_iter().next();
        let log = self.store.lookup_log(&hash.value).await?;
        Ok(LookupHistory { hash: hash.clone(), current, lookups: log })
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupHistory {
    pub hash: FileHash,
    pub current: Option<StoredLookup>,
    pub lookups: Vec<store::LookupLogEntry>,
}

/// Releases this task's in-flight claims however the lookup ends (a dropped sender wakes the
/// waiters, who then see no verdict and retry later).
struct Claim<'a> {
    lookups: &'a Lookups,
    hashes: Vec<String>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut inflight = self.lookups.inflight.lock();
        for h in &self.hashes {
            inflight.remove(h);
        }
    }
}

/// Groups by algorithm (RL's bulk takes one type per request) and cuts to the batch size.
fn batches(hashes: &[FileHash], size: usize) -> Vec<Vec<FileHash>> {
    let mut by_kind: BTreeMap<HashKind, Vec<FileHash>> = BTreeMap::new();
    for h in hashes {
        by_kind.entry(h.kind).or_default().push(h.clone());
    }
    by_kind.into_values().flat_map(|v| v.chunks(size.max(1)).map(<[FileHash]>::to_vec).collect::<Vec<_>>()).collect()
}

/// A chain that always answers from a function: the throughput bench's stub provider.
pub struct StubProvider<F>(pub F);

impl<F> Provider for StubProvider<F>
where
    F: Fn(&FileHash) -> Status + Send + Sync,
{
    fn name(&self) -> &'static str {
        "stub"
    }

    fn batch_size(&self) -> usize {
        100
    }

    fn lookup<'a>(
        &'a self,
        hashes: &'a [FileHash],
    ) -> futures::future::BoxFuture<'a, Result<Vec<(FileHash, Verdict)>, crate::ProviderError>> {
        Box::pin(async move {
            Ok(hashes
                .iter()
                .map(|h| {
                    let mut v = Verdict::unknown("stub");
                    v.status = (self.0)(h);
                    (h.clone(), v)
                })
                .collect())
        })
    }
}

/// Shared handle.
pub type SharedLookups = Arc<Lookups>;

#[cfg(test)]
mod tests;
