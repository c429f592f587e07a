//! `riposte enrich`: the enrichment scanner standalone (`run`), its lookup history (`lookup`),
//! its totals (`status`) and a throughput bench of parse + dedupe (`bench`). `up` and `serve`
//! start the same scanner through [`spawn`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use enrich::{EnrichmentConfig, Scanner};
use upstream::TenantCredentials;

use crate::app;
use crate::config::FileConfig;

#[derive(Args, Debug)]
pub struct EnrichArgs {
    #[command(subcommand)]
    pub command: EnrichCommand,
}

#[derive(Subcommand, Debug)]
pub enum EnrichCommand {
    /// Run the scanner alone (no gateway) with the config file's `[enrichment]` and tenants.
    Run {
        #[arg(long, env = "RIPOSTE_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long, env = "RIPOSTE_DATA")]
        data: Option<PathBuf>,
    },
    /// The stored verdict of a hash and every lookup made of it.
    Lookup {
        hash: String,
        #[arg(long, env = "RIPOSTE_DATA", default_value = "./riposte-data")]
        data: PathBuf,
    },
    /// Totals from the database: hashes known, lookups, alerts, write-backs, dead letters.
    Status {
        #[arg(long, env = "RIPOSTE_DATA", default_value = "./riposte-data")]
        data: PathBuf,
    },
    /// In one run: records/s through parse + dedupe (store + lookup history) against a stub
    /// provider, then the latency from produce to comment through the whole scanner (an
    /// in-process stream, the sandbox's providers and Graph) as p50/p99.
    Bench {
        /// Event Hubs messages, one alert each.
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// File hashes per alert.
        #[arg(long, default_value_t = 3)]
        hashes: usize,
        /// Distinct hashes overall (the rest are repeats, answered from the history).
        #[arg(long, default_value_t = 10_000)]
        distinct: usize,
        /// Alerts produced for the latency run (over 3 sandbox tenants; Graph's 150 calls/min per
        /// tenant bounds how many are commented without throttling).
        #[arg(long, default_value_t = 150)]
        latency_alerts: usize,
        /// Messages per second produced in the latency run.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
    },
}

pub async fn run(a: EnrichArgs) -> anyhow::Result<()> {
    match a.command {
        EnrichCommand::Run { config, data } => standalone(config, data).await,
        EnrichCommand::Lookup { hash, data } => lookup(&hash, &data).await,
        EnrichCommand::Status { data } => status(&data).await,
        EnrichCommand::Bench { messages, hashes, distinct, latency_alerts, rate } => {
            bench(messages, hashes, distinct).await?;
            latency(latency_alerts, hashes, rate).await
        }
    }
}

/// Builds the scanner on a gateway's engine and runs it in the background.
pub async fn spawn(
    cfg: &EnrichmentConfig,
    gw: &app::Gateway,
    tenants: Vec<TenantCredentials>,
) -> anyhow::Result<Arc<Scanner>> {
    let scanner = cfg
        .build(&gw.engine, tenants, gw.enrich_metrics.clone())
        .await
        .map_err(|e| anyhow::anyhow!(e))
        .context("starting the enrichment scanner")?;
    let scanner = Arc::new(scanner);
    // Runs for the life of the process; no shutdown signal is ever sent.
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn({
        let s = scanner.clone();
        async move {
            s.run(rx).await;
            drop(stop);
        }
    });
    Ok(scanner)
}

async fn standalone(config: Option<PathBuf>, data: Option<PathBuf>) -> anyhow::Result<()> {
    let file = FileConfig::load(config.as_deref())?;
    let Some(cfg) = file.enrichment.clone() else { bail!("no [enrichment] section in the config file") };
    let (clouds, extra_ca_pem) = file.clouds()?;
    let tenants = file.tenants()?;
    if tenants.is_empty() {
        bail!("no tenants configured: the scanner writes back through each tenant's Graph credentials");
    }
    let settings = app::GatewaySettings {
        data_dir: data.or(file.data.clone()).unwrap_or_else(|| PathBuf::from("./riposte-data")),
        clouds,
        extra_ca_pem,
        tenants: tenants.clone(),
        poll_interval: Duration::from_secs(5),
        unlimited_budgets: false,
        budgets: file.budgets()?,
        library: file.library()?,
        store_url: crate::store_config::resolve(file.store.as_ref())?,
        entra: None,
        approvals_policy: crate::approvals_cli::policy_path(file.approvals.as_ref()),
        anchor_webhook: crate::audit_anchor::webhook_url(file.audit.as_ref()),
    };
    let gw = app::build(settings).await?;
    let scanner = spawn(&cfg, &gw, tenants).await?;
    println!("enrichment scanner running; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    let st = scanner.status().await?;
    println!("{}", serde_json::to_string_pretty(&st)?);
    Ok(())
}

async fn lookup(raw: &str, data: &std::path::Path) -> anyhow::Result<()> {
    let Some(hash) = enrich::FileHash::guess(raw) else {
        bail!("`{raw}` is not an MD5, SHA1 or SHA256 (32, 40 or 64 hex digits)");
    };
    let store = app::open_store(data).await?;
    let current = store.lookups(std::slice::from_ref(&hash.value)).await?.into_iter().next();
    let log = store.lookup_log(&hash.value).await?;
    let out = serde_json::json!({"hash": hash.value, "kind": hash.kind, "current": current, "lookups": log});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn status(data: &std::path::Path) -> anyhow::Result<()> {
    let store = app::open_store(data).await?;
    let counts = store.enrichment_counts().await?;
    let dead = store.dead_letters(10).await?;
    let out = serde_json::json!({"counts": counts, "recentDeadLetters": dead});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Parse + store (evidence, offsets, one transaction per fetch) + dedupe (history, in-flight,
/// a stub provider) over an in-memory log, on a SQLite file with the production durability
/// settings.
async fn bench(messages: usize, per_alert: usize, distinct: usize) -> anyhow::Result<()> {
    use enrich::lookup::{Lookups, Slot, StubProvider};
    use enrich::source::{MemorySource, StreamSource};

    let dir = std::env::temp_dir().join(format!("riposte-enrich-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = store::Store::open_sqlite(&dir.join("bench.db")).await?;
    let source = MemorySource::new("bench", 4);
    let distinct = distinct.max(1);
    for i in 0..messages {
        let files: Vec<serde_json::Value> = (0..per_alert)
            .map(|j| {
                let n = (i * per_alert + j) % distinct;
                serde_json::json!({"tenantId": format!("tenant-{}", i % 3), "category": "AdvancedHunting-AlertEvidence",
                    "properties": {"AlertId": format!("da{i:018}_1"), "EntityType": "File", "SHA1": format!("{:040x}", n + 1),
                        "SHA256": null, "AdditionalFields": "{\"Type\":\"file\"}", "DeviceId": "d1"}})
            })
            .collect();
        source.push(i % 4, enrich::envelope::envelope(&files));
    }
    let stub = StubProvider(
        |h: &enrich::FileHash| {
            if h.value.ends_with('7') { enrich::Status::Malicious } else { enrich::Status::Unknown }
        },
    );
    let gate = enrich::providers::Gate::new(
        "stub",
        enrich::providers::Limits { per_minute: u32::MAX, daily_quota: None },
        Duration::ZERO,
        Duration::from_secs(60),
    );
    let lookups = Lookups::new(store.clone(), vec![Slot { provider: Box::new(stub), gate }], enrich::Ttls::default());
    let opts = enrich::ParseOptions::default();
    let started = Instant::now();
    let mut records = 0usize;
    let mut offsets = [0i64; 4];
    loop {
        let mut read = 0;
        for (p, offset) in offsets.iter_mut().enumerate() {
            let f = source.fetch(p as i32, *offset, 500).await?;
            let Some(&(last, _)) = f.records.last() else { continue };
            let mut batch = store::StreamBatch {
                source: "bench".into(),
                partition: p as i32,
                next_offset: last + 1,
                high_watermark: f.high_watermark,
                ..Default::default()
            };
            let mut hashes = Vec::new();
            for (_, body) in &f.records {
                let parsed = enrich::parse_message(body, &opts);
                records += parsed.records;
                for a in parsed.alerts {
                    hashes.extend(a.hashes.iter().cloned());
                    batch.alerts.push(store::AlertEvidence {
                        tenant: a.tenant,
                        alert_id: a.alert_id,
                        incident_id: a.incident_id,
                        device_id: a.device_id,
                        hashes: a.hashes.into_iter().map(|h| (h.kind.as_str().to_string(), h.value)).collect(),
                    });
                }
            }
            store.record_stream_batch(&batch).await?;
            lookups.verdicts(&hashes).await?;
            *offset = last + 1;
            read += f.records.len();
        }
        if read == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cache = lookups.cache_status();
    println!(
        "parse + store + dedupe: {records} records ({messages} messages, {} hashes, {distinct} distinct) in {secs:.2} s = {:.0} records/s, {:.0} hashes/s; cache hit rate {:.2}",
        messages * per_alert,
        records as f64 / secs,
        (messages * per_alert) as f64 / secs,
        cache.hit_rate.unwrap_or(0.0)
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Produce → comment: alerts created in an in-process sandbox (3 tenants), their Streaming API
/// messages pushed into an in-process log at `rate` per second, and the scanner (settle 0, the
/// sandbox's four providers, Graph write-back) running over it. Latency per alert is from its
/// push to the ledger's `posted_at`, which is written once Graph accepted the comment.
async fn latency(alerts: usize, per_alert: usize, rate: f64) -> anyhow::Result<()> {
    use enrich::source::MemorySource;

    let alerts = alerts.max(1);
    let cfg = sandbox::SandboxConfig { seed: 42, tenants: 3, tls: false, realistic: false };
    let sandbox = sandbox::start(cfg, "127.0.0.1:0".parse()?).await.context("starting the sandbox")?;
    let dir = std::env::temp_dir().join(format!("riposte-enrich-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let settings = app::sandbox_settings(&sandbox, dir.clone(), Duration::from_secs(1))?;
    let tenants = settings.tenants.clone();
    let gw = app::build(settings).await?;
    let http = reqwest::Client::new();
    let base = sandbox.base_url().to_string();

    // The alerts, in the sandbox (so Graph takes comments on them) and on its stream.
    let ids: Vec<String> = sandbox.describe().tenants.iter().map(|t| t.tenant_id.clone()).collect();
    let mut expected = Vec::with_capacity(alerts);
    for (t, tenant) in ids.iter().enumerate() {
        let mine: Vec<serde_json::Value> = (t..alerts)
            .step_by(ids.len())
            .map(|i| {
                let files: Vec<serde_json::Value> = (0..per_alert)
                    .map(|j| {
                        // Distinct, spread over the sandbox's verdict buckets (it hashes the value).
                        let n = (i * per_alert + j) as u128 + 1;
                        serde_json::json!({"sha1": format!("1a7e{:036x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))})
                    })
                    .collect();
                serde_json::json!({"files": files})
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let made: serde_json::Value = http
            .post(format!("{base}/_sandbox/streaming/alerts"))
            .json(&serde_json::json!({"tenant": tenant, "alerts": mine}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for a in made["alerts"].as_array().into_iter().flatten() {
            expected.push((tenant.to_ascii_lowercase(), a["id"].as_str().unwrap_or_default().to_string()));
        }
    }
    let mut bodies = Vec::new();
    for p in 0..4 {
        let page: serde_json::Value = http
            .get(format!(
                "{base}/_sandbox/streaming/{}/partitions/{p}?offset=0&max=100000",
                enrich::source::SANDBOX_HUB
            ))
            .send()
            .await?
            .json()
            .await?;
        for r in page["records"].as_array().into_iter().flatten() {
            bodies.push(r["body"].as_str().unwrap_or_default().as_bytes().to_vec());
        }
    }

    let mut cfg = EnrichmentConfig::sandbox(&base);
    cfg.settle_secs = 0;
    let source = MemorySource::new("latency", 4);
    let metrics = Arc::new(enrich::metrics::Metrics::new());
    let scanner = Arc::new(
        cfg.build_with_source(&gw.engine, tenants, metrics, Arc::new(source.clone()))
            .map_err(|e| anyhow::anyhow!(e))?,
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(scanner.clone().run(rx));

    let bar = indicatif::ProgressBar::new(bodies.len() as u64).with_message("produce → comment");
    let gap = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let started = Instant::now();
    let mut produced_at = std::collections::HashMap::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let alert_id = alert_id_of(&body);
        tokio::time::sleep_until(tokio::time::Instant::from_std(started + gap * i as u32)).await;
        produced_at.insert(alert_id, time::OffsetDateTime::now_utc());
        source.push(i % 4, body);
        bar.inc(1);
    }
    let store = gw.engine.store().clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut latencies = Vec::with_capacity(expected.len());
    for (tenant, id) in &expected {
        let posted = loop {
            if let Some(w) = store.writeback(tenant, id).await? {
                break w.posted_at;
            }
            if Instant::now() > deadline {
                bail!("alert {id} was not commented within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let produced = produced_at.get(id).copied().context("an alert without a produced message")?;
        latencies.push((posted - produced).as_seconds_f64() * 1000.0);
    }
    bar.finish_and_clear();
    let _ = stop.send(true);
    let _ = run.await;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    println!(
        "produce -> comment: {} alerts ({per_alert} hashes each, 3 tenants, {rate:.0} msg/s, settle 0, sandbox providers and Graph): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
    store.close().await;
    drop(sandbox);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The alert id of a Streaming API message (its first record's `AlertId`).
fn alert_id_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["records"][0]["properties"]["AlertId"].as_str().map(String::from))
        .unwrap_or_default()
}
