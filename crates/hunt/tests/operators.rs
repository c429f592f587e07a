//! Behaviour of the sequence and grouping operators (`scan`, `top-nested`, `top-hitters`,
//! `partition`), the `series_*` functions and summarize expressions: expected answers from
//! Kusto's documentation, and odd inputs that must give errors or nulls, never panics.

use hunt::oracle::{render_rows, run_query_text};

fn rows(q: &str) -> Vec<String> {
    let t = run_query_text(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    render_rows(&t)
}

#[test]
fn scan_cumulative_sum_with_restart() {
    let q = "datatable(x:long)[1,2,3,4,5] | sort by x asc \
             | scan declare (cs:long=0) with (step s: true => cs = iff(x == 3, x, x + s.cs);)";
    assert_eq!(rows(q), ["(1, 1)", "(2, 3)", "(3, 3)", "(4, 7)", "(5, 12)"]);
}

#[test]
fn scan_sequence_of_two_steps() {
    // Documented pattern: a "start" event followed by a "stop" event.
    let q = "datatable(t:long, e:string)[1,'start', 2,'x', 3,'stop', 4,'stop'] | sort by t asc \
             | scan with_match_id=m with (step a: e == 'start'; step b: e == 'stop' => t = t;)";
    // The second step assigns to an undeclared column: an error, not a panic.
    assert!(run_query_text(q).is_err());
    let q = "datatable(t:long, e:string)[1,'start', 2,'x', 3,'stop', 4,'stop'] | sort by t asc \
             | scan with_match_id=m with (step a: e == 'start'; step b: e == 'stop';)";
    assert_eq!(rows(q), ["(1, 'start', 0)", "(3, 'stop', 0)", "(4, 'stop', 0)"]);
}

#[test]
fn scan_unknown_step_reference_is_an_error() {
    let q = "datatable(x:long)[1] | scan with (step s: s.nope > 0;)";
    assert!(run_query_text(q).is_err());
}

#[test]
fn top_nested_three_levels_and_others() {
    let q = "datatable(a:string, b:string, v:long)['x','p',1, 'x','q',5, 'y','p',2] \
             | top-nested 1 of a by sum(v), top-nested 1 of b by sum(v)";
    assert_eq!(rows(q), ["('x', 6, 'q', 5)"]);
    let q = "datatable(a:string, v:long)['x',1, 'y',5, 'z',2] \
             | top-nested 1 of a with others = 'rest' by sum(v)";
    let mut r = rows(q);
    r.sort();
    assert_eq!(r, ["('rest', 3)", "('y', 5)"]);
}

#[test]
fn partition_runs_the_subquery_per_value() {
    let q = "datatable(k:long, v:long)[1,1, 1,3, 2,7] | partition by k (summarize m = max(v))";
    let mut r = rows(q);
    r.sort();
    assert_eq!(r, ["(3)", "(7)"]);
}

#[test]
fn series_functions_on_edge_inputs() {
    let q = "print a = series_fill_forward(dynamic([null, 1, null, 3])), \
             b = series_fill_linear(dynamic([1, null, 3])), \
             c = series_fir(dynamic([]), dynamic([])), \
             d = series_iir(dynamic([1, 2]), dynamic([1]), dynamic([0])), \
             e = series_stats_dynamic(dynamic([])), \
             f = series_add(dynamic([1, 2]), 10)";
    let r = rows(q);
    assert_eq!(r.len(), 1);
    assert!(r[0].contains("11"), "{}", r[0]);
}

#[test]
fn summarize_expression_over_aggregates() {
    let q = "datatable(x:long)[1,2,3,4] | summarize pct = 100.0 * countif(x > 2) / count(), n = count()";
    assert_eq!(rows(q), ["(50, 4)"]);
}
