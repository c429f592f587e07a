use serde_json::json;
use time::Duration;

use super::{Kind, audit_event, drop_audit_guards, exec, file_store, store};
use crate::chain::GENESIS;
use crate::{AuditFilter, NewAuditEvent, Store};

async fn append_n(s: &Store, n: i64) {
    for i in 1..=n {
        let tenant = if i % 2 == 0 { "t2" } else { "t1" };
        s.append_audit(audit_event(tenant, "isolate", i)).await.unwrap();
    }
}

/// Plays an attacker with database access: drops the append-only guard, then runs `sql`.
async fn tamper(s: &Store, sql: &'static str) {
    drop_audit_guards(s).await;
    let changed = exec(s, sql).await.unwrap();
    assert!(changed > 0, "tamper statement changed nothing: {sql}");
}

async fn append_chains_records_from_genesis(kind: Kind) {
    let s = store(kind).await;
    let id = uuid::Uuid::now_v7();
    let first = s
        .append_audit(NewAuditEvent {
            operation_id: Some(id),
            outcome: Some("succeeded".into()),
            upstream_request_ids: vec!["req-1".into()],
            detail: json!({"b": 2, "a": 1}),
            ..audit_event("t1", "isolate", 1)
        })
        .await
        .unwrap();
    let second = s.append_audit(audit_event("t1", "isolate", 2)).await.unwrap();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(first.prev_hash, GENESIS);
    assert_eq!(second.prev_hash, first.hash);
    assert_eq!(first.hash.len(), 64);

    let stored = s.query_audit(AuditFilter::default()).await.unwrap();
    assert_eq!(stored, vec![first, second], "stored records read back exactly as returned");
    assert_eq!(stored[0].operation_id, Some(id));
    assert_eq!(stored[0].at.offset(), time::UtcOffset::UTC);
}

async fn query_filters_and_returns_newest_last(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 6).await;
    let op = uuid::Uuid::now_v7();
    s.append_audit(NewAuditEvent { operation_id: Some(op), ..audit_event("t3", "wipe", 7) }).await.unwrap();

    let all = s.query_audit(AuditFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7]);

    let t1 = s.query_audit(AuditFilter { tenant: Some("t1".into()), ..Default::default() }).await.unwrap();
    assert_eq!(t1.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 3, 5]);

    let tail = s.query_audit(AuditFilter { tenant: Some("t1".into()), limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(tail.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 5], "newest two, newest last");

    let wipe = s.query_audit(AuditFilter { action: Some("wipe".into()), ..Default::default() }).await.unwrap();
    assert_eq!(wipe.len(), 1);
    let by_op = s.query_audit(AuditFilter { operation_id: Some(op), ..Default::default() }).await.unwrap();
    assert_eq!(by_op[0].seq, 7);

    let later = all[0].at + Duration::hours(1);
    assert!(s.query_audit(AuditFilter { since: Some(later), ..Default::default() }).await.unwrap().is_empty());
    let from_start = AuditFilter { since: Some(all[0].at), ..Default::default() };
    assert_eq!(s.query_audit(from_start).await.unwrap().len(), 7);
}

async fn verify_ok_on_empty_and_intact_logs(kind: Kind) {
    let s = store(kind).await;
    let empty = s.verify_audit().await.unwrap();
    assert!(empty.ok && empty.rows == 0, "{empty:?}");
    append_n(&s, 5).await;
    let r = s.verify_audit().await.unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.rows, 5);
}

async fn triggers_refuse_update_and_delete(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 2).await;
    let upd = exec(&s, "UPDATE audit_log SET principal = 'x' WHERE seq = 1").await;
    assert!(upd.is_err(), "update should be refused");
    let del = exec(&s, "DELETE FROM audit_log WHERE seq = 2").await;
    assert!(del.is_err(), "delete should be refused");
    assert!(s.verify_audit().await.unwrap().ok);
}

async fn verify_detects_modified_row(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 10).await;
    tamper(&s, "UPDATE audit_log SET principal = 'mallory' WHERE seq = 7").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.problems, vec!["seq 7: hash mismatch (row modified)"]);
}

async fn verify_detects_change_in_any_column(kind: Kind) {
    let columns: [&'static str; 12] = [
        "UPDATE audit_log SET at = '2000-01-01T00:00:00.000000Z' WHERE seq = 2",
        "UPDATE audit_log SET operation_id = '00000000-0000-0000-0000-000000000000' WHERE seq = 2",
        "UPDATE audit_log SET kind = 'outcome' WHERE seq = 2",
        "UPDATE audit_log SET tenant = NULL WHERE seq = 2",
        "UPDATE audit_log SET product = 'mdo' WHERE seq = 2",
        "UPDATE audit_log SET action = 'unisolate' WHERE seq = 2",
        "UPDATE audit_log SET params = '{\"n\":99}' WHERE seq = 2",
        "UPDATE audit_log SET outcome = 'succeeded' WHERE seq = 2",
        "UPDATE audit_log SET upstream_request_ids = '[\"x\"]' WHERE seq = 2",
        "UPDATE audit_log SET duration_ms = 1234 WHERE seq = 2",
        "UPDATE audit_log SET detail = '{\"x\":1}' WHERE seq = 2",
        "UPDATE audit_log SET prev_hash = hash WHERE seq = 2",
    ];
    for sql in columns {
        let s = store(kind).await;
        append_n(&s, 3).await;
        tamper(&s, sql).await;
        let r = s.verify_audit().await.unwrap();
        assert!(!r.ok, "not detected: {sql}");
        assert!(r.problems.iter().any(|p| p.starts_with("seq 2:")), "{sql}: {:?}", r.problems);
    }
}

async fn verify_reports_a_column_with_the_wrong_type(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 3).await;
    tamper(&s, "UPDATE audit_log SET kind = 42 WHERE seq = 2").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert!(r.problems.iter().any(|p| p.starts_with("seq 2:")), "{:?}", r.problems);
}

async fn verify_detects_deleted_middle_row(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 10).await;
    tamper(&s, "DELETE FROM audit_log WHERE seq = 4").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.rows, 9);
    assert_eq!(r.problems, vec!["seq 4 missing (row deleted)"]);
}

async fn verify_detects_deleted_middle_row_with_renumbering(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 5).await;
    tamper(&s, "DELETE FROM audit_log WHERE seq = 3").await;
    tamper(&s, "UPDATE audit_log SET seq = seq - 1 WHERE seq > 3").await;
    tamper(&s, "UPDATE audit_head SET seq = 4").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert!(r.problems.iter().any(|p| p.starts_with("seq 3:")), "{:?}", r.problems);
}

async fn verify_detects_deleted_tail_rows(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 10).await;
    tamper(&s, "DELETE FROM audit_log WHERE seq >= 9").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.rows, 8);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].starts_with("head mismatch: last rows deleted"), "{:?}", r.problems);
}

async fn verify_detects_everything_deleted(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 3).await;
    tamper(&s, "DELETE FROM audit_log").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok, "{r:?}");
}

async fn verify_detects_row_appended_outside_the_chain(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 3).await;
    tamper(
        &s,
        "INSERT INTO audit_log SELECT seq + 1, at, operation_id, kind, 'mallory', tenant, product, action,
         params, outcome, upstream_request_ids, duration_ms, detail, hash, hash FROM audit_log WHERE seq = 3",
    )
    .await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert!(r.problems.iter().any(|p| p.starts_with("seq 4: hash mismatch")), "{:?}", r.problems);
    assert!(r.problems.iter().any(|p| p.starts_with("head mismatch")), "{:?}", r.problems);
}

async fn verify_detects_reordered_rows(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 4).await;
    // Swap rows 2 and 3 by renumbering (seq is the primary key, so go through a free slot).
    tamper(&s, "UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    tamper(&s, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
    tamper(&s, "UPDATE audit_log SET seq = 3 WHERE seq = 100").await;
    let r = s.verify_audit().await.unwrap();
    assert!(!r.ok);
    assert!(r.problems.iter().any(|p| p.starts_with("seq 2:")), "{:?}", r.problems);
    assert!(r.problems.iter().any(|p| p.starts_with("seq 3:")), "{:?}", r.problems);
}

async fn appends_continue_the_chain_after_a_tail_deletion_is_detected(kind: Kind) {
    let s = store(kind).await;
    append_n(&s, 3).await;
    tamper(&s, "DELETE FROM audit_log WHERE seq = 3").await;
    let next = s.append_audit(audit_event("t1", "isolate", 4)).await.unwrap();
    assert_eq!(next.seq, 4, "the head, not the table, decides the next seq");
    let r = s.verify_audit().await.unwrap();
    assert_eq!(r.problems, vec!["seq 3 missing (row deleted)"]);
}

async fn concurrent_appends(s: &Store) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.spawn(async move { s.append_audit(audit_event("t1", "isolate", i)).await });
    }
    let mut seqs = Vec::new();
    while let Some(done) = tasks.join_next().await {
        seqs.push(done.expect("task").expect("append").seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    let r = s.verify_audit().await.unwrap();
    assert!(r.ok && r.rows == 50, "{r:?}");
}

async fn fifty_concurrent_appends_in_memory_keep_one_chain(kind: Kind) {
    let s = store(kind).await;
    concurrent_appends(&s).await;
}

async fn fifty_concurrent_appends_on_file_keep_one_chain(kind: Kind) {
    let (s, _dir) = file_store(kind).await;
    concurrent_appends(&s).await;
}

async fn two_stores_on_one_file_do_not_fork_the_chain(kind: Kind) {
    // Two Store values = two processes (replicas): they share no in-process lock, only the database.
    let (a, dir) = file_store(kind).await;
    let b = dir.open().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move { s.append_audit(audit_event("t1", "isolate", i)).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task").expect("append");
    }
    let r = a.verify_audit().await.unwrap();
    assert!(r.ok && r.rows == 40, "{r:?}");
}

async fn tenant_filter_matches_however_the_caller_spells_the_id(kind: Kind) {
    let s = store(kind).await;
    let tenant = "0a1b2c3d-0000-4000-8000-00000000abcd";
    s.append_audit(audit_event(tenant, "isolate", 1)).await.unwrap();
    s.append_audit(audit_event("other", "isolate", 2)).await.unwrap();
    let upper = AuditFilter { tenant: Some(format!("  {}  ", tenant.to_uppercase()).into()), ..Default::default() };
    let found = s.query_audit(upper).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tenant.as_deref(), Some(tenant), "stored spelling unchanged");
    assert_eq!(found[0].kind, crate::AuditKind::Attempt);
}

on_both_backends!(
    append_chains_records_from_genesis,
    query_filters_and_returns_newest_last,
    verify_ok_on_empty_and_intact_logs,
    triggers_refuse_update_and_delete,
    verify_detects_modified_row,
    verify_detects_change_in_any_column,
    verify_reports_a_column_with_the_wrong_type,
    verify_detects_deleted_middle_row,
    verify_detects_deleted_middle_row_with_renumbering,
    verify_detects_deleted_tail_rows,
    verify_detects_everything_deleted,
    verify_detects_row_appended_outside_the_chain,
    verify_detects_reordered_rows,
    appends_continue_the_chain_after_a_tail_deletion_is_detected,
    fifty_concurrent_appends_in_memory_keep_one_chain,
    fifty_concurrent_appends_on_file_keep_one_chain,
    two_stores_on_one_file_do_not_fork_the_chain,
    tenant_filter_matches_however_the_caller_spells_the_id,
);
