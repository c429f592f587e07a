//! Bulk job items on both back ends: runners claiming at once never share an item, every item
//! ends once, and the job completes. On PostgreSQL two live replicas split the tenants (tenant
//! leases), so both drain.

use std::collections::BTreeMap;

use serde_json::json;
use time::Duration;

use super::{Kind, TestDb, audit_event};
use crate::{ItemEnd, NewJob, NewJobItem, Store, codec, item_state, job_state};

fn job(items: usize, tenants: usize) -> NewJob {
    NewJob {
        id: uuid::Uuid::now_v7(),
        name: Some("isolate all".into()),
        product: "mde".into(),
        action: "IsolateDevice".into(),
        params: json!({"comment": "bulk"}),
        principal: "alice".into(),
        role: "admin".into(),
        priority: 0,
        revert_after_seconds: None,
        undo_of: None,
        items: (0..items)
            .map(|i| NewJobItem { tenant: format!("t{}", i % tenants), params: json!({"deviceId": format!("d{i}")}) })
            .collect(),
    }
}

/// One runner: claims per tenant, round-robin, and ends each item `Succeeded`. Returns the
/// (tenant, seq) of every item it ran.
async fn run(s: Store, owner: &'static str) -> Vec<(String, i64)> {
    let mut ran = Vec::new();
    loop {
        let tenants = s.tenants_with_job_work().await.expect("tenants");
        if tenants.is_empty() {
            return ran;
        }
        let mut claimed_any = false;
        for t in tenants {
            let lease = codec::now() + Duration::seconds(30);
            for item in s.claim_job_items(&t, owner, 5, lease).await.expect("claim") {
                claimed_any = true;
                let end = ItemEnd { state: item_state::SUCCEEDED, operation_id: None, status: None, error: None };
                assert!(s.finish_job_item(item.job_id, item.seq, owner, end).await.expect("finish"), "lease kept");
                ran.push((item.tenant, item.seq));
            }
        }
        if !claimed_any {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn two_runners_drain_a_job_with_no_item_run_twice(kind: Kind) {
    let db = TestDb::new(kind).await;
    let (a, b) = (db.open().await, db.open().await);
    let until = codec::now() + Duration::seconds(60);
    a.heartbeat(until).await.unwrap();
    b.heartbeat(until).await.unwrap();
    let created = a.create_job(job(90, 3), audit_event("t0", "IsolateDevice", 1)).await.unwrap();
    let (ran_a, ran_b) = tokio::join!(tokio::spawn(run(a.clone(), "runner-a")), tokio::spawn(run(b, "runner-b")));
    let (ran_a, ran_b) = (ran_a.unwrap(), ran_b.unwrap());

    let mut seqs: Vec<i64> = ran_a.iter().chain(&ran_b).map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=90).collect::<Vec<_>>(), "every item ran exactly once");
    let counts = a.job_counts(created.id).await.unwrap();
    assert_eq!(counts.count(item_state::SUCCEEDED), 90);
    let done = a.complete_job_if_done(created.id, |_, _| audit_event("t0", "IsolateDevice", 2)).await.unwrap();
    assert_eq!(done.expect("completed").state, job_state::SUCCEEDED);

    if kind == Kind::Postgres {
        // Tenant leases split the tenants between the two live replicas: both drain.
        assert!(!ran_a.is_empty() && !ran_b.is_empty(), "both replicas drain: {} / {}", ran_a.len(), ran_b.len());
    }
}

async fn an_expired_lease_is_taken_over_and_a_finish_by_the_old_runner_is_refused(kind: Kind) {
    let db = TestDb::new(kind).await;
    let s = db.open().await;
    let created = s.create_job(job(3, 1), audit_event("t0", "IsolateDevice", 1)).await.unwrap();
    let short = codec::now() + Duration::milliseconds(200);
    let dead = s.claim_job_items("t0", "dead", 3, short).await.unwrap();
    assert_eq!(dead.len(), 3);
    assert!(s.claim_job_items("t0", "alive", 3, codec::now() + Duration::seconds(30)).await.unwrap().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let taken = s.claim_job_items("t0", "alive", 3, codec::now() + Duration::seconds(30)).await.unwrap();
    let attempts: BTreeMap<i64, i64> = taken.iter().map(|i| (i.seq, i.attempts)).collect();
    assert_eq!(attempts, BTreeMap::from([(1, 1), (2, 1), (3, 1)]), "same attempt: the same idempotency key");
    let end = ItemEnd { state: item_state::SUCCEEDED, operation_id: None, status: None, error: None };
    assert!(!s.finish_job_item(created.id, 1, "dead", end).await.unwrap(), "the dead runner lost its lease");
}

on_both_backends!(
    two_runners_drain_a_job_with_no_item_run_twice,
    an_expired_lease_is_taken_over_and_a_finish_by_the_old_runner_is_refused,
);
