//! The evaluator on several cores gives exactly what it gives on one: same rows, same order,
//! same group order, same `arg_max` ties, for filters, aggregations and joins.
//!
//! A test binary of its own because the thread count is process-wide: here the partition
//! threshold is lowered so that a few thousand rows already go through the parallel kernels,
//! and each query runs once on one thread and once on four.

use std::collections::HashMap;
use std::sync::Arc;

use hunt::eval::{self, Context, parallel};
use hunt::table::{Column, Table, generate_device_info, generate_device_process_events};
use hunt::value::{Type, Value};

fn tables() -> HashMap<String, Table> {
    let events = generate_device_process_events(20_000, 5);
    // Nulls and NaN-free reals in a side table: a few null timestamps and longs, so the
    // null rules of arg_max / min / dcount meet partition boundaries.
    let n = 9_000;
    let ts: Vec<Value> = (0..n)
        .map(|i| {
            if i % 97 == 0 {
                Value::Null
            } else {
                Value::DateTime(638_000_000_000_000_000 + (i as i64 % 1000) * 10_000_000)
            }
        })
        .collect();
    let k: Vec<Value> = (0..n).map(|i| Value::str(["a", "b", "c", "d", "e"][(i * 7 + i / 13) % 5])).collect();
    let v: Vec<Value> =
        (0..n).map(|i| if i % 11 == 0 { Value::Null } else { Value::Long((i as i64 * 31) % 101 - 50) }).collect();
    let r: Vec<Value> = (0..n).map(|i| Value::Real(((i * 17) % 23) as f64 / 4.0)).collect();
    let side = Table::new(vec![
        Column::from_values("T", Type::DateTime, &ts),
        Column::from_values("K", Type::String, &k),
        Column::from_values("V", Type::Long, &v),
        Column::from_values("R", Type::Real, &r),
    ]);
    HashMap::from([
        ("DeviceProcessEvents".to_string(), events),
        ("DeviceInfo".to_string(), generate_device_info(3, 5)),
        ("S".to_string(), side),
    ])
}

fn rows(t: &Table) -> Vec<String> {
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let mut out = vec![names.join("|")];
    out.extend(
        (0..t.num_rows()).map(|r| t.columns.iter().map(|c| c.get(r).to_kusto_string()).collect::<Vec<_>>().join("|")),
    );
    out
}

fn run(text: &str, tables: &HashMap<String, Table>) -> Vec<String> {
    let q = hunt::parser::parse_query(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    let ctx = Context { tables: tables.clone(), source: Some(Arc::from(text)), ..Context::default() };
    rows(&eval::run(&q, &ctx).unwrap_or_else(|e| panic!("{text}: {e}")))
}

#[test]
fn every_core_gives_the_one_core_answer() {
    let tables = tables();
    parallel::set_min_rows(512);
    let queries = [
        // filters: typed, narrowed `and`, generic, row-stateful
        "DeviceProcessEvents | where FileName =~ 'powershell.exe' and ProcessCommandLine contains '-enc' | project ReportId",
        "DeviceProcessEvents | where ProcessCommandLine has_any ('whoami', 'urlcache') | project ReportId, DeviceName",
        "DeviceProcessEvents | where strlen(FolderPath) > 18 and ProcessId % 7 == 3 | project ReportId, FolderPath",
        "DeviceProcessEvents | where row_number() % 1000 == 0 | project ReportId",
        "DeviceProcessEvents | where FileName in~ ('cmd.exe', 'wmic.exe') | count",
        // project / extend: per-partition expression copies, and row state in one pass
        "DeviceProcessEvents | project Day = bin(Timestamp, 1d), Cmd = strcat(FileName, ':', ProcessId) | take 3000",
        "DeviceProcessEvents | extend n = row_number(), p = prev(ReportId) | project n, p, ReportId | take 3000",
        "DeviceProcessEvents | take 3000 | project K = range(bin(Timestamp - 5m, 150s), bin(Timestamp, 150s), 150s), ReportId | mv-expand K to typeof(datetime)",
        // aggregations
        "DeviceProcessEvents | summarize count(), dcount(SHA256), dcount(DeviceId) by FileName",
        "DeviceProcessEvents | summarize n = count() by DeviceId, AccountName | take 50",
        "DeviceProcessEvents | summarize arg_max(Timestamp, *) by DeviceId",
        "DeviceProcessEvents | summarize arg_min(Timestamp, ReportId, FileName), max(ProcessId), min(ProcessId) by DeviceName",
        "DeviceProcessEvents | summarize make_set(FileName), make_list(AccountName, 5), take_any(FolderPath) by bin(Timestamp, 1d)",
        "DeviceProcessEvents | summarize sum(ProcessId), avg(ProcessId), countif(FileName == 'cmd.exe'), stdev(ProcessId) by FolderPath",
        "DeviceProcessEvents | summarize count()",
        "DeviceProcessEvents | where FileName == 'nothing.exe' | summarize count(), dcount(DeviceId)",
        "S | summarize arg_max(T, V), arg_min(V, T), min(T), max(V), dcount(V), sum(V), avg(V), sum(R), make_set(V) by K",
        "S | summarize arg_max(T, *) by K",
        "S | summarize count() by V | order by V asc",
        // joins
        "DeviceInfo | join (DeviceProcessEvents) on DeviceId | summarize Events = count(), Devices = dcount(DeviceId) by OSPlatform",
        "DeviceInfo | join kind=inner (DeviceProcessEvents | where FileName == 'cmd.exe') on DeviceId | project ReportId, OSPlatform",
        "DeviceProcessEvents | where FileName == 'mshta.exe' | join kind=inner (DeviceProcessEvents | where FileName == 'wmic.exe' | project DeviceId, AccountName, R2 = ReportId) on DeviceId, AccountName | take 2000",
        "DeviceProcessEvents | join kind=leftouter (DeviceInfo | where OSPlatform == 'Windows10') on DeviceId | summarize count() by OSPlatform",
        "DeviceProcessEvents | join kind=leftanti (DeviceInfo | where OSPlatform == 'Windows11') on DeviceId | count",
        "DeviceProcessEvents | summarize by DeviceId | join kind=rightsemi (DeviceProcessEvents | where FileName == 'cmd.exe') on DeviceId | count",
    ];
    let mut serial = Vec::new();
    parallel::set_threads(1);
    for q in queries {
        serial.push(run(q, &tables));
    }
    parallel::set_threads(4);
    for (q, want) in queries.iter().zip(&serial) {
        let got = run(q, &tables);
        assert!(want.len() > 1 || q.contains("count"), "{q}: the query should return rows");
        assert_eq!(&got, want, "{q}");
    }
    parallel::set_threads(0);
    parallel::set_min_rows(0);
}
