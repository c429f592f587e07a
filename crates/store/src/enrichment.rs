//! Storage for the enrichment scanner (`crates/enrich`): the lookup history with TTLs, the
//! evidence per alert, the write-back ledger, dead letters and stream offsets.
//!
//! The one rule that makes the scanner at-least-once without duplicates: [`Store::record_stream_batch`]
//! writes a batch's evidence, its dead letters and the partition's next offset in **one**
//! transaction. A crash before it re-reads the batch (the inserts are idempotent); a crash after
//! it never loses the batch. Verdicts are plain JSON here: the store keeps data, `enrich` decides.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use time::OffsetDateTime;

use crate::sqlite::{begin_write, col};
use crate::{Backend, Store, StoreError, codec};

/// The file hashes of one alert in a batch (hashes as `(kind, value)`, normalised by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertEvidence {
    pub tenant: String,
    pub alert_id: String,
    pub incident_id: Option<String>,
    pub device_id: Option<String>,
    pub hashes: Vec<(String, String)>,
}

/// A record that could not be read: the message's offset and the record's position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDeadLetter {
    pub offset: i64,
    pub position: i32,
    pub reason: String,
    pub payload: String,
}

/// What one fetch from one partition produced, stored with the offset after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamBatch {
    pub source: String,
    pub partition: i32,
    pub next_offset: i64,
    pub high_watermark: i64,
    pub alerts: Vec<AlertEvidence>,
    pub dead: Vec<NewDeadLetter>,
}

/// A verdict in the history.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredLookup {
    pub hash: String,
    pub kind: String,
    pub status: String,
    pub source: String,
    pub verdict: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub looked_up_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// One lookup made (the history of a hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupLogEntry {
    pub status: String,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub looked_up_at: OffsetDateTime,
}

/// An alert whose evidence is not yet covered by the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAlert {
    pub tenant: String,
    pub alert_id: String,
    pub incident_id: Option<String>,
    pub device_id: Option<String>,
    pub hash_count: i64,
    pub hashes: Vec<(String, String)>,
}

/// A ledger row: what was last posted to an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Writeback {
    pub tenant: String,
    pub alert_id: String,
    pub hash_count: i64,
    pub digest: String,
    pub comment: String,
    pub outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamOffset {
    pub source: String,
    pub partition: i32,
    pub next_offset: i64,
    pub high_watermark: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterRow {
    pub id: i64,
    pub source: String,
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
    pub payload: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// Totals for the status page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichmentCounts {
    pub hashes_known: i64,
    pub lookups_made: i64,
    pub alerts: i64,
    pub alerts_pending: i64,
    pub writebacks: i64,
    pub dead_letters: i64,
}

impl Store {
    /// Stores a batch's evidence and dead letters and moves the partition's offset, atomically.
    pub async fn record_stream_batch(&self, batch: &StreamBatch) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => record_stream_batch(p, batch).await,
            Backend::Postgres(p) => crate::postgres::enrichment::record_stream_batch(p, batch).await,
        }
    }

    /// The checkpointed offsets of a source (an event hub / topic), by partition.
    pub async fn stream_offsets(&self, source: &str) -> Result<Vec<StreamOffset>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => stream_offsets(p, source).await,
            Backend::Postgres(p) => crate::postgres::enrichment::stream_offsets(p, source).await,
        }
    }

    /// The stored verdicts of these hashes (expired ones included; the caller checks `expires_at`).
    pub async fn lookups(&self, hashes: &[String]) -> Result<Vec<StoredLookup>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => lookups(p, hashes).await,
            Backend::Postgres(p) => crate::postgres::enrichment::lookups(p, hashes).await,
        }
    }

    /// Stores fresh verdicts (replacing older ones) and logs each lookup, in one transaction.
    pub async fn put_lookups(&self, rows: &[StoredLookup]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => put_lookups(p, rows).await,
            Backend::Postgres(p) => crate::postgres::enrichment::put_lookups(p, rows).await,
        }
    }

    /// Every lookup of a hash, oldest first.
    pub async fn lookup_log(&self, hash: &str) -> Result<Vec<LookupLogEntry>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => lookup_log(p, hash).await,
            Backend::Postgres(p) => crate::postgres::enrichment::lookup_log(p, hash).await,
        }
    }

    /// Alerts whose last evidence arrived before `settled_before` and whose hashes the ledger
    /// does not cover yet, oldest first.
    pub async fn pending_alerts(
        &self,
        settled_before: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<PendingAlert>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => pending_alerts(p, settled_before, limit).await,
            Backend::Postgres(p) => crate::postgres::enrichment::pending_alerts(p, settled_before, limit).await,
        }
    }

    /// Records (replaces) the ledger row of an alert.
    pub async fn record_writeback(&self, w: &Writeback) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => record_writeback(p, w).await,
            Backend::Postgres(p) => crate::postgres::enrichment::record_writeback(p, w).await,
        }
    }

    pub async fn writeback(&self, tenant: &str, alert_id: &str) -> Result<Option<Writeback>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => writeback(p, tenant, alert_id).await,
            Backend::Postgres(p) => crate::postgres::enrichment::writeback(p, tenant, alert_id).await,
        }
    }

    /// The newest dead letters first.
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetterRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => dead_letters(p, limit).await,
            Backend::Postgres(p) => crate::postgres::enrichment::dead_letters(p, limit).await,
        }
    }

    pub async fn enrichment_counts(&self) -> Result<EnrichmentCounts, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => counts(p).await,
            Backend::Postgres(p) => crate::postgres::enrichment::counts(p).await,
        }
    }
}

async fn record_stream_batch(pool: &SqlitePool, b: &StreamBatch) -> Result<(), StoreError> {
    let stamp = codec::format_ts(codec::now())?;
    let mut tx = begin_write(pool).await?;
    for a in &b.alerts {
        for (kind, hash) in &a.hashes {
            sqlx::query(
                "INSERT INTO enrichment_alert_hashes (tenant, alert_id, hash, kind) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant, alert_id, hash) DO NOTHING",
            )
            .bind(&a.tenant)
            .bind(&a.alert_id)
            .bind(hash)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        }
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM enrichment_alert_hashes WHERE tenant = $1 AND alert_id = $2")
                .bind(&a.tenant)
                .bind(&a.alert_id)
                .fetch_one(&mut *tx)
                .await?;
        // A replayed batch adds no hash: the alert's settle time is left alone then.
        sqlx::query(
            "INSERT INTO enrichment_alerts (tenant, alert_id, incident_id, device_id, hash_count, first_seen_at, last_evidence_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (tenant, alert_id) DO UPDATE SET
               incident_id = COALESCE(enrichment_alerts.incident_id, excluded.incident_id),
               device_id = COALESCE(enrichment_alerts.device_id, excluded.device_id),
               last_evidence_at = CASE WHEN excluded.hash_count > enrichment_alerts.hash_count
                                       THEN excluded.last_evidence_at ELSE enrichment_alerts.last_evidence_at END,
               hash_count = excluded.hash_count",
        )
        .bind(&a.tenant)
        .bind(&a.alert_id)
        .bind(&a.incident_id)
        .bind(&a.device_id)
        .bind(count)
        .bind(&stamp)
        .execute(&mut *tx)
        .await?;
    }
    for d in &b.dead {
        sqlx::query(
            "INSERT INTO enrichment_dead_letters (source, partition, msg_offset, position, reason, payload, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, partition, msg_offset, position) DO NOTHING",
        )
        .bind(&b.source)
        .bind(b.partition)
        .bind(d.offset)
        .bind(d.position)
        .bind(&d.reason)
        .bind(&d.payload)
        .bind(&stamp)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO enrichment_offsets (source, partition, next_offset, high_watermark, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source, partition) DO UPDATE SET
           next_offset = MAX(enrichment_offsets.next_offset, excluded.next_offset),
           high_watermark = excluded.high_watermark, updated_at = excluded.updated_at",
    )
    .bind(&b.source)
    .bind(b.partition)
    .bind(b.next_offset)
    .bind(b.high_watermark)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn stream_offsets(pool: &SqlitePool, source: &str) -> Result<Vec<StreamOffset>, StoreError> {
    let rows = sqlx::query(
        "SELECT source, partition, next_offset, high_watermark FROM enrichment_offsets WHERE source = $1 ORDER BY partition",
    )
    .bind(source)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StreamOffset {
                source: col(r, "source")?,
                partition: col(r, "partition")?,
                next_offset: col(r, "next_offset")?,
                high_watermark: col(r, "high_watermark")?,
            })
        })
        .collect()
}

async fn lookups(pool: &SqlitePool, hashes: &[String]) -> Result<Vec<StoredLookup>, StoreError> {
    let mut out = Vec::with_capacity(hashes.len());
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in hashes.chunks(500) {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT hash, kind, status, source, verdict, looked_up_at, expires_at FROM enrichment_lookups WHERE hash IN (",
        );
        let mut sep = qb.separated(", ");
        for h in chunk {
            sep.push_bind(h);
        }
        qb.push(")");
        for row in qb.build().fetch_all(pool).await? {
            out.push(lookup_row(&row)?);
        }
    }
    Ok(out)
}

fn lookup_row(r: &SqliteRow) -> Result<StoredLookup, StoreError> {
    Ok(StoredLookup {
        hash: col(r, "hash")?,
        kind: col(r, "kind")?,
        status: col(r, "status")?,
        source: col(r, "source")?,
        verdict: codec::parse_json("enrichment_lookups.verdict", &col::<String>(r, "verdict")?)?,
        looked_up_at: codec::parse_ts("looked_up_at", &col::<String>(r, "looked_up_at")?)?,
        expires_at: codec::parse_ts("expires_at", &col::<String>(r, "expires_at")?)?,
    })
}

async fn put_lookups(pool: &SqlitePool, rows: &[StoredLookup]) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    for l in rows {
        let at = codec::format_ts(l.looked_up_at)?;
        sqlx::query(
            "INSERT INTO enrichment_lookups (hash, kind, status, source, verdict, looked_up_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (hash) DO UPDATE SET kind = excluded.kind, status = excluded.status, source = excluded.source,
               verdict = excluded.verdict, looked_up_at = excluded.looked_up_at, expires_at = excluded.expires_at",
        )
        .bind(&l.hash)
        .bind(&l.kind)
        .bind(&l.status)
        .bind(&l.source)
        .bind(codec::canonical_json(&l.verdict))
        .bind(&at)
        .bind(codec::format_ts(l.expires_at)?)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO enrichment_lookup_log (hash, status, source, looked_up_at) VALUES ($1, $2, $3, $4)")
            .bind(&l.hash)
            .bind(&l.status)
            .bind(&l.source)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn lookup_log(pool: &SqlitePool, hash: &str) -> Result<Vec<LookupLogEntry>, StoreError> {
    let rows =
        sqlx::query("SELECT status, source, looked_up_at FROM enrichment_lookup_log WHERE hash = $1 ORDER BY id")
            .bind(hash)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(LookupLogEntry {
                status: col(r, "status")?,
                source: col(r, "source")?,
                looked_up_at: codec::parse_ts("looked_up_at", &col::<String>(r, "looked_up_at")?)?,
            })
        })
        .collect()
}

async fn pending_alerts(
    pool: &SqlitePool,
    settled_before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<PendingAlert>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.tenant, a.alert_id, a.incident_id, a.device_id, a.hash_count
         FROM enrichment_alerts a
         LEFT JOIN enrichment_writebacks w ON w.tenant = a.tenant AND w.alert_id = a.alert_id
         WHERE (w.hash_count IS NULL OR w.hash_count < a.hash_count) AND a.last_evidence_at <= $1
         ORDER BY a.last_evidence_at LIMIT $2",
    )
    .bind(codec::format_ts(settled_before)?)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let tenant: String = col(r, "tenant")?;
        let alert_id: String = col(r, "alert_id")?;
        let hashes = sqlx::query(
            "SELECT kind, hash FROM enrichment_alert_hashes WHERE tenant = $1 AND alert_id = $2 ORDER BY kind, hash",
        )
        .bind(&tenant)
        .bind(&alert_id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|h| Ok((col(h, "kind")?, col(h, "hash")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        out.push(PendingAlert {
            tenant,
            alert_id,
            incident_id: col(r, "incident_id")?,
            device_id: col(r, "device_id")?,
            hash_count: col(r, "hash_count")?,
            hashes,
        });
    }
    Ok(out)
}

async fn record_writeback(pool: &SqlitePool, w: &Writeback) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO enrichment_writebacks (tenant, alert_id, hash_count, digest, comment, outcome, posted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant, alert_id) DO UPDATE SET hash_count = excluded.hash_count, digest = excluded.digest,
           comment = excluded.comment, outcome = excluded.outcome, posted_at = excluded.posted_at",
    )
    .bind(&w.tenant)
    .bind(&w.alert_id)
    .bind(w.hash_count)
    .bind(&w.digest)
    .bind(&w.comment)
    .bind(&w.outcome)
    .bind(codec::format_ts(w.posted_at)?)
    .execute(pool)
    .await?;
    Ok(())
}

async fn writeback(pool: &SqlitePool, tenant: &str, alert_id: &str) -> Result<Option<Writeback>, StoreError> {
    let row = sqlx::query(
        "SELECT tenant, alert_id, hash_count, digest, comment, outcome, posted_at FROM enrichment_writebacks
         WHERE tenant = $1 AND alert_id = $2",
    )
    .bind(tenant)
    .bind(alert_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Writeback {
            tenant: col(&r, "tenant")?,
            alert_id: col(&r, "alert_id")?,
            hash_count: col(&r, "hash_count")?,
            digest: col(&r, "digest")?,
            comment: col(&r, "comment")?,
            outcome: col(&r, "outcome")?,
            posted_at: codec::parse_ts("posted_at", &col::<String>(&r, "posted_at")?)?,
        })
    })
    .transpose()
}

async fn dead_letters(pool: &SqlitePool, limit: i64) -> Result<Vec<DeadLetterRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, source, partition, msg_offset, reason, payload, received_at FROM enrichment_dead_letters
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetterRow {
                id: col(r, "id")?,
                source: col(r, "source")?,
                partition: col(r, "partition")?,
                offset: col(r, "msg_offset")?,
                reason: col(r, "reason")?,
                payload: col(r, "payload")?,
                received_at: codec::parse_ts("received_at", &col::<String>(r, "received_at")?)?,
            })
        })
        .collect()
}

async fn counts(pool: &SqlitePool) -> Result<EnrichmentCounts, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM enrichment_lookups) AS hashes_known,
                (SELECT COUNT(*) FROM enrichment_lookup_log) AS lookups_made,
                (SELECT COUNT(*) FROM enrichment_alerts) AS alerts,
                (SELECT COUNT(*) FROM enrichment_alerts a LEFT JOIN enrichment_writebacks w
                   ON w.tenant = a.tenant AND w.alert_id = a.alert_id
                   WHERE w.hash_count IS NULL OR w.hash_count < a.hash_count) AS alerts_pending,
                (SELECT COUNT(*) FROM enrichment_writebacks) AS writebacks,
                (SELECT COUNT(*) FROM enrichment_dead_letters) AS dead_letters",
    )
    .fetch_one(pool)
    .await?;
    Ok(EnrichmentCounts {
        hashes_known: row.try_get("hashes_known")?,
        lookups_made: row.try_get("lookups_made")?,
        alerts: row.try_get("alerts")?,
        alerts_pending: row.try_get("alerts_pending")?,
        writebacks: row.try_get("writebacks")?,
        dead_letters: row.try_get("dead_letters")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(offset: i64, alert: &str, hashes: &[&str]) -> StreamBatch {
        StreamBatch {
            source: "hub".into(),
            partition: 0,
            next_offset: offset,
            high_watermark: 10,
            alerts: vec![AlertEvidence {
                tenant: "t".into(),
                alert_id: alert.into(),
                incident_id: None,
                device_id: Some("d".into()),
                hashes: hashes.iter().map(|h| ("sha1".to_string(), h.to_string())).collect(),
            }],
            dead: vec![NewDeadLetter { offset: offset - 1, position: 0, reason: "bad".into(), payload: "x".into() }],
        }
    }

    #[tokio::test]
    async fn a_replayed_batch_changes_nothing_and_offsets_never_go_back() {
        let s = Store::in_memory().await.expect("store");
        s.record_stream_batch(&batch(3, "a1", &["h1", "h2"])).await.expect("first");
        s.record_stream_batch(&batch(3, "a1", &["h1", "h2"])).await.expect("replay");
        s.record_stream_batch(&batch(2, "a1", &["h1"])).await.expect("older");
        let offsets = s.stream_offsets("hub").await.expect("offsets");
        assert_eq!(offsets[0].next_offset, 3);
        let c = s.enrichment_counts().await.expect("counts");
        assert_eq!((c.alerts, c.alerts_pending, c.dead_letters), (1, 1, 2));
        let later = codec::now() + time::Duration::seconds(1);
        let pending = s.pending_alerts(later, 10).await.expect("pending");
        assert_eq!(pending[0].hashes.len(), 2);
        s.record_writeback(&Writeback {
            tenant: "t".into(),
            alert_id: "a1".into(),
            hash_count: 2,
            digest: "d".into(),
            comment: "c".into(),
            outcome: "posted".into(),
            posted_at: codec::now(),
        })
        .await
        .expect("ledger");
        assert!(s.pending_alerts(later, 10).await.expect("pending").is_empty());
        s.record_stream_batch(&batch(4, "a1", &["h3"])).await.expect("new evidence");
        let later = codec::now() + time::Duration::seconds(1);
        assert_eq!(s.pending_alerts(later, 10).await.expect("pending")[0].hash_count, 3);
    }

    #[tokio::test]
    async fn lookups_replace_and_log() {
        let s = Store::in_memory().await.expect("store");
        let row = |status: &str| StoredLookup {
            hash: "h1".into(),
            kind: "sha1".into(),
            status: status.into(),
            source: "RL".into(),
            verdict: serde_json::json!({"status": status}),
            looked_up_at: codec::now(),
            expires_at: codec::now() + time::Duration::hours(1),
        };
        s.put_lookups(&[row("unknown")]).await.expect("put");
        s.put_lookups(&[row("malicious")]).await.expect("put");
        let got = s.lookups(&["h1".into(), "h2".into()]).await.expect("get");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].status, "malicious");
        let log = s.lookup_log("h1").await.expect("log");
        assert_eq!(log.iter().map(|l| l.status.as_str()).collect::<Vec<_>>(), ["unknown", "malicious"]);
    }
}
