//! The hunting archive's reader of the stream (`crates/archive` has the writer; this loop lives
//! in the binary because the sources are the enrichment crate's, which depends on the engine,
//! which hunts over the archive): the enrichment scanner's sources
//! (`enrich::source`: Event Hubs' Kafka endpoint, the sandbox's log) with the archive's own
//! offsets, kept in its checkpoint beside the files, so archiving and enrichment never wait on
//! each other and either can run alone.
//!
//! Loop: fetch every partition from the committed offset (plus what is buffered); ingest;
//! flush when the writer is full or old enough, or when the stream is caught up and the
//! flush interval has passed; run maintenance every `maintain_every`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use enrich::source::{IDLE_POLL, StreamSource};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;

use archive::maintain::MaintenanceReport;
use archive::writer::{Writer, WriterStats};
use archive::{Archive, ArchiveError, layout};

/// Records fetched per partition per round.
const FETCH_MAX: usize = 500;

/// The consumer's status, shared with whoever shows it.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerStatus {
    pub stream: String,
    pub writer: WriterStats,
    pub checkpoint_seq: u64,
    pub last_maintenance: Option<MaintenanceReport>,
    pub last_error: Option<String>,
    /// Records behind the stream's high watermark, summed over partitions.
    pub lag: i64,
}

pub type SharedStatus = Arc<Mutex<ConsumerStatus>>;

/// Runs until `stop` turns true; flushes what is buffered before returning.
pub async fn run(
    archive: Archive,
    source: Arc<dyn StreamSource>,
    status: SharedStatus,
    maintain_every: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ArchiveError> {
    let mut writer = Writer::open(archive.clone(), source.name()).await?;
    status.lock().stream = source.name().to_string();
    let mut last_maintenance: Option<Instant> = None;
    loop {
        let caught_up = match round(&mut writer, source.as_ref(), &status).await {
            Ok(caught_up) => caught_up,
            Err(e) => {
                tracing::warn!(error = %e, "archive: reading the stream failed");
                status.lock().last_error = Some(e.to_string());
                true
            }
        };
        if writer.should_flush() || (caught_up && writer.has_uncommitted() && flush_due(&writer, &archive)) {
            writer.flush().await?;
        }
        if last_maintenance.is_none_or(|t| t.elapsed() >= maintain_every) {
            let today = layout::day_of_ticks(now_ticks());
            match archive.maintain(today).await {
                Ok(r) => status.lock().last_maintenance = Some(r),
                Err(e) => status.lock().last_error = Some(e.to_string()),
            }
            last_maintenance = Some(Instant::now());
        }
        {
            let mut s = status.lock();
            s.writer = writer.stats.clone();
            s.checkpoint_seq = writer.checkpoint().seq;
        }
        if *stop.borrow() {
            writer.flush().await?;
            return Ok(());
        }
        if caught_up {
            // A dropped switch (no one can stop us any more) is not a stop: just idle.
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                Ok(()) = stop.changed() => {}
            }
        }
    }
}

/// Caught up and the buffer has waited the flush interval (an idle stream still lands).
fn flush_due(writer: &Writer, archive: &Archive) -> bool {
    writer.buffered_rows() == 0 || archive.settings().flush_interval.is_zero() || writer.should_flush()
}

/// One fetch per partition. True when every partition is at its high watermark.
async fn round(writer: &mut Writer, source: &dyn StreamSource, status: &SharedStatus) -> Result<bool, ArchiveError> {
    let partitions = source.partitions().await.map_err(|e| ArchiveError::Storage(e.to_string()))?;
    let mut caught_up = true;
    let mut lag = 0;
    for p in partitions {
        let from = writer.next_offset(p);
        let fetched = source.fetch(p, from, FETCH_MAX).await.map_err(|e| ArchiveError::Storage(e.to_string()))?;
        for (offset, body) in &fetched.records {
            writer.ingest(p, *offset, body);
        }
        let next = writer.next_offset(p);
        lag += (fetched.high_watermark - next).max(0);
        caught_up &= next >= fetched.high_watermark;
    }
    status.lock().lag = lag;
    Ok(caught_up)
}

/// Now, in ticks since 0001-01-01.
pub fn now_ticks() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    hunt::value::UNIX_EPOCH_TICKS + (now.unix_timestamp_nanos() / 100) as i64
}
