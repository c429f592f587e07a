//! Keeping the archive small: compaction of a day's files into one, and retention per table.
//!
//! - **Compaction**: a partition of a past day with more than one live file, or of any day with
//!   `compact_min_files` or more, is rewritten as one file (rows sorted by `Timestamp`) named
//!   after the highest flush it holds (`part-<seq>-c.parquet`); the inputs are deleted after.
//!   A reader listing in between sees the compaction and skips the parts it holds
//!   ([`crate::layout::live_files`]), so no row is read twice, and a compaction that stops
//!   before deleting leaves only garbage that the next pass removes.
//! - **Retention**: a partition whose day is older than `today - retention(table)` is deleted.
//!
//! Run by the writer's process (one writer per archive), never concurrently with itself.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use hunt::table::Table;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Serialize;

use crate::columns::Appender;
use crate::layout::{self, PartFile, Partition};
use crate::writer::{ROW_GROUP_ROWS, encode};
use crate::{Archive, ArchiveError, table_columns};

/// What one maintenance pass did.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceReport {
    pub partitions: usize,
    /// Partitions compacted and the files they were made of.
    pub compacted: usize,
    pub files_merged: usize,
    /// Partitions deleted by retention, and their files.
    pub expired: usize,
    /// Files removed: expired, merged, or left by an interrupted compaction.
    pub files_deleted: usize,
}

impl Archive {
    /// Every partition with all its files (live or not), from one listing.
    pub async fn partitions(&self) -> Result<BTreeMap<Partition, Vec<(Path, PartFile)>>, ArchiveError> {
        let mut out: BTreeMap<Partition, Vec<(Path, PartFile)>> = BTreeMap::new();
        let mut listing = self.store().list(None);
        while let Some(meta) = listing.try_next().await? {
            if let Some((p, f)) = Partition::of_path(&meta.location) {
                out.entry(p).or_default().push((meta.location, f));
            }
        }
        Ok(out)
    }

    /// One pass of retention and compaction; `today` is days since 1970-01-01.
    pub async fn maintain(&self, today: i64) -> Result<MaintenanceReport, ArchiveError> {
        let mut report = MaintenanceReport::default();
        for (partition, files) in self.partitions().await? {
            report.partitions += 1;
            let retention = self.settings().tables.get(&partition.table).copied();
            if retention.is_some_and(|days| partition.day < today - i64::from(days)) {
                for (path, _) in &files {
                    self.store().delete(path).await?;
                }
                report.expired += 1;
                report.files_deleted += files.len();
                continue;
            }
            let live = layout::live_files(files.clone());
            for (path, _) in files.iter().filter(|f| !live.contains(f)) {
                self.store().delete(path).await?;
                report.files_deleted += 1;
            }
            let due = live.len() >= self.settings().compact_min_files || (live.len() > 1 && partition.day < today);
            if due {
                report.files_merged += live.len();
                report.files_deleted += live.len();
                self.compact(&partition, &live).await?;
                report.compacted += 1;
            }
        }
        Ok(report)
    }

    /// Rewrites `live` (the partition's live files) as one, then deletes them.
    async fn compact(&self, partition: &Partition, live: &[(Path, PartFile)]) -> Result<(), ArchiveError> {
        let seq = live.iter().map(|(_, f)| f.seq).max().unwrap_or(0);
        let table = self.read_whole(partition, live).await?;
        let bytes = encode(table, ROW_GROUP_ROWS)?;
        self.store().put(&partition.compacted(seq), bytes.into()).await?;
        for (path, f) in live {
            if !(f.compacted && f.seq == seq) {
                self.store().delete(path).await?;
            }
        }
        Ok(())
    }

    async fn read_whole(&self, partition: &Partition, files: &[(Path, PartFile)]) -> Result<Table, ArchiveError> {
        let columns = table_columns(&partition.table)
            .ok_or_else(|| ArchiveError::Format(format!("{} is not a schema table", partition.table)))?;
        let mut out = Appender::new(columns);
        for (path, _) in files {
            let bytes = self.store().get(path).await?.bytes().await?;
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
            for batch in reader {
                out.append(&batch.map_err(|e| ArchiveError::Format(e.to_string()))?)?;
            }
        }
        Ok(out.finish())
    }
}
