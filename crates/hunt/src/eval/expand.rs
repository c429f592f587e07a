//! `mv-expand` on every core, with typed values kept typed.
//!
//! Each row's arrays are computed, expanded and converted to the output column's type in the
//! same pass, partition by partition ([`super::parallel`]), and the partitions' pieces joined
//! in order (so the output is the serial one). The common time-window shape,
//! `mv-expand k = range(from, to, step) to typeof(datetime)` (Kusto's documented time-window
//! join), never goes through `dynamic`: the range's elements are produced as `datetime` (or
//! `timespan` / `long`) cells directly, where the generic path would format each element as
//! text inside a dynamic array and parse it back.

use std::ops::Range;

use super::expr::CExpr;
use super::parallel;
use super::{EvalError, Evaluator, Result, type_of};
use crate::ast::{self, Expr, ExprKind, OpKind};
use crate::table::{Column, ColumnData, Table};
use crate::value::{Dyn, Type, Value};

/// One compiled `mv-expand` item: the array expression, the output name and type.
pub(super) struct Item {
    pub expr: CExpr,
    pub name: String,
    pub ty: Type,
}

/// Most elements one `range()` call produces (as `functions::dynamic::range`).
const RANGE_CAP: usize = 1_000_000;

/// The elements of one row's item, already in the output type; `null` says the item's value
/// was null (which keeps a row whose arrays are all empty).
struct Elements {
    values: Vec<Value>,
    null: bool,
}

/// `range(from, to, step)` as typed values, when the arguments have the types the output
/// column wants; `None` leaves the row to the generic path.
fn typed_range(args: &[Value], ty: Type) -> Option<Vec<Value>> {
    let (from, to, step) = match (args, ty) {
        ([Value::DateTime(a), Value::DateTime(b), Value::TimeSpan(s)], Type::DateTime)
        | ([Value::TimeSpan(a), Value::TimeSpan(b), Value::TimeSpan(s)], Type::TimeSpan) => (*a, *b, *s),
        ([a, b], Type::Long) | ([a, b, Value::Int(_) | Value::Long(_)], Type::Long)
            if matches!(a, Value::Int(_) | Value::Long(_)) && matches!(b, Value::Int(_) | Value::Long(_)) =>
        {
            (a.as_i64()?, b.as_i64()?, args.get(2).map_or(Some(1), Value::as_i64)?)
        }
        _ => return None,
    };
    if step == 0 {
        return None;
    }
    let make = |t: i64| match ty {
        Type::DateTime => Value::DateTime(t),
        Type::TimeSpan => Value::TimeSpan(t),
        _ => Value::Long(t),
    };
    let mut out = Vec::new();
    let mut cur = from;
    while ((step > 0 && cur <= to) || (step < 0 && cur >= to)) && out.len() < RANGE_CAP {
        out.push(make(cur));
        match cur.checked_add(step) {
            Some(n) => cur = n,
            None => break,
        }
    }
    Some(out)
}

/// Row `row`'s elements of `item`.
fn elements(item: &Item, t: &Table, row: usize) -> Elements {
    let value = match &item.expr {
        CExpr::Call { name: "range", f, args } if matches!(item.ty, Type::DateTime | Type::TimeSpan | Type::Long) => {
            let vals: Vec<Value> = args.iter().map(|a| a.eval(t, row)).collect();
            if let Some(values) = typed_range(&vals, item.ty) {
                return Elements { values, null: false };
            }
            f(&vals)
        }
        e => e.eval(t, row),
    };
    let convert = |d: Dyn| if item.ty == Type::Dynamic { Value::Dynamic(d) } else { Value::from_dyn_as(&d, item.ty) };
    match value.to_dyn() {
        Dyn::Array(a) => Elements { values: a.iter().cloned().map(convert).collect(), null: false },
        Dyn::Object(o) => Elements {
            values: o.iter().map(|(k, v)| convert(Dyn::object(vec![(k.clone(), v.clone())]))).collect(),
            null: false,
        },
        Dyn::Null => Elements { values: vec![], null: true },
        other => Elements { values: vec![convert(other)], null: false },
    }
}

/// One partition's output: input row per output row, the items' cells, the item indexes.
struct Piece {
    rows: Vec<usize>,
    cells: Vec<ColumnData>,
    indexes: Vec<Option<i64>>,
}

fn expand_range(items: &[Item], t: &Table, rows: Range<usize>, limit: usize, max: usize) -> Result<Piece> {
    let mut piece = Piece {
        rows: Vec::new(),
        cells: items.iter().map(|it| ColumnData::new(it.ty, 0)).collect(),
        indexes: Vec::new(),
    };
    let null_cell = |it: &Item| if it.ty == Type::Dynamic { Value::Dynamic(Dyn::Null) } else { Value::Null };
    for row in rows {
        let lists: Vec<Elements> = items.iter().map(|it| elements(it, t, row)).collect();
        let n = lists.iter().map(|l| l.values.len()).max().unwrap_or(0).min(limit);
        if n == 0 {
            // Kusto drops rows whose arrays are all empty but keeps a row whose value is
            // null, with a null expansion.
            if lists.iter().any(|l| l.null) {
                piece.rows.push(row);
                for (cells, it) in piece.cells.iter_mut().zip(items) {
                    cells.push(it.ty, &null_cell(it));
                }
                piece.indexes.push(None);
            }
            continue;
        }
        for i in 0..n {
            piece.rows.push(row);
            for ((cells, it), l) in piece.cells.iter_mut().zip(items).zip(&lists) {
                cells.push(it.ty, l.values.get(i).unwrap_or(&null_cell(it)));
            }
            piece.indexes.push(Some(i as i64));
        }
        if piece.rows.len() > max {
            return Err(EvalError::TooManyRows(max));
        }
    }
    Ok(piece)
}

/// Expands `input` by `items` (at most `limit` elements per row, at most `max` rows in all),
/// adding a `long` column `itemindex` when named.
pub(super) fn mv_expand(
    input: &Table,
    items: &[Item],
    itemindex: Option<&str>,
    limit: usize,
    max: usize,
) -> Result<Table> {
    let n = input.num_rows();
    let parts = if items.iter().any(|it| it.expr.has_row_state()) {
        std::iter::once(0..n).collect()
    } else {
        parallel::partitions(n)
    };
    let tasks: Vec<(Range<usize>, Vec<Item>)> = parts
        .into_iter()
        .map(|r| (r, items.iter().map(|it| Item { expr: it.expr.clone(), name: it.name.clone(), ty: it.ty }).collect()))
        .collect();
    let pieces = parallel::run(tasks, |(r, items)| expand_range(&items, input, r, limit, max));
    let mut rows = Vec::new();
    let mut indexes = Vec::new();
    let mut cells: Vec<Vec<ColumnData>> = items.iter().map(|_| Vec::new()).collect();
    for p in pieces {
        let p = p?;
        rows.push(p.rows);
        indexes.push(p.indexes);
        for (all, c) in cells.iter_mut().zip(p.cells) {
            all.push(c);
        }
    }
    let rows = parallel::concat(rows);
    if rows.len() > max {
        return Err(EvalError::TooManyRows(max));
    }
    let mut out = parallel::gather_table(input, &rows);
    for (it, pieces) in items.iter().zip(cells) {
        let col = Column::with_data(it.name.clone(), it.ty, parallel::concat_data(it.ty, pieces));
        match out.index_of(&it.name) {
            Some(i) => out.columns[i] = col,
            None => out.columns.push(col),
        }
    }
    if let Some(ix) = itemindex {
        out.columns.push(Column::with_data(ix, Type::Long, ColumnData::Long(parallel::concat(indexes))));
    }
    Ok(out)
}

/// Names of the hidden argument columns of a fused `range` (no KQL name can hold a NUL).
const HIDDEN: [&str; 3] = ["\u{0}range_from", "\u{0}range_to", "\u{0}range_step"];

impl Evaluator<'_> {
    /// `project ..., K = range(from, to, step), ... | mv-expand K to typeof(T)` in one step,
    /// without the dynamic arrays in between: the project runs with a placeholder for `K` and
    /// the range's arguments as hidden columns, and the expansion computes each row's range
    /// typed from them. `None` when `op` and `next` are not that shape (then they run one by
    /// one); the answer is the same either way.
    pub(super) fn project_then_expand(
        &self,
        op: &ast::Operator,
        next: Option<&ast::Operator>,
        input: &Table,
    ) -> Result<Option<Table>> {
        let (OpKind::Project(items), Some(OpKind::MvExpand(m))) = (&op.kind, next.map(|n| &n.kind)) else {
            return Ok(None);
        };
        let [mv] = m.items.as_slice() else { return Ok(None) };
        let (ExprKind::Name(key), Some(to)) = (&mv.expr.kind, mv.to_type) else { return Ok(None) };
        let ty = type_of(to);
        if !matches!(ty, Type::DateTime | Type::TimeSpan | Type::Long)
            || mv.name.as_ref().is_some_and(|n| n.name != key.name)
            || items.iter().any(|ne| matches!(ne.expr.kind, ExprKind::Star))
        {
            return Ok(None);
        }
        // Exactly one item, named explicitly, produces the key, and it is a range() call.
        let named_key = |ne: &&ast::NamedExpr| ne.names.first().is_some_and(|n| n.name == key.name);
        let producers: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, ne)| named_key(ne) || ne.expr.derived_name().as_deref() == Some(&key.name))
            .map(|(i, _)| i)
            .collect();
        let [at] = producers.as_slice() else { return Ok(None) };
        let producer = &items[*at];
        if producer.names.len() != 1 || producer.names[0].name != key.name {
            return Ok(None);
        }
        let ExprKind::Call { name, args } = &producer.expr.kind else { return Ok(None) };
        if name.name != "range" || !(2..=3).contains(&args.len()) {
            return Ok(None);
        }
        let (CExpr::Call { name: "range", f, .. }, _) = self.compile(&producer.expr, input)? else {
            return Ok(None);
        };
        let limit = match &m.limit {
            Some(l) => self.const_eval(l)?.as_i64().unwrap_or(i64::MAX).max(0) as usize,
            None => usize::MAX,
        };
        // The project with a null placeholder where the key goes.
        let mut placeholder_items = items.clone();
        placeholder_items[*at].expr = Expr { kind: ExprKind::Literal(ast::Literal::Null), span: producer.expr.span };
        let mut table = self.project(input, &placeholder_items)?;
        let base = table.columns.len();
        for (arg, hidden) in args.iter().zip(HIDDEN) {
            let (c, arg_ty) = self.compile(arg, input)?;
            table.columns.push(Column {
                name: hidden.to_string(),
                ty: arg_ty,
                data: parallel::eval_column(&c, arg_ty, input),
            });
        }
        let item = Item {
            expr: CExpr::Call { name: "range", f, args: (0..args.len()).map(|i| CExpr::Col(base + i)).collect() },
            name: key.name.clone(),
            ty,
        };
        let max = self.ctx.max_rows.unwrap_or(usize::MAX);
        let mut out = mv_expand(&table, &[item], m.with_itemindex.as_ref().map(|i| i.name.as_str()), limit, max)?;
        out.columns.retain(|c| !HIDDEN.contains(&c.name.as_str()));
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_range_matches_the_dynamic_one() {
        let day = crate::value::TICKS_PER_DAY;
        let t0 = crate::value::parse_datetime("2024-01-01T00:00:00Z").unwrap_or(0);
        let args = [Value::DateTime(t0), Value::DateTime(t0 + 2 * day), Value::TimeSpan(day)];
        let typed = typed_range(&args, Type::DateTime).expect("datetime range");
        let generic = (crate::functions::lookup("range").expect("range exists").imp)(&args);
        let Value::Dynamic(Dyn::Array(a)) = generic else { panic!("range gives an array") };
        let via_dyn: Vec<Value> = a.iter().map(|d| Value::from_dyn_as(d, Type::DateTime)).collect();
        assert_eq!(typed, via_dyn);
        assert_eq!(typed.len(), 3);
        // A zero step or mixed types are left to the generic path.
        assert!(typed_range(&[Value::DateTime(t0), Value::DateTime(t0), Value::TimeSpan(0)], Type::DateTime).is_none());
        assert!(typed_range(&[Value::DateTime(t0), Value::DateTime(t0), Value::Long(1)], Type::DateTime).is_none());
        assert_eq!(
            typed_range(&[Value::Long(5), Value::Long(1), Value::Long(-2)], Type::Long),
            Some(vec![Value::Long(5), Value::Long(3), Value::Long(1)])
        );
    }

    /// The fused `project | mv-expand` gives what the two operators give one by one (an
    /// `extend` in between keeps them apart): typed ranges, empty and null ranges, item index.
    #[test]
    fn fused_range_expansion_matches_the_operators_one_by_one() {
        let rows = "datatable(T:datetime, S:timespan, N:long)[\
            datetime(2024-01-01 00:07:00), 5m, 1, datetime(2024-01-01 00:00:00), 0s, 2, \
            datetime(2024-01-01 00:00:00), -5m, 3, datetime(null), 5m, 4]";
        let shape = |between: &str| {
            format!(
                "{rows} | project N, K = range(bin(T - 10m, 5m), bin(T, 5m), S), T {between}\
                 | mv-expand with_itemindex = I K to typeof(datetime)"
            )
        };
        let run = |q: &str| {
            let parsed = crate::parser::parse_query(q).expect("parses");
            let t = crate::eval::run(&parsed, &crate::eval::Context::default()).expect("runs");
            let names: Vec<String> = t.columns.iter().map(|c| format!("{}:{}", c.name, c.ty.name())).collect();
            let cells: Vec<String> = (0..t.num_rows()).map(|r| format!("{:?}", t.row(r))).collect();
            (names, cells)
        };
        let fused = run(&shape(""));
        let apart = run(&shape("| extend Z = 1 | project-away Z"));
        assert_eq!(fused, apart);
        assert_eq!(fused.0, ["N:long", "K:datetime", "T:datetime", "I:long"]);
        assert!(fused.1.len() >= 4, "{:?}", fused.1);
    }
}
