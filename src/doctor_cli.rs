//! `riposte doctor` and `riposte action` (with `--dry-run`): clients of a running gateway.
//!
//! `doctor` asks `GET /v1/tenants/{id}/doctor` for every tenant the key may use (or one), with a
//! progress bar over the tenants, and prints per tenant the actions that would fail and the
//! least-privileged fix (`--json` for the reports as they came). `action` runs one action through
//! the native route; `--dry-run` shows the upstream requests it would send instead
//! (`?dryRun=true`: nothing is sent, nothing is created).

use crate::jobs_cli::{Client, GatewayArgs};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// One tenant (default: every tenant the key may use).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Print the reports as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also list actions that work only in part, and what could not be checked.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ActionArgs {
    /// The product (MDE, EntraID, AWS, ...).
    pub product: String,
    /// The action (e.g. IsolateDevice).
    pub action: String,
    /// The tenant to act on.
    #[arg(long)]
    pub tenant: String,
    /// A parameter, `name=value` (repeatable); a value that parses as JSON is sent as JSON.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Show the requests the action would send, without sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gateway: GatewayArgs,
}

/// `riposte doctor`
pub async fn doctor(a: DoctorArgs) -> anyhow::Result<()> {
    let client = Client::new(&a.gateway)?;
    let tenants: Vec<String> = match &a.tenant {
        Some(t) => vec![t.clone()],
        None => {
            let list = client.send(client.http.get(client.url("/v1/tenants"))).await?;
            list["tenants"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(String::from)).collect()
        }
    };
    let bar = ProgressBar::new(tenants.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} tenants {msg}")?);
    let mut reports = Vec::with_capacity(tenants.len());
    for t in &tenants {
        bar.set_message(t.clone());
        let path = format!("/v1/tenants/{}/doctor", urlencode(t));
        reports.push(client.send(client.http.get(client.url(&path))).await.with_context(|| format!("tenant {t}"))?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    let mut failing_total = 0;
    for r in &reports {
        failing_total += print_report(r, a.verbose);
    }
    if failing_total > 0 {
        anyhow::bail!("{failing_total} action(s) would fail for lack of a permission");
    }
    Ok(())
}

/// One tenant's report as a table; returns how many actions would fail.
fn print_report(r: &Value, verbose: bool) -> usize {
    let list = |k: &str| r[k].as_array().cloned().unwrap_or_default();
    let failing = list("failing");
    println!(
        "tenant {}: {} actions checked, {} ok, {} would fail, {} partial, {} unchecked",
        r["tenant"].as_str().unwrap_or("?"),
        r["checked"],
        r["ok"],
        failing.len(),
        list("partial").len(),
        list("unchecked").len()
    );
    for g in list("grants").iter().filter(|g| !g["error"].is_null()) {
        println!("  ! no {} token: {}", g["api"].as_str().unwrap_or("?"), g["error"].as_str().unwrap_or(""));
    }
    if let Some(e) = r["azure"]["error"].as_str() {
        println!("  ! Azure role assignments: {e}");
    }
    let mut sections = vec![("FAILS", failing.clone())];
    if verbose {
        sections.push(("PARTIAL", list("partial")));
        sections.push(("UNCHECKED", list("unchecked")));
    }
    for (label, findings) in sections.iter().filter(|(_, f)| !f.is_empty()) {
        println!("  {:<9}  {:<8}  {:<36}  fix", label, "product", "action");
        for f in findings {
            for m in f["missing"].as_array().into_iter().flatten() {
                println!(
                    "  {:<9}  {:<8}  {:<36}  {}",
                    "",
                    f["product"].as_str().unwrap_or(""),
                    f["action"].as_str().unwrap_or(""),
                    m["fix"].as_str().unwrap_or("")
                );
            }
        }
    }
    failing.len()
}

/// `riposte action PRODUCT ACTION --tenant T --param k=v [--dry-run]`
pub async fn action(a: ActionArgs) -> anyhow::Result<()> {
    let client = Client::new(&a.gateway)?;
    let body = params(&a.params)?;
    let mut path =
        format!("/v1/tenants/{}/actions/{}/{}", urlencode(&a.tenant), urlencode(&a.product), urlencode(&a.action));
    if a.dry_run {
        path.push_str("?dryRun=true");
    }
    let answer = client.send(client.http.post(client.url(&path)).json(&body)).await?;
    if a.json || !a.dry_run {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    print_preview(&answer);
    Ok(())
}

/// A dry run as text: each request (method, URL, body), the reads, the permission check.
fn print_preview(p: &Value) {
    println!(
        "dry run of {} {} on {} (nothing sent, nothing created)",
        p["product"].as_str().unwrap_or(""),
        p["action"].as_str().unwrap_or(""),
        p["tenant"].as_str().unwrap_or("")
    );
    println!("would change: {}", p["expectedChange"]["summary"].as_str().unwrap_or(""));
    for r in p["requests"].as_array().into_iter().flatten() {
        let validation = r["validation"]["code"].as_str().map(|c| format!("  [{c}]")).unwrap_or_default();
        println!("  {} {}{validation}", r["method"].as_str().unwrap_or(""), r["url"].as_str().unwrap_or(""));
        if !r["body"].is_null() {
            println!("    {}", r["body"]);
        }
    }
    let reads = p["reads"].as_array().map_or(0, Vec::len);
    if reads > 0 {
        println!("  ({reads} read(s) sent to resolve targets)");
    }
    if p["permission"]["ok"] != true {
        for m in p["permission"]["missing"].as_array().into_iter().flatten() {
            println!("  ! missing permission: {}", m["fix"].as_str().unwrap_or(""));
        }
    }
    if p["complete"] != true {
        println!(
            "  ! later steps depend on answers only the real call gives: {}",
            p["stoppedAt"]["message"].as_str().unwrap_or("")
        );
    }
}

/// `name=value` pairs as a JSON object (values that parse as JSON are sent as JSON).
fn params(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for p in pairs {
        let (name, value) = p.split_once('=').with_context(|| format!("--param {p}: expected NAME=VALUE"))?;
        let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_string()));
        out.insert(name.trim().to_string(), value);
    }
    Ok(out)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_json_or_text() {
        let p = params(&["deviceIds=[\"a\",\"b\"]".into(), "comment=contain now".into()]).unwrap();
        assert_eq!(p["deviceIds"], serde_json::json!(["a", "b"]));
        assert_eq!(p["comment"], "contain now");
        assert!(params(&["novalue".into()]).is_err());
    }
}
