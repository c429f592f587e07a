//! The enrichment scanner's tables on PostgreSQL: the statements of `crate::enrichment`'s SQLite
//! functions, with `GREATEST` for SQLite's two-argument `MAX`. Model and rules live in
//! `crate::enrichment`; this file only stores.

use sqlx::Row;
use sqlx::postgres::{PgPool, PgRow};
use time::OffsetDateTime;

use super::{begin_write, col};
use crate::enrichment::{
    DeadLetterRow, EnrichmentCounts, LookupLogEntry, PendingAlert, StoredLookup, StreamBatch, StreamOffset, Writeback,
};
use crate::{StoreError, codec};

pub(crate) async fn record_stream_batch(pool: &PgPool, b: &StreamBatch) -> Result<(), StoreError> {
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
           next_offset = GREATEST(enrichment_offsets.next_offset, excluded.next_offset),
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

pub(crate) async fn stream_offsets(pool: &PgPool, source: &str) -> Result<Vec<StreamOffset>, StoreError> {
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

pub(crate) async fn lookups(pool: &PgPool, hashes: &[String]) -> Result<Vec<StoredLookup>, StoreError> {
    let mut out = Vec::with_capacity(hashes.len());
    // Chunks keep each statement short (and under SQLite's limit, to match).
    for chunk in hashes.chunks(500) {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(
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

fn lookup_row(r: &PgRow) -> Result<StoredLookup, StoreError> {
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

pub(crate) async fn put_lookups(pool: &PgPool, rows: &[StoredLookup]) -> Result<(), StoreError> {
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

pub(crate) async fn lookup_log(pool: &PgPool, hash: &str) -> Result<Vec<LookupLogEntry>, StoreError> {
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

pub(crate) async fn pending_alerts(
    pool: &PgPool,
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

pub(crate) async fn record_writeback(pool: &PgPool, w: &Writeback) -> Result<(), StoreError> {
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

pub(crate) async fn writeback(pool: &PgPool, tenant: &str, alert_id: &str) -> Result<Option<Writeback>, StoreError> {
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

pub(crate) async fn dead_letters(pool: &PgPool, limit: i64) -> Result<Vec<DeadLetterRow>, StoreError> {
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

pub(crate) async fn counts(pool: &PgPool) -> Result<EnrichmentCounts, StoreError> {
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
