use serde_json::json;
use time::Duration;

use super::{Kind, new_op, store};
use crate::{OperationFilter, OperationUpdate, StoreError};

async fn insert_then_get_round_trips(kind: Kind) {
    let s = store(kind).await;
    let op = s.insert_operation(new_op("t1", "isolate", Some("k1"))).await.unwrap();
    let got = s.get_operation(op.id).await.unwrap().expect("stored");
    assert_eq!(got, op);
    assert_eq!(got.status, "accepted");
    assert!(got.upstream_request_ids.is_empty());
    assert!(s.get_operation(uuid::Uuid::now_v7()).await.unwrap().is_none());
}

async fn idempotency_key_is_unique_per_tenant(kind: Kind) {
    let s = store(kind).await;
    let first = s.insert_operation(new_op("t1", "isolate", Some("k1"))).await.unwrap();
    let err = s.insert_operation(new_op("t1", "isolate", Some("k1"))).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("idempotency")), "{err:?}");
    // Same key in another tenant, and operations without a key, are independent.
    s.insert_operation(new_op("t2", "isolate", Some("k1"))).await.unwrap();
    s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    let found = s.operation_by_idempotency("t1", "k1").await.unwrap().expect("found");
    assert_eq!(found.id, first.id);
    assert!(s.operation_by_idempotency("t3", "k1").await.unwrap().is_none());
}

async fn duplicate_id_is_conflict(kind: Kind) {
    let s = store(kind).await;
    let op = new_op("t1", "isolate", None);
    s.insert_operation(op.clone()).await.unwrap();
    let err = s.insert_operation(op).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("already exists")), "{err:?}");
}

async fn update_appends_ids_once_and_keeps_unset_fields(kind: Kind) {
    let s = store(kind).await;
    let op = s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    let u1 = OperationUpdate {
        status: "running".into(),
        upstream_request_ids: vec!["r1".into(), "r2".into()],
        tracking: Some(json!({"machineActionIds": ["ma1"]})),
        ..Default::default()
    };
    let after1 = s.update_operation(op.id, u1).await.unwrap();
    assert_eq!(after1.upstream_request_ids, vec!["r1", "r2"]);
    assert!(after1.updated_at >= op.created_at);

    let u2 = OperationUpdate {
        status: "succeeded".into(),
        result: Some(json!({"status": "Succeeded"})),
        upstream_request_ids: vec!["r2".into(), "r3".into()],
        ..Default::default()
    };
    let after2 = s.update_operation(op.id, u2).await.unwrap();
    assert_eq!(after2.upstream_request_ids, vec!["r1", "r2", "r3"]);
    assert_eq!(after2.tracking, Some(json!({"machineActionIds": ["ma1"]})), "tracking kept");
    assert_eq!(after2.result, Some(json!({"status": "Succeeded"})));
    assert_eq!(after2.error, None);
    assert_eq!(s.get_operation(op.id).await.unwrap().unwrap(), after2);
}

async fn update_unknown_operation_is_not_found(kind: Kind) {
    let s = store(kind).await;
    let err = s
        .update_operation(uuid::Uuid::now_v7(), OperationUpdate { status: "x".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn concurrent_updates_lose_no_request_ids(kind: Kind) {
    let (s, _dir) = super::file_store(kind).await;
    let op = s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.spawn(async move {
            let u = OperationUpdate {
                status: "running".into(),
                upstream_request_ids: vec![format!("r{i}")],
                ..Default::default()
            };
            s.update_operation(op.id, u).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task").expect("update");
    }
    let ids = s.get_operation(op.id).await.unwrap().unwrap().upstream_request_ids;
    assert_eq!(ids.len(), 20, "{ids:?}");
}

async fn resume_query_returns_pending_oldest_first(kind: Kind) {
    let s = store(kind).await;
    let a = s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    let b = s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    let c = s.insert_operation(new_op("t2", "isolate", None)).await.unwrap();
    let done = OperationUpdate { status: "succeeded".into(), ..Default::default() };
    s.update_operation(b.id, done).await.unwrap();
    let tracking = OperationUpdate { status: "tracking".into(), ..Default::default() };
    s.update_operation(c.id, tracking).await.unwrap();

    let pending = s.operations_in_status(&["accepted", "tracking"], 10).await.unwrap();
    assert_eq!(pending.iter().map(|o| o.id).collect::<Vec<_>>(), vec![a.id, c.id]);
    assert_eq!(s.operations_in_status(&["accepted", "tracking"], 1).await.unwrap().len(), 1);
    assert!(s.operations_in_status(&[], 10).await.unwrap().is_empty());
}

async fn list_filters_by_tenant_action_status_since(kind: Kind) {
    let s = store(kind).await;
    let first = s.insert_operation(new_op("t1", "isolate", None)).await.unwrap();
    s.insert_operation(new_op("t1", "unisolate", None)).await.unwrap();
    s.insert_operation(new_op("t2", "isolate", None)).await.unwrap();

    let all = s.list_operations(OperationFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].created_at >= all[2].created_at, "newest first");

    let t1 = OperationFilter { tenant: Some("t1".into()), ..Default::default() };
    assert_eq!(s.list_operations(t1).await.unwrap().len(), 2);
    let iso = OperationFilter { action: Some("isolate".into()), ..Default::default() };
    assert_eq!(s.list_operations(iso).await.unwrap().len(), 2);
    let both = OperationFilter { tenant: Some("t1".into()), action: Some("isolate".into()), ..Default::default() };
    assert_eq!(s.list_operations(both).await.unwrap()[0].id, first.id);
    let done = OperationFilter { status: Some(crate::OpState::Succeeded), ..Default::default() };
    assert!(s.list_operations(done).await.unwrap().is_empty());
    let future = OperationFilter { since: Some(first.created_at + Duration::hours(1)), ..Default::default() };
    assert!(s.list_operations(future).await.unwrap().is_empty());
    let past = OperationFilter { since: Some(first.created_at), limit: 2, ..Default::default() };
    assert_eq!(s.list_operations(past).await.unwrap().len(), 2);
}

async fn begin_and_finish_commit_the_operation_and_its_record_together(kind: Kind) {
    let s = store(kind).await;
    let op = new_op("t1", "isolate", Some("k1"));
    let attempt = crate::NewAuditEvent { operation_id: Some(op.id), ..super::audit_event("t1", "isolate", 1) };
    let (stored, first) = s.begin_operation(op.clone(), attempt.clone()).await.unwrap();
    assert_eq!(first.operation_id, Some(stored.id));

    // A rejected insert (reused idempotency key) must leave no orphan attempt record behind.
    let dup = new_op("t1", "isolate", Some("k1"));
    let err = s
        .begin_operation(dup.clone(), crate::NewAuditEvent { operation_id: Some(dup.id), ..attempt })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let all = s.query_audit(crate::AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "only the first attempt is recorded: {all:?}");

    let update = OperationUpdate { status: "succeeded".into(), ..Default::default() };
    let outcome = crate::NewAuditEvent {
        kind: crate::AuditKind::Outcome,
        operation_id: Some(stored.id),
        ..super::audit_event("t1", "isolate", 2)
    };
    let (done, second) = s.finish_step(stored.id, update, outcome).await.unwrap();
    assert_eq!(done.status, "succeeded");
    assert_eq!(second.prev_hash, first.hash);
    // An update of an unknown operation appends nothing.
    let missing = s
        .finish_step(uuid::Uuid::now_v7(), OperationUpdate::default(), super::audit_event("t1", "isolate", 3))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing:?}");
    assert_eq!(s.query_audit(crate::AuditFilter::default()).await.unwrap().len(), 2);
    assert!(s.verify_audit().await.unwrap().ok);
}

async fn tenant_filters_ignore_case_and_surrounding_space(kind: Kind) {
    let s = store(kind).await;
    s.insert_operation(new_op("Contoso.OnMicrosoft.com", "isolate", None)).await.unwrap();
    s.insert_operation(new_op("t2", "isolate", None)).await.unwrap();
    let one = OperationFilter { tenant: Some(" CONTOSO.onmicrosoft.COM ".into()), ..Default::default() };
    assert_eq!(s.list_operations(one).await.unwrap().len(), 1);
    let scoped = OperationFilter { tenants: vec!["contoso.onmicrosoft.com".into(), "T2".into()], ..Default::default() };
    assert_eq!(s.list_operations(scoped).await.unwrap().len(), 2);
}

on_both_backends!(
    insert_then_get_round_trips,
    idempotency_key_is_unique_per_tenant,
    duplicate_id_is_conflict,
    update_appends_ids_once_and_keeps_unset_fields,
    update_unknown_operation_is_not_found,
    concurrent_updates_lose_no_request_ids,
    resume_query_returns_pending_oldest_first,
    list_filters_by_tenant_action_status_since,
    begin_and_finish_commit_the_operation_and_its_record_together,
    tenant_filters_ignore_case_and_surrounding_space,
);
