//! Typed columns: a hunt [`Table`] as an Arrow [`RecordBatch`] and back.
//!
//! Each KQL type gets the Arrow type an outside reader (DuckDB, pandas, Spark) understands
//! without Riposte: `datetime` is a UTC nanosecond timestamp, `timespan` a nanosecond duration,
//! `guid` 16 big-endian bytes, `dynamic` its JSON text, `decimal` a float (the evaluator keeps
//! decimals as doubles too). Kusto strings are never null, so string columns are non-null and a
//! missing value is `""`. A datetime outside Arrow's nanosecond range (before 1677 or after
//! 2262) is stored as null: no event Defender streams is that far off.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{FixedSizeBinaryBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DurationNanosecondArray, FixedSizeBinaryArray, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use hunt::table::{Column, ColumnData, Table};
use hunt::value::{Dyn, Type, UNIX_EPOCH_TICKS};

use crate::ArchiveError;

/// The Arrow type a KQL column is stored as.
pub fn arrow_type(ty: Type) -> DataType {
    match ty {
        Type::Bool => DataType::Boolean,
        Type::Int => DataType::Int32,
        Type::Long => DataType::Int64,
        Type::Real | Type::Decimal => DataType::Float64,
        Type::String | Type::Dynamic => DataType::Utf8,
        Type::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        Type::TimeSpan => DataType::Duration(TimeUnit::Nanosecond),
        Type::Guid => DataType::FixedSizeBinary(16),
    }
}

/// The Arrow schema of a table's columns (name, KQL type).
pub fn arrow_schema(columns: &[(String, Type)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|(n, t)| Field::new(n, arrow_type(*t), *t != Type::String)).collect::<Vec<_>>(),
    ))
}

/// Ticks since 0001-01-01 → nanoseconds since 1970 (None when out of Arrow's range).
pub fn ticks_to_nanos(t: i64) -> Option<i64> {
    t.checked_sub(UNIX_EPOCH_TICKS)?.checked_mul(100)
}

pub fn nanos_to_ticks(n: i64) -> i64 {
    n / 100 + UNIX_EPOCH_TICKS
}

/// A table as one record batch, columns in `schema`'s order (missing columns are null).
pub fn to_batch(table: &Table, schema: &SchemaRef) -> Result<RecordBatch, ArchiveError> {
    let rows = table.num_rows();
    let arrays: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match table.column(f.name()) {
            Some(c) => to_array(c),
            None => to_array(&Column::nulls(f.name().clone(), kql_type(f.data_type()), rows)),
        })
        .collect();
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| ArchiveError::Format(e.to_string()))
}

fn to_array(c: &Column) -> ArrayRef {
    match &*c.data {
        ColumnData::Bool(v) => Arc::new(v.iter().copied().collect::<BooleanArray>()),
        ColumnData::Int(v) => Arc::new(v.iter().copied().collect::<Int32Array>()),
        ColumnData::Long(v) => Arc::new(v.iter().copied().collect::<Int64Array>()),
        ColumnData::Real(v) => Arc::new(v.iter().copied().collect::<Float64Array>()),
        ColumnData::String(v) => {
            let bytes = v.iter().map(|s| s.len()).sum();
            let mut b = StringBuilder::with_capacity(v.len(), bytes);
            v.iter().for_each(|s| b.append_value(s));
            Arc::new(b.finish())
        }
        ColumnData::DateTime(v) => Arc::new(
            v.iter().map(|t| t.and_then(ticks_to_nanos)).collect::<TimestampNanosecondArray>().with_timezone("UTC"),
        ),
        ColumnData::TimeSpan(v) => {
            Arc::new(v.iter().map(|t| t.and_then(|t| t.checked_mul(100))).collect::<DurationNanosecondArray>())
        }
        ColumnData::Guid(v) => {
            let mut b = FixedSizeBinaryBuilder::with_capacity(v.len(), 16);
            for g in v {
                match g {
                    Some(g) => b.append_value(g.to_be_bytes()).expect("16 bytes for a 16-byte column"),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        ColumnData::Dynamic(v) => {
            let mut b = StringBuilder::with_capacity(v.len(), v.len() * 16);
            for d in v {
                match d {
                    Dyn::Null => b.append_null(),
                    d => b.append_value(d.to_json()),
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// The KQL type an Arrow type was written from.
pub fn kql_type(dt: &DataType) -> Type {
    match dt {
        DataType::Boolean => Type::Bool,
        DataType::Int32 => Type::Int,
        DataType::Int64 => Type::Long,
        DataType::Float64 => Type::Real,
        DataType::Timestamp(..) => Type::DateTime,
        DataType::Duration(_) => Type::TimeSpan,
        DataType::FixedSizeBinary(16) => Type::Guid,
        _ => Type::String,
    }
}

/// Appends a record batch's columns to `out` (one [`ColumnData`] per wanted column, in order).
/// `types` gives each column's KQL type (string vs dynamic share Utf8). Strings are interned
/// per column while the intern table stays small, so a day of repeated device names costs one
/// allocation per distinct name rather than one per row.
pub struct Appender {
    columns: Vec<(String, Type)>,
    data: Vec<ColumnData>,
    interns: Vec<HashMap<Box<str>, Arc<str>>>,
}

/// Distinct strings kept per column for interning; past this, values are copied as they come.
const INTERN_LIMIT: usize = 4096;

impl Appender {
    pub fn new(columns: Vec<(String, Type)>) -> Appender {
        let data = columns.iter().map(|(_, t)| ColumnData::new(*t, 0)).collect();
        let interns = columns.iter().map(|_| HashMap::new()).collect();
        Appender { columns, data, interns }
    }

    pub fn append(&mut self, batch: &RecordBatch) -> Result<(), ArchiveError> {
        for (i, (name, ty)) in self.columns.iter().enumerate() {
            let Some(array) = batch.column_by_name(name) else {
                (0..batch.num_rows()).for_each(|_| self.data[i].push_null());
                continue;
            };
            append_array(&mut self.data[i], *ty, array.as_ref(), &mut self.interns[i])?;
        }
        Ok(())
    }

    pub fn finish(self) -> Table {
        Table::new(self.columns.into_iter().zip(self.data).map(|((n, t), d)| Column::with_data(n, t, d)).collect())
    }
}

fn downcast<T: 'static>(a: &dyn Array) -> Result<&T, ArchiveError> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| ArchiveError::Format(format!("unexpected column type {}", a.data_type())))
}

fn append_array(
    out: &mut ColumnData,
    ty: Type,
    a: &dyn Array,
    interns: &mut HashMap<Box<str>, Arc<str>>,
) -> Result<(), ArchiveError> {
    match out {
        ColumnData::Bool(v) => v.extend(downcast::<BooleanArray>(a)?.iter()),
        ColumnData::Int(v) => v.extend(downcast::<Int32Array>(a)?.iter()),
        ColumnData::Long(v) => v.extend(downcast::<Int64Array>(a)?.iter()),
        ColumnData::Real(v) => v.extend(downcast::<Float64Array>(a)?.iter()),
        ColumnData::DateTime(v) => {
            v.extend(downcast::<TimestampNanosecondArray>(a)?.iter().map(|n| n.map(nanos_to_ticks)))
        }
        ColumnData::TimeSpan(v) => v.extend(downcast::<DurationNanosecondArray>(a)?.iter().map(|n| n.map(|n| n / 100))),
        ColumnData::Guid(v) => v.extend(
            downcast::<FixedSizeBinaryArray>(a)?
                .iter()
                .map(|b| b.and_then(|b| <[u8; 16]>::try_from(b).ok()).map(u128::from_be_bytes)),
        ),
        ColumnData::String(v) => {
            for s in downcast::<StringArray>(a)?.iter() {
                v.push(intern(interns, s.unwrap_or("")));
            }
        }
        ColumnData::Dynamic(v) => {
            debug_assert_eq!(ty, Type::Dynamic);
            for s in downcast::<StringArray>(a)?.iter() {
                v.push(s.and_then(Dyn::parse_json).unwrap_or(Dyn::Null));
            }
        }
    }
    Ok(())
}

fn intern(interns: &mut HashMap<Box<str>, Arc<str>>, s: &str) -> Arc<str> {
    if let Some(a) = interns.get(s) {
        return a.clone();
    }
    let a: Arc<str> = Arc::from(s);
    if interns.len() < INTERN_LIMIT {
        interns.insert(s.into(), a.clone());
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use hunt::value::Value;

    #[test]
    fn every_kql_type_round_trips() {
        let cols = vec![
            ("B".to_string(), Type::Bool),
            ("I".to_string(), Type::Int),
            ("L".to_string(), Type::Long),
            ("R".to_string(), Type::Real),
            ("S".to_string(), Type::String),
            ("T".to_string(), Type::DateTime),
            ("D".to_string(), Type::TimeSpan),
            ("G".to_string(), Type::Guid),
            ("Y".to_string(), Type::Dynamic),
        ];
        let mut b = hunt::database::TableBuilder::new(cols.clone());
        let t = hunt::value::parse_datetime("2025-03-04T05:06:07.1234567Z").unwrap();
        b.push(&[
            ("B", Value::Bool(true)),
            ("I", Value::Int(-3)),
            ("L", Value::Long(i64::MAX)),
            ("R", Value::Real(1.5)),
            ("S", Value::str("x")),
            ("T", Value::DateTime(t)),
            ("D", Value::TimeSpan(12_345)),
            ("G", Value::Guid(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
            ("Y", Value::Dynamic(Dyn::parse_json(r#"{"a":[1,"b"]}"#).unwrap())),
        ])
        .unwrap();
        b.push(&[]).unwrap();
        let table = b.finish();
        let schema = arrow_schema(&cols);
        let batch = to_batch(&table, &schema).unwrap();
        let mut app = Appender::new(cols.clone());
        app.append(&batch).unwrap();
        let back = app.finish();
        for r in 0..2 {
            assert_eq!(back.row(r), table.row(r), "row {r}");
        }
        assert_eq!(back.column("S").unwrap().get(1), Value::str(""), "strings are never null");
    }
}
