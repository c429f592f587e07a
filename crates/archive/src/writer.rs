//! From Streaming API messages to Parquet files, exactly once.
//!
//! A message is `{"records":[{"category":"AdvancedHunting-<Table>","tenantId","time",
//! "properties":{<the row>}}]}` (Microsoft's envelope; the enrichment scanner reads the same).
//! Rows of archived tables are typed by the table's documented schema (a column the schema
//! lacks is dropped and counted; a value that does not convert is null, as Kusto ingests) and
//! buffered per tenant × table × day of their `Timestamp`.
//!
//! A flush writes one file per buffer (`part-<seq>.parquet`, rows sorted by `Timestamp`), then
//! the checkpoint `{seq, offsets}`. Offsets advance only with a checkpoint, so a crash before it
//! re-reads those records; the files it wrote carry a `seq` above the checkpoint's and are
//! deleted when the writer opens again: nothing is lost and nothing is archived twice. One
//! writer per archive location (a second would interleave sequence numbers).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::TryStreamExt;
use hunt::database::TableBuilder;
use hunt::table::{ColumnData, Table};
use hunt::value::{Dyn, Type, Value};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::layout::{self, Partition};
use crate::{Archive, ArchiveError, columns, table_columns, tenant_segment};

/// Streaming API categories are `AdvancedHunting-<Table>`.
pub const CATEGORY_PREFIX: &str = "AdvancedHunting-";
/// Rows per Parquet row group: small enough that a `Timestamp` range skips most of a day,
/// large enough to keep per-group overhead negligible.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// What the writer has seen since it opened.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WriterStats {
    pub messages: u64,
    pub records: u64,
    /// Rows buffered or written for archived tables.
    pub rows: u64,
    /// Records of tables not archived.
    pub ignored: u64,
    /// Messages or records that could not be read (not JSON, no tenant, no properties).
    pub malformed: u64,
    /// Row cells of columns the table's schema does not have.
    pub dropped_cells: u64,
    pub flushes: u64,
    pub files_written: u64,
}

/// The checkpoint: the last complete flush and where each stream partition resumes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    /// Stream partition → next offset to read.
    pub offsets: BTreeMap<i32, i64>,
}

pub struct Writer {
    archive: Archive,
    stream: String,
    committed: Checkpoint,
    /// Offsets past what is buffered (committed at the next flush).
    pending: BTreeMap<i32, i64>,
    buffers: HashMap<Partition, TableBuilder>,
    buffered_rows: usize,
    first_buffered: Option<Instant>,
    row_group_rows: usize,
    pub stats: WriterStats,
}

impl Writer {
    /// Opens the writer of `stream` (the event hub / topic name): reads its checkpoint and
    /// deletes what a flush that never reached it left behind.
    pub async fn open(archive: Archive, stream: &str) -> Result<Writer, ArchiveError> {
        let committed = read_checkpoint(archive.store().as_ref(), stream).await?;
        let orphans: Vec<_> = archive
            .store()
            .list(None)
            .try_filter_map(|m| async move {
                Ok(layout::Partition::of_path(&m.location)
                    .filter(|(_, f)| !f.compacted && f.seq > committed.seq)
                    .map(|_| m.location))
            })
            .try_collect()
            .await?;
        for path in orphans {
            tracing::warn!(%path, "archive: deleting a file of a flush that never reached its checkpoint");
            archive.store().delete(&path).await?;
        }
        let pending = committed.offsets.clone();
        Ok(Writer {
            archive,
            stream: stream.to_string(),
            committed,
            pending,
            buffers: HashMap::new(),
            buffered_rows: 0,
            first_buffered: None,
            row_group_rows: ROW_GROUP_ROWS,
            stats: WriterStats::default(),
        })
    }

    /// Row groups of this many rows (tests use small groups to see pruning).
    pub fn with_row_group_rows(mut self, rows: usize) -> Writer {
        self.row_group_rows = rows.max(1);
        self
    }

    /// Where to resume reading partition `p` (the committed offset).
    pub fn resume_offset(&self, partition: i32) -> i64 {
        self.committed.offsets.get(&partition).copied().unwrap_or(0)
    }

    /// Where to read partition `p` next (past what is buffered).
    pub fn next_offset(&self, partition: i32) -> i64 {
        self.pending.get(&partition).copied().unwrap_or(0)
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.committed
    }

    pub fn buffered_rows(&self) -> usize {
        self.buffered_rows
    }

    /// Full enough, or old enough, to write.
    pub fn should_flush(&self) -> bool {
        let s = self.archive.settings();
        self.buffered_rows >= s.flush_rows || self.first_buffered.is_some_and(|t| t.elapsed() >= s.flush_interval)
    }

    /// Offsets moved with no rows to write (a stretch of other tables' records) are
    /// checkpointed by a flush too, so a restart does not read them again.
    pub fn has_uncommitted(&self) -> bool {
        self.buffered_rows > 0 || self.pending != self.committed.offsets
    }

    /// Reads one message at `offset` of stream partition `partition`.
    pub fn ingest(&mut self, partition: i32, offset: i64, body: &[u8]) {
        self.stats.messages += 1;
        self.pending.insert(partition, offset + 1);
        let Ok(message) = serde_json::from_slice::<Json>(body) else {
            self.stats.malformed += 1;
            return;
        };
        let Some(records) = message.get("records").and_then(Json::as_array) else {
            self.stats.malformed += 1;
            return;
        };
        for record in records {
            self.stats.records += 1;
            self.ingest_record(record);
        }
    }

    fn ingest_record(&mut self, record: &Json) {
        let category = record.get("category").and_then(Json::as_str).unwrap_or_default();
        let Some(table) = category.strip_prefix(CATEGORY_PREFIX).filter(|t| self.archive.keeps(t)) else {
            self.stats.ignored += 1;
            return;
        };
        let tenant = record.get("tenantId").and_then(Json::as_str).map(tenant_segment).filter(|t| !t.is_empty());
        let (Some(tenant), Some(props)) = (tenant, record.get("properties").and_then(Json::as_object)) else {
            self.stats.malformed += 1;
            return;
        };
        let columns = table_columns(table).expect("archived tables are schema tables (checked by settings)");
        let mut cells: Vec<(&str, Value)> = Vec::with_capacity(props.len());
        for (name, raw) in props {
            match columns.iter().find(|(c, _)| c == name) {
                Some((c, ty)) => cells.push((c.as_str(), json_cell(raw, *ty))),
                None => self.stats.dropped_cells += 1,
            }
        }
        let when = cells
            .iter()
            .find(|(n, _)| *n == "Timestamp")
            .and_then(|(_, v)| match v {
                Value::DateTime(t) => Some(*t),
                _ => None,
            })
            .or_else(|| record.get("time").and_then(Json::as_str).and_then(hunt::value::parse_datetime));
        let Some(when) = when else {
            self.stats.malformed += 1;
            return;
        };
        let partition = Partition { tenant, table: table.to_string(), day: layout::day_of_ticks(when) };
        let builder = self.buffers.entry(partition).or_insert_with(|| TableBuilder::new(columns.clone()));
        if builder.push(&cells).is_ok() {
            self.buffered_rows += 1;
            self.stats.rows += 1;
            self.first_buffered.get_or_insert_with(Instant::now);
        }
    }

    /// Writes every buffer as a file of the next flush, then the checkpoint. Returns the files.
    pub async fn flush(&mut self) -> Result<usize, ArchiveError> {
        if !self.has_uncommitted() {
            return Ok(0);
        }
        let seq = self.committed.seq + 1;
        let buffers = std::mem::take(&mut self.buffers);
        let mut written = 0;
        for (partition, builder) in buffers {
            write_partition(&self.archive, &partition, builder.finish(), seq, self.row_group_rows).await?;
            written += 1;
        }
        let checkpoint = Checkpoint { seq, offsets: self.pending.clone() };
        write_checkpoint(self.archive.store().as_ref(), &self.stream, &checkpoint).await?;
        self.committed = checkpoint;
        self.buffered_rows = 0;
        self.first_buffered = None;
        self.stats.flushes += 1;
        self.stats.files_written += written as u64;
        Ok(written)
    }
}

/// A JSON cell as the column's type: nested JSON in a string column keeps its text, JSON text
/// in a dynamic column (`AdditionalFields`) is parsed, a value that does not convert is null.
pub fn json_cell(raw: &Json, ty: Type) -> Value {
    let d = Dyn::from_serde(raw);
    match (&d, ty) {
        (Dyn::Null, Type::Dynamic) => Value::Dynamic(Dyn::Null),
        (Dyn::Null, _) => Value::Null,
        (Dyn::Array(_) | Dyn::Object(_), Type::String) => Value::string(d.to_json()),
        (Dyn::String(s), Type::Dynamic) => Value::Dynamic(Dyn::parse_json(s).unwrap_or_else(|| d.clone())),
        _ => Value::from_dyn_as(&d, ty),
    }
}

/// One Parquet file for one partition: rows sorted by `Timestamp`, Snappy, statistics per
/// row group and page.
pub async fn write_partition(
    archive: &Archive,
    partition: &Partition,
    table: Table,
    seq: u64,
    row_group_rows: usize,
) -> Result<(), ArchiveError> {
    let path = partition.part(seq);
    let bytes = encode(table, row_group_rows)?;
    archive.store().put(&path, PutPayload::from_bytes(bytes)).await?;
    Ok(())
}

/// The Parquet bytes of a table (sorted by `Timestamp` first).
pub fn encode(table: Table, row_group_rows: usize) -> Result<Bytes, ArchiveError> {
    let table = sorted_by_timestamp(table);
    let cols: Vec<(String, Type)> = table.columns.iter().map(|c| (c.name.clone(), c.ty)).collect();
    let schema = columns::arrow_schema(&cols);
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(props))?;
    // Batches of one row group each bound the memory of the Arrow copy.
    let mut start = 0;
    while start < table.num_rows() || start == 0 {
        let end = (start + row_group_rows).min(table.num_rows());
        let idx: Vec<usize> = (start..end).collect();
        let slice = if start == 0 && end == table.num_rows() { table.clone() } else { table.gather(&idx) };
        writer.write(&columns::to_batch(&slice, &schema)?)?;
        if end == table.num_rows() {
            break;
        }
        start = end;
    }
    writer.close()?;
    Ok(Bytes::from(out))
}

fn sorted_by_timestamp(table: Table) -> Table {
    let Some(ColumnData::DateTime(ts)) = table.column("Timestamp").map(|c| &*c.data) else {
        return table;
    };
    if ts.is_sorted() {
        return table;
    }
    let mut idx: Vec<usize> = (0..ts.len()).collect();
    idx.sort_by_key(|&i| ts[i]);
    table.gather(&idx)
}

async fn read_checkpoint(store: &dyn ObjectStore, stream: &str) -> Result<Checkpoint, ArchiveError> {
    match store.get(&layout::checkpoint(stream)).await {
        Ok(got) => {
            let bytes = got.bytes().await?;
            serde_json::from_slice(&bytes).map_err(|e| ArchiveError::Format(format!("checkpoint of {stream}: {e}")))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(Checkpoint::default()),
        Err(e) => Err(e.into()),
    }
}

async fn write_checkpoint(store: &dyn ObjectStore, stream: &str, c: &Checkpoint) -> Result<(), ArchiveError> {
    let body = serde_json::to_vec(c).map_err(|e| ArchiveError::Format(e.to_string()))?;
    store.put(&layout::checkpoint(stream), PutPayload::from(body)).await?;
    Ok(())
}

/// Shared by the consumer and the status route.
pub type SharedStats = Arc<parking_lot::Mutex<WriterStats>>;
