//! Aggregation functions for `summarize` (and `make-series`, `top-nested`): one state per
//! group, updated row by row, finished into one or more output values.

use std::collections::HashSet;
use std::sync::Arc;

use super::expr::CExpr;
use crate::functions::truthy;
use crate::table::Table;
use crate::value::{self, Dyn, Type, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AggKind {
    Count,
    CountIf,
    DCount,
    DCountIf,
    Sum,
    SumIf,
    Avg,
    AvgIf,
    Min,
    Max,
    MinIf,
    MaxIf,
    ArgMax,
    ArgMin,
    MakeSet,
    MakeSetIf,
    MakeList,
    MakeListIf,
    MakeListWithNulls,
    MakeBag,
    MakeBagIf,
    TakeAny,
    TakeAnyIf,
    Percentile,
    Stdev,
    StdevP,
    Variance,
    VarianceP,
}

impl AggKind {
    /// Aggregate names → kind and the prefix of the default output column name.
    pub fn lookup(name: &str) -> Option<(AggKind, &'static str)> {
        use AggKind::*;
        Some(match name {
            "count" => (Count, "count"),
            "countif" => (CountIf, "countif"),
            "dcount" | "count_distinct" => (DCount, if name == "dcount" { "dcount" } else { "count_distinct" }),
            "dcountif" | "count_distinctif" => (DCountIf, "dcountif"),
            "sum" => (Sum, "sum"),
            "sumif" => (SumIf, "sumif"),
            "avg" => (Avg, "avg"),
            "avgif" => (AvgIf, "avgif"),
            "min" => (Min, "min"),
            "max" => (Max, "max"),
            "minif" => (MinIf, "minif"),
            "maxif" => (MaxIf, "maxif"),
            "arg_max" | "argmax" => (ArgMax, "max"),
            "arg_min" | "argmin" => (ArgMin, "min"),
            "make_set" | "makeset" => (MakeSet, "set"),
            "make_set_if" => (MakeSetIf, "set"),
            "make_list" | "makelist" => (MakeList, "list"),
            "make_list_if" => (MakeListIf, "list"),
            "make_list_with_nulls" => (MakeListWithNulls, "list"),
            "make_bag" => (MakeBag, "bag"),
            "make_bag_if" => (MakeBagIf, "bag"),
            "any" | "take_any" => (TakeAny, if name == "any" { "any" } else { "" }),
            "take_anyif" | "anyif" => (TakeAnyIf, if name == "anyif" { "anyif" } else { "" }),
            "percentile" | "percentiles" => (Percentile, "percentile"),
            "stdev" => (Stdev, "stdev"),
            "stdevp" => (StdevP, "stdevp"),
            "variance" => (Variance, "variance"),
            "variancep" => (VarianceP, "variancep"),
            _ => return None,
        })
    }

    /// Result type for a value-argument type.
    pub fn result_type(self, arg: Option<Type>) -> Type {
        use AggKind::*;
        match self {
            Count | CountIf | DCount | DCountIf => Type::Long,
            Sum | SumIf => match arg {
                Some(Type::Int) => Type::Long,
                Some(t) => t,
                None => Type::Long,
            },
            Avg | AvgIf | Stdev | StdevP | Variance | VarianceP => Type::Real,
            Min | Max | MinIf | MaxIf | TakeAny | TakeAnyIf | Percentile | ArgMax | ArgMin => {
                arg.unwrap_or(Type::Dynamic)
            }
            MakeSet | MakeSetIf | MakeList | MakeListIf | MakeListWithNulls | MakeBag | MakeBagIf => Type::Dynamic,
        }
    }
}

/// One aggregate of a `summarize`: its compiled arguments and output columns.
#[derive(Clone, Debug)]
pub struct AggSpec {
    pub kind: AggKind,
    /// Value argument (if any).
    pub value: Option<CExpr>,
    pub value_ty: Option<Type>,
    /// Predicate argument of the `*if` forms.
    pub pred: Option<CExpr>,
    /// arg_max / arg_min extra outputs (input column positions).
    pub extra_cols: Vec<usize>,
    /// Percentile ranks (one output column each).
    pub percents: Vec<f64>,
    /// Max size for make_set / make_list.
    pub limit: usize,
}

/// Per-group accumulator.
#[derive(Clone, Debug)]
pub enum AggState {
    Count(i64),
    Distinct(HashSet<Value>),
    Sum(Option<Value>),
    /// Real sum, count, and the wrapping integer sum while every value is an integer (Kusto
    /// averages longs as `sum / count` with the sum's 64-bit overflow).
    Avg(f64, i64, Option<i64>),
    Extreme(Option<Value>),
    Arg(Option<(Value, usize)>),
    Set(Vec<Dyn>, HashSet<Value>),
    List(Vec<Dyn>),
    Bag(Vec<(Arc<str>, Dyn)>),
    Any(Option<Value>),
    Nums(Vec<f64>),
    Vals(Vec<Value>),
}

impl AggSpec {
    pub fn new_state(&self) -> AggState {
        use AggKind::*;
        match self.kind {
            Count | CountIf => AggState::Count(0),
            DCount | DCountIf => AggState::Distinct(HashSet::new()),
            Sum | SumIf => AggState::Sum(None),
            Avg | AvgIf => AggState::Avg(0.0, 0, Some(0)),
            Min | Max | MinIf | MaxIf => AggState::Extreme(None),
            ArgMax | ArgMin => AggState::Arg(None),
            MakeSet | MakeSetIf => AggState::Set(Vec::new(), HashSet::new()),
            MakeList | MakeListIf | MakeListWithNulls => AggState::List(Vec::new()),
            MakeBag | MakeBagIf => AggState::Bag(Vec::new()),
            TakeAny | TakeAnyIf => AggState::Any(None),
            Stdev | StdevP | Variance | VarianceP => AggState::Nums(Vec::new()),
            Percentile => AggState::Vals(Vec::new()),
        }
    }

    /// Feeds input row `row` of `t` into `state`.
    pub fn update(&self, state: &mut AggState, t: &Table, row: usize) {
        if let Some(p) = &self.pred
            && !truthy(&p.eval(t, row))
        {
            return;
        }
        let v = self.value.as_ref().map(|e| e.eval(t, row));
        match state {
            AggState::Count(n) => *n += 1,
            AggState::Distinct(set) => {
                if let Some(v) = v.filter(|v| !v.is_null()) {
                    set.insert(v);
                }
            }
            AggState::Sum(acc) => {
                if let Some(v) = v.filter(|v| !v.is_null()) {
                    *acc = Some(match acc.take() {
                        None => v,
                        Some(a) => match (&a, &v) {
                            (Value::Real(x), _) => Value::Real(x + v.as_f64().unwrap_or(0.0)),
                            _ => crate::functions::arith(crate::ast::BinOp::Add, &a, &v),
                        },
                    });
                }
            }
            AggState::Avg(sum, n, isum) => {
                if let Some(f) = v.as_ref().and_then(Value::as_f64) {
                    *sum += f;
                    *n += 1;
                    *isum = match v {
                        Some(Value::Int(i)) => isum.map(|s| s.wrapping_add(i as i64)),
                        Some(Value::Long(i)) => isum.map(|s| s.wrapping_add(i)),
                        _ => None,
                    };
                }
            }
            AggState::Extreme(best) => {
                if let Some(v) = v.filter(|v| !v.is_null()) {
                    let want_max = matches!(self.kind, AggKind::Max | AggKind::MaxIf);
                    let replace = match best {
                        None => true,
                        // NaN wins min and max alike, and stays.
                        Some(b) if is_nan(b) => false,
                        Some(_) if is_nan(&v) => true,
                        Some(b) => {
                            let o = value::compare_values(&v, b);
                            if want_max { o == std::cmp::Ordering::Greater } else { o == std::cmp::Ordering::Less }
                        }
                    };
                    if replace {
                        *best = Some(v);
                    }
                }
            }
            AggState::Arg(best) => {
                // All-null groups still report the first row's other columns (value null).
                if let Some(v) = v {
                    let want_max = self.kind == AggKind::ArgMax;
                    let replace = match best {
                        None => true,
                        Some(_) if v.is_null() => false,
                        Some((b, _)) if b.is_null() => true,
                        Some((b, _)) if is_nan(b) => false,
                        Some(_) if is_nan(&v) => true,
                        Some((b, _)) => {
                            let o = value::compare_values(&v, b);
                            if want_max { o == std::cmp::Ordering::Greater } else { o == std::cmp::Ordering::Less }
                        }
                    };
                    if replace {
                        *best = Some((v, row));
                    }
                }
            }
            AggState::Set(items, seen) => {
                let Some(v) = v.filter(|v| !v.is_null()) else { return };
                let elems: Vec<Dyn> = match v.to_dyn() {
                    Dyn::Array(a) => a.as_ref().clone(),
                    d => vec![d],
                };
                for d in elems {
                    if items.len() >= self.limit {
                        break;
                    }
                    if seen.insert(Value::Dynamic(d.clone())) {
                        items.push(d);
                    }
                }
            }
            AggState::List(items) => {
                let Some(v) = v else { return };
                if items.len() >= self.limit {
                    return;
                }
                match v {
                    // A dynamic array contributes its elements; a dynamic null is kept.
                    Value::Dynamic(Dyn::Array(a)) => {
                        let room = self.limit - items.len();
                        items.extend(a.iter().take(room).cloned());
                    }
                    Value::Dynamic(d) => items.push(d),
                    v if v.is_null() && self.kind != AggKind::MakeListWithNulls => {}
                    v => items.push(v.to_dyn()),
                }
            }
            AggState::Bag(props) => {
                if let Some(Dyn::Object(o)) = v.map(|v| v.to_dyn()) {
                    for (k, x) in o.iter() {
                        if !props.iter().any(|(pk, _)| pk == k) {
                            props.push((k.clone(), x.clone()));
                        }
                    }
                }
            }
            AggState::Any(slot) => {
                if let Some(v) = v
                    && slot.as_ref().is_none_or(|s| s.is_empty() && !v.is_empty())
                {
                    *slot = Some(v);
                }
            }
            AggState::Nums(ns) => {
                if let Some(f) = v.as_ref().and_then(Value::as_f64) {
                    ns.push(f);
                }
            }
            AggState::Vals(vs) => {
                if let Some(v) = v.filter(|v| !v.is_null()) {
                    vs.push(v);
                }
            }
        }
    }

    /// Folds `later` — the state of rows that all come after the rows of `into` — into
    /// `into`, so that partial states of consecutive partitions (see [`super::parallel`])
    /// end as the state one pass over all rows would have reached: first-seen order, ties
    /// (`arg_max` keeps the earliest row), limits and null rules included.
    pub fn merge(&self, into: &mut AggState, later: AggState) {
        match (into, later) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::Distinct(a), AggState::Distinct(b)) => a.extend(b),
            (AggState::Sum(acc), AggState::Sum(Some(v))) => {
                *acc = Some(match acc.take() {
                    None => v,
                    Some(a) => match (&a, &v) {
                        (Value::Real(x), _) => Value::Real(x + v.as_f64().unwrap_or(0.0)),
                        _ => crate::functions::arith(crate::ast::BinOp::Add, &a, &v),
                    },
                });
            }
            (AggState::Avg(sum, n, isum), AggState::Avg(s2, n2, i2)) => {
                *sum += s2;
                *n += n2;
                *isum = match (*isum, i2) {
                    (Some(a), Some(b)) => Some(a.wrapping_add(b)),
                    _ => None,
                };
            }
            (AggState::Extreme(best), AggState::Extreme(Some(v))) => {
                let want_max = matches!(self.kind, AggKind::Max | AggKind::MaxIf);
                let replace = match best {
                    None => true,
                    Some(b) if is_nan(b) => false,
                    Some(_) if is_nan(&v) => true,
                    Some(b) => {
                        let o = value::compare_values(&v, b);
                        if want_max { o == std::cmp::Ordering::Greater } else { o == std::cmp::Ordering::Less }
                    }
                };
                if replace {
                    *best = Some(v);
                }
            }
            (AggState::Arg(best), AggState::Arg(Some((v, row)))) => {
                let want_max = self.kind == AggKind::ArgMax;
                let replace = match best {
                    None => true,
                    Some(_) if v.is_null() => false,
                    Some((b, _)) if b.is_null() => true,
                    Some((b, _)) if is_nan(b) => false,
                    Some(_) if is_nan(&v) => true,
                    Some((b, _)) => {
                        let o = value::compare_values(&v, b);
                        if want_max { o == std::cmp::Ordering::Greater } else { o == std::cmp::Ordering::Less }
                    }
                };
                if replace {
                    *best = Some((v, row));
                }
            }
            (AggState::Set(items, seen), AggState::Set(more, _)) => {
                for d in more {
                    if items.len() >= self.limit {
                        break;
                    }
                    if seen.insert(Value::Dynamic(d.clone())) {
                        items.push(d);
                    }
                }
            }
            (AggState::List(items), AggState::List(more)) => {
                let room = self.limit.saturating_sub(items.len());
                items.extend(more.into_iter().take(room));
            }
            (AggState::Bag(props), AggState::Bag(more)) => {
                for (k, x) in more {
                    if !props.iter().any(|(pk, _)| *pk == k) {
                        props.push((k, x));
                    }
                }
            }
            (AggState::Any(slot), AggState::Any(Some(v)))
                if slot.as_ref().is_none_or(|s| s.is_empty() && !v.is_empty()) =>
            {
                *slot = Some(v);
            }
            (AggState::Nums(a), AggState::Nums(b)) => a.extend(b),
            (AggState::Vals(a), AggState::Vals(b)) => a.extend(b),
            // An empty later state (`None` extremes, sums, picks) changes nothing.
            _ => {}
        }
    }

    /// Whether any argument carries row-to-row state (then rows go through one pass).
    pub fn has_row_state(&self) -> bool {
        self.value.as_ref().is_some_and(CExpr::has_row_state) || self.pred.as_ref().is_some_and(CExpr::has_row_state)
    }

    /// One state per group (`gids[row]` is the group of input row `row`), every row fed in.
    /// Large inputs are aggregated per partition on every core and the partial states merged
    /// in partition order ([`AggSpec::merge`]); when there are so many groups that per
    /// partition states would cost more than the rows, or an argument has row state, one pass.
    pub fn states_by_group(&self, t: &Table, gids: &[u32], groups: usize) -> Vec<AggState> {
        let parts = super::parallel::partitions(gids.len());
        if parts.len() <= 1 || self.has_row_state() || groups.saturating_mul(parts.len()) > gids.len() {
            let mut states: Vec<AggState> = (0..groups).map(|_| self.new_state()).collect();
            for (row, &g) in gids.iter().enumerate() {
                self.update(&mut states[g as usize], t, row);
            }
            return states;
        }
        let tasks: Vec<(std::ops::Range<usize>, AggSpec)> = parts.into_iter().map(|r| (r, self.clone())).collect();
        let partials = super::parallel::run(tasks, |(r, spec)| {
            let mut states: Vec<AggState> = (0..groups).map(|_| spec.new_state()).collect();
            for row in r {
                spec.update(&mut states[gids[row] as usize], t, row);
            }
            states
        });
        let mut it = partials.into_iter();
        let mut states = it.next().unwrap_or_default();
        for later in it {
            for (a, b) in states.iter_mut().zip(later) {
                self.merge(a, b);
            }
        }
        states
    }

    /// Final values of this aggregate (several for arg_max / percentiles).
    pub fn finish(&self, state: AggState, t: &Table) -> Vec<Value> {
        match state {
            AggState::Count(n) => vec![Value::Long(n)],
            AggState::Distinct(set) => vec![Value::Long(set.len() as i64)],
            AggState::Sum(acc) => vec![acc.unwrap_or(match self.value_ty {
                Some(Type::Real) => Value::Real(0.0),
                Some(Type::Decimal) => Value::Decimal(0.0),
                Some(Type::TimeSpan) => Value::TimeSpan(0),
                _ => Value::Long(0),
            })],
            AggState::Avg(sum, n, isum) => vec![Value::Real(match (n, isum) {
                (0, _) => f64::NAN,
                (_, Some(i)) => i as f64 / n as f64,
                _ => sum / n as f64,
            })],
            AggState::Extreme(best) => vec![best.unwrap_or(Value::Null)],
            AggState::Arg(best) => {
                let mut out = Vec::with_capacity(1 + self.extra_cols.len());
                match best {
                    Some((v, row)) => {
                        out.push(v);
                        out.extend(self.extra_cols.iter().map(|&c| t.columns[c].get(row)));
                    }
                    None => out.extend(std::iter::repeat_n(Value::Null, 1 + self.extra_cols.len())),
                }
                out
            }
            AggState::Set(items, _) => vec![Value::Dynamic(Dyn::array(items))],
            AggState::List(items) => vec![Value::Dynamic(Dyn::array(items))],
            AggState::Bag(props) => vec![Value::Dynamic(Dyn::object(props))],
            AggState::Any(v) => vec![v.unwrap_or(Value::Null)],
            AggState::Nums(ns) => vec![variance_like(self.kind, &ns)],
            AggState::Vals(mut vs) => {
                vs.sort_by(value::compare_values);
                self.percents
                    .iter()
                    .map(|p| {
                        if vs.is_empty() {
                            return Value::Null;
                        }
                        let rank = ((p / 100.0) * vs.len() as f64).ceil() as usize;
                        vs[rank.clamp(1, vs.len()) - 1].clone()
                    })
                    .collect()
            }
        }
    }
}

fn variance_like(kind: AggKind, ns: &[f64]) -> Value {
    let n = ns.len() as f64;
    if ns.is_empty() {
        // Kusto reports 0 for the spread of an empty set.
        return Value::Real(0.0);
    }
    let mean = ns.iter().sum::<f64>() / n;
    let ss: f64 = ns.iter().map(|x| (x - mean) * (x - mean)).sum();
    let v = match kind {
        AggKind::Stdev | AggKind::Variance => {
            if ns.len() < 2 {
                0.0
            } else {
                ss / (n - 1.0)
            }
        }
        _ => ss / n,
    };
    Value::Real(if matches!(kind, AggKind::Stdev | AggKind::StdevP) { v.sqrt() } else { v })
}

fn is_nan(v: &Value) -> bool {
    matches!(v, Value::Real(f) if f.is_nan())
}
