//! Hunting over the archive: the same KQL, reading as little as the query allows.
//!
//! 1. **What the query touches** ([`analyze`]): the archived tables it names; the columns it
//!    can use (every identifier and string in its text that is a column; all columns when the
//!    query can see columns it does not name: `*`, `pack_all`, `project-away`, `evaluate`,
//!    `search`, or a result that shows unnamed columns, found by running it over empty tables);
//!    and, when a table is named once and its pipeline starts with `where`, that `where`'s
//!    simple conjuncts: `Timestamp` compared with a constant (`> ago(7d)`, `between`), and
//!    `==` / `in` of a string or long column with constants. Constants are evaluated by the
//!    hunt engine itself with the run's `now()`.
//! 2. **Partitions**: only the days inside the request's `[from, to]`, narrowed by the
//!    `Timestamp` conjuncts, are listed; in each, the newest compaction and the parts after it.
//! 3. **Row groups**: a row group whose statistics exclude the time range or an equality is
//!    skipped; only the projected columns are decoded.
//! 4. **Run**: the rows inside `[from, to]` go into a hunt `Database` and the query runs there.
//!    Pushed conjuncts only skip what the query would drop, so the answer is the query's over
//!    the archived rows of the range.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bytes::Bytes;
use futures::TryStreamExt;
use hunt::ast::{BinOp, Expr, ExprKind, ListOp, OpKind, Query, SourceKind, TabularExpr};
use hunt::database::{Database, QueryError, RunOptions};
use hunt::lexer::{TokKind, tokenize};
use hunt::table::{ColumnData, Table};
use hunt::value::{Type, Value};
use object_store::ObjectStoreExt;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;
use serde::Serialize;

use crate::columns::{self, Appender};
use crate::layout::{self, Partition};
use crate::{Archive, ArchiveError, table_columns, tenant_segment};

/// One archive hunt in one tenant.
#[derive(Clone, Debug)]
pub struct ArchiveHunt {
    pub query: String,
    /// Inclusive tick range the rows' `Timestamp` must lie in.
    pub from: i64,
    pub to: i64,
    pub options: RunOptions,
}

/// What a hunt read, counted.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScanStats {
    /// Tenant × table × day directories listed.
    pub partitions: usize,
    /// Parquet files opened.
    pub files: usize,
    pub row_groups: usize,
    /// Row groups skipped by their statistics.
    pub row_groups_skipped: usize,
    /// Rows decoded, and rows inside the time range loaded into the query.
    pub rows_read: usize,
    pub rows_loaded: usize,
    pub bytes_read: u64,
    /// Per table: the columns decoded (all of them when the query may see any).
    pub columns: BTreeMap<String, Vec<String>>,
    /// Per table: the predicates pushed into the scan, as text.
    pub pushed: BTreeMap<String, Vec<String>>,
}

impl ScanStats {
    pub fn add(&mut self, other: &ScanStats) {
        self.partitions += other.partitions;
        self.files += other.files;
        self.row_groups += other.row_groups;
        self.row_groups_skipped += other.row_groups_skipped;
        self.rows_read += other.rows_read;
        self.rows_loaded += other.rows_loaded;
        self.bytes_read += other.bytes_read;
        for (t, c) in &other.columns {
            self.columns.entry(t.clone()).or_insert_with(|| c.clone());
        }
        for (t, p) in &other.pushed {
            self.pushed.entry(t.clone()).or_insert_with(|| p.clone());
        }
    }
}

/// What to read of one table.
#[derive(Clone, Debug, PartialEq)]
pub struct TablePlan {
    /// Columns to decode, in schema order.
    pub columns: Vec<(String, Type)>,
    /// Inclusive tick range to read (the request's, narrowed by the query's `Timestamp`).
    pub from: i64,
    pub to: i64,
    /// Column → values it must equal one of (from `==` / `in` in a leading `where`).
    pub equals: Vec<(String, Vec<Value>)>,
    pub pushed: Vec<String>,
}

/// The tables a query reads from the archive, and how.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub tables: BTreeMap<String, TablePlan>,
}

/// Step 1: what the query touches. Errors in the query itself come back here, before any read.
pub fn analyze(archive: &Archive, hunt: &ArchiveHunt) -> Result<Plan, ArchiveError> {
    if hunt.from > hunt.to {
        return Err(ArchiveError::invalid("from", "is after to", "give from <= to (ISO 8601 datetimes)"));
    }
    let words = words(&hunt.query);
    let schema = hunt::schema::Schema::defender();
    let mut named: Vec<&str> = schema.table_names().filter(|t| words.contains(*t)).collect();
    named.sort_unstable();
    if let Some(t) = named.iter().find(|t| !archive.keeps(t)) {
        return Err(ArchiveError::invalid(
            "query",
            format!("table {t} is not archived"),
            format!("the archive keeps {}", archive.tables().collect::<Vec<_>>().join(", ")),
        ));
    }
    let parsed = hunt::parser::parse_query(&hunt.query)
        .map_err(|e| ArchiveError::Query(QueryError::Syntax { message: e.message, line: e.line, column: e.column }))?;
    let sees_all = SEES_ALL.iter().any(|w| words.contains(*w)) || has_star(&hunt.query);
    let unnamed_in_result = unnamed_output_columns(&named, &words, hunt)?;
    let mut plan = Plan::default();
    for table in named {
        let all = table_columns(table).expect("named tables are schema tables");
        let columns: Vec<(String, Type)> = if sees_all || unnamed_in_result.contains(table) {
            all
        } else {
            // `Timestamp` always: the request's range is applied to it after the scan.
            all.into_iter().filter(|(c, _)| c == "Timestamp" || words.contains(c.as_str())).collect()
        };
        let mut tp = TablePlan { columns, from: hunt.from, to: hunt.to, equals: Vec::new(), pushed: Vec::new() };
        if count_word(&hunt.query, table) == 1 {
            for conjunct in leading_conjuncts(&parsed, table) {
                push_down(conjunct, &hunt.query, &hunt.options, &mut tp);
            }
        }
        plan.tables.insert(table.to_string(), tp);
    }
    Ok(plan)
}

/// Words that let a query see columns it does not name.
const SEES_ALL: &[&str] =
    &["pack_all", "getschema", "evaluate", "search", "find", "project-away", "project-keep", "away", "keep"];

/// Identifiers and string literals of the query: every column it can name is among them.
fn words(query: &str) -> BTreeSet<String> {
    tokenize(query)
        .into_iter()
        .filter_map(|t| match t.kind {
            TokKind::Ident => query.get(t.span.start..t.span.end).map(str::to_string),
            TokKind::Str(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn has_star(query: &str) -> bool {
    tokenize(query).iter().any(|t| matches!(t.kind, TokKind::Star))
}

fn count_word(query: &str, word: &str) -> usize {
    tokenize(query)
        .iter()
        .filter(|t| matches!(t.kind, TokKind::Ident) && query.get(t.span.start..t.span.end) == Some(word))
        .count()
}

/// Tables whose columns show in the result without being named (`T | take 10`, a join's
/// carried columns): found by running the query over empty tables. A query the checker
/// rejects is the caller's error, returned now.
fn unnamed_output_columns(
    tables: &[&str],
    words: &BTreeSet<String>,
    hunt: &ArchiveHunt,
) -> Result<BTreeSet<String>, ArchiveError> {
    let mut db = Database::new();
    for t in tables {
        let cols = table_columns(t).expect("schema table");
        db.insert(*t, hunt::database::TableBuilder::new(cols).finish());
    }
    let out = match db.run_with(&hunt.query, &hunt.options) {
        Ok(t) => t,
        Err(e @ (QueryError::Syntax { .. } | QueryError::Semantic { .. })) => return Err(ArchiveError::Query(e)),
        // Evaluation over empty tables proves nothing: read every column.
        Err(_) => return Ok(tables.iter().map(|t| t.to_string()).collect()),
    };
    Ok(tables
        .iter()
        .filter(|t| {
            let cols = table_columns(t).expect("schema table");
            out.columns.iter().any(|c| !words.contains(&c.name) && cols.iter().any(|(n, _)| *n == c.name))
        })
        .map(|t| t.to_string())
        .collect())
}

/// The conjuncts of the `where`s that open `table`'s pipeline (top-level body, lets, extra
/// statements).
fn leading_conjuncts<'q>(q: &'q Query, table: &str) -> Vec<&'q Expr> {
    let mut pipelines: Vec<&TabularExpr> = vec![&q.body];
    pipelines.extend(q.extra_bodies.iter());
    for l in &q.lets {
        if let hunt::ast::LetValue::Tabular(t) = &l.value {
            pipelines.push(t);
        }
    }
    let mut out = Vec::new();
    for p in pipelines {
        let SourceKind::Name(name) = &p.source.kind else { continue };
        if name.name != table {
            continue;
        }
        for op in &p.ops {
            let OpKind::Where(e) = &op.kind else { break };
            split_and(e, &mut out);
        }
    }
    out
}

fn split_and<'q>(e: &'q Expr, out: &mut Vec<&'q Expr>) {
    match &e.kind {
        ExprKind::Binary { op: BinOp::And, left, right } => {
            split_and(left, out);
            split_and(right, out);
        }
        _ => out.push(e),
    }
}

/// An expression with no column in it (literals and calls of literals: `ago(7d)`,
/// `datetime(2025-01-01)`, `startofday(now())`).
fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::TypeOf(_) => true,
        ExprKind::Call { args, .. } => args.iter().all(is_constant),
        ExprKind::Unary { expr, .. } => is_constant(expr),
        ExprKind::Binary { left, right, .. } => is_constant(left) && is_constant(right),
        _ => false,
    }
}

/// A constant's value, computed by the hunt engine with the run's `now()`.
fn constant(e: &Expr, query: &str, options: &RunOptions) -> Option<Value> {
    if !is_constant(e) {
        return None;
    }
    let text = query.get(e.span.start..e.span.end)?;
    let t = Database::new().run_with(&format!("print v = {text}"), options).ok()?;
    (t.num_rows() == 1).then(|| t.columns[0].get(0))
}

fn column_of(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Name(i) => Some(&i.name),
        _ => None,
    }
}

/// Adds what the scan can use from one conjunct; anything else is left to the query.
fn push_down(e: &Expr, query: &str, options: &RunOptions, tp: &mut TablePlan) {
    let text = query.get(e.span.start..e.span.end).unwrap_or_default().to_string();
    let ty_of = |c: &str| tp.columns.iter().find(|(n, _)| n == c).map(|(_, t)| *t);
    match &e.kind {
        ExprKind::Binary { op, left, right } => {
            let (col, value, op) = match (column_of(left), column_of(right)) {
                (Some(c), None) => (c, constant(right, query, options), *op),
                (None, Some(c)) => (c, constant(left, query, options), flip(*op)),
                _ => return,
            };
            let (Some(value), Some(ty)) = (value, ty_of(col)) else { return };
            match (col, ty, op, value) {
                ("Timestamp", Type::DateTime, op, Value::DateTime(t)) => {
                    let before = (tp.from, tp.to);
                    match op {
                        BinOp::Gt | BinOp::Ge => tp.from = tp.from.max(t),
                        BinOp::Lt | BinOp::Le => tp.to = tp.to.min(t),
                        BinOp::Eq => (tp.from, tp.to) = (tp.from.max(t), tp.to.min(t)),
                        _ => return,
                    }
                    if before != (tp.from, tp.to) {
                        tp.pushed.push(text);
                    }
                }
                (_, Type::String, BinOp::Eq, v @ Value::String(_)) | (_, Type::Long, BinOp::Eq, v @ Value::Long(_)) => {
                    tp.equals.push((col.to_string(), vec![v]));
                    tp.pushed.push(text);
                }
                _ => {}
            }
        }
        ExprKind::Between { expr, low, high, negated: false } if column_of(expr) == Some("Timestamp") => {
            if let (Some(Value::DateTime(lo)), Some(Value::DateTime(hi))) =
                (constant(low, query, options), constant(high, query, options))
            {
                tp.from = tp.from.max(lo);
                tp.to = tp.to.min(hi);
                tp.pushed.push(text);
            }
        }
        ExprKind::InList { op: ListOp::In, expr, list } => {
            let Some(col) = column_of(expr) else { return };
            let Some(ty) = ty_of(col).filter(|t| matches!(t, Type::String | Type::Long)) else { return };
            let mut values = Vec::new();
            for item in list {
                match constant(item, query, options) {
                    Some(v @ Value::String(_)) if ty == Type::String => values.push(v),
                    Some(v @ Value::Long(_)) if ty == Type::Long => values.push(v),
                    _ => return,
                }
            }
            if !values.is_empty() {
                tp.equals.push((col.to_string(), values));
                tp.pushed.push(text);
            }
        }
        _ => {}
    }
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        other => other,
    }
}

impl Archive {
    /// Runs `hunt` over one tenant's archived rows. The answer and what was read.
    pub async fn hunt(&self, tenant: &str, hunt: &ArchiveHunt) -> Result<(Table, ScanStats), ArchiveError> {
        let plan = analyze(self, hunt)?;
        let mut stats = ScanStats::default();
        let mut db = Database::new();
        for (table, tp) in &plan.tables {
            let loaded = self.scan(tenant, table, tp, hunt, &mut stats).await?;
            stats.columns.insert(table.clone(), tp.columns.iter().map(|(c, _)| c.clone()).collect());
            if !tp.pushed.is_empty() {
                stats.pushed.insert(table.clone(), tp.pushed.clone());
            }
            db.insert(table.clone(), loaded);
        }
        let query = hunt.query.clone();
        let options = hunt.options.clone();
        let table = tokio::task::spawn_blocking(move || db.run_with(&query, &options))
            .await
            .map_err(|e| ArchiveError::Storage(format!("the query task failed: {e}")))?
            .map_err(ArchiveError::Query)?;
        Ok((table, stats))
    }

    /// Steps 2 and 3 for one table: the rows of `[hunt.from, hunt.to]` in the partitions and
    /// row groups the plan needs.
    async fn scan(
        &self,
        tenant: &str,
        table: &str,
        tp: &TablePlan,
        hunt: &ArchiveHunt,
        stats: &mut ScanStats,
    ) -> Result<Table, ArchiveError> {
        let mut appender = Appender::new(tp.columns.clone());
        if tp.from <= tp.to {
            let tenant = tenant_segment(tenant);
            for day in layout::day_of_ticks(tp.from)..=layout::day_of_ticks(tp.to) {
                let p = Partition { tenant: tenant.clone(), table: table.to_string(), day };
                let files = self.files_of(&p).await?;
                stats.partitions += usize::from(!files.is_empty());
                for (path, _) in files {
                    let bytes = self.store().get(&path).await?.bytes().await?;
                    stats.files += 1;
                    stats.bytes_read += bytes.len() as u64;
                    // Decoding is CPU work: off the async runtime, the appender moved in and back.
                    let plan = tp.clone();
                    let mut counted = std::mem::take(stats);
                    let decoded = tokio::task::spawn_blocking(move || {
                        let result = read_file(bytes, &plan, &mut appender, &mut counted);
                        (appender, counted, result)
                    })
                    .await
                    .map_err(|e| ArchiveError::Format(format!("decoding {path}: {e}")))?;
                    (appender, *stats) = (decoded.0, decoded.1);
                    decoded.2?;
                }
            }
        }
        let loaded = appender.finish();
        let loaded = restrict(loaded, hunt.from, hunt.to);
        stats.rows_loaded += loaded.num_rows();
        Ok(loaded)
    }

    /// The live files of a partition (an empty list when the day has none).
    pub async fn files_of(
        &self,
        p: &Partition,
    ) -> Result<Vec<(object_store::path::Path, layout::PartFile)>, ArchiveError> {
        let prefix = p.prefix();
        let files: Vec<_> = self
            .store()
            .list(Some(&prefix))
            .try_filter_map(|m| async move { Ok(Partition::of_path(&m.location).map(|(_, f)| (m.location, f))) })
            .try_collect()
            .await?;
        Ok(layout::live_files(files))
    }
}

/// Decodes the row groups of one file the plan cannot rule out, projected.
fn read_file(bytes: Bytes, tp: &TablePlan, out: &mut Appender, stats: &mut ScanStats) -> Result<(), ArchiveError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let arrow_schema = builder.schema().clone();
    let parquet_schema = builder.parquet_schema();
    let mut keep = Vec::new();
    for (i, rg) in builder.metadata().row_groups().iter().enumerate() {
        stats.row_groups += 1;
        if may_match(rg, tp) {
            keep.push(i);
            stats.rows_read += rg.num_rows() as usize;
        } else {
            stats.row_groups_skipped += 1;
        }
    }
    if keep.is_empty() {
        return Ok(());
    }
    let indices: Vec<usize> =
        tp.columns.iter().filter_map(|(c, _)| arrow_schema.fields().iter().position(|f| f.name() == c)).collect();
    let mask = ProjectionMask::roots(parquet_schema, indices);
    let reader = builder.with_row_groups(keep).with_projection(mask).with_batch_size(64 * 1024).build()?;
    for batch in reader {
        out.append(&batch.map_err(|e| ArchiveError::Format(e.to_string()))?)?;
    }
    Ok(())
}

/// False when the row group's statistics prove no row can pass the pushed predicates.
fn may_match(rg: &RowGroupMetaData, tp: &TablePlan) -> bool {
    let stats_of =
        |name: &str| rg.columns().iter().find(|c| c.column_path().string() == name).and_then(|c| c.statistics());
    if let Some(Statistics::Int64(s)) = stats_of("Timestamp")
        && let (Some(min), Some(max)) = (s.min_opt(), s.max_opt())
    {
        let from = columns::ticks_to_nanos(tp.from).unwrap_or(i64::MIN);
        let to = columns::ticks_to_nanos(tp.to).unwrap_or(i64::MAX);
        if *max < from || *min > to {
            return false;
        }
    }
    for (col, values) in &tp.equals {
        let in_range = match stats_of(col) {
            Some(Statistics::ByteArray(s)) => match (s.min_bytes_opt(), s.max_bytes_opt()) {
                (Some(min), Some(max)) => values.iter().any(|v| match v {
                    Value::String(x) => x.as_bytes() >= min && x.as_bytes() <= max,
                    _ => true,
                }),
                _ => true,
            },
            Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(min), Some(max)) => values.iter().any(|v| match v {
                    Value::Long(x) => x >= min && x <= max,
                    _ => true,
                }),
                _ => true,
            },
            _ => true,
        };
        if !in_range {
            return false;
        }
    }
    true
}

/// Keeps the rows whose `Timestamp` lies in `[from, to]` (a table without one is kept whole).
fn restrict(table: Table, from: i64, to: i64) -> Table {
    let Some(ColumnData::DateTime(ts)) = table.column("Timestamp").map(|c| &*c.data) else {
        return table;
    };
    let idx: Vec<usize> =
        ts.iter().enumerate().filter(|(_, t)| t.is_some_and(|t| t >= from && t <= to)).map(|(i, _)| i).collect();
    if idx.len() == table.num_rows() { table } else { table.gather(&idx) }
}

/// Wall-clock time of a closure, for the bench.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}
