//! Name resolution against table schemas.
//!
//! [`check`] walks a parsed [`Query`], tracking the set of columns flowing through each pipeline
//! (project / extend / summarize / join / union / mv-expand / parse / let / functions), and
//! reports unknown tables and unknown columns with positions and "did you mean" suggestions.
//!
//! The checker is deliberately lenient where KQL is dynamic: once the column set cannot be known
//! (after `evaluate`, `bag_unpack`, `FileProfile`, tabular function parameters, raw operators,
//! aggregates whose default names we do not model), the column set becomes *open* and unknown
//! names are accepted. Dynamic member access (`x.a.b`, `x["k"]`) only checks the base column.
//! Goal: no false positives on valid queries, while catching misspelled tables and columns.

use std::collections::{HashMap, HashSet};

use crate::ast::*;
use crate::parser::line_col;
use crate::schema::Schema;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckErrorKind {
    UnknownTable,
    UnknownColumn,
    /// Structural problems (e.g. `project-rename X` without `= Old`).
    Invalid,
}

/// A semantic error at a byte span of the query.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckError {
    pub kind: CheckErrorKind,
    pub message: String,
    pub span: Span,
    /// Closest known name, when one is near enough to be a likely typo.
    pub suggestion: Option<String>,
}

impl CheckError {
    /// 1-based line and column of the error in `src` (the text the query was parsed from).
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        line_col(src, self.span.start)
    }
}

/// Check a parsed query against `schema`. An empty result means every table and column
/// reference resolved (or could not be decided because the schema is dynamic there).
pub fn check(query: &Query, schema: &Schema) -> Vec<CheckError> {
    let mut c = Checker { schema, errors: Vec::new(), scopes: vec![HashMap::new()], depth: 0 };
    for p in &query.query_parameters {
        c.bind_param(p);
    }
    for l in &query.lets {
        c.let_stmt(l);
    }
    c.tabular(&query.body);
    for b in &query.extra_bodies {
        c.tabular(b);
    }
    c.errors
}

/// Hunting-portal functions that take or produce tables with unknown columns.
const AH_TABULAR_FUNCTIONS: &[&str] = &["FileProfile", "DeviceFromIP", "AssignedIPAddresses", "SeenBy"];

/// Recursion guard; deeper queries are accepted unchecked (the parser caps depth anyway).
const MAX_CHECK_DEPTH: usize = 200;

/// Column set flowing through a pipeline.
#[derive(Debug, Clone, Default)]
struct Cols {
    names: Vec<String>,
    /// More columns may exist than `names` lists: unknown names are accepted.
    open: bool,
}

impl Cols {
    fn open() -> Cols {
        Cols { names: Vec::new(), open: true }
    }

    fn known(names: Vec<String>) -> Cols {
        Cols { names, open: false }
    }

    fn has(&self, n: &str) -> bool {
        self.names.iter().any(|x| x == n)
    }

    /// Add or keep a column (extend semantics: replacing keeps position).
    fn add(&mut self, n: String) {
        if !self.has(&n) {
            self.names.push(n);
        }
    }

    /// Add a column; a clash gets Kusto's numeric suffix (`Name1`, `Name2`, ...).
    fn add_unique(&mut self, n: String) {
        if !self.has(&n) {
            self.names.push(n);
            return;
        }
        let mut k = 1;
        while self.has(&format!("{n}{k}")) {
            k += 1;
        }
        self.names.push(format!("{n}{k}"));
    }
}

/// What a name bound by `let` / parameters denotes.
#[derive(Debug, Clone)]
enum Bound {
    Scalar,
    Tabular(Cols),
    /// Function returning a table with these columns (already resolved at definition).
    TabularFn(Cols),
    ScalarFn,
}

struct Checker<'s> {
    schema: &'s Schema,
    errors: Vec<CheckError>,
    scopes: Vec<HashMap<String, Bound>>,
    depth: usize,
}

impl<'s> Checker<'s> {
    // ------------------------------------------------------------------ scopes

    fn bind(&mut self, name: &str, b: Bound) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), b);
        }
    }

    fn lookup(&self, name: &str) -> Option<&Bound> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind_param(&mut self, p: &Param) {
        let b = match &p.ty {
            ParamType::Scalar(_) => Bound::Scalar,
            // Callers may pass tables with more columns than the declared ones: stay open.
            ParamType::Tabular { columns: Some(cols), .. } => {
                Bound::Tabular(Cols { names: cols.iter().map(|c| c.name.name.clone()).collect(), open: true })
            }
            ParamType::Tabular { columns: None, .. } => Bound::Tabular(Cols::open()),
        };
        self.bind(&p.name.name, b);
    }

    fn error(&mut self, kind: CheckErrorKind, span: Span, message: String, suggestion: Option<String>) {
        // One report per position is enough (the same let may be checked twice).
        if self.errors.iter().any(|e| e.span == span && e.kind == kind) {
            return;
        }
        self.errors.push(CheckError { kind, message, span, suggestion });
    }

    // ------------------------------------------------------------------ statements

    fn let_stmt(&mut self, l: &LetStmt) {
        let b = match &l.value {
            LetValue::Scalar(e) => {
                self.expr(e, &Cols::known(Vec::new()));
                Bound::Scalar
            }
            LetValue::Tabular(t) => Bound::Tabular(self.tabular(t)),
            LetValue::Function(f) => self.function(f),
        };
        self.bind(&l.name.name, b);
    }

    fn function(&mut self, f: &FunctionDef) -> Bound {
        self.scopes.push(HashMap::new());
        for p in &f.params {
            if let Some(d) = &p.default {
                self.expr(d, &Cols::known(Vec::new()));
            }
            self.bind_param(p);
        }
        for l in &f.lets {
            self.let_stmt(l);
        }
        let b = match &f.body {
            // Scalar function bodies may refer to columns of the calling row: unknowable here.
            FunctionBody::Scalar(e) => {
                self.expr(e, &Cols::open());
                Bound::ScalarFn
            }
            FunctionBody::Tabular(t) => Bound::TabularFn(self.tabular(t)),
        };
        self.scopes.pop();
        b
    }

    // ------------------------------------------------------------------ tabular

    fn tabular(&mut self, t: &TabularExpr) -> Cols {
        self.depth += 1;
        if self.depth > MAX_CHECK_DEPTH {
            self.depth -= 1;
            return Cols::open();
        }
        let mut cols = self.source(&t.source);
        for op in &t.ops {
            cols = self.operator(op, cols);
        }
        self.depth -= 1;
        cols
    }

    fn ops(&mut self, ops: &[Operator], mut cols: Cols) -> Cols {
        for op in ops {
            cols = self.operator(op, cols);
        }
        cols
    }

    fn table_ref(&mut self, id: &Ident) -> Cols {
        if let Some(b) = self.lookup(&id.name) {
            return match b {
                Bound::Tabular(c) | Bound::TabularFn(c) => c.clone(),
                Bound::Scalar | Bound::ScalarFn => Cols::open(),
            };
        }
        if let Some(cols) = self.schema.table(&id.name) {
            return Cols::known(cols.iter().map(|c| c.name.clone()).collect());
        }
        if id.name.contains('*') {
            return self.wildcard_tables(id);
        }
        let suggestion = self.closest_table(&id.name);
        let hint = suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
        self.error(CheckErrorKind::UnknownTable, id.span, format!("unknown table '{}'{hint}", id.name), suggestion);
        Cols::open()
    }

    fn wildcard_tables(&mut self, id: &Ident) -> Cols {
        let mut out = Cols::known(Vec::new());
        let mut any = false;
        for t in self.schema.table_names().filter(|t| glob_match(&id.name, t)).map(str::to_string).collect::<Vec<_>>() {
            any = true;
            for c in self.schema.table(&t).unwrap_or(&[]) {
                out.add(c.name.clone());
            }
        }
        if !any {
            out.open = true;
        }
        out
    }

    fn closest_table(&self, name: &str) -> Option<String> {
        let mut cands: Vec<String> = self.schema.table_names().map(str::to_string).collect();
        for s in &self.scopes {
            for (k, b) in s {
                if matches!(b, Bound::Tabular(_) | Bound::TabularFn(_)) {
                    cands.push(k.clone());
                }
            }
        }
        closest(name, cands.iter().map(String::as_str))
    }

    fn source(&mut self, s: &Source) -> Cols {
        match &s.kind {
            SourceKind::Name(id) => self.table_ref(id),
            SourceKind::Call { name, args } => {
                let none = Cols::known(Vec::new());
                for a in args {
                    self.expr(a, &none);
                }
                match self.lookup(&name.name) {
                    Some(Bound::TabularFn(c)) => c.clone(),
                    Some(Bound::Tabular(c)) => c.clone(),
                    _ => Cols::open(),
                }
            }
            SourceKind::Union(u) => self.union(u, None),
            SourceKind::Datatable { columns, values } => {
                let none = Cols::known(Vec::new());
                for v in values {
                    self.expr(v, &none);
                }
                Cols::known(columns.iter().map(|c| c.name.name.clone()).collect())
            }
            SourceKind::Print(items) => {
                let mut out = Cols::known(Vec::new());
                let none = Cols::known(Vec::new());
                for (i, it) in items.iter().enumerate() {
                    self.expr(&it.expr, &none);
                    self.add_named(&mut out, it, &format!("print_{i}"));
                }
                out
            }
            SourceKind::Range { column, from, to, step } => {
                let none = Cols::known(Vec::new());
                for e in [from, to, step] {
                    self.expr(e, &none);
                }
                Cols::known(vec![column.name.clone()])
            }
            SourceKind::ExternalData { columns, .. } => {
                Cols::known(columns.iter().map(|c| c.name.name.clone()).collect())
            }
            SourceKind::Materialize(t) | SourceKind::Paren(t) => self.tabular(t),
            SourceKind::Search(s) => {
                self.expr(&s.predicate, &Cols::open());
                Cols::open()
            }
            SourceKind::Find(f) => {
                self.expr(&f.predicate, &Cols::open());
                Cols::open()
            }
            SourceKind::Evaluate(e) => {
                for a in &e.args {
                    self.expr(a, &Cols::open());
                }
                Cols::open()
            }
        }
    }

    fn union(&mut self, u: &UnionOp, input: Option<Cols>) -> Cols {
        let mut out = input.unwrap_or_default();
        for t in &u.tables {
            let c = self.tabular(t);
            out.open |= c.open;
            for n in c.names {
                out.add(n);
            }
        }
        if let Some(ws) = u.withsource() {
            out.add(ws.to_string());
        }
        out
    }

    /// Output column name for `[name =] expr`; `fallback` when KQL would invent one.
    fn add_named(&mut self, out: &mut Cols, it: &NamedExpr, fallback: &str) {
        if !it.names.is_empty() {
            for n in &it.names {
                out.add(n.name.clone());
            }
            return;
        }
        match it.expr.derived_name() {
            Some(n) => out.add(n),
            None => {
                out.add(fallback.to_string());
                // Kusto's naming of computed columns (`Column1`, `print_0`, ...) varies by
                // operator; accept later references we cannot predict.
                out.open = true;
            }
        }
    }

    fn operator(&mut self, op: &Operator, cols: Cols) -> Cols {
        match &op.kind {
            OpKind::Where(e) => {
                self.expr(e, &cols);
                cols
            }
            OpKind::Project(items) => {
                let mut out = Cols::known(Vec::new());
                for (i, it) in items.iter().enumerate() {
                    self.expr(&it.expr, &cols);
                    self.add_named(&mut out, it, &format!("Column{}", i + 1));
                }
                out.open |= cols.open && items.iter().any(|i| matches!(i.expr.kind, ExprKind::Star));
                out
            }
            OpKind::ProjectAway(pats) => {
                // Kusto checks every name against the input (listing one twice is fine).
                for p in pats {
                    self.pattern_exists(p, &cols);
                }
                let mut out = cols;
                out.names.retain(|n| !pats.iter().any(|p| p.matches(n)));
                out
            }
            OpKind::ProjectKeep(pats) => {
                for p in pats {
                    self.pattern_exists(p, &cols);
                }
                let names = cols.names.iter().filter(|n| pats.iter().any(|p| p.matches(n))).cloned().collect();
                Cols { names, open: cols.open }
            }
            OpKind::ProjectRename(pairs) => {
                let mut out = cols;
                for (new, old) in pairs {
                    if new.span == old.span {
                        self.error(
                            CheckErrorKind::Invalid,
                            new.span,
                            format!("project-rename needs 'NewName = {}'", old.name),
                            None,
                        );
                        continue;
                    }
                    self.column_ref(old, &out);
                    if let Some(slot) = out.names.iter_mut().find(|n| **n == old.name) {
                        *slot = new.name.clone();
                    } else {
                        out.add(new.name.clone());
                    }
                }
                out
            }
            OpKind::ProjectReorder(items) => {
                for (p, _) in items {
                    self.pattern_exists(p, &cols);
                }
                cols
            }
            OpKind::Extend(items) | OpKind::Serialize(items) => {
                let mut out = cols;
                for (i, it) in items.iter().enumerate() {
                    self.expr(&it.expr, &out);
                    self.add_named(&mut out, it, &format!("Column{}", i + 1));
                }
                out
            }
            OpKind::Summarize { aggs, by, .. } => self.summarize(aggs, by, &cols),
            OpKind::Sort(keys) => {
                for k in keys {
                    self.expr(&k.expr, &cols);
                }
                cols
            }
            OpKind::Top { count, by } => {
                self.expr(count, &Cols::known(Vec::new()));
                for k in by {
                    self.expr(&k.expr, &cols);
                }
                cols
            }
            OpKind::Take(e) | OpKind::Sample(e) => {
                self.expr(e, &Cols::known(Vec::new()));
                cols
            }
            OpKind::Distinct(items) => {
                let mut out = Cols::known(Vec::new());
                for (i, it) in items.iter().enumerate() {
                    if matches!(it.expr.kind, ExprKind::Star) {
                        return cols;
                    }
                    self.expr(&it.expr, &cols);
                    self.add_named(&mut out, it, &format!("Column{}", i + 1));
                }
                out
            }
            OpKind::Count => Cols::known(vec!["Count".into()]),
            OpKind::Join(j) => self.join(j, cols, false),
            OpKind::Lookup(j) => self.join(j, cols, true),
            OpKind::Union(u) => self.union(u, Some(cols)),
            OpKind::MvExpand(m) => self.mv_expand(&m.items, m.with_itemindex.as_ref(), cols),
            OpKind::MvApply(m) => {
                let expanded = self.mv_expand(&m.items, m.with_itemindex.as_ref(), cols.clone());
                let sub = self.ops(&m.subquery, expanded);
                let mut out = cols;
                out.open |= sub.open;
                for n in sub.names {
                    out.add(n);
                }
                out
            }
            OpKind::Parse(p) | OpKind::ParseWhere(p) => {
                self.expr(&p.expr, &cols);
                let mut out = cols;
                for part in &p.pattern {
                    if let ParsePart::Column { name, .. } = part {
                        out.add(name.name.clone());
                    }
                }
                out
            }
            OpKind::ParseKv(p) => {
                self.expr(&p.expr, &cols);
                let mut out = cols;
                for c in &p.columns {
                    out.add(c.name.name.clone());
                }
                out
            }
            OpKind::Evaluate(e) => {
                // Plugin arguments may name columns of other tables (ipv4_lookup, ...).
                for a in &e.args {
                    self.expr(a, &Cols::open());
                }
                let mut out = cols;
                out.open = true;
                out
            }
            OpKind::MakeSeries(m) => self.make_series(m, &cols),
            OpKind::TopNested(levels) => {
                let mut out = Cols::known(Vec::new());
                for l in levels {
                    self.expr(&l.of.expr, &cols);
                    self.expr(&l.by.expr, &cols);
                    if let Some(c) = &l.count {
                        self.expr(c, &Cols::known(Vec::new()));
                    }
                    self.add_named(&mut out, &l.of, "Column");
                }
                out.open = true;
                out
            }
            OpKind::TopHitters { count, of, by } => {
                self.expr(count, &Cols::known(Vec::new()));
                self.expr(of, &cols);
                if let Some(b) = by {
                    self.expr(b, &cols);
                }
                Cols::open()
            }
            OpKind::As { name, .. } => {
                self.bind(&name.name, Bound::Tabular(cols.clone()));
                cols
            }
            OpKind::Invoke { name, args } => {
                for a in args {
                    self.expr(a, &cols);
                }
                match self.lookup(&name.name) {
                    Some(Bound::TabularFn(c)) if !c.open => c.clone(),
                    _ => {
                        let mut out = cols;
                        out.open = true;
                        out
                    }
                }
            }
            OpKind::SampleDistinct { count, of } => {
                self.expr(count, &Cols::known(Vec::new()));
                self.expr(of, &cols);
                let mut out = Cols::known(Vec::new());
                if let Some(n) = of.derived_name() {
                    out.add(n);
                } else {
                    out.open = true;
                }
                out
            }
            OpKind::GetSchema => {
                Cols::known(["ColumnName", "ColumnOrdinal", "DataType", "ColumnType"].map(String::from).to_vec())
            }
            OpKind::Render { .. } | OpKind::Consume => cols,
            OpKind::Search(s) => {
                self.expr(&s.predicate, &Cols::open());
                let mut out = cols;
                out.add("$table".into());
                out
            }
            OpKind::Find(f) => {
                self.expr(&f.predicate, &Cols::open());
                Cols::open()
            }
            OpKind::Facet { columns, .. } => {
                for c in columns {
                    self.column_ref(c, &cols);
                }
                Cols::open()
            }
            OpKind::Partition { by, subquery, .. } => {
                self.column_ref(by, &cols);
                self.ops(subquery, cols)
            }
            OpKind::Scan(s) => {
                let mut inner = cols.clone();
                for p in &s.declare {
                    inner.add(p.name.name.clone());
                }
                for st in &s.steps {
                    inner.add(st.name.name.clone());
                }
                for k in &s.order_by {
                    self.expr(&k.expr, &cols);
                }
                for st in &s.steps {
                    self.expr(&st.predicate, &inner);
                    for a in &st.assignments {
                        self.expr(&a.expr, &inner);
                    }
                }
                let mut out = cols;
                for p in &s.declare {
                    out.add(p.name.name.clone());
                }
                out.open = true;
                out
            }
            OpKind::Fork(branches) => {
                for b in branches {
                    self.ops(b, cols.clone());
                }
                Cols::open()
            }
            OpKind::Raw { .. } => Cols::open(),
        }
    }

    fn pattern_exists(&mut self, p: &NamePattern, cols: &Cols) {
        if p.has_wildcard() || cols.open || cols.has(&p.pattern) {
            return;
        }
        let id = Ident { name: p.pattern.clone(), span: p.span };
        self.unknown_column(&id, cols);
    }

    fn column_ref(&mut self, id: &Ident, cols: &Cols) {
        if cols.open || cols.has(&id.name) || self.lookup(&id.name).is_some() {
            return;
        }
        self.unknown_column(id, cols);
    }

    fn unknown_column(&mut self, id: &Ident, cols: &Cols) {
        let mut cands: Vec<&str> = cols.names.iter().map(String::as_str).collect();
        let lets: Vec<String> = self.scopes.iter().flat_map(|s| s.keys().cloned()).collect();
        cands.extend(lets.iter().map(String::as_str));
        let suggestion = closest(&id.name, cands.into_iter());
        let hint = suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
        self.error(
            CheckErrorKind::UnknownColumn,
            id.span,
            format!("unknown column or variable '{}'{hint}", id.name),
            suggestion,
        );
    }

    fn summarize(&mut self, aggs: &[NamedExpr], by: &[NamedExpr], cols: &Cols) -> Cols {
        let mut out = Cols::known(Vec::new());
        for (i, b) in by.iter().enumerate() {
            self.expr(&b.expr, cols);
            if b.names.is_empty() {
                match by_name(&b.expr) {
                    Some(n) => out.add(n),
                    None => {
                        out.add(format!("Column{}", i + 1));
                        out.open = true;
                    }
                }
            } else {
                for n in &b.names {
                    out.add(n.name.clone());
                }
            }
        }
        for a in aggs {
            self.expr(&a.expr, cols);
            if a.names.len() == 1 && is_arg_extreme(&a.expr) {
                // `X = arg_max(T, a, b)`: X names the T column; a and b keep their names.
                out.add_unique(a.names[0].name.clone());
                if let ExprKind::Call { args, .. } = &a.expr.kind {
                    self.arg_extreme_columns(args.get(1..).unwrap_or(&[]), cols, &mut out);
                }
                continue;
            }
            if !a.names.is_empty() {
                for n in &a.names {
                    out.add(n.name.clone());
                }
                continue;
            }
            self.aggregate_columns(&a.expr, cols, &mut out);
        }
        out
    }

    /// Columns produced by an unnamed aggregate, following Kusto's default naming.
    fn aggregate_columns(&mut self, e: &Expr, input: &Cols, out: &mut Cols) {
        let ExprKind::Call { name, args } = &e.kind else {
            out.open = true;
            return;
        };
        let f = name.name.as_str();
        if is_arg_extreme(e) {
            self.arg_extreme_columns(args, input, out);
            return;
        }
        if matches!(f, "take_any" | "any" | "take_anyif" | "anyif") {
            for a in args {
                match (&a.kind, a.derived_name()) {
                    (ExprKind::Star, _) => {
                        out.open |= input.open;
                        for n in &input.names {
                            out.add(n.clone());
                        }
                    }
                    (_, Some(n)) => out.add(n.clone()),
                    _ => out.open = true,
                }
                if f.ends_with("if") {
                    break;
                }
            }
            return;
        }
        let prefix = match f {
            "make_list" | "makelist" | "make_list_with_nulls" | "make_list_if" => "list",
            "make_set" | "makeset" | "make_set_if" => "set",
            "make_bag" | "make_bag_if" => "bag",
            "count" | "countif" | "dcount" | "dcountif" | "sum" | "sumif" | "avg" | "avgif" | "min" | "max"
            | "minif" | "maxif" | "stdev" | "stdevp" | "variance" | "variancep" | "stdevif" | "varianceif"
            | "count_distinct" | "percentile" | "hll" | "tdigest" => f,
            _ => {
                out.open = true;
                return;
            }
        };
        let arg = args.first().and_then(Expr::derived_name).unwrap_or_default();
        let mut n = format!("{prefix}_{arg}");
        // Duplicates get numeric suffixes: countif_, countif_1, ...
        if out.has(&n) {
            let base = n.clone();
            let mut k = 1;
            while out.has(&format!("{base}{k}")) {
                k += 1;
            }
            n = format!("{base}{k}");
        }
        out.add(n);
    }

    /// Columns listed in `arg_max(...)` / `arg_min(...)` (`*` = every input column).
    fn arg_extreme_columns(&mut self, args: &[Expr], input: &Cols, out: &mut Cols) {
        for a in args {
            match &a.kind {
                ExprKind::Star => {
                    out.open |= input.open;
                    for n in &input.names {
                        if !out.has(n) {
                            out.add(n.clone());
                        }
                    }
                }
                _ => match a.derived_name() {
                    Some(n) => out.add_unique(n),
                    None => out.open = true,
                },
            }
        }
    }

    fn make_series(&mut self, m: &MakeSeriesOp, cols: &Cols) -> Cols {
        let mut out = Cols::known(Vec::new());
        for b in &m.by {
            self.expr(&b.expr, cols);
            match (b.names.first(), by_name(&b.expr)) {
                (Some(n), _) => out.add(n.name.clone()),
                (None, Some(n)) => out.add(n),
                _ => out.open = true,
            }
        }
        self.expr(&m.on, cols);
        match m.on.derived_name() {
            Some(n) => out.add(n),
            None => out.open = true,
        }
        let none = Cols::known(Vec::new());
        for e in [&m.from, &m.to].into_iter().flatten() {
            self.expr(e, &none);
        }
        self.expr(&m.step, &none);
        for a in &m.aggs {
            self.expr(&a.expr, cols);
            match &a.name {
                Some(n) => out.add(n.name.clone()),
                None => self.aggregate_columns(&a.expr, cols, &mut out),
            }
        }
        out
    }

    fn join(&mut self, j: &JoinOp, left: Cols, lookup: bool) -> Cols {
        let right = self.tabular(&j.right);
        for k in &j.on {
            if !left.open && !left.has(&k.left.name) {
                self.unknown_column(&k.left, &left);
            }
            if !right.open && !right.has(&k.right.name) {
                self.unknown_column(&k.right, &right);
            }
        }
        match j.kind {
            JoinKind::LeftAnti | JoinKind::LeftSemi if !lookup => return left,
            JoinKind::RightAnti | JoinKind::RightSemi if !lookup => return right,
            _ => {}
        }
        let mut out = left.clone();
        out.open |= right.open;
        let same_keys: HashSet<&str> =
            j.on.iter().filter(|k| k.left.name == k.right.name).map(|k| k.left.name.as_str()).collect();
        for n in right.names {
            if lookup && same_keys.contains(n.as_str()) {
                continue;
            }
            if out.has(&n) {
                // Right-side duplicates are renamed Name1, Name2, ...
                let mut k = 1;
                while out.has(&format!("{n}{k}")) {
                    k += 1;
                }
                out.add(format!("{n}{k}"));
            } else {
                out.add(n);
            }
        }
        out
    }

    fn mv_expand(&mut self, items: &[MvExpandItem], idx: Option<&Ident>, cols: Cols) -> Cols {
        let mut out = cols;
        for it in items {
            self.expr(&it.expr, &out);
            match (&it.name, it.expr.derived_name()) {
                (Some(n), _) => out.add(n.name.clone()),
                (None, Some(n)) => out.add(n),
                _ => out.open = true,
            }
        }
        if let Some(i) = idx {
            out.add(i.name.clone());
        }
        out
    }

    // ------------------------------------------------------------------ scalar expressions

    fn expr(&mut self, e: &Expr, cols: &Cols) {
        self.depth += 1;
        if self.depth <= MAX_CHECK_DEPTH {
            self.expr_inner(e, cols);
        }
        self.depth -= 1;
    }

    fn expr_inner(&mut self, e: &Expr, cols: &Cols) {
        match &e.kind {
            ExprKind::Literal(_) | ExprKind::Star | ExprKind::TypeOf(_) => {}
            ExprKind::Name(id) => self.name_ref(id, cols),
            ExprKind::Call { name, args } => self.call(name, args, cols),
            ExprKind::Unary { expr, .. } => self.expr(expr, cols),
            ExprKind::Binary { left, right, .. } => {
                self.expr(left, cols);
                self.expr(right, cols);
            }
            ExprKind::InList { expr, list, .. } => {
                self.expr(expr, cols);
                for item in list {
                    match &item.kind {
                        // A table name in a list means "its single column".
                        ExprKind::Name(id) if self.schema.table(&id.name).is_some() => {}
                        _ => self.expr(item, cols),
                    }
                }
            }
            ExprKind::Between { expr, low, high, .. } => {
                self.expr(expr, cols);
                self.expr(low, cols);
                self.expr(high, cols);
            }
            ExprKind::Member { expr, .. } => self.member_base(expr, cols),
            ExprKind::Index { expr, index } => {
                self.member_base(expr, cols);
                self.expr(index, cols);
            }
            ExprKind::ToScalar(t) | ExprKind::Subquery(t) => {
                self.tabular(t);
            }
            ExprKind::NamedArg { value, .. } => {
                // Plugin named arguments may name output columns; only check non-names.
                if !matches!(value.kind, ExprKind::Name(_)) {
                    self.expr(value, cols);
                }
            }
            ExprKind::Tuple(items) => {
                for i in items {
                    self.expr(i, cols);
                }
            }
        }
    }

    /// Base of `a.b` / `a["k"]`: `$left` / `$right` are join-only pseudo tables.
    fn member_base(&mut self, base: &Expr, cols: &Cols) {
        if let ExprKind::Name(id) = &base.kind {
            if id.name == "$left" || id.name == "$right" {
                return;
            }
            // `Table.Column` style references are rare but valid in some contexts.
            if self.schema.table(&id.name).is_some() {
                return;
            }
        }
        self.expr(base, cols);
    }

    fn name_ref(&mut self, id: &Ident, cols: &Cols) {
        if cols.open || cols.has(&id.name) || self.lookup(&id.name).is_some() {
            return;
        }
        if id.name.starts_with('$') {
            return;
        }
        self.unknown_column(id, cols);
    }

    fn call(&mut self, name: &Ident, args: &[Expr], cols: &Cols) {
        // First argument is a column *name* given as a string, or may not exist.
        if name.name == "column_ifexists" {
            for a in args.iter().skip(1) {
                self.expr(a, cols);
            }
            return;
        }
        if AH_TABULAR_FUNCTIONS.contains(&name.name.as_str()) {
            for a in args {
                self.expr(a, &Cols::open());
            }
            return;
        }
        for a in args {
            self.expr(a, cols);
        }
    }
}

fn is_arg_extreme(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { name, .. } if matches!(name.name.as_str(), "arg_max" | "arg_min" | "argmax" | "argmin"))
}

/// Name Kusto gives an unnamed `by` expression: a column keeps its name; `bin(X, ..)`,
/// `tostring(X)` and other calls take the name of their first column argument.
fn by_name(e: &Expr) -> Option<String> {
    if let Some(n) = e.derived_name() {
        return Some(n);
    }
    match &e.kind {
        ExprKind::Call { args, .. } => args.first().and_then(by_name),
        _ => None,
    }
}

/// Closest candidate by edit distance (case-insensitive match first), if plausibly a typo.
fn closest<'a>(name: &str, cands: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in cands {
        if c == name {
            continue;
        }
        let d = if c.to_lowercase() == lower { 0 } else { edit_distance(&lower, &c.to_lowercase()) };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (name.chars().count() / 3).clamp(1, 4);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c.to_string())
}

/// Levenshtein distance (two-row dynamic programming).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse_query;

    fn errs(q: &str) -> Vec<CheckError> {
        let query = parse_query(q).expect("parses");
        check(&query, &Schema::defender())
    }

    #[test]
    fn clean_query_has_no_errors() {
        let q = "DeviceProcessEvents | where Timestamp > ago(1d) | summarize c = count() by DeviceName | where c > 5";
        assert!(errs(q).is_empty(), "{:?}", errs(q));
    }

    #[test]
    fn unknown_table_with_suggestion() {
        let e = errs("DeviceProcesEvents | take 1");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, CheckErrorKind::UnknownTable);
        assert_eq!(e[0].suggestion.as_deref(), Some("DeviceProcessEvents"));
    }

    #[test]
    fn unknown_column_with_position() {
        let q = "DeviceProcessEvents\n| where FileNam == 'x'";
        let e = errs(q);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].suggestion.as_deref(), Some("FileName"));
        assert_eq!(e[0].line_col(q), (2, 9));
    }

    #[test]
    fn columns_flow_through_operators() {
        let q = "let T = DeviceNetworkEvents | project DeviceId, RemoteIP;\n\
                 T | join kind=inner (DeviceInfo | project DeviceId, OSPlatform) on DeviceId\n\
                 | extend x = strcat(RemoteIP, OSPlatform) | summarize make_set(x), count() by DeviceId1\n\
                 | project set_x, count_, DeviceId1";
        assert!(errs(q).is_empty(), "{:?}", errs(q));
        let bad = "DeviceInfo | project DeviceId | where OSPlatform == 'x'";
        assert_eq!(errs(bad).len(), 1);
    }

    #[test]
    fn dynamic_stays_lenient() {
        let q = "DeviceEvents | extend p = parse_json(AdditionalFields) | evaluate bag_unpack(p) | where Anything == 1";
        assert!(errs(q).is_empty(), "{:?}", errs(q));
        let q2 = "DeviceEvents | where AdditionalFields.Foo.Bar == 1 and AdditionalFields['x'] == 2";
        assert!(errs(q2).is_empty());
    }
}
