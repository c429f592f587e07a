//! Prints the oracle agreement figure and, with `-v`, every failing record (query, Kusto's
//! answer and our first mismatch) so failures can be bucketed by cause.
//!
//! `cargo run -p hunt --release --example oracle -- [-v] [FILE] [ID-SUBSTRING]`

use std::path::PathBuf;

fn main() {
    let mut verbose = false;
    let mut rest = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "-v" {
            verbose = true;
        } else {
            rest.push(a);
        }
    }
    let path = rest
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kql/kusto-oracle-dev.jsonl"));
    let filter = rest.get(1).cloned();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(2);
        }
    };
    let (mut ok, mut total) = (0usize, 0usize);
    for (i, line) in text.lines().enumerate() {
        let Ok(rec) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let id = rec["id"].as_str().unwrap_or("?").to_string();
        if filter.as_deref().is_some_and(|f| !id.contains(f)) {
            continue;
        }
        total += 1;
        let res = std::panic::catch_unwind(|| hunt::oracle::run_record(&rec));
        let err = match res {
            Ok(Ok(())) => {
                ok += 1;
                continue;
            }
            Ok(Err(e)) => e,
            Err(_) => "PANIC".to_string(),
        };
        if verbose {
            println!("=== line {} {id}", i + 1);
            println!("KQL: {}", rec["kql"].as_str().unwrap_or(""));
            println!("COLS: {}", rec["kusto_columns"]);
            println!("ROWS: {}", rec["kusto_rows"]);
            println!("ERR: {err}");
        }
    }
    let pct = if total == 0 { 0.0 } else { 100.0 * ok as f64 / total as f64 };
    println!("oracle: {ok}/{total} ({pct:.1}%)");
}
