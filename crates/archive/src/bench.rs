//! `riposte archive bench`: write one archive day of `rows` DeviceProcessEvents rows (in flushes
//! of a million, as the writer would over a day), then time hunting queries over that day: the
//! whole path, partition listing, Parquet decoding of the projected columns, loading and the
//! query. Rows are the KQL bench's generator (`hunt::table::generate_device_process_events`:
//! 13 columns), with timestamps folded into one day.

use std::time::{Duration, Instant};

use hunt::database::RunOptions;
use hunt::table::{ColumnData, Table, generate_device_process_events};
use hunt::value::TICKS_PER_DAY;
use object_store::ObjectStoreExt;

use crate::layout::{self, Partition};
use crate::reader::{ArchiveHunt, ScanStats};
use crate::writer::{ROW_GROUP_ROWS, write_partition};
use crate::{Archive, ArchiveError};

pub const BENCH_TENANT: &str = "bench-tenant";
const FLUSH_ROWS: usize = 1_000_000;

/// The day written: 2024-01-01.
pub fn bench_day() -> i64 {
    layout::parse_date("2024-01-01").expect("a date")
}

/// Queries timed over the day: a full-day aggregation, a filtered hunt the row-group
/// statistics can prune, and a `has` search over command lines.
pub const QUERIES: &[(&str, &str)] = &[
    ("count by FileName (whole day)", "DeviceProcessEvents | summarize n = count() by FileName | order by n desc"),
    (
        "last 6 h, one file, by device",
        "DeviceProcessEvents | where Timestamp >= datetime(2024-01-01T18:00:00Z) and FileName == 'certutil.exe' | summarize n = count() by DeviceName | top 5 by n",
    ),
    (
        "has 'EncodedCommand' (whole day)",
        "DeviceProcessEvents | where ProcessCommandLine has 'EncodedCommand' | summarize n = count() by DeviceId | count",
    ),
];

#[derive(Debug)]
pub struct WriteReport {
    pub rows: usize,
    pub files: usize,
    pub bytes: u64,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub struct QueryReport {
    pub name: &'static str,
    pub result_rows: usize,
    pub elapsed: Duration,
    pub stats: ScanStats,
}

/// Writes the day (`on_flush` is told the rows written so far).
pub async fn write_day(archive: &Archive, rows: usize, on_flush: impl Fn(usize)) -> Result<WriteReport, ArchiveError> {
    let started = Instant::now();
    let partition = Partition { tenant: BENCH_TENANT.into(), table: "DeviceProcessEvents".into(), day: bench_day() };
    let mut written = 0;
    let mut seq = 0;
    while written < rows {
        let n = FLUSH_ROWS.min(rows - written);
        seq += 1;
        let table = fold_into_day(generate_device_process_events(n, seq), layout::day_start_ticks(partition.day));
        write_partition(archive, &partition, table, seq, ROW_GROUP_ROWS).await?;
        written += n;
        on_flush(written);
    }
    let files = archive.files_of(&partition).await?;
    let mut bytes = 0;
    for (path, _) in &files {
        bytes += archive.store().head(path).await?.size;
    }
    Ok(WriteReport { rows, files: files.len(), bytes, elapsed: started.elapsed() })
}

/// Times each of [`QUERIES`] over the day.
pub async fn time_queries(archive: &Archive) -> Result<Vec<QueryReport>, ArchiveError> {
    let from = layout::day_start_ticks(bench_day());
    let mut out = Vec::new();
    for (name, query) in QUERIES {
        let hunt = ArchiveHunt {
            query: query.to_string(),
            from,
            to: from + TICKS_PER_DAY - 1,
            options: RunOptions { max_rows: Some(50_000_000), ..RunOptions::default() },
        };
        let started = Instant::now();
        let (table, stats) = archive.hunt(BENCH_TENANT, &hunt).await?;
        out.push(QueryReport { name, result_rows: table.num_rows(), elapsed: started.elapsed(), stats });
    }
    Ok(out)
}

/// The generator spreads rows over 30 days; fold them into the one day starting at `day`.
fn fold_into_day(mut table: Table, day: i64) -> Table {
    if let Some(i) = table.index_of("Timestamp")
        && let ColumnData::DateTime(ts) = table.columns[i].data_mut()
    {
        for t in ts.iter_mut().flatten() {
            *t = day + (*t - day).rem_euclid(TICKS_PER_DAY);
        }
    }
    table
}

/// The whole bench: write the day, time the queries; one printed line each.
pub async fn run(archive: &Archive, rows: usize, on_flush: impl Fn(usize)) -> Result<Vec<String>, ArchiveError> {
    let written = write_day(archive, rows, on_flush).await?;
    let mut lines = vec![format!(
        "archive bench: wrote {} rows (1 day, {} files, {:.1} MB Parquet) in {:.2} s = {:.0} rows/s",
        written.rows,
        written.files,
        written.bytes as f64 / 1e6,
        written.elapsed.as_secs_f64(),
        written.rows as f64 / written.elapsed.as_secs_f64()
    )];
    for r in time_queries(archive).await? {
        lines.push(format!(
            "archive bench: {:<34} {:>7.2} s  {:>6.2} M rows/s over the day  partitions={} files={} row groups read {}/{} rows decoded={} columns={} -> {} result rows",
            r.name,
            r.elapsed.as_secs_f64(),
            written.rows as f64 / r.elapsed.as_secs_f64() / 1e6,
            r.stats.partitions,
            r.stats.files,
            r.stats.row_groups - r.stats.row_groups_skipped,
            r.stats.row_groups,
            r.stats.rows_read,
            r.stats.columns.values().map(Vec::len).sum::<usize>(),
            r.result_rows,
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn archive() -> Archive {
        let cfg = crate::ArchiveConfig::for_tables(&["DeviceProcessEvents"]);
        Archive::with_store(Arc::new(object_store::memory::InMemory::new()), cfg.settings().unwrap())
    }

    /// The bench end to end on a small day: every query answers and the filtered one skips
    /// row groups.
    #[tokio::test]
    async fn the_bench_runs_on_a_small_day() {
        let lines = run(&archive(), 200_000, |_| {}).await.unwrap();
        assert_eq!(lines.len(), 1 + QUERIES.len(), "{lines:?}");
        let reports = time_queries(&archive_with(200_000).await).await.unwrap();
        assert!(reports.iter().all(|r| r.result_rows > 0 && r.stats.partitions == 1), "{reports:?}");
        assert!(reports[1].stats.row_groups_skipped > 0, "the 6-hour filter skips row groups: {:?}", reports[1].stats);
    }

    async fn archive_with(rows: usize) -> Archive {
        let a = archive();
        write_day(&a, rows, |_| {}).await.unwrap();
        a
    }

    /// `cargo test -p archive --release -- --ignored --nocapture bench_ten_million`: the
    /// 10 M-row day of `riposte archive bench` (the binary prints the same lines).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: minutes in debug builds"]
    async fn bench_ten_million_rows() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::ArchiveConfig::for_tables(&["DeviceProcessEvents"]);
        let backend = cfg.backend(dir.path()).unwrap();
        let archive = Archive::open(&backend, cfg.settings().unwrap()).unwrap();
        for line in run(&archive, 10_000_000, |n| eprintln!("written {n}")).await.unwrap() {
            println!("{line}");
        }
    }
}
