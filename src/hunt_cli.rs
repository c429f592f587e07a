//! `riposte hunt` (one KQL query over many tenants, through a running gateway) and
//! `riposte kql bench` (the hunting engine against DuckDB).
//!
//! `hunt` is a client of the gateway's `POST /v1/hunt`: it never talks to Microsoft itself. It
//! prints the merged table (leading `TenantId`) and how each tenant fared; `--format json`
//! prints the gateway's answer as is, `--format csv` the rows as CSV (status lines go to stderr
//! then, so the CSV stays clean).

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// Widest a table cell gets before it is cut with `…`.
const MAX_CELL_CHARS: usize = 60;

#[derive(Args, Debug, Clone)]
pub struct HuntArgs {
    /// The KQL query.
    #[arg(short = 'q', long, required_unless_present = "saved", conflicts_with = "saved")]
    pub query: Option<String>,
    /// Run a saved query by name instead (built-ins included: `riposte hunt --saved mdc-simulation-attacker`).
    #[arg(long)]
    pub saved: Option<String>,
    /// Saved query version (default: the latest).
    #[arg(long, requires = "saved")]
    pub version: Option<i64>,
    /// Comma-separated tenant ids, or `all` (every tenant the key may use).
    #[arg(long, default_value = "all")]
    pub tenants: String,
    /// ISO 8601 duration or interval (e.g. P7D); runs through Graph runHuntingQuery.
    #[arg(long, conflicts_with = "archive")]
    pub timespan: Option<String>,
    /// Hunt over Riposte's archive of the streamed tables (any period) instead of Defender's
    /// 30 days; needs --from (and --to, default now).
    #[arg(long, requires = "from")]
    pub archive: bool,
    /// Start of the archive time range (ISO 8601, e.g. 2026-06-01T00:00:00Z).
    #[arg(long, requires = "archive")]
    pub from: Option<String>,
    /// End of the archive time range (default: now).
    #[arg(long, requires = "archive")]
    pub to: Option<String>,
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    pub format: String,
    /// The gateway.
    #[arg(long, env = "RIPOSTE_URL", default_value = "http://127.0.0.1:7070")]
    pub url: String,
    /// An API key (any role may hunt).
    #[arg(long, env = "RIPOSTE_KEY", hide_env_values = true)]
    pub key: String,
}

#[derive(Args, Debug, Clone)]
pub struct KqlBenchArgs {
    /// DeviceProcessEvents rows to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Also run the queries in DuckDB (needs a Python with the `duckdb` module) and compare.
    #[arg(long)]
    pub duckdb: bool,
    /// The Python interpreter for DuckDB (default: RIPOSTE_DUCKDB_PYTHON, else python3).
    #[arg(long, requires = "duckdb")]
    pub python: Option<PathBuf>,
    /// Timed runs per query and engine (after one warm-up).
    #[arg(long, default_value_t = 3)]
    pub iterations: usize,
    /// Worker threads for both engines (DuckDB gets `SET threads` to the same number);
    /// default: RIPOSTE_KQL_THREADS, else every core.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run only this query (repeatable; e.g. `--query join --query window_join`).
    #[arg(long = "query", value_name = "NAME")]
    pub queries: Vec<String>,
}

/// `riposte hunt`: ask the gateway, print the merged table and the per-tenant status.
pub async fn hunt(args: HuntArgs) -> anyhow::Result<()> {
    let body = request_body(&args);
    let url = format!("{}/v1/hunt", args.url.trim_end_matches('/'));
    let spinner = spinner(&format!("hunting in {}", describe_tenants(&args.tenants)));
    let response = reqwest::Client::new().post(&url).header("x-api-key", args.key.trim()).json(&body).send().await;
    spinner.finish_and_clear();
    let response = response.with_context(|| format!("cannot reach the gateway at {}", args.url))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{}", describe_error(status.as_u16(), &answer));
    }
    match args.format.as_str() {
        "json" => emit(&format!("{}\n", serde_json::to_string_pretty(&answer)?)),
        "csv" => {
            emit(&render_csv(&answer));
            eprint!("{}", render_status(&answer));
        }
        _ => emit(&format!("{}{}", render_table(&answer), render_status(&answer))),
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`riposte hunt ... | head`) ends the output quietly.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The `POST /v1/hunt` body the flags describe.
pub fn request_body(args: &HuntArgs) -> Value {
    let mut body = Map::new();
    match (&args.query, &args.saved) {
        (_, Some(saved)) => {
            body.insert("saved".into(), json!(saved));
            if let Some(v) = args.version {
                body.insert("version".into(), json!(v));
            }
        }
        (Some(q), None) => {
            body.insert("query".into(), json!(q));
        }
        (None, None) => {}
    }
    let tenants = args.tenants.trim();
    if tenants.eq_ignore_ascii_case("all") {
        body.insert("tenants".into(), json!("all"));
    } else {
        let list: Vec<&str> = tenants.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        body.insert("tenants".into(), json!(list));
    }
    if let Some(t) = &args.timespan {
        body.insert("timespan".into(), json!(t));
    }
    if args.archive {
        body.insert("source".into(), json!("archive"));
        for (name, value) in [("from", &args.from), ("to", &args.to)] {
            if let Some(v) = value {
                body.insert(name.into(), json!(v));
            }
        }
    }
    Value::Object(body)
}

fn describe_tenants(tenants: &str) -> String {
    if tenants.trim().eq_ignore_ascii_case("all") {
        "every tenant".into()
    } else {
        let n = tenants.split(',').filter(|t| !t.trim().is_empty()).count();
        format!("{n} tenant{}", if n == 1 { "" } else { "s" })
    }
}

/// `400 InvalidParameter: query: is required (hint: ...)`.
fn describe_error(status: u16, body: &Value) -> String {
    let e = &body["error"];
    let code = e["code"].as_str().unwrap_or("Error");
    let message = e["message"].as_str().unwrap_or("the gateway gave no details");
    // Upstream rejections carry Microsoft's code in the message already.
    let message = message.strip_prefix(&format!("{code}: ")).unwrap_or(message);
    let mut line = format!("{status} {code}: {message}");
    if let Some(field) = e["field"].as_str() {
        line.push_str(&format!(" (field: {field})"));
    }
    if let Some(hint) = e["hint"].as_str() {
        line.push_str(&format!("\nhint: {hint}"));
    }
    line
}

/// Column names in schema order (`TenantId` first, as the gateway sends them).
fn columns(answer: &Value) -> Vec<String> {
    answer["schema"]
        .as_array()
        .map(|s| s.iter().filter_map(|c| c["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn rows(answer: &Value) -> &[Value] {
    answer["rows"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// A cell as text: strings bare, null empty, anything else as JSON.
fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An aligned text table; long cells are cut, newlines shown as spaces.
pub fn render_table(answer: &Value) -> String {
    let cols = columns(answer);
    if cols.is_empty() {
        return String::new();
    }
    let cells: Vec<Vec<String>> = rows(answer)
        .iter()
        .map(|r| cols.iter().map(|c| clip(&cell_text(&r[c.as_str()]).replace(['\n', '\r'], " "))).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |items: &[String]| {
        let padded: Vec<String> = items.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&cols);
    out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
    for r in &cells {
        out.push_str(&line(r));
    }
    out
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_CELL_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// RFC 4180 CSV: a header, then one line per row.
pub fn render_csv(answer: &Value) -> String {
    let cols = columns(answer);
    let mut out = csv_line(cols.iter().map(String::as_str));
    for r in rows(answer) {
        let values: Vec<String> = cols.iter().map(|c| cell_text(&r[c.as_str()])).collect();
        out.push_str(&csv_line(values.iter().map(String::as_str)));
    }
    out
}

fn csv_line<'a>(fields: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> =
        fields
            .map(|f| {
                if f.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.to_string()
                }
            })
            .collect();
    format!("{}\r\n", quoted.join(","))
}

/// One line per tenant, then the total: `t1  succeeded  12 rows  340 ms`.
pub fn render_status(answer: &Value) -> String {
    let mut out = String::from("\n");
    for t in answer["tenants"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let mut line = format!(
            "{:<38} {:<10} {:>7} rows {:>6} ms",
            t["tenantId"].as_str().unwrap_or("?"),
            t["status"].as_str().unwrap_or("?"),
            t["rowCount"].as_u64().unwrap_or(0),
            t["durationMs"].as_u64().unwrap_or(0)
        );
        if let Some(msg) = t["error"]["message"].as_str() {
            line.push_str(&format!("  {msg}"));
        }
        if let Some(s) = t["retryAfterSeconds"].as_u64() {
            line.push_str(&format!(" (retry after {s}s)"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!(
        "{} rows from {} tenant(s){}{}\n",
        answer["rowCount"].as_u64().unwrap_or(0),
        answer["tenants"].as_array().map_or(0, Vec::len),
        if answer["partial"] == true { "; PARTIAL: some tenants did not answer" } else { "" },
        if answer["truncated"] == true { "; truncated" } else { "" },
    ));
    if let Some(s) = answer["statistics"].as_object().filter(|s| s.get("source") == Some(&json!("archive"))) {
        let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
        out.push_str(&format!(
            "archive {} .. {}: {} partitions, {} files, {} of {} row groups read, {} rows loaded\n",
            s.get("from").and_then(Value::as_str).unwrap_or("?"),
            s.get("to").and_then(Value::as_str).unwrap_or("?"),
            n("partitions"),
            n("files"),
            n("rowGroups") - n("rowGroupsSkipped"),
            n("rowGroups"),
            n("rowsLoaded"),
        ));
    }
    out
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// `riposte kql bench`: generate rows, time the hunting queries, compare with DuckDB.
pub fn kql_bench(args: KqlBenchArgs) -> anyhow::Result<()> {
    let mut cfg = hunt::bench::BenchConfig::new(args.rows, args.python.as_deref());
    cfg.iterations = args.iterations.max(1);
    cfg.only = args.queries;
    if let Some(t) = args.threads {
        cfg.threads = usize::from(t);
    }
    if args.duckdb {
        if cfg.duckdb.is_none() {
            bail!("{}", cfg.duckdb_note.unwrap_or_else(|| "DuckDB is not available".into()));
        }
    } else {
        cfg.duckdb = None;
        cfg.duckdb_note = Some("DuckDB comparison not requested (add --duckdb)".into());
    }
    let bar = spinner("starting");
    let report = hunt::bench::run(&cfg, &|step: &str| bar.set_message(step.to_string()));
    bar.finish_and_clear();
    let report = report.map_err(|e| anyhow::anyhow!(e))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> Value {
        json!({
            "schema": [{"name": "TenantId", "type": "String"}, {"name": "Cmd", "type": "String"}, {"name": "N", "type": "Int"}],
            "rows": [{"TenantId": "t1", "Cmd": "curl, \"x\"", "N": 1}, {"TenantId": "t2", "Cmd": null, "N": 22}],
            "rowCount": 2, "partial": true,
            "tenants": [
                {"tenantId": "t1", "status": "succeeded", "rowCount": 1, "durationMs": 5},
                {"tenantId": "t3", "status": "throttled", "rowCount": 0, "durationMs": 2,
                 "error": {"message": "upstream still throttling after retries"}, "retryAfterSeconds": 600}
            ]
        })
    }

    #[test]
    fn table_aligns_columns_in_schema_order() {
        let t = render_table(&answer());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("TenantId  Cmd"), "{t}");
        assert!(lines[2].starts_with("t1        curl, \"x\"  1"), "{t}");
        assert!(lines[3].ends_with("22"), "{t}");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(render_csv(&answer()), "TenantId,Cmd,N\r\nt1,\"curl, \"\"x\"\"\",1\r\nt2,,22\r\n");
    }

    #[test]
    fn status_names_each_tenant_and_the_partial_answer() {
        let s = render_status(&answer());
        assert!(s.contains("t3") && s.contains("throttled") && s.contains("retry after 600s"), "{s}");
        assert!(s.contains("2 rows from 2 tenant(s); PARTIAL"), "{s}");
    }

    #[test]
    fn errors_read_as_one_line_with_the_field_and_hint() {
        let body = json!({"error": {"code": "BadRequest", "message": "BadRequest: Syntax error at 1:5", "field": "query", "hint": "fix it"}});
        assert_eq!(describe_error(400, &body), "400 BadRequest: Syntax error at 1:5 (field: query)\nhint: fix it");
        assert_eq!(describe_error(502, &Value::Null), "502 Error: the gateway gave no details");
    }

    #[test]
    fn flags_become_the_hunt_body() {
        let args = HuntArgs {
            query: Some("T | take 1".into()),
            saved: None,
            version: None,
            tenants: "a, b".into(),
            timespan: Some("P1D".into()),
            archive: false,
            from: None,
            to: None,
            format: "table".into(),
            url: "http://x".into(),
            key: "k".into(),
        };
        assert_eq!(request_body(&args), json!({"query": "T | take 1", "tenants": ["a", "b"], "timespan": "P1D"}));
        let saved = HuntArgs {
            query: None,
            saved: Some("q".into()),
            version: Some(2),
            tenants: "all".into(),
            timespan: None,
            ..args
        };
        assert_eq!(request_body(&saved), json!({"saved": "q", "version": 2, "tenants": "all"}));
        let archived = HuntArgs { archive: true, from: Some("2026-01-01".into()), ..saved };
        assert_eq!(
            request_body(&archived),
            json!({"saved": "q", "version": 2, "tenants": "all", "source": "archive", "from": "2026-01-01"})
        );
    }
}
