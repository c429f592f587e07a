//! Group commit (`crate::group_commit`): concurrent steps share transactions, yet each is
//! durable when answered, a failing step fails alone, and the chain stays linear.

use super::{Kind, TestDb, audit_event, new_op};
use crate::{AuditFilter, AuditKind, NewAuditEvent, OperationUpdate, StoreError};

const OPERATIONS: usize = 48;

fn outcome(tenant: &str, id: uuid::Uuid, n: i64) -> NewAuditEvent {
    NewAuditEvent { operation_id: Some(id), kind: AuditKind::Outcome, ..audit_event(tenant, "isolate", n) }
}

async fn concurrent_steps_all_commit_durably_in_one_chain(kind: Kind) {
    let db = TestDb::new(kind).await;
    let s = db.open().await;
    let mut tasks = Vec::new();
    for n in 0..OPERATIONS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let op = new_op("t1", "isolate", None);
            let attempt = NewAuditEvent { operation_id: Some(op.id), ..audit_event("t1", "isolate", n as i64) };
            let (op, _) = s.begin_operation(op, attempt).await.expect("begin");
            let done = OperationUpdate { status: "succeeded".into(), ..Default::default() };
            let (op, _) = s.finish_step(op.id, done, outcome("t1", op.id, n as i64)).await.expect("finish");
            op
        }));
    }
    // A step that fails (no such operation) among them fails alone and leaves no audit record.
    let missing = uuid::Uuid::now_v7();
    let lost = s.finish_step(missing, OperationUpdate::default(), outcome("t1", missing, -1)).await;
    assert!(matches!(lost, Err(StoreError::NotFound(_))), "{lost:?}");
    let mut finished = Vec::new();
    for t in tasks {
        finished.push(t.await.expect("task"));
    }
    s.close().await;
    drop(s);

    // Everything answered is on disk after a restart, and the chain verifies.
    let s = db.open().await;
    for op in &finished {
        let stored = s.get_operation(op.id).await.unwrap().expect("operation durable");
        assert_eq!(stored.status, "succeeded");
    }
    let records = s.query_audit(AuditFilter { limit: 1_000, ..Default::default() }).await.unwrap();
    assert_eq!(records.len(), 2 * OPERATIONS);
    assert!(records.iter().all(|r| r.operation_id != Some(missing)));
    // Each operation's attempt precedes its outcome in the chain.
    for op in &finished {
        let kinds: Vec<_> = records.iter().filter(|r| r.operation_id == Some(op.id)).map(|r| r.kind.clone()).collect();
        assert_eq!(kinds, vec![AuditKind::Attempt, AuditKind::Outcome]);
    }
    let report = s.verify_audit().await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.rows, (2 * OPERATIONS) as i64);
}

/// `record_read`: a read's operation, attempt, update and outcome in one step, alone or among
/// concurrent ones; a read whose operation id is taken fails alone (a lone failing step rolls its
/// transaction back, without savepoints) and leaves nothing.
async fn a_read_is_recorded_whole_in_one_step(kind: Kind) {
    let db = TestDb::new(kind).await;
    let s = db.open().await;
    let read = |n: i64| {
        let op = new_op("t1", "GetDeviceInfo", None);
        let attempt = NewAuditEvent { operation_id: Some(op.id), ..audit_event("t1", "GetDeviceInfo", n) };
        let done = OperationUpdate {
            status: "Succeeded".into(),
            result: Some(serde_json::json!({ "id": n })),
            ..Default::default()
        };
        let out = outcome("t1", op.id, n);
        (op, attempt, done, out)
    };
    let (op, attempt, done, out) = read(0);
    let (alone, record) = s.record_read(op.clone(), attempt.clone(), done.clone(), out.clone()).await.unwrap();
    assert_eq!((alone.status.as_str(), alone.result.clone()), ("Succeeded", Some(serde_json::json!({ "id": 0 }))));
    assert_eq!(record.kind, AuditKind::Outcome);
    assert_eq!(s.operation_owner(alone.id).await.unwrap().as_deref(), Some(s.replica_id()), "owned by its replica");
    // The same operation id again: refused, and nothing of it written.
    let again = s.record_read(op.clone(), attempt.clone(), done.clone(), out.clone()).await;
    assert!(again.is_err(), "{again:?}");
    // Concurrent reads share batches (written with multi-row statements on SQLite); the duplicate
    // among them fails alone, its batch falling back to step by step.
    let duplicate = {
        let s = s.clone();
        tokio::spawn(async move { s.record_read(op, attempt, done, out).await })
    };
    let mut tasks = Vec::new();
    for n in 1..=16 {
        let s = s.clone();
        let (op, attempt, done, out) = read(n);
        tasks.push(tokio::spawn(async move { s.record_read(op, attempt, done, out).await.expect("read").0 }));
    }
    let mut ids = vec![alone.id];
    for t in tasks {
        ids.push(t.await.expect("task").id);
    }
    assert!(duplicate.await.expect("task").is_err(), "a taken operation id is refused");
    s.close().await;
    drop(s);
    let s = db.open().await;
    let records = s.query_audit(AuditFilter { limit: 1_000, ..Default::default() }).await.unwrap();
    assert_eq!(records.len(), 2 * ids.len(), "an attempt and an outcome per read, no more");
    for id in &ids {
        assert_eq!(s.get_operation(*id).await.unwrap().expect("durable").status, "Succeeded");
        let kinds: Vec<_> = records.iter().filter(|r| r.operation_id == Some(*id)).map(|r| r.kind.clone()).collect();
        assert_eq!(kinds, vec![AuditKind::Attempt, AuditKind::Outcome]);
    }
    let report = s.verify_audit().await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

on_both_backends!(concurrent_steps_all_commit_durably_in_one_chain, a_read_is_recorded_whole_in_one_step);
