//! Prometheus metrics of the scanner, registered into the application's registry under
//! `riposte_enrich_*`: records read, dead letters, cache hits and misses, lookups and throttles
//! per provider, quota left, whether each provider is available, write-backs by outcome, and
//! consumer lag per partition.

use std::collections::BTreeMap;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

#[derive(Default, Debug)]
pub struct Metrics {
    pub records: Counter,
    pub dead_letters: Counter,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub provider_hashes: Family<Labels, Counter>,
    pub provider_throttled: Family<Labels, Counter>,
    pub provider_available: Family<Labels, Gauge>,
    pub quota_left: Family<Labels, Gauge>,
    pub writebacks: Family<Labels, Counter>,
    pub lag: Family<Labels, Gauge>,
    /// Actions asked of the engine (file indicators, incident tags) by action and status.
    pub responses: Family<Labels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Registers every metric (clones share the same values).
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("riposte_enrich");
        r.register("records", "Streaming API records read", self.records.clone());
        r.register("dead_letters", "Records that could not be read, stored as dead letters", self.dead_letters.clone());
        r.register("cache_hits", "Hashes answered from the lookup history", self.cache_hits.clone());
        r.register("cache_misses", "Hashes not in the lookup history (or expired)", self.cache_misses.clone());
        r.register("provider_hashes", "Hashes a provider answered", self.provider_hashes.clone());
        r.register("provider_throttled", "429s and spent quotas per provider", self.provider_throttled.clone());
        r.register("provider_available", "1 when the provider can be asked now", self.provider_available.clone());
        r.register("quota_left", "Lookups left today per provider", self.quota_left.clone());
        r.register("writebacks", "Alerts written back, by outcome", self.writebacks.clone());
        r.register("consumer_lag", "Records behind the high watermark, per partition", self.lag.clone());
        r.register(
            "responses",
            "File indicators and incident tags asked of the engine, by action and status",
            self.responses.clone(),
        );
    }

    pub fn writeback_counts(&self) -> BTreeMap<String, u64> {
        ["posted", "adopted", "unchanged", "quiet", "failed"]
            .into_iter()
            .map(|o| {
                (o.to_string(), self.writebacks.get_or_create(&vec![("outcome".to_string(), o.to_string())]).get())
            })
            .collect()
    }
}
