//! Tabular sources and operators.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::aggregate::{AggKind, AggSpec};
use super::expr::{self, CExpr};
use super::keys;
use super::parallel;
use super::{EvalError, Evaluator, Result, dig_name, single_row, type_of};
use crate::ast::{self, Expr, ExprKind, JoinKind, NamedExpr, OpKind, SourceKind};
use crate::functions;
use crate::table::{Column, ColumnData, Table};
use crate::value::{self, Dyn, Type, Value};

/// The name an aggregate's argument lends to the output column: a column (or a path into
/// one), also through type conversions (`sum(toint(v))` → `sum_v`); any other expression
/// lends nothing (`countif(isnull(x))` → `countif_`).
fn agg_arg_name(e: &Expr) -> Option<String> {
    if let Some(n) = e.derived_name() {
        return Some(n);
    }
    match &e.kind {
        ExprKind::Call { name, args } if args.len() == 1 && is_conversion(&name.name) => {
            args.first().and_then(agg_arg_name)
        }
        _ => None,
    }
}

fn is_conversion(name: &str) -> bool {
    matches!(
        name,
        "tostring"
            | "toint"
            | "tolong"
            | "toreal"
            | "todouble"
            | "todecimal"
            | "tobool"
            | "toboolean"
            | "todatetime"
            | "totimespan"
            | "toguid"
            | "todynamic"
            | "toobject"
    )
}

/// Picks a unique column name: `base`, then `base1`, `base2`, ….
fn unique_name(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (1..).map(|i| format!("{base}{i}")).find(|n| !taken.iter().any(|t| t == n)).unwrap_or_else(|| base.to_string())
}

impl Evaluator<'_> {
    pub(super) fn source(&self, s: &ast::Source) -> Result<Table> {
        match &s.kind {
            SourceKind::Name(id) => self.lookup_table(&id.name),
            SourceKind::Call { name, args } => {
                if let Some(f) = self.env.funcs.get(&name.name) {
                    return self.call_tabular_function(f, args, None);
                }
                match name.name.as_str() {
                    "table" | "view" => {
                        let n = args
                            .first()
                            .map(|a| self.const_eval(a))
                            .transpose()?
                            .map(|v| v.to_kusto_string())
                            .unwrap_or_default();
                        self.lookup_table(&n)
                    }
                    "FileProfile" | "DeviceFromIP" | "AssignedIPAddresses" | "SeenBy" => {
                        Err(EvalError::Unsupported(format!(
                            "{}() needs Microsoft's enrichment service, which is not available in the sandbox",
                            name.name
                        )))
                    }
                    other => Err(EvalError::UnknownTable(format!("{other}()"))),
                }
            }
            SourceKind::Union(u) => self.union(None, u),
            SourceKind::Datatable { columns, values } => self.datatable(columns, values),
            SourceKind::Print(items) => {
                let row = single_row();
                let mut out = Table::default();
                for (i, ne) in items.iter().enumerate() {
                    let (c, ty) = self.compile(&ne.expr, &row)?;
                    let name = ne.names.first().map(|n| n.name.clone()).unwrap_or_else(|| format!("print_{i}"));
                    let data = expr::eval_column(&c, ty, &row);
                    out.columns.push(Column { name, ty, data });
                }
                Ok(out)
            }
            SourceKind::Range { column, from, to, step } => self.range(&column.name, from, to, step),
            SourceKind::ExternalData { uris, .. } => {
                let first =
                    uris.first().and_then(|u| self.const_eval(u).ok()).map(|v| v.to_kusto_string()).unwrap_or_default();
                Err(EvalError::Unsupported(format!(
                    "externaldata is not available in the sandbox: the engine does not fetch {}",
                    if first.is_empty() { "external URLs".to_string() } else { first }
                )))
            }
            SourceKind::Materialize(t) | SourceKind::Paren(t) => self.tabular(t, None),
            SourceKind::Search(s) => {
                let tables: Vec<(String, Table)> = match &s.tables {
                    Some(pats) => {
                        let mut v = Vec::new();
                        for p in pats {
                            let mut names: Vec<&String> = self.ctx.tables.keys().filter(|n| p.matches(n)).collect();
                            names.sort();
                            for n in names {
                                v.push((n.clone(), self.lookup_table(n)?));
                            }
                        }
                        v
                    }
                    None => {
                        let mut names: Vec<&String> = self.ctx.tables.keys().collect();
                        names.sort();
                        names.into_iter().map(|n| (n.clone(), self.ctx.tables[n].clone())).collect()
                    }
                };
                self.search_tables(tables, s)
            }
            SourceKind::Find(_) => {
                Err(EvalError::Unsupported("find is not supported by this engine; use union + where".into()))
            }
            SourceKind::Evaluate(e) => self.evaluate(Table::default(), e),
        }
    }

    fn datatable(&self, columns: &[ast::ColumnDecl], values: &[Expr]) -> Result<Table> {
        let ncols = columns.len().max(1);
        if !values.len().is_multiple_of(ncols) {
            return Err(EvalError::Invalid(format!(
                "datatable has {} values, not a multiple of {} columns",
                values.len(),
                ncols
            )));
        }
        let mut cols: Vec<Column> = columns.iter().map(|c| Column::new(c.name.name.clone(), type_of(c.ty))).collect();
        for (i, v) in values.iter().enumerate() {
            let col = &mut cols[i % ncols];
            let val = self.const_eval(v)?;
            let val = match (&val, col.ty) {
                (Value::Dynamic(Dyn::Null), t) if t != Type::Dynamic => Value::Null,
                _ => val,
            };
            let ty = col.ty;
            col.data_mut().push(ty, &val);
        }
        Ok(Table::new(cols))
    }

    fn range(&self, name: &str, from: &Expr, to: &Expr, step: &Expr) -> Result<Table> {
        let (a, b, s) = (self.const_eval(from)?, self.const_eval(to)?, self.const_eval(step)?);
        let max = self.ctx.max_rows.unwrap_or(usize::MAX);
        let mut vals = Vec::new();
        let ty;
        match (&a, &b) {
            (Value::DateTime(x), Value::DateTime(y)) | (Value::TimeSpan(x), Value::TimeSpan(y)) => {
                ty = a.ty().unwrap_or(Type::DateTime);
                let st = match s {
                    Value::TimeSpan(t) => t,
                    _ => return Err(EvalError::Invalid("range over datetime needs a timespan step".into())),
                };
                if st == 0 {
                    return Err(EvalError::Invalid("range step must not be zero".into()));
                }
                let mut cur = *x;
                while (st > 0 && cur <= *y) || (st < 0 && cur >= *y) {
                    if vals.len() >= max {
                        return Err(EvalError::TooManyRows(max));
                    }
                    vals.push(if ty == Type::DateTime { Value::DateTime(cur) } else { Value::TimeSpan(cur) });
                    match cur.checked_add(st) {
                        Some(n) => cur = n,
                        None => break,
                    }
                }
            }
            _ if matches!(a, Value::Real(_)) || matches!(b, Value::Real(_)) || matches!(s, Value::Real(_)) => {
                ty = Type::Real;
                let (x, y, st) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0), s.as_f64().unwrap_or(0.0));
                if st == 0.0 || !st.is_finite() {
                    return Err(EvalError::Invalid("range step must be a non-zero number".into()));
                }
                let mut i = 0.0;
                loop {
                    let cur = x + i * st;
                    if (st > 0.0 && cur > y) || (st < 0.0 && cur < y) {
                        break;
                    }
                    if vals.len() >= max {
                        return Err(EvalError::TooManyRows(max));
                    }
                    vals.push(Value::Real(cur));
                    i += 1.0;
                }
            }
            _ => {
                ty = Type::Long;
                let (Some(x), Some(y), Some(st)) = (a.as_i64(), b.as_i64(), s.as_i64()) else {
                    return Err(EvalError::Invalid("range bounds must be numbers or datetimes".into()));
                };
                if st == 0 {
                    return Err(EvalError::Invalid("range step must not be zero".into()));
                }
                let mut cur = x;
                while (st > 0 && cur <= y) || (st < 0 && cur >= y) {
                    if vals.len() >= max {
                        return Err(EvalError::TooManyRows(max));
                    }
                    vals.push(Value::Long(cur));
                    match cur.checked_add(st) {
                        Some(n) => cur = n,
                        None => break,
                    }
                }
            }
        }
        Ok(Table::new(vec![Column::from_values(name, ty, &vals)]))
    }

    /// Applies one operator.
    /// Applies one operator; `keep` (from the pipeline) names the columns the next operator
    /// reads, so row-copying operators may drop the rest.
    pub(super) fn operator(&self, op: &ast::Operator, input: Table, keep: Option<&HashSet<String>>) -> Result<Table> {
        match &op.kind {
            OpKind::Where(e) => {
                let (c, _) = self.compile(e, &input)?;
                let idx = expr::filter_rows(&c, &input);
                if idx.len() == input.num_rows() {
                    return Ok(input);
                }
                Ok(gather_kept(&input, &idx, keep))
            }
            OpKind::Project(items) => {
                let out = self.project(&input, items);
                parallel::drop_table(input);
                out
            }
            OpKind::Extend(items) | OpKind::Serialize(items) => self.extend(input, items),
            OpKind::ProjectAway(pats) => {
                Ok(Table::new(input.columns.into_iter().filter(|c| !pats.iter().any(|p| p.matches(&c.name))).collect()))
            }
            OpKind::ProjectKeep(pats) => {
                Ok(Table::new(input.columns.into_iter().filter(|c| pats.iter().any(|p| p.matches(&c.name))).collect()))
            }
            OpKind::ProjectRename(pairs) => {
                let mut t = input;
                for (new, old) in pairs {
                    let i = t.index_of(&old.name).ok_or_else(|| EvalError::UnknownName(old.name.clone()))?;
                    t.columns[i].name = new.name.clone();
                }
                Ok(t)
            }
            OpKind::ProjectReorder(items) => {
                let mut rest = input.columns;
                let mut front = Vec::new();
                for (p, order) in items {
                    let mut matched: Vec<Column> = Vec::new();
                    let mut i = 0;
                    while i < rest.len() {
                        if p.matches(&rest[i].name) {
                            matched.push(rest.remove(i));
                        } else {
                            i += 1;
                        }
                    }
                    match order.as_deref() {
                        Some("asc") | Some("granny-asc") => matched.sort_by(|a, b| a.name.cmp(&b.name)),
                        Some("desc") | Some("granny-desc") => matched.sort_by(|a, b| b.name.cmp(&a.name)),
                        _ => {}
                    }
                    front.extend(matched);
                }
                front.extend(rest);
                Ok(Table::new(front))
            }
            OpKind::Summarize { aggs, by, .. } => {
                let out = self.summarize(&input, aggs, by);
                parallel::drop_table(input);
                out
            }
            OpKind::Sort(keys) => self.sort(input, keys, None),
            OpKind::Top { count, by } => {
                let n = self.const_eval(count)?.as_i64().unwrap_or(0).max(0) as usize;
                self.sort(input, by, Some(n))
            }
            OpKind::Take(n) | OpKind::Sample(n) => {
                let n = self.const_eval(n)?.as_i64().unwrap_or(0).max(0) as usize;
                Ok(input.head(n))
            }
            OpKind::Distinct(items) => {
                let projected = if items.len() == 1 && matches!(items[0].expr.kind, ExprKind::Star) {
                    input
                } else {
                    self.project(&input, items)?
                };
                Ok(distinct(&projected))
            }
            OpKind::Count => {
                Ok(Table::new(vec![Column::from_values("Count", Type::Long, &[Value::Long(input.num_rows() as i64)])]))
            }
            OpKind::Join(j) => {
                let right = self.tabular(&j.right, None)?;
                self.join(input, right, j.kind, &j.on, false, keep)
            }
            OpKind::Lookup(j) => {
                let right = self.tabular(&j.right, None)?;
                let kind = if j.kind_explicit { j.kind } else { JoinKind::LeftOuter };
                self.join(input, right, kind, &j.on, true, keep)
            }
            OpKind::Union(u) => self.union(Some(input), u),
            OpKind::MvExpand(m) => self.mv_expand(input, &m.items, m.with_itemindex.as_ref(), m.limit.as_ref()),
            OpKind::MvApply(m) => self.mv_apply(input, m),
            OpKind::Parse(p) => self.parse(input, p, false),
            OpKind::ParseWhere(p) => self.parse(input, p, true),
            OpKind::ParseKv(p) => self.parse_kv(input, p),
            OpKind::Evaluate(e) => self.evaluate(input, e),
            OpKind::MakeSeries(m) => self.make_series(&input, m),
            OpKind::TopNested(levels) => self.top_nested(&input, levels),
            OpKind::TopHitters { count, of, by } => self.top_hitters(&input, count, of, by.as_ref()),
            OpKind::Partition { by, subquery, .. } => self.partition(&input, by, subquery),
            OpKind::Scan(s) => self.scan(input, s),
            OpKind::As { .. } | OpKind::Render { .. } => Ok(input),
            OpKind::Invoke { name, args } => {
                if let Some(f) = self.env.funcs.get(&name.name) {
                    return self.call_tabular_function(f, args, Some(input));
                }
                Err(EvalError::Unsupported(format!(
                    "invoke {}() is not available in the sandbox (it needs Microsoft's enrichment service)",
                    name.name
                )))
            }
            OpKind::GetSchema => {
                let n = input.columns.len();
                let names: Vec<Value> = input.columns.iter().map(|c| Value::str(&c.name)).collect();
                let ords: Vec<Value> = (0..n).map(|i| Value::Long(i as i64)).collect();
                let dts: Vec<Value> =
                    input.columns.iter().map(|c| Value::string(format!("System.{}", dotnet_type(c.ty)))).collect();
                let cts: Vec<Value> = input.columns.iter().map(|c| Value::str(c.ty.name())).collect();
                Ok(Table::new(vec![
                    Column::from_values("ColumnName", Type::String, &names),
                    Column::from_values("ColumnOrdinal", Type::Int, &ords),
                    Column::from_values("DataType", Type::String, &dts),
                    Column::from_values("ColumnType", Type::String, &cts),
                ]))
            }
            OpKind::Search(s) => self.search_tables(vec![("search_arg0".to_string(), input)], s),
            OpKind::Consume => Ok(Table::new(input.columns.into_iter().map(|c| Column::new(c.name, c.ty)).collect())),
            OpKind::SampleDistinct { count, of } => {
                let n = self.const_eval(count)?.as_i64().unwrap_or(0).max(0) as usize;
                let t = self.project(&input, &[NamedExpr { names: vec![], expr: of.clone(), span: of.span }])?;
                Ok(distinct(&t).head(n))
            }
            other => {
                Err(EvalError::Unsupported(format!("operator `{}` is not supported by this engine", other.name())))
            }
        }
    }

    /// Output name for an unnamed expression in project/extend (`Column1`, `Column2`, …).
    fn expr_name(ne: &NamedExpr, taken: &[String], counter: &mut usize) -> String {
        if let Some(n) = ne.names.first() {
            return n.name.clone();
        }
        if let Some(n) = ne.expr.derived_name() {
            return n;
        }
        loop {
            *counter += 1;
            let n = format!("Column{counter}");
            if !taken.contains(&n) {
                return n;
            }
        }
    }

    pub(super) fn project(&self, input: &Table, items: &[NamedExpr]) -> Result<Table> {
        let mut out: Vec<Column> = Vec::new();
        let mut counter = 0;
        for ne in items {
            if let ExprKind::Star = ne.expr.kind {
                out.extend(input.columns.iter().cloned());
                continue;
            }
            let (c, ty) = self.compile(&ne.expr, input)?;
            let taken: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
            let name = Self::expr_name(ne, &taken, &mut counter);
            let data = parallel::eval_column(&c, ty, input);
            let col = Column { name: name.clone(), ty, data };
            match out.iter().position(|c| c.name == name) {
                Some(i) => out[i] = col,
                None => out.push(col),
            }
        }
        Ok(Table::new(out))
    }

    pub(super) fn extend(&self, input: Table, items: &[NamedExpr]) -> Result<Table> {
        // Items see the input's columns as they were (`extend a = c, c = a` swaps) plus the
        // new columns earlier items added (`extend x = 1, y = x + 1`).
        let mut view = input.clone();
        let n_input = input.num_columns();
        let mut t = input;
        let mut counter = 0;
        for ne in items {
            // `extend (a, b) = f(...)` is not supported; take the first name.
            let (c, ty) = self.compile(&ne.expr, &view)?;
            let taken: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            let name = Self::expr_name(ne, &taken, &mut counter);
            let data = parallel::eval_column(&c, ty, &view);
            let col = Column { name: name.clone(), ty, data };
            match t.index_of(&name) {
                Some(i) => {
                    // New columns sit at the same positions in `view` and `t`.
                    if i >= n_input {
                        view.columns[i] = col.clone();
                    }
                    t.columns[i] = col
                }
                None => {
                    view.columns.push(col.clone());
                    t.columns.push(col)
                }
            }
        }
        Ok(t)
    }

    // -----------------------------------------------------------------------------------------
    // summarize
    // -----------------------------------------------------------------------------------------

    /// Compiles one aggregate call; returns the spec and its output (name, type) columns.
    fn compile_agg(
        &self,
        ne: &NamedExpr,
        input: &Table,
        by_cols: &[usize],
        taken: &mut Vec<String>,
    ) -> Result<(AggSpec, Vec<(String, Type)>)> {
        let ExprKind::Call { name, args } = &ne.expr.kind else {
            return Err(EvalError::Invalid("summarize expects aggregate function calls".into()));
        };
        let (kind, prefix) = AggKind::lookup(&name.name)
            .ok_or_else(|| EvalError::Invalid(format!("`{}` is not an aggregate function", name.name)))?;
        // Kusto names an aggregate after its argument only when that is a column (or a path
        // into one): `sum(x)` → `sum_x`, but `countif(not(b))` → `countif_`.
        let arg_name = args.first().and_then(agg_arg_name).unwrap_or_default();
        let mut spec = AggSpec {
            kind,
            value: None,
            value_ty: None,
            pred: None,
            extra_cols: vec![],
            percents: vec![],
            limit: 1_048_576,
        };
        let mut outs: Vec<(String, Type)> = Vec::new();
        let value_arg = |i: usize| -> Result<Option<(CExpr, Type)>> {
            match args.get(i) {
                Some(a) if !matches!(a.kind, ExprKind::Star) => Ok(Some(self.compile(a, input)?)),
                _ => Ok(None),
            }
        };
        use AggKind::*;
        match kind {
            Count => {}
            CountIf => spec.pred = value_arg(0)?.map(|c| c.0),
            DCountIf | SumIf | AvgIf | MinIf | MaxIf | MakeSetIf | MakeListIf | MakeBagIf | TakeAnyIf => {
                if let Some((c, t)) = value_arg(0)? {
                    spec.value = Some(c);
                    spec.value_ty = Some(t);
                }
                spec.pred = value_arg(1)?.map(|c| c.0);
                if matches!(kind, MakeSetIf | MakeListIf)
                    && let Some(a) = args.get(2)
                {
                    spec.limit = self.const_eval(a)?.as_i64().unwrap_or(1 << 20).max(0) as usize;
                }
            }
            _ => {
                if let Some((c, t)) = value_arg(0)? {
                    spec.value = Some(c);
                    spec.value_ty = Some(t);
                }
                if matches!(kind, MakeSet | MakeList)
                    && let Some(a) = args.get(1)
                {
                    spec.limit = self.const_eval(a)?.as_i64().unwrap_or(1 << 20).max(0) as usize;
                }
            }
        }
        let ty = kind.result_type(spec.value_ty);
        let default_name = match kind {
            TakeAny | TakeAnyIf if prefix.is_empty() => arg_name.clone(),
            Count if name.name == "count" => "count_".to_string(),
            _ => format!("{prefix}_{arg_name}"),
        };
        match kind {
            ArgMax | ArgMin => {
                let first = ne
                    .names
                    .first()
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| if arg_name.is_empty() { default_name.clone() } else { arg_name.clone() });
                let n = unique_name(&first, taken);
                taken.push(n.clone());
                outs.push((n, ty));
                let star = args.iter().skip(1).any(|a| matches!(a.kind, ExprKind::Star));
                let cols: Vec<usize> = if star {
                    (0..input.columns.len())
                        .filter(|i| !by_cols.contains(i) && Some(&input.columns[*i].name) != Some(&arg_name))
                        .collect()
                } else {
                    let mut v = Vec::new();
                    for a in &args[1..] {
                        let n = a.derived_name().ok_or_else(|| {
                            EvalError::Invalid("arg_max/arg_min extra arguments must be columns".into())
                        })?;
                        v.push(input.index_of(&n).ok_or(EvalError::UnknownName(n))?);
                    }
                    v
                };
                for (k, &c) in cols.iter().enumerate() {
                    let want =
                        ne.names.get(k + 1).map(|n| n.name.clone()).unwrap_or_else(|| input.columns[c].name.clone());
                    let n = unique_name(&want, taken);
                    taken.push(n.clone());
                    outs.push((n, input.columns[c].ty));
                }
                spec.extra_cols = cols;
            }
            Percentile => {
                for a in &args[1..] {
                    spec.percents.push(self.const_eval(a)?.as_f64().unwrap_or(50.0));
                }
                for (k, p) in spec.percents.clone().iter().enumerate() {
                    let want = match ne.names.get(k) {
                        Some(n) => n.name.clone(),
                        None => format!("percentile_{arg_name}_{}", value::format_real(*p).replace('.', "_")),
                    };
                    let n = unique_name(&want, taken);
                    taken.push(n.clone());
                    outs.push((n, ty));
                }
            }
            _ => {
                let want = ne.names.first().map(|n| n.name.clone()).unwrap_or(default_name);
                let n = unique_name(&want, taken);
                taken.push(n.clone());
                outs.push((n, ty));
            }
        }
        Ok((spec, outs))
    }

    /// `summarize` whose items are all aggregate calls (see `summarize_expr` for the rest).
    pub(super) fn summarize_calls(&self, input: &Table, aggs: &[NamedExpr], by: &[NamedExpr]) -> Result<Table> {
        // Group keys.
        let mut key_exprs = Vec::new();
        let mut taken: Vec<String> = Vec::new();
        let mut by_cols = Vec::new();
        let mut counter = 0;
        for ne in by {
            let (c, ty) = self.compile(&ne.expr, input)?;
            if let CExpr::Col(i) = c {
                by_cols.push(i);
            }
            let name = match ne.names.first() {
                Some(n) => n.name.clone(),
                None => match dig_name(&ne.expr) {
                    Some(n) => n,
                    None => loop {
                        counter += 1;
                        let n = format!("Column{counter}");
                        if !taken.contains(&n) {
                            break n;
                        }
                    },
                },
            };
            let name = unique_name(&name, &taken);
            taken.push(name.clone());
            key_exprs.push((c, ty, name));
        }
        let mut specs = Vec::new();
        let mut outs = Vec::new();
        for ne in aggs {
            let (spec, o) = self.compile_agg(ne, input, &by_cols, &mut taken)?;
            specs.push(spec);
            outs.push(o);
        }
        if let Some(t) = self.summarize_typed(input, &key_exprs, &specs, &outs) {
            return Ok(t);
        }
        // Hash aggregation: group id per distinct key, states per group.
        let n = input.num_rows();
        let mut groups: HashMap<Vec<Value>, usize> = HashMap::new();
        let mut keys: Vec<Vec<Value>> = Vec::new();
        let mut states: Vec<Vec<super::aggregate::AggState>> = Vec::new();
        for row in 0..n {
            let key: Vec<Value> = key_exprs.iter().map(|(c, ty, _)| normalize_key(c.eval(input, row), *ty)).collect();
            let g = match groups.get(&key) {
                Some(g) => *g,
                None => {
                    let g = keys.len();
                    groups.insert(key.clone(), g);
                    keys.push(key);
                    states.push(specs.iter().map(AggSpec::new_state).collect());
                    g
                }
            };
            for (s, spec) in states[g].iter_mut().zip(&specs) {
                spec.update(s, input, row);
            }
        }
        if key_exprs.is_empty() && keys.is_empty() {
            keys.push(vec![]);
            states.push(specs.iter().map(AggSpec::new_state).collect());
        }
        // Build output columns.
        let mut cols: Vec<Column> = key_exprs
            .iter()
            .map(|(_, ty, name)| Column {
                name: name.clone(),
                ty: *ty,
                data: Arc::new(ColumnData::new(*ty, keys.len())),
            })
            .collect();
        for o in &outs {
            for (name, ty) in o {
                cols.push(Column { name: name.clone(), ty: *ty, data: Arc::new(ColumnData::new(*ty, keys.len())) });
            }
        }
        for (key, st) in keys.into_iter().zip(states) {
            let mut ci = 0;
            for v in key {
                let ty = cols[ci].ty;
                cols[ci].data_mut().push(ty, &v);
                ci += 1;
            }
            for (spec, s) in specs.iter().zip(st) {
                for v in spec.finish(s, input) {
                    let ty = cols[ci].ty;
                    cols[ci].data_mut().push(ty, &v);
                    ci += 1;
                }
            }
        }
        Ok(Table::new(cols))
    }

    /// `summarize` over typed group ids ([`keys::group_ids`]): no per-row key allocation;
    /// `count()` and `dcount(column)` are computed from ids directly, other aggregates update
    /// their state per row. `None` when a key is not of a keyable type (generic path then).
    fn summarize_typed(
        &self,
        input: &Table,
        key_exprs: &[(CExpr, Type, String)],
        specs: &[AggSpec],
        outs: &[Vec<(String, Type)>],
    ) -> Option<Table> {
        let keyable_ty = |t: Type| {
            matches!(
                t,
                Type::Bool | Type::Int | Type::Long | Type::String | Type::DateTime | Type::TimeSpan | Type::Guid
            )
        };
        if !key_exprs.iter().all(|(_, ty, _)| keyable_ty(*ty)) {
            return None;
        }
        let n = input.num_rows();
        let key_cols: Vec<Arc<ColumnData>> =
            key_exprs.iter().map(|(c, ty, _)| parallel::eval_column(c, *ty, input)).collect();
        let refs: Vec<&ColumnData> = key_cols.iter().map(|c| &**c).collect();
        let (gids, mut count, first) = parallel::group_ids(&refs, n)?;
        if key_exprs.is_empty() && count == 0 {
            // `summarize count()` over no rows still yields one row.
            count = 1;
        }
        // Per aggregate: a value computed from ids, or generic per-group states.
        enum Acc {
            Counts(Vec<i64>),
            States(Vec<super::aggregate::AggState>),
        }
        let mut accs: Vec<Acc> = Vec::with_capacity(specs.len());
        for spec in specs {
            let acc = match (spec.kind, &spec.value, &spec.pred) {
                (AggKind::Count, _, None) => Acc::Counts(parallel::count_by_group(&gids, count)),
                (AggKind::DCount, Some(CExpr::Col(i)), None) if keys::keyable(&input.columns[*i].data) => {
                    Acc::Counts(distinct_counts(&input.columns[*i].data, &gids, count)?)
                }
                _ => Acc::States(Vec::new()),
            };
            accs.push(acc);
        }
        for (spec, acc) in specs.iter().zip(accs.iter_mut()) {
            if let Acc::States(states) = acc {
                *states = spec.states_by_group(input, &gids, count);
            }
        }
        let mut cols: Vec<Column> = key_exprs
            .iter()
            .zip(&key_cols)
            .map(|((_, ty, name), data)| Column { name: name.clone(), ty: *ty, data: Arc::new(data.gather(&first)) })
            .collect();
        for o in outs {
            for (name, ty) in o {
                cols.push(Column { name: name.clone(), ty: *ty, data: Arc::new(ColumnData::new(*ty, count)) });
            }
        }
        let mut ci0 = key_exprs.len();
        for ((spec, acc), o) in specs.iter().zip(accs).zip(outs) {
            match acc {
                Acc::Counts(c) => {
                    let ty = cols[ci0].ty;
                    let col = cols[ci0].data_mut();
                    for v in c {
                        col.push(ty, &Value::Long(v));
                    }
                }
                Acc::States(states) => {
                    for st in states {
                        for (k, v) in spec.finish(st, input).into_iter().enumerate().take(o.len()) {
                            let ty = cols[ci0 + k].ty;
                            cols[ci0 + k].data_mut().push(ty, &v);
                        }
                    }
                }
            }
            ci0 += o.len();
        }
        Some(Table::new(cols))
    }

    // -----------------------------------------------------------------------------------------
    // sort / top
    // -----------------------------------------------------------------------------------------

    pub(super) fn sort(&self, input: Table, keys: &[ast::SortKey], limit: Option<usize>) -> Result<Table> {
        let mut cols = Vec::new();
        for k in keys {
            let (c, ty) = self.compile(&k.expr, &input)?;
            let data = expr::eval_column(&c, ty, &input);
            cols.push((Column { name: String::new(), ty, data }, k.descending, k.effective_nulls_first()));
        }
        let mut idx: Vec<usize> = (0..input.num_rows()).collect();
        let cmp = |a: &usize, b: &usize| {
            for (col, desc, nulls_first) in &cols {
                let (x, y) = (col.get(*a), col.get(*b));
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if *nulls_first {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if *nulls_first {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    _ => {
                        let o = value::compare_values(&x, &y);
                        if *desc { o.reverse() } else { o }
                    }
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        };
        match limit {
            Some(n) if n < idx.len() => {
                if n == 0 {
                    idx.clear();
                } else {
                    idx.select_nth_unstable_by(n - 1, cmp);
                    idx.truncate(n);
                    idx.sort_by(cmp);
                }
            }
            _ => idx.sort_by(cmp),
        }
        Ok(input.gather(&idx))
    }

    // -----------------------------------------------------------------------------------------
    // join / lookup
    // -----------------------------------------------------------------------------------------

    /// Hash join. Keys of one storage kind on both sides go through typed ids
    /// ([`keys::join_ids`]), hashing only the smaller side's keys and probing with the other;
    /// other keys use generic values. Output order is the same either way: left rows in order,
    /// each followed by its right matches in order.
    pub(super) fn join(
        &self,
        left: Table,
        right: Table,
        kind: JoinKind,
        on: &[ast::JoinKey],
        lookup: bool,
        keep: Option<&HashSet<String>>,
    ) -> Result<Table> {
        let mut lk = Vec::new();
        let mut rk = Vec::new();
        for k in on {
            let strip = |s: &str| s.trim_start_matches("$left.").trim_start_matches("$right.").to_string();
            let (l, r) = (strip(&k.left.name), strip(&k.right.name));
            lk.push(
                left.index_of(&l).ok_or_else(|| EvalError::UnknownName(format!("{l} (join key on the left side)")))?,
            );
            rk.push(
                right
                    .index_of(&r)
                    .ok_or_else(|| EvalError::UnknownName(format!("{r} (join key on the right side)")))?,
            );
        }
        let rn = right.num_rows();
        let (left_rows, lids, buckets) = match typed_join_plan(&left, &right, &lk, &rk, kind) {
            Some(plan) => plan,
            None => generic_join_plan(&left, &right, &lk, &rk, kind),
        };
        let max = self.ctx.max_rows.unwrap_or(usize::MAX);
        if matches!(kind, JoinKind::Inner | JoinKind::InnerUnique) {
            let (li, ri) = inner_pairs(&left_rows, &lids, &buckets, max)?;
            let out = join_output(&left, &right, &rk, lookup, keep, |c, is_left| {
                parallel::gather_column(c, if is_left { &li } else { &ri })
            });
            parallel::drop_table(left);
            parallel::drop_table(right);
            return Ok(out);
        }
        let mut li: Vec<Option<usize>> = Vec::new();
        let mut ri: Vec<Option<usize>> = Vec::new();
        let mut right_matched = vec![false; rn];
        for (&l, id) in left_rows.iter().zip(&lids) {
            let matches = id.map(|k| buckets.get(k)).filter(|m| !m.is_empty());
            match kind {
                JoinKind::LeftSemi => {
                    if matches.is_some() {
                        li.push(Some(l));
                    }
                }
                JoinKind::LeftAnti => {
                    if matches.is_none() {
                        li.push(Some(l));
                    }
                }
                _ => {
                    if let Some(ms) = matches {
                        for &r in ms {
                            right_matched[r] = true;
                        }
                        if matches!(kind, JoinKind::RightSemi | JoinKind::RightAnti) {
                            continue;
                        }
                        li.extend(std::iter::repeat_n(Some(l), ms.len()));
                        ri.extend(ms.iter().map(|&r| Some(r)));
                        if li.len() > max {
                            return Err(EvalError::TooManyRows(max));
                        }
                    } else if matches!(kind, JoinKind::LeftOuter | JoinKind::FullOuter) {
                        li.push(Some(l));
                        ri.push(None);
                    }
                }
            }
        }
        match kind {
            JoinKind::LeftSemi | JoinKind::LeftAnti => {
                let idx: Vec<usize> = li.into_iter().flatten().collect();
                return Ok(gather_kept(&left, &idx, keep));
            }
            JoinKind::RightSemi | JoinKind::RightAnti => {
                let want = kind == JoinKind::RightSemi;
                let idx: Vec<usize> = (0..rn).filter(|&r| right_matched[r] == want).collect();
                return Ok(gather_kept(&right, &idx, keep));
            }
            JoinKind::RightOuter | JoinKind::FullOuter => {
                for (r, m) in right_matched.iter().enumerate() {
                    if !m {
                        li.push(None);
                        ri.push(Some(r));
                    }
                }
            }
            _ => {}
        }
        Ok(join_output(&left, &right, &rk, lookup, keep, |c, is_left| c.gather_opt(if is_left { &li } else { &ri })))
    }
}

/// The joined table: output names are decided over the full schemas (right-side clashes get a
/// suffix), then only the kept columns are copied, each by `gather(column, is_left)`.
fn join_output(
    left: &Table,
    right: &Table,
    rk: &[usize],
    lookup: bool,
    keep: Option<&HashSet<String>>,
    gather: impl Fn(&Column, bool) -> Column,
) -> Table {
    let mut names: Vec<(bool, usize, String)> = Vec::new();
    let mut taken: Vec<String> = left.columns.iter().map(|c| c.name.clone()).collect();
    names.extend(left.columns.iter().enumerate().map(|(i, c)| (true, i, c.name.clone())));
    for (i, c) in right.columns.iter().enumerate() {
        if lookup && rk.contains(&i) && left.index_of(&c.name).is_some() {
            // lookup: the key column comes from the left only.
            continue;
        }
        let name = unique_name(&c.name, &taken);
        taken.push(name.clone());
        names.push((false, i, name));
    }
    let mut chosen: Vec<&(bool, usize, String)> =
        names.iter().filter(|(_, _, n)| keep.is_none_or(|k| k.contains(n))).collect();
    if chosen.is_empty() {
        // Keep one column so the row count survives (`| count`).
        chosen.extend(names.first());
    }
    let cols = chosen
        .into_iter()
        .map(|(is_left, i, name)| {
            let src = if *is_left { &left.columns[*i] } else { &right.columns[*i] };
            let mut col = gather(src, *is_left);
            col.name = name.clone();
            col
        })
        .collect();
    Table::new(cols)
}

/// Row pairs of an inner join, in the serial order (left rows in order, each followed by its
/// right matches in order). Each left row's output offset is known from its bucket size, so
/// the left rows are cut into pieces of about equal output and every core fills its piece of
/// both index vectors in place.
fn inner_pairs(
    left_rows: &[usize],
    lids: &[Option<u32>],
    buckets: &keys::Buckets,
    max: usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let sizes: Vec<usize> = lids.iter().map(|id| id.map_or(0, |k| buckets.get(k).len())).collect();
    let total: usize = sizes.iter().sum();
    if total > max {
        return Err(EvalError::TooManyRows(max));
    }
    let mut li = vec![0usize; total];
    let mut ri = vec![0usize; total];
    // Pieces of left rows with about `total / pieces` output rows each.
    let pieces = parallel::partitions(total).len();
    let mut tasks = Vec::with_capacity(pieces);
    let (mut lrest, mut rrest): (&mut [usize], &mut [usize]) = (&mut li, &mut ri);
    let mut from = 0;
    let mut acc = 0;
    let target = total.div_ceil(pieces.max(1)).max(1);
    for (k, &sz) in sizes.iter().enumerate() {
        acc += sz;
        if acc >= target || k + 1 == sizes.len() {
            let (lh, lt) = std::mem::take(&mut lrest).split_at_mut(acc);
            let (rh, rt) = std::mem::take(&mut rrest).split_at_mut(acc);
            tasks.push((from..k + 1, lh, rh));
            (lrest, rrest) = (lt, rt);
            from = k + 1;
            acc = 0;
        }
    }
    parallel::run(tasks, |(range, lo, ro)| {
        let mut at = 0;
        for k in range {
            let Some(id) = lids[k] else { continue };
            let ms = buckets.get(id);
            lo[at..at + ms.len()].fill(left_rows[k]);
            ro[at..at + ms.len()].copy_from_slice(ms);
            at += ms.len();
        }
    });
    Ok((li, ri))
}

impl Evaluator<'_> {
    // -----------------------------------------------------------------------------------------
    // union
    // -----------------------------------------------------------------------------------------

    pub(super) fn union(&self, input: Option<Table>, u: &ast::UnionOp) -> Result<Table> {
        let mut parts: Vec<(String, Table)> = Vec::new();
        let mut arg = 0;
        if let Some(t) = input {
            parts.push(("union_arg0".to_string(), t));
            arg = 1;
        }
        for t in &u.tables {
            let label = match &t.source.kind {
                SourceKind::Name(id) if t.ops.is_empty() && !self.env.tables.contains_key(&id.name) => id.name.clone(),
                _ => format!("union_arg{arg}"),
            };
            // Wildcard table names expand to every matching table.
            if let SourceKind::Name(id) = &t.source.kind
                && id.name.contains('*')
            {
                let mut names: Vec<&String> = self.ctx.tables.keys().filter(|n| ast::glob_match(&id.name, n)).collect();
                names.sort();
                for n in names {
                    let mut tb = self.ctx.tables[n].clone();
                    self.pipeline(&t.ops, &mut tb)?;
                    parts.push((n.clone(), tb));
                }
                arg += 1;
                continue;
            }
            let isfuzzy = u.params.iter().any(|p| p.name.eq_ignore_ascii_case("isfuzzy"));
            match self.tabular(t, None) {
                Ok(tb) => parts.push((label, tb)),
                Err(EvalError::UnknownTable(_)) if isfuzzy => {}
                Err(e) => return Err(e),
            }
            arg += 1;
        }
        let inner = u.is_inner();
        // Output schema: union of columns by name (and type), in first-seen order.
        let mut schema: Vec<(String, Type)> = Vec::new();
        for (_, t) in &parts {
            for c in &t.columns {
                match schema.iter_mut().find(|(n, _)| *n == c.name) {
                    Some(slot) if slot.1 == c.ty => {}
                    Some(slot) => {
                        if slot.1.is_numeric() && c.ty.is_numeric() {
                            slot.1 = functions::common_type(&[slot.1, c.ty]);
                        } else {
                            slot.1 = Type::Dynamic;
                        }
                    }
                    None => schema.push((c.name.clone(), c.ty)),
                }
            }
        }
        if inner {
            schema.retain(|(n, _)| parts.iter().all(|(_, t)| t.index_of(n).is_some()));
        }
        let mut cols: Vec<Column> = schema.iter().map(|(n, t)| Column::new(n.clone(), *t)).collect();
        let mut source_col = u.withsource().map(|n| Column::new(n, Type::String));
        for (label, t) in &parts {
            let rows = t.num_rows();
            for col in cols.iter_mut() {
                match t.column(&col.name) {
                    Some(src) => {
                        let ty = col.ty;
                        col.data_mut().extend_from(ty, src);
                    }
                    None => {
                        for _ in 0..rows {
                            col.data_mut().push_null();
                        }
                    }
                }
            }
            if let Some(sc) = source_col.as_mut() {
                for _ in 0..rows {
                    sc.data_mut().push(Type::String, &Value::str(label));
                }
            }
        }
        if let Some(sc) = source_col {
            cols.insert(0, sc);
        }
        Ok(Table::new(cols))
    }

    // -----------------------------------------------------------------------------------------
    // mv-expand / mv-apply
    // -----------------------------------------------------------------------------------------

    fn mv_expand(
        &self,
        input: Table,
        items: &[ast::MvExpandItem],
        itemindex: Option<&ast::Ident>,
        limit: Option<&Expr>,
    ) -> Result<Table> {
        let limit = match limit {
            Some(l) => self.const_eval(l)?.as_i64().unwrap_or(i64::MAX).max(0) as usize,
            None => usize::MAX,
        };
        let mut compiled = Vec::new();
        for it in items {
            let (expr, _) = self.compile(&it.expr, &input)?;
            let name = it
                .name
                .as_ref()
                .map(|n| n.name.clone())
                .or_else(|| it.expr.derived_name())
                .unwrap_or_else(|| "Column1".into());
            let ty = it.to_type.map(type_of).unwrap_or(Type::Dynamic);
            compiled.push(super::expand::Item { expr, name, ty });
        }
        let max = self.ctx.max_rows.unwrap_or(usize::MAX);
        super::expand::mv_expand(&input, &compiled, itemindex.map(|i| i.name.as_str()), limit, max)
    }

    fn mv_apply(&self, input: Table, m: &ast::MvApplyOp) -> Result<Table> {
        let mut results: Vec<Table> = Vec::new();
        for row in 0..input.num_rows() {
            let one = input.gather(&[row]);
            let mut expanded = self.mv_expand(one.clone(), &m.items, m.with_itemindex.as_ref(), m.limit.as_ref())?;
            self.pipeline(&m.subquery, &mut expanded)?;
            // Columns of the outer row the subquery dropped (e.g. by summarize) come back.
            let n = expanded.num_rows();
            let mut cols: Vec<Column> = one
                .columns
                .iter()
                .filter(|c| expanded.index_of(&c.name).is_none())
                .map(|c| Column::from_values(c.name.clone(), c.ty, &vec![c.get(0); n]))
                .collect();
            cols.extend(expanded.columns);
            results.push(Table::new(cols));
        }
        if results.is_empty() {
            let mut t = self.mv_expand(input, &m.items, m.with_itemindex.as_ref(), m.limit.as_ref())?;
            self.pipeline(&m.subquery, &mut t)?;
            return Ok(t);
        }
        let u = ast::UnionOp { params: vec![], tables: vec![] };
        let _ = u;
        Ok(concat_tables(results))
    }

    // -----------------------------------------------------------------------------------------
    // parse
    // -----------------------------------------------------------------------------------------

    fn parse(&self, input: Table, p: &ast::ParseOp, filter: bool) -> Result<Table> {
        let (src, _) = self.compile(&p.expr, &input)?;
        let mut pattern = String::from("^");
        let mut cols: Vec<(String, Type)> = Vec::new();
        let parts = &p.pattern;
        let lazy = p.kind != ast::ParseKind::Regex;
        for (i, part) in parts.iter().enumerate() {
            match part {
                ast::ParsePart::Literal(s) => {
                    if p.kind == ast::ParseKind::Regex {
                        pattern.push_str(s);
                    } else {
                        pattern.push_str(&regex::escape(s));
                    }
                }
                ast::ParsePart::Wildcard => pattern.push_str(if lazy { "(?:.*?)" } else { "(?:.*)" }),
                ast::ParsePart::Column { name, ty } => {
                    let ty = ty.map(type_of).unwrap_or(Type::String);
                    let last = i + 1 == parts.len();
                    let group = match (ty, p.kind) {
                        (Type::Long | Type::Int, ast::ParseKind::Simple) if !last => r"(-?\d+)",
                        (Type::Real | Type::Decimal, ast::ParseKind::Simple) if !last => {
                            r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
                        }
                        (_, ast::ParseKind::Regex) => match ty {
                            Type::Long | Type::Int => r"(-?\d+)",
                            Type::Real | Type::Decimal => r"(-?\d+(?:\.\d+)?)",
                            Type::Guid => r"([0-9a-fA-F-]{36})",
                            _ => "(.*)",
                        },
                        _ if last => "(.*)",
                        _ => "(.*?)",
                    };
                    pattern.push_str(group);
                    cols.push((name.name.clone(), ty));
                }
            }
        }
        if lazy {
            pattern.push('$');
        }
        let pat = match (&p.flags, p.kind) {
            (Some(f), ast::ParseKind::Regex) if !f.is_empty() => format!("(?{f}){pattern}"),
            _ => format!("(?s){pattern}"),
        };
        let re =
            functions::regex_cached(&pat).ok_or_else(|| EvalError::Invalid(format!("invalid parse pattern: {pat}")))?;
        let n = input.num_rows();
        let mut vals: Vec<Vec<Value>> = vec![Vec::with_capacity(n); cols.len()];
        let mut keep = Vec::new();
        for row in 0..n {
            let text = src.eval(&input, row).to_kusto_string();
            match re.captures(&text) {
                Some(caps) => {
                    let mut ok = true;
                    let mut converted = Vec::with_capacity(cols.len());
                    for (k, (_, ty)) in cols.iter().enumerate() {
                        let s = caps.get(k + 1).map_or("", |m| m.as_str());
                        let v = if *ty == Type::String { Value::str(s) } else { value::convert(&Value::str(s), *ty) };
                        if v.is_null() && *ty != Type::String {
                            ok = false;
                        }
                        converted.push(v);
                    }
                    if filter && !ok {
                        continue;
                    }
                    if !ok && p.kind == ast::ParseKind::Simple {
                        for (k, (_, ty)) in cols.iter().enumerate() {
                            vals[k].push(if *ty == Type::String { Value::str("") } else { Value::Null });
                        }
                    } else {
                        for (k, v) in converted.into_iter().enumerate() {
                            vals[k].push(v);
                        }
                    }
                    keep.push(row);
                }
                None => {
                    if filter {
                        continue;
                    }
                    for (k, (_, ty)) in cols.iter().enumerate() {
                        vals[k].push(if *ty == Type::String { Value::str("") } else { Value::Null });
                    }
                    keep.push(row);
                }
            }
        }
        let mut out = if keep.len() == n { input } else { input.gather(&keep) };
        for ((name, ty), v) in cols.into_iter().zip(vals) {
            let col = Column::from_values(name.clone(), ty, &v);
            match out.index_of(&name) {
                Some(i) => out.columns[i] = col,
                None => out.columns.push(col),
            }
        }
        Ok(out)
    }

    fn parse_kv(&self, input: Table, p: &ast::ParseKvOp) -> Result<Table> {
        let (src, _) = self.compile(&p.expr, &input)?;
        let opt = |name: &str| -> Option<String> {
            p.options
                .iter()
                .find(|o| o.name == name)
                .and_then(|o| self.const_eval(&o.value).ok())
                .map(|v| v.to_kusto_string())
        };
        let pair = opt("pair_delimiter").unwrap_or_else(|| " ".into());
        let kv = opt("kv_delimiter").unwrap_or_else(|| "=".into());
        let n = input.num_rows();
        let mut vals: Vec<Vec<Value>> = vec![Vec::with_capacity(n); p.columns.len()];
        for row in 0..n {
            let text = src.eval(&input, row).to_kusto_string();
            let pairs: Vec<(String, String)> = text
                .split(pair.as_str())
                .filter_map(|s| s.split_once(kv.as_str()).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
                .collect();
            for (k, c) in p.columns.iter().enumerate() {
                let ty = type_of(c.ty);
                let found = pairs.iter().find(|(key, _)| *key == c.name.name).map(|(_, v)| v.clone());
                vals[k].push(match found {
                    Some(v) => value::convert(&Value::string(v), ty),
                    None => {
                        if ty == Type::String {
                            Value::str("")
                        } else {
                            Value::Null
                        }
                    }
                });
            }
        }
        let mut out = input;
        for (c, v) in p.columns.iter().zip(vals) {
            let col = Column::from_values(c.name.name.clone(), type_of(c.ty), &v);
            match out.index_of(&c.name.name) {
                Some(i) => out.columns[i] = col,
                None => out.columns.push(col),
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // evaluate, search, make-series, top-nested
    // -----------------------------------------------------------------------------------------

    fn evaluate(&self, input: Table, e: &ast::EvaluateOp) -> Result<Table> {
        match e.plugin.name.as_str() {
            "bag_unpack" => {
                let col = e
                    .args
                    .first()
                    .and_then(|a| a.derived_name())
                    .ok_or_else(|| EvalError::Invalid("bag_unpack needs a column".into()))?;
                let prefix = e
                    .args
                    .get(1)
                    .map(|a| self.const_eval(a))
                    .transpose()?
                    .map(|v| v.to_kusto_string())
                    .unwrap_or_default();
                let ci = input.index_of(&col).ok_or(EvalError::UnknownName(col.clone()))?;
                let n = input.num_rows();
                let mut keys: Vec<String> = Vec::new();
                let bags: Vec<Dyn> = (0..n).map(|r| input.columns[ci].get(r).to_dyn()).collect();
                for b in &bags {
                    if let Some(o) = b.as_object() {
                        for (k, _) in o {
                            if !keys.iter().any(|x| **x == **k) {
                                keys.push(k.to_string());
                            }
                        }
                    }
                }
                let mut out: Vec<Column> =
                    input.columns.iter().enumerate().filter(|(i, _)| *i != ci).map(|(_, c)| c.clone()).collect();
                for k in keys {
                    let vals: Vec<Dyn> = bags.iter().map(|b| b.get(&k).cloned().unwrap_or(Dyn::Null)).collect();
                    let ty = infer_dyn_column(&vals);
                    let values: Vec<Value> = vals
                        .iter()
                        .map(
                            |d| if ty == Type::Dynamic { Value::Dynamic(d.clone()) } else { Value::from_dyn_as(d, ty) },
                        )
                        .collect();
                    let name = format!("{prefix}{k}");
                    let col = Column::from_values(name.clone(), ty, &values);
                    match out.iter().position(|c| c.name == name) {
                        Some(i) => out[i] = col,
                        None => out.push(col),
                    }
                }
                Ok(Table::new(out))
            }
            other => Err(EvalError::Unsupported(format!("evaluate {other}() is not supported by this engine"))),
        }
    }

    fn search_tables(&self, tables: Vec<(String, Table)>, s: &ast::SearchOp) -> Result<Table> {
        let cs = s.params.iter().any(|p| matches!(&p.value.kind, ExprKind::Name(id) if id.name == "case_sensitive"));
        let mut parts = Vec::new();
        for (name, t) in tables {
            let idx: Vec<usize> =
                (0..t.num_rows()).filter(|&r| self.search_pred(&s.predicate, &t, r, cs).unwrap_or(false)).collect();
            let mut out = t.gather(&idx);
            out.columns.insert(0, Column::from_values("$table", Type::String, &vec![Value::str(&name); idx.len()]));
            parts.push(out);
        }
        Ok(concat_tables(parts))
    }

    /// `search` predicates: bare strings match any column (term search); other expressions
    /// are ordinary predicates.
    fn search_pred(&self, e: &Expr, t: &Table, row: usize, cs: bool) -> Result<bool> {
        match &e.kind {
            ExprKind::Call { name, args } if name.name == "not" && args.len() == 1 => {
                Ok(!self.search_pred(&args[0], t, row, cs)?)
            }
            ExprKind::Literal(ast::Literal::String(s)) if s.contains('*') => {
                let pat = format!(
                    "{}(?:^|[^[:alnum:]]){}",
                    if cs { "" } else { "(?i)" },
                    regex::escape(s).replace("\\*", "[[:alnum:]]*")
                );
                let re =
                    functions::regex_cached(&pat).ok_or_else(|| EvalError::Invalid("bad search pattern".into()))?;
                Ok(t.columns.iter().any(|c| re.is_match(&c.get(row).to_kusto_string())))
            }
            ExprKind::Literal(ast::Literal::String(s)) => Ok(t.columns.iter().any(|c| {
                let text = c.get(row).to_kusto_string();
                if cs {
                    functions::has_term(&text, s, true, functions::TermMatch::Whole)
                        || text.contains(s.as_str()) && text == *s
                } else {
                    functions::has_term(&text, s, false, functions::TermMatch::Whole)
                }
            })),
            ExprKind::Binary { op: ast::BinOp::And, left, right } => {
                Ok(self.search_pred(left, t, row, cs)? && self.search_pred(right, t, row, cs)?)
            }
            ExprKind::Binary { op: ast::BinOp::Or, left, right } => {
                Ok(self.search_pred(left, t, row, cs)? || self.search_pred(right, t, row, cs)?)
            }
            _ => {
                let (c, _) = self.compile(e, t)?;
                Ok(functions::truthy(&c.eval(t, row)))
            }
        }
    }

    fn make_series(&self, input: &Table, m: &ast::MakeSeriesOp) -> Result<Table> {
        let (axis, _) = self.compile(&m.on, input)?;
        let axis_name = dig_name(&m.on).unwrap_or_else(|| "Column1".into());
        let step = self.const_eval(&m.step)?;
        let from = m.from.as_ref().map(|f| self.const_eval(f)).transpose()?;
        let to = m.to.as_ref().map(|f| self.const_eval(f)).transpose()?;
        let num = |v: &Value| -> Option<f64> {
            match v {
                Value::DateTime(t) | Value::TimeSpan(t) => Some(*t as f64),
                v => v.as_f64(),
            }
        };
        let stepf = num(&step)
            .filter(|s| *s > 0.0)
            .ok_or_else(|| EvalError::Invalid("make-series step must be positive".into()))?;
        let axis_vals: Vec<Option<f64>> = (0..input.num_rows()).map(|r| num(&axis.eval(input, r))).collect();
        let lo =
            from.as_ref().and_then(num).or_else(|| axis_vals.iter().flatten().copied().reduce(f64::min)).unwrap_or(0.0);
        let hi = to
            .as_ref()
            .and_then(num)
            .unwrap_or_else(|| axis_vals.iter().flatten().copied().reduce(f64::max).map_or(lo, |m| m + stepf));
        let nbins = (((hi - lo) / stepf).ceil().max(0.0) as usize).min(1_000_000);
        let is_dt =
            matches!(from.as_ref().or(to.as_ref()), Some(Value::DateTime(_))) || matches!(step, Value::TimeSpan(_));
        // Group by the by-keys, then aggregate per bin.
        let mut key_exprs = Vec::new();
        for ne in &m.by {
            let (c, ty) = self.compile(&ne.expr, input)?;
            let name = ne
                .names
                .first()
                .map(|n| n.name.clone())
                .or_else(|| dig_name(&ne.expr))
                .unwrap_or_else(|| "Column1".into());
            key_exprs.push((c, ty, name));
        }
        let mut specs = Vec::new();
        let mut names = Vec::new();
        let mut defaults = Vec::new();
        let mut taken: Vec<String> = key_exprs.iter().map(|k| k.2.clone()).collect();
        for a in &m.aggs {
            let ne = NamedExpr { names: a.name.clone().into_iter().collect(), expr: a.expr.clone(), span: a.span };
            let (spec, outs) = self.compile_agg(&ne, input, &[], &mut taken)?;
            let d = match &a.default {
                Some(d) => self.const_eval(d)?,
                None => Value::Long(0),
            };
            defaults.push(d);
            names.push(outs[0].0.clone());
            specs.push(spec);
        }
        let mut groups: HashMap<Vec<Value>, usize> = HashMap::new();
        let mut keys: Vec<Vec<Value>> = Vec::new();
        let mut states: Vec<Vec<Vec<Option<super::aggregate::AggState>>>> = Vec::new();
        for (row, x) in axis_vals.iter().enumerate() {
            let Some(x) = *x else { continue };
            if x < lo || x >= hi {
                continue;
            }
            let bin = ((x - lo) / stepf).floor() as usize;
            if bin >= nbins {
                continue;
            }
            let key: Vec<Value> = key_exprs.iter().map(|(c, ty, _)| normalize_key(c.eval(input, row), *ty)).collect();
            let g = *groups.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                states.push(vec![vec![None; nbins]; specs.len()]);
                keys.len() - 1
            });
            for (si, spec) in specs.iter().enumerate() {
                let st = states[g][si][bin].get_or_insert_with(|| spec.new_state());
                spec.update(st, input, row);
            }
        }
        let mut cols: Vec<Column> = key_exprs.iter().map(|(_, ty, n)| Column::new(n.clone(), *ty)).collect();
        for n in &names {
            cols.push(Column::new(n.clone(), Type::Dynamic));
        }
        cols.push(Column::new(axis_name, Type::Dynamic));
        let axis_arr: Vec<Dyn> = (0..nbins)
            .map(|b| {
                let v = lo + b as f64 * stepf;
                if is_dt { Value::DateTime(v as i64).to_dyn() } else { Dyn::Real(v) }
            })
            .collect();
        for (key, st) in keys.into_iter().zip(states) {
            let mut ci = 0;
            for v in key {
                let ty = cols[ci].ty;
                cols[ci].data_mut().push(ty, &v);
                ci += 1;
            }
            for (si, spec) in specs.iter().enumerate() {
                let arr: Vec<Dyn> = st[si]
                    .iter()
                    .map(|s| match s {
                        Some(s) => spec.finish(s.clone(), input).into_iter().next().unwrap_or(Value::Null).to_dyn(),
                        None => defaults[si].to_dyn(),
                    })
                    .collect();
                cols[ci].data_mut().push(Type::Dynamic, &Value::Dynamic(Dyn::array(arr)));
                ci += 1;
            }
            cols[ci].data_mut().push(Type::Dynamic, &Value::Dynamic(Dyn::array(axis_arr.clone())));
        }
        Ok(Table::new(cols))
    }
}

/// Concatenates tables with identical or overlapping schemas (columns by name).
pub(crate) fn concat_tables(parts: Vec<Table>) -> Table {
    let mut schema: Vec<(String, Type)> = Vec::new();
    for t in &parts {
        for c in &t.columns {
            if !schema.iter().any(|(n, _)| *n == c.name) {
                schema.push((c.name.clone(), c.ty));
            }
        }
    }
    let mut cols: Vec<Column> = schema.iter().map(|(n, t)| Column::new(n.clone(), *t)).collect();
    for t in &parts {
        let rows = t.num_rows();
        for col in cols.iter_mut() {
            match t.column(&col.name) {
                Some(src) => {
                    let ty = col.ty;
                    col.data_mut().extend_from(ty, src);
                }
                None => (0..rows).for_each(|_| col.data_mut().push_null()),
            }
        }
    }
    Table::new(cols)
}

/// Rows with distinct values across all columns, first occurrence kept.
fn distinct(t: &Table) -> Table {
    let mut seen = std::collections::HashSet::new();
    let idx: Vec<usize> = (0..t.num_rows()).filter(|&r| seen.insert(t.row(r))).collect();
    t.gather(&idx)
}

/// Grouping keys are compared after conversion to the key type (so int 1 and long 1 agree).
fn normalize_key(v: Value, ty: Type) -> Value {
    match (&v, ty) {
        (Value::Int(i), Type::Long) => Value::Long(*i as i64),
        (Value::Dynamic(Dyn::Null), t) if t != Type::Dynamic => Value::Null,
        _ => v,
    }
}

fn infer_dyn_column(vals: &[Dyn]) -> Type {
    let mut ty: Option<Type> = None;
    for v in vals {
        let t = match v {
            Dyn::Null => continue,
            Dyn::Bool(_) => Type::Bool,
            Dyn::Long(_) => Type::Long,
            Dyn::Real(_) => Type::Real,
            Dyn::String(_) => Type::String,
            _ => Type::Dynamic,
        };
        ty = Some(match ty {
            None => t,
            Some(a) if a == t => a,
            _ => Type::Dynamic,
        });
    }
    ty.unwrap_or(Type::Dynamic)
}

fn dotnet_type(t: Type) -> &'static str {
    match t {
        // Kusto stores bools as a signed byte and reports that type.
        Type::Bool => "SByte",
        Type::Int => "Int32",
        Type::Long => "Int64",
        Type::Real => "Double",
        Type::Decimal => "Data.SqlTypes.SqlDecimal",
        Type::String => "String",
        Type::DateTime => "DateTime",
        Type::TimeSpan => "TimeSpan",
        Type::Guid => "Guid",
        Type::Dynamic => "Object",
    }
}

/// `dcount(column)` per group from ids: distinct (group, value) pairs, nulls not counted.
fn distinct_counts(col: &ColumnData, gids: &[u32], groups: usize) -> Option<Vec<i64>> {
    let (vids, nv, _) = parallel::group_ids(&[col], col.len())?;
    let is_null = |r: usize| match col {
        ColumnData::Bool(v) => v[r].is_none(),
        ColumnData::Int(v) => v[r].is_none(),
        ColumnData::Long(v) | ColumnData::DateTime(v) | ColumnData::TimeSpan(v) => v[r].is_none(),
        ColumnData::Guid(v) => v[r].is_none(),
        _ => false,
    };
    Some(parallel::distinct_pairs_by_group(gids, &vids, groups, nv, &is_null))
}

/// Rows `idx` of `t`, copying only the columns in `keep` (all when `None`); at least one
/// column is kept, the cheapest to copy, so that the row count survives.
fn gather_kept(t: &Table, idx: &[usize], keep: Option<&HashSet<String>>) -> Table {
    let Some(keep) = keep else { return parallel::gather_table(t, idx) };
    let mut cols: Vec<Column> =
        t.columns.iter().filter(|c| keep.contains(&c.name)).map(|c| parallel::gather_column(c, idx)).collect();
    if cols.is_empty() {
        let cheapest = t
            .columns
            .iter()
            .find(|c| !matches!(*c.data, ColumnData::String(_) | ColumnData::Dynamic(_)))
            .or_else(|| t.columns.first());
        cols.extend(cheapest.map(|c| parallel::gather_column(c, idx)));
    }
    Table::new(cols)
}

/// Which left rows take part (all, or the first per key for innerunique), each left row's key
/// id, and the right rows per key id.
type JoinPlan = (Vec<usize>, Vec<Option<u32>>, keys::Buckets);

/// [`JoinPlan`] over typed key columns; `None` when the key columns cannot be typed-keyed.
fn typed_join_plan(left: &Table, right: &Table, lk: &[usize], rk: &[usize], kind: JoinKind) -> Option<JoinPlan> {
    let lcols: Vec<&ColumnData> = lk.iter().map(|&c| &*left.columns[c].data).collect();
    let rcols: Vec<&ColumnData> = rk.iter().map(|&c| &*right.columns[c].data).collect();
    if lcols.len() != rcols.len() || !lcols.iter().zip(&rcols).all(|(a, b)| keys::same_kind(a, b)) {
        return None;
    }
    let (ln, rn) = (left.num_rows(), right.num_rows());
    let left_rows: Vec<usize> =
        if kind == JoinKind::InnerUnique { keys::group_ids(&lcols, ln, None)?.2 } else { (0..ln).collect() };
    if left_rows.len() <= rn {
        // Hash the (smaller) left keys, probe with every right row.
        let (bids, pids, count) = keys::join_ids(&lcols, &left_rows, &rcols, rn)?;
        Some((left_rows, bids.into_iter().map(Some).collect(), keys::Buckets::build(&pids, count)))
    } else {
        // Hash the (smaller) right keys, probe with the left rows.
        let all_right: Vec<usize> = (0..rn).collect();
        let (bids, pids, count) = keys::join_ids(&rcols, &all_right, &lcols, ln)?;
        let rids: Vec<Option<u32>> = bids.into_iter().map(Some).collect();
        let lids = left_rows.iter().map(|&l| pids[l]).collect();
        Some((left_rows, lids, keys::Buckets::build(&rids, count)))
    }
}

/// [`JoinPlan`] over generic values (mixed or non-keyable key types).
fn generic_join_plan(left: &Table, right: &Table, lk: &[usize], rk: &[usize], kind: JoinKind) -> JoinPlan {
    let key = |t: &Table, cols: &[usize], row: usize| -> Vec<Value> {
        cols.iter().map(|&c| normalize_key(t.columns[c].get(row), t.columns[c].ty)).collect()
    };
    let mut index: HashMap<Vec<Value>, u32> = HashMap::new();
    let rids: Vec<Option<u32>> = (0..right.num_rows())
        .map(|r| {
            let next = index.len() as u32;
            Some(*index.entry(key(right, rk, r)).or_insert(next))
        })
        .collect();
    let mut left_rows: Vec<usize> = (0..left.num_rows()).collect();
    if kind == JoinKind::InnerUnique {
        let mut seen = HashSet::new();
        left_rows.retain(|&l| seen.insert(key(left, lk, l)));
    }
    let lids = left_rows.iter().map(|&l| index.get(&key(left, lk, l)).copied()).collect();
    (left_rows, lids, keys::Buckets::new(&rids, index.len()))
}
