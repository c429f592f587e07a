//! `riposte archive` (bench, maintain, ls), the `[archive]` configuration section, and the
//! archive consumer `riposte up` / `riposte serve` start when an archive is configured.
//!
//! ```toml
//! [archive]
//! tables = ["DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "AlertEvidence"]
//! retention_days = 365
//! retention = { DeviceNetworkEvents = 90 }
//! dir = "/var/lib/riposte/archive"     # default {data}/archive; or backend = "s3" + bucket, "azure" + container
//! [archive.kafka]                      # the Streaming API's event hub (Kafka endpoint), as [enrichment.kafka]
//! bootstrap = ["contoso.servicebus.windows.net:9093"]
//! topic = "insights-logs-advancedhunting"
//! connection_string = "Endpoint=sb://..."
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use archive::{Archive, ArchiveConfig};
use clap::{Args, Subcommand};
use enrich::source::{KafkaConfig, KafkaSource, SandboxSource, StreamSource};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use tokio::sync::watch;

use crate::archive_consumer::{self, ConsumerStatus, SharedStatus};

/// Tables `riposte up` archives from the sandbox's stream.
pub const UP_TABLES: &[&str] =
    &["DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "AlertEvidence", "AlertInfo"];
/// The sandbox's one event hub, which carries every category it streams.
pub const SANDBOX_HUB: &str = "insights-logs-advancedhunting-alertevidence";
/// How often the consumer compacts and applies retention.
const MAINTAIN_EVERY: Duration = Duration::from_secs(600);

/// `[archive]`: what to keep ([`ArchiveConfig`]) and the stream to read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSection {
    pub tables: Vec<String>,
    pub retention_days: Option<u32>,
    #[serde(default)]
    pub retention: BTreeMap<String, u32>,
    pub dir: Option<PathBuf>,
    pub backend: Option<String>,
    pub bucket: Option<String>,
    pub container: Option<String>,
    pub flush_rows: Option<usize>,
    pub flush_seconds: Option<f64>,
    pub compact_min_files: Option<usize>,
    /// Minutes between compaction / retention passes (default 10).
    pub maintain_minutes: Option<f64>,
    /// The Streaming API's event hub through its Kafka endpoint.
    pub kafka: Option<KafkaConfig>,
    /// Or a sandbox's Streaming API log (its base URL; development and tests).
    pub sandbox: Option<String>,
}

impl ArchiveSection {
    pub fn config(&self) -> ArchiveConfig {
        let mut c = ArchiveConfig::for_tables(&self.tables.iter().map(String::as_str).collect::<Vec<_>>());
        if let Some(d) = self.retention_days {
            c.retention_days = d;
        }
        c.retention = self.retention.clone();
        c.dir = self.dir.clone();
        c.backend = self.backend.clone();
        c.bucket = self.bucket.clone();
        c.container = self.container.clone();
        c.flush_rows = self.flush_rows;
        c.flush_seconds = self.flush_seconds;
        c.compact_min_files = self.compact_min_files;
        c
    }

    fn maintain_every(&self) -> anyhow::Result<Duration> {
        match self.maintain_minutes {
            Some(m) if m.is_finite() && m > 0.0 => Ok(Duration::from_secs_f64(m * 60.0)),
            Some(m) => anyhow::bail!("archive.maintain_minutes must be a positive number, got {m}"),
            None => Ok(MAINTAIN_EVERY),
        }
    }

    /// The stream the section names (Kafka or a sandbox); neither is a configuration error.
    async fn source(&self) -> anyhow::Result<Arc<dyn StreamSource>> {
        match (&self.kafka, &self.sandbox) {
            (Some(k), None) => {
                Ok(Arc::new(KafkaSource::connect(k, None).await.context("connecting to the archive's event hub")?))
            }
            (None, Some(url)) => Ok(sandbox_source(url)),
            (Some(_), Some(_)) => anyhow::bail!("archive: give [archive.kafka] or archive.sandbox, not both"),
            (None, None) => anyhow::bail!("archive: name the stream to archive: [archive.kafka] (or archive.sandbox)"),
        }
    }
}

/// The sandbox's Streaming API log at `base`.
pub fn sandbox_source(base: &str) -> Arc<dyn StreamSource> {
    Arc::new(SandboxSource::new(reqwest::Client::new(), base, SANDBOX_HUB))
}

/// A running consumer: its status, and the switch that stops it (after a last flush).
pub struct RunningArchive {
    pub archive: Archive,
    pub status: SharedStatus,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), archive::ArchiveError>>,
}

impl RunningArchive {
    /// Stops the consumer; what it buffered is flushed first.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("the archive consumer panicked")?.context("the archive consumer failed")
    }
}

/// Opens the archive, installs it in the engine (hunts with `source: "archive"`) and starts
/// the consumer on `source`.
pub async fn start(
    cfg: &ArchiveConfig,
    data_dir: &Path,
    engine: &engine::Engine,
    source: Arc<dyn StreamSource>,
    maintain_every: Duration,
) -> anyhow::Result<RunningArchive> {
    let archive = open(cfg, data_dir)?;
    engine.set_archive(archive.clone());
    let status: SharedStatus = Arc::new(parking_lot::Mutex::new(ConsumerStatus::default()));
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(archive_consumer::run(archive.clone(), source, status.clone(), maintain_every, rx));
    Ok(RunningArchive { archive, status, stop, task })
}

/// `[archive]` of `riposte serve`.
pub async fn start_configured(
    section: &ArchiveSection,
    data_dir: &Path,
    engine: &engine::Engine,
) -> anyhow::Result<RunningArchive> {
    let source = section.source().await?;
    start(&section.config(), data_dir, engine, source, section.maintain_every()?).await
}

pub fn open(cfg: &ArchiveConfig, data_dir: &Path) -> anyhow::Result<Archive> {
    let settings = cfg.settings().map_err(anyhow::Error::msg)?;
    let backend = cfg.backend(data_dir).map_err(anyhow::Error::msg)?;
    Archive::open(&backend, settings).map_err(anyhow::Error::msg).context("opening the archive")
}

#[derive(Args, Debug)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    pub command: ArchiveCommand,
}

#[derive(Subcommand, Debug)]
pub enum ArchiveCommand {
    /// Write a day of DeviceProcessEvents rows into a scratch archive and time hunts over it.
    Bench {
        /// Rows in the day.
        #[arg(long, default_value_t = 10_000_000)]
        rows: usize,
        /// Where the scratch archive goes (default: a temporary directory, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Compact small files and apply retention now.
    Maintain {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long = "data", env = "RIPOSTE_DATA")]
        data: Option<PathBuf>,
    },
    /// List the archive's partitions (tenant, table, day, files).
    Ls {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long = "data", env = "RIPOSTE_DATA")]
        data: Option<PathBuf>,
    },
}

pub async fn run(args: ArchiveArgs) -> anyhow::Result<()> {
    match args.command {
        ArchiveCommand::Bench { rows, dir } => bench(rows, dir).await,
        ArchiveCommand::Maintain { config, data } => {
            let archive = configured(config.as_deref(), data)?;
            let today = archive::layout::day_of_ticks(archive_consumer::now_ticks());
            let report = archive.maintain(today).await.map_err(anyhow::Error::msg)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        ArchiveCommand::Ls { config, data } => {
            let archive = configured(config.as_deref(), data)?;
            for (p, files) in archive.partitions().await.map_err(anyhow::Error::msg)? {
                println!(
                    "tenant={} table={} date={} files={}",
                    p.tenant,
                    p.table,
                    archive::layout::date_text(p.day),
                    files.len()
                );
            }
            Ok(())
        }
    }
}

fn configured(config: Option<&Path>, data: Option<PathBuf>) -> anyhow::Result<Archive> {
    let file = crate::config::FileConfig::load(config)?;
    let section = file.archive.as_ref().context("the configuration has no [archive] section")?;
    let data_dir = data.or(file.data.clone()).unwrap_or_else(|| PathBuf::from("./riposte-data"));
    open(&section.config(), &data_dir)
}

/// `riposte archive bench`: one line for the write, one per query.
async fn bench(rows: usize, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let scratch = match &dir {
        Some(_) => None,
        None => Some(tempfile_dir()?),
    };
    let root = dir.clone().or_else(|| scratch.clone()).expect("a directory");
    let cfg = ArchiveConfig::for_tables(&["DeviceProcessEvents"]);
    let archive = open(&cfg, &root)?;
    let bar = ProgressBar::new(rows as u64);
    bar.set_style(ProgressStyle::with_template("writing {pos}/{len} rows {bar:30} {elapsed}").expect("a template"));
    // The bar counts rows written; the queries are timed after it reaches the end.
    let lines =
        archive::bench::run(&archive, rows, |n| bar.set_position(n as u64)).await.map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    for line in lines {
        println!("{line}");
    }
    if let Some(s) = scratch {
        let _ = std::fs::remove_dir_all(s);
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("riposte-archive-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
