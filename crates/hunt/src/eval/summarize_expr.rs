//! `summarize` items that are expressions over aggregates (`pct = 100.0 * countif(p) /
//! count()`, `span = max(t) - min(t)`, `strcat_array(make_list(s), "|")`).
//!
//! Each aggregate call inside such an expression becomes a hidden aggregate column; the
//! expression is then evaluated per group over those columns (an `extend`), and the hidden
//! columns are dropped, so the result keeps the order and names the query asked for.

use super::aggregate::AggKind;
use super::{EvalError, Evaluator, Result};
use crate::ast::{self, Expr, ExprKind, NamedExpr};
use crate::table::Table;

const HIDDEN: &str = "__summarize_agg_";

/// Whether `e` is a plain aggregate call (what `summarize` evaluates directly).
fn is_aggregate_call(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { name, .. } if AggKind::lookup(&name.name).is_some())
}

/// Replaces every aggregate call in `e` by a hidden column name, collecting the calls.
fn extract(e: &mut Expr, hidden: &mut Vec<NamedExpr>) {
    if is_aggregate_call(e) {
        let name = format!("{HIDDEN}{}", hidden.len());
        let ident = ast::Ident { name: name.clone(), span: e.span };
        let call = std::mem::replace(e, Expr::new(ExprKind::Name(ident.clone()), e.span));
        hidden.push(NamedExpr { names: vec![ident], span: call.span, expr: call });
        return;
    }
    match &mut e.kind {
        ExprKind::Literal(_)
        | ExprKind::Name(_)
        | ExprKind::Star
        | ExprKind::TypeOf(_)
        | ExprKind::ToScalar(_)
        | ExprKind::Subquery(_) => {}
        ExprKind::Call { args, .. } | ExprKind::Tuple(args) => args.iter_mut().for_each(|a| extract(a, hidden)),
        ExprKind::Unary { expr, .. } | ExprKind::Member { expr, .. } | ExprKind::NamedArg { value: expr, .. } => {
            extract(expr, hidden)
        }
        ExprKind::Binary { left, right, .. } => {
            extract(left, hidden);
            extract(right, hidden);
        }
        ExprKind::InList { expr, list, .. } => {
            extract(expr, hidden);
            list.iter_mut().for_each(|a| extract(a, hidden));
        }
        ExprKind::Between { expr, low, high, .. } => {
            extract(expr, hidden);
            extract(low, hidden);
            extract(high, hidden);
        }
        ExprKind::Index { expr, index } => {
            extract(expr, hidden);
            extract(index, hidden);
        }
    }
}

impl Evaluator<'_> {
    /// `summarize` with any mix of aggregate calls and expressions over them.
    pub(super) fn summarize(&self, input: &Table, aggs: &[NamedExpr], by: &[NamedExpr]) -> Result<Table> {
        if aggs.iter().all(|a| is_aggregate_call(&a.expr)) {
            return self.summarize_calls(input, aggs, by);
        }
        // Plain aggregates keep their place; expressions get hidden aggregates.
        let mut direct: Vec<NamedExpr> = Vec::new();
        let mut hidden: Vec<NamedExpr> = Vec::new();
        // Per item: Ok(direct index) or Err(expression with aggregates replaced, its name).
        let mut plan: Vec<std::result::Result<usize, NamedExpr>> = Vec::new();
        let mut counter = 0;
        for a in aggs {
            if is_aggregate_call(&a.expr) {
                plan.push(Ok(direct.len()));
                direct.push(a.clone());
                continue;
            }
            let mut e = a.expr.clone();
            let before = hidden.len();
            extract(&mut e, &mut hidden);
            if hidden.len() == before {
                return Err(EvalError::Invalid("summarize expects aggregate function calls".into()));
            }
            let names = if a.names.is_empty() {
                counter += 1;
                vec![ast::Ident { name: format!("Column{counter}"), span: a.span }]
            } else {
                a.names.clone()
            };
            plan.push(Err(NamedExpr { names, expr: e, span: a.span }));
        }
        let mut all = direct.clone();
        all.extend(hidden.iter().cloned());
        let t = self.summarize_calls(input, &all, by)?;
        // Output columns of the direct aggregates (arg_max can produce several).
        let keys = by.len().min(t.num_columns());
        let mut direct_cols: Vec<Vec<usize>> = Vec::new();
        let mut col = keys;
        for d in &direct {
            let w = self.agg_width(d, &t, col);
            direct_cols.push((col..col + w).collect());
            col += w;
        }
        let mut out = Table::new(t.columns[..keys].to_vec());
        for p in plan {
            match p {
                Ok(i) => {
                    for &c in &direct_cols[i] {
                        out.columns.push(t.columns[c].clone());
                    }
                }
                Err(ne) => {
                    let extended = self.extend(t.clone(), std::slice::from_ref(&ne))?;
                    if let Some(c) = extended.columns.last() {
                        out.columns.push(c.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Number of output columns of one aggregate starting at `start`: one, except arg_max /
    /// arg_min (up to the next hidden column or the next aggregate's first name).
    fn agg_width(&self, a: &NamedExpr, t: &Table, start: usize) -> usize {
        let ExprKind::Call { name, args } = &a.expr.kind else {
            return 1;
        };
        match AggKind::lookup(&name.name) {
            Some((AggKind::ArgMax | AggKind::ArgMin, _)) => {
                if args.iter().skip(1).any(|x| matches!(x.kind, ExprKind::Star)) {
                    // `*`: every column up to the first hidden one.
                    let end = t.columns[start..]
                        .iter()
                        .position(|c| c.name.starts_with(HIDDEN))
                        .map_or(t.num_columns(), |p| start + p);
                    end - start
                } else {
                    args.len().max(1)
                }
            }
            Some((AggKind::Percentile, _)) => args.len().saturating_sub(1).max(1),
            _ => 1,
        }
    }
}
