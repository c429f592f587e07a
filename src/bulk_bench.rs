//! `riposte bench bulk`: a bulk job against the sandbox, measured against the rate-limit floor.
//!
//! The sandbox and the gateway both run with MDE's documented limits on a clock `--time-scale`
//! times faster: 100 calls a minute and 1,500 an hour become 100 per `60/scale` s and 1,500 per
//! `3600/scale` s, in the gateway's sliding windows and in the sandbox's quota
//! (`mde_window_scale`), which answers 429 to any call beyond them, so a gateway that went faster
//! than the floor would be caught (and slowed: the sandbox's `Retry-After` is whole seconds).
//! The sandbox also answers `--faults` of the isolate POSTs with an injected 429 (`Retry-After:
//! 0`, the scaled equivalent of Microsoft's seconds), which its quota does not count, and machine
//! actions complete at once so a machine can be isolated again. `--actions` isolations are spread over
//! `--tenants` tenants of uneven size (Zipf: tenant i gets a share proportional to 1/(i+1)).
//!
//! The floor is the rate-limit bound of the largest tenant: when its N-th call can start at the
//! earliest under both windows (computed exactly for sliding windows). `took` is from the job's
//! creation to its last item ending. `failed` counts failed items; `duplicates` counts isolations
//! the sandbox holds beyond one per succeeded item. One line is printed on stdout.

use crate::app;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct BulkBenchArgs {
    /// Tenants in the sandbox (uneven sizes).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub tenants: u16,
    /// Isolations in all.
    #[arg(long, default_value_t = 10_000)]
    pub actions: usize,
    /// How much faster than Microsoft's clock the limits run (60: a minute's budget per second).
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
    /// Share of isolate POSTs the sandbox answers with 429.
    #[arg(long, default_value_t = 0.2)]
    pub faults: f64,
}

const COMMENT: &str = "riposte bench bulk";

pub async fn run(a: BulkBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.time_scale >= 1.0 && a.time_scale <= 3600.0, "--time-scale must be between 1 and 3600");
    anyhow::ensure!((0.0..0.9).contains(&a.faults), "--faults must be in [0, 0.9)");
    anyhow::ensure!(a.actions >= a.tenants as usize, "--actions must be at least one per tenant");
    let dir = std::env::temp_dir().join(format!("riposte-bench-bulk-{}", std::process::id()));
    let cfg = sandbox::SandboxConfig { seed: 11, tenants: a.tenants as usize, tls: false, realistic: false };
    let sb = sandbox::start(cfg, "127.0.0.1:0".parse()?).await?;
    let http = reqwest::Client::new();
    let admin = |path: &str, body: Value| {
        let req = http.post(format!("{}/_sandbox/{path}", sb.base_url())).json(&body);
        async move { req.send().await?.error_for_status().with_context(|| "configuring the sandbox") }
    };
    let scale = a.time_scale;
    admin(
        "settings",
        json!({
            "action_pending_seconds": 0, "action_run_seconds": 0,
            "mde_per_minute": 100, "mde_per_hour": 1500, "mde_window_scale": scale,
        }),
    )
    .await?;
    if a.faults > 0.0 {
        admin(
            "faults",
            json!({ "path_prefix": "/api/machines/", "method": "POST", "status": 429, "rate": a.faults, "retry_after": 0 }),
        )
        .await?;
    }
    let mut settings = app::sandbox_settings(&sb, dir.clone(), Duration::from_secs(1))?;
    settings.budgets = Some(scaled_budgets(scale));
    let gw = app::build(settings).await?;
    let engine = gw.engine.clone();

    let sizes = zipf_sizes(a.actions, a.tenants as usize);
    let mut targets = Vec::with_capacity(a.actions);
    for (i, n) in sizes.iter().enumerate() {
        let tenant = sb.describe().tenants[i].tenant_id.clone();
        let state: Value = http.get(format!("{}/_sandbox/state/{tenant}", sb.base_url())).send().await?.json().await?;
        let machines: Vec<String> = state["machines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["online"] == true && m["osPlatform"].as_str().is_some_and(|p| p.starts_with("Windows")))
            .filter_map(|m| m["id"].as_str().map(String::from))
            .collect();
        anyhow::ensure!(!machines.is_empty(), "tenant {tenant} has no online Windows machine");
        for k in 0..*n {
            let mut t = Map::new();
            t.insert("tenant".into(), json!(tenant));
            t.insert("deviceIds".into(), json!([machines[k % machines.len()]]));
            targets.push(t);
        }
    }
    let largest = *sizes.iter().max().unwrap_or(&0);
    let floor = floor_seconds(largest, scale);
    let largest_tenant = sb.describe().tenants[0].tenant_id.clone();
    let principal = engine::Principal { name: "bench".into(), role: engine::Role::Admin, tenants: vec![] };
    let spec = engine::JobSpec {
        name: Some("bench bulk".into()),
        product: catalog::Product::Mde,
        action: "IsolateDevice".into(),
        params: json!({ "comment": COMMENT }).as_object().cloned().unwrap_or_default(),
        targets: engine::JobTargets::List(targets),
        revert_after: None,
        priority: 0,
    };
    let started = Instant::now();
    let job = engine.create_job(&principal, spec).await?;
    let id = job.job.id;
    let bar = ProgressBar::new(a.actions as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} isolations  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // (seconds since the job was created, items of the largest tenant ended then)
    let mut largest_progress: Vec<(f64, i64)> = Vec::new();
    let view = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let view = engine.job_view(&principal, id).await?;
        let ended = view.tenants.get(&largest_tenant).map_or(0, |states| {
            ["Succeeded", "Failed", "Cancelled"].iter().map(|s| states.get(*s).copied().unwrap_or(0)).sum()
        });
        largest_progress.push((started.elapsed().as_secs_f64(), ended));
        bar.set_position((a.actions as i64 - view.open()).max(0) as u64);
        bar.set_message(format!("floor {floor:.1}s  failed {}", view.counts.get("Failed").copied().unwrap_or(0)));
        if view.open() == 0 {
            break view;
        }
    };
    bar.finish_and_clear();
    let took = view
        .job
        .finished_at
        .map(|f| (f - view.job.created_at).as_seconds_f64())
        .unwrap_or_else(|| started.elapsed().as_secs_f64());
    let failed = view.counts.get("Failed").copied().unwrap_or(0);
    let succeeded = view.counts.get("Succeeded").copied().unwrap_or(0);
    let mut isolations = 0i64;
    for t in sb.describe().tenants {
        let state: Value =
            http.get(format!("{}/_sandbox/state/{}", sb.base_url(), t.tenant_id)).send().await?.json().await?;
        isolations += state["machineActions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| {
                x["type"] == "Isolate" && x["requestorComment"].as_str().is_some_and(|c| c.starts_with(COMMENT))
            })
            .count() as i64;
    }
    let duplicates = (isolations - succeeded).max(0);
    let stats: Value = http.get(format!("{}/_sandbox/stats", sb.base_url())).send().await?.json().await?;
    let injected = stats["faults_injected"].as_i64().unwrap_or(0);
    let over_quota = stats["throttled_total"].as_i64().unwrap_or(0) - injected;
    eprintln!("bulk: sandbox answered {injected} injected 429s and {over_quota} 429s for calls over its quota");
    eprintln!("bulk: largest tenant ({largest} items): {}", progress_against_floor(&largest_progress, largest, scale));
    println!(
        "bulk: {} actions over {} tenants, floor {floor:.1}, took {took:.1}, ratio {:.3}, failed {failed}, duplicates {duplicates}",
        a.actions,
        a.tenants,
        took / floor.max(1e-9)
    );
    sb.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Microsoft's MDE limits with their windows divided by `scale`.
fn scaled_budgets(scale: f64) -> upstream::Budgets {
    let mut b = upstream::Budgets::default();
    let shrink = |rates: &mut Vec<upstream::Rate>| {
        for r in rates.iter_mut() {
            r.per = r.per.div_f64(scale);
        }
    };
    shrink(&mut b.mde);
    // The guard is real time (a call's way from us to the sandbox, up to ~100 ms on this machine
    // under load), so it does not grow with the windows: 1 s on a 60 s "hour" would cost the
    // largest tenant a second Microsoft's hour never charges.
    b.guard = b.guard.min(Duration::from_millis(100));
    b
}

/// When the largest tenant's items had ended, against when their calls could start at the
/// earliest, at each quarter: where a run loses time to its floor.
fn progress_against_floor(progress: &[(f64, i64)], total: usize, scale: f64) -> String {
    [4, 2, 1]
        .iter()
        .map(|d| {
            let n = (total * (4 / d) / 4).max(1);
            let at = progress.iter().find(|(_, e)| *e as usize >= n).map(|(t, _)| *t);
            let at = at.map_or("-".to_string(), |t| format!("{t:.1}"));
            format!("{n} ended by {at} s (floor {:.1})", floor_seconds(n, scale))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tenant sizes proportional to 1/(i+1), summing to `total`, each at least 1.
fn zipf_sizes(total: usize, tenants: usize) -> Vec<usize> {
    let h: f64 = (1..=tenants).map(|i| 1.0 / i as f64).sum();
    let mut sizes: Vec<usize> =
        (1..=tenants).map(|i| ((total as f64 / h) / i as f64).floor().max(1.0) as usize).collect();
    let mut rest = total.saturating_sub(sizes.iter().sum());
    let mut i = 0;
    while rest > 0 {
        sizes[i % tenants] += 1;
        rest -= 1;
        i += 1;
    }
    sizes
}

/// The earliest the n-th call of one tenant can start under 100 per minute and 1,500 per hour
/// (sliding windows, time divided by `scale`), in seconds.
fn floor_seconds(n: usize, scale: f64) -> f64 {
    let windows = [(100usize, 60.0 / scale), (1500usize, 3600.0 / scale)];
    let mut starts: VecDeque<f64> = VecDeque::new();
    let mut all = Vec::with_capacity(n);
    for k in 0..n {
        let mut t: f64 = 0.0;
        for (count, per) in windows {
            if k >= count {
                t = t.max(all[k - count] + per);
            }
        }
        if let Some(&prev) = starts.back() {
            t = t.max(prev);
        }
        starts.push_back(t);
        all.push(t);
    }
    all.last().copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_follows_both_windows() {
        // 100 calls fit the first minute; the 101st waits for the first to leave it.
        assert_eq!(floor_seconds(100, 1.0), 0.0);
        assert_eq!(floor_seconds(101, 1.0), 60.0);
        // 1,500 calls take 14 minutes of starts; the 1,501st waits for the hour.
        assert_eq!(floor_seconds(1500, 1.0), 14.0 * 60.0);
        assert_eq!(floor_seconds(1501, 1.0), 3600.0);
        assert_eq!(floor_seconds(1501, 60.0), 60.0);
    }

    #[test]
    fn zipf_sizes_sum_to_the_total_and_decrease() {
        let s = zipf_sizes(10_000, 20);
        assert_eq!(s.iter().sum::<usize>(), 10_000);
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
        assert!(s[0] > 2 * s[1] - 10);
    }
}
