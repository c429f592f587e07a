//! Thin runner for the hunting benchmark (the CLI's `riposte kql bench` calls the same API).
//!
//! `cargo run --release -p hunt --example bench -- [--rows N] [--iterations N] [--seed N]
//!  [--duckdb-python PATH] [--duckdb-threads N] [--no-duckdb] [--json FILE]`

use std::path::PathBuf;

fn main() {
    let mut rows = 1_000_000usize;
    let mut iterations = 3usize;
    let mut seed = 1u64;
    let mut python: Option<PathBuf> = None;
    let mut threads: Option<usize> = None;
    let mut json: Option<PathBuf> = None;
    let mut no_duckdb = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().unwrap_or_else(|| fail(&format!("{name} needs a value")));
        match a.as_str() {
            "--rows" => rows = val("--rows").replace('_', "").parse().unwrap_or_else(|_| fail("--rows needs a number")),
            "--iterations" => {
                iterations = val("--iterations").parse().unwrap_or_else(|_| fail("--iterations needs a number"))
            }
            "--seed" => seed = val("--seed").parse().unwrap_or_else(|_| fail("--seed needs a number")),
            "--duckdb-python" => python = Some(PathBuf::from(val("--duckdb-python"))),
            "--duckdb-threads" => {
                threads =
                    Some(val("--duckdb-threads").parse().unwrap_or_else(|_| fail("--duckdb-threads needs a number")))
            }
            "--json" => json = Some(PathBuf::from(val("--json"))),
            "--no-duckdb" => no_duckdb = true,
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let mut cfg = hunt::bench::BenchConfig::new(rows, python.as_deref());
    cfg.iterations = iterations;
    cfg.seed = seed;
    if no_duckdb {
        cfg.duckdb = None;
        cfg.duckdb_note = Some("DuckDB not requested (--no-duckdb)".into());
    }
    if let Some(d) = cfg.duckdb.as_mut() {
        d.threads = threads;
    }
    let start = std::time::Instant::now();
    let report = hunt::bench::run(&cfg, &|msg| eprintln!("[{:>7.1}s] {msg}", start.elapsed().as_secs_f64()))
        .unwrap_or_else(|e| fail(&e));
    println!("{report}");
    if let Some(path) = json.filter(|p| std::fs::write(p, report.to_json()).is_err()) {
        fail(&format!("cannot write {}", path.display()));
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(2)
}
