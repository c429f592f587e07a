//! Replica ownership (`crate::replicas`): the accepting replica owns an operation; only a replica
//! whose heartbeat ran out loses it, and then to exactly one live replica.

use time::Duration;

use super::{Kind, TestDb, audit_event, new_op};
use crate::{OperationUpdate, Store, codec};

async fn accept(s: &Store, tenant: &str) -> uuid::Uuid {
    let (op, _) = s.begin_operation(new_op(tenant, "isolate", None), audit_event(tenant, "isolate", 1)).await.unwrap();
    op.id
}

async fn replica(db: &TestDb, id: &str) -> Store {
    let mut s = db.open().await;
    s.set_replica_id(id);
    s
}

const OPEN: [&str; 2] = ["accepted", "running"];

async fn a_live_owner_keeps_its_work_and_a_dead_one_loses_it_once(kind: Kind) {
    let db = TestDb::new(kind).await;
    let (a, b) = (replica(&db, "replica-a").await, replica(&db, "replica-b").await);
    let now = codec::now();
    a.heartbeat(now + Duration::seconds(10)).await.unwrap();
    b.heartbeat(now + Duration::seconds(10)).await.unwrap();
    let ops = [accept(&a, "t1").await, accept(&a, "t2").await];
    let done = accept(&a, "t3").await;
    a.update_operation(done, OperationUpdate { status: "succeeded".into(), ..Default::default() }).await.unwrap();
    assert_eq!(a.operation_owner(ops[0]).await.unwrap().as_deref(), Some("replica-a"));

    assert!(b.claim_orphaned_operations(&OPEN, false, now, 100).await.unwrap().is_empty(), "a is alive");
    // A's heartbeat runs out: B takes its open operations (not the finished one), once.
    let later = now + Duration::seconds(11);
    b.heartbeat(later + Duration::seconds(10)).await.unwrap();
    let taken = b.claim_orphaned_operations(&OPEN, false, later, 100).await.unwrap();
    assert_eq!(taken.iter().map(|o| o.id).collect::<Vec<_>>(), ops.to_vec(), "oldest first");
    assert_eq!(b.operation_owner(ops[1]).await.unwrap().as_deref(), Some("replica-b"));
    assert!(b.claim_orphaned_operations(&OPEN, false, later, 100).await.unwrap().is_empty(), "now b's own");
    // A restarted A (same id) reclaims nothing of B's, which is alive; B's restart reclaims its own.
    assert!(a.claim_orphaned_operations(&OPEN, true, later, 100).await.unwrap().is_empty());
    assert_eq!(b.claim_orphaned_operations(&OPEN, true, later, 100).await.unwrap().len(), 2);
}

async fn replicas_claiming_at_once_split_the_orphans(kind: Kind) {
    let db = TestDb::new(kind).await;
    let dead = replica(&db, "dead").await;
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(accept(&dead, &format!("t{}", i % 3)).await);
    }
    let later = codec::now() + Duration::seconds(1);
    let claimers: Vec<Store> = vec![replica(&db, "r1").await, replica(&db, "r2").await, replica(&db, "r3").await];
    let mut tasks = tokio::task::JoinSet::new();
    for s in claimers {
        // Live claimers: without a heartbeat, one would take the others' claims back.
        s.heartbeat(later + Duration::seconds(60)).await.unwrap();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = s.claim_orphaned_operations(&OPEN, false, later, 7).await.expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|o| o.id));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(mine) = tasks.join_next().await {
        all.extend(mine.expect("task"));
    }
    all.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(all, expected, "every orphan claimed exactly once");
}

on_both_backends!(
    a_live_owner_keeps_its_work_and_a_dead_one_loses_it_once,
    replicas_claiming_at_once_split_the_orphans,
);
