//! The hunting archive end to end: the sandbox streams 90 days of a tenant's DeviceProcessEvents,
//! DeviceNetworkEvents and DeviceFileEvents (`POST /_sandbox/streaming/tables`, Microsoft's
//! envelope on the Streaming API's hub); the archive consumer reads the hub and writes Parquet per
//! tenant / table / day; `POST /v1/hunt` with `"source": "archive"` answers what the same query
//! answers over the same rows in memory (read back from the stream by the hunt crate's own JSON
//! loader), reading only the partitions of the asked days (counted in the answer's statistics);
//! and over the newest window, what the sandbox's own advanced hunting answers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use archive::ArchiveConfig;
use hunt::database::Database;
use hunt::table::value_to_json;
use hunt::value::{TICKS_PER_DAY, Value as Kql, parse_datetime};
use serde_json::{Value, json};

use crate::common::*;

const TABLES: [&str; 3] = ["DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents"];
const HUB: &str = riposte::archive_cli::SANDBOX_HUB;

async fn hunt(h: &Harness, body: Value) -> (u16, Value) {
    let resp = h
        .http
        .post(format!("{}/v1/hunt", h.gateway))
        .header("x-api-key", &h.admin_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Every record of `TABLES` on the sandbox's hub, read back over HTTP: (table, properties).
async fn streamed_rows(h: &Harness) -> Vec<(String, Value)> {
    let base = h.sandbox.base_url();
    let hub: Value = h.http.get(format!("{base}/_sandbox/streaming/{HUB}")).send().await.unwrap().json().await.unwrap();
    let mut out = Vec::new();
    for p in hub["partitions"].as_array().unwrap() {
        let mut offset = 0;
        loop {
            let url = format!("{base}/_sandbox/streaming/{HUB}/partitions/{p}?offset={offset}&max=1000");
            let page: Value = h.http.get(url).send().await.unwrap().json().await.unwrap();
            let records = page["records"].as_array().unwrap();
            if records.is_empty() {
                break;
            }
            for r in records {
                offset = r["offset"].as_u64().unwrap() + 1;
                let message: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
                for rec in message["records"].as_array().into_iter().flatten() {
                    let table = rec["category"].as_str().unwrap_or_default().trim_start_matches("AdvancedHunting-");
                    if TABLES.contains(&table) {
                        out.push((table.to_string(), rec["properties"].clone()));
                    }
                }
            }
        }
    }
    out
}

/// The streamed rows as in-memory tables, loaded by the hunt crate's JSON reader.
fn in_memory(rows: &[(String, Value)]) -> Database {
    let mut db = Database::new();
    for table in TABLES {
        let hint = archive::table_columns(table).unwrap();
        let lines: Vec<String> = rows.iter().filter(|(t, _)| t == table).map(|(_, p)| p.to_string()).collect();
        db.insert(table, hunt::table::parse_jsonl(&lines.join("\n"), Some(&hint)).unwrap());
    }
    db
}

/// Rows as sorted JSON texts (without the merge's `TenantId`), so answers compare as multisets.
fn answer_rows(answer: &Value) -> Vec<String> {
    let mut rows: Vec<String> = answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.as_object().unwrap().clone();
            r.remove("TenantId");
            Value::Object(r).to_string()
        })
        .collect();
    rows.sort();
    rows
}

fn table_rows(t: &hunt::table::Table) -> Vec<String> {
    let mut rows: Vec<String> = (0..t.num_rows())
        .map(|i| {
            let obj: serde_json::Map<String, Value> =
                t.columns.iter().map(|c| (c.name.clone(), value_to_json(&c.get(i)))).collect();
            Value::Object(obj).to_string()
        })
        .collect();
    rows.sort();
    rows
}

fn day_of(ts: &Value) -> i64 {
    archive::layout::day_of_ticks(parse_datetime(ts.as_str().unwrap()).unwrap())
}

fn text(t: i64) -> String {
    Kql::DateTime(t).to_kusto_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninety_streamed_days_land_in_the_archive_and_hunt_as_in_memory() {
    let h = Harness::start(1).await;
    let tenant = h.tenant(0);

    // 1. Defender streams 90 days of three tables.
    let resp = h
        .http
        .post(format!("{}/_sandbox/streaming/tables", h.sandbox.base_url()))
        .json(&json!({"tenant": tenant, "tables": TABLES, "days": 90}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let replay: Value = resp.json().await.unwrap();
    let streamed: u64 = TABLES.iter().map(|t| replay["records"][t].as_u64().unwrap_or(0)).sum();
    for t in TABLES {
        assert!(replay["records"][t].as_u64().unwrap_or(0) > 0, "{t} streamed: {replay}");
    }

    // 2. The archive consumer reads the hub until every record is archived.
    let mut cfg = ArchiveConfig::for_tables(&TABLES);
    cfg.flush_seconds = Some(0.0);
    let running = riposte::archive_cli::start(
        &cfg,
        h.dir.path(),
        &h.engine,
        riposte::archive_cli::sandbox_source(h.sandbox.base_url()),
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        let s = running.status.lock().clone();
        if s.writer.rows == streamed && s.lag == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "archiving stalled: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let archive = running.archive.clone();
    running.stop().await.unwrap();

    // 3. The files: one partition per tenant, table and day with rows, under the data directory.
    let rows = streamed_rows(&h).await;
    assert_eq!(rows.len() as u64, streamed, "the oracle reads what was streamed");
    let mut days: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for (t, p) in &rows {
        days.entry(TABLES.iter().find(|x| **x == t).unwrap()).or_default().insert(day_of(&p["Timestamp"]));
    }
    let partitions = archive.partitions().await.unwrap();
    for t in TABLES {
        let on_disk: BTreeSet<i64> =
            partitions.keys().filter(|p| p.table == t && p.tenant == tenant.to_lowercase()).map(|p| p.day).collect();
        assert_eq!(on_disk, days[t], "{t}: a partition for every day with rows");
    }
    assert!(days["DeviceProcessEvents"].len() > 60, "the 90 days span more than Defender's 30");
    let first = format!("tenant={}/table=DeviceProcessEvents/date=", tenant.to_lowercase());
    assert!(
        std::fs::read_dir(h.dir.path().join("archive").join(first.split('/').next().unwrap())).is_ok(),
        "Parquet files under {{data}}/archive/{first}..."
    );

    // 4. Hunts over the 90 days answer as the same rows in memory.
    let memory = in_memory(&rows);
    let (from, to) = (replay["from"].as_str().unwrap(), replay["to"].as_str().unwrap());
    let (lo, hi) = (parse_datetime(from).unwrap(), parse_datetime(to).unwrap());
    let window = memory.restrict_time("Timestamp", lo, hi);
    let queries = [
        "DeviceProcessEvents | summarize n = count(), first = min(Timestamp), last = max(Timestamp) by DeviceName",
        "DeviceProcessEvents | where FileName =~ 'powershell.exe' | project Timestamp, DeviceName, ProcessCommandLine, AccountName",
        "DeviceNetworkEvents | where RemotePort == 443 | summarize n = count() by RemoteIP | top 20 by n desc",
        "DeviceFileEvents | summarize n = count() by ActionType, bin(Timestamp, 7d)",
        "DeviceProcessEvents | join kind=inner (DeviceNetworkEvents | project DeviceId, RemoteIP) on DeviceId | summarize n = count() by DeviceId",
    ];
    for q in queries {
        let (s, answer) =
            hunt(&h, json!({"query": q, "tenants": [tenant], "source": "archive", "from": from, "to": to})).await;
        assert_eq!(s, 200, "{q}: {answer}");
        let want = window.run(q).unwrap();
        assert!(want.num_rows() > 0, "{q} has rows in memory");
        assert_eq!(answer_rows(&answer), table_rows(&want), "{q}");
        assert_eq!(answer["action"], "ArchiveHunt");
        let tables_read = TABLES.iter().filter(|t| q.contains(**t)).collect::<Vec<_>>();
        let expected: usize = tables_read.iter().map(|t| days[**t].len()).sum();
        assert_eq!(answer["statistics"]["partitions"], json!(expected), "{q}: every day of the range, once");
    }

    // 5. A ten-day range reads only those days' partitions, and the query's own filter narrows it further.
    let ten_lo = hi - 40 * TICKS_PER_DAY;
    let ten_hi = ten_lo + 10 * TICKS_PER_DAY;
    let q = "DeviceProcessEvents | summarize n = count() by DeviceName";
    let (s, answer) = hunt(
        &h,
        json!({"query": q, "tenants": [tenant], "source": "archive", "from": text(ten_lo), "to": text(ten_hi)}),
    )
    .await;
    assert_eq!(s, 200, "{answer}");
    let in_range = days["DeviceProcessEvents"]
        .iter()
        .filter(|d| **d >= archive::layout::day_of_ticks(ten_lo) && **d <= archive::layout::day_of_ticks(ten_hi))
        .count();
    assert_eq!(answer["statistics"]["partitions"], json!(in_range));
    assert!(in_range <= 11 && in_range < days["DeviceProcessEvents"].len());
    assert_eq!(answer_rows(&answer), table_rows(&memory.restrict_time("Timestamp", ten_lo, ten_hi).run(q).unwrap()));
    assert_eq!(answer["statistics"]["columns"]["DeviceProcessEvents"], json!(["Timestamp", "DeviceName"]));
    let narrowed =
        format!("DeviceProcessEvents | where Timestamp >= datetime({}) | count", text(hi - 2 * TICKS_PER_DAY));
    let (_, answer) =
        hunt(&h, json!({"query": narrowed, "tenants": [tenant], "source": "archive", "from": from, "to": to})).await;
    assert!(answer["statistics"]["partitions"].as_u64().unwrap() <= 3, "{answer}");
    assert_eq!(answer_rows(&answer), table_rows(&window.run(&narrowed).unwrap()));

    // 6. The newest window is what Defender's advanced hunting holds: both answer alike.
    let recent = format!(
        "DeviceProcessEvents | where Timestamp > datetime({}) and Timestamp <= datetime({}) | summarize n = count() by DeviceName, FileName",
        text(hi - 30 * TICKS_PER_DAY),
        to
    );
    let (_, defender) = hunt(&h, json!({"query": recent, "tenants": [tenant]})).await;
    let (_, archived) =
        hunt(&h, json!({"query": recent, "tenants": [tenant], "source": "archive", "from": from, "to": to})).await;
    assert!(defender["rowCount"].as_u64().unwrap() > 0, "{defender}");
    assert_eq!(answer_rows(&archived), answer_rows(&defender));

    // 7. Bad input is a 400 naming the field.
    for (body, field) in [
        (json!({"query": q, "source": "archive"}), "from"),
        (json!({"query": q, "source": "archive", "from": "yesterday"}), "from"),
        (json!({"query": "DeviceLogonEvents | count", "source": "archive", "from": from}), "query"),
        (json!({"query": "DeviceProcessEvents | where Nope == 1", "source": "archive", "from": from}), "query"),
        (json!({"query": q, "source": "lake", "from": from}), "source"),
        (json!({"query": q, "from": from}), "from"),
    ] {
        let (s, answer) = hunt(&h, body.clone()).await;
        assert_eq!((s, answer["error"]["field"].as_str()), (400, Some(field)), "{body}: {answer}");
    }
}
