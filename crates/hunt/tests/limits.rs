//! Hunt-killer queries (issue 15 §1): adversarial KQL must be refused with an error naming
//! the limit, never overflow the stack or run away, whichever thread runs it.

use std::time::{Duration, Instant};

use hunt::database::{Database, QueryError, RunOptions};
use hunt::limits::CountingAlloc;
use hunt::parser::{MAX_EXPR_HEIGHT, parse_query};

// The memory bound is measured by the counting allocator, as in the riposte binary.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn chain(head: &str, link: &str, n: usize) -> String {
    let mut s = String::from(head);
    for _ in 0..n {
        s.push_str(link);
    }
    s
}

fn killers() -> Vec<(&'static str, String)> {
    vec![
        ("plus chain", format!("print x = {}", chain("1", "+1", 8_000))),
        ("mul chain", format!("print x = {}", chain("1", "*1", 8_000))),
        ("and chain", format!("print x = {}", chain("true", " and true", 3_000))),
        ("or chain", format!("print x = {}", chain("true", " or true", 3_000))),
        ("cmp chain", format!("print x = {}", chain("1", "==1", 5_000))),
        ("member chain", format!("print x = dynamic({{}}){}", ".a".repeat(8_000))),
        ("index chain", format!("print x = dynamic([]){}", "[0]".repeat(5_000))),
        ("unary chain", format!("print x = {}1", "-".repeat(8_000))),
        ("paren nest", format!("print x = {}1{}", "(".repeat(5_000), ")".repeat(5_000))),
        ("recursive function", "let f = () { f() }; print x = f()".to_string()),
        ("mutual recursion", "let g = () { h() }; let h = () { g() }; print x = g()".to_string()),
        ("tabular recursion", "let t = () { t() | take 1 }; t()".to_string()),
    ]
}

/// Runs on a thread with a small stack (the size of a tokio blocking thread), so an
/// unbounded recursion anywhere would abort this test binary.
fn run_small_stack(q: String) -> Result<usize, QueryError> {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let opts = RunOptions { deadline: Some(Instant::now() + Duration::from_secs(20)), ..RunOptions::default() };
            Database::new().run_with(&q, &opts).map(|t| t.num_rows())
        })
        .expect("spawn")
        .join()
        .expect("no panic")
}

#[test]
fn killer_queries_are_refused_naming_the_limit() {
    for (name, q) in killers() {
        let err = run_small_stack(q).expect_err(name);
        let text = err.to_string();
        assert!(text.contains("limit") || text.contains("deep"), "{name}: {text}");
    }
}

/// The parser alone refuses the chains on a 2 MiB stack: it never recurses per link.
#[test]
fn parser_refuses_deep_chains_on_a_small_stack() {
    let killers: Vec<String> = killers().into_iter().take(9).map(|(_, q)| q).collect();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            for q in killers {
                let err = parse_query(&q).expect_err("refused");
                assert!(err.message.contains(&MAX_EXPR_HEIGHT.to_string()) || err.message.contains("deep"), "{err}");
            }
        })
        .expect("spawn")
        .join()
        .expect("no overflow, no panic");
}

/// Long but legal chains still run: the bound is not a lower ceiling than real queries need.
#[test]
fn chains_under_the_limit_still_run() {
    let n = MAX_EXPR_HEIGHT - 10;
    let q = format!("print x = {}", chain("1", "+1", n));
    let t = Database::new().run(&q).expect("runs");
    assert_eq!(t.columns[0].get(0).to_kusto_string(), (n + 1).to_string());
    let q = format!("print x = {}", chain("1 == 1", " and 1 == 1", n / 2));
    assert_eq!(Database::new().run(&q).expect("runs").columns[0].get(0).to_kusto_string(), "True");
}

/// A query that allocates past its budget is stopped with an error naming the limit.
#[test]
fn memory_runaway_is_stopped() {
    let opts = RunOptions { max_memory: Some(64 * 1024 * 1024), ..RunOptions::default() };
    let q = "range x from 1 to 20000000 step 1 | extend s = strcat('abcdefghijklmnopqrstuvwxyz', x) | summarize make_list(s)";
    let err = Database::new().run_with(q, &opts).expect_err("stopped");
    assert!(err.to_string().contains("memory limit of 64 MiB"), "{err}");
}

/// Functions nested exponentially (each calling the previous twice) stop at the deadline.
#[test]
fn exponential_inlining_stops_at_the_deadline() {
    let mut q = String::from("let f0 = (x:long) { x + 1 };");
    for i in 1..40 {
        q.push_str(&format!(" let f{i} = (x:long) {{ f{p}(x) + f{p}(x) }};", p = i - 1));
    }
    q.push_str(" print y = f39(1)");
    let started = Instant::now();
    let opts = RunOptions { deadline: Some(started + Duration::from_secs(2)), ..RunOptions::default() };
    let err = Database::new().run_with(&q, &opts).expect_err("stopped");
    assert!(matches!(err, QueryError::Timeout | QueryError::Eval(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "stopped near the deadline");
}
