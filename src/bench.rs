//! `riposte bench`: gateway throughput and added latency for GetDeviceInfo against the sandbox.
//!
//! The same GetDeviceInfo is timed twice in one run: straight to the sandbox's MDE API (with a
//! token), and through the gateway's seed route (auth, validation, durable operation, two audit
//! records, upstream call). The difference of the percentiles is what Riposte adds. Figures are
//! rates and ratios from one run on this machine; nothing asserts on them.

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
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Write the figures as JSON here too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// Latency summary of one phase.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: &'static str,
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Phase {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
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
    let direct = phase("direct to sandbox", &args, {
        let (client, url, token) = (client.clone(), direct_url.clone(), token.clone());
        move || {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move { client.get(&url).bearer_auth(&token).send().await.map(|r| r.status().is_success()) }
        }
    })
    .await;
    let gateway_url = format!("http://{addr}/api/DefenderXDRMDEWorker");
    let body = json!({ "action": "GetDeviceInfo", "tenantId": tenant.tenant_id, "deviceId": machine });
    let through = phase("through gateway", &args, {
        let (client, url, admin) = (client.clone(), gateway_url.clone(), admin.clone());
        move || {
            let (client, url, admin, body) = (client.clone(), url.clone(), admin.clone(), body.clone());
            async move {
                client
                    .post(&url)
                    .header("x-functions-key", admin)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
            }
        }
    })
    .await;
    report(&args, &direct, &through)?;
    sb.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
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

/// Run `args.requests` calls of `call` with `args.concurrency` in flight; time each.
async fn phase<F, Fut>(name: &'static str, args: &BenchArgs, call: F) -> Phase
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool, reqwest::Error>>,
{
    use futures::StreamExt;
    let bar = ProgressBar::new(args.requests as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(name);
    let bar = Arc::new(bar);
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = futures::stream::iter(0..args.requests)
        .map(|_| {
            let fut = call();
            let bar = bar.clone();
            async move {
                let t = Instant::now();
                let ok = matches!(fut.await, Ok(true));
                bar.inc(1);
                (t.elapsed(), ok)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let mut lat: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    lat.sort();
    Phase {
        name,
        requests: results.len(),
        errors: results.iter().filter(|(_, ok)| !ok).count(),
        elapsed,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
    }
}

pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(args: &BenchArgs, direct: &Phase, through: &Phase) -> anyhow::Result<()> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("GetDeviceInfo, {} requests per phase, concurrency {}", args.requests, args.concurrency);
    println!("{:<20} {:>10} {:>8} {:>10} {:>10}", "phase", "req/s", "errors", "p50 ms", "p99 ms");
    for p in [direct, through] {
        println!("{:<20} {:>10.0} {:>8} {:>10.2} {:>10.2}", p.name, p.rate(), p.errors, ms(p.p50), ms(p.p99));
    }
    let added_p50 = ms(through.p50) - ms(direct.p50);
    let added_p99 = ms(through.p99) - ms(direct.p99);
    let ratio = through.rate() / direct.rate().max(1e-9);
    println!("gateway adds p50 {added_p50:.2} ms, p99 {added_p99:.2} ms; throughput ratio gateway/direct {ratio:.2}");
    if let Some(path) = &args.json {
        let v = json!({
            "requests": args.requests, "concurrency": args.concurrency,
            "direct": { "rps": direct.rate(), "p50_ms": ms(direct.p50), "p99_ms": ms(direct.p99), "errors": direct.errors },
            "gateway": { "rps": through.rate(), "p50_ms": ms(through.p50), "p99_ms": ms(through.p99), "errors": through.errors },
            "added_p50_ms": added_p50, "added_p99_ms": added_p99, "throughput_ratio": ratio,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
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
