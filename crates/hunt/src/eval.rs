//! The KQL evaluator: runs a parsed [`Query`] over columnar [`Table`]s.
//!
//! Shape: `let` statements fill an environment (scalars as values, tables eagerly evaluated,
//! functions kept as definitions); the body's source produces a table; each `| operator`
//! turns a table into a new one. Scalar expressions are compiled per operator against the
//! input schema (see [`expr`]) so no per-row name lookups happen.

pub mod aggregate;
mod expand;
pub mod expr;
pub(crate) mod keys;
mod nested;
mod ops;
pub mod parallel;
mod scan;
mod summarize_expr;

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{self, Expr, ExprKind, Literal, Query, TabularExpr};
use crate::functions;
use crate::table::Table;
use crate::value::{self, Dyn, Type, Value};
use expr::CExpr;

/// Why a query could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("unknown table or tabular expression `{0}`")]
    UnknownTable(String),
    #[error("unknown column or name `{0}`")]
    UnknownName(String),
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    #[error("type error: {0}")]
    Type(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error("result exceeds the row limit of {0}")]
    TooManyRows(usize),
    /// The run passed [`Context::deadline`].
    #[error("query execution exceeded the time limit")]
    Timeout,
    /// The query passed one of its resource bounds (call depth, memory; see [`crate::limits`]).
    #[error("{0}")]
    Limit(String),
}

type Result<T> = std::result::Result<T, EvalError>;

/// Inputs of a run: the tables, a fixed `now()` (for reproducible `ago()`), and a row cap.
#[derive(Clone, Debug)]
pub struct Context {
    pub tables: HashMap<String, Table>,
    /// `now()` in ticks since 0001-01-01 (see [`crate::value`]).
    pub now: i64,
    /// Upper bound on rows any operator may produce (guards huge `range` / joins).
    pub max_rows: Option<usize>,
    /// The query text, when known: lets dynamic literals keep their key order.
    pub source: Option<Arc<str>>,
    /// When to give up: checked before each operator and whenever rows are counted, so a
    /// service can bound a query's running time (advanced hunting's per-query timeout).
    pub deadline: Option<std::time::Instant>,
    /// How much the heap may grow during the run (see [`crate::limits`]).
    pub memory: Option<crate::limits::MemoryBudget>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            tables: HashMap::new(),
            now: value::parse_datetime("2024-01-01T00:00:00Z").unwrap_or(0),
            max_rows: Some(50_000_000),
            source: None,
            deadline: None,
            memory: None,
        }
    }
}

impl Context {
    pub fn new(tables: HashMap<String, Table>) -> Context {
        Context { tables, ..Context::default() }
    }
}

/// Runs a query and returns its (first) result table.
pub fn run(query: &Query, ctx: &Context) -> Result<Table> {
    let mut ev = Evaluator { ctx, env: Env::default() };
    ev.check_deadline()?;
    for p in &query.query_parameters {
        if let Some(d) = &p.default {
            let v = ev.const_eval(d)?;
            let ty = match &p.ty {
                ast::ParamType::Scalar(t) => type_of(*t),
                _ => v.ty().unwrap_or(Type::Dynamic),
            };
            ev.env.scalars.insert(p.name.name.clone(), (v, ty));
        }
    }
    ev.bind_lets(&query.lets)?;
    ev.tabular(&query.body, None)
}

/// CLI helper: loads `<Table>.jsonl` / `<Table>.csv` from `data_dir`, runs `query`, and
/// renders the result as a text table, JSON or CSV.
pub fn run_text(
    query: &str,
    data_dir: &std::path::Path,
    format: crate::table::OutputFormat,
) -> std::result::Result<String, String> {
    let tables = crate::table::load_dir(data_dir)?;
    let q = crate::parser::parse_query(query).map_err(|e| format!("parse error: {e:?}"))?;
    let ctx = Context { tables, source: Some(Arc::from(query)), ..Context::default() };
    let t = run(&q, &ctx).map_err(|e| e.to_string())?;
    Ok(t.render(format))
}

/// Name bindings visible to expressions.
#[derive(Clone, Default)]
pub(crate) struct Env {
    pub scalars: HashMap<String, (Value, Type)>,
    pub tables: HashMap<String, Arc<Table>>,
    pub funcs: HashMap<String, Arc<ast::FunctionDef>>,
    /// Function parameters bound to compiled expressions (scalar user-function inlining).
    pub params: HashMap<String, (CExpr, Type)>,
    /// User-function calls this environment is nested in (bounded by `limits::MAX_CALL_DEPTH`).
    pub calls: usize,
}

pub(crate) struct Evaluator<'a> {
    pub ctx: &'a Context,
    pub env: Env,
}

impl<'a> Evaluator<'a> {
    fn bind_lets(&mut self, lets: &[ast::LetStmt]) -> Result<()> {
        for l in lets {
            let name = l.name.name.clone();
            match &l.value {
                ast::LetValue::Scalar(e) => {
                    let empty = Table::default();
                    let (c, ty) = self.compile(e, &empty)?;
                    if let CExpr::Const(v) = &c {
                        self.env.scalars.insert(name, (v.clone(), ty));
                    } else {
                        let v = if empty.num_rows() == 0 { c.eval(&single_row(), 0) } else { c.eval(&empty, 0) };
                        self.env.scalars.insert(name, (v, ty));
                    }
                }
                ast::LetValue::Tabular(t) => {
                    let table = self.tabular(t, None)?;
                    self.env.tables.insert(name, Arc::new(table));
                }
                ast::LetValue::Function(f) => {
                    self.env.funcs.insert(name, Arc::new(f.clone()));
                }
            }
        }
        Ok(())
    }

    /// Evaluates a constant expression (no columns).
    pub fn const_eval(&self, e: &Expr) -> Result<Value> {
        let t = single_row();
        let (c, ty) = self.compile(e, &t)?;
        let v = c.eval(&t, 0);
        Ok(if v.is_null() || v.ty() == Some(ty) { v } else { value::convert(&v, ty) })
    }

    /// Fails with [`EvalError::Timeout`] once the context's deadline has passed.
    pub fn check_deadline(&self) -> Result<()> {
        if let Some(m) = &self.ctx.memory {
            m.check()?;
        }
        match self.ctx.deadline {
            Some(d) if std::time::Instant::now() >= d => Err(EvalError::Timeout),
            _ => Ok(()),
        }
    }

    /// Evaluates a tabular expression; `input` is the piped table for operator-only pipelines.
    pub fn tabular(&self, t: &TabularExpr, input: Option<Table>) -> Result<Table> {
        let mut table = match input {
            Some(i) if matches!(t.source.kind, ast::SourceKind::Name(ref id) if id.name.is_empty()) => i,
            _ => self.source(&t.source)?,
        };
        self.pipeline(&t.ops, &mut table)?;
        Ok(table)
    }

    /// Applies operators in order.
    pub fn pipeline(&self, ops: &[ast::Operator], table: &mut Table) -> Result<()> {
        let mut env_override: Option<Evaluator> = None;
        let mut fused_with_previous = false;
        for (k, op) in ops.iter().enumerate() {
            if std::mem::take(&mut fused_with_previous) {
                continue;
            }
            self.check_deadline()?;
            let ev = env_override.as_ref().unwrap_or(self);
            let input = std::mem::take(table);
            if let Some(out) = ev.project_then_expand(op, ops.get(k + 1), &input)? {
                *table = out;
                fused_with_previous = true;
                continue;
            }
            // Operators that copy rows (where, join) copy only the columns the next operator
            // reads, when that is knowable (projection pushdown).
            let keep = match &op.kind {
                ast::OpKind::Where(_) | ast::OpKind::Join(_) | ast::OpKind::Lookup(_) => {
                    ev.columns_needed_by(&ops[k + 1..])
                }
                _ => None,
            };
            *table = ev.operator(op, input, keep.as_ref())?;
            if let ast::OpKind::As { name, .. } = &op.kind {
                let mut e = Evaluator { ctx: self.ctx, env: ev.env.clone() };
                e.env.tables.insert(name.name.clone(), Arc::new(table.clone()));
                env_override = Some(e);
            }
        }
        Ok(())
    }

    /// The input columns the operators `rest` can read, when that set is certain: `count`
    /// reads none; `summarize` and `project` read the names in their expressions; `where`,
    /// `extend`, `sort`, `top` and `take` read theirs plus what the operators after them read
    /// (so a join followed by a filter copies only the columns the filter and what follows
    /// use). `None` (keep all) for every other operator, at the end of the pipeline, and
    /// whenever an expression could reach columns without naming them (`*`, `pack_all()`,
    /// `column_ifexists()`, user functions, subqueries).
    fn columns_needed_by(&self, rest: &[ast::Operator]) -> Option<std::collections::HashSet<String>> {
        let mut names = std::collections::HashSet::new();
        let (next, after) = rest.split_first()?;
        let exprs: Vec<&Expr> = match &next.kind {
            ast::OpKind::Count => return Some(names),
            ast::OpKind::Summarize { aggs, by, .. } => aggs.iter().chain(by).map(|n| &n.expr).collect(),
            ast::OpKind::Project(items) => items.iter().map(|n| &n.expr).collect(),
            ast::OpKind::Where(e) | ast::OpKind::Take(e) => {
                names = self.columns_needed_by(after)?;
                vec![e]
            }
            // Columns an `extend` defines are counted as read too: a superset is always safe.
            ast::OpKind::Extend(items) => {
                names = self.columns_needed_by(after)?;
                items.iter().map(|n| &n.expr).collect()
            }
            ast::OpKind::Sort(keys) => {
                names = self.columns_needed_by(after)?;
                keys.iter().map(|k| &k.expr).collect()
            }
            ast::OpKind::Top { count, by } => {
                names = self.columns_needed_by(after)?;
                std::iter::once(count).chain(by.iter().map(|k| &k.expr)).collect()
            }
            _ => return None,
        };
        for e in exprs {
            if !self.collect_names(e, &mut names) {
                return None;
            }
        }
        Some(names)
    }

    /// Adds every name `e` mentions; false if `e` may read columns it does not name.
    fn collect_names(&self, e: &Expr, out: &mut std::collections::HashSet<String>) -> bool {
        match &e.kind {
            ExprKind::Literal(_) | ExprKind::TypeOf(_) => true,
            ExprKind::Name(id) => {
                if self.env.funcs.contains_key(&id.name) {
                    return false;
                }
                out.insert(id.name.clone());
                true
            }
            ExprKind::Star | ExprKind::ToScalar(_) | ExprKind::Subquery(_) => false,
            ExprKind::Call { name, args } => {
                if matches!(name.name.as_str(), "pack_all" | "bag_pack_columns" | "column_ifexists")
                    || self.env.funcs.contains_key(&name.name)
                {
                    return false;
                }
                args.iter().all(|a| self.collect_names(a, out))
            }
            ExprKind::Unary { expr, .. } | ExprKind::Member { expr, .. } => self.collect_names(expr, out),
            ExprKind::Binary { left, right, .. } => self.collect_names(left, out) && self.collect_names(right, out),
            ExprKind::InList { expr, list, .. } => {
                self.collect_names(expr, out) && list.iter().all(|a| self.collect_names(a, out))
            }
            ExprKind::Between { expr, low, high, .. } => {
                self.collect_names(expr, out) && self.collect_names(low, out) && self.collect_names(high, out)
            }
            ExprKind::Index { expr, index } => self.collect_names(expr, out) && self.collect_names(index, out),
            ExprKind::NamedArg { value, .. } => self.collect_names(value, out),
            ExprKind::Tuple(items) => items.iter().all(|a| self.collect_names(a, out)),
        }
    }

    /// Looks up a table by name: let bindings first, then the context's tables.
    pub fn lookup_table(&self, name: &str) -> Result<Table> {
        if let Some(t) = self.env.tables.get(name) {
            return Ok(t.as_ref().clone());
        }
        if let Some(t) = self.ctx.tables.get(name) {
            return Ok(t.clone());
        }
        if let Some(f) = self.env.funcs.get(name)
            && f.params.is_empty()
        {
            return self.call_tabular_function(f, &[], None);
        }
        Err(EvalError::UnknownTable(name.to_string()))
    }

    /// Calls a user-defined tabular function with scalar or tabular arguments.
    pub fn call_tabular_function(&self, f: &ast::FunctionDef, args: &[Expr], piped: Option<Table>) -> Result<Table> {
        let mut child = Evaluator { ctx: self.ctx, env: self.env.clone() };
        child.enter_call()?;
        child.env.params.clear();
        let mut args_iter = args.iter();
        for (i, p) in f.params.iter().enumerate() {
            let name = p.name.name.clone();
            if let ast::ParamType::Tabular { .. } = p.ty {
                if i == 0
                    && let Some(t) = &piped
                {
                    child.env.tables.insert(name, Arc::new(t.clone()));
                    continue;
                }
                let arg =
                    args_iter.next().ok_or_else(|| EvalError::Invalid(format!("missing tabular argument `{name}`")))?;
                let table = match &arg.kind {
                    ExprKind::Name(id) => self.lookup_table(&id.name)?,
                    ExprKind::Subquery(t) => self.tabular(t, None)?,
                    _ => return Err(EvalError::Invalid(format!("argument `{name}` must be a table"))),
                };
                child.env.tables.insert(name, Arc::new(table));
            } else {
                let v = match args_iter.next() {
                    Some(a) => self.const_eval(a)?,
                    None => match &p.default {
                        Some(d) => self.const_eval(d)?,
                        None => return Err(EvalError::Invalid(format!("missing argument `{name}`"))),
                    },
                };
                let ty = match &p.ty {
                    ast::ParamType::Scalar(t) => type_of(*t),
                    _ => v.ty().unwrap_or(Type::Dynamic),
                };
                child.env.scalars.insert(name, (value::convert(&v, ty), ty));
            }
        }
        child.bind_lets(&f.lets)?;
        match &f.body {
            ast::FunctionBody::Tabular(t) => child.tabular(t, None),
            ast::FunctionBody::Scalar(e) => {
                let v = child.const_eval(e)?;
                let ty = v.ty().unwrap_or(Type::Dynamic);
                Ok(Table::new(vec![crate::table::Column::from_values("print_0", ty, &[v])]))
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Scalar compilation
    // -----------------------------------------------------------------------------------------

    /// Compiles a scalar expression against `input`'s schema.
    pub fn compile(&self, e: &Expr, input: &Table) -> Result<(CExpr, Type)> {
        let (c, ty) = self.compile_inner(e, input)?;
        Ok((fold(c), ty))
    }

    fn compile_inner(&self, e: &Expr, input: &Table) -> Result<(CExpr, Type)> {
        match &e.kind {
            ExprKind::Literal(l) => Ok(self.literal(l, e.span)),
            ExprKind::Name(id) => self.resolve_name(&id.name, input),
            ExprKind::Star => Err(EvalError::Invalid("`*` is not valid here".into())),
            ExprKind::Unary { op, expr } => {
                let (c, ty) = self.compile(expr, input)?;
                Ok(match op {
                    ast::UnaryOp::Plus => (c, ty),
                    ast::UnaryOp::Neg => (CExpr::Neg(Box::new(c)), if ty == Type::Int { Type::Long } else { ty }),
                })
            }
            ExprKind::Binary { op, left, right } if matches!(left.kind, ExprKind::Star) && op.is_predicate() => {
                // `* has "x"`: true when any column satisfies the predicate.
                let (r, _) = self.compile(right, input)?;
                let negated = format!("{op:?}").starts_with("Not") || *op == ast::BinOp::Ne || *op == ast::BinOp::NeCi;
                let join = if negated { ast::BinOp::And } else { ast::BinOp::Or };
                let mut acc: Option<CExpr> = None;
                for i in 0..input.columns.len() {
                    let term = CExpr::Binary { op: *op, l: Box::new(CExpr::Col(i)), r: Box::new(r.clone()) };
                    acc = Some(match acc {
                        None => term,
                        Some(a) => CExpr::Binary { op: join, l: Box::new(a), r: Box::new(term) },
                    });
                }
                Ok((acc.unwrap_or(CExpr::Const(Value::Bool(false))), Type::Bool))
            }
            ExprKind::Binary { op, left, right } => {
                let (l, lt) = self.compile(left, input)?;
                let (r, rt) = self.compile(right, input)?;
                let ty = functions::binary_type(*op, lt, rt).map_err(EvalError::Type)?;
                Ok((CExpr::Binary { op: *op, l: Box::new(l), r: Box::new(r) }, ty))
            }
            ExprKind::InList { op, expr, list } => {
                let (c, _) = self.compile(expr, input)?;
                let mut items = Vec::new();
                for item in list {
                    match &item.kind {
                        ExprKind::Subquery(t) => items.extend(self.first_column_values(&self.tabular(t, None)?)),
                        ExprKind::Name(id)
                            if input.index_of(&id.name).is_none()
                                && !self.env.scalars.contains_key(&id.name)
                                && (self.env.tables.contains_key(&id.name)
                                    || self.ctx.tables.contains_key(&id.name)) =>
                        {
                            items.extend(self.first_column_values(&self.lookup_table(&id.name)?));
                        }
                        _ => items.push(self.const_eval(item)?),
                    }
                }
                let items = expr::flatten_items(items);
                let set = expr::build_in_set(*op, &items);
                Ok((CExpr::InList { op: *op, e: Box::new(c), items: Arc::new(items), set }, Type::Bool))
            }
            ExprKind::Between { expr, low, high, negated } => {
                let (c, _) = self.compile(expr, input)?;
                let (lo, _) = self.compile(low, input)?;
                let (hi, _) = self.compile(high, input)?;
                Ok((
                    CExpr::Between { e: Box::new(c), lo: Box::new(lo), hi: Box::new(hi), negated: *negated },
                    Type::Bool,
                ))
            }
            ExprKind::Member { expr, field } => {
                // `step.column` inside `scan`: the scratch table has a column of that name.
                if let ExprKind::Name(id) = &expr.kind
                    && input.index_of(&id.name).is_none()
                    && let Some(i) = input.index_of(&format!("{}.{}", id.name, field.name))
                {
                    return Ok((CExpr::Col(i), input.columns[i].ty));
                }
                // `$left.x` / `$right.x` only appear in join keys; a member of a bare table name
                // is not supported.
                let (c, _) = self.compile(expr, input)?;
                Ok((CExpr::Member { e: Box::new(c), field: Arc::from(field.name.as_str()) }, Type::Dynamic))
            }
            ExprKind::Index { expr, index } => {
                let (c, _) = self.compile(expr, input)?;
                let (i, _) = self.compile(index, input)?;
                Ok((CExpr::Index { e: Box::new(c), idx: Box::new(i) }, Type::Dynamic))
            }
            ExprKind::ToScalar(t) => {
                let table = self.tabular(t, None)?;
                let (v, ty) = match table.columns.first() {
                    Some(c) if table.num_rows() > 0 => (c.get(0), c.ty),
                    Some(c) => (Value::Null, c.ty),
                    None => (Value::Null, Type::Dynamic),
                };
                Ok((CExpr::Const(v), ty))
            }
            ExprKind::Subquery(t) => {
                let table = self.tabular(t, None)?;
                let vals = self.first_column_values(&table);
                Ok((CExpr::Const(Value::Dynamic(Dyn::array(vals.iter().map(Value::to_dyn).collect()))), Type::Dynamic))
            }
            ExprKind::TypeOf(t) => Ok((CExpr::Const(Value::str(type_of(*t).name())), Type::String)),
            ExprKind::NamedArg { value, .. } => self.compile(value, input),
            ExprKind::Tuple(items) => {
                if items.len() == 1 {
                    return self.compile(&items[0], input);
                }
                let mut cs = Vec::new();
                for i in items {
                    cs.push(self.compile(i, input)?.0);
                }
                Ok((
                    CExpr::Call {
                        name: "pack_array",
                        f: functions::lookup("pack_array").map(|d| d.imp).unwrap_or(|_| Value::Null),
                        args: cs,
                    },
                    Type::Dynamic,
                ))
            }
            ExprKind::Call { name, args } => self.compile_call(&name.name, args, input),
        }
    }

    fn first_column_values(&self, t: &Table) -> Vec<Value> {
        match t.columns.first() {
            Some(c) => (0..c.len()).map(|i| c.get(i)).collect(),
            None => vec![],
        }
    }

    fn resolve_name(&self, name: &str, input: &Table) -> Result<(CExpr, Type)> {
        if let Some((c, ty)) = self.env.params.get(name) {
            return Ok((c.clone(), *ty));
        }
        if let Some(i) = input.index_of(name) {
            return Ok((CExpr::Col(i), input.columns[i].ty));
        }
        if let Some((v, ty)) = self.env.scalars.get(name) {
            return Ok((CExpr::Const(v.clone()), *ty));
        }
        match name {
            "true" => return Ok((CExpr::Const(Value::Bool(true)), Type::Bool)),
            "false" => return Ok((CExpr::Const(Value::Bool(false)), Type::Bool)),
            _ => {}
        }
        if let Some(f) = self.env.funcs.get(name)
            && f.params.is_empty()
            && let ast::FunctionBody::Scalar(_) = f.body
        {
            return self.inline_function(f, &[], input);
        }
        Err(EvalError::UnknownName(name.to_string()))
    }

    fn literal(&self, l: &Literal, span: ast::Span) -> (CExpr, Type) {
        let (v, ty) = match l {
            Literal::Null => (Value::Dynamic(Dyn::Null), Type::Dynamic),
            Literal::Bool(b) => (Value::Bool(*b), Type::Bool),
            Literal::Int(i) => (Value::Int(*i), Type::Int),
            Literal::Long(i) => (Value::Long(*i), Type::Long),
            Literal::Real(f) => (Value::Real(*f), Type::Real),
            Literal::Decimal(s) => (value::parse_real_text(s).map_or(Value::Null, Value::Decimal), Type::Decimal),
            Literal::String(s) => (Value::str(s), Type::String),
            Literal::DateTime(t) => (
                t.checked_add(value::UNIX_EPOCH_TICKS)
                    .and_then(value::datetime_in_range)
                    .map_or(Value::Null, Value::DateTime),
                Type::DateTime,
            ),
            Literal::Timespan(t) => (Value::TimeSpan(*t), Type::TimeSpan),
            Literal::Guid(g) => (value::parse_guid(g).map_or(Value::Null, Value::Guid), Type::Guid),
            Literal::Dynamic(j) => (Value::Dynamic(self.dynamic_literal(j, span)), Type::Dynamic),
            Literal::TypedNull(t) => {
                let ty = type_of(*t);
                (
                    if ty == Type::String {
                        Value::str("")
                    } else if ty == Type::Dynamic {
                        Value::Dynamic(Dyn::Null)
                    } else {
                        Value::Null
                    },
                    ty,
                )
            }
        };
        (CExpr::Const(v), ty)
    }

    /// Re-reads a dynamic literal from the query text so object keys keep their order
    /// (serde_json sorts them); falls back to the parsed value.
    fn dynamic_literal(&self, j: &serde_json::Value, span: ast::Span) -> Dyn {
        if let Some(src) = &self.ctx.source
            && let Some(text) = src.get(span.start..span.end)
        {
            let t = text.trim();
            let inner = t
                .strip_prefix("dynamic")
                .map(str::trim_start)
                .and_then(|s| s.strip_prefix('('))
                .and_then(|s| s.strip_suffix(')'));
            if let Some(d) = Dyn::parse_json(inner.unwrap_or(t)) {
                return d;
            }
        }
        Dyn::from_serde(j)
    }

    fn compile_args(&self, args: &[Expr], input: &Table) -> Result<(Vec<CExpr>, Vec<Type>)> {
        let mut cs = Vec::with_capacity(args.len());
        let mut ts = Vec::with_capacity(args.len());
        for a in args {
            let (c, t) = self.compile(a, input)?;
            cs.push(c);
            ts.push(t);
        }
        Ok((cs, ts))
    }

    fn compile_call(&self, name: &str, args: &[Expr], input: &Table) -> Result<(CExpr, Type)> {
        if let Some(f) = self.env.funcs.get(name) {
            return self.inline_function(f, args, input);
        }
        match name {
            "now" => {
                let off = match args.first() {
                    Some(a) => match self.const_eval(a)? {
                        Value::TimeSpan(t) => t,
                        _ => 0,
                    },
                    None => 0,
                };
                return Ok((CExpr::Const(Value::DateTime(self.ctx.now + off)), Type::DateTime));
            }
            "ago" => {
                let a = args.first().ok_or_else(|| EvalError::Invalid("ago() needs a timespan".into()))?;
                let (c, _) = self.compile(a, input)?;
                return Ok((
                    CExpr::Binary {
                        op: ast::BinOp::Sub,
                        l: Box::new(CExpr::Const(Value::DateTime(self.ctx.now))),
                        r: Box::new(c),
                    },
                    Type::DateTime,
                ));
            }
            "iff" | "iif" if args.len() == 3 => {
                let (cs, ts) = self.compile_args(args, input)?;
                let ty = functions::common_type(&nonnull_types(&cs[1..], &ts[1..]));
                let mut it = cs.into_iter();
                let (c, a, b) = (
                    it.next().unwrap_or(CExpr::Const(Value::Null)),
                    it.next().unwrap_or(CExpr::Const(Value::Null)),
                    it.next().unwrap_or(CExpr::Const(Value::Null)),
                );
                return Ok((CExpr::Iff(Box::new(c), Box::new(a), Box::new(b)), ty));
            }
            "case" if args.len() >= 3 => {
                let (cs, ts) = self.compile_args(args, input)?;
                let vals: Vec<(CExpr, Type)> = cs
                    .iter()
                    .zip(&ts)
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 1 || *i == cs.len() - 1)
                    .map(|(_, (c, t))| (c.clone(), *t))
                    .collect();
                let (vc, vt): (Vec<CExpr>, Vec<Type>) = vals.into_iter().unzip();
                let ty = functions::common_type(&nonnull_types(&vc, &vt));
                return Ok((CExpr::Case(cs), ty));
            }
            "not" if args.len() == 1 => {
                let (c, _) = self.compile(&args[0], input)?;
                return Ok((CExpr::Not(Box::new(c)), Type::Bool));
            }
            "isnull" | "isnotnull" if args.len() == 1 => {}
            "gettype" if args.len() == 1 => {
                // A typed null still has its column's type (`gettype(toint("x"))` is `int`);
                // only dynamic values report what they hold.
                let (c, ty) = self.compile(&args[0], input)?;
                let fallback = CExpr::Const(Value::str(if ty == Type::Dynamic { "null" } else { ty.name() }));
                return Ok((
                    CExpr::Call { name: FN_NAME, f: functions::gettype_or, args: vec![c, fallback] },
                    Type::String,
                ));
            }
            "row_number" => {
                let start = match args.first() {
                    Some(a) => self.const_eval(a)?.as_i64().unwrap_or(1),
                    None => 1,
                };
                let restart = match args.get(1) {
                    Some(a) => Some(Box::new(self.compile(a, input)?.0)),
                    None => None,
                };
                return Ok((CExpr::RowNumber { start, restart, state: Default::default() }, Type::Long));
            }
            "prev" | "next" => {
                let a = args.first().ok_or_else(|| EvalError::Invalid(format!("{name}() needs an argument")))?;
                let (c, ty) = self.compile(a, input)?;
                let offset = match args.get(1) {
                    Some(o) => self.const_eval(o)?.as_i64().unwrap_or(1).max(0),
                    None => 1,
                };
                let default = match args.get(2) {
                    Some(d) => Some(Box::new(self.compile(d, input)?.0)),
                    None => None,
                };
                return Ok((CExpr::Prev { e: Box::new(c), offset, default, forward: name == "next" }, ty));
            }
            "row_cumsum" => {
                let a = args.first().ok_or_else(|| EvalError::Invalid("row_cumsum() needs an argument".into()))?;
                let (c, ty) = self.compile(a, input)?;
                let restart = match args.get(1) {
                    Some(r) => Some(Box::new(self.compile(r, input)?.0)),
                    None => None,
                };
                let ty = if ty == Type::Int { Type::Long } else { ty };
                return Ok((CExpr::RowCumsum { e: Box::new(c), restart, state: Default::default() }, ty));
            }
            "row_rank_min" | "row_rank_dense" | "row_rank" => {
                let a = args.first().ok_or_else(|| EvalError::Invalid(format!("{name}() needs an argument")))?;
                let (c, _) = self.compile(a, input)?;
                let restart = match args.get(1) {
                    Some(r) => Some(Box::new(self.compile(r, input)?.0)),
                    None => None,
                };
                return Ok((
                    CExpr::RowRank {
                        e: Box::new(c),
                        dense: name == "row_rank_dense",
                        restart,
                        state: Default::default(),
                    },
                    Type::Long,
                ));
            }
            "column_ifexists" => {
                let col = args
                    .first()
                    .map(|a| self.const_eval(a))
                    .transpose()?
                    .map(|v| v.to_kusto_string())
                    .unwrap_or_default();
                if let Some(i) = input.index_of(&col) {
                    return Ok((CExpr::Col(i), input.columns[i].ty));
                }
                return match args.get(1) {
                    Some(d) => self.compile(d, input),
                    None => Ok((CExpr::Const(Value::Null), Type::Dynamic)),
                };
            }
            "extract" if args.len() == 4 => {
                let (cs, _) = self.compile_args(&args[..3], input)?;
                let ty = match &args[3].kind {
                    ExprKind::TypeOf(t) => type_of(*t),
                    _ => Type::String,
                };
                let f = functions::lookup("extract").map(|d| d.imp).unwrap_or(|_| Value::Null);
                return Ok((CExpr::Convert(Box::new(CExpr::Call { name: "extract", f, args: cs }), ty), ty));
            }
            "pack_all" | "bag_pack_columns" => {
                let mut cs = Vec::new();
                let cols: Vec<usize> = if name == "pack_all" {
                    (0..input.columns.len()).collect()
                } else {
                    args.iter().filter_map(|a| a.derived_name()).filter_map(|n| input.index_of(&n)).collect()
                };
                for i in cols {
                    cs.push(CExpr::Const(Value::str(&input.columns[i].name)));
                    cs.push(CExpr::Col(i));
                }
                let f = functions::lookup("pack").map(|d| d.imp).unwrap_or(|_| Value::Null);
                return Ok((CExpr::Call { name: "pack", f, args: cs }, Type::Dynamic));
            }
            "rand" => return Ok((CExpr::Const(Value::Real(0.5)), Type::Real)),
            "new_guid" => {
                return Ok((CExpr::Const(Value::Guid(0x0123_4567_89ab_4cde_8f01_2345_6789_abcd)), Type::Guid));
            }
            "geo_info_from_ip_address" => {
                return Ok((CExpr::Const(Value::Dynamic(Dyn::object(vec![]))), Type::Dynamic));
            }
            "ingestion_time" => return Ok((CExpr::Const(Value::DateTime(self.ctx.now)), Type::DateTime)),
            "current_cluster_endpoint" | "current_database" => {
                return Ok((CExpr::Const(Value::str("riposte")), Type::String));
            }
            _ => {}
        }
        // Type-constructor style literals parsed as calls: `int(5)`, `datetime(null)` etc.
        if let Some(ty) = Type::parse(name).filter(|_| args.len() == 1) {
            let (c, _) = self.compile(&args[0], input)?;
            return Ok((CExpr::Convert(Box::new(c), ty), ty));
        }
        if AGGREGATES.contains(&name) {
            return Err(EvalError::Invalid(format!("aggregate `{name}()` is only valid in summarize")));
        }
        let def = functions::lookup(name).ok_or_else(|| EvalError::UnknownFunction(name.to_string()))?;
        if args.len() < def.min_args || args.len() > def.max_args {
            return Err(EvalError::Invalid(format!("function `{name}` got {} arguments", args.len())));
        }
        let (cs, ts) = self.compile_args(args, input)?;
        let ty = (def.ret)(&ts).map_err(EvalError::Type)?;
        // Calls operators special-case keep their name (`mv-expand` expands `range` typed).
        let static_name: &'static str = if name == "range" { "range" } else { FN_NAME };
        let call = CExpr::Call { name: static_name, f: def.imp, args: cs };
        // Kusto types `datetime_diff('week', ...)` as real (whole weeks, but a double column).
        if name == "datetime_diff"
            && matches!(args.first().map(|a| &a.kind), Some(ExprKind::Literal(Literal::String(p))) if p.eq_ignore_ascii_case("week") || p.eq_ignore_ascii_case("weeks"))
        {
            return Ok((CExpr::Convert(Box::new(call), Type::Real), Type::Real));
        }
        Ok((call, ty))
    }

    /// Inlines a scalar user function: parameters become the compiled argument expressions.
    fn inline_function(&self, f: &ast::FunctionDef, args: &[Expr], input: &Table) -> Result<(CExpr, Type)> {
        let mut child = Evaluator { ctx: self.ctx, env: self.env.clone() };
        child.enter_call()?;
        for (i, p) in f.params.iter().enumerate() {
            let bound = match args.get(i) {
                Some(a) => self.compile(a, input)?,
                None => match &p.default {
                    Some(d) => self.compile(d, input)?,
                    None => return Err(EvalError::Invalid(format!("missing argument `{}`", p.name.name))),
                },
            };
            child.env.scalars.remove(&p.name.name);
            child.env.params.insert(p.name.name.clone(), bound);
        }
        // Lets inside the body are constants in this engine.
        child.bind_lets(&f.lets)?;
        match &f.body {
            ast::FunctionBody::Scalar(e) => child.compile(e, input),
            ast::FunctionBody::Tabular(t) => {
                let table = child.tabular(t, None)?;
                let v = table.columns.first().filter(|_| table.num_rows() > 0).map_or(Value::Null, |c| c.get(0));
                let ty = table.columns.first().map_or(Type::Dynamic, |c| c.ty);
                Ok((CExpr::Const(v), ty))
            }
        }
    }
}

const FN_NAME: &str = "fn";

/// Aggregate function names (rejected in scalar context with a clear message).
pub(crate) const AGGREGATES: &[&str] = &[
    "count",
    "countif",
    "dcount",
    "dcountif",
    "sum",
    "sumif",
    "avg",
    "avgif",
    "min",
    "max",
    "minif",
    "maxif",
    "arg_max",
    "arg_min",
    "make_set",
    "make_set_if",
    "make_list",
    "make_list_if",
    "make_bag",
    "make_bag_if",
    "take_any",
    "any",
    "percentile",
    "percentiles",
    "stdev",
    "variance",
    "stdevp",
    "variancep",
    "count_distinct",
    "makeset",
    "makelist",
];

/// Types of non-null-constant branches (a bare `dynamic(null)` does not decide the type).
fn nonnull_types(cs: &[CExpr], ts: &[Type]) -> Vec<Type> {
    let v: Vec<Type> = cs
        .iter()
        .zip(ts)
        .filter(|(c, t)| !(matches!(c, CExpr::Const(Value::Dynamic(Dyn::Null))) && **t == Type::Dynamic))
        .map(|(_, t)| *t)
        .collect();
    if v.is_empty() { ts.to_vec() } else { v }
}

/// A one-row, zero-column table to evaluate constants against.
pub(crate) fn single_row() -> Table {
    Table::new(vec![crate::table::Column::from_values("__row", Type::Bool, &[Value::Bool(true)])])
}

/// Constant folding: calls and operators whose inputs are all constants run once.
fn fold(c: CExpr) -> CExpr {
    let all_const = match &c {
        CExpr::Call { args, .. } => args.iter().all(CExpr::is_const),
        CExpr::Binary { l, r, .. } => l.is_const() && r.is_const(),
        CExpr::Not(e) | CExpr::Neg(e) | CExpr::Convert(e, _) => e.is_const(),
        CExpr::Member { e, .. } => e.is_const(),
        CExpr::Index { e, idx } => e.is_const() && idx.is_const(),
        _ => false,
    };
    if all_const {
        let t = Table::default();
        return CExpr::Const(c.eval(&t, 0));
    }
    c
}

pub(crate) fn type_of(t: ast::TypeName) -> Type {
    match t {
        ast::TypeName::Bool => Type::Bool,
        ast::TypeName::Int => Type::Int,
        ast::TypeName::Long => Type::Long,
        ast::TypeName::Real => Type::Real,
        ast::TypeName::Decimal => Type::Decimal,
        ast::TypeName::String => Type::String,
        ast::TypeName::DateTime => Type::DateTime,
        ast::TypeName::Timespan => Type::TimeSpan,
        ast::TypeName::Guid => Type::Guid,
        ast::TypeName::Dynamic => Type::Dynamic,
    }
}

/// The column name Kusto derives for an expression in `by` clauses and aggregate names:
/// a column keeps its name, `a.b` → `a_b`, and calls use their first argument's name.
pub(crate) fn dig_name(e: &Expr) -> Option<String> {
    if let Some(n) = e.derived_name() {
        return Some(n);
    }
    match &e.kind {
        ExprKind::Call { args, .. } => args.first().and_then(dig_name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, tables: HashMap<String, Table>) -> Table {
        let query = crate::parser::parse_query(text).expect("parse");
        let ctx = Context { tables, source: Some(Arc::from(text)), ..Context::default() };
        run(&query, &ctx).expect("run")
    }

    fn dpe(n: usize) -> HashMap<String, Table> {
        HashMap::from([("DeviceProcessEvents".to_string(), crate::table::generate_device_process_events(n, 1))])
    }

    #[test]
    fn where_summarize_join_over_generated_events() {
        let t = q(
            "DeviceProcessEvents | where FileName =~ 'POWERSHELL.EXE' | summarize n = count() by DeviceName | count",
            dpe(2000),
        );
        assert_eq!(t.columns[0].name, "Count");
        let t = q("DeviceProcessEvents | where ProcessCommandLine has_any ('whoami', 'urlcache') | take 5", dpe(2000));
        assert_eq!(t.num_rows(), 5);
        let t = q(
            "let P = DeviceProcessEvents | summarize by DeviceId | take 10; DeviceProcessEvents | join kind=inner P on DeviceId | summarize dcount(DeviceId)",
            dpe(2000),
        );
        assert_eq!(t.columns[0].get(0).as_i64(), Some(10));
    }

    /// The typed filter paths (string tests, `in~`, `has_any`, `and`/`or` narrowing) must give
    /// exactly what row-by-row evaluation gives; `iff(p, true, false)` forces the latter.
    #[test]
    fn fast_filters_agree_with_row_evaluation() {
        let texts = [
            "powershell.exe -EncodedCommand SQBF",
            "PowerShell.EXE",
            "\u{212A}ey",
            "key",
            "\u{130}stanbul",
            "",
            "cmd.exe /c whoami",
            "a-enc",
            "Invoke-Mimikatz2",
            "x mimikatz y",
            "CMD.EXE",
            "sekurlsa::logonpasswords",
            "caf\u{e9} KEY",
        ];
        let vals: Vec<Value> = texts.iter().map(|s| Value::str(s)).collect();
        let nums: Vec<Value> = (0..texts.len() as i64).map(Value::Long).collect();
        let t = Table::new(vec![
            crate::table::Column::from_values("s", Type::String, &vals),
            crate::table::Column::from_values("n", Type::Long, &nums),
        ]);
        let tables = HashMap::from([("T".to_string(), t)]);
        for pred in [
            "s =~ 'powershell.exe'",
            "s !~ 'key'",
            "s =~ 'KEY'",
            "s has 'exe'",
            "s !has 'cmd'",
            "s has 'key'",
            "s contains 'ENC'",
            "s !contains 'enc'",
            "s contains ''",
            "s has_any ('mimikatz', '-EncodedCommand', 'KEY', 'sekurlsa')",
            "s in~ ('cmd.exe', 'key')",
            "s in~ ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'KEY', 'cmd.exe')",
            "s !in~ ('key')",
            "s in ('key', 'CMD.EXE')",
            "s !in ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'key')",
            "s startswith 'power' or n > 10",
            "s has 'exe' and n < 5 and s contains 'c'",
            "n >= 3 and s matches regex '[0-9]'",
            "s == 'key' or s =~ 'cmd.exe'",
        ] {
            let fast = q(&format!("T | where {pred} | project n"), tables.clone());
            let slow = q(&format!("T | where iff({pred}, true, false) | project n"), tables.clone());
            let rows = |t: &Table| (0..t.num_rows()).map(|r| t.columns[0].get(r).to_kusto_string()).collect::<Vec<_>>();
            assert_eq!(rows(&fast), rows(&slow), "{pred}");
        }
    }

    /// Typed summarize / join paths keep the generic results: group order by first
    /// appearance, innerunique keeping the first left row per key, pruned columns.
    #[test]
    fn typed_summarize_and_join_keep_semantics() {
        let t = q(
            "datatable(k:string, v:long)['b', 1, 'a', 2, 'b', 3, 'c', long(null), 'a', 2] | summarize n=count(), d=dcount(v), s=sum(v) by k",
            HashMap::new(),
        );
        let rows: Vec<String> = (0..t.num_rows())
            .map(|r| t.row(r).iter().map(Value::to_kusto_string).collect::<Vec<_>>().join(","))
            .collect();
        assert_eq!(rows, vec!["b,2,2,4", "a,2,1,4", "c,1,0,0"]);
        let t = q(
            "let L = datatable(k:string, x:long)['a', 1, 'a', 2, 'b', 3]; let R = datatable(k:string, y:long)['a', 10, 'a', 11, 'c', 12]; \
             L | join R on k | project x, y",
            HashMap::new(),
        );
        let rows: Vec<String> = (0..t.num_rows())
            .map(|r| t.row(r).iter().map(Value::to_kusto_string).collect::<Vec<_>>().join(","))
            .collect();
        assert_eq!(rows, vec!["1,10", "1,11"]);
        let t = q(
            "let L = datatable(k:string, x:long)['a', 1, 'b', 3]; let R = datatable(k:string, y:long)['a', 10, 'b', 11, 'a', 12]; \
             L | join kind=leftouter R on k | where y > 10 | count",
            HashMap::new(),
        );
        assert_eq!(t.columns[0].get(0).as_i64(), Some(2));
    }

    #[test]
    fn externaldata_and_fileprofile_are_clear_errors() {
        let query =
            crate::parser::parse_query("externaldata(x:string)[@'https://example.com/a.csv'] with (format='csv')")
                .expect("parse");
        let err = run(&query, &Context::default()).unwrap_err().to_string();
        assert!(err.contains("externaldata is not available in the sandbox"), "{err}");
        let query = crate::parser::parse_query("print x = 1 | invoke FileProfile()").expect("parse");
        assert!(run(&query, &Context::default()).is_err());
    }

    #[test]
    fn huge_range_is_an_error_not_a_hang() {
        let query = crate::parser::parse_query("range x from 1 to 1000000000000 step 1").expect("parse");
        let ctx = Context { max_rows: Some(1000), ..Context::default() };
        assert!(matches!(run(&query, &ctx), Err(EvalError::TooManyRows(1000))));
    }

    /// `cargo test -p hunt --release -- --ignored bench_1m --nocapture`
    #[test]
    #[ignore]
    fn bench_1m() {
        let tables = dpe(1_000_000);
        for text in [
            "DeviceProcessEvents | where FileName == 'powershell.exe' | count",
            "DeviceProcessEvents | where ProcessCommandLine has 'whoami' | count",
            "DeviceProcessEvents | summarize count() by DeviceName | count",
            "DeviceProcessEvents | where Timestamp > datetime(2024-01-15) | summarize dcount(SHA256) by FileName",
        ] {
            let start = std::time::Instant::now();
            let t = q(text, tables.clone());
            let secs = start.elapsed().as_secs_f64();
            eprintln!("{:>8.0} rows/s  {:.3}s  {} rows  {text}", 1e6 / secs, secs, t.num_rows());
        }
    }
}
