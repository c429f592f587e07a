//! Operators that split the input into groups and run something per group: `top-nested`
//! (any number of levels), `top-hitters` and `partition`.
//!
//! They share one idea: group rows by a key in order of first appearance
//! ([`super::scan::group_rows`]), then evaluate each group with the ordinary machinery
//! (`summarize`, `sort`, a sub-pipeline), so their semantics stay those of the building blocks.

use super::scan::group_rows;
use super::{EvalError, Evaluator, Result, dig_name};
use crate::ast::{self, Expr, ExprKind, NamedExpr};
use crate::table::{Column, Table};
use crate::value::{Type, Value};

/// Output columns of one `top-nested` level: the key, then the aggregate.
struct LevelNames {
    of: String,
    agg: String,
}

impl Evaluator<'_> {
    /// `top-nested N1 of k1 by agg1, top-nested N2 of k2 by agg2, ...`: the top N1 values of
    /// k1 by agg1; within each, the top N2 values of k2 by agg2 over that value's rows; and so
    /// on. One output row per leaf, carrying every level's key and aggregate.
    pub(super) fn top_nested(&self, input: &Table, levels: &[ast::TopNestedLevel]) -> Result<Table> {
        if levels.is_empty() {
            return Ok(input.clone());
        }
        let names: Vec<LevelNames> = levels
            .iter()
            .map(|l| {
                let of =
                    l.of.names
                        .first()
                        .map(|n| n.name.clone())
                        .or_else(|| dig_name(&l.of.expr))
                        .unwrap_or_else(|| "Column1".into());
                let agg = l.by.names.first().map(|n| n.name.clone()).unwrap_or_else(|| format!("aggregated_{of}"));
                LevelNames { of, agg }
            })
            .collect();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut types: Vec<Option<Type>> = vec![None; levels.len() * 2];
        self.nested_level(input, levels, &names, 0, &mut Vec::new(), &mut rows, &mut types)?;
        let mut cols = Vec::new();
        for (i, n) in names.iter().enumerate() {
            for (k, name) in [&n.of, &n.agg].into_iter().enumerate() {
                let c = i * 2 + k;
                let ty = types[c].unwrap_or(Type::Dynamic);
                let vals: Vec<Value> = rows.iter().map(|r| r[c].clone()).collect();
                cols.push(Column::from_values(name.clone(), ty, &vals));
            }
        }
        Ok(Table::new(cols))
    }

    #[allow(clippy::too_many_arguments)]
    fn nested_level(
        &self,
        t: &Table,
        levels: &[ast::TopNestedLevel],
        names: &[LevelNames],
        depth: usize,
        prefix: &mut Vec<Value>,
        out: &mut Vec<Vec<Value>>,
        types: &mut [Option<Type>],
    ) -> Result<()> {
        self.check_deadline()?;
        let Some(level) = levels.get(depth) else {
            out.push(prefix.clone());
            return Ok(());
        };
        // Group this subset by the level's key, aggregate, keep the top N.
        let key_name = "__top_nested_key";
        let by = NamedExpr {
            names: vec![ast::Ident { name: key_name.into(), span: level.of.span }],
            expr: level.of.expr.clone(),
            span: level.of.span,
        };
        let agg_name = "__top_nested_agg";
        let agg = NamedExpr {
            names: vec![ast::Ident { name: agg_name.into(), span: level.by.span }],
            expr: level.by.expr.clone(),
            span: level.by.span,
        };
        let summary = self.summarize(t, &[agg], &[by])?;
        let sort_key = ast::SortKey {
            expr: Expr::new(ExprKind::Name(ast::Ident { name: agg_name.into(), span: level.span }), level.span),
            descending: level.descending,
            nulls_first: None,
            span: level.span,
        };
        let count = match &level.count {
            Some(c) => Some(self.const_eval(c)?.as_i64().unwrap_or(0).max(0) as usize),
            None => None,
        };
        let top = self.sort(summary, &[sort_key], count)?;
        let (Some(kc), Some(ac)) = (top.column(key_name), top.column(agg_name)) else {
            return Err(EvalError::Invalid("top-nested: missing aggregate".into()));
        };
        types[depth * 2] = Some(kc.ty);
        types[depth * 2 + 1] = Some(ac.ty);
        // Each kept key's rows, found through the key's value per row.
        let (kexpr, kty) = self.compile(&level.of.expr, t)?;
        let key_col = Column { name: String::new(), ty: kty, data: super::expr::eval_column(&kexpr, kty, t) };
        let mut used = vec![false; t.num_rows()];
        for i in 0..top.num_rows() {
            let key = kc.get(i);
            let rows: Vec<usize> = (0..t.num_rows()).filter(|&r| key_col.get(r) == key).collect();
            for &r in &rows {
                used[r] = true;
            }
            prefix.push(key);
            prefix.push(ac.get(i));
            self.nested_level(&t.gather(&rows), levels, names, depth + 1, prefix, out, types)?;
            prefix.truncate(depth * 2);
        }
        // `with others = v`: one more row aggregating every row not in the top N.
        if let Some(others) = &level.with_others {
            let rest: Vec<usize> = (0..t.num_rows()).filter(|&r| !used[r]).collect();
            if !rest.is_empty() {
                let agg = NamedExpr {
                    names: vec![ast::Ident { name: agg_name.into(), span: level.by.span }],
                    expr: level.by.expr.clone(),
                    span: level.by.span,
                };
                let s = self.summarize(&t.gather(&rest), &[agg], &[])?;
                prefix.push(self.const_eval(others)?);
                prefix.push(s.columns.first().filter(|c| !c.is_empty()).map_or(Value::Null, |c| c.get(0)));
                prefix.resize(names.len() * 2, Value::Null);
                out.push(prefix.clone());
                prefix.truncate(depth * 2);
            }
        }
        Ok(())
    }

    /// `top-hitters N of key [by expr]`: the N keys with the largest count (or sum of `expr`),
    /// largest first. Kusto approximates; this is the exact answer.
    pub(super) fn top_hitters(&self, input: &Table, count: &Expr, of: &Expr, by: Option<&Expr>) -> Result<Table> {
        let of_name = dig_name(of).unwrap_or_else(|| "Column1".into());
        let span = of.span;
        let (agg_expr, agg_name) = match by {
            Some(b) => {
                let call = Expr::new(
                    ExprKind::Call { name: ast::Ident { name: "sum".into(), span }, args: vec![b.clone()] },
                    span,
                );
                (call, format!("approximate_sum_{}", dig_name(b).unwrap_or_default()))
            }
            None => (
                Expr::new(ExprKind::Call { name: ast::Ident { name: "count".into(), span }, args: vec![] }, span),
                format!("approximate_count_{of_name}"),
            ),
        };
        let key = NamedExpr { names: vec![ast::Ident { name: of_name, span }], expr: of.clone(), span };
        let agg = NamedExpr { names: vec![ast::Ident { name: agg_name.clone(), span }], expr: agg_expr, span };
        let summary = self.summarize(input, &[agg], &[key])?;
        let n = self.const_eval(count)?.as_i64().unwrap_or(0).max(0) as usize;
        let sort_key = ast::SortKey {
            expr: Expr::new(ExprKind::Name(ast::Ident { name: agg_name, span }), span),
            descending: true,
            nulls_first: None,
            span,
        };
        self.sort(summary, &[sort_key], Some(n))
    }

    /// `partition by Col (ops)`: runs the sub-pipeline on each value's rows and concatenates
    /// the results.
    pub(super) fn partition(&self, input: &Table, by: &ast::Ident, subquery: &[ast::Operator]) -> Result<Table> {
        let Some(key) = input.column(&by.name) else {
            return Err(EvalError::UnknownName(by.name.clone()));
        };
        let mut parts = Vec::new();
        for rows in group_rows(std::slice::from_ref(key), input.num_rows()) {
            let mut t = input.gather(&rows);
            self.pipeline(subquery, &mut t)?;
            parts.push(t);
        }
        if parts.is_empty() {
            // No rows: run the sub-pipeline once on the empty input for its schema.
            let mut t = input.clone();
            self.pipeline(subquery, &mut t)?;
            return Ok(t);
        }
        Ok(super::ops::concat_tables(parts))
    }
}
