use serde_json::json;

use super::{Kind, TestDb, audit_event, new_op};
use crate::{AuditFilter, NewKey, OperationUpdate, Store};

async fn reopened_database_keeps_everything(kind: Kind) {
    let db = TestDb::new(kind).await;

    let s = db.open().await;
    let key = s
        .create_key(NewKey { name: "ci".into(), role: "admin".into(), tenants: vec![], key_hash: "h".into() })
        .await
        .unwrap();
    s.set_setting("admin_key_hash", "abc").await.unwrap();
    let op = s.insert_operation(new_op("t1", "isolate", Some("k1"))).await.unwrap();
    let op = s
        .update_operation(
            op.id,
            OperationUpdate {
                status: "tracking".into(),
                tracking: Some(json!({"machineActionIds": ["ma1"]})),
                upstream_request_ids: vec!["r1".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rec = s.append_audit(audit_event("t1", "isolate", 1)).await.unwrap();
    s.close().await;
    drop(s);

    let s = db.open().await;
    assert_eq!(s.key_by_hash("h").await.unwrap(), Some(key));
    assert_eq!(s.get_setting("admin_key_hash").await.unwrap().as_deref(), Some("abc"));
    assert_eq!(s.get_operation(op.id).await.unwrap(), Some(op.clone()));
    assert_eq!(s.operations_in_status(&["tracking"], 10).await.unwrap(), vec![op]);
    assert_eq!(s.query_audit(AuditFilter::default()).await.unwrap(), vec![rec.clone()]);

    // The chain continues across restarts.
    let next = s.append_audit(audit_event("t1", "isolate", 2)).await.unwrap();
    assert_eq!((next.seq, next.prev_hash), (2, rec.hash));
    assert!(s.verify_audit().await.unwrap().ok);
}

#[tokio::test]
async fn file_database_uses_wal() {
    let (s, _dir) = super::file_store(Kind::Sqlite).await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(super::pool(&s)).await.unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(super::pool(&s)).await.unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn in_memory_stores_are_independent() {
    let a = Store::in_memory().await.unwrap();
    let b = Store::in_memory().await.unwrap();
    a.set_setting("x", "1").await.unwrap();
    assert_eq!(b.get_setting("x").await.unwrap(), None);
    assert_eq!(a.clone().get_setting("x").await.unwrap().as_deref(), Some("1"), "clones share data");
}

on_both_backends!(reopened_database_keeps_everything);
