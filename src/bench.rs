//! `riposte bench`: gateway throughput and added latency for a read (GetDeviceInfo) and a write
//! (AddIPIndicator) against the sandbox.
//!
//! The same GetDeviceInfo is timed twice in one run: straight to the sandbox's MDE API (with a
//! token), and through the gateway's seed route (auth, validation, durable operation, two audit
//! records, upstream call). Each kind runs twice: at `--concurrency` (16) for the throughput
//! ratio gateway/direct, and one at a time (`--latency-requests`) for the latency Riposte adds
//! (the difference of the percentiles). Figures are rates and ratios from one run on this
//! machine; nothing asserts on them.

use crate::app;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Requests per phase.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// Concurrent requests in flight for the throughput phases.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Requests per phase of the latency phases (one at a time); 0 skips them.
    #[arg(long, default_value_t = 500)]
    pub latency_requests: usize,
    /// Write the figures as JSON here too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Which kinds to run: reads, writes or both (one kind alone, e.g. under a profiler).
    #[arg(long, value_enum, default_value_t = Kinds::Both)]
    pub only: Kinds,
    /// Another benchmark instead: `bulk` (a bulk job at the rate-limit floor).
    #[command(subcommand)]
    pub kind: Option<BenchKind>,
}

/// The benchmarks besides the default one.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum BenchKind {
    /// A bulk job of isolations over uneven tenants against the rate-limit floor.
    Bulk(crate::bulk_bench::BulkBenchArgs),
}

/// The kinds of request `riposte bench` runs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    Reads,
    Writes,
    Both,
}

/// Latency summary of one phase.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: &'static str,
    pub requests: usize,
    pub errors: usize,
    /// Why the first failed request failed (status), so a run with errors says what broke.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// CPU time of this whole process (gateway and sandbox alike) per request, when the OS says.
    pub cpu_per_request: Option<Duration>,
}

impl Phase {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(BenchKind::Bulk(b)) = args.kind.clone() {
        return crate::bulk_bench::run(b).await;
    }
    let dir = tempfile_dir()?;
    let cfg = sandbox::SandboxConfig { seed: 7, tenants: 1, tls: false, realistic: false };
    let sb = sandbox::start(cfg, "127.0.0.1:0".parse()?).await?;
    let client = reqwest::Client::new();
    // The benchmark measures Riposte, not Microsoft's quota: lift the sandbox's MDE limits.
    client
        .post(format!("{}/_sandbox/limits", sb.base_url()))
        .json(&json!({ "mde_per_minute": 10_000_000, "mde_per_hour": 100_000_000 }))
        .send()
        .await?
        .error_for_status()
        .context("raising sandbox limits")?;
    let mut settings = app::sandbox_settings(&sb, dir.clone(), Duration::from_secs(1))?;
    settings.unlimited_budgets = true;
    let gw = app::build(settings).await?;
    let admin = gateway::auth::generate_key();
    gw.engine.store().set_setting(gateway::auth::ADMIN_KEY_SETTING, &gateway::auth::hash_key(&admin)).await?;
    let (listener, addr) = app::bind("127.0.0.1:0").await?;
    tokio::spawn(async move { axum::serve(listener, gw.router).await });

    let tenant = sb.describe().tenants[0].clone();
    let machine = first_machine(&client, sb.base_url(), &tenant.tenant_id).await?;
    let token = token(&client, &sb.describe().endpoints.login, &tenant).await?;

    let direct_url = format!("{}/api/machines/{machine}", sb.describe().endpoints.mde);
    let direct_read = {
        let (client, url, token) = (client.clone(), direct_url.clone(), token.clone());
        move |_| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move { Ok(failure(client.get(&url).bearer_auth(&token).send().await?).await) }
        }
    };
    let gateway_url = format!("http://{addr}/api/DefenderXDRMDEWorker");
    let body = json!({ "action": "GetDeviceInfo", "tenantId": tenant.tenant_id, "deviceId": machine });
    let gateway_read = {
        let (client, url, admin) = (client.clone(), gateway_url.clone(), admin.clone());
        move |_| gateway_call(client.clone(), url.clone(), admin.clone(), body.clone())
    };
    let reads = if args.only != Kinds::Writes {
        compare("GetDeviceInfo (read)", &args, &direct_read, &gateway_read).await
    } else {
        Value::Null
    };

    // Writes: an IP indicator per request (a distinct address each, so none is an update).
    // (Addresses are numbered per phase, so the latency phases add new indicators too.)
    let indicators_url = format!("{}/api/indicators", sb.describe().endpoints.mde);
    let direct_write = {
        let (client, url, token) = (client.clone(), indicators_url.clone(), token.clone());
        move |n| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            let body = json!({
                "indicatorValue": bench_ip(1, n), "indicatorType": "IpAddress", "action": "Audit", "generateAlert": true,
                "title": "riposte bench", "description": "riposte bench write",
            });
            async move { Ok(failure(client.post(&url).bearer_auth(&token).json(&body).send().await?).await) }
        }
    };
    let gateway_write = {
        let (client, url, admin, tenant_id) =
            (client.clone(), gateway_url.clone(), admin.clone(), tenant.tenant_id.clone());
        move |n| {
            let body = json!({ "action": "AddIPIndicator", "tenantId": tenant_id, "ipAddress": bench_ip(2, n) });
            gateway_call(client.clone(), url.clone(), admin.clone(), body)
        }
    };
    let writes = if args.only != Kinds::Reads {
        compare("AddIPIndicator (write)", &args, &direct_write, &gateway_write).await
    } else {
        Value::Null
    };
    if let Some(path) = &args.json {
        let v = json!({ "requests": args.requests, "concurrency": args.concurrency, "reads": reads, "writes": writes });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
    }
    sb.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One seed-route call through the gateway with the admin key; whether it succeeded.
async fn gateway_call(
    client: reqwest::Client,
    url: String,
    key: String,
    body: Value,
) -> Result<Option<String>, reqwest::Error> {
    Ok(failure(client.post(&url).header("x-functions-key", key).json(&body).send().await?).await)
}

/// The `n`th address of a phase, distinct per phase and request: public space, since Defender (and
/// the gateway) refuse indicators for private addresses. The sandbox is private to the run.
fn bench_ip(phase: usize, n: usize) -> String {
    format!("45.{phase}.{}.{}", (n / 250) % 250 + 1, n % 250 + 1)
}

/// `None` for a success, else the status: the figures of failed requests are not Riposte's.
async fn failure(r: reqwest::Response) -> Option<String> {
    if r.status().is_success() {
        return None;
    }
    let head = format!("HTTP {} from {}", r.status(), r.url().path());
    let body = r.text().await.unwrap_or_default();
    Some(format!("{head}: {}", body.chars().take(300).collect::<String>()))
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("riposte-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn first_machine(client: &reqwest::Client, base: &str, tenant: &str) -> anyhow::Result<String> {
    let state: Value = client.get(format!("{base}/_sandbox/state/{tenant}")).send().await?.json().await?;
    state["machines"]
        .as_array()
        .and_then(|m| m.first())
        .and_then(|m| m["id"].as_str())
        .map(String::from)
        .context("the sandbox state lists no machine")
}

async fn token(client: &reqwest::Client, login: &str, t: &sandbox::TenantInfo) -> anyhow::Result<String> {
    let resp: Value = client
        .post(format!("{login}/{}/oauth2/v2.0/token", t.tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", t.client_id.as_str()),
            ("client_secret", t.client_secret.as_str()),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ])
        .send()
        .await?
        .json()
        .await?;
    resp["access_token"].as_str().map(String::from).context("no access_token from the sandbox")
}

/// One kind of call direct and through the gateway: at `--concurrency` for throughput, then
/// one at a time for latency (request numbers continue, so writes stay distinct). Prints the
/// tables and the summary line; returns the figures for `--json`.
async fn compare<D, DF, G, GF>(kind: &str, args: &BenchArgs, direct: &D, gateway: &G) -> Value
where
    D: Fn(usize) -> DF,
    DF: std::future::Future<Output = Result<Option<String>, reqwest::Error>>,
    G: Fn(usize) -> GF,
    GF: std::future::Future<Output = Result<Option<String>, reqwest::Error>>,
{
    let (n, c) = (args.requests, args.concurrency.max(1));
    let d = phase("direct to sandbox", n, c, direct).await;
    let g = phase("through gateway", n, c, gateway).await;
    let mut figures = report(kind, n, c, &d, &g);
    if args.latency_requests > 0 {
        let m = args.latency_requests;
        let d1 = phase("direct to sandbox", m, 1, |i| direct(n + i)).await;
        let g1 = phase("through gateway", m, 1, |i| gateway(n + i)).await;
        figures["concurrency_1"] = report(kind, m, 1, &d1, &g1);
        let ms = |x: Duration| x.as_secs_f64() * 1000.0;
        println!(
            "{kind}: throughput ratio gateway/direct at concurrency {c} {:.2}; added latency at concurrency 1 p50 {:.2} ms, p99 {:.2} ms",
            g.rate() / d.rate().max(1e-9),
            ms(g1.p50) - ms(d1.p50),
            ms(g1.p99) - ms(d1.p99),
        );
    }
    figures
}

/// Run `requests` calls of `call` with `concurrency` in flight; time each.
async fn phase<F, Fut>(name: &'static str, requests: usize, concurrency: usize, call: F) -> Phase
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, reqwest::Error>>,
{
    use futures::StreamExt;
    let bar = ProgressBar::new(requests as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(name);
    let bar = Arc::new(bar);
    let started = Instant::now();
    let cpu_before = process_cpu();
    let results: Vec<(Duration, Option<String>)> = futures::stream::iter(0..requests)
        .map(|n| {
            let fut = call(n);
            let bar = bar.clone();
            async move {
                let t = Instant::now();
                let failed = fut.await.unwrap_or_else(|e| Some(e.to_string()));
                bar.inc(1);
                (t.elapsed(), failed)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let cpu = process_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    bar.finish_and_clear();
    let mut lat: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    lat.sort();
    Phase {
        name,
        requests: results.len(),
        errors: results.iter().filter(|(_, f)| f.is_some()).count(),
        first_error: results.iter().find_map(|(_, f)| f.clone()),
        elapsed,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        cpu_per_request: cpu.map(|c| c / requests.max(1) as u32),
    }
}

/// This process's CPU time so far (user + system, Linux's `/proc/self/stat`, in clock ticks of
/// 10 ms), so a phase can say how much CPU a request cost besides how long it took.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) closed by ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Prints one kind's table and its summary line; returns the figures for `--json`.
fn report(kind: &str, requests: usize, concurrency: usize, direct: &Phase, through: &Phase) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{kind}, {requests} requests per phase, concurrency {concurrency}");
    println!("{:<20} {:>10} {:>8} {:>10} {:>10} {:>12}", "phase", "req/s", "errors", "p50 ms", "p99 ms", "cpu ms/req");
    for p in [direct, through] {
        let cpu = p.cpu_per_request.map(|c| format!("{:.2}", ms(c))).unwrap_or_else(|| "-".into());
        println!(
            "{:<20} {:>10.0} {:>8} {:>10.2} {:>10.2} {:>12}",
            p.name,
            p.rate(),
            p.errors,
            ms(p.p50),
            ms(p.p99),
            cpu
        );
        if let Some(e) = &p.first_error {
            println!("  {} failed, e.g. {e}", p.name);
        }
    }
    let added_p50 = ms(through.p50) - ms(direct.p50);
    let added_p99 = ms(through.p99) - ms(direct.p99);
    let ratio = through.rate() / direct.rate().max(1e-9);
    println!(
        "{kind}: gateway adds p50 {added_p50:.2} ms, p99 {added_p99:.2} ms; throughput ratio gateway/direct {ratio:.2}"
    );
    json!({
        "direct": { "rps": direct.rate(), "p50_ms": ms(direct.p50), "p99_ms": ms(direct.p99), "errors": direct.errors },
        "gateway": { "rps": through.rate(), "p50_ms": ms(through.p50), "p99_ms": ms(through.p99), "errors": through.errors },
        "added_p50_ms": added_p50, "added_p99_ms": added_p99, "throughput_ratio": ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
