//! The keyed audit chain on both back ends (issue 15 §1; PostgreSQL's migration 0017): a chain
//! recomputed forward without the key (or under another key) fails verification, a chain
//! written unkeyed is re-keyed once, and a process with a different key is refused.

use super::{Kind, TestDb, audit_event, drop_audit_guards, exec};
use crate::audit_key::{AuditKey, Keying};
use crate::chain::{ChainRow, GENESIS};
use crate::{Backend, Store};

const SELECT_ROWS: &str = "SELECT seq, at, operation_id, kind, principal, tenant, product, action, params, outcome, \
                           upstream_request_ids, duration_ms, detail, prev_hash, hash FROM audit_log ORDER BY seq";

fn key(byte: u8) -> AuditKey {
    AuditKey::from_hex(&hex::encode([byte; 32])).unwrap()
}

async fn append_n(s: &Store, n: i64) {
    for i in 1..=n {
        s.append_audit(audit_event("t1", "isolate", i)).await.unwrap();
    }
}

async fn rows(s: &Store) -> Vec<ChainRow> {
    match &s.backend {
        Backend::Sqlite(p) => {
            let rows = sqlx::query(SELECT_ROWS).fetch_all(p).await.unwrap();
            rows.iter().map(|r| crate::sqlite::audit::chain_row(r).unwrap()).collect()
        }
        Backend::Postgres(p) => {
            let rows = sqlx::query(SELECT_ROWS).fetch_all(p).await.unwrap();
            rows.iter().map(|r| crate::postgres::audit::chain_row(r).unwrap()).collect()
        }
    }
}

async fn set_hashes(s: &Store, seq: i64, prev: &str, hash: &str) {
    const ROW: &str = "UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3";
    match &s.backend {
        Backend::Sqlite(p) => sqlx::query(ROW).bind(prev).bind(hash).bind(seq).execute(p).await.map(|_| ()),
        Backend::Postgres(p) => sqlx::query(ROW).bind(prev).bind(hash).bind(seq).execute(p).await.map(|_| ()),
    }
    .unwrap();
}

async fn set_head(s: &Store, seq: i64, hash: &str) {
    const HEAD: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";
    match &s.backend {
        Backend::Sqlite(p) => sqlx::query(HEAD).bind(seq).bind(hash).execute(p).await.map(|_| ()),
        Backend::Postgres(p) => sqlx::query(HEAD).bind(seq).bind(hash).execute(p).await.map(|_| ()),
    }
    .unwrap();
}

/// Plays an attacker who can write the database but lacks the key: edits a row, then
/// recomputes every hash forward from genesis (unkeyed, or under `their_key`) and resets the
/// head, so the chain is internally consistent.
async fn forge_forward(s: &Store, their_key: Option<&AuditKey>) {
    drop_audit_guards(s).await;
    exec(s, "UPDATE audit_log SET principal = 'mallory' WHERE seq = 2").await.unwrap();
    let mut prev = GENESIS.to_string();
    let mut last = 0;
    for mut row in rows(s).await {
        row.prev_hash = prev;
        row.hash = row.compute_hash_with(their_key);
        set_hashes(s, row.seq, &row.prev_hash, &row.hash).await;
        prev = row.hash;
        last = row.seq;
    }
    set_head(s, last, &prev).await;
}

async fn keyed(kind: Kind) -> (Store, TestDb) {
    let db = TestDb::new(kind).await;
    let mut s = db.open().await;
    assert_eq!(s.use_audit_key(key(1), true).await.unwrap(), Keying::Rekeyed(0), "a new chain is keyed at once");
    (s, db)
}

async fn forward_recomputed_chain_fails_verification(kind: Kind) {
    for their_key in [None, Some(key(9))] {
        let (s, _db) = keyed(kind).await;
        append_n(&s, 4).await;
        assert!(s.verify_audit().await.unwrap().ok);
        forge_forward(&s, their_key.as_ref()).await;
        let report = s.verify_audit().await.unwrap();
        assert!(!report.ok, "a chain recomputed forward with {their_key:?} verified: {report:?}");
        assert!(report.problems.iter().any(|p| p.contains("seq 1")), "{:?}", report.problems);
    }
}

async fn unkeyed_chain_is_rekeyed_once(kind: Kind) {
    let db = TestDb::new(kind).await;
    let unkeyed = db.open().await;
    append_n(&unkeyed, 3).await;
    let before: Vec<String> = rows(&unkeyed).await.into_iter().map(|r| r.hash).collect();
    drop(unkeyed);

    let mut s = db.open().await;
    assert_eq!(s.use_audit_key(key(1), true).await.unwrap(), Keying::Rekeyed(3));
    let after: Vec<String> = rows(&s).await.into_iter().map(|r| r.hash).collect();
    assert!(before.iter().zip(&after).all(|(b, a)| b != a), "every hash is an HMAC now");
    append_n(&s, 2).await;
    assert!(s.verify_audit().await.unwrap().ok);
    // Updates are refused again once the re-key committed.
    assert!(exec(&s, "UPDATE audit_log SET principal = 'x' WHERE seq = 1").await.is_err());

    let mut again = db.open().await;
    assert_eq!(again.use_audit_key(key(1), true).await.unwrap(), Keying::AlreadyKeyed);
    assert!(again.verify_audit().await.unwrap().ok);
    // Without the key, a keyed chain does not verify (it fails closed).
    let keyless = db.open().await;
    assert!(!keyless.verify_audit().await.unwrap().ok);
}

async fn unkeyed_chain_beside_an_anchor_is_not_rekeyed(kind: Kind) {
    let db = TestDb::new(kind).await;
    append_n(&db.open().await, 2).await;
    let mut s = db.open().await;
    let err = s.use_audit_key(key(1), false).await.unwrap_err().to_string();
    assert!(err.contains("anchor"), "{err}");
}

async fn a_process_with_another_key_is_refused(kind: Kind) {
    let (s, db) = keyed(kind).await;
    append_n(&s, 2).await;
    let mut other = db.open().await;
    let err = other.use_audit_key(key(2), true).await.unwrap_err().to_string();
    assert!(err.contains("RIPOSTE_AUDIT_KEY") && err.contains(&key(2).fingerprint()), "{err}");
    assert!(!err.contains(&hex::encode([2u8; 32])), "the error never shows the key");
    let stored = s.get_setting(crate::audit_key::KEY_CHECK_SETTING).await.unwrap().unwrap();
    assert!(!stored.contains(&hex::encode([1u8; 32])), "the database holds a check value, never the key");
    let mut same = db.open().await;
    assert_eq!(same.use_audit_key(key(1), true).await.unwrap(), Keying::AlreadyKeyed);
    append_n(&same, 1).await;
    assert!(s.verify_audit().await.unwrap().ok);
}

/// An attacker who clears the keyed flag and recomputes the chain unkeyed cannot get it
/// re-keyed (laundered) by the next process, even one without an anchor file.
async fn a_chain_unkeyed_after_keying_is_not_rekeyed(kind: Kind) {
    let (s, db) = keyed(kind).await;
    append_n(&s, 3).await;
    forge_forward(&s, None).await;
    exec(&s, "UPDATE audit_head SET keyed = 0").await.unwrap();
    let mut next = db.open().await;
    let err = next.use_audit_key(key(1), true).await.unwrap_err().to_string();
    assert!(err.contains("key check"), "{err}");
    assert!(!s.verify_audit().await.unwrap().ok);
}

/// Two processes starting together on a new database with different keys: exactly one wins.
async fn two_keys_racing_on_a_new_chain_one_wins(kind: Kind) {
    let db = TestDb::new(kind).await;
    let (mut a, mut b) = (db.open().await, db.open().await);
    let (ra, rb) = tokio::join!(a.use_audit_key(key(3), true), b.use_audit_key(key(4), true));
    assert!(ra.is_ok() != rb.is_ok(), "exactly one key is the chain's: {ra:?} {rb:?}");
}

on_both_backends!(
    forward_recomputed_chain_fails_verification,
    unkeyed_chain_is_rekeyed_once,
    unkeyed_chain_beside_an_anchor_is_not_rekeyed,
    a_process_with_another_key_is_refused,
    two_keys_racing_on_a_new_chain_one_wins,
    a_chain_unkeyed_after_keying_is_not_rekeyed,
);
