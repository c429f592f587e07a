//! The hunting benchmark: seven KQL queries (scan + filter, filter + summarize, multi-predicate
//! filter + project, join, `has_any`, a time-window join of process and network events, and
//! the latest event per device with `arg_max(Timestamp, *)`) over generated
//! `DeviceProcessEvents` rows (plus `DeviceInfo` snapshots and one `DeviceNetworkEvents` row
//! per ten process events), each timed in this engine and — when the `duckdb` Python wheel is
//! available — as equivalent SQL in DuckDB on the same data in the same run, with rows/second
//! per engine, their ratio and whether the two engines' answers agree.
//!
//! Both engines get the same number of threads ([`BenchConfig::threads`]; DuckDB through
//! `SET threads`), so the ratio compares engines, not machines.
//!
//! Timings cover query execution only: data generation (KQL) and CSV export + load (DuckDB)
//! are measured and reported separately. Each query runs once to warm up and then
//! `iterations` times per engine; the median is reported. Nothing here asserts on time — a
//! benchmark reports, tests decide.
//!
//! DuckDB runs out of process (`python3 duckdb_bench.py DATA.csv QUERIES.json`, the script is
//! `ci/duckdb_bench.py`, compiled into this crate so the CLI needs no source checkout), so no
//! native DuckDB dependency enters the build.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::eval::{self, Context};
use crate::table::{self, ColumnData, Table};
use crate::value::{self, Type};

/// The DuckDB side of the benchmark, compiled in so `riposte kql bench` works from anywhere.
const DUCKDB_SCRIPT: &str = include_str!("../../../ci/duckdb_bench.py");

/// Snapshots per device in the generated `DeviceInfo` table (so the join's de-duplication of
/// its left side matters).
const DEVICE_INFO_SNAPSHOTS: usize = 3;

/// How to reach DuckDB: a Python interpreter that can `import duckdb`.
#[derive(Clone, Debug, Serialize)]
pub struct DuckDbRunner {
    pub python: PathBuf,
    /// `duckdb.__version__` as reported by the interpreter.
    pub version: String,
    /// DuckDB worker threads; `None` keeps DuckDB's default (all cores).
    pub threads: Option<usize>,
    /// Where the CSV export and query file go; `None` uses a fresh directory under the system
    /// temp dir, removed afterwards.
    pub work_dir: Option<PathBuf>,
}

impl DuckDbRunner {
    /// Finds a Python with the `duckdb` module: `python` if given, else the interpreter named
    /// by `RIPOSTE_DUCKDB_PYTHON`, else `python3` on `PATH`. `Err` says why none works.
    pub fn detect(python: Option<&Path>) -> Result<DuckDbRunner, String> {
        let python = match python {
            Some(p) => p.to_path_buf(),
            None => {
                std::env::var_os("RIPOSTE_DUCKDB_PYTHON").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("python3"))
            }
        };
        let out = Command::new(&python)
            .args(["-c", "import duckdb; print(duckdb.__version__)"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("import failed").trim().to_string();
            return Err(format!(
                "{} cannot import duckdb ({last}); install it with `pip install duckdb` or set RIPOSTE_DUCKDB_PYTHON",
                python.display()
            ));
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(DuckDbRunner { python, version, threads: None, work_dir: None })
    }
}

/// Generated `DeviceNetworkEvents` rows per generated `DeviceProcessEvents` row.
const NETWORK_EVENTS_PER_PROCESS_EVENT: f64 = 0.1;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// `DeviceProcessEvents` rows to generate.
    pub rows: usize,
    /// Worker threads of both engines (this one through [`crate::eval::parallel::set_threads`],
    /// DuckDB through `SET threads`).
    pub threads: usize,
    pub seed: u64,
    /// Timed runs per query and engine (after one warm-up run); the median is reported.
    pub iterations: usize,
    /// DuckDB to compare against; `None` runs the KQL side only.
    pub duckdb: Option<DuckDbRunner>,
    /// Why DuckDB is not part of the run (shown in the report) when `duckdb` is `None`.
    pub duckdb_note: Option<String>,
    /// Names of the queries to run (see [`queries`]); empty runs them all.
    pub only: Vec<String>,
}

impl BenchConfig {
    /// `rows` rows, seed 1, three timed runs, DuckDB looked up with [`DuckDbRunner::detect`]
    /// (`python` overrides the interpreter); a failed lookup is recorded, not an error, so the
    /// KQL figures are still produced.
    pub fn new(rows: usize, python: Option<&Path>) -> BenchConfig {
        let (duckdb, duckdb_note) = match DuckDbRunner::detect(python) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(format!("DuckDB not available: {e}"))),
        };
        BenchConfig {
            rows,
            threads: crate::eval::parallel::threads(),
            seed: 1,
            iterations: 3,
            duckdb,
            duckdb_note,
            only: Vec::new(),
        }
    }
}

/// One benchmark query in both languages.
#[derive(Clone, Debug, Serialize)]
pub struct BenchQuery {
    pub name: &'static str,
    pub kql: String,
    /// SQL statements run in order; the last one's rows are the answer.
    pub sql: Vec<String>,
    /// How the SQL differs from KQL semantics, if it does.
    pub note: Option<&'static str>,
    /// The tables the query reads; the rate is computed over their rows together.
    pub tables: &'static [&'static str],
}

/// Results of one query.
#[derive(Clone, Debug, Serialize)]
pub struct QueryReport {
    pub name: String,
    pub kql: String,
    pub sql: Vec<String>,
    pub note: Option<String>,
    /// Rows the rate is computed over (the rows of the tables the query reads).
    pub input_rows: usize,
    pub kql_runs_seconds: Vec<f64>,
    pub kql_seconds: Option<f64>,
    pub kql_rows_per_sec: Option<f64>,
    pub kql_error: Option<String>,
    /// The answer, one string per row (`a|b|c`), sorted.
    pub kql_result: Vec<String>,
    pub duckdb_runs_seconds: Vec<f64>,
    pub duckdb_seconds: Option<f64>,
    pub duckdb_rows_per_sec: Option<f64>,
    pub duckdb_error: Option<String>,
    pub duckdb_result: Option<Vec<String>>,
    /// KQL rows/s divided by DuckDB rows/s (above 1: this engine is faster).
    pub ratio: Option<f64>,
    /// Whether both engines gave the same answer (`None` when one did not run).
    pub agree: Option<bool>,
}

/// DuckDB facts of a run.
#[derive(Clone, Debug, Serialize)]
pub struct DuckDbSummary {
    pub version: String,
    pub threads: Option<i64>,
    pub export_seconds: f64,
    pub export_bytes: u64,
    pub load_seconds: f64,
}

/// The whole benchmark's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub rows: usize,
    pub seed: u64,
    pub iterations: usize,
    /// Worker threads this engine evaluated with.
    pub kql_threads: usize,
    pub generate_seconds: f64,
    pub duckdb: Option<DuckDbSummary>,
    pub duckdb_note: Option<String>,
    pub queries: Vec<QueryReport>,
}

impl BenchReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// True when DuckDB ran every query and every answer matched.
    pub fn all_agree(&self) -> Option<bool> {
        let mut all = true;
        for q in &self.queries {
            all &= q.agree?;
        }
        Some(all)
    }
}

fn fmt_rate(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 1e6 => format!("{:.1}M", r / 1e6),
        Some(r) if r >= 1e3 => format!("{:.1}k", r / 1e3),
        Some(r) => format!("{r:.0}"),
        None => "-".into(),
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "hunting benchmark: {} DeviceProcessEvents rows (seed {}), median of {} runs; generated in {:.1}s",
            self.rows, self.seed, self.iterations, self.generate_seconds
        )?;
        match &self.duckdb {
            Some(d) => writeln!(
                f,
                "DuckDB {} ({} threads; this engine: {}): CSV export {:.1}s ({:.0} MB), load {:.1}s",
                d.version,
                d.threads.map_or("default".into(), |t| t.to_string()),
                self.kql_threads,
                d.export_seconds,
                d.export_bytes as f64 / 1e6,
                d.load_seconds
            )?,
            None => writeln!(f, "{}", self.duckdb_note.as_deref().unwrap_or("DuckDB not available"))?,
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<16} {:>12} {:>12} {:>12} {:>10} {:>12} {:>8}",
            "query", "KQL rows/s", "DuckDB rows/s", "KQL/DuckDB", "KQL s", "DuckDB s", "agree"
        )?;
        writeln!(f, "{}", "-".repeat(88))?;
        for q in &self.queries {
            let agree = match (q.agree, &q.kql_error, &q.duckdb_error) {
                (_, Some(_), _) => "KQL err".to_string(),
                (_, _, Some(_)) => "SQL err".to_string(),
                (Some(true), ..) => "yes".to_string(),
                (Some(false), ..) => "NO".to_string(),
                (None, ..) => "-".to_string(),
            };
            writeln!(
                f,
                "{:<16} {:>12} {:>12} {:>12} {:>10} {:>12} {:>8}",
                q.name,
                fmt_rate(q.kql_rows_per_sec),
                fmt_rate(q.duckdb_rows_per_sec),
                q.ratio.map_or("-".into(), |r| format!("{r:.2}x")),
                q.kql_seconds.map_or("-".into(), |s| format!("{s:.3}")),
                q.duckdb_seconds.map_or("-".into(), |s| format!("{s:.3}")),
                agree
            )?;
        }
        for q in &self.queries {
            if let Some(e) = &q.kql_error {
                writeln!(f, "{}: KQL error: {e}", q.name)?;
            }
            if let Some(e) = &q.duckdb_error {
                writeln!(f, "{}: DuckDB error: {e}", q.name)?;
            }
            if q.agree == Some(false) {
                writeln!(
                    f,
                    "{}: answers differ\n  KQL:    {:?}\n  DuckDB: {:?}",
                    q.name,
                    q.kql_result,
                    q.duckdb_result.as_deref().unwrap_or_default()
                )?;
            }
        }
        if let Some(all) = self.all_agree() {
            writeln!(f, "\nanswers agree: {}", if all { "all queries" } else { "NO (see above)" })?;
        }
        Ok(())
    }
}

/// The benchmark queries. `now` is the evaluation time (`ago()` is relative to it); the SQL
/// gets the same instant as a literal so both engines filter the same rows.
pub fn queries(now: i64) -> Vec<BenchQuery> {
    let week_ago = sql_timestamp(now - 7 * value::TICKS_PER_DAY);
    let has_any_terms = ["mimikatz", "sekurlsa", "Invoke-Mimikatz", "-EncodedCommand"];
    let kql_terms: Vec<String> = has_any_terms.iter().map(|t| format!("\"{t}\"")).collect();
    vec![
        BenchQuery {
            name: "scan_filter",
            kql: r#"DeviceProcessEvents | where FileName =~ "powershell.exe" and ProcessCommandLine contains "-enc" | count"#.into(),
            sql: vec!["SELECT count(*) AS Count FROM DeviceProcessEvents WHERE lower(FileName) = 'powershell.exe' AND ProcessCommandLine ILIKE '%-enc%'".into()],
            note: None,
            tables: &["DeviceProcessEvents"],
        },
        BenchQuery {
            name: "summarize",
            kql: "DeviceProcessEvents | where Timestamp > ago(7d) | summarize Executions=count(), Devices=dcount(DeviceId) by FileName | top 10 by Executions".into(),
            sql: vec![format!(
                "SELECT FileName, count(*) AS Executions, count(DISTINCT DeviceId) AS Devices FROM DeviceProcessEvents \
                 WHERE Timestamp > TIMESTAMP '{week_ago}' GROUP BY FileName ORDER BY Executions DESC LIMIT 10"
            )],
            note: Some("dcount() is exact in this engine (Kusto's is an estimate); count(DISTINCT) matches it"),
            tables: &["DeviceProcessEvents"],
        },
        BenchQuery {
            name: "filter_project",
            kql: r#"DeviceProcessEvents | where FileName in~ ("cmd.exe", "powershell.exe", "rundll32.exe", "mshta.exe", "wmic.exe") and FolderPath startswith "C:\\Windows" and AccountName != "system" | project Timestamp, DeviceName, FileName, ProcessCommandLine"#.into(),
            sql: vec![
                "CREATE OR REPLACE TEMP TABLE bench_filter_project AS SELECT Timestamp, DeviceName, FileName, ProcessCommandLine \
                 FROM DeviceProcessEvents WHERE lower(FileName) IN ('cmd.exe', 'powershell.exe', 'rundll32.exe', 'mshta.exe', 'wmic.exe') \
                 AND starts_with(lower(FolderPath), 'c:\\windows') AND AccountName <> 'system'"
                    .into(),
                "SELECT count(*) AS Count FROM bench_filter_project".into(),
            ],
            note: Some("both engines materialise the 4-column result; the answer compared is its row count"),
            tables: &["DeviceProcessEvents"],
        },
        BenchQuery {
            name: "join",
            kql: "DeviceInfo | join (DeviceProcessEvents) on DeviceId | summarize Events=count(), Devices=dcount(DeviceId) by OSPlatform".into(),
            sql: vec![
                "WITH di AS (SELECT * FROM DeviceInfo QUALIFY row_number() OVER (PARTITION BY DeviceId ORDER BY Seq) = 1) \
                 SELECT di.OSPlatform, count(*) AS Events, count(DISTINCT di.DeviceId) AS Devices \
                 FROM di JOIN DeviceProcessEvents e ON di.DeviceId = e.DeviceId GROUP BY di.OSPlatform"
                    .into(),
            ],
            note: Some(
                "default join kind innerunique keeps one left row per key: SQL keeps the first DeviceInfo snapshot per device (by Seq), \
                 which is the row this engine keeps",
            ),
            tables: &["DeviceInfo", "DeviceProcessEvents"],
        },
        BenchQuery {
            name: "has_any",
            kql: format!("DeviceProcessEvents | where ProcessCommandLine has_any ({}) | count", kql_terms.join(", ")),
            sql: vec![format!(
                "SELECT count(*) AS Count FROM DeviceProcessEvents WHERE regexp_matches(ProcessCommandLine, '{}')",
                has_any_regex(&has_any_terms).replace('\'', "''")
            )],
            note: Some(
                "has_any is term matching; SQL uses a case-insensitive regex that requires a non-alphanumeric character (or the \
                 string edge) where a term starts or ends — the same rule as this engine's `has` for ASCII text, but without \
                 Kusto's term index",
            ),
            tables: &["DeviceProcessEvents"],
        },
        BenchQuery {
            name: "window_join",
            kql: "DeviceProcessEvents \
                  | where FileName in~ (\"powershell.exe\", \"rundll32.exe\", \"mshta.exe\") \
                  | project DeviceId, ProcessTime = Timestamp, FileName, TimeKey = bin(Timestamp, 150s) \
                  | join kind=inner (DeviceNetworkEvents \
                      | where RemotePort in (443, 4444, 8080) \
                      | project DeviceId, NetworkTime = Timestamp, RemoteIP, \
                          TimeKey = range(bin(Timestamp - 5m, 150s), bin(Timestamp, 150s), 150s) \
                      | mv-expand TimeKey to typeof(datetime)) on DeviceId, TimeKey \
                  | where NetworkTime between (ProcessTime .. (ProcessTime + 5m)) \
                  | summarize Connections = count(), RemoteIPs = dcount(RemoteIP) by FileName"
                .into(),
            sql: vec![
                "WITH p AS (SELECT DeviceId, Timestamp AS ProcessTime, FileName, \
                   time_bucket(INTERVAL 150 SECOND, Timestamp) AS TimeKey FROM DeviceProcessEvents \
                   WHERE lower(FileName) IN ('powershell.exe', 'rundll32.exe', 'mshta.exe')), \
                 n AS (SELECT DeviceId, Timestamp AS NetworkTime, RemoteIP, \
                   unnest(generate_series(time_bucket(INTERVAL 150 SECOND, Timestamp - INTERVAL 5 MINUTE), \
                     time_bucket(INTERVAL 150 SECOND, Timestamp), INTERVAL 150 SECOND)) AS TimeKey \
                   FROM DeviceNetworkEvents WHERE RemotePort IN (443, 4444, 8080)) \
                 SELECT p.FileName, count(*) AS Connections, count(DISTINCT n.RemoteIP) AS RemoteIPs \
                 FROM p JOIN n ON p.DeviceId = n.DeviceId AND p.TimeKey = n.TimeKey \
                 WHERE n.NetworkTime BETWEEN p.ProcessTime AND p.ProcessTime + INTERVAL 5 MINUTE \
                 GROUP BY p.FileName"
                    .into(),
            ],
            note: Some(
                "Kusto's documented time-window join: process events keyed by their 150 s bin, network events by \
                 the bins of the 5 minutes before them (range + mv-expand), joined on device and bin, then the exact \
                 window; the SQL does the same with time_bucket + unnest(generate_series)",
            ),
            tables: &["DeviceProcessEvents", "DeviceNetworkEvents"],
        },
        BenchQuery {
            name: "latest_per_device",
            kql: "DeviceProcessEvents | summarize arg_max(Timestamp, *) by DeviceId".into(),
            sql: vec![format!(
                "WITH latest AS (SELECT arg_max(ReportId, epoch(Timestamp)::BIGINT * 1073741824 - ReportId) AS rid \
                 FROM DeviceProcessEvents GROUP BY DeviceId) \
                 SELECT e.DeviceId, strftime(e.Timestamp, '%Y-%m-%dT%H:%M:%S') || '.0000000Z', {} \
                 FROM DeviceProcessEvents e JOIN latest ON e.ReportId = latest.rid",
                LATEST_COLUMNS.iter().map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ")
            )],
            note: Some(
                "arg_max keeps the first row holding the maximum (lowest ReportId on a tie); the SQL finds that row's \
                 ReportId with DuckDB's arg_max over (seconds, -ReportId) packed in one BIGINT (ReportId < 2^30), its \
                 fastest form (QUALIFY row_number() took 70x longer), joins it back and prints Timestamp as Kusto does",
            ),
            tables: &["DeviceProcessEvents"],
        },
    ]
}

/// The columns `arg_max(Timestamp, *) by DeviceId` returns after `DeviceId, Timestamp`.
const LATEST_COLUMNS: [&str; 11] = [
    "DeviceName",
    "ActionType",
    "FileName",
    "FolderPath",
    "SHA256",
    "ProcessCommandLine",
    "AccountName",
    "ProcessId",
    "InitiatingProcessFileName",
    "InitiatingProcessCommandLine",
    "ReportId",
];

/// Network events over the same 30 days and devices as the generated process events:
/// `rows` connections from random devices of `device_ids` to a pool of remote addresses on
/// common ports.
pub fn generate_device_network_events(rows: usize, seed: u64, device_ids: &[Arc<str>]) -> Table {
    let mut state = seed.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x94D0_49BB_1331_11EB;
    let mut below = |n: usize| -> usize {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    };
    let ips: Vec<Arc<str>> = (0..5000).map(|i| Arc::from(format!("203.0.{}.{}", i / 250, i % 250 + 1))).collect();
    let ports = [443i64, 80, 445, 3389, 4444, 8080, 53];
    let action: Arc<str> = Arc::from("ConnectionSuccess");
    let base = value::parse_datetime("2024-01-01T00:00:00Z").unwrap_or(0);
    let fallback: Arc<str> = Arc::from("");
    let (mut ts, mut dev, mut ip, mut port, mut act) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for _ in 0..rows {
        ts.push(Some(base + below(30 * 86_400) as i64 * value::TICKS_PER_SECOND));
        dev.push(device_ids.get(below(device_ids.len())).unwrap_or(&fallback).clone());
        ip.push(ips[below(ips.len())].clone());
        port.push(Some(ports[below(ports.len())]));
        act.push(action.clone());
    }
    Table::new(vec![
        table::Column::with_data("Timestamp", Type::DateTime, ColumnData::DateTime(ts)),
        table::Column::with_data("DeviceId", Type::String, ColumnData::String(dev)),
        table::Column::with_data("ActionType", Type::String, ColumnData::String(act)),
        table::Column::with_data("RemoteIP", Type::String, ColumnData::String(ip)),
        table::Column::with_data("RemotePort", Type::Long, ColumnData::Long(port)),
    ])
}

/// The distinct values of a string column, in first-appearance order.
fn distinct_strings(t: &Table, column: &str) -> Vec<Arc<str>> {
    let mut seen = std::collections::HashSet::new();
    match t.column(column).map(|c| &*c.data) {
        Some(ColumnData::String(v)) => v.iter().filter(|s| seen.insert(s.to_string())).cloned().collect(),
        _ => Vec::new(),
    }
}

/// A regex (RE2 and Rust `regex` syntax alike) equivalent to `has_any(terms)` for ASCII text;
/// see [`crate::functions::has_any_pattern`], which the engine's own scan uses too.
pub fn has_any_regex(terms: &[&str]) -> String {
    crate::functions::has_any_pattern(terms).unwrap_or_else(|| {
        // Non-ASCII terms: plain case-insensitive alternation (documented approximation).
        let alts: Vec<String> = terms.iter().map(|t| regex::escape(t)).collect();
        format!("(?i){}", alts.join("|"))
    })
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, which DuckDB reads as a TIMESTAMP.
fn sql_timestamp(t: i64) -> String {
    let c = value::to_civil(t);
    let mut s = format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second);
    if c.frac != 0 {
        s.push_str(&format!(".{:06}", c.frac / 10));
    }
    s
}

/// Runs the benchmark. `progress` receives one line per step (for a CLI progress display).
pub fn run(cfg: &BenchConfig, progress: &dyn Fn(&str)) -> Result<BenchReport, String> {
    if cfg.rows == 0 {
        return Err("the benchmark needs at least one row".into());
    }
    let iterations = cfg.iterations.max(1);
    let threads = cfg.threads.max(1);
    crate::eval::parallel::set_threads(threads);
    // As the riposte binary does at start-up (a no-op when it already did).
    crate::eval::parallel::retain_freed_memory();
    progress(&format!("generating {} DeviceProcessEvents rows", cfg.rows));
    let start = Instant::now();
    let events = table::generate_device_process_events(cfg.rows, cfg.seed);
    let device_info = table::generate_device_info(DEVICE_INFO_SNAPSHOTS, cfg.seed);
    let network_rows = ((cfg.rows as f64 * NETWORK_EVENTS_PER_PROCESS_EVENT).ceil() as usize).max(1);
    let network = generate_device_network_events(network_rows, cfg.seed, &distinct_strings(&device_info, "DeviceId"));
    let generate_seconds = start.elapsed().as_secs_f64();
    let table_rows: HashMap<&str, usize> = HashMap::from([
        ("DeviceProcessEvents", events.num_rows()),
        ("DeviceInfo", device_info.num_rows()),
        ("DeviceNetworkEvents", network.num_rows()),
    ]);
    // Evaluate "now" at the end of the generated 30-day window so `ago(7d)` selects the last week.
    let now = value::parse_datetime("2024-01-31T00:00:00Z").unwrap_or(0);
    let mut qs = queries(now);
    if !cfg.only.is_empty() {
        if let Some(unknown) = cfg.only.iter().find(|n| !qs.iter().any(|q| q.name == n.as_str())) {
            let names: Vec<&str> = qs.iter().map(|q| q.name).collect();
            return Err(format!("no bench query named `{unknown}` (the queries: {})", names.join(", ")));
        }
        qs.retain(|q| cfg.only.iter().any(|n| n == q.name));
    }

    // Export first, so the tables can be dropped before DuckDB loads its copy.
    let mut export: Option<(Export, f64)> = None;
    let mut duckdb_note = cfg.duckdb_note.clone();
    let duckdb = cfg.duckdb.clone().map(|r| DuckDbRunner { threads: Some(threads), ..r });
    if let Some(runner) = &duckdb {
        progress("exporting the data to CSV for DuckDB");
        let t = Instant::now();
        let tables =
            [("DeviceProcessEvents", &events), ("DeviceInfo", &device_info), ("DeviceNetworkEvents", &network)];
        match Export::write(runner, &tables, &qs) {
            Ok(e) => export = Some((e, t.elapsed().as_secs_f64())),
            Err(e) => duckdb_note = Some(format!("DuckDB skipped: {e}")),
        }
    }

    let ctx = Context {
        tables: HashMap::from([
            ("DeviceProcessEvents".to_string(), events),
            ("DeviceInfo".to_string(), device_info),
            ("DeviceNetworkEvents".to_string(), network),
        ]),
        now,
        max_rows: None,
        source: None,
        deadline: None,
        memory: None,
    };
    let mut reports = Vec::with_capacity(qs.len());
    for q in &qs {
        let rows = q.tables.iter().map(|t| table_rows.get(t).copied().unwrap_or(0)).sum();
        reports.push(run_kql(q, &ctx, rows, iterations, progress));
    }
    drop(ctx);

    let mut duck_summary = None;
    if let (Some(runner), Some((exp, export_seconds))) = (&duckdb, export) {
        progress(&format!("DuckDB {}: loading {:.0} MB of CSV", runner.version, exp.bytes as f64 / 1e6));
        let outcome = exp.run(runner, iterations, progress);
        exp.cleanup();
        match outcome {
            Ok(out) => {
                duck_summary = Some(DuckDbSummary {
                    version: out.version.clone().unwrap_or_else(|| runner.version.clone()),
                    threads: out.threads,
                    export_seconds,
                    export_bytes: exp.bytes,
                    load_seconds: out.load_seconds,
                });
                for r in reports.iter_mut() {
                    let Some(d) = out.queries.iter().find(|d| d.name == r.name) else { continue };
                    merge_duckdb(r, d);
                }
            }
            Err(e) => duckdb_note = Some(format!("DuckDB run failed: {e}")),
        }
    }
    Ok(BenchReport {
        rows: cfg.rows,
        seed: cfg.seed,
        iterations,
        kql_threads: threads,
        generate_seconds,
        duckdb: duck_summary,
        duckdb_note,
        queries: reports,
    })
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    Some(s[s.len() / 2])
}

/// Answer rows as sorted `a|b|c` strings, so engines that order unordered results differently
/// still compare equal.
fn answer_rows(t: &Table) -> Vec<String> {
    let mut rows: Vec<String> = (0..t.num_rows())
        .map(|r| t.columns.iter().map(|c| c.get(r).to_kusto_string()).collect::<Vec<_>>().join("|"))
        .collect();
    rows.sort();
    rows
}

fn run_kql(q: &BenchQuery, ctx: &Context, rows: usize, iterations: usize, progress: &dyn Fn(&str)) -> QueryReport {
    let mut report = QueryReport {
        name: q.name.to_string(),
        kql: q.kql.clone(),
        sql: q.sql.clone(),
        note: q.note.map(str::to_string),
        input_rows: rows,
        kql_runs_seconds: vec![],
        kql_seconds: None,
        kql_rows_per_sec: None,
        kql_error: None,
        kql_result: vec![],
        duckdb_runs_seconds: vec![],
        duckdb_seconds: None,
        duckdb_rows_per_sec: None,
        duckdb_error: None,
        duckdb_result: None,
        ratio: None,
        agree: None,
    };
    let parsed = match crate::parser::parse_query(&q.kql) {
        Ok(p) => p,
        Err(e) => {
            report.kql_error = Some(format!("parse error: {e:?}"));
            return report;
        }
    };
    let ctx = Context { source: Some(Arc::from(q.kql.as_str())), ..ctx.clone() };
    for i in 0..=iterations {
        progress(&format!("KQL {}: run {}/{}{}", q.name, i, iterations, if i == 0 { " (warm-up)" } else { "" }));
        let t = Instant::now();
        let res = eval::run(&parsed, &ctx);
        let secs = t.elapsed().as_secs_f64();
        match res {
            Ok(table) => {
                if i > 0 {
                    report.kql_runs_seconds.push(secs);
                }
                // `filter_project` returns the projected rows; its answer is how many.
                report.kql_result =
                    if q.name == "filter_project" { vec![table.num_rows().to_string()] } else { answer_rows(&table) };
            }
            Err(e) => {
                report.kql_error = Some(e.to_string());
                return report;
            }
        }
    }
    report.kql_seconds = median(&report.kql_runs_seconds);
    report.kql_rows_per_sec = report.kql_seconds.map(|s| rows as f64 / s.max(1e-9));
    report
}

fn merge_duckdb(r: &mut QueryReport, d: &DuckQuery) {
    if let Some(e) = &d.error {
        r.duckdb_error = Some(e.clone());
        return;
    }
    r.duckdb_runs_seconds = d.seconds.clone();
    r.duckdb_seconds = median(&d.seconds);
    r.duckdb_rows_per_sec = r.duckdb_seconds.map(|s| r.input_rows as f64 / s.max(1e-9));
    let mut rows: Vec<String> = d.rows.iter().map(|row| row.join("|")).collect();
    rows.sort();
    if r.kql_error.is_none() {
        r.agree = Some(rows == r.kql_result);
        if let (Some(k), Some(dk)) = (r.kql_rows_per_sec, r.duckdb_rows_per_sec) {
            r.ratio = Some(k / dk);
        }
    }
    r.duckdb_result = Some(rows);
}

// ---------------------------------------------------------------------------------------------
// DuckDB side
// ---------------------------------------------------------------------------------------------

/// Files handed to the DuckDB script.
struct Export {
    dir: PathBuf,
    /// Whether `dir` was created here (and is removed afterwards).
    owned: bool,
    data_file: PathBuf,
    queries_file: PathBuf,
    script_file: PathBuf,
    bytes: u64,
}

#[derive(serde::Deserialize)]
struct DuckOutput {
    version: Option<String>,
    threads: Option<i64>,
    load_seconds: f64,
    queries: Vec<DuckQuery>,
}

#[derive(serde::Deserialize)]
struct DuckQuery {
    name: String,
    #[serde(default)]
    seconds: Vec<f64>,
    #[serde(default)]
    rows: Vec<Vec<String>>,
    error: Option<String>,
}

/// DuckDB type for a column (CSV carries text; the script declares types explicitly so that
/// inference never changes what a query sees).
fn duck_type(t: Type) -> &'static str {
    match t {
        Type::Bool => "BOOLEAN",
        Type::Int => "INTEGER",
        Type::Long => "BIGINT",
        Type::Real | Type::Decimal => "DOUBLE",
        Type::DateTime => "TIMESTAMP",
        _ => "VARCHAR",
    }
}

/// Column names the queries mention; only those are exported (both engines are columnar, so
/// columns a query does not touch are outside either timing — they would only slow the CSV).
fn referenced_columns(t: &Table, qs: &[BenchQuery]) -> Vec<usize> {
    (0..t.columns.len())
        .filter(|&i| {
            let n = &t.columns[i].name;
            qs.iter().any(|q| contains_word(&q.kql, n) || q.sql.iter().any(|s| contains_word(s, n)))
        })
        .collect()
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().last().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        let after = text[i + word.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '_');
        before && after
    })
}

impl Export {
    fn write(runner: &DuckDbRunner, tables: &[(&str, &Table)], qs: &[BenchQuery]) -> Result<Export, String> {
        let (dir, owned) = match &runner.work_dir {
            Some(d) => (d.clone(), false),
            None => (std::env::temp_dir().join(format!("riposte-kql-bench-{}", std::process::id())), true),
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut exp = Export {
            data_file: dir.join("DeviceProcessEvents.csv"),
            queries_file: dir.join("queries.json"),
            script_file: dir.join("duckdb_bench.py"),
            dir,
            owned,
            bytes: 0,
        };
        let mut table_specs = Vec::new();
        for (name, t) in tables {
            let cols = referenced_columns(t, qs);
            let path = exp.dir.join(format!("{name}.csv"));
            match write_csv(t, &cols, &path) {
                Ok(bytes) => exp.bytes += bytes,
                Err(e) => {
                    // A full disk must not leave gigabytes of half-written CSV behind.
                    exp.cleanup();
                    return Err(format!("{e} (set TMPDIR to a roomier directory, e.g. /dev/shm)"));
                }
            }
            // Pairs, not an object: the order must match the CSV header (JSON maps sort keys).
            let columns: Vec<(String, &str)> =
                cols.iter().map(|&i| (t.columns[i].name.clone(), duck_type(t.columns[i].ty))).collect();
            table_specs.push(serde_json::json!({"name": name, "path": path, "columns": columns}));
        }
        let spec = serde_json::json!({
            "threads": runner.threads,
            "tables": table_specs,
            "queries": qs.iter().map(|q| serde_json::json!({"name": q.name, "sql": q.sql})).collect::<Vec<_>>(),
        });
        std::fs::write(&exp.queries_file, serde_json::to_string_pretty(&spec).unwrap_or_default())
            .map_err(|e| format!("cannot write {}: {e}", exp.queries_file.display()))?;
        std::fs::write(&exp.script_file, DUCKDB_SCRIPT)
            .map_err(|e| format!("cannot write {}: {e}", exp.script_file.display()))?;
        Ok(exp)
    }

    /// Runs the script; its stderr lines are progress, its stdout the JSON result.
    fn run(&self, runner: &DuckDbRunner, iterations: usize, progress: &dyn Fn(&str)) -> Result<DuckOutput, String> {
        let mut child = Command::new(&runner.python)
            .arg(&self.script_file)
            .arg(&self.data_file)
            .arg(&self.queries_file)
            .arg("--iterations")
            .arg(iterations.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", runner.python.display()))?;
        // Drain stdout on a thread so a large answer cannot block the script while we read stderr.
        let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let mut last_err = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            for line in std::io::BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                progress(&format!("DuckDB: {line}"));
                last_err.push(line);
                if last_err.len() > 20 {
                    last_err.remove(0);
                }
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        let out = reader.join().map_err(|_| "stdout reader failed".to_string())?;
        if !status.success() {
            return Err(format!("duckdb_bench.py exited with {status}: {}", last_err.join(" / ")));
        }
        serde_json::from_str(&out).map_err(|e| format!("cannot read duckdb_bench.py output: {e}"))
    }

    fn cleanup(&self) {
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Writes columns `cols` of `t` as CSV (RFC 4180 quoting, datetimes as `YYYY-MM-DD
/// HH:MM:SS`, nulls as empty fields, empty strings as `""`); returns the bytes written.
fn write_csv(t: &Table, cols: &[usize], path: &Path) -> Result<u64, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let header: Vec<String> = cols.iter().map(|&i| csv_field(&t.columns[i].name)).collect();
    writeln!(w, "{}", header.join(",")).map_err(err)?;
    let mut line = String::new();
    for r in 0..t.num_rows() {
        line.clear();
        for (k, &i) in cols.iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            let c = &t.columns[i];
            match &*c.data {
                ColumnData::String(v) => line.push_str(&csv_field(&v[r])),
                ColumnData::Long(v) => {
                    if let Some(x) = v[r] {
                        line.push_str(&x.to_string());
                    }
                }
                ColumnData::DateTime(v) => {
                    if let Some(x) = v[r] {
                        line.push_str(&sql_timestamp(x));
                    }
                }
                _ => {
                    let v = c.get(r);
                    if !v.is_null() {
                        line.push_str(&csv_field(&v.to_kusto_string()));
                    }
                }
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes()).map_err(err)?;
    }
    w.flush().map_err(err)?;
    drop(w);
    std::fs::metadata(path).map(|m| m.len()).map_err(|e| e.to_string())
}

fn csv_field(s: &str) -> String {
    if s.is_empty() {
        "\"\"".into()
    } else if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::{TermMatch, has_term};
    use crate::value::Value;

    #[test]
    fn has_any_regex_agrees_with_has_term() {
        let terms = ["mimikatz", "sekurlsa", "Invoke-Mimikatz", "-EncodedCommand"];
        let re = regex::Regex::new(&has_any_regex(&terms)).expect("valid regex");
        for text in [
            "powershell.exe -NoProfile -EncodedCommand SQBFAFgA",
            "powershell.exe -encodedcommandX",
            "x-EncodedCommand",
            "run mimikatz.exe",
            "mimikatzz",
            "amimikatz",
            "sekurlsa::logonpasswords",
            "IEX (Invoke-Mimikatz -DumpCreds)",
            "Invoke-Mimikatz2",
            "cmd.exe /c whoami /all",
            "",
        ] {
            let want = terms.iter().any(|t| has_term(text, t, false, TermMatch::Whole));
            assert_eq!(re.is_match(text), want, "{text}");
        }
    }

    #[test]
    fn all_queries_run_and_answer_over_small_data() {
        // No DuckDB: checks the KQL side parses, runs and produces answers; no timing asserted.
        let cfg = BenchConfig {
            rows: 5_000,
            threads: 2,
            seed: 3,
            iterations: 1,
            duckdb: None,
            duckdb_note: Some("not requested".into()),
            only: Vec::new(),
        };
        let report = run(&cfg, &|_| {}).expect("bench runs");
        assert_eq!(report.queries.len(), 7);
        for q in &report.queries {
            assert!(q.kql_error.is_none(), "{}: {:?}", q.name, q.kql_error);
            // 5000 events hold almost no process/connection pairs within 5 minutes; the
            // window join's answer is checked against brute force in its own test.
            assert!(q.name == "window_join" || !q.kql_result.is_empty(), "{}", q.name);
        }
        let latest = report.queries.iter().find(|q| q.name == "latest_per_device").expect("arg_max query");
        assert_eq!(latest.kql_result.len(), crate::table::GENERATED_DEVICES.min(5_000));
        assert!(latest.kql_result.iter().all(|r| r.split('|').count() == 2 + LATEST_COLUMNS.len()));
        let join = report.queries.iter().find(|q| q.name == "join").expect("join query");
        let events: i64 = join.kql_result.iter().filter_map(|r| r.split('|').nth(1)?.parse::<i64>().ok()).sum();
        assert_eq!(events, 5_000, "after innerunique de-duplicates DeviceInfo, every event joins exactly once");
        let text = report.to_string();
        assert!(text.contains("scan_filter") && text.contains("not requested"), "{text}");
        assert!(report.to_json().contains("\"kql_rows_per_sec\""));
    }

    /// The window join's answer is exactly the pairs a brute-force scan finds: same device, a
    /// listed process, a listed port, and the connection 0 to 5 minutes after the process.
    #[test]
    fn window_join_finds_exactly_the_pairs_in_the_window() {
        let base = value::parse_datetime("2024-01-01T00:00:00Z").unwrap_or(0);
        let mut x = 7u64;
        let mut next = |n: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % n
        };
        let devices = ["d1", "d2", "d3"];
        let files = ["powershell.exe", "rundll32.exe", "mshta.exe", "cmd.exe"];
        let (mut pd, mut pt, mut pf) = (vec![], vec![], vec![]);
        for _ in 0..400 {
            pd.push(Value::str(devices[next(3) as usize]));
            pt.push(Value::DateTime(base + next(7200) as i64 * value::TICKS_PER_SECOND));
            pf.push(Value::str(files[next(4) as usize]));
        }
        let (mut nd, mut nt, mut nip, mut np) = (vec![], vec![], vec![], vec![]);
        for _ in 0..300 {
            nd.push(Value::str(devices[next(3) as usize]));
            nt.push(Value::DateTime(base + next(7200) as i64 * value::TICKS_PER_SECOND));
            nip.push(Value::string(format!("10.0.0.{}", next(20))));
            np.push(Value::Long([443, 80, 4444, 8080][next(4) as usize]));
        }
        let col = crate::table::Column::from_values;
        let process = Table::new(vec![
            col("DeviceId", Type::String, &pd),
            col("Timestamp", Type::DateTime, &pt),
            col("FileName", Type::String, &pf),
        ]);
        let network = Table::new(vec![
            col("DeviceId", Type::String, &nd),
            col("Timestamp", Type::DateTime, &nt),
            col("RemoteIP", Type::String, &nip),
            col("RemotePort", Type::Long, &np),
        ]);
        let mut want: std::collections::BTreeMap<String, (i64, std::collections::HashSet<String>)> = Default::default();
        for p in 0..pd.len() {
            let file = pf[p].to_kusto_string();
            if !["powershell.exe", "rundll32.exe", "mshta.exe"].contains(&file.as_str()) {
                continue;
            }
            for n in 0..nd.len() {
                let ticks = |v: &Value| if let Value::DateTime(t) = v { *t } else { 0 };
                let gap = ticks(&nt[n]) - ticks(&pt[p]);
                if pd[p] == nd[n]
                    && [443, 4444, 8080].contains(&np[n].as_i64().unwrap_or(0))
                    && (0..=5 * 60 * value::TICKS_PER_SECOND).contains(&gap)
                {
                    let e = want.entry(file.clone()).or_default();
                    e.0 += 1;
                    e.1.insert(nip[n].to_kusto_string());
                }
            }
        }
        let mut want: Vec<String> = want.into_iter().map(|(f, (c, ips))| format!("{f}|{c}|{}", ips.len())).collect();
        want.sort();
        assert!(!want.is_empty(), "the data must have pairs in the window");
        let q = queries(base).into_iter().find(|q| q.name == "window_join").expect("window_join query");
        let parsed = crate::parser::parse_query(&q.kql).expect("parses");
        let ctx = Context::new(HashMap::from([
            ("DeviceProcessEvents".to_string(), process),
            ("DeviceNetworkEvents".to_string(), network),
        ]));
        let got = answer_rows(&eval::run(&parsed, &ctx).expect("runs"));
        assert_eq!(got, want);
    }

    /// The full benchmark without the binary (same code as `riposte kql bench --duckdb`):
    /// `RIPOSTE_KQL_BENCH_ROWS=10000000 RIPOSTE_DUCKDB_PYTHON=... cargo test -p hunt --release
    /// --lib -- --ignored kql_bench_against_duckdb --nocapture --test-threads=1` (the test
    /// binary tunes the allocator at load time, as the binary does first thing: see
    /// `parallel::retain_freed_memory`).
    #[test]
    #[ignore]
    fn kql_bench_against_duckdb() {
        let rows = std::env::var("RIPOSTE_KQL_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        let mut cfg = BenchConfig::new(rows, None);
        // RIPOSTE_KQL_BENCH_ONLY=join,window_join runs those queries only (for profiling).
        cfg.only = std::env::var("RIPOSTE_KQL_BENCH_ONLY")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let report = run(&cfg, &|step| eprintln!("{step}")).expect("bench runs");
        println!("{report}");
    }

    #[test]
    fn csv_export_quotes_and_formats() {
        let t = Table::new(vec![
            crate::table::Column::from_values(
                "s",
                Type::String,
                &[crate::value::Value::str("a,\"b\""), crate::value::Value::str("")],
            ),
            crate::table::Column::from_values(
                "t",
                Type::DateTime,
                &[
                    crate::value::Value::DateTime(value::parse_datetime("2024-01-02T03:04:05Z").unwrap_or(0)),
                    crate::value::Value::Null,
                ],
            ),
        ]);
        let dir = std::env::temp_dir().join(format!("hunt-bench-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let p = dir.join("t.csv");
        write_csv(&t, &[0, 1], &p).expect("write");
        let text = std::fs::read_to_string(&p).expect("read");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text, "s,t\n\"a,\"\"b\"\"\",2024-01-02 03:04:05\n\"\",\n");
    }
}
