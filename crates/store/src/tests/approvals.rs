//! Approvals on both back ends: a held operation and a held job are written with their request;
//! a held job's items are never claimed; one decision wins a race, the other is a `Conflict`;
//! an approved operation is `Queued`, a rejected job's items `Cancelled`; expiry finds what is due.

use serde_json::json;
use time::Duration;

use super::{Kind, audit_event, new_op, store};
use crate::{
    ApprovalDecision, ApprovalFilter, AuditKind, NewApproval, NewJob, NewJobItem, StoreError, approval_kind,
    approval_status, codec, item_state, job_state,
};

fn approval(expires_in: Duration) -> NewApproval {
    NewApproval {
        id: uuid::Uuid::now_v7(),
        tenants: vec!["t1".into()],
        product: "MDE".into(),
        action: "IsolateDevice".into(),
        params: json!({"deviceIds": ["abc"]}),
        targets: 1,
        requester: "alice".into(),
        reasons: json!([{"rule": "tier0.devices", "why": "device abc carries the tag 'tier-0'"}]),
        expires_at: codec::now() + expires_in,
    }
}

fn decision(status: &'static str, subject_state: &'static str, by: &str) -> ApprovalDecision {
    ApprovalDecision {
        status,
        decided_by: by.into(),
        reason: Some(format!("{by} says so")),
        subject_state,
        error: None,
    }
}

async fn a_held_operation_is_approved_once(kind: Kind) {
    let s = store(kind).await;
    let mut op = new_op("t1", "IsolateDevice", Some("k1"));
    op.status = "AwaitingApproval".into();
    let a = approval(Duration::hours(4));
    let requested =
        crate::NewAuditEvent { kind: AuditKind::ApprovalRequested, ..audit_event("t1", "IsolateDevice", 2) };
    let (held, stored) = s
        .hold_operation(
            op,
            json!({"approval": {"id": a.id}}),
            audit_event("t1", "IsolateDevice", 1),
            a.clone(),
            requested,
        )
        .await
        .expect("held");
    assert_eq!(
        (held.status.as_str(), held.result.clone()),
        ("AwaitingApproval", Some(json!({"approval": {"id": a.id}})))
    );
    assert_eq!(
        (stored.kind.as_str(), stored.subject_id, stored.status.as_str()),
        (approval_kind::OPERATION, held.id, "Pending")
    );
    assert_eq!(s.approval_of(held.id).await.unwrap().map(|x| x.id), Some(a.id));
    let listed = s.list_approvals(ApprovalFilter { status: Some("Pending".into()), limit: 10 }).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(s.expired_approvals(codec::now(), 10).await.unwrap().is_empty(), "not due yet");

    let approve = decision(approval_status::APPROVED, "Queued", "bob");
    let reject = decision(approval_status::REJECTED, "Rejected", "carol");
    let (s1, s2) = (s.clone(), s.clone());
    let record = || crate::NewAuditEvent { kind: AuditKind::Approved, ..audit_event("t1", "IsolateDevice", 3) };
    let (r1, r2) =
        tokio::join!(s1.decide_approval(a.id, approve, record()), s2.decide_approval(a.id, reject, record()));
    let won = [r1.is_ok(), r2.is_ok()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "one decision wins: {won:?}");
    let lost = match (r1, r2) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        other => panic!("exactly one decision wins: {other:?}"),
    };
    assert!(matches!(lost, StoreError::Conflict(_)), "{lost:?}");
    let decided = s.approval(a.id).await.unwrap().unwrap();
    let op = s.get_operation(held.id).await.unwrap().unwrap();
    match decided.status.as_str() {
        "Approved" => assert_eq!((op.status.as_str(), decided.decided_by.as_deref()), ("Queued", Some("bob"))),
        other => assert_eq!((other, op.status.as_str()), ("Rejected", "Rejected")),
    }
    let unknown = s.decide_approval(uuid::Uuid::now_v7(), decision("Rejected", "Rejected", "x"), record()).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))));
    assert!(s.verify_audit().await.unwrap().ok);
}

async fn a_held_job_is_never_claimed_and_rejecting_cancels_its_items(kind: Kind) {
    let s = store(kind).await;
    let job = NewJob {
        id: uuid::Uuid::now_v7(),
        name: Some("wide".into()),
        product: "MDE".into(),
        action: "IsolateDevice".into(),
        params: json!({"comment": "bulk"}),
        principal: "alice".into(),
        role: "responder".into(),
        priority: 0,
        revert_after_seconds: None,
        undo_of: None,
        items: (0..4)
            .map(|i| NewJobItem { tenant: format!("t{}", i % 2), params: json!({"deviceId": format!("d{i}")}) })
            .collect(),
    };
    let a = NewApproval { tenants: vec!["t0".into(), "t1".into()], targets: 4, ..approval(Duration::seconds(-1)) };
    let (held, stored) = s
        .hold_job(job, audit_event("", "IsolateDevice", 1), a.clone(), audit_event("", "IsolateDevice", 2))
        .await
        .expect("held");
    assert_eq!((held.state.as_str(), stored.kind.as_str()), (job_state::AWAITING_APPROVAL, approval_kind::JOB));
    assert!(s.tenants_with_job_work().await.unwrap().is_empty(), "a held job has no claimable work");
    let lease = codec::now() + Duration::seconds(30);
    assert!(s.claim_job_items("t0", "runner", 10, lease).await.unwrap().is_empty());
    let due = s.expired_approvals(codec::now(), 10).await.unwrap();
    assert_eq!(due.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id], "past its expiry");

    let record = crate::NewAuditEvent { kind: AuditKind::Rejected, ..audit_event("", "IsolateDevice", 3) };
    s.decide_approval(a.id, decision(approval_status::REJECTED, job_state::REJECTED, "bob"), record).await.unwrap();
    let job = s.job(held.id).await.unwrap().unwrap();
    assert_eq!(job.state, job_state::REJECTED);
    assert!(job.finished_at.is_some());
    let items = s.job_items(held.id, None, 0, 100).await.unwrap();
    assert!(items.iter().all(|i| i.state == item_state::CANCELLED && i.operation_id.is_none()), "{items:?}");
    assert!(s.expired_approvals(codec::now(), 10).await.unwrap().is_empty(), "decided: no longer due");
}

on_both_backends!(a_held_operation_is_approved_once, a_held_job_is_never_claimed_and_rejecting_cancels_its_items);
