//! The enrichment scanner (seed 003) end to end: the sandbox plays the Streaming API and the
//! four threat-intelligence providers; the scanner reads the stream, looks hashes up and comments
//! on the sandbox's alerts through Graph. Effects are asserted in the sandbox: the comments on
//! each alert, and how often each provider saw each hash.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use enrich::metrics::Metrics;
use enrich::{EnrichmentConfig, Scanner};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::Harness;

/// The sandbox's rule for a hash's truth (`sandbox/src/intel/providers.rs`), restated so the
/// test can say which verdict each comment must carry.
fn expected(hash: &str) -> &'static str {
    match Sha256::digest(hash.as_bytes())[0] {
        0..=63 => "ReversingLabs: MALICIOUS",
        64..=95 => "ReversingLabs: SUSPICIOUS",
        96..=159 => "ReversingLabs: KNOWN-GOOD",
        _ => "ReversingLabs: UNKNOWN",
    }
}

fn sha1(n: usize) -> String {
    hex::encode(&Sha256::digest(format!("enrichment-{n}").as_bytes())[..20])
}

fn config(h: &Harness) -> EnrichmentConfig {
    let mut cfg = EnrichmentConfig::sandbox(h.sandbox.base_url());
    cfg.settle_secs = 0;
    cfg
}

async fn scanner(h: &Harness, cfg: &EnrichmentConfig) -> Arc<Scanner> {
    scanner_with(h, cfg, Arc::new(Metrics::new())).await
}

async fn scanner_with(h: &Harness, cfg: &EnrichmentConfig, metrics: Arc<Metrics>) -> Arc<Scanner> {
    let tenants = riposte::app::sandbox_settings(&h.sandbox, h.dir.path().to_path_buf(), Duration::from_secs(1))
        .expect("settings")
        .tenants;
    let s = cfg.build(&h.engine, tenants, metrics).await.expect("scanner builds");
    Arc::new(s)
}

/// The hashes of `total` alerts, each with `per_alert` SHA1s drawn from a pool half as large as
/// the slots, so every hash is shared by two alerts (hash `3i + 7j` of the pool for the `j`th
/// file of alert `i`).
fn plan(total: usize, per_alert: usize, first: usize) -> Vec<Vec<String>> {
    let pool = (total * per_alert / 2).max(1);
    (0..total).map(|i| (0..per_alert).map(|j| sha1(first + (3 * i + 7 * j) % pool)).collect()).collect()
}

/// Creates `total` alerts spread over the tenants (see [`plan`]). Returns alert id -> (tenant, hashes).
async fn stream_alerts(
    h: &Harness,
    tenants: usize,
    total: usize,
    per_alert: usize,
    first: usize,
) -> BTreeMap<String, (String, Vec<String>)> {
    create_alerts(h, tenants, &plan(total, per_alert, first)).await
}

/// Creates one alert per entry of `planned`, alert `i` in tenant `i % tenants`.
async fn create_alerts(
    h: &Harness,
    tenants: usize,
    planned: &[Vec<String>],
) -> BTreeMap<String, (String, Vec<String>)> {
    let mut per_tenant: Vec<(Vec<Value>, Vec<Vec<String>>)> = vec![(Vec::new(), Vec::new()); tenants];
    for (i, hashes) in planned.iter().enumerate() {
        let (batch, of) = &mut per_tenant[i % tenants];
        batch.push(json!({"files": hashes.iter().map(|h| json!({"sha1": h})).collect::<Vec<_>>()}));
        of.push(hashes.clone());
    }
    let mut out = BTreeMap::new();
    for (t, (batch, hashes_of)) in per_tenant.into_iter().enumerate() {
        let tenant = h.tenant(t);
        let made = h.sandbox_admin("streaming/alerts", json!({"tenant": tenant, "alerts": batch})).await;
        for (a, hashes) in made["alerts"].as_array().expect("alerts").iter().zip(hashes_of) {
            out.insert(a["id"].as_str().expect("id").to_string(), (tenant.clone(), hashes));
        }
    }
    out
}

async fn intel(h: &Harness) -> Value {
    h.http.get(format!("{}/_sandbox/intel", h.sandbox.base_url())).send().await.unwrap().json().await.unwrap()
}

/// Comments on an alert that carry our marker.
async fn our_comments(h: &Harness, tenant: &str, alert: &str) -> Vec<String> {
    let a = h.alert(tenant, alert).await;
    a["comments"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["comment"].as_str())
                .filter(|c| c.contains("[riposte-enrich v1 "))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

async fn run_until(scanner: &Arc<Scanner>, done: impl Fn(&enrich::ScannerStatus) -> bool) -> enrich::ScannerStatus {
    for _ in 0..400 {
        scanner.ingest_once().await.expect("ingest");
        scanner.write_once().await.expect("write");
        let st = scanner.status().await.expect("status");
        if done(&st) {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the scanner did not finish: {:?}", scanner.status().await.expect("status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_alert_gets_one_comment_and_every_hash_is_looked_up_once_across_a_restart() {
    let h = Harness::start(3).await;
    // 200 alerts, 600 hash slots, 300 distinct hashes, 3 tenants (the acceptance run).
    let alerts = stream_alerts(&h, 3, 200, 3, 0).await;
    assert_eq!(alerts.len(), 200);
    // Malformed input among the records: the consumer stores it and keeps going.
    h.sandbox_admin("streaming/raw", json!({"partition": 1, "body": "{not json"})).await;
    let no_tenant = json!({"records": [{"category": "AdvancedHunting-AlertEvidence", "properties": {"AlertId": "x", "EntityType": "File", "SHA1": sha1(1)}}]});
    h.sandbox_admin("streaming/raw", json!({"partition": 2, "body": no_tenant.to_string()})).await;

    let cfg = config(&h);
    // First run: stopped like a crash, mid-stream, after some comments went out.
    let first = scanner(&h, &cfg).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(first.clone().run(stop_rx));
    let started = std::time::Instant::now();
    loop {
        let st = first.status().await.expect("status");
        if st.counts.writebacks >= 20 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    let _ = task.await;
    drop(stop_tx);
    let written_before = first.status().await.expect("status").counts.writebacks;
    assert!(written_before < 200, "the crash came too late to test anything ({written_before} written)");

    // Second run on the same database: picks up at the checkpointed offsets.
    let second = scanner(&h, &cfg).await;
    let st = run_until(&second, |st| st.counts.writebacks == 200 && st.counts.alerts_pending == 0).await;
    assert_eq!(st.counts.dead_letters, 2, "{st:?}");
    assert!(st.partitions.iter().all(|p| p.lag == 0), "{:?}", st.partitions);

    // Every alert: exactly one comment, one line per hash with the sandbox's verdict.
    for (id, (tenant, hashes)) in &alerts {
        let comments = our_comments(&h, tenant, id).await;
        assert_eq!(comments.len(), 1, "alert {id}: {comments:?}");
        for hash in hashes {
            let line = comments[0]
                .lines()
                .find(|l| l.contains(hash.as_str()))
                .unwrap_or_else(|| panic!("{hash} missing in {}", comments[0]));
            assert!(line.contains(expected(hash)), "{hash}: {line}");
        }
    }
    // Every distinct hash was asked of each provider at most once, across both runs.
    let usage = intel(&h).await;
    let distinct: std::collections::BTreeSet<&String> = alerts.values().flat_map(|(_, hs)| hs.iter()).collect();
    assert_eq!(distinct.len(), 300);
    let rl: HashMap<String, u64> = serde_json::from_value(usage["reversinglabs"]["usage"]["lookups"].clone()).unwrap();
    assert_eq!(rl.len(), 300, "RL saw {} hashes", rl.len());
    for p in ["reversinglabs", "virustotal", "malwarebazaar", "misp"] {
        let seen: HashMap<String, u64> = serde_json::from_value(usage[p]["usage"]["lookups"].clone()).unwrap();
        assert!(
            seen.values().all(|n| *n == 1),
            "{p} looked a hash up twice: {:?}",
            seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
        );
    }
    // The history shows one lookup per hash.
    for hash in distinct.iter().take(20) {
        let log = h.engine.store().lookup_log(hash).await.expect("log");
        assert_eq!(log.len(), 1, "{hash}: {log:?}");
    }
    // Nothing more to say: another pass posts nothing.
    let report = second.write_once().await.expect("write");
    assert_eq!(report.posted, 0);
    // `[enrichment.respond]` is not configured: no file indicator, no incident tag, no action.
    for t in 0..3 {
        let tenant = h.tenant(t);
        assert!(our_indicators(&h, &tenant).await.is_empty(), "indicators without configuration");
        let state = h.state(&tenant).await;
        for i in state["incidents"].as_array().expect("incidents") {
            let tags = i["customTags"].as_array().cloned().unwrap_or_default();
            assert!(!tags.iter().any(|t| t.as_str().is_some_and(|t| t.starts_with(TAG_PREFIX))), "{i}");
        }
    }
    let ops = h
        .engine
        .store()
        .list_operations(store::OperationFilter {
            action: Some("AddIndicator".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("operations");
    assert!(ops.is_empty(), "{ops:?}");
}

const TAG_PREFIX: &str = "Riposte enrichment";

/// The MDE indicators of a tenant that the scanner submitted (its title prefix): value and indicator.
async fn our_indicators(h: &Harness, tenant: &str) -> Vec<(String, Value)> {
    let state = h.state(tenant).await;
    state["indicators"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|i| i["title"].as_str().is_some_and(|t| t.starts_with(TAG_PREFIX)))
                .map(|i| (i["indicatorValue"].as_str().unwrap_or_default().to_string(), i.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_at_quota_degrades_to_the_others_and_catches_up() {
    let h = Harness::start(1).await;
    h.sandbox_admin("intel/reversinglabs", json!({"quota": 0})).await;
    let mut cfg = config(&h);
    cfg.quota_probe_secs = 1;
    cfg.ttl.degraded_secs = 1;
    let metrics = Arc::new(Metrics::new());
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let s = scanner_with(&h, &cfg, metrics.clone()).await;
    let alerts = stream_alerts(&h, 1, 10, 2, 1000).await;
    h.sandbox_admin("streaming/raw", json!({"partition": 3, "body": "[]"})).await;
    let st = run_until(&s, |st| st.counts.writebacks == 10).await;
    let rl = &st.providers[0];
    assert_eq!(rl.name, "ReversingLabs");
    assert_eq!(rl.condition, "daily quota exhausted", "{rl:?}");
    assert_eq!(rl.quota_left, Some(0), "{rl:?}");
    assert!(rl.throttled >= 1);
    assert!(st.rechecks_pending > 0, "alerts with hashes nobody knew wait for RL: {st:?}");
    // The same on /metrics: RL unavailable with no quota left, the others answering, and the
    // consumer's lag, cache, write-backs and dead letters.
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    for line in [
        "riposte_enrich_provider_available{provider=\"ReversingLabs\"} 0",
        "riposte_enrich_provider_available{provider=\"VirusTotal\"} 1",
        "riposte_enrich_quota_left{provider=\"ReversingLabs\"} 0",
        "riposte_enrich_consumer_lag{partition=\"0\"} 0",
        "riposte_enrich_writebacks_total{outcome=\"posted\"} 10",
        "riposte_enrich_dead_letters_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
    for family in [
        "riposte_enrich_provider_hashes_total{provider=\"VirusTotal\"}",
        "riposte_enrich_provider_throttled_total{provider=\"ReversingLabs\"}",
        "riposte_enrich_cache_misses_total",
        "riposte_enrich_cache_hits_total",
        "riposte_enrich_records_total",
    ] {
        assert!(text.lines().any(|l| l.starts_with(family)), "{family} not in:\n{text}");
    }
    // The others answered: VirusTotal knows every hash RL would call malicious, suspicious or known.
    for (id, (tenant, hashes)) in &alerts {
        let c = &our_comments(&h, tenant, id).await[0];
        for hash in hashes {
            let line = c.lines().find(|l| l.contains(hash.as_str())).expect("line");
            let want = expected(hash).replace("ReversingLabs", "VirusTotal");
            if want.ends_with("UNKNOWN") {
                // Every provider left was asked and none knew it; VirusTotal, the first, says so.
                assert!(line.contains("VirusTotal: UNKNOWN"), "{line}");
            } else if want.ends_with("KNOWN-GOOD") {
                assert!(line.contains("VirusTotal: KNOWN-GOOD"), "{line}");
            } else {
                assert!(line.contains("VirusTotal: MALICIOUS") || line.contains("VirusTotal: SUSPICIOUS"), "{line}");
            }
        }
    }
    // Quota back: after the probe interval RL is asked again, for new hashes and for the
    // unknowns reached while it was out.
    h.sandbox_admin("intel/reversinglabs", json!({"quota": null})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let more = stream_alerts(&h, 1, 2, 2, 5000).await;
    run_until(&s, |st| st.counts.writebacks == 12).await;
    let (id, (tenant, _)) = more.iter().next().expect("alert");
    let c = &our_comments(&h, tenant, id).await[0];
    assert!(c.contains("ReversingLabs: "), "{c}");
    assert_eq!(s.status().await.expect("status").providers[0].condition, "available");
    // Caught up: the hashes nobody knew while RL was out are asked of RL once it is back (their
    // degraded verdicts expired), and the history shows both lookups. Their verdict did not
    // change, so their alerts keep their one comment.
    let unknown: Vec<&String> =
        alerts.values().flat_map(|(_, hs)| hs.iter()).filter(|x| expected(x).ends_with("UNKNOWN")).collect();
    assert!(!unknown.is_empty(), "the first batch has hashes nobody knows");
    let st = run_until(&s, |st| st.rechecks_pending == 0).await;
    assert_eq!(st.providers[0].condition, "available", "{:?}", st.providers[0]);
    let rl: HashMap<String, u64> =
        serde_json::from_value(intel(&h).await["reversinglabs"]["usage"]["lookups"].clone()).unwrap();
    for hash in &unknown {
        assert_eq!(rl.get(*hash), Some(&1), "RL caught up on {hash}: {rl:?}");
        let log = h.engine.store().lookup_log(hash).await.expect("log");
        assert_eq!(log.len(), 2, "{hash}: {log:?}");
        assert_eq!(log[1].source, "ReversingLabs", "{log:?}");
    }
    for (id, (tenant, _)) in &alerts {
        assert_eq!(our_comments(&h, tenant, id).await.len(), 1, "{id}");
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
    assert!(text.lines().any(|l| l == "riposte_enrich_provider_available{provider=\"ReversingLabs\"} 1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_shown_and_skipped() {
    let h = Harness::start(1).await;
    let mut cfg = config(&h);
    cfg.providers[0].secret = "wrong".to_string().into();
    let s = scanner(&h, &cfg).await;
    stream_alerts(&h, 1, 2, 1, 9000).await;
    let st = run_until(&s, |st| st.counts.writebacks == 2).await;
    assert_eq!(st.providers[0].condition, "backing off: credentials refused (HTTP 401)", "{:?}", st.providers[0]);
    assert_eq!(intel(&h).await["reversinglabs"]["usage"]["unauthorized"], 1);

    // What a console page reads: the store's counts and dead letters, a hash's history, and
    // both routes in the OpenAPI document.
    let (code, body) = h.get("/v1/enrichment/status").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["running"], false, "{body}");
    assert_eq!(body["counts"]["writebacks"], 2, "{body}");
    assert!(body["recentDeadLetters"].is_array(), "{body}");
    let hash = sha1(9000);
    let (code, body) = h.get(&format!("/v1/enrichment/lookups?hash={}", hash.to_ascii_uppercase())).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["hash"], hash.as_str());
    assert!(
        ["malicious", "suspicious", "known-good", "unknown"]
            .contains(&body["current"]["status"].as_str().unwrap_or("")),
        "{body}"
    );
    assert!(body["current"]["expiresAt"].is_string(), "{body}");
    assert_eq!(body["lookups"].as_array().map(Vec::len), Some(1), "{body}");
    let (code, body) = h.get("/v1/enrichment/lookups?hash=xyz").await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["field"], "hash", "{body}");
    let (_, doc) = h.get("/v1/openapi.json").await;
    for path in ["/v1/enrichment/status", "/v1/enrichment/lookups"] {
        assert!(doc["paths"][path]["get"]["responses"]["200"]["content"].is_object(), "{path} documented");
    }
}

/// A tansu broker (`memory://` storage) on a free port, killed on drop.
struct Tansu {
    child: std::process::Child,
    addr: String,
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tansu from `RIPOSTE_TANSU` (set by `scripts/test`, which installs it) or `PATH`. A
/// missing broker fails the test rather than skipping it; `RIPOSTE_SKIP_KAFKA=1` opts out, loudly.
async fn tansu() -> Option<Tansu> {
    if std::env::var("RIPOSTE_SKIP_KAFKA").is_ok_and(|v| v == "1") {
        eprintln!("RIPOSTE_SKIP_KAFKA=1: the Kafka path is NOT tested in this run");
        return None;
    }
    let bin = std::env::var("RIPOSTE_TANSU").unwrap_or_else(|_| "tansu".to_string());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(&bin)
        .args(["broker", "--listener-url", &format!("tcp://{addr}"), "--advertised-listener-url", &format!("tcp://{addr}")])
        .args(["--storage-engine", "memory://tansu/", "--silent"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start tansu ({bin}: {e}): run scripts/test, which installs it, or set RIPOSTE_TANSU / RIPOSTE_SKIP_KAFKA=1")
        });
    let t = Tansu { child, addr };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&t.addr).await.is_ok() {
            return Some(t);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tansu did not listen on {}", t.addr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kafka_path_against_a_real_broker() {
    let Some(broker) = tansu().await else { return };
    let h = Harness::start(2).await;
    let topic = "insights-logs-advancedhunting-alertevidence";
    let kafka = enrich::source::KafkaConfig {
        bootstrap: vec![broker.addr.clone()],
        topic: topic.to_string(),
        connection_string: None,
        username: None,
        password: None,
        tls: Some(false),
        entra_tenant: None,
        entra_audience: None,
    };
    let client = enrich::source::kafka_client(&kafka, None).await.expect("connects to tansu");
    client.controller_client().expect("controller").create_topic(topic, 2, 1, 5_000).await.expect("topic");

    // The sandbox's Streaming API output, forwarded to the broker as Event Hubs would carry it.
    let alerts = stream_alerts(&h, 2, 20, 2, 20_000).await;
    let mut produced = 0;
    for p in 0..4 {
        let page: Value = h
            .http
            .get(format!("{}/_sandbox/streaming/{topic}/partitions/{p}?offset=0&max=1000", h.sandbox.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bodies: Vec<Vec<u8>> = page["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["body"].as_str().unwrap().as_bytes().to_vec())
            .collect();
        produced += bodies.len();
        enrich::source::kafka_produce(&client, topic, p % 2, bodies).await.expect("produce");
    }
    assert_eq!(produced, 20);
    enrich::source::kafka_produce(&client, topic, 0, vec![b"not json".to_vec()]).await.expect("produce");

    let mut cfg = config(&h);
    cfg.source = enrich::config::SourceKind::Kafka;
    cfg.kafka = Some(kafka);
    let s = scanner(&h, &cfg).await;
    let st = run_until(&s, |st| st.counts.writebacks == 20).await;
    assert_eq!(st.counts.dead_letters, 1);
    let offsets = h.engine.store().stream_offsets(topic).await.expect("offsets");
    assert_eq!(offsets.len(), 2, "{offsets:?}");
    assert_eq!(offsets.iter().map(|o| o.next_offset).sum::<i64>(), 21);
    assert!(st.partitions.iter().all(|p| p.lag == 0), "{:?}", st.partitions);
    for (id, (tenant, _)) in &alerts {
        assert_eq!(our_comments(&h, tenant, id).await.len(), 1, "{id}");
    }
}

/// Forwards the sandbox's Streaming API records from `from` (per sandbox partition) to the
/// broker, as Event Hubs would carry them (sandbox partition `p` to broker partition `p % n`).
/// Returns the records forwarded.
async fn forward(
    h: &Harness,
    client: &enrich::source::KafkaClient,
    topic: &str,
    broker_partitions: i32,
    from: &mut [i64; 4],
) -> usize {
    let mut produced = 0;
    for (p, next) in from.iter_mut().enumerate() {
        let page: Value = h
            .http
            .get(format!("{}/_sandbox/streaming/{topic}/partitions/{p}?offset={next}&max=10000", h.sandbox.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bodies: Vec<Vec<u8>> = page["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["body"].as_str().unwrap().as_bytes().to_vec())
            .collect();
        if bodies.is_empty() {
            continue;
        }
        *next += bodies.len() as i64;
        produced += bodies.len();
        enrich::source::kafka_produce(client, topic, p as i32 % broker_partitions, bodies).await.expect("produce");
    }
    produced
}

/// `riposte enrich run` in its own process, so the test can kill it with SIGKILL.
struct ScannerProcess(std::process::Child, std::path::PathBuf);

impl ScannerProcess {
    /// Starts `riposte enrich run`, its warnings going to a log file beside the data directory
    /// (shown by failing assertions).
    fn spawn(config: &std::path::Path, data: &std::path::Path) -> ScannerProcess {
        let log = data.with_file_name(format!("scanner-{}.log", std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos()));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(["enrich", "run", "--config"])
            .arg(config)
            .arg("--data")
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("scanner log"))
            .spawn()
            .expect("riposte enrich run starts");
        ScannerProcess(child, log)
    }

    /// The tail of what the scanner logged, for assertion messages.
    fn stderr(&self) -> String {
        let text = std::fs::read_to_string(&self.1).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        if tail.is_empty() {
            String::new()
        } else {
            format!("\nscanner log (last lines):\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
        }
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    fn kill_9(&mut self) {
        self.0.kill().expect("SIGKILL the scanner");
        let _ = self.0.wait();
    }
}

impl Drop for ScannerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The config file of a standalone scanner: the sandbox's clouds and tenants, the broker, the
/// four sandbox providers, and file indicators + incident tags on.
fn standalone_config(h: &Harness, broker: &str, topic: &str) -> String {
    let mut c = h.process_config();
    c.push_str(&format!(
        "\n[enrichment]\nsource = \"kafka\"\nsettle_secs = 1\n\n[enrichment.kafka]\nbootstrap = [\"{broker}\"]\ntopic = \"{topic}\"\ntls = false\n"
    ));
    for p in config(h).providers {
        let username = p.username.as_deref().map(|u| format!("username = \"{u}\"\n")).unwrap_or_default();
        c.push_str(&format!(
            "\n[[enrichment.providers]]\nkind = \"{}\"\nbase_url = \"{}\"\n{username}secret = \"{}\"\nper_minute = 60000\n",
            serde_json::to_value(p.kind).unwrap().as_str().unwrap(),
            p.base_url,
            secrecy::ExposeSecret::expose_secret(&p.secret)
        ));
    }
    c.push_str(&format!(
        "\n[enrichment.respond]\nfile_indicators = true\nincident_tags = true\ntag_prefix = \"{TAG_PREFIX}\"\n"
    ));
    c
}

/// Polls the scanner's database (SQLite in WAL mode, read beside the running process) until
/// every produced record is behind the committed offsets, every alert has its ledger row and
/// no operation of the scanner is still open; `Err` says what was still missing at `within`.
async fn scanner_settled(data: &std::path::Path, topic: &str, produced: i64, within: Duration) -> Result<(), String> {
    let started = std::time::Instant::now();
    loop {
        let db = riposte::app::open_store(data).await.map_err(|e| e.to_string())?;
        let offsets: i64 =
            db.stream_offsets(topic).await.map_err(|e| e.to_string())?.iter().map(|o| o.next_offset).sum();
        let counts = db.enrichment_counts().await.map_err(|e| e.to_string())?;
        let ops = db
            .list_operations(store::OperationFilter { limit: 10_000, ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
        db.close().await;
        let open: Vec<String> = ops
            .iter()
            .filter(|o| !store::OpState::parse(&o.status).is_none_or(store::OpState::is_terminal))
            .map(|o| format!("{} {}", o.action, o.status))
            .collect();
        if offsets == produced && counts.writebacks == 200 && open.is_empty() {
            return Ok(());
        }
        if started.elapsed() > within {
            return Err(format!("offsets {offsets} of {produced}, {counts:?}, open operations {open:?}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Alerts carrying our comment, over the tenants of `alerts`.
async fn commented(h: &Harness, alerts: &BTreeMap<String, (String, Vec<String>)>) -> usize {
    let mut n = 0;
    let tenants: std::collections::BTreeSet<&String> = alerts.values().map(|(t, _)| t).collect();
    for t in tenants {
        let state = h.state(t).await;
        for a in state["alerts"].as_array().into_iter().flatten() {
            let ours = a["comments"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["comment"].as_str().is_some_and(|c| c.contains("[riposte-enrich v1 ")));
            if ours && a["id"].as_str().is_some_and(|id| alerts.contains_key(id)) {
                n += 1;
            }
        }
    }
    n
}

/// The acceptance run, through a real broker and a real process: 200 alerts with 600
/// hashes (300 distinct) across 3 tenants produced to tansu; `riposte enrich run` is killed
/// with SIGKILL mid-stream (half the alerts produced, some commented) and started again on the
/// same database. Every alert ends with exactly one comment with the right verdicts, every
/// hash was asked of each provider once (the sandbox counts the calls) and the history shows
/// one lookup each, no record is lost, the malformed ones are dead letters, and — configured
/// here — each malicious hash became one MDE file indicator per tenant through the engine
/// (audited, reversible) and each incident got its tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acceptance_through_the_broker_with_a_kill_9_of_the_scanner_process() {
    let Some(broker) = tansu().await else { return };
    let h = Harness::start(3).await;
    let topic = "insights-logs-advancedhunting-alertevidence";
    let kafka = enrich::source::KafkaConfig {
        bootstrap: vec![broker.addr.clone()],
        topic: topic.to_string(),
        connection_string: None,
        username: None,
        password: None,
        tls: Some(false),
        entra_tenant: None,
        entra_audience: None,
    };
    let client = enrich::source::kafka_client(&kafka, None).await.expect("connects to tansu");
    client.controller_client().expect("controller").create_topic(topic, 3, 1, 5_000).await.expect("topic");
    let planned = plan(200, 3, 40_000);
    let distinct: std::collections::BTreeSet<&String> = planned.iter().flatten().collect();
    assert_eq!((planned.len(), planned.iter().flatten().count(), distinct.len()), (200, 600, 300));

    // The first 20 comments take a little while upstream; every later one hangs until the
    // scanner dies. So the kill lands mid-stream however fast or loaded the machine is.
    h.sandbox_admin(
        "faults",
        json!([
            {"path_prefix": "/v1.0/security/alerts_v2/", "method": "POST", "delay_ms": 40, "count": 20},
            {"path_prefix": "/v1.0/security/alerts_v2/", "method": "POST", "delay_ms": 600_000},
        ]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("riposte.toml");
    std::fs::write(&config_path, standalone_config(&h, &broker.addr, topic)).unwrap();
    let data = dir.path().join("data");

    // First half, with a malformed message among it.
    let mut offsets = [0i64; 4];
    let mut alerts = create_alerts(&h, 3, &planned[..100]).await;
    let mut produced = forward(&h, &client, topic, 3, &mut offsets).await;
    enrich::source::kafka_produce(&client, topic, 1, vec![b"{not json".to_vec()]).await.expect("produce");
    produced += 1;
    let mut first = ScannerProcess::spawn(&config_path, &data);
    let started = std::time::Instant::now();
    let mut seen = 0;
    while started.elapsed() < Duration::from_secs(90) {
        seen = commented(&h, &alerts).await;
        if seen >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill_9();
    let at_kill = commented(&h, &alerts).await;
    assert!(
        seen >= 15 && at_kill <= 20,
        "the kill must land mid-stream ({seen} then {at_kill} of 100 commented){}",
        first.stderr()
    );
    // The hanging requests died with the scanner; from now on comments are answered at once.
    let cleared = h.http.delete(format!("{}/_sandbox/faults", h.sandbox.base_url())).send().await.unwrap();
    assert!(cleared.status().is_success(), "clearing the faults: {}", cleared.status());

    // The second half arrives while the scanner is down; then it starts again.
    let more = create_alerts(&h, 3, &planned[100..]).await;
    alerts.extend(more);
    produced += forward(&h, &client, topic, 3, &mut offsets).await;
    let no_tenant = json!({"records": [{"category": "AdvancedHunting-AlertEvidence", "properties": {"AlertId": "x", "EntityType": "File", "SHA1": sha1(1)}}]});
    enrich::source::kafka_produce(&client, topic, 2, vec![no_tenant.to_string().into_bytes()]).await.expect("produce");
    produced += 1;
    assert_eq!(alerts.len(), 200);
    let mut second = ScannerProcess::spawn(&config_path, &data);
    let restarted = std::time::Instant::now();
    let mut done = 0;
    // Generous: the whole e2e suite shares the machine's two cores with this scanner.
    while restarted.elapsed() < Duration::from_secs(300) {
        done = commented(&h, &alerts).await;
        if done == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(done, 200, "every alert commented after the restart{}", second.stderr());
    // Wait until the scanner has recorded its last writes (the ledger, the offsets and the
    // operations of its indicators and tags), then stop it the same way.
    let settled = scanner_settled(&data, topic, produced as i64, Duration::from_secs(120)).await;
    second.kill_9();
    assert!(settled.is_ok(), "the scanner settles: {:?}{}", settled.err(), second.stderr());

    // Every alert: exactly one comment, one line per hash with the sandbox's verdict.
    let mut malicious: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    // (tenant, incident) -> the tags its alerts call for: each alert's worst verdict when malicious or suspicious.
    let mut incidents: BTreeMap<(String, String), std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (id, (tenant, hashes)) in &alerts {
        let a = h.alert(tenant, id).await;
        let comments: Vec<&str> = a["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["comment"].as_str())
            .filter(|c| c.contains("[riposte-enrich v1 "))
            .collect();
        assert_eq!(comments.len(), 1, "alert {id}: {comments:?}");
        for hash in hashes {
            let line = comments[0].lines().find(|l| l.contains(hash.as_str())).expect("a line per hash");
            assert!(line.contains(expected(hash)), "{hash}: {line}");
            if expected(hash).ends_with("MALICIOUS") {
                malicious.entry(tenant.clone()).or_default().insert(hash.clone());
            }
        }
        let verdicts: Vec<&str> = hashes.iter().map(|x| expected(x)).collect();
        let tag = if verdicts.iter().any(|v| v.ends_with("MALICIOUS")) {
            Some("Riposte enrichment: MALICIOUS")
        } else if verdicts.iter().any(|v| v.ends_with("SUSPICIOUS")) {
            Some("Riposte enrichment: SUSPICIOUS")
        } else {
            None
        };
        let incident = a["incidentId"].to_string().trim_matches('"').to_string();
        incidents.entry((tenant.clone(), incident)).or_default().extend(tag);
    }
    // Each provider saw each hash at most once across the kill; RL saw every one.
    let usage = intel(&h).await;
    let rl: HashMap<String, u64> = serde_json::from_value(usage["reversinglabs"]["usage"]["lookups"].clone()).unwrap();
    assert_eq!(rl.len(), 300, "RL saw {} hashes", rl.len());
    for p in ["reversinglabs", "virustotal", "malwarebazaar", "misp"] {
        let seen: HashMap<String, u64> = serde_json::from_value(usage[p]["usage"]["lookups"].clone()).unwrap();
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{p} looked hashes up twice inside their TTL: {twice:?}");
    }
    // Malicious hashes: exactly one file indicator per tenant and hash, nothing else of ours.
    let total_malicious: usize = malicious.values().map(|m| m.len()).sum();
    assert!(total_malicious > 20, "the sandbox's verdicts include malicious hashes ({total_malicious})");
    for t in 0..3 {
        let tenant = h.tenant(t);
        let ours = our_indicators(&h, &tenant).await;
        let mut values: Vec<&String> = ours.iter().map(|(v, _)| v).collect();
        values.sort();
        let want: Vec<&String> = malicious.get(&tenant).map(|m| m.iter().collect()).unwrap_or_default();
        assert_eq!(values, want, "tenant {tenant}: indicators are the malicious hashes, once each");
        for (_, i) in &ours {
            assert_eq!(i["indicatorType"], "FileSha1", "{i}");
            assert_eq!(i["action"], "Block", "{i}");
        }
        for ((_, incident), want) in incidents.iter().filter(|((t, _), _)| *t == tenant) {
            let inc = h.incident(&tenant, incident).await;
            let mut tags: Vec<&str> = inc["customTags"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| t.starts_with(TAG_PREFIX))
                .collect();
            tags.sort();
            assert_eq!(tags, want.iter().copied().collect::<Vec<_>>(), "{inc}");
        }
    }

    // The scanner's database: history, offsets, dead letters, ledger, and the actions as operations.
    let db = riposte::app::open_store(&data).await.expect("the scanner's store");
    for hash in &distinct {
        let log = db.lookup_log(hash).await.expect("log");
        assert_eq!(log.len(), 1, "{hash}: {log:?}");
    }
    let offsets = db.stream_offsets(topic).await.expect("offsets");
    assert_eq!(offsets.iter().map(|o| o.next_offset).sum::<i64>(), produced as i64, "{offsets:?}");
    let counts = db.enrichment_counts().await.expect("counts");
    assert_eq!(counts.dead_letters, 2, "{counts:?}");
    assert_eq!(counts.writebacks, 200, "{counts:?}");
    let ops = db
        .list_operations(store::OperationFilter {
            action: Some("AddIndicator".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("operations");
    assert_eq!(ops.len(), total_malicious, "one operation per tenant and malicious hash");
    assert!(ops.iter().all(|o| o.status == "Succeeded" && o.principal == "enrichment-scanner"), "{ops:?}");
    let audit = db
        .query_audit(store::AuditFilter { action: Some("AddIndicator".into()), limit: 10_000, ..Default::default() })
        .await
        .expect("audit");
    assert!(audit.len() >= ops.len() * 2, "attempt and outcome audited for each indicator");
    let tags = db
        .list_operations(store::OperationFilter {
            action: Some("AddIncidentTag".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("operations");
    assert_eq!(tags.len(), incidents.values().map(|i| i.len()).sum::<usize>(), "one per incident and tag: {tags:?}");
    db.close().await;

    // Reversible: the catalog's inverse of AddIndicator removes what it added.
    let spec = catalog::Catalog::global().get(catalog::Product::Mde, "AddIndicator").expect("AddIndicator");
    assert_eq!(spec.inverse, Some("RemoveIndicatorByValue"));
    let tenant = h.tenant(0);
    let (value, _) = our_indicators(&h, &tenant).await.into_iter().next().expect("an indicator");
    let (status, out) = h
        .native_mde(&tenant, "RemoveIndicatorByValue", json!({"indicatorValue": value, "indicatorType": "FileSha1"}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert!(our_indicators(&h, &tenant).await.iter().all(|(v, _)| *v != value), "reverted");
}
