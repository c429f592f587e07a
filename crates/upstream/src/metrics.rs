//! Prometheus counters for everything that crosses the door, so operators can see throttling
//! and token churn per API family, and a latency histogram per API family, so they can tell
//! Microsoft's slowness from ours.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

use crate::api::Api;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    api: String,
    /// `2xx`, `4xx`, `5xx`, ... or `transport` when no response came back.
    class: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ApiLabels {
    api: String,
}

/// 10 ms to ~40 s, doubling: Graph reads answer in tens of milliseconds, advanced hunting and
/// machine-action posts can take tens of seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 13))
}

/// Counters shared by every clone of an `Upstream`.
#[derive(Debug)]
pub struct UpstreamMetrics {
    /// Seconds per HTTP attempt (one send, excluding budget waits and retry sleeps).
    latency: Family<ApiLabels, Histogram>,
    calls: Family<CallLabels, Counter>,
    throttled: Family<ApiLabels, Counter>,
    retries: Family<ApiLabels, Counter>,
    budget_waits: Family<ApiLabels, Counter>,
    token_requests: Counter,
    token_cache_hits: Counter,
    token_cache_misses: Counter,
}

impl Default for UpstreamMetrics {
    fn default() -> UpstreamMetrics {
        UpstreamMetrics {
            latency: Family::new_with_constructor(latency_histogram),
            calls: Family::default(),
            throttled: Family::default(),
            retries: Family::default(),
            budget_waits: Family::default(),
            token_requests: Counter::default(),
            token_cache_hits: Counter::default(),
            token_cache_misses: Counter::default(),
        }
    }
}

impl UpstreamMetrics {
    pub fn new() -> UpstreamMetrics {
        UpstreamMetrics::default()
    }

    /// Adds the counters to the lead's registry (names get `_total` from prometheus-client).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "upstream_calls",
            "Upstream HTTP attempts by API family and status class",
            self.calls.clone(),
        );
        registry.register("upstream_throttled", "429 responses received by API family", self.throttled.clone());
        registry.register("upstream_retries", "Upstream retries by API family", self.retries.clone());
        registry.register(
            "upstream_budget_waits",
            "Calls that waited locally for rate budget, by API family",
            self.budget_waits.clone(),
        );
        registry.register(
            "upstream_token_requests",
            "Requests sent to the token endpoint",
            self.token_requests.clone(),
        );
        registry.register(
            "upstream_token_cache_hits",
            "Token lookups served from cache",
            self.token_cache_hits.clone(),
        );
        registry.register(
            "upstream_token_cache_misses",
            "Token lookups that needed a token request",
            self.token_cache_misses.clone(),
        );
        registry.register_with_unit(
            "upstream_request_duration",
            "Upstream HTTP attempt latency by API family",
            Unit::Seconds,
            self.latency.clone(),
        );
    }

    /// How long one HTTP attempt to `api` took, from send to response headers (or failure).
    pub fn observe_latency(&self, api: Api, elapsed: Duration) {
        self.latency.get_or_create(&api_labels(api)).observe(elapsed.as_secs_f64());
    }

    pub(crate) fn record_call(&self, api: Api, status: Option<u16>) {
        let class = match status {
            Some(code) => format!("{}xx", code / 100),
            None => "transport".to_owned(),
        };
        self.calls.get_or_create(&CallLabels { api: api.label().to_owned(), class }).inc();
    }

    pub(crate) fn record_throttled(&self, api: Api) {
        self.throttled.get_or_create(&api_labels(api)).inc();
    }

    pub(crate) fn record_retry(&self, api: Api) {
        self.retries.get_or_create(&api_labels(api)).inc();
    }

    pub(crate) fn record_budget_wait(&self, api: Api) {
        self.budget_waits.get_or_create(&api_labels(api)).inc();
    }

    pub(crate) fn record_token_request(&self) {
        self.token_requests.inc();
    }

    pub(crate) fn record_token_cache(&self, hit: bool) {
        if hit {
            self.token_cache_hits.inc();
        } else {
            self.token_cache_misses.inc();
        }
    }

    /// Requests sent to the token endpoint so far.
    pub fn token_requests(&self) -> u64 {
        self.token_requests.get()
    }

    pub fn token_cache_hits(&self) -> u64 {
        self.token_cache_hits.get()
    }

    pub fn token_cache_misses(&self) -> u64 {
        self.token_cache_misses.get()
    }

    /// HTTP attempts for `api` whose status class is `class` (`"2xx"`, `"4xx"`, `"transport"`).
    pub fn calls(&self, api: Api, class: &str) -> u64 {
        self.calls.get_or_create(&CallLabels { api: api.label().to_owned(), class: class.to_owned() }).get()
    }

    /// 429 responses received for `api`.
    pub fn throttled(&self, api: Api) -> u64 {
        self.throttled.get_or_create(&api_labels(api)).get()
    }

    /// Retries performed for `api` (after 429/503, transport errors, or a stale token).
    pub fn retries(&self, api: Api) -> u64 {
        self.retries.get_or_create(&api_labels(api)).get()
    }

    /// Calls for `api` that waited for local budget.
    pub fn budget_waits(&self, api: Api) -> u64 {
        self.budget_waits.get_or_create(&api_labels(api)).get()
    }
}

fn api_labels(api: Api) -> ApiLabels {
    ApiLabels { api: api.label().to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_and_encodes() {
        let metrics = UpstreamMetrics::new();
        let mut registry = Registry::default();
        metrics.register(registry.sub_registry_with_prefix("riposte"));
        metrics.record_call(Api::Mde, Some(429));
        metrics.record_throttled(Api::Mde);
        metrics.record_token_request();
        metrics.observe_latency(Api::Mde, Duration::from_millis(30));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("riposte_upstream_calls_total{api=\"mde\",class=\"4xx\"} 1"), "{text}");
        assert!(text.contains("riposte_upstream_throttled_total{api=\"mde\"} 1"), "{text}");
        assert!(text.contains("riposte_upstream_token_requests_total 1"), "{text}");
        assert_eq!(metrics.calls(Api::Mde, "4xx"), 1);
        assert!(text.contains("riposte_upstream_request_duration_seconds_count{api=\"mde\"} 1"), "{text}");
        assert!(text.contains("# TYPE riposte_upstream_request_duration_seconds histogram"), "{text}");
    }
}
