//! Conformance against recorded Kusto results (`kusto-oracle-dev.jsonl`).
//!
//! Each record holds a self-contained query, Kusto's column names and types, and its rows
//! rendered as Python-repr-like tuples. We run the query, render our rows the same way, and
//! report the first difference.

use std::sync::Arc;

use crate::eval::{self, Context};
use crate::table::Table;

/// Runs one oracle record; `Err` describes the first mismatch.
pub fn run_record(rec: &serde_json::Value) -> Result<(), String> {
    let kql = rec.get("kql").and_then(|v| v.as_str()).ok_or("record has no `kql`")?;
    let table = run_query_text(kql)?;
    let expected_cols: Vec<String> = rec
        .get("kusto_columns")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let got_cols: Vec<String> = table.columns.iter().map(|c| format!("{}:{}", c.name, c.ty.result_name())).collect();
    if got_cols != expected_cols {
        return Err(format!("columns differ: expected {expected_cols:?}, got {got_cols:?}"));
    }
    let expected_rows: Vec<String> = rec
        .get("kusto_rows")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let got_rows = render_rows(&table);
    if got_rows.len() != expected_rows.len() {
        return Err(format!(
            "row count differs: expected {}, got {} (first got: {:?})",
            expected_rows.len(),
            got_rows.len(),
            got_rows.first()
        ));
    }
    if is_ordered(kql) {
        for (i, (g, e)) in got_rows.iter().zip(&expected_rows).enumerate() {
            if !rows_match(g, e) {
                return Err(format!("row {i} differs: expected {e}, got {g}"));
            }
        }
        return Ok(());
    }
    // Unordered: match each expected row to some unused produced row.
    let mut used = vec![false; got_rows.len()];
    for e in &expected_rows {
        let hit = got_rows.iter().enumerate().position(|(i, g)| !used[i] && rows_match(g, e));
        match hit {
            Some(i) => used[i] = true,
            None => {
                let unmatched: Vec<&String> =
                    got_rows.iter().enumerate().filter(|(i, _)| !used[*i]).map(|(_, g)| g).collect();
                return Err(format!("expected row {e} not produced (unmatched: {unmatched:?})"));
            }
        }
    }
    Ok(())
}

/// Parses and runs query text with a default context (no tables) and the source attached.
pub fn run_query_text(kql: &str) -> Result<Table, String> {
    let q = crate::parser::parse_query(kql).map_err(|e| format!("parse error: {e:?}"))?;
    let ctx = Context { source: Some(Arc::from(kql)), ..Context::default() };
    eval::run(&q, &ctx).map_err(|e| format!("eval error: {e}"))
}

/// Rows rendered like the oracle file: `(v1, v2, ...)`.
pub fn render_rows(t: &Table) -> Vec<String> {
    (0..t.num_rows())
        .map(|r| {
            let cells: Vec<String> = t.columns.iter().map(|c| c.get(r).render_oracle(c.ty)).collect();
            format!("({})", cells.join(", "))
        })
        .collect()
}

/// Whether the query's result order is defined: a sort/top/serialize-style operator that is
/// not followed by an order-destroying operator.
fn is_ordered(kql: &str) -> bool {
    let lower = kql.to_ascii_lowercase();
    let stages: Vec<&str> = lower.split('|').map(str::trim).collect();
    let mut ordered = false;
    for s in stages {
        let word = s.split(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
        match word {
            "sort" | "order" | "top" | "serialize" => ordered = true,
            "summarize" | "join" | "distinct" | "union" | "lookup" | "make-series" | "top-nested" | "mv-apply" => {
                ordered = false
            }
            _ => {}
        }
    }
    ordered
}

/// Exact match, or equal after comparing numbers with a relative tolerance (Kusto prints
/// some reals with fewer digits than a round trip needs).
fn rows_match(got: &str, expected: &str) -> bool {
    if got == expected {
        return true;
    }
    let (gt, gn) = split_numbers(got);
    let (et, en) = split_numbers(expected);
    if gt != et || gn.len() != en.len() {
        return false;
    }
    gn.iter().zip(&en).all(|(a, b)| a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300))
}

fn split_numbers(s: &str) -> (String, Vec<f64>) {
    let re = crate::functions::regex_cached(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?");
    let Some(re) = re else { return (s.to_string(), vec![]) };
    let mut nums = Vec::new();
    let text = re
        .replace_all(s, |c: &regex::Captures| {
            nums.push(c[0].parse::<f64>().unwrap_or(f64::NAN));
            "#"
        })
        .into_owned();
    (text, nums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_detection() {
        assert!(is_ordered("T | sort by x asc"));
        assert!(!is_ordered("T | sort by x | summarize count()"));
    }

    #[test]
    fn tolerant_numbers() {
        assert!(rows_match("(9.166666666666666)", "(9.1666666667)"));
        assert!(rows_match("(1, 2.5000000000000001)", "(1, 2.5)"));
    }

    /// Runs the whole oracle file (a copy of `shared/kql/kusto-oracle-dev.jsonl` kept in the
    /// repo, so CI checks it too) and asserts the agreement rate.
    #[test]
    fn oracle_agreement() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kql/kusto-oracle-dev.jsonl");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (mut ok, mut total) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(rec) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            total += 1;
            let res = std::panic::catch_unwind(|| run_record(&rec));
            match res {
                Ok(Ok(())) => ok += 1,
                Ok(Err(e)) => {
                    if std::env::var("ORACLE_VERBOSE").is_ok() {
                        eprintln!("FAIL {}: {e}", rec["id"]);
                    }
                }
                Err(_) => eprintln!("PANIC {}", rec["id"]),
            }
        }
        eprintln!("oracle: {ok}/{total}");
        assert!(ok * 100 >= total * 90, "oracle agreement {ok}/{total} below the bar");
    }
}
