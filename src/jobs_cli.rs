//! `riposte bulk` (create a bulk job and follow it) and `riposte jobs` (list jobs, follow one).
//!
//! Clients of the gateway's `/v1/jobs`: they never talk to Microsoft. Following a job shows an
//! indicatif progress bar (items ended of the total, throughput, ETA), then a line per tenant and
//! a summary table.

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// Where the gateway is and who asks.
#[derive(Args, Debug, Clone)]
pub struct GatewayArgs {
    /// The gateway.
    #[arg(long, env = "RIPOSTE_URL", default_value = "http://127.0.0.1:7070")]
    pub url: String,
    /// An API key (a responder or admin key for actions).
    #[arg(long, env = "RIPOSTE_KEY", hide_env_values = true)]
    pub key: String,
}

#[derive(Args, Debug, Clone)]
pub struct BulkArgs {
    /// The action (e.g. IsolateDevice).
    pub action: String,
    /// The product whose action it is.
    #[arg(long, default_value = "MDE")]
    pub product: String,
    /// A CSV file of targets: a header row with `tenant` and the action's per-target parameters
    /// (e.g. `tenant,deviceId`), one target per row.
    #[arg(long, conflicts_with_all = ["tenants", "filter"], required_unless_present = "filter")]
    pub targets: Option<PathBuf>,
    /// With --filter: comma-separated tenant ids, or `all`.
    #[arg(long, default_value = "all", requires = "filter")]
    pub tenants: String,
    /// An OData filter selecting machines in each tenant (e.g. "osPlatform eq 'Windows10'").
    #[arg(long)]
    pub filter: Option<String>,
    /// A parameter every target shares, `name=value` (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Undo every item after this long (ISO 8601 duration such as PT4H, or seconds).
    #[arg(long)]
    pub revert_after: Option<String>,
    /// A name for the job.
    #[arg(long)]
    pub name: Option<String>,
    /// Higher runs first (-100..100).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i64,
    /// Create the job and print its id without following it.
    #[arg(long)]
    pub no_follow: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(Args, Debug, Clone)]
pub struct JobsArgs {
    /// A job id: show it (and follow it with --follow). Without: list jobs.
    pub id: Option<String>,
    /// Follow the job until it ends, with a progress bar.
    #[arg(long, requires = "id")]
    pub follow: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `riposte bulk`: create the job, then follow it to the end.
pub async fn bulk(a: BulkArgs) -> anyhow::Result<()> {
    let mut body = json!({ "product": a.product, "action": a.action, "priority": a.priority });
    if let Some(name) = &a.name {
        body["name"] = json!(name);
    }
    if let Some(r) = &a.revert_after {
        body["revertAfter"] = json!(r);
    }
    let mut params = Map::new();
    for p in &a.params {
        let (k, v) = p.split_once('=').with_context(|| format!("--param {p}: expected NAME=VALUE"))?;
        params.insert(k.trim().into(), Value::String(v.to_string()));
    }
    body["params"] = Value::Object(params);
    match (&a.targets, &a.filter) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            body["targets"] = Value::Array(targets_from_csv(&text)?);
        }
        (None, Some(filter)) => {
            body["filter"] = json!(filter);
            body["tenants"] = if a.tenants.eq_ignore_ascii_case("all") {
                json!("all")
            } else {
                json!(a.tenants.split(',').map(str::trim).filter(|t| !t.is_empty()).collect::<Vec<_>>())
            };
        }
        (None, None) => bail!("give --targets FILE.csv or --filter"),
    }
    let client = Client::new(&a.gateway)?;
    let job = client.send(client.http.post(client.url("/v1/jobs")).json(&body)).await?;
    let id = job["id"].as_str().context("the gateway answered without a job id")?.to_string();
    eprintln!(
        "job {id}: {} {} over {} targets",
        job["product"].as_str().unwrap_or(""),
        job["action"].as_str().unwrap_or(""),
        job["total"]
    );
    if a.no_follow {
        println!("{id}");
        return Ok(());
    }
    let ended = follow(&client, &id).await?;
    print_summary(&ended);
    Ok(())
}

/// `riposte jobs [ID] [--follow]`
pub async fn jobs(a: JobsArgs) -> anyhow::Result<()> {
    let client = Client::new(&a.gateway)?;
    let Some(id) = &a.id else {
        let list = client.send(client.http.get(client.url("/v1/jobs?limit=100"))).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(());
        }
        println!(
            "{:<36}  {:<19}  {:<22}  {:>7}  {:>9}  {:>6}  {:>7}",
            "id", "state", "action", "total", "succeeded", "failed", "open"
        );
        for j in list["jobs"].as_array().into_iter().flatten() {
            println!(
                "{:<36}  {:<19}  {:<22}  {:>7}  {:>9}  {:>6}  {:>7}",
                j["id"].as_str().unwrap_or(""),
                j["state"].as_str().unwrap_or(""),
                j["action"].as_str().unwrap_or(""),
                j["total"],
                count(&j["counts"], "Succeeded"),
                count(&j["counts"], "Failed"),
                count(&j["counts"], "Pending") + count(&j["counts"], "Running"),
            );
        }
        return Ok(());
    };
    let job = if a.follow {
        follow(&client, id).await?
    } else {
        client.send(client.http.get(client.url(&format!("/v1/jobs/{id}")))).await?
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&job)?);
    } else {
        print_summary(&job);
    }
    Ok(())
}

/// A client of the gateway's `/v1` (also `riposte approvals`, `crate::approvals_cli`).
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    pub(crate) fn new(g: &GatewayArgs) -> anyhow::Result<Client> {
        Ok(Client {
            http: reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?,
            base: g.url.trim_end_matches('/').into(),
            key: g.key.clone(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = req.header("x-api-key", &self.key).send().await.context("reaching the gateway")?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let e = &body["error"];
            bail!(
                "{status}: {}{}{}",
                e["message"].as_str().unwrap_or("the gateway refused"),
                e["field"].as_str().map(|f| format!(" (field {f})")).unwrap_or_default(),
                e["hint"].as_str().map(|h| format!("; {h}")).unwrap_or_default()
            );
        }
        Ok(body)
    }
}

/// Poll the job with a progress bar until it ends; the final view.
async fn follow(client: &Client, id: &str) -> anyhow::Result<Value> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} items  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        let job = client.send(client.http.get(client.url(&format!("/v1/jobs/{id}")))).await?;
        let total = job["total"].as_u64().unwrap_or(0);
        let ended =
            count(&job["counts"], "Succeeded") + count(&job["counts"], "Failed") + count(&job["counts"], "Cancelled");
        bar.set_length(total);
        bar.set_position(ended as u64);
        let rate = job["throughput_per_second"].as_f64().map(|r| format!("{r:.1}/s")).unwrap_or_else(|| "-".into());
        let eta = job["eta_seconds"].as_f64().map(|s| format!("ETA {s:.0}s")).unwrap_or_default();
        bar.set_message(format!(
            "{}  {rate}  failed {}  {eta}",
            job["state"].as_str().unwrap_or(""),
            count(&job["counts"], "Failed")
        ));
        if !matches!(job["state"].as_str(), Some("Running" | "Paused")) {
            bar.finish();
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn count(counts: &Value, state: &str) -> i64 {
    counts[state].as_i64().unwrap_or(0)
}

/// A line per tenant, then the summary table.
fn print_summary(job: &Value) {
    println!("{:<40}  {:>9}  {:>6}  {:>9}  {:>7}", "tenant", "succeeded", "failed", "cancelled", "open");
    for (tenant, c) in job["tenants"].as_object().into_iter().flatten() {
        println!(
            "{:<40}  {:>9}  {:>6}  {:>9}  {:>7}",
            tenant,
            count(c, "Succeeded"),
            count(c, "Failed"),
            count(c, "Cancelled"),
            count(c, "Pending") + count(c, "Running")
        );
    }
    let c = &job["counts"];
    println!();
    println!("job        {}", job["id"].as_str().unwrap_or(""));
    println!("action     {} {}", job["product"].as_str().unwrap_or(""), job["action"].as_str().unwrap_or(""));
    println!("state      {}", job["state"].as_str().unwrap_or(""));
    println!(
        "items      {} (succeeded {}, failed {}, cancelled {})",
        job["total"],
        count(c, "Succeeded"),
        count(c, "Failed"),
        count(c, "Cancelled")
    );
    if let Some(r) = job["throughput_per_second"].as_f64() {
        println!("throughput {r:.2} items/s");
    }
    if count(c, "Failed") > 0 {
        println!(
            "failed     GET /v1/jobs/{}/items?state=Failed, then POST .../retry-failed",
            job["id"].as_str().unwrap_or("")
        );
    }
}

/// Targets from CSV text: a header row (`tenant` plus parameter names), one target per row.
/// Fields may be double-quoted (`""` inside quotes is a quote).
pub fn targets_from_csv(text: &str) -> anyhow::Result<Vec<Value>> {
    let mut rows = text.lines().filter(|l| !l.trim().is_empty()).enumerate();
    let Some((_, header)) = rows.next() else { bail!("the targets file is empty") };
    let header = split_csv(header)?;
    if !header.iter().any(|h| matches!(h.as_str(), "tenant" | "tenantId")) {
        bail!("the targets file needs a 'tenant' column (header: {})", header.join(","));
    }
    let mut targets = Vec::new();
    for (i, line) in rows {
        let fields = split_csv(line)?;
        if fields.len() != header.len() {
            bail!("line {}: {} fields, the header has {}", i + 1, fields.len(), header.len());
        }
        let target: Map<String, Value> = header
            .iter()
            .zip(fields)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), Value::String(v)))
            .collect();
        targets.push(Value::Object(target));
    }
    if targets.is_empty() {
        bail!("the targets file has a header but no targets");
    }
    Ok(targets)
}

fn split_csv(line: &str) -> anyhow::Result<Vec<String>> {
    let (mut fields, mut cur, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, line.trim_end_matches('\r').chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur).trim().to_string()),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        bail!("unterminated quote in: {line}");
    }
    fields.push(cur.trim().to_string());
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_targets_with_quotes_and_blank_cells() {
        let t = targets_from_csv("tenant,deviceId,comment\nt1,m1,\"a, b\"\nt2,m2,\n").unwrap();
        assert_eq!(
            t,
            vec![
                json!({"tenant": "t1", "deviceId": "m1", "comment": "a, b"}),
                json!({"tenant": "t2", "deviceId": "m2"})
            ]
        );
        assert!(targets_from_csv("deviceId\nm1\n").is_err());
        assert!(targets_from_csv("tenant,deviceId\nt1\n").is_err());
        assert!(targets_from_csv("tenant,deviceId\nt1,\"m1\n").is_err());
    }
}
