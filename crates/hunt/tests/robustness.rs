//! Property tests: the parser and checker never panic, and every error position is inside the
//! input. Inputs are random strings, token soups, and corpus-like queries mutated by deleting,
//! duplicating, swapping and truncating tokens.

use hunt::parser::{MAX_DEPTH, MAX_EXPR_HEIGHT, parse_query};
use hunt::schema::Schema;
use proptest::prelude::*;

/// Seed queries covering most of the grammar (the corpus itself may be absent in CI).
const SEEDS: &[&str] = &[
    "DeviceProcessEvents | where Timestamp > ago(7d) and FileName =~ 'cmd.exe' | project Timestamp, DeviceName",
    "let x = 5; let T = DeviceEvents | where ActionType has_any ('a', \"b\"); T | summarize c = count(), make_set(FileName) by bin(Timestamp, 1h) | top 10 by c desc nulls last",
    "let f = (a:string, b:long = 1) { DeviceInfo | where DeviceName == a | take b }; f('x')",
    "datatable(a:string, b:long)['x', 1, @'y', -2] | extend d = dynamic({\"k\": [1, 2.5, null]}) | mv-expand d.k to typeof(long) | parse a with * 'x' rest:string",
    "union isfuzzy=true (DeviceFileEvents | where SHA1 in~ ('a')), DeviceImageLoadEvents | join kind=leftouter (DeviceInfo) on $left.DeviceId == $right.DeviceId | project-away DeviceId1",
    "print t = datetime(2024-01-01T10:00:00Z), s = 1d + 2h + 30m + 10s + 100ms + 5min + 1tick + 1microsecond + time(1.02:00:00), g = guid(74be27de-1e4e-49d9-b579-fe0b331d3642), h = h'secret', m = ```multi\nline```",
    "range x from 1 to 10 step 2 | extend y = iff(x % 2 == 0, 'even', 'odd') | where x between (2 .. 8) and y !startswith_cs 'o' | sort by x asc",
    "DeviceNetworkEvents | make-series n = count() default = 0 on Timestamp from ago(1d) to now() step 1h by DeviceId | mv-apply n to typeof(long) on (summarize m = max(n))",
    "externaldata(a:string)[@'https://x/y.csv'] with (format='csv') | evaluate bag_unpack(a) | render timechart",
    "DeviceEvents | extend p = parse_json(AdditionalFields) | where p.Foo['bar'][0] == toscalar(DeviceInfo | count) | lookup (DeviceInfo) on DeviceId | top-nested 3 of DeviceName by count()",
];

fn tokens(s: &str) -> Vec<String> {
    // Cheap whitespace/punctuation split that keeps punctuation as separate pieces.
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_alphanumeric() || ch == '_' {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !ch.is_whitespace() {
                out.push(ch.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parse and check; assert error positions are valid.
fn exercise(src: &str) {
    let schema = Schema::defender();
    match parse_query(src) {
        Ok(q) => {
            for e in hunt::check::check(&q, &schema) {
                assert!(e.span.start <= src.len() && e.span.end <= src.len(), "check span out of range: {e:?}");
                let (l, c) = e.line_col(src);
                assert!(l >= 1 && c >= 1);
            }
        }
        Err(e) => {
            assert!(e.offset <= src.len(), "offset {} > len {}", e.offset, src.len());
            let lines: Vec<&str> = src.split('\n').collect();
            assert!(e.line >= 1 && e.line <= lines.len(), "line {} of {}", e.line, lines.len());
            let width = lines[e.line - 1].chars().count();
            assert!(e.column >= 1 && e.column <= width + 1, "column {} beyond line width {}", e.column, width);
            assert!(!e.message.is_empty());
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Truncate(usize),
    Insert(usize, &'static str),
}

const INSERTS: &[&str] = &[
    "|", "(", ")", "[", "]", "{", "}", ",", ";", "'", "\"", "@", "!", "~", "=", "..", "let", "by", "on", "*", "-", "\\",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::sample::select(INSERTS)).prop_map(|(a, s)| Mutation::Insert(a, s)),
    ]
}

fn apply(toks: &mut Vec<String>, m: &Mutation) {
    if toks.is_empty() {
        return;
    }
    let n = toks.len();
    match *m {
        Mutation::Delete(i) => {
            toks.remove(i % n);
        }
        Mutation::Duplicate(i) => {
            let t = toks[i % n].clone();
            toks.insert(i % n, t);
        }
        Mutation::Swap(a, b) => toks.swap(a % n, b % n),
        Mutation::Truncate(i) => toks.truncate(i % n),
        Mutation::Insert(i, s) => toks.insert(i % (n + 1), s.to_string()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(s in "\\PC{0,200}") {
        exercise(&s);
    }

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "T", "where", "x", "==", "1", "|", "project", "(", ")", "[", "]", ",", "let", "=", ";", "by",
        "summarize", "count()", "join", "on", "$left.a", "'s'", "dynamic(", "{", "}", "in", "!in~", "between",
        "..", "datetime(", "2024-01-01", "1d", "-", "*", "mv-expand", "to", "typeof(", "long", "\n", "//c\n",
    ]), 0..60)) {
        exercise(&parts.join(" "));
    }

    #[test]
    fn mutated_queries_never_panic(seed in prop::sample::select(SEEDS), muts in prop::collection::vec(mutation(), 1..6), join_tight in any::<bool>()) {
        let mut toks = tokens(seed);
        for m in &muts {
            apply(&mut toks, m);
        }
        let sep = if join_tight { "" } else { " " };
        exercise(&toks.join(sep));
    }
}

#[test]
fn seeds_parse() {
    for s in SEEDS {
        if let Err(e) = parse_query(s) {
            panic!("seed failed: {s}\n{e}");
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for open in ["(", "-", "[", "dynamic([", "toscalar(", "f("] {
        let src = format!("print x = {}1", open.repeat(5000));
        let e = parse_query(&src).expect_err("too deep");
        assert!(e.message.contains("nested") || e.message.contains("expected"), "{}", e.message);
    }
    // Just under the limit still works.
    let ok = format!("print x = {}1{}", "(".repeat(MAX_DEPTH / 4), ")".repeat(MAX_DEPTH / 4));
    parse_query(&ok).expect("moderate nesting parses");
    let pipes = format!("T{}", " | where x > 1".repeat(2000));
    parse_query(&pipes).expect("long pipelines are not nesting");
    // Chains parse in loops but build left-deep trees the checker and evaluator recurse over,
    // so their length counts toward MAX_EXPR_HEIGHT (issue 15: a 3,000-link chain killed the
    // process further down).
    let ands = format!("T | where {}", vec!["x == 1"; 300].join(" and "));
    let q = parse_query(&ands).expect("and-chains under the height limit parse");
    let _ = hunt::check::check(&q, &Schema::defender());
    let too_long = format!("T | where {}", vec!["x == 1"; 3000].join(" and "));
    let e = parse_query(&too_long).expect_err("too long a chain");
    assert!(e.message.contains(&format!("limit is {MAX_EXPR_HEIGHT}")), "{}", e.message);
}
