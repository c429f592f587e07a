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
    let tenants = riposte::app::sandbox_settings(&h.sandbox, h.dir.path().to_path_buf(), Duration::from_secs(1))
        .expect("settings")
        .tenants;
    let s = cfg
        .build(h.engine.store().clone(), h.engine.upstream().clone(), tenants, Arc::new(Metrics::new()))
        .await
        .expect("scanner builds");
    Arc::new(s)
}

/// Creates `total` alerts spread over the tenants, each with `per_alert` SHA1s drawn from a
/// pool half as large as the slots, so every hash is shared by two alerts (hash `3i + 7j` of
/// the pool for the `j`th file of alert `i`). Returns alert id -> (tenant, hashes).
async fn stream_alerts(
    h: &Harness,
    tenants: usize,
    total: usize,
    per_alert: usize,
    first: usize,
) -> BTreeMap<String, (String, Vec<String>)> {
    let pool = (total * per_alert / 2).max(1);
    let mut per_tenant: Vec<(Vec<Value>, Vec<Vec<String>>)> = vec![(Vec::new(), Vec::new()); tenants];
    for i in 0..total {
        let hashes: Vec<String> = (0..per_alert).map(|j| sha1(first + (3 * i + 7 * j) % pool)).collect();
        let (batch, of) = &mut per_tenant[i % tenants];
        batch.push(json!({"files": hashes.iter().map(|h| json!({"sha1": h})).collect::<Vec<_>>()}));
        of.push(hashes);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_at_quota_degrades_to_the_others_and_catches_up() {
    let h = Harness::start(1).await;
    h.sandbox_admin("intel/reversinglabs", json!({"quota": 0})).await;
    let mut cfg = config(&h);
    cfg.quota_probe_secs = 1;
    cfg.ttl.degraded_secs = 1;
    let s = scanner(&h, &cfg).await;
    let alerts = stream_alerts(&h, 1, 10, 2, 1000).await;
    let st = run_until(&s, |st| st.counts.writebacks == 10).await;
    let rl = &st.providers[0];
    assert_eq!(rl.name, "ReversingLabs");
    assert_eq!(rl.condition, "daily quota exhausted", "{rl:?}");
    assert!(rl.throttled >= 1);
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
    };
    let client = enrich::source::kafka_client(&kafka).await.expect("connects to tansu");
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
