//! Corpus-level acceptance: the parser must accept >= 95% of the syntax-clean hunting queries.

use std::path::PathBuf;

fn shared(name: &str) -> Option<PathBuf> {
    // HUNT_KQL_DIR overrides the default location (the `shared/` checkout beside the repo).
    let dir = std::env::var_os("HUNT_KQL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kql"));
    let p = dir.join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found", p.display());
        None
    }
}

#[test]
fn hunting_corpus_parse_rate() {
    let Some(path) = shared("hunting-corpus-dev.jsonl") else {
        return;
    };
    let show = std::env::var("HUNT_SHOW_FAILURES").is_ok();
    let report = hunt::conformance::run_file(&path, show).expect("read corpus");
    println!("{report}");
    assert!(report.parse_total > 1000);
    assert!(
        report.parse_ok * 100 >= report.parse_total * 95,
        "parse rate below 95%: {}/{}",
        report.parse_ok,
        report.parse_total
    );
}

#[test]
fn oracle_file_parses() {
    let Some(path) = shared("kusto-oracle-dev.jsonl") else {
        return;
    };
    let show = std::env::var("HUNT_SHOW_FAILURES").is_ok();
    let report = hunt::conformance::run_file(&path, show).expect("read oracle file");
    println!("{report}");
    assert!(
        report.parse_ok * 100 >= report.parse_total * 97,
        "oracle parse rate too low: {}/{}",
        report.parse_ok,
        report.parse_total
    );
}
