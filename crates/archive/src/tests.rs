//! The archive against an in-memory store: what is written is what is read, a hunt over the
//! archive answers what the same query answers over the same rows in memory, and only the
//! partitions, columns and row groups the query needs are read.

use std::sync::Arc;

use hunt::database::{Database, RunOptions};
use hunt::value::{TICKS_PER_DAY, TICKS_PER_HOUR, parse_datetime};
use object_store::memory::InMemory;
use serde_json::{Value as Json, json};

use crate::layout::{self, Partition};
use crate::reader::ArchiveHunt;
use crate::writer::Writer;
use crate::{Archive, ArchiveConfig};

const TENANT: &str = "Tenant-A";

fn archive() -> Archive {
    let mut cfg = ArchiveConfig::for_tables(&["DeviceProcessEvents", "DeviceNetworkEvents"]);
    cfg.retention.insert("DeviceNetworkEvents".into(), 30);
    Archive::with_store(Arc::new(InMemory::new()), cfg.settings().unwrap())
}

fn ts(day: i64, hour: i64) -> i64 {
    parse_datetime("2025-01-01T00:00:00Z").unwrap() + day * TICKS_PER_DAY + hour * TICKS_PER_HOUR
}

fn text(t: i64) -> String {
    hunt::value::Value::DateTime(t).to_kusto_string()
}

/// 20 days × 24 hours of process events on 3 devices, and a few network events.
fn rows() -> Vec<(String, Json)> {
    let mut out = Vec::new();
    for day in 0..20 {
        for hour in 0..24 {
            let n = day * 24 + hour;
            out.push((
                "DeviceProcessEvents".to_string(),
                json!({"Timestamp": text(ts(day, hour)), "DeviceId": format!("dev{}", n % 3), "DeviceName": format!("pc-{}", n % 3),
                    "FileName": if n % 5 == 0 { "powershell.exe" } else { "svchost.exe" }, "ProcessId": n,
                    "ProcessCommandLine": format!("run {n}"), "AdditionalFields": "{\"k\": 1}", "NotAColumn": 1}),
            ));
        }
        out.push((
            "DeviceNetworkEvents".to_string(),
            json!({"Timestamp": text(ts(day, 12)), "DeviceId": "dev0", "RemoteIP": "10.0.0.1", "RemotePort": 443}),
        ));
    }
    out
}

fn message(rows: &[(String, Json)], tenant: &str) -> Vec<u8> {
    let records: Vec<Json> = rows
        .iter()
        .map(|(t, p)| json!({"time": p["Timestamp"], "tenantId": tenant, "category": format!("AdvancedHunting-{t}"), "properties": p}))
        .collect();
    serde_json::to_vec(&json!({ "records": records })).unwrap()
}

/// The same rows loaded by hunt's own JSON reader: the in-memory tables to compare with.
fn in_memory(rows: &[(String, Json)]) -> Database {
    let mut db = Database::new();
    for table in ["DeviceProcessEvents", "DeviceNetworkEvents"] {
        let hint = crate::table_columns(table).unwrap();
        let lines: Vec<String> = rows
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, p)| {
                let mut p = p.clone();
                p.as_object_mut().unwrap().remove("NotAColumn"); // the archive drops what the schema lacks
                p.to_string()
            })
            .collect();
        db.insert(table, hunt::table::parse_jsonl(&lines.join("\n"), Some(&hint)).unwrap());
    }
    db
}

async fn filled(row_group_rows: usize) -> (Archive, Vec<(String, Json)>) {
    let archive = archive();
    let mut w = Writer::open(archive.clone(), "hub").await.unwrap().with_row_group_rows(row_group_rows);
    let rows = rows();
    // Two flushes, so days have more than one file; a record of another table and a malformed one.
    let a: Vec<_> = rows.iter().step_by(2).cloned().collect();
    let b: Vec<_> = rows.iter().skip(1).step_by(2).cloned().collect();
    w.ingest(0, 0, &message(&a, TENANT));
    w.ingest(0, 1, br#"{"records":[{"category":"AdvancedHunting-EmailEvents","tenantId":"x","properties":{}}]}"#);
    w.flush().await.unwrap();
    w.ingest(1, 0, &message(&b, TENANT));
    w.ingest(1, 1, b"not json");
    w.flush().await.unwrap();
    assert_eq!(w.stats.ignored, 1);
    assert_eq!(w.stats.malformed, 1);
    assert_eq!(w.stats.rows as usize, rows.len());
    assert_eq!(w.checkpoint().offsets.get(&0), Some(&2));
    (archive, rows)
}

fn hunt(query: &str, from: i64, to: i64) -> ArchiveHunt {
    ArchiveHunt { query: query.into(), from, to, options: RunOptions::default() }
}

fn sorted_rows(t: &hunt::table::Table) -> Vec<String> {
    let mut rows: Vec<String> = (0..t.num_rows()).map(|i| format!("{:?}", t.row(i))).collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_hunt_over_the_archive_answers_as_the_in_memory_tables_and_reads_only_its_days() {
    let (archive, rows) = filled(16).await;
    let memory = in_memory(&rows);
    let (from, to) = (ts(3, 0), ts(9, 23));
    let queries = [
        "DeviceProcessEvents | where FileName == 'powershell.exe' | project Timestamp, DeviceName, ProcessId, AdditionalFields",
        "DeviceProcessEvents | summarize n = count(), first = min(Timestamp) by DeviceId | order by DeviceId asc",
        "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents | project DeviceId, RemoteIP) on DeviceId | count",
        "DeviceProcessEvents | take 1000",
    ];
    for q in queries {
        let (got, stats) = archive.hunt(TENANT, &hunt(q, from, to)).await.unwrap();
        let want = memory.restrict_time("Timestamp", from, to).run(q).unwrap();
        assert_eq!(sorted_rows(&got), sorted_rows(&want), "{q}");
        assert!(got.num_rows() > 0, "{q}");
        let tables = if q.contains("DeviceNetworkEvents") { 2 } else { 1 };
        assert_eq!(stats.partitions, 7 * tables, "{q}: 7 days of each table read: {stats:?}");
    }
    let (_, stats) = archive.hunt(TENANT, &hunt(queries[1], from, to)).await.unwrap();
    assert_eq!(stats.columns["DeviceProcessEvents"], ["Timestamp", "DeviceId"], "only the columns the query uses");
    let (_, stats) = archive.hunt(TENANT, &hunt(queries[3], from, to)).await.unwrap();
    assert!(stats.columns["DeviceProcessEvents"].len() > 20, "take shows every column");
    // Another tenant has nothing.
    let (got, stats) = archive.hunt("other", &hunt(queries[1], from, to)).await.unwrap();
    assert_eq!((got.num_rows(), stats.files), (0, 0));
}

#[tokio::test]
async fn the_querys_own_time_filter_and_equalities_narrow_the_scan() {
    let (archive, rows) = filled(4).await;
    let memory = in_memory(&rows);
    let (from, to) = (ts(0, 0), ts(19, 23));
    let q = format!(
        "DeviceProcessEvents | where Timestamp between (datetime({}) .. datetime({})) and DeviceName == 'pc-1' | count",
        text(ts(5, 2)),
        text(ts(6, 10))
    );
    let (got, stats) = archive.hunt(TENANT, &hunt(&q, from, to)).await.unwrap();
    let want = memory.run(&q).unwrap();
    assert_eq!(sorted_rows(&got), sorted_rows(&want));
    assert_eq!(stats.partitions, 2, "days 5 and 6 only: {stats:?}");
    assert!(stats.row_groups_skipped > 0, "row groups outside the hours or without pc-1 skipped: {stats:?}");
    assert_eq!(stats.pushed["DeviceProcessEvents"].len(), 2, "{stats:?}");
    // A table named twice gets nothing pushed (each use may filter differently).
    let q2 = "DeviceProcessEvents | where DeviceName == 'pc-1' | union (DeviceProcessEvents | where DeviceName == 'pc-2') | count";
    let (got, stats) = archive.hunt(TENANT, &hunt(q2, from, to)).await.unwrap();
    assert_eq!(sorted_rows(&got), sorted_rows(&memory.run(q2).unwrap()));
    assert!(stats.pushed.is_empty());
}

#[tokio::test]
async fn bad_queries_and_unarchived_tables_are_the_callers_errors() {
    let (archive, _) = filled(16).await;
    let err = archive.hunt(TENANT, &hunt("DeviceLogonEvents | count", 0, ts(30, 0))).await.unwrap_err();
    assert!(matches!(&err, crate::ArchiveError::Invalid { field, .. } if field == "query"), "{err:?}");
    let err = archive.hunt(TENANT, &hunt("DeviceProcessEvents | where Nope == 1", 0, ts(30, 0))).await.unwrap_err();
    assert!(matches!(err, crate::ArchiveError::Query(_)), "{err:?}");
    let err = archive.hunt(TENANT, &hunt("DeviceProcessEvents", ts(2, 0), ts(1, 0))).await.unwrap_err();
    assert!(matches!(&err, crate::ArchiveError::Invalid { field, .. } if field == "from"), "{err:?}");
}

#[tokio::test]
async fn a_flush_that_never_reached_its_checkpoint_is_undone_on_open() {
    let (archive, rows) = filled(16).await;
    let before = archive.partitions().await.unwrap();
    // A third flush writes its files and dies before the checkpoint.
    let p = Partition {
        tenant: "tenant-a".into(),
        table: "DeviceProcessEvents".into(),
        day: layout::day_of_ticks(ts(2, 0)),
    };
    crate::writer::write_partition(&archive, &p, in_memory(&rows).table("DeviceProcessEvents").unwrap().clone(), 3, 16)
        .await
        .unwrap();
    let w = Writer::open(archive.clone(), "hub").await.unwrap();
    assert_eq!(w.checkpoint().seq, 2);
    assert_eq!(w.resume_offset(1), 2, "partition 1 resumes after its last checkpointed message");
    assert_eq!(archive.partitions().await.unwrap(), before, "the orphan file is gone");
}

#[tokio::test]
async fn compaction_leaves_one_file_per_day_with_the_same_rows_and_retention_drops_old_days() {
    let (archive, rows) = filled(16).await;
    let memory = in_memory(&rows);
    let q = "DeviceProcessEvents | summarize n = count() by DeviceId, bin(Timestamp, 1d)";
    let (from, to) = (ts(0, 0), ts(19, 23));
    let days_with_two_files = archive.partitions().await.unwrap().values().filter(|f| f.len() > 1).count();
    assert!(days_with_two_files > 0);
    // "today" is day 25: every day is past, so every day with two files is compacted, and the
    // network events (30 days' retention) of days before day -5 would go: none yet.
    let today = layout::day_of_ticks(ts(25, 0));
    let report = archive.maintain(today).await.unwrap();
    assert_eq!(report.compacted, days_with_two_files);
    assert_eq!(report.expired, 0);
    assert!(archive.partitions().await.unwrap().values().all(|f| f.len() == 1));
    let (got, _) = archive.hunt(TENANT, &hunt(q, from, to)).await.unwrap();
    assert_eq!(sorted_rows(&got), sorted_rows(&memory.run(q).unwrap()));
    // Day 45: the network events of days 0..14 are past their 30 days; process events (365) stay.
    let report = archive.maintain(layout::day_of_ticks(ts(45, 0))).await.unwrap();
    assert_eq!(report.expired, 15);
    let (got, _) = archive.hunt(TENANT, &hunt("DeviceNetworkEvents | count", from, to)).await.unwrap();
    assert_eq!(got.columns[0].get(0), hunt::value::Value::Long(5));
}
