//! Conformance runner over JSONL files.
//!
//! Two record shapes are recognised per line:
//! * hunting-corpus records (`query`, `kusto_syntax_errors`, `kusto_semantic_errors`): parse and
//!   check each query. Records Microsoft's parser accepts must parse (`parse: N/M`); records it
//!   rejects should be rejected by us too (`rejects: R/S`). The checker is scored on records with
//!   neither syntax nor semantic errors: any checker error there is a false positive.
//! * oracle records (`kql`, `kusto_columns`, `kusto_rows`): parse, then run through
//!   [`crate::oracle::run_record`] which evaluates and compares with Kusto's answer.

use std::fmt;
use std::path::Path;

use crate::check::check;
use crate::parser::{line_col, parse_query};
use crate::schema::Schema;

/// Counters for one conformance run; `Display` prints one line per metric.
#[derive(Debug, Clone, Default)]
pub struct ConformanceReport {
    /// Syntax-clean corpus records (or oracle records) that parsed.
    pub parse_ok: usize,
    /// Syntax-clean corpus records (or all oracle records).
    pub parse_total: usize,
    /// Corpus records with Kusto syntax errors that we also rejected.
    pub rejects_ok: usize,
    pub rejects_total: usize,
    /// Fully clean corpus records (no syntax / semantic errors) our checker accepted.
    pub check_ok: usize,
    pub check_total: usize,
    /// Corpus records with Kusto semantic errors where our checker also reported something.
    pub check_flagged: usize,
    pub check_flag_total: usize,
    /// Oracle records whose evaluation matched Kusto.
    pub oracle_ok: usize,
    pub oracle_total: usize,
    /// `id: first error` lines (only filled with `show_failures`).
    pub failures: Vec<String>,
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "parse: {}/{}{}", self.parse_ok, self.parse_total, pct(self.parse_ok, self.parse_total))?;
        if self.rejects_total > 0 {
            writeln!(f, "rejects: {}/{}", self.rejects_ok, self.rejects_total)?;
        }
        if self.check_total > 0 {
            writeln!(
                f,
                "check: {}/{} clean queries accepted ({} false positives)",
                self.check_ok,
                self.check_total,
                self.check_total - self.check_ok
            )?;
        }
        if self.check_flag_total > 0 {
            writeln!(
                f,
                "check-flags: {}/{} queries with Kusto semantic errors flagged",
                self.check_flagged, self.check_flag_total
            )?;
        }
        if self.oracle_total > 0 {
            writeln!(f, "oracle: {}/{}{}", self.oracle_ok, self.oracle_total, pct(self.oracle_ok, self.oracle_total))?;
        }
        for line in &self.failures {
            writeln!(f, "  FAIL {line}")?;
        }
        Ok(())
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 { String::new() } else { format!(" ({:.1}%)", 100.0 * n as f64 / d as f64) }
}

/// Run every record of a JSONL file. Errors only for unreadable files; bad lines count as
/// failures.
pub fn run_file(path: &Path, show_failures: bool) -> Result<ConformanceReport, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(run_text(&text, show_failures))
}

/// Same as [`run_file`] over already-loaded JSONL text.
pub fn run_text(text: &str, show_failures: bool) -> ConformanceReport {
    let schema = Schema::defender();
    let mut report = ConformanceReport::default();
    for (lineno, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                report.parse_total += 1;
                if show_failures {
                    report.failures.push(format!("line {}: invalid JSON: {e}", lineno + 1));
                }
                continue;
            }
        };
        let id = record.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_string();
        if let Some(q) = record.get("query").and_then(|v| v.as_str()) {
            corpus_record(&mut report, &record, &id, q, &schema, show_failures);
        } else if let Some(q) = record.get("kql").and_then(|v| v.as_str()) {
            oracle_record(&mut report, &record, &id, q, show_failures);
        }
    }
    report
}

fn non_empty_array(record: &serde_json::Value, field: &str) -> bool {
    record.get(field).and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty())
}

fn corpus_record(
    r: &mut ConformanceReport,
    record: &serde_json::Value,
    id: &str,
    q: &str,
    schema: &Schema,
    show: bool,
) {
    let syntax_bad = non_empty_array(record, "kusto_syntax_errors");
    let semantic_bad = non_empty_array(record, "kusto_semantic_errors");
    let parsed = parse_query(q);
    if syntax_bad {
        r.rejects_total += 1;
        match parsed {
            Err(_) => r.rejects_ok += 1,
            Ok(_) if show => r.failures.push(format!("{id}: accepted, but Kusto reports syntax errors")),
            Ok(_) => {}
        }
        return;
    }
    r.parse_total += 1;
    let query = match parsed {
        Ok(q) => q,
        Err(e) => {
            if show {
                r.failures.push(format!("{id}: parse {}:{}: {}", e.line, e.column, e.message));
            }
            return;
        }
    };
    r.parse_ok += 1;
    let errors = check(&query, schema);
    if semantic_bad {
        r.check_flag_total += 1;
        if !errors.is_empty() {
            r.check_flagged += 1;
        }
    } else {
        r.check_total += 1;
        match errors.first() {
            None => r.check_ok += 1,
            Some(e) if show => {
                let (l, c) = line_col(q, e.span.start);
                r.failures.push(format!("{id}: check {l}:{c}: {}", e.message));
            }
            Some(_) => {}
        }
    }
}

fn oracle_record(r: &mut ConformanceReport, record: &serde_json::Value, id: &str, q: &str, show: bool) {
    r.parse_total += 1;
    if let Err(e) = parse_query(q) {
        if show {
            r.failures.push(format!("{id}: parse {}:{}: {}", e.line, e.column, e.message));
        }
        // Still counted in the oracle total: a parse failure is an oracle failure too.
        r.oracle_total += 1;
        return;
    }
    r.parse_ok += 1;
    r.oracle_total += 1;
    match crate::oracle::run_record(record) {
        Ok(()) => r.oracle_ok += 1,
        Err(e) if show => r.failures.push(format!("{id}: oracle: {}", first_line(&e))),
        Err(_) => {}
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
