//! The `scan` operator: matches the (serialized) input against a sequence of steps.
//!
//! Kept apart from the other operators because it is a small state machine of its own. It
//! follows Kusto's documented "scan logic": every step keeps a state (one record per step up to
//! itself); each input record is checked against the steps from last to first, either advancing
//! the previous step's state into this step (check 1) or extending this step's own active
//! sequence (check 2, which always applies to the first step and starts a new sequence there).
//!
//! Expressions see the current record's columns, the declared columns at their defaults, and
//! `step.column` values from the state being matched (a step with no record there reads the
//! declared defaults, or null for input columns). They are evaluated over a one-row scratch
//! table whose extra columns are named `step.column`; the compiler resolves `step.column`
//! member references to those columns.

use std::collections::HashMap;

use super::expr::CExpr;
use super::{EvalError, Evaluator, Result, type_of};
use crate::ast::{self, Expr, ExprKind};
use crate::functions::truthy;
use crate::table::{Column, Table};
use crate::value::{self, Type, Value};

/// One record of a step state: the input row and the declared columns' values.
#[derive(Clone)]
struct Record {
    row: usize,
    declared: Vec<Value>,
}

/// The state of one step: a record per step up to it (`None` where that step has none).
#[derive(Clone)]
struct State {
    records: Vec<Option<Record>>,
    match_id: i64,
}

struct Step {
    cond: CExpr,
    /// (declared column index, expression).
    assigns: Vec<(usize, CExpr)>,
    output: Output,
}

#[derive(Clone, Copy, PartialEq)]
enum Output {
    All,
    Last,
    None,
}

/// The scratch-table layout shared by every step's compiled expressions.
struct Layout {
    /// Input columns used by the steps: (position in the input, name, type).
    inputs: Vec<usize>,
    /// Declared columns: name, type, default.
    declared: Vec<(String, Type, Value)>,
    /// `step.column` references: (step index, what it reads).
    refs: Vec<(usize, RefTarget)>,
}

#[derive(Clone, Copy)]
enum RefTarget {
    Input(usize),
    Declared(usize),
}

impl Evaluator<'_> {
    pub(super) fn scan(&self, input: Table, s: &ast::ScanOp) -> Result<Table> {
        let mut input = input;
        if !s.order_by.is_empty() {
            input = self.sort(input, &s.order_by, None)?;
        }
        let mut declared = Vec::new();
        for p in &s.declare {
            let ty = match &p.ty {
                ast::ParamType::Scalar(t) => type_of(*t),
                ast::ParamType::Tabular { .. } => {
                    return Err(EvalError::Invalid("scan declares scalar columns only".into()));
                }
            };
            let default = match &p.default {
                Some(d) => value::convert(&self.const_eval(d)?, ty),
                None => Value::Null,
            };
            declared.push((p.name.name.clone(), ty, default));
        }
        let step_names: Vec<String> = s.steps.iter().map(|st| st.name.name.clone()).collect();
        let mut members = Vec::new();
        for st in &s.steps {
            collect_step_members(&st.predicate, &step_names, &mut members);
            for a in &st.assignments {
                collect_step_members(&a.expr, &step_names, &mut members);
            }
        }
        let mut refs = Vec::new();
        for (step, field) in members {
            let target = if let Some(d) = declared.iter().position(|(n, _, _)| *n == field) {
                RefTarget::Declared(d)
            } else if let Some(i) = input.index_of(&field) {
                RefTarget::Input(i)
            } else {
                return Err(EvalError::UnknownName(format!("{}.{field}", step_names[step])));
            };
            refs.push((step, target));
        }
        let layout = Layout {
            inputs: (0..input.columns.len())
                .filter(|i| !declared.iter().any(|(n, _, _)| *n == input.columns[*i].name))
                .collect(),
            declared,
            refs,
        };
        let template = layout.table(&input, &step_names, None, &[]);
        let mut steps = Vec::new();
        for st in &s.steps {
            let (cond, _) = self.compile(&st.predicate, &template)?;
            let mut assigns = Vec::new();
            for a in &st.assignments {
                let name = a.names.first().map(|n| n.name.as_str()).unwrap_or("");
                let d = layout
                    .declared
                    .iter()
                    .position(|(n, _, _)| n == name)
                    .ok_or_else(|| EvalError::Invalid(format!("scan assigns `{name}`, which is not declared")))?;
                assigns.push((d, self.compile(&a.expr, &template)?.0));
            }
            let output = match st.output.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("none") => Output::None,
                Some("last") => Output::Last,
                _ => Output::All,
            };
            steps.push(Step { cond, assigns, output });
        }

        // Partitions (`partition by`) run independently, each in input order.
        let groups: Vec<Vec<usize>> = if s.partition_by.is_empty() {
            vec![(0..input.num_rows()).collect()]
        } else {
            let mut keys = Vec::new();
            for e in &s.partition_by {
                let (c, ty) = self.compile(e, &input)?;
                keys.push(Column { name: String::new(), ty, data: super::expr::eval_column(&c, ty, &input) });
            }
            group_rows(&keys, input.num_rows())
        };

        let with_match_id =
            s.params.iter().find(|p| p.name.eq_ignore_ascii_case("with_match_id")).and_then(|p| match &p.value.kind {
                ExprKind::Name(id) => Some(id.name.clone()),
                ExprKind::Literal(ast::Literal::String(s)) => Some(s.clone()),
                _ => None,
            });
        let mut out: Vec<(usize, Vec<Value>, i64)> = Vec::new();
        let max = self.ctx.max_rows.unwrap_or(usize::MAX);
        for rows in groups {
            self.scan_partition(&input, &layout, &step_names, &steps, &rows, &mut out, max)?;
        }
        let rows: Vec<usize> = out.iter().map(|(r, _, _)| *r).collect();
        let mut result = Table::new(layout.inputs.iter().map(|&i| input.columns[i].gather(&rows)).collect());
        for (k, (name, ty, _)) in layout.declared.iter().enumerate() {
            let vals: Vec<Value> = out.iter().map(|(_, d, _)| d[k].clone()).collect();
            result.columns.push(Column::from_values(name.clone(), *ty, &vals));
        }
        if let Some(name) = with_match_id {
            let ids: Vec<Value> = out.iter().map(|(_, _, m)| Value::Long(*m)).collect();
            result.columns.push(Column::from_values(name, Type::Long, &ids));
        }
        Ok(result)
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_partition(
        &self,
        input: &Table,
        layout: &Layout,
        step_names: &[String],
        steps: &[Step],
        rows: &[usize],
        out: &mut Vec<(usize, Vec<Value>, i64)>,
        max: usize,
    ) -> Result<()> {
        let n = steps.len();
        let mut states: Vec<Option<State>> = vec![None; n];
        let mut next_match_id = 0i64;
        // `output=last`: the pending record of each step's current run of matches.
        let mut pending: Vec<Option<(usize, Vec<Value>, i64)>> = vec![None; n];
        for (count, &row) in rows.iter().enumerate() {
            if count % 4096 == 0 {
                self.check_deadline()?;
            }
            for k in (0..n).rev() {
                let step = &steps[k];
                // Check 1: advance the previous step's sequence into this step.
                if k > 0
                    && let Some(prev) = states[k - 1].clone()
                {
                    let t = layout.table(input, step_names, Some(&prev), &[row]);
                    if truthy(&step.cond.eval(&t, 0)) {
                        let rec = Record { row, declared: assign(step, layout, &t) };
                        let mut records = prev.records.clone();
                        records.resize(n, None);
                        records[k] = Some(rec.clone());
                        states[k] = Some(State { records, match_id: prev.match_id });
                        states[k - 1] = None;
                        if let Some(p) = pending[k - 1].take() {
                            out.push(p);
                        }
                        emit(step.output, &mut pending[k], out, (row, rec.declared, prev.match_id));
                        if out.len() > max {
                            return Err(EvalError::TooManyRows(max));
                        }
                        continue;
                    }
                }
                // Check 2: extend this step's active sequence (the first step always may).
                if k == 0 || states[k].is_some() {
                    let cur = states[k].clone();
                    let t = layout.table(input, step_names, cur.as_ref(), &[row]);
                    if truthy(&step.cond.eval(&t, 0)) {
                        let rec = Record { row, declared: assign(step, layout, &t) };
                        let match_id = if k == 0 {
                            next_match_id += 1;
                            next_match_id - 1
                        } else {
                            cur.as_ref().map_or(0, |c| c.match_id)
                        };
                        let mut records = cur.map(|c| c.records).unwrap_or_default();
                        if k == 0 {
                            records = Vec::new();
                        }
                        records.resize(n, None);
                        records[k] = Some(rec.clone());
                        states[k] = Some(State { records, match_id });
                        emit(step.output, &mut pending[k], out, (row, rec.declared, match_id));
                        if out.len() > max {
                            return Err(EvalError::TooManyRows(max));
                        }
                    }
                }
            }
        }
        out.extend(pending.into_iter().flatten());
        out.sort_by_key(|(r, _, _)| *r);
        Ok(())
    }
}

/// Row positions grouped by the values of `keys`, groups in order of first appearance.
pub(super) fn group_rows(keys: &[Column], n: usize) -> Vec<Vec<usize>> {
    let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for row in 0..n {
        let key: Vec<Value> = keys.iter().map(|k| k.get(row)).collect();
        let g = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(row);
    }
    groups
}

/// Adds a matched record to the output according to the step's `output` mode.
fn emit(
    mode: Output,
    pending: &mut Option<(usize, Vec<Value>, i64)>,
    out: &mut Vec<(usize, Vec<Value>, i64)>,
    rec: (usize, Vec<Value>, i64),
) {
    match mode {
        Output::All => out.push(rec),
        Output::None => {}
        Output::Last => {
            // A new sequence flushes the previous run's last record.
            if let Some(p) = pending.take()
                && p.2 != rec.2
            {
                out.push(p);
            }
            *pending = Some(rec);
        }
    }
}

/// The declared columns after a step's assignments (unassigned ones keep their defaults).
fn assign(step: &Step, layout: &Layout, t: &Table) -> Vec<Value> {
    let mut vals: Vec<Value> = layout.declared.iter().map(|(_, _, d)| d.clone()).collect();
    for (d, e) in &step.assigns {
        let ty = layout.declared[*d].1;
        vals[*d] = value::convert(&e.eval(t, 0), ty);
    }
    vals
}

impl Layout {
    /// The scratch table: the used input columns at `rows`, the declared columns at their
    /// defaults, then one column per `step.column` reference read from `state`.
    fn table(&self, input: &Table, step_names: &[String], state: Option<&State>, rows: &[usize]) -> Table {
        let mut cols: Vec<Column> = self.inputs.iter().map(|&i| input.columns[i].gather(rows)).collect();
        for (name, ty, d) in &self.declared {
            let vals = vec![d.clone(); rows.len()];
            cols.push(Column::from_values(name.clone(), *ty, &vals));
        }
        for (step, target) in &self.refs {
            let rec = state.and_then(|s| s.records.get(*step)).and_then(Option::as_ref);
            let (name, ty, v) = match target {
                RefTarget::Input(i) => {
                    let c = &input.columns[*i];
                    (&c.name, c.ty, rec.map_or(Value::Null, |r| c.get(r.row)))
                }
                RefTarget::Declared(d) => {
                    let (name, ty, default) = &self.declared[*d];
                    (name, *ty, rec.map_or_else(|| default.clone(), |r| r.declared[*d].clone()))
                }
            };
            let vals = vec![v; rows.len()];
            cols.push(Column::from_values(format!("{}.{name}", step_names[*step]), ty, &vals));
        }
        Table::new(cols)
    }
}

/// Collects `(step index, field)` for every `step.field` in `e`.
fn collect_step_members(e: &Expr, steps: &[String], out: &mut Vec<(usize, String)>) {
    match &e.kind {
        ExprKind::Member { expr, field } => {
            if let ExprKind::Name(id) = &expr.kind
                && let Some(k) = steps.iter().position(|s| *s == id.name)
            {
                if !out.iter().any(|(s, f)| *s == k && *f == field.name) {
                    out.push((k, field.name.clone()));
                }
                return;
            }
            collect_step_members(expr, steps, out);
        }
        ExprKind::Literal(_)
        | ExprKind::Name(_)
        | ExprKind::Star
        | ExprKind::TypeOf(_)
        | ExprKind::ToScalar(_)
        | ExprKind::Subquery(_) => {}
        ExprKind::Call { args, .. } | ExprKind::Tuple(args) => {
            args.iter().for_each(|a| collect_step_members(a, steps, out))
        }
        ExprKind::Unary { expr, .. } | ExprKind::NamedArg { value: expr, .. } => collect_step_members(expr, steps, out),
        ExprKind::Binary { left, right, .. } => {
            collect_step_members(left, steps, out);
            collect_step_members(right, steps, out);
        }
        ExprKind::InList { expr, list, .. } => {
            collect_step_members(expr, steps, out);
            list.iter().for_each(|a| collect_step_members(a, steps, out));
        }
        ExprKind::Between { expr, low, high, .. } => {
            collect_step_members(expr, steps, out);
            collect_step_members(low, steps, out);
            collect_step_members(high, steps, out);
        }
        ExprKind::Index { expr, index } => {
            collect_step_members(expr, steps, out);
            collect_step_members(index, steps, out);
        }
    }
}
