//! Scalar expressions: compiled once per operator against the input schema (names resolved to
//! column positions, functions to `fn` pointers, static result type known), then evaluated
//! row by row over the columnar input.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use crate::ast::{BinOp, ListOp};
use crate::functions::{self, Impl};
use crate::table::{ColumnData, Table};
use crate::value::{self, Dyn, Type, Value};

/// A compiled scalar expression.
#[derive(Clone, Debug)]
pub enum CExpr {
    Const(Value),
    Col(usize),
    Call {
        name: &'static str,
        f: Impl,
        args: Vec<CExpr>,
    },
    /// `iff` / `case` evaluate lazily so only the taken branch runs.
    Iff(Box<CExpr>, Box<CExpr>, Box<CExpr>),
    Case(Vec<CExpr>),
    Binary {
        op: BinOp,
        l: Box<CExpr>,
        r: Box<CExpr>,
    },
    Not(Box<CExpr>),
    Neg(Box<CExpr>),
    /// `in`, `!in`, `in~`, `!in~`, `has_any`, `has_all` against constant items.
    InList {
        op: ListOp,
        e: Box<CExpr>,
        items: Arc<Vec<Value>>,
        set: Option<Arc<HashSet<Value>>>,
    },
    Between {
        e: Box<CExpr>,
        lo: Box<CExpr>,
        hi: Box<CExpr>,
        negated: bool,
    },
    Member {
        e: Box<CExpr>,
        field: Arc<str>,
    },
    Index {
        e: Box<CExpr>,
        idx: Box<CExpr>,
    },
    /// Converts the inner result to a type (e.g. `to typeof(long)`, typed `extract`).
    Convert(Box<CExpr>, Type),
    // Row (window) functions; valid on serialized input, evaluated in row order.
    RowNumber {
        start: i64,
        restart: Option<Box<CExpr>>,
        state: RefCell<(i64, Option<Value>)>,
    },
    Prev {
        e: Box<CExpr>,
        offset: i64,
        default: Option<Box<CExpr>>,
        forward: bool,
    },
    RowCumsum {
        e: Box<CExpr>,
        restart: Option<Box<CExpr>>,
        state: RefCell<Value>,
    },
    RowRank {
        e: Box<CExpr>,
        dense: bool,
        restart: Option<Box<CExpr>>,
        state: RefCell<(i64, i64, Option<Value>)>,
    },
}

impl CExpr {
    pub fn eval(&self, t: &Table, row: usize) -> Value {
        match self {
            CExpr::Const(v) => v.clone(),
            CExpr::Col(i) => t.columns[*i].get(row),
            // Arguments on the stack for the usual arities: no allocation per row.
            CExpr::Call { f, args, .. } => match args.as_slice() {
                [] => f(&[]),
                [a] => f(&[a.eval(t, row)]),
                [a, b] => f(&[a.eval(t, row), b.eval(t, row)]),
                [a, b, c] => f(&[a.eval(t, row), b.eval(t, row), c.eval(t, row)]),
                _ => {
                    let vals: Vec<Value> = args.iter().map(|a| a.eval(t, row)).collect();
                    f(&vals)
                }
            },
            CExpr::Iff(c, a, b) => {
                if functions::truthy(&c.eval(t, row)) {
                    a.eval(t, row)
                } else {
                    b.eval(t, row)
                }
            }
            CExpr::Case(items) => {
                let mut i = 0;
                while i + 1 < items.len() {
                    if functions::truthy(&items[i].eval(t, row)) {
                        return items[i + 1].eval(t, row);
                    }
                    i += 2;
                }
                items.last().map_or(Value::Null, |e| e.eval(t, row))
            }
            CExpr::Binary { op, l, r } => {
                let lv = l.eval(t, row);
                // Short-circuit logic keeps regexes and parses off rows that already failed.
                match op {
                    BinOp::And if matches!(lv.as_bool(), Some(false)) => return Value::Bool(false),
                    BinOp::Or if matches!(lv.as_bool(), Some(true)) => return Value::Bool(true),
                    _ => {}
                }
                functions::binary(*op, &lv, &r.eval(t, row))
            }
            CExpr::Not(e) => match e.eval(t, row).as_bool() {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            CExpr::Neg(e) => match e.eval(t, row) {
                Value::Int(i) => Value::Long(-(i as i64)),
                // 64-bit arithmetic wraps in Kusto (`-(min long)` is min long).
                Value::Long(i) => Value::Long(i.wrapping_neg()),
                Value::Real(f) => Value::Real(-f),
                Value::Decimal(f) => Value::Decimal(-f),
                Value::TimeSpan(x) => x.checked_neg().map_or(Value::Null, Value::TimeSpan),
                Value::Dynamic(d) => match d {
                    Dyn::Long(i) => Value::Dynamic(Dyn::Long(i.wrapping_neg())),
                    Dyn::Real(f) => Value::Dynamic(Dyn::Real(-f)),
                    _ => Value::Dynamic(Dyn::Null),
                },
                _ => Value::Null,
            },
            CExpr::InList { op, e, items, set } => in_list(*op, &e.eval(t, row), items, set.as_deref()),
            CExpr::Between { e, lo, hi, negated } => {
                let v = e.eval(t, row);
                let ge = functions::binary(BinOp::Ge, &v, &lo.eval(t, row));
                let le = functions::binary(BinOp::Le, &v, &hi.eval(t, row));
                match functions::binary(BinOp::And, &ge, &le).as_bool() {
                    Some(b) => Value::Bool(b != *negated),
                    None => Value::Null,
                }
            }
            CExpr::Member { e, field } => member(&e.eval(t, row), field),
            CExpr::Index { e, idx } => {
                let base = e.eval(t, row);
                match idx.eval(t, row) {
                    Value::String(s) => member(&base, &s),
                    Value::Dynamic(Dyn::String(s)) => member(&base, &s),
                    i => match (base.to_dyn(), i.as_i64()) {
                        (d, Some(i)) => Value::Dynamic(d.index(i).cloned().unwrap_or(Dyn::Null)),
                        _ => Value::Dynamic(Dyn::Null),
                    },
                }
            }
            CExpr::Convert(e, ty) => value::convert(&e.eval(t, row), *ty),
            CExpr::RowNumber { start, restart, state } => {
                let mut st = state.borrow_mut();
                let reset = match restart {
                    Some(r) => functions::truthy(&r.eval(t, row)),
                    None => false,
                };
                if row == 0 || reset {
                    st.0 = *start;
                } else {
                    st.0 += 1;
                }
                Value::Long(st.0)
            }
            CExpr::Prev { e, offset, default, forward } => {
                let target =
                    if *forward { row.checked_add(*offset as usize) } else { row.checked_sub(*offset as usize) };
                match target {
                    Some(r) if r < t.num_rows() => e.eval(t, r),
                    _ => default.as_ref().map_or(Value::Null, |d| d.eval(t, row)),
                }
            }
            CExpr::RowCumsum { e, restart, state } => {
                let mut acc = state.borrow_mut();
                let reset = row == 0 || restart.as_ref().is_some_and(|r| functions::truthy(&r.eval(t, row)));
                let v = e.eval(t, row);
                let base = if reset { Value::Null } else { acc.clone() };
                let next = match (&base, &v) {
                    (Value::Null, v) => v.clone(),
                    (_, Value::Null) => base.clone(),
                    _ => functions::arith(BinOp::Add, &base, &v),
                };
                *acc = next.clone();
                if next.is_null() { Value::Long(0) } else { next }
            }
            CExpr::RowRank { e, dense, restart, state } => {
                let v = e.eval(t, row);
                let mut st = state.borrow_mut();
                // (rank, rows seen, previous value); `restart` true starts a new ranking.
                let same = st.2.as_ref().is_some_and(|p| *p == v);
                let reset = restart.as_ref().is_some_and(|r| functions::truthy(&r.eval(t, row)));
                if row == 0 || reset {
                    *st = (1, 1, Some(v));
                } else {
                    st.1 += 1;
                    if !same {
                        st.0 = if *dense { st.0 + 1 } else { st.1 };
                        st.2 = Some(v);
                    }
                }
                Value::Long(st.0)
            }
        }
    }

    pub fn is_const(&self) -> bool {
        matches!(self, CExpr::Const(_))
    }

    /// Whether evaluation carries state from row to row (`row_number()`, `row_cumsum()`,
    /// `row_rank_*()`), so the rows must be walked in order on one thread.
    pub fn has_row_state(&self) -> bool {
        match self {
            CExpr::RowNumber { .. } | CExpr::RowCumsum { .. } | CExpr::RowRank { .. } => true,
            CExpr::Const(_) | CExpr::Col(_) => false,
            CExpr::Call { args, .. } | CExpr::Case(args) => args.iter().any(CExpr::has_row_state),
            CExpr::Iff(c, a, b) => c.has_row_state() || a.has_row_state() || b.has_row_state(),
            CExpr::Binary { l, r, .. } => l.has_row_state() || r.has_row_state(),
            CExpr::Not(e) | CExpr::Neg(e) | CExpr::Convert(e, _) => e.has_row_state(),
            CExpr::InList { e, .. } | CExpr::Member { e, .. } => e.has_row_state(),
            CExpr::Between { e, lo, hi, .. } => e.has_row_state() || lo.has_row_state() || hi.has_row_state(),
            CExpr::Index { e, idx } => e.has_row_state() || idx.has_row_state(),
            CExpr::Prev { e, default, .. } => e.has_row_state() || default.as_ref().is_some_and(|d| d.has_row_state()),
        }
    }
}

/// `d.field` / `d["field"]` on a dynamic (or a string holding JSON).
fn member(base: &Value, field: &str) -> Value {
    match base {
        Value::Dynamic(d) => Value::Dynamic(d.get(field).cloned().unwrap_or(Dyn::Null)),
        Value::String(s) => Value::Dynamic(Dyn::parse_json(s).and_then(|d| d.get(field).cloned()).unwrap_or(Dyn::Null)),
        _ => Value::Dynamic(Dyn::Null),
    }
}

/// Flattens list items: dynamic arrays contribute their elements.
pub fn flatten_items(items: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(items.len());
    for v in items {
        match v {
            Value::Dynamic(Dyn::Array(a)) => out.extend(a.iter().map(dyn_to_scalar)),
            other => out.push(other),
        }
    }
    out
}

/// A dynamic array element as the scalar it represents (strings stay strings).
fn dyn_to_scalar(d: &Dyn) -> Value {
    match d {
        Dyn::String(s) => Value::String(s.clone()),
        Dyn::Long(i) => Value::Long(*i),
        Dyn::Real(f) => Value::Real(*f),
        Dyn::Bool(b) => Value::Bool(*b),
        Dyn::Null => Value::Null,
        other => Value::Dynamic(other.clone()),
    }
}

/// Builds the hash set used by `in` over many constant items (keys normalised so that
/// `in~` compares lower-cased strings).
pub fn build_in_set(op: ListOp, items: &[Value]) -> Option<Arc<HashSet<Value>>> {
    if items.len() < 8 || !matches!(op, ListOp::In | ListOp::NotIn | ListOp::InCi | ListOp::NotInCi) {
        return None;
    }
    let ci = matches!(op, ListOp::InCi | ListOp::NotInCi);
    if !items.iter().all(|v| matches!(v, Value::String(_) | Value::Long(_) | Value::Int(_))) {
        return None;
    }
    Some(Arc::new(items.iter().map(|v| norm_key(v, ci)).collect()))
}

fn norm_key(v: &Value, ci: bool) -> Value {
    match v {
        Value::String(s) if ci => Value::string(s.to_lowercase()),
        Value::Int(i) => Value::Long(*i as i64),
        Value::Dynamic(Dyn::String(s)) => {
            if ci {
                Value::string(s.to_lowercase())
            } else {
                Value::String(s.clone())
            }
        }
        Value::Dynamic(Dyn::Long(i)) => Value::Long(*i),
        other => other.clone(),
    }
}

fn in_list(op: ListOp, v: &Value, items: &[Value], set: Option<&HashSet<Value>>) -> Value {
    match op {
        ListOp::In | ListOp::NotIn | ListOp::InCi | ListOp::NotInCi => {
            let ci = matches!(op, ListOp::InCi | ListOp::NotInCi);
            let found = if v.is_null() {
                false
            } else if let Some(set) = set {
                set.contains(&norm_key(v, ci))
            } else if ci {
                let t = functions::text_of(v);
                items.iter().any(|i| functions::eq_ci(&t, &functions::text_of(i)))
            } else {
                items.iter().any(|i| {
                    functions::values_equal(v, i).unwrap_or(false)
                        || matches!((v, i), (Value::String(a), Value::Dynamic(Dyn::String(b))) if a == b)
                })
            };
            let negated = matches!(op, ListOp::NotIn | ListOp::NotInCi);
            Value::Bool(found != negated)
        }
        ListOp::HasAny => {
            let t = functions::text_of(v);
            Value::Bool(
                items
                    .iter()
                    .any(|i| functions::has_term(&t, &functions::text_of(i), false, functions::TermMatch::Whole)),
            )
        }
        ListOp::HasAll => {
            let t = functions::text_of(v);
            Value::Bool(
                items
                    .iter()
                    .all(|i| functions::has_term(&t, &functions::text_of(i), false, functions::TermMatch::Whole)),
            )
        }
    }
}

pub use crate::functions::TermMatch;

/// Evaluates `e` over every row into a typed column vector.
pub fn eval_column(e: &CExpr, ty: Type, t: &Table) -> Arc<ColumnData> {
    let n = t.num_rows();
    if let Some(k) = column_kernel(e, ty, t) {
        return Arc::new(k.run(0..n));
    }
    if let CExpr::Col(i) = e {
        let c = &t.columns[*i];
        if c.ty == ty || (matches!(ty, Type::Real | Type::Decimal) && matches!(c.ty, Type::Real | Type::Decimal)) {
            // Shared, not copied: a projected column is the input column.
            return c.data.clone();
        }
    }
    let mut data = ColumnData::new(ty, n);
    if let CExpr::Const(v) = e {
        let conv = value::convert(v, ty);
        let v = if v.is_null() || v.ty() == Some(ty) { v } else { &conv };
        for _ in 0..n {
            data.push(ty, v);
        }
        return Arc::new(data);
    }
    for row in 0..n {
        data.push(ty, &e.eval(t, row));
    }
    Arc::new(data)
}

/// An expression evaluated straight from a typed column slice, for per-row functions common
/// enough to deserve it (no `Value` per row): `bin` / `floor` of a datetime column by a
/// constant timespan (the time key of every time-window join and `summarize ... by bin()`).
/// Same results as the function: rounded down from 0001-01-01, null for a null cell or a
/// step that is not positive.
pub(crate) enum Kernel<'a> {
    BinDateTime { col: &'a [Option<i64>], step: i64 },
}

/// The [`Kernel`] computing `e` (of type `ty`) over `t`, if there is one.
pub(crate) fn column_kernel<'a>(e: &CExpr, ty: Type, t: &'a Table) -> Option<Kernel<'a>> {
    let CExpr::Call { name: "bin" | "floor", args, .. } = e else { return None };
    let [CExpr::Col(i), CExpr::Const(Value::TimeSpan(step))] = args.as_slice() else { return None };
    let ColumnData::DateTime(col) = &*t.columns[*i].data else { return None };
    (ty == Type::DateTime).then_some(Kernel::BinDateTime { col, step: *step })
}

impl Kernel<'_> {
    /// The values of rows `rows`.
    pub(crate) fn run(&self, rows: std::ops::Range<usize>) -> ColumnData {
        match *self {
            Kernel::BinDateTime { step, .. } if step <= 0 => ColumnData::DateTime(vec![None; rows.len()]),
            Kernel::BinDateTime { col, step } => ColumnData::DateTime(
                col[rows].iter().map(|v| v.and_then(|x| value::datetime_in_range(x.div_euclid(step) * step))).collect(),
            ),
        }
    }
}

/// Evaluates a predicate over all rows and returns the indices where it is true, in order.
/// Large inputs are cut into row ranges filtered on every core (each worker with its own copy
/// of the expression); predicates whose value depends on the rows before (`row_number()`,
/// `row_cumsum()`, ...) run in one pass on this thread.
pub fn filter_rows(e: &CExpr, t: &Table) -> Vec<usize> {
    let n = t.num_rows();
    let parts = super::parallel::partitions(n);
    if parts.len() > 1 && !e.has_row_state() {
        let tasks: Vec<(std::ops::Range<usize>, CExpr)> = parts.into_iter().map(|r| (r, e.clone())).collect();
        return super::parallel::concat(super::parallel::run(tasks, |(r, e)| filter_range(&e, t, r)));
    }
    filter_range(e, t, 0..n)
}

/// [`filter_rows`] over the rows `rows` only.
fn filter_range(e: &CExpr, t: &Table, rows: std::ops::Range<usize>) -> Vec<usize> {
    if let Some(idx) = fast_filter(e, t, Sel::Range(rows.clone())) {
        return idx;
    }
    rows.filter(|&r| functions::truthy(&e.eval(t, r))).collect()
}

/// A typed row test over the table's column slices (no `Value` per row).
type RowPred<'a> = Box<dyn Fn(usize) -> bool + 'a>;

/// The rows a filter step looks at: a contiguous range, or the rows an earlier step kept.
#[derive(Clone)]
enum Sel<'s> {
    Range(std::ops::Range<usize>),
    Rows(&'s [usize]),
}

/// Applies `p` to the selected rows.
fn select(p: &dyn Fn(usize) -> bool, sel: Sel<'_>) -> Vec<usize> {
    match sel {
        Sel::Rows(rows) => rows.iter().copied().filter(|&r| p(r)).collect(),
        Sel::Range(rows) => rows.filter(|&r| p(r)).collect(),
    }
}

/// Vectorised filtering for the common predicate shapes: `and` narrows a selection vector
/// term by term (each term only looks at rows the previous ones kept), `or` of typed tests,
/// and typed leaf tests ([`row_pred`]). `None` when the top-level shape is not covered.
fn fast_filter(e: &CExpr, t: &Table, sel: Sel<'_>) -> Option<Vec<usize>> {
    match e {
        CExpr::Binary { op: BinOp::And, l, r } => {
            let left = fast_filter(l, t, sel)?;
            if left.is_empty() {
                return Some(left);
            }
            match fast_filter(r, t, Sel::Rows(&left)) {
                Some(both) => Some(both),
                None => Some(left.into_iter().filter(|&row| functions::truthy(&r.eval(t, row))).collect()),
            }
        }
        _ => {
            let p = row_pred(e, t)?;
            Some(select(&p, sel))
        }
    }
}

/// A typed test for one row, for: string column vs string constant (string operators, with
/// case-insensitive equality and term / substring search on ASCII text done without
/// allocation, `has` / `contains` through the regex engine's literal prefilters), integer and
/// datetime columns vs constants, `in` / `in~` / `has_any` over a string column, and `or` /
/// `and` of those.
fn row_pred<'a>(e: &'a CExpr, t: &'a Table) -> Option<RowPred<'a>> {
    match e {
        CExpr::Binary { op: BinOp::And, l, r } => {
            let (a, b) = (row_pred(l, t)?, row_pred(r, t)?);
            Some(Box::new(move |row| a(row) && b(row)))
        }
        CExpr::Binary { op: BinOp::Or, l, r } => {
            let (a, b) = (row_pred(l, t)?, row_pred(r, t)?);
            Some(Box::new(move |row| a(row) || b(row)))
        }
        CExpr::Between { e, lo, hi, negated: false } => {
            // `datetime between (datetime .. datetime)`, e.g. a time-window join's final test.
            let (v, lo, hi) = (dt_operand(e, t)?, dt_operand(lo, t)?, dt_operand(hi, t)?);
            Some(Box::new(move |r| match (v(r), lo(r), hi(r)) {
                (Some(v), Some(lo), Some(hi)) => lo <= v && v <= hi,
                // A null operand makes the test null or false (as in the row path).
                _ => false,
            }))
        }
        CExpr::Binary { op: op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge), l, r }
            if !matches!(r.as_ref(), CExpr::Const(_)) =>
        {
            // Two datetime operands, neither a bare constant on the right (that case is below).
            let (a, b) = (dt_operand(l, t)?, dt_operand(r, t)?);
            let cmp: fn(i64, i64) -> bool = match op {
                BinOp::Lt => |a, b| a < b,
                BinOp::Le => |a, b| a <= b,
                BinOp::Gt => |a, b| a > b,
                _ => |a, b| a >= b,
            };
            Some(Box::new(move |r| matches!((a(r), b(r)), (Some(x), Some(y)) if cmp(x, y))))
        }
        CExpr::Binary { op, l, r } => {
            let (CExpr::Col(i), CExpr::Const(c)) = (l.as_ref(), r.as_ref()) else { return None };
            match (&*t.columns[*i].data, c) {
                (ColumnData::String(col), Value::String(needle)) if *op == BinOp::MatchesRegex => {
                    let re = functions::regex_cached(needle)?;
                    Some(memo(col, move |hay| re.is_match(hay)))
                }
                (ColumnData::String(col), Value::String(needle))
                    if !matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge) =>
                {
                    string_pred(*op, col, needle)
                }
                (ColumnData::Long(col) | ColumnData::DateTime(col) | ColumnData::TimeSpan(col), c) => {
                    let k = match (c, &*t.columns[*i].data) {
                        (Value::Long(k), ColumnData::Long(_)) => *k,
                        (Value::Int(k), ColumnData::Long(_)) => *k as i64,
                        (Value::DateTime(k), ColumnData::DateTime(_)) => *k,
                        (Value::TimeSpan(k), ColumnData::TimeSpan(_)) => *k,
                        _ => return None,
                    };
                    let cmp: fn(i64, i64) -> bool = match op {
                        BinOp::Eq => |a, b| a == b,
                        BinOp::Ne => |a, b| a != b,
                        BinOp::Lt => |a, b| a < b,
                        BinOp::Le => |a, b| a <= b,
                        BinOp::Gt => |a, b| a > b,
                        BinOp::Ge => |a, b| a >= b,
                        _ => return None,
                    };
                    // A null cell fails every comparison except `!=` (as in the row path).
                    let null_passes = *op == BinOp::Ne;
                    Some(Box::new(move |r| col[r].map_or(null_passes, |v| cmp(v, k))))
                }
                _ => None,
            }
        }
        CExpr::InList {
            op: op @ (ListOp::HasAny | ListOp::In | ListOp::InCi | ListOp::NotIn | ListOp::NotInCi),
            e,
            items,
            set,
        } => {
            let CExpr::Col(i) = e.as_ref() else { return None };
            let ColumnData::String(col) = &*t.columns[*i].data else { return None };
            let needles: Vec<String> = items.iter().map(|v| functions::text_of(v).into_owned()).collect();
            match op {
                ListOp::HasAny => {
                    let terms: Vec<&str> = needles.iter().map(String::as_str).collect();
                    let re = functions::has_any_pattern(&terms).and_then(|p| functions::regex_cached(&p));
                    Some(memo(col, move |hay| {
                        let hay: &str = hay;
                        match &re {
                            // The regex is exact on ASCII text; other text takes the Unicode path.
                            Some(re) if hay.is_ascii() => re.is_match(hay),
                            _ => needles.iter().any(|n| functions::has_term(hay, n, false, TermMatch::Whole)),
                        }
                    }))
                }
                ListOp::InCi | ListOp::NotInCi
                    if needles.len() >= 8 && items.iter().all(|v| matches!(v, Value::String(_))) =>
                {
                    // Many items: one hash lookup of the lower-cased text instead of a scan.
                    let negated = *op == ListOp::NotInCi;
                    let lower: HashSet<String, super::keys::FxBuild> =
                        needles.iter().map(|n| n.to_lowercase()).collect();
                    Some(memo(col, move |hay| lower.contains(&hay.to_lowercase()) != negated))
                }
                ListOp::In | ListOp::NotIn
                    if needles.len() >= 8 && items.iter().all(|v| matches!(v, Value::String(_))) =>
                {
                    let negated = *op == ListOp::NotIn;
                    let set: HashSet<String, super::keys::FxBuild> = needles.into_iter().collect();
                    Some(memo(col, move |hay| set.contains(&**hay) != negated))
                }
                ListOp::InCi | ListOp::NotInCi if items.iter().all(|v| matches!(v, Value::String(_))) => {
                    let negated = *op == ListOp::NotInCi;
                    Some(memo(col, move |hay| {
                        let hay: &str = hay;
                        let found = needles.iter().any(|n| hay.eq_ignore_ascii_case(n))
                            || (!hay.is_ascii() && needles.iter().any(|n| functions::eq_ci(hay, n)));
                        found != negated
                    }))
                }
                ListOp::In | ListOp::NotIn if items.iter().all(|v| matches!(v, Value::String(_))) => {
                    let negated = *op == ListOp::NotIn;
                    Some(memo(col, move |hay| needles.iter().any(|n| **n == **hay) != negated))
                }
                _ => Some(memo(col, move |hay| {
                    functions::truthy(&in_list(*op, &Value::String(hay.clone()), items, set.as_deref()))
                })),
            }
        }
        _ => None,
    }
}

/// A datetime operand of a typed test, per row (`None` = null): a datetime column, a datetime
/// constant, or one of those plus or minus a constant timespan (checked, and out of the
/// datetime range is null, as `functions::binary` does).
type DtOperand<'a> = Box<dyn Fn(usize) -> Option<i64> + Send + Sync + 'a>;

fn dt_operand<'a>(e: &'a CExpr, t: &'a Table) -> Option<DtOperand<'a>> {
    match e {
        CExpr::Col(i) => match &*t.columns[*i].data {
            ColumnData::DateTime(col) => Some(Box::new(move |r| col[r])),
            _ => None,
        },
        CExpr::Const(Value::DateTime(k)) => {
            let k = *k;
            Some(Box::new(move |_| Some(k)))
        }
        CExpr::Binary { op: op @ (BinOp::Add | BinOp::Sub), l, r } => {
            let CExpr::Const(Value::TimeSpan(d)) = r.as_ref() else { return None };
            let (base, d, add) = (dt_operand(l, t)?, *d, *op == BinOp::Add);
            Some(Box::new(move |r| {
                let v = base(r)?;
                let moved = if add { v.checked_add(d) } else { v.checked_sub(d) };
                moved.and_then(crate::value::datetime_in_range)
            }))
        }
        _ => None,
    }
}

/// Row test for `StringColumn <op> "needle"`.
fn string_pred<'a>(op: BinOp, col: &'a [Arc<str>], needle: &'a str) -> Option<RowPred<'a>> {
    let ascii_needle = needle.is_ascii();
    match op {
        BinOp::EqCi | BinOp::NeCi if ascii_needle => {
            let negated = op == BinOp::NeCi;
            Some(memo(col, move |hay| {
                let hay: &str = hay;
                // Equal ignoring ASCII case implies equal; otherwise only non-ASCII text
                // (e.g. the Kelvin sign) can still fold to the needle.
                let eq = hay.eq_ignore_ascii_case(needle) || (!hay.is_ascii() && functions::eq_ci(hay, needle));
                eq != negated
            }))
        }
        BinOp::Has | BinOp::NotHas | BinOp::Contains | BinOp::NotContains if ascii_needle && !needle.is_empty() => {
            let negated = matches!(op, BinOp::NotHas | BinOp::NotContains);
            let pattern = if matches!(op, BinOp::Has | BinOp::NotHas) {
                functions::has_any_pattern(&[needle])?
            } else {
                format!("(?i){}", regex::escape(needle))
            };
            let re = functions::regex_cached(&pattern)?;
            Some(memo(col, move |hay| {
                let hay: &str = hay;
                let hit = if hay.is_ascii() {
                    re.is_match(hay)
                } else {
                    functions::string_predicate(op, hay, needle) != negated
                };
                hit != negated
            }))
        }
        _ => Some(memo(col, move |hay| functions::string_predicate(op, hay, needle))),
    }
}

/// A test of a string column's cells, remembered per distinct cell allocation. Cells copied by
/// `where`, `join` and loaders share one allocation per distinct value, so a column of ten
/// million rows often holds a few hundred allocations: the test (a regex, a case-insensitive
/// compare) then runs once per allocation and every other row costs one cache probe. Equal
/// addresses are equal text while the column lives, so the remembered answer is exact. When the
/// addresses turn out mostly distinct (text parsed cell by cell) the cache stops being asked.
fn memo<'a>(col: &'a [Arc<str>], test: impl Fn(&Arc<str>) -> bool + 'a) -> RowPred<'a> {
    use std::cell::Cell;
    const SLOTS: usize = 512;
    let slots: Vec<Cell<(usize, bool)>> = (0..SLOTS).map(|_| Cell::new((0, false))).collect();
    let (asked, missed, off) = (Cell::new(0usize), Cell::new(0usize), Cell::new(false));
    Box::new(move |r| {
        let s = &col[r];
        if off.get() {
            return test(s);
        }
        let addr = Arc::as_ptr(s) as *const u8 as usize;
        let slot = &slots[((addr >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) % SLOTS];
        let n = asked.get() + 1;
        asked.set(n);
        let (a, hit) = slot.get();
        if a == addr {
            return hit;
        }
        let v = test(s);
        slot.set((addr, v));
        let m = missed.get() + 1;
        missed.set(m);
        if n >= 4096 && m * 2 > n {
            off.set(true);
        }
        v
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::eval::{self, Context};
    use crate::table::{Column, Table};
    use crate::value::{self, Type, Value};

    /// The typed datetime tests (`between`, column against column, `± timespan`) keep exactly
    /// the rows the row-by-row path keeps, nulls and the datetime range's edges included.
    #[test]
    fn typed_datetime_tests_match_the_row_path() {
        let base = value::parse_datetime("2024-01-01T00:00:00Z").expect("date");
        let max = value::parse_datetime("9999-12-31T23:59:59Z").expect("max date");
        let min = value::parse_datetime("0001-01-01T00:00:00Z").expect("min date");
        let n = 400i64;
        let a: Vec<Value> = (0..n)
            .map(|i| match i % 37 {
                0 => Value::Null,
                1 => Value::DateTime(max),
                2 => Value::DateTime(min),
                _ => Value::DateTime(base + (i * 7919 % 600) * value::TICKS_PER_SECOND),
            })
            .collect();
        let b: Vec<Value> = (0..n)
            .map(|i| match i % 41 {
                0 => Value::Null,
                1 => Value::DateTime(max),
                _ => Value::DateTime(base + (i * 104_729 % 600) * value::TICKS_PER_SECOND),
            })
            .collect();
        let t = Table::new(vec![
            Column::from_values("A", Type::DateTime, &a),
            Column::from_values("B", Type::DateTime, &b),
        ]);
        let ctx = Context::new(HashMap::from([("T".to_string(), t)]));
        let run = |q: &str| {
            let parsed = crate::parser::parse_query(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
            let out = eval::run(&parsed, &ctx).unwrap_or_else(|e| panic!("{q}: {e}"));
            (0..out.num_rows())
                .map(|r| out.columns.iter().map(|c| c.get(r).to_kusto_string()).collect::<Vec<_>>().join("|"))
                .collect::<Vec<_>>()
        };
        for p in [
            "A between (B .. (B + 5m))",
            "A between ((B - 2m) .. (B + 3m))",
            "A between (datetime(2024-01-01 00:02:00) .. (B + 1m))",
            "A >= B",
            "A < (B + 1m)",
            "(A - 1m) > B",
            "A <= B + 1m",
        ] {
            let typed = run(&format!("T | where {p}"));
            let rowwise = run(&format!("T | extend keep_ = {p} | where keep_ | project-away keep_"));
            assert_eq!(typed, rowwise, "{p}");
            assert!(!typed.is_empty() && typed.len() < n as usize, "{p}: {} rows", typed.len());
        }
        // The `bin` kernel against the function row by row (`tostring` keeps the row path).
        for step in ["150s", "1h", "7d", "0s", "-1m"] {
            let kernel = run(&format!("T | project K = bin(A, {step})"));
            let rowwise = run(&format!("T | project K = todatetime(tostring(bin(A, {step})))"));
            assert_eq!(kernel, rowwise, "bin by {step}");
        }
    }
}
