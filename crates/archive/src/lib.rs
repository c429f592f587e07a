//! The hunting archive: Defender keeps advanced-hunting data 30 days; the Streaming API carries
//! every row as it happens, so Riposte keeps the rows of configured tables as Parquet files and
//! hunts over any period with the same KQL.
//!
//! The story, in order:
//! 1. **ingest** ([`writer`]): Streaming API messages (`{"records":[{category, tenantId,
//!    properties}]}`) are read by a consumer (the binary's `archive_consumer`, on the
//!    enrichment scanner's sources: Event Hubs' Kafka endpoint, the sandbox's log); rows of configured
//!    `AdvancedHunting-<Table>` categories are typed by the table's schema and buffered per
//!    tenant × table × day;
//! 2. **flush**: each buffer becomes one Parquet file (rows sorted by `Timestamp`, so row-group
//!    statistics bound time), then the checkpoint records the flush number and the stream
//!    offsets; a restart deletes files of a flush that never reached its checkpoint, so every
//!    record is archived exactly once ([`layout`] for the names);
//! 3. **maintain** ([`maintain`]): a day's small files are compacted into one; days past a
//!    table's retention are deleted;
//! 4. **hunt** ([`reader`]): a query names tables and columns; only the days inside the asked
//!    time range (narrowed by the query's own `Timestamp` filter) are listed, only the columns
//!    the query uses are decoded, row groups whose statistics exclude a leading `where`'s
//!    simple predicates are skipped; the rows are loaded into a hunt `Database` and the query
//!    runs there. What was read is counted ([`reader::ScanStats`]).
//!
//! Storage is any `object_store` (a directory by default, `{data}/archive`), as the file library.

pub mod bench;
pub mod columns;
pub mod layout;
pub mod maintain;
pub mod reader;
pub mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use hunt::schema::Schema;
use object_store::ObjectStore;
use serde::Deserialize;

pub use hunt;
pub use reader::{ArchiveHunt, ScanStats};
pub use writer::Writer;

/// Errors of the archive layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArchiveError {
    /// The caller's mistake: a field and why, with a hint.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String, hint: String },
    /// The query itself failed (syntax, semantics, evaluation) over the archived rows.
    #[error("{0}")]
    Query(hunt::database::QueryError),
    /// The object store failed (disk, bucket, network).
    #[error("archive storage: {0}")]
    Storage(String),
    /// A Parquet file could not be written or read.
    #[error("archive format: {0}")]
    Format(String),
    #[error("archive configuration: {0}")]
    Config(String),
}

impl ArchiveError {
    pub fn invalid(field: &str, message: impl Into<String>, hint: impl Into<String>) -> ArchiveError {
        ArchiveError::Invalid { field: field.into(), message: message.into(), hint: hint.into() }
    }
}

impl From<object_store::Error> for ArchiveError {
    fn from(e: object_store::Error) -> Self {
        ArchiveError::Storage(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for ArchiveError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        ArchiveError::Format(e.to_string())
    }
}

/// `[archive]` in the configuration file.
///
/// ```toml
/// [archive]
/// tables = ["DeviceProcessEvents", "DeviceNetworkEvents", "AlertEvidence"]
/// retention_days = 365                 # default for every table
/// retention = { DeviceNetworkEvents = 90 }
/// dir = "/var/lib/riposte/archive"     # default {data}/archive; or backend = "s3" + bucket, "azure" + container
/// flush_rows = 100000                  # a file per tenant x table x day at most this often
/// flush_seconds = 60
/// compact_min_files = 8                # compact today's partition once it has this many files
/// ```
///
/// The stream it reads (`[archive.kafka]`) is the binary's concern (`src/archive_consumer.rs`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// Advanced-hunting table names (`DeviceProcessEvents`) or Streaming API categories
    /// (`AdvancedHunting-DeviceProcessEvents`).
    pub tables: Vec<String>,
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Per-table retention in days, overriding `retention_days`.
    #[serde(default)]
    pub retention: BTreeMap<String, u32>,
    pub dir: Option<PathBuf>,
    /// `local` (default), `s3` or `azure` (the cargo features of the same name).
    pub backend: Option<String>,
    pub bucket: Option<String>,
    pub container: Option<String>,
    pub flush_rows: Option<usize>,
    pub flush_seconds: Option<f64>,
    pub compact_min_files: Option<usize>,
}

fn default_retention() -> u32 {
    365
}

/// What the archive keeps and for how long, checked against the schema.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Table name → retention in days.
    pub tables: BTreeMap<String, u32>,
    pub flush_rows: usize,
    pub flush_interval: std::time::Duration,
    pub compact_min_files: usize,
}

pub const DEFAULT_FLUSH_ROWS: usize = 100_000;
pub const DEFAULT_COMPACT_MIN_FILES: usize = 8;

impl ArchiveConfig {
    /// A configuration archiving `tables` with the defaults (tests, `riposte up`).
    pub fn for_tables(tables: &[&str]) -> ArchiveConfig {
        ArchiveConfig {
            tables: tables.iter().map(|t| t.to_string()).collect(),
            retention_days: default_retention(),
            retention: BTreeMap::new(),
            dir: None,
            backend: None,
            bucket: None,
            container: None,
            flush_rows: None,
            flush_seconds: None,
            compact_min_files: None,
        }
    }

    /// Table names checked against the Defender schema (an unknown name is an error naming the
    /// closest), retention per table.
    pub fn settings(&self) -> Result<Settings, ArchiveError> {
        let schema = Schema::defender();
        let mut tables = BTreeMap::new();
        if self.tables.is_empty() {
            return Err(ArchiveError::Config("archive.tables is empty: name the tables to keep".into()));
        }
        for name in &self.tables {
            let name = name.strip_prefix(writer::CATEGORY_PREFIX).unwrap_or(name);
            if schema.table(name).is_none() {
                return Err(ArchiveError::Config(format!("archive.tables: '{name}' is not an advanced-hunting table")));
            }
            tables.insert(name.to_string(), self.retention_days);
        }
        for (name, days) in &self.retention {
            match tables.get_mut(name) {
                Some(d) => *d = *days,
                None => {
                    return Err(ArchiveError::Config(format!(
                        "archive.retention names '{name}', which is not archived"
                    )));
                }
            }
        }
        if tables.values().any(|d| *d == 0) {
            return Err(ArchiveError::Config("a retention of 0 days would delete everything".into()));
        }
        let flush_interval = match self.flush_seconds {
            Some(s) if !(s.is_finite() && s >= 0.0) => {
                return Err(ArchiveError::Config(format!("archive.flush_seconds must be >= 0, got {s}")));
            }
            Some(s) => std::time::Duration::from_secs_f64(s),
            None => std::time::Duration::from_secs(60),
        };
        Ok(Settings {
            tables,
            flush_rows: self.flush_rows.unwrap_or(DEFAULT_FLUSH_ROWS).max(1),
            flush_interval,
            compact_min_files: self.compact_min_files.unwrap_or(DEFAULT_COMPACT_MIN_FILES).max(2),
        })
    }

    /// The storage backend: `dir` (default `{data}/archive`), or a bucket / container.
    pub fn backend(&self, data_dir: &std::path::Path) -> Result<library::Backend, ArchiveError> {
        match self.backend.as_deref().unwrap_or("local") {
            "local" => Ok(library::Backend::Local(self.dir.clone().unwrap_or_else(|| data_dir.join("archive")))),
            "memory" => Ok(library::Backend::Memory),
            #[cfg(feature = "s3")]
            "s3" => Ok(library::Backend::S3 {
                bucket: self
                    .bucket
                    .clone()
                    .ok_or_else(|| ArchiveError::Config("archive.bucket is required with backend = \"s3\"".into()))?,
            }),
            #[cfg(feature = "azure")]
            "azure" => Ok(library::Backend::Azure {
                container: self.container.clone().ok_or_else(|| {
                    ArchiveError::Config("archive.container is required with backend = \"azure\"".into())
                })?,
            }),
            other => Err(ArchiveError::Config(format!(
                "archive.backend '{other}' is not available in this build (local; s3 and azure need the cargo features of the same name)"
            ))),
        }
    }
}

/// An opened archive: the store and what it keeps. Cheap to clone.
#[derive(Clone)]
pub struct Archive {
    store: Arc<dyn ObjectStore>,
    settings: Arc<Settings>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("store", &self.store.to_string())
            .field("tables", &self.settings.tables)
            .finish()
    }
}

impl Archive {
    pub fn open(backend: &library::Backend, settings: Settings) -> Result<Archive, ArchiveError> {
        let store = backend.open().map_err(|e| ArchiveError::Storage(e.to_string()))?;
        Ok(Archive::with_store(store, settings))
    }

    pub fn with_store(store: Arc<dyn ObjectStore>, settings: Settings) -> Archive {
        Archive { store, settings: Arc::new(settings) }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Is `table` archived?
    pub fn keeps(&self, table: &str) -> bool {
        self.settings.tables.contains_key(table)
    }

    /// The archived tables' names.
    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.settings.tables.keys().map(String::as_str)
    }
}

/// The columns a table is archived with: the documented schema's, in its order (without the
/// Sentinel-compatibility `TimeGenerated` the checker adds), as the sandbox's and the in-memory
/// tables have them.
pub fn table_columns(table: &str) -> Option<Vec<(String, hunt::value::Type)>> {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(Schema::defender);
    let b = hunt::database::TableBuilder::for_table(schema, table)?;
    Some(b.columns().map(|(n, t)| (n.to_string(), t)).collect())
}

/// The tenant as a path segment: lower case, and nothing that could leave its directory.
pub fn tenant_segment(tenant: &str) -> String {
    tenant
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect()
}
