//! An in-memory database of named tables that answers KQL text: the API a service (the
//! sandbox's advanced hunting, a test) uses instead of loading tables from a directory.
//!
//! A run is the whole front end and back end in order: parse (syntax errors with line and
//! column), check against the schema (unknown tables / columns, with the closest name), then
//! evaluate with a fixed `now()`, a row cap and an optional deadline. Tables are shared, not
//! copied: a [`Table`]'s columns sit behind `Arc`s, so each run clones refcounts only.
//!
//! ```
//! use hunt::database::{Database, TableBuilder};
//! use hunt::value::{Type, Value};
//!
//! let mut b = TableBuilder::new([("Name", Type::String), ("Count", Type::Long)]);
//! b.push(&[("Name", Value::str("a")), ("Count", Value::Long(2))]).unwrap();
//! b.push(&[("Name", Value::str("b"))]).unwrap(); // Count is null
//! let mut db = Database::new();
//! db.insert("T", b.finish());
//! let t = db.run("T | where isnotnull(Count) | project Name").unwrap();
//! assert_eq!(t.num_rows(), 1);
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::ast::TypeName;
use crate::check::{CheckErrorKind, check};
use crate::eval::{self, Context, EvalError};
use crate::limits;
use crate::parser::parse_query;
use crate::schema::{self, Schema};
use crate::table::{Column, ColumnData, Table};
use crate::value::{Type, Value};

/// Why a query gave no table. Syntax and semantic errors carry the 1-based line and column
/// (in characters) of the offending token, so an API can point at it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("Syntax error at line {line}, column {column}: {message}")]
    Syntax { message: String, line: usize, column: usize },
    #[error("Semantic error at line {line}, column {column}: {message}")]
    Semantic {
        message: String,
        line: usize,
        column: usize,
        /// The closest known name, when the error is a likely typo.
        suggestion: Option<String>,
    },
    /// The query ran past [`RunOptions::deadline`].
    #[error("query execution exceeded the time limit")]
    Timeout,
    /// Evaluation failed (unknown function, unsupported operator, row cap, type error...).
    #[error("{0}")]
    Eval(EvalError),
}

/// Per-run knobs. `Default` = the evaluator's defaults: `now()` fixed at 2024-01-01, a
/// 50-million-row cap on intermediate results, no deadline, and a heap-growth bound of
/// [`limits::DEFAULT_MAX_MEMORY`] where the heap can be measured (see [`crate::limits`]).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `now()` in ticks since 0001-01-01 (see [`crate::value`]); `ago(7d)` is relative to it.
    pub now: Option<i64>,
    /// Upper bound on rows any operator may produce.
    pub max_rows: Option<usize>,
    /// When evaluation must stop; checked between operators and when rows are produced.
    pub deadline: Option<Instant>,
    /// Heap growth the run may cause; `None` = [`limits::DEFAULT_MAX_MEMORY`].
    pub max_memory: Option<usize>,
}

/// Named tables plus the schema queries are checked against.
#[derive(Clone, Debug)]
pub struct Database {
    tables: HashMap<String, Table>,
    schema: Schema,
}

impl Default for Database {
    fn default() -> Self {
        Database::new()
    }
}

impl Database {
    /// An empty database checked against the embedded Defender schema: tables inserted later
    /// are added to the schema with their own columns.
    pub fn new() -> Database {
        Database { tables: HashMap::new(), schema: Schema::defender() }
    }

    /// An empty database checked against `schema` only.
    pub fn with_schema(schema: Schema) -> Database {
        Database { tables: HashMap::new(), schema }
    }

    /// Adds or replaces a table. Its columns become the schema the checker uses for it, so
    /// the checker and the evaluator always agree on what exists.
    pub fn insert(&mut self, name: impl Into<String>, table: Table) {
        let name = name.into();
        let mut cols: Vec<schema::Column> =
            table.columns.iter().map(|c| schema::Column { name: c.name.clone(), ty: type_name(c.ty) }).collect();
        // Keep the checker's Sentinel-compatibility column when the schema had it, so queries
        // written against `TimeGenerated` fail at evaluation with a clear unknown-name error
        // rather than at checking with a misleading suggestion.
        if let Some(old) = self.schema.table(&name) {
            for c in old {
                if c.name == "TimeGenerated" && !cols.iter().any(|x| x.name == c.name) {
                    cols.push(c.clone());
                }
            }
        }
        self.schema.insert_table(&name, cols);
        self.tables.insert(name, table);
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// A copy in which every table that has a datetime column `column` keeps only the rows
    /// where it lies in `[from, to]` (ticks). Tables without that column are kept whole. Used
    /// for a request-level time range, such as Graph hunting's `Timespan`.
    pub fn restrict_time(&self, column: &str, from: i64, to: i64) -> Database {
        let mut out = self.clone();
        for t in out.tables.values_mut() {
            let Some(c) = t.column(column) else { continue };
            let ColumnData::DateTime(v) = &*c.data else { continue };
            let idx: Vec<usize> =
                v.iter().enumerate().filter(|(_, x)| x.is_some_and(|x| x >= from && x <= to)).map(|(i, _)| i).collect();
            if idx.len() != t.num_rows() {
                *t = t.gather(&idx);
            }
        }
        out
    }

    /// Runs `query` with default options.
    pub fn run(&self, query: &str) -> Result<Table, QueryError> {
        self.run_with(query, &RunOptions::default())
    }

    /// Parses, checks and evaluates `query` on a thread of its own with a known stack, under
    /// the bounds of [`crate::limits`], whatever thread calls it.
    pub fn run_with(&self, query: &str, opts: &RunOptions) -> Result<Table, QueryError> {
        let mut out = None;
        let ran = limits::on_query_thread(|| {
            out = Some(self.run_here(query, opts));
            Ok(())
        });
        match (ran, out) {
            (_, Some(result)) => result,
            (Err(e), None) => Err(QueryError::Eval(e)),
            (Ok(()), None) => Err(QueryError::Eval(EvalError::Invalid("the query produced no result".into()))),
        }
    }

    /// [`Database::run_with`] on the calling thread.
    fn run_here(&self, query: &str, opts: &RunOptions) -> Result<Table, QueryError> {
        let parsed = parse_query(query).map_err(|e| QueryError::Syntax {
            message: e.message,
            line: e.line,
            column: e.column,
        })?;
        if let Some(e) = check(&parsed, &self.schema).into_iter().next() {
            let (line, column) = e.line_col(query);
            let message = match (&e.kind, &e.suggestion) {
                (CheckErrorKind::Invalid, _) | (_, None) => e.message.clone(),
                (_, Some(s)) => format!("{} (did you mean '{s}'?)", e.message),
            };
            return Err(QueryError::Semantic { message, line, column, suggestion: e.suggestion });
        }
        let defaults = Context::default();
        let ctx = Context {
            tables: self.tables.clone(),
            now: opts.now.unwrap_or(defaults.now),
            max_rows: opts.max_rows.or(defaults.max_rows),
            source: Some(Arc::from(query)),
            deadline: opts.deadline,
            memory: limits::MemoryBudget::start(opts.max_memory.unwrap_or(limits::DEFAULT_MAX_MEMORY)),
        };
        eval::run(&parsed, &ctx).map_err(|e| match e {
            EvalError::Timeout => QueryError::Timeout,
            other => QueryError::Eval(other),
        })
    }
}

/// The checker's name for a storage type.
fn type_name(t: Type) -> TypeName {
    match t {
        Type::Bool => TypeName::Bool,
        Type::Int => TypeName::Int,
        Type::Long => TypeName::Long,
        Type::Real => TypeName::Real,
        Type::Decimal => TypeName::Decimal,
        Type::String => TypeName::String,
        Type::DateTime => TypeName::DateTime,
        Type::TimeSpan => TypeName::Timespan,
        Type::Guid => TypeName::Guid,
        Type::Dynamic => TypeName::Dynamic,
    }
}

/// Builds a table row by row against a fixed column list. Cells not given in a row are null
/// (empty for strings, as in Kusto); values are converted to the column's type.
#[derive(Clone, Debug)]
pub struct TableBuilder {
    names: Vec<String>,
    types: Vec<Type>,
    data: Vec<ColumnData>,
    index: HashMap<String, usize>,
    rows: usize,
    /// Scratch: which columns the current row set.
    set: Vec<bool>,
}

impl TableBuilder {
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Type)>) -> TableBuilder {
        let (names, types): (Vec<String>, Vec<Type>) = columns.into_iter().map(|(n, t)| (n.into(), t)).unzip();
        let data = types.iter().map(|t| ColumnData::new(*t, 0)).collect();
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let set = vec![false; names.len()];
        TableBuilder { names, types, data, index, rows: 0, set }
    }

    /// A builder with the columns `schema` lists for `table` (except the checker's added
    /// `TimeGenerated`), or `None` for an unknown table.
    pub fn for_table(schema: &Schema, table: &str) -> Option<TableBuilder> {
        let cols = schema.table(table)?;
        static DOCUMENTED: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
        let defender = DOCUMENTED.get_or_init(|| Schema::from_json(schema::DEFENDER_SCHEMAS_JSON).unwrap_or_default());
        let documented = defender.table(table);
        Some(TableBuilder::new(
            cols.iter()
                .filter(|c| c.name != "TimeGenerated" || documented.is_some_and(|d| d.iter().any(|x| x.name == c.name)))
                .map(|c| (c.name.clone(), eval::type_of(c.ty))),
        ))
    }

    /// Appends one row. Unknown column names are refused (nothing is appended), so a typo in
    /// a generator is an error rather than a silently empty column.
    pub fn push(&mut self, cells: &[(&str, Value)]) -> Result<(), String> {
        let mut idx = Vec::with_capacity(cells.len());
        for (name, _) in cells {
            match self.index.get(*name) {
                Some(&i) => idx.push(i),
                None => return Err(format!("unknown column `{name}`")),
            }
        }
        self.set.iter_mut().for_each(|s| *s = false);
        for (&i, (_, v)) in idx.iter().zip(cells) {
            if self.set[i] {
                continue;
            }
            self.set[i] = true;
            self.data[i].push(self.types[i], v);
        }
        for (i, set) in self.set.iter().enumerate() {
            if !set {
                self.data[i].push_null();
            }
        }
        self.rows += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn columns(&self) -> impl Iterator<Item = (&str, Type)> {
        self.names.iter().map(String::as_str).zip(self.types.iter().copied())
    }

    pub fn finish(self) -> Table {
        Table::new(
            self.names
                .into_iter()
                .zip(self.types)
                .zip(self.data)
                .map(|((n, t), d)| Column::with_data(n, t, d))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Database {
        let mut b = TableBuilder::for_table(&Schema::defender(), "DeviceInfo").expect("schema table");
        b.push(&[
            ("DeviceId", Value::str("d1")),
            ("DeviceName", Value::str("pc-1")),
            ("OSPlatform", Value::str("Windows11")),
        ])
        .unwrap();
        b.push(&[("DeviceId", Value::str("d2")), ("DeviceName", Value::str("srv-1"))]).unwrap();
        let mut db = Database::new();
        db.insert("DeviceInfo", b.finish());
        db
    }

    #[test]
    fn builder_uses_schema_columns_and_fills_nulls() {
        let d = db();
        let t = d.table("DeviceInfo").unwrap();
        assert_eq!(t.num_rows(), 2);
        assert!(t.column("TimeGenerated").is_none(), "only documented columns");
        assert_eq!(t.column("Timestamp").unwrap().ty, Type::DateTime);
        assert_eq!(t.column("OSPlatform").unwrap().get(1).to_kusto_string(), "");
        let mut b = TableBuilder::new([("A", Type::Long)]);
        assert!(b.push(&[("B", Value::Long(1))]).is_err());
        assert!(b.is_empty());
    }

    #[test]
    fn runs_queries_over_inserted_tables() {
        let d = db();
        let t = d.run("DeviceInfo | where DeviceName startswith 'srv' | project DeviceId").unwrap();
        assert_eq!(t.num_rows(), 1);
        assert_eq!(t.columns[0].get(0).to_kusto_string(), "d2");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = db().run("DeviceInfo\n| where DeviceName ==").unwrap_err();
        match err {
            QueryError::Syntax { line, column, .. } => assert_eq!((line, column), (2, 22)), // end of input,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn semantic_errors_name_the_column_and_suggest() {
        let err = db().run("DeviceInfo | where DeviceNmae == 'x'").unwrap_err();
        match err {
            QueryError::Semantic { line, column, suggestion, message } => {
                assert_eq!((line, column), (1, 20));
                assert_eq!(suggestion.as_deref(), Some("DeviceName"));
                assert!(message.contains("DeviceNmae"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deadline_in_the_past_times_out() {
        let opts = RunOptions { deadline: Some(Instant::now()), ..RunOptions::default() };
        assert_eq!(db().run_with("DeviceInfo | count", &opts).unwrap_err(), QueryError::Timeout);
    }

    #[test]
    fn row_cap_is_an_eval_error() {
        let opts = RunOptions { max_rows: Some(10), ..RunOptions::default() };
        let err = db().run_with("range x from 1 to 100 step 1", &opts).unwrap_err();
        assert_eq!(err, QueryError::Eval(EvalError::TooManyRows(10)));
    }

    #[test]
    fn restrict_time_filters_tables_with_the_column() {
        let mut b = TableBuilder::new([("Timestamp", Type::DateTime), ("N", Type::Long)]);
        for (i, day) in ["2024-01-01", "2024-01-05", "2024-01-09"].iter().enumerate() {
            let t = crate::value::parse_datetime(&format!("{day}T00:00:00Z")).unwrap();
            b.push(&[("Timestamp", Value::DateTime(t)), ("N", Value::Long(i as i64))]).unwrap();
        }
        let mut d = db();
        d.insert("E", b.finish());
        let from = crate::value::parse_datetime("2024-01-02T00:00:00Z").unwrap();
        let to = crate::value::parse_datetime("2024-01-09T00:00:00Z").unwrap();
        let r = d.restrict_time("Timestamp", from, to);
        assert_eq!(r.table("E").unwrap().num_rows(), 2);
        assert_eq!(r.table("DeviceInfo").unwrap().num_rows(), 0, "null timestamps are outside any range");
        assert_eq!(d.table("E").unwrap().num_rows(), 3, "the original is untouched");
    }

    #[test]
    fn now_is_the_callers() {
        let now = crate::value::parse_datetime("2030-05-01T00:00:00Z").unwrap();
        let opts = RunOptions { now: Some(now), ..RunOptions::default() };
        let t = db().run_with("print d = ago(1d)", &opts).unwrap();
        assert!(t.columns[0].get(0).to_kusto_string().starts_with("2030-04-30"));
    }
}
