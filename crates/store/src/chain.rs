//! The audit hash chain, independent of the database.
//!
//! Each record's hash covers the previous record's hash and the record's stored text (every
//! column), so changing, deleting, inserting or reordering any row breaks the chain. The hash
//! is computed from the *stored* text, never from re-serialised values, so verification does
//! not depend on JSON or float formatting details of any library version.
//!
//! With an audit key ([`crate::audit_key`]) the hash is an HMAC-SHA256 under a second domain
//! tag, so a chain recomputed forward without the key (or with the old unkeyed algorithm)
//! fails verification.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::StoreError;
use crate::codec;
use crate::model::{AuditRecord, NewAuditEvent, VerifyReport};
use crate::types::AuditKind;

/// `prev_hash` of the first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Version tag mixed into every hash, so a future change of encoding cannot be confused with this one.
const DOMAIN: &[u8] = b"riposte-audit-v1\n";
/// Domain tag of keyed (HMAC) hashes.
const KEYED_DOMAIN: &[u8] = b"riposte-audit-v2-hmac\n";

/// Upper bound on reported problems, so a wholesale rewrite does not produce a gigantic report.
const MAX_PROBLEMS: usize = 1_000;

/// One audit row exactly as stored: the unit that is hashed, inserted and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainRow {
    pub seq: i64,
    pub at: String,
    pub operation_id: Option<String>,
    pub kind: String,
    pub principal: String,
    pub tenant: Option<String>,
    pub product: Option<String>,
    pub action: Option<String>,
    pub params: String,
    pub outcome: Option<String>,
    pub upstream_request_ids: String,
    pub duration_ms: Option<i64>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ChainRow {
    /// Builds the next row of the chain from an event, its position and the current tip.
    pub(crate) fn seal(
        e: &NewAuditEvent,
        seq: i64,
        at: time::OffsetDateTime,
        prev_hash: &str,
    ) -> Result<ChainRow, StoreError> {
        let mut row = ChainRow {
            seq,
            at: codec::format_ts(at)?,
            operation_id: e.operation_id.map(|id| id.hyphenated().to_string()),
            kind: e.kind.as_str().to_string(),
            principal: e.principal.clone(),
            tenant: e.tenant.clone(),
            product: e.product.clone(),
            action: e.action.clone(),
            params: codec::canonical_json(&e.params),
            outcome: e.outcome.clone(),
            upstream_request_ids: codec::string_list_json(&e.upstream_request_ids),
            duration_ms: e.duration_ms,
            detail: codec::canonical_json(&e.detail),
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        row.hash = row.compute_hash();
        Ok(row)
    }

    /// The hash under the running store's key (HMAC) or, without one, the unkeyed sha256.
    pub(crate) fn compute_hash(&self) -> String {
        self.compute_hash_with(crate::audit_key::current().as_ref())
    }

    /// hex HMAC-SHA256 under `key` (or sha256 without) over `prev_hash` and every other
    /// column except `hash` itself.
    pub(crate) fn compute_hash_with(&self, key: Option<&crate::audit_key::AuditKey>) -> String {
        let fields = self.encoded();
        match key {
            Some(k) => hex::encode(crate::audit_key::hmac_sha256(k.bytes(), &[KEYED_DOMAIN, &fields])),
            None => {
                let mut h = Sha256::new();
                h.update(DOMAIN);
                h.update(&fields);
                hex::encode(h.finalize())
            }
        }
    }

    /// The hashed byte stream: every column but `hash`, length-prefixed.
    fn encoded(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(256 + self.params.len() + self.detail.len());
        let seq = self.seq.to_string();
        let duration = self.duration_ms.map(|d| d.to_string());
        let fields: [(&str, Option<&str>); 14] = [
            ("prev_hash", Some(&self.prev_hash)),
            ("seq", Some(&seq)),
            ("at", Some(&self.at)),
            ("operation_id", self.operation_id.as_deref()),
            ("kind", Some(&self.kind)),
            ("principal", Some(&self.principal)),
            ("tenant", self.tenant.as_deref()),
            ("product", self.product.as_deref()),
            ("action", self.action.as_deref()),
            ("params", Some(&self.params)),
            ("outcome", self.outcome.as_deref()),
            ("upstream_request_ids", Some(&self.upstream_request_ids)),
            ("duration_ms", duration.as_deref()),
            ("detail", Some(&self.detail)),
        ];
        for (name, value) in fields {
            hash_field(&mut h, name, value);
        }
        h
    }

    /// Decodes the stored text into the public record.
    pub(crate) fn into_record(self) -> Result<AuditRecord, StoreError> {
        let operation_id: Option<Uuid> =
            self.operation_id.as_deref().map(|s| codec::parse_uuid("audit_log.operation_id", s)).transpose()?;
        Ok(AuditRecord {
            seq: self.seq,
            at: codec::parse_ts("audit_log.at", &self.at)?,
            operation_id,
            kind: AuditKind::parse(&self.kind),
            principal: self.principal,
            tenant: self.tenant,
            product: self.product,
            action: self.action,
            params: codec::parse_json("audit_log.params", &self.params)?,
            outcome: self.outcome,
            upstream_request_ids: codec::parse_string_list(
                "audit_log.upstream_request_ids",
                &self.upstream_request_ids,
            )?,
            duration_ms: self.duration_ms,
            detail: codec::parse_json("audit_log.detail", &self.detail)?,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Writes `name=len:value\n` (or `name=-\n` for NULL): length-prefixed, so no two different
/// records can produce the same byte stream, and NULL differs from the empty string.
fn hash_field(h: &mut Vec<u8>, name: &str, value: Option<&str>) {
    h.extend_from_slice(name.as_bytes());
    match value {
        None => h.extend_from_slice(b"=-\n"),
        Some(v) => {
            h.extend_from_slice(format!("={}:", v.len()).as_bytes());
            h.extend_from_slice(v.as_bytes());
            h.extend_from_slice(b"\n");
        }
    }
}

/// The chain tip as recorded in `audit_head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub seq: i64,
    pub hash: String,
}

/// Walks rows in `seq` order and collects every break in the chain.
#[derive(Debug)]
pub(crate) struct Verifier {
    expected_seq: i64,
    expected_prev: String,
    rows: i64,
    problems: Vec<String>,
    dropped: usize,
}

impl Verifier {
    pub(crate) fn new() -> Verifier {
        Verifier { expected_seq: 1, expected_prev: GENESIS.to_string(), rows: 0, problems: Vec::new(), dropped: 0 }
    }

    /// Checks one row against its predecessor. Rows must arrive in ascending `seq` order.
    pub(crate) fn check(&mut self, row: &ChainRow) {
        self.rows += 1;
        let gap = row.seq != self.expected_seq;
        if row.seq > self.expected_seq {
            let missing = if row.seq - self.expected_seq == 1 {
                format!("seq {} missing (row deleted)", self.expected_seq)
            } else {
                format!("seq {}..{} missing (rows deleted)", self.expected_seq, row.seq - 1)
            };
            self.problem(missing);
        } else if row.seq < self.expected_seq {
            self.problem(format!("seq {}: out of sequence (row inserted)", row.seq));
        }
        // After a gap the prev_hash mismatch is implied; report it only for contiguous rows.
        if !gap && row.prev_hash != self.expected_prev {
            self.problem(format!(
                "seq {}: prev_hash does not match the previous row (row inserted, reordered or replaced)",
                row.seq
            ));
        }
        if row.compute_hash() != row.hash {
            self.problem(format!("seq {}: hash mismatch (row modified)", row.seq));
        }
        self.expected_seq = row.seq + 1;
        self.expected_prev = row.hash.clone();
    }

    /// Records a row whose columns could not even be decoded (wrong types written by hand).
    /// The chain cannot be confirmed through it, so the next link is checked against its stored
    /// hash if that much was readable.
    pub(crate) fn unreadable(&mut self, seq: i64, hash: Option<String>, why: &str) {
        self.rows += 1;
        if seq > self.expected_seq {
            self.problem(format!("seq {}..{} missing (rows deleted)", self.expected_seq, seq - 1));
        }
        self.problem(format!("seq {seq}: unreadable row ({why}) (row modified)"));
        self.expected_seq = seq + 1;
        self.expected_prev = hash.unwrap_or_default();
    }

    /// Compares the last row with the recorded head and produces the report.
    pub(crate) fn finish(mut self, head: Option<Head>) -> VerifyReport {
        let last_seq = self.expected_seq - 1;
        let last_hash = self.expected_prev.clone();
        match head {
            None => self.problem("head missing: audit_head row deleted".to_string()),
            Some(h) if h.seq > last_seq => self.problem(format!(
                "head mismatch: last rows deleted (head at seq {}, last row is seq {})",
                h.seq, last_seq
            )),
            Some(h) if h.seq < last_seq => self.problem(format!(
                "head mismatch: rows after seq {} were not appended through the chain (last row is seq {})",
                h.seq, last_seq
            )),
            Some(h) if h.hash != last_hash => self.problem(format!(
                "head mismatch: hash of seq {} differs from the recorded head (row or head modified)",
                h.seq
            )),
            Some(_) => {}
        }
        if self.dropped > 0 {
            self.problems.push(format!("... and {} more problems", self.dropped));
        }
        VerifyReport { rows: self.rows, ok: self.problems.is_empty(), problems: self.problems }
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else {
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(n: i64) -> NewAuditEvent {
        NewAuditEvent {
            kind: AuditKind::Attempt,
            principal: "alice".into(),
            tenant: Some("t1".into()),
            params: json!({"n": n}),
            detail: json!({}),
            operation_id: None,
            product: None,
            action: None,
            outcome: None,
            upstream_request_ids: vec![],
            duration_ms: None,
        }
    }

    fn chain(n: i64) -> Vec<ChainRow> {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let row = ChainRow::seal(&event(seq), seq, at, &prev).unwrap();
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    fn verify(rows: &[ChainRow], head: Option<Head>) -> VerifyReport {
        let mut v = Verifier::new();
        rows.iter().for_each(|r| v.check(r));
        v.finish(head)
    }

    fn head_of(rows: &[ChainRow]) -> Option<Head> {
        let last = rows.last()?;
        Some(Head { seq: last.seq, hash: last.hash.clone() })
    }

    #[test]
    fn intact_chain_verifies() {
        let rows = chain(5);
        let r = verify(&rows, head_of(&rows));
        assert!(r.ok, "{:?}", r.problems);
        assert_eq!(r.rows, 5);
    }

    #[test]
    fn empty_chain_verifies_against_genesis_head() {
        let r = verify(&[], Some(Head { seq: 0, hash: GENESIS.into() }));
        assert!(r.ok, "{:?}", r.problems);
    }

    #[test]
    fn null_and_empty_string_hash_differently() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let mut a = event(1);
        a.tenant = None;
        let mut b = event(1);
        b.tenant = Some(String::new());
        let ha = ChainRow::seal(&a, 1, at, GENESIS).unwrap().hash;
        let hb = ChainRow::seal(&b, 1, at, GENESIS).unwrap().hash;
        assert_ne!(ha, hb);
    }

    #[test]
    fn swapped_rows_are_detected() {
        let mut rows = chain(4);
        let head = head_of(&rows);
        // Swap the content of rows 2 and 3 but keep their seq numbers in place.
        let (s2, s3) = (rows[1].seq, rows[2].seq);
        rows.swap(1, 2);
        rows[1].seq = s2;
        rows[2].seq = s3;
        let r = verify(&rows, head);
        assert!(!r.ok);
        assert!(r.problems.iter().any(|p| p.contains("hash mismatch")), "{:?}", r.problems);
    }

    #[test]
    fn forged_row_with_recomputed_hash_breaks_the_next_link() {
        let mut rows = chain(3);
        let head = head_of(&rows);
        rows[1].principal = "mallory".into();
        rows[1].hash = rows[1].compute_hash();
        let r = verify(&rows, head);
        assert_eq!(
            r.problems,
            vec!["seq 3: prev_hash does not match the previous row (row inserted, reordered or replaced)"]
        );
    }
}
