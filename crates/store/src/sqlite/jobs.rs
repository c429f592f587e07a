//! SQLite statements for bulk jobs (`crate::jobs`).

use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Sqlite};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::append_audit_in;
use super::{begin_write, col};
use crate::StoreError;
use crate::codec;
use crate::jobs::{ItemEnd, Job, JobCounts, JobItem, NewJob, item_state, job_state};
use crate::model::{NewAuditEvent, effective_limit};

macro_rules! job_cols {
    () => {
        "id, name, product, action, params, principal, role, state, priority, revert_after_seconds, undo_of, total, \
         created_at, updated_at, finished_at"
    };
}

macro_rules! item_cols {
    () => {
        "job_id, seq, tenant, params, state, attempts, lease_owner, lease_until, operation_id, status, error, \
         updated_at, finished_at"
    };
}

pub(crate) async fn create(pool: &SqlitePool, job: NewJob, record: &NewAuditEvent) -> Result<Job, StoreError> {
    let mut tx = begin_write(pool).await?;
    let job = create_in(&mut tx, job, record).await?;
    tx.commit().await?;
    Ok(job)
}

/// The job, its items and its record on a transaction the caller holds (`crate::approvals` holds
/// a job in the same transaction).
pub(crate) async fn create_in(
    tx: &mut sqlx::SqliteConnection,
    job: NewJob,
    record: &NewAuditEvent,
) -> Result<Job, StoreError> {
    let stamp = codec::format_ts(codec::now())?;
    let id = job.id.hyphenated().to_string();
    sqlx::query(concat!(
        "INSERT INTO jobs (",
        job_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, NULL)"
    ))
    .bind(&id)
    .bind(&job.name)
    .bind(&job.product)
    .bind(&job.action)
    .bind(codec::canonical_json(&job.params))
    .bind(&job.principal)
    .bind(&job.role)
    .bind(job_state::RUNNING)
    .bind(job.priority)
    .bind(job.revert_after_seconds)
    .bind(job.undo_of.map(|u| u.hyphenated().to_string()))
    .bind(job.items.len() as i64)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    // Multi-row inserts, a few hundred rows at a time (SQLite's bound-parameter limit).
    for (chunk_no, chunk) in job.items.chunks(500).enumerate() {
        let mut qb =
            QueryBuilder::<Sqlite>::new("INSERT INTO job_items (job_id, seq, tenant, params, state, updated_at) ");
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, item)| {
            b.push_bind(id.clone())
                .push_bind((chunk_no * 500 + i + 1) as i64)
                .push_bind(item.tenant.clone())
                .push_bind(codec::canonical_json(&item.params))
                .push_bind(item_state::PENDING)
                .push_bind(stamp.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    append_audit_in(&mut *tx, record).await?;
    let row =
        sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1")).bind(&id).fetch_one(&mut *tx).await?;
    job_from_row(&row)
}

pub(crate) async fn get(pool: &SqlitePool, id: Uuid) -> Result<Option<Job>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

pub(crate) async fn list(pool: &SqlitePool, states: &[&str], limit: i64) -> Result<Vec<Job>, StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new(concat!("SELECT ", job_cols!(), " FROM jobs WHERE 1 = 1"));
    if !states.is_empty() {
        qb.push(" AND state IN (");
        let mut list = qb.separated(", ");
        for s in states {
            list.push_bind(s.to_string());
        }
        qb.push(")");
    }
    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(effective_limit(limit));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(job_from_row).collect()
}

pub(crate) async fn items(
    pool: &SqlitePool,
    id: Uuid,
    state: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<JobItem>, StoreError> {
    let mut qb = QueryBuilder::<Sqlite>::new(concat!("SELECT ", item_cols!(), " FROM job_items WHERE job_id = "));
    qb.push_bind(id.hyphenated().to_string());
    qb.push(" AND seq > ").push_bind(after_seq);
    if let Some(s) = state {
        qb.push(" AND state = ").push_bind(s.to_string());
    }
    qb.push(" ORDER BY seq LIMIT ").push_bind(limit.clamp(1, 100_000));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(item_from_row).collect()
}

pub(crate) async fn counts(pool: &SqlitePool, id: Uuid) -> Result<JobCounts, StoreError> {
    let id = id.hyphenated().to_string();
    let rows = sqlx::query(
        "SELECT tenant, state, COUNT(*) AS n, MIN(finished_at) AS first, MAX(finished_at) AS last
         FROM job_items WHERE job_id = $1 GROUP BY tenant, state",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let mut counts = JobCounts::default();
    for row in &rows {
        let tenant: String = col(row, "tenant")?;
        let state: String = col(row, "state")?;
        let n: i64 = col(row, "n")?;
        *counts.by_state.entry(state.clone()).or_default() += n;
        *counts.by_tenant.entry(tenant).or_default().entry(state).or_default() += n;
        let first = codec::parse_ts_opt("job_items.finished_at", col(row, "first")?)?;
        let last = codec::parse_ts_opt("job_items.finished_at", col(row, "last")?)?;
        counts.first_finished_at = match (counts.first_finished_at, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        counts.last_finished_at = counts.last_finished_at.max(last);
    }
    Ok(counts)
}

pub(crate) async fn set_state(
    pool: &SqlitePool,
    id: Uuid,
    from: &[&str],
    to: &str,
    record: &NewAuditEvent,
) -> Result<Job, StoreError> {
    let mut tx = begin_write(pool).await?;
    let key = id.hyphenated().to_string();
    let current = sqlx::query("SELECT state FROM jobs WHERE id = $1")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
    let state: String = col(&current, "state")?;
    if !from.contains(&state.as_str()) {
        return Err(StoreError::Conflict(format!("job {id} is {state}; it cannot become {to}")));
    }
    let now = codec::format_ts(codec::now())?;
    let finished = (to == job_state::CANCELLED).then(|| now.clone());
    sqlx::query("UPDATE jobs SET state = $2, updated_at = $3, finished_at = COALESCE($4, finished_at) WHERE id = $1")
        .bind(&key)
        .bind(to)
        .bind(&now)
        .bind(&finished)
        .execute(&mut *tx)
        .await?;
    if to == job_state::CANCELLED {
        sqlx::query(
            "UPDATE job_items SET state = $2, updated_at = $3, finished_at = $3 WHERE job_id = $1 AND state = $4",
        )
        .bind(&key)
        .bind(item_state::CANCELLED)
        .bind(&now)
        .bind(item_state::PENDING)
        .execute(&mut *tx)
        .await?;
    }
    append_audit_in(&mut tx, record).await?;
    let row =
        sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1")).bind(&key).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    job_from_row(&row)
}

pub(crate) async fn retry_failed(pool: &SqlitePool, id: Uuid, record: &NewAuditEvent) -> Result<u64, StoreError> {
    let mut tx = begin_write(pool).await?;
    let key = id.hyphenated().to_string();
    let now = codec::format_ts(codec::now())?;
    let done = sqlx::query(
        "UPDATE job_items SET state = $2, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL,
         operation_id = NULL, status = NULL, error = NULL, finished_at = NULL, updated_at = $3
         WHERE job_id = $1 AND state = $4",
    )
    .bind(&key)
    .bind(item_state::PENDING)
    .bind(&now)
    .bind(item_state::FAILED)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done > 0 {
        sqlx::query("UPDATE jobs SET state = $2, updated_at = $3, finished_at = NULL WHERE id = $1 AND state <> $4")
            .bind(&key)
            .bind(job_state::RUNNING)
            .bind(&now)
            .bind(job_state::CANCELLED)
            .execute(&mut *tx)
            .await?;
        append_audit_in(&mut tx, record).await?;
    }
    tx.commit().await?;
    Ok(done)
}

pub(crate) async fn tenants_with_work(pool: &SqlitePool) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT tenant FROM job_items
         WHERE job_id IN (SELECT id FROM jobs WHERE state = $1)
           AND (state = $2 OR (state = $3 AND lease_until < $4))",
    )
    .bind(job_state::RUNNING)
    .bind(item_state::PENDING)
    .bind(item_state::RUNNING)
    .bind(codec::format_ts(codec::now())?)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| col(r, "tenant")).collect()
}

/// Takes items job by job (higher priority, then older first); each statement picks and takes
/// its rows at once, in one write transaction, so no item goes to two runners. Each pick reads
/// the `(state, tenant, job_id, seq)` index in order: pending items, then items whose runner's
/// lease ran out.
pub(crate) async fn claim(
    pool: &SqlitePool,
    tenant: &str,
    owner: &str,
    n: i64,
    lease_until: OffsetDateTime,
) -> Result<Vec<JobItem>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let jobs = sqlx::query("SELECT id FROM jobs WHERE state = $1 ORDER BY priority DESC, created_at, id")
        .bind(job_state::RUNNING)
        .fetch_all(&mut *tx)
        .await?;
    let now = codec::format_ts(codec::now())?;
    let lease = codec::format_ts(lease_until)?;
    let mut items = Vec::new();
    for job in &jobs {
        let want = n.max(1) - items.len() as i64;
        if want <= 0 {
            break;
        }
        let job: String = col(job, "id")?;
        let rows = sqlx::query(concat!(
            "UPDATE job_items SET state = $1, lease_owner = $2, lease_until = $3, updated_at = $4
             WHERE rowid IN (
                 SELECT rowid FROM (SELECT rowid, seq FROM job_items
                                    WHERE state = $5 AND tenant = $6 AND job_id = $7 ORDER BY seq LIMIT $8)
                 UNION ALL
                 SELECT rowid FROM (SELECT rowid, seq FROM job_items
                                    WHERE state = $1 AND tenant = $6 AND job_id = $7 AND lease_until < $4
                                    ORDER BY seq LIMIT $8)
                 LIMIT $8)
             RETURNING ",
            item_cols!()
        ))
        .bind(item_state::RUNNING)
        .bind(owner)
        .bind(&lease)
        .bind(&now)
        .bind(item_state::PENDING)
        .bind(tenant)
        .bind(&job)
        .bind(want)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            items.push(item_from_row(row)?);
        }
    }
    tx.commit().await?;
    items.sort_by_key(|i| (i.job_id, i.seq));
    Ok(items)
}

/// Ends several items in one transaction (one fsync for the lot); for each, whether it was
/// still this owner's.
pub(crate) async fn finish_items(
    pool: &SqlitePool,
    owner: &str,
    ends: Vec<(Uuid, i64, ItemEnd)>,
) -> Result<Vec<bool>, StoreError> {
    let mut tx = begin_write(pool).await?;
    let mut done = Vec::with_capacity(ends.len());
    for (job, seq, end) in ends {
        done.push(finish_item_in(&mut tx, job, seq, owner, end).await?);
    }
    tx.commit().await?;
    Ok(done)
}

pub(crate) async fn finish_item(
    pool: &SqlitePool,
    job: Uuid,
    seq: i64,
    owner: &str,
    end: ItemEnd,
) -> Result<bool, StoreError> {
    let mut conn = pool.acquire().await?;
    finish_item_in(&mut conn, job, seq, owner, end).await
}

async fn finish_item_in(
    conn: &mut sqlx::SqliteConnection,
    job: Uuid,
    seq: i64,
    owner: &str,
    end: ItemEnd,
) -> Result<bool, StoreError> {
    let now = codec::format_ts(codec::now())?;
    let done = sqlx::query(
        "UPDATE job_items SET state = $4, operation_id = $5, status = $6, error = $7, lease_until = NULL,
         attempts = attempts + CASE WHEN $4 = $10 THEN 1 ELSE 0 END,
         updated_at = $8, finished_at = CASE WHEN $4 = $10 THEN NULL ELSE $8 END
         WHERE job_id = $1 AND seq = $2 AND lease_owner = $3 AND state = $9",
    )
    .bind(job.hyphenated().to_string())
    .bind(seq)
    .bind(owner)
    .bind(end.state)
    .bind(end.operation_id.map(|u| u.hyphenated().to_string()))
    .bind(end.status)
    .bind(end.error.as_ref().map(codec::canonical_json))
    .bind(now)
    .bind(item_state::RUNNING)
    .bind(item_state::PENDING)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

pub(crate) async fn renew_leases(pool: &SqlitePool, owner: &str, until: OffsetDateTime) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE job_items SET lease_until = $2 WHERE lease_owner = $1 AND state = $3")
        .bind(owner)
        .bind(codec::format_ts(until)?)
        .bind(item_state::RUNNING)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(done)
}

pub(crate) async fn complete_if_done(
    pool: &SqlitePool,
    id: Uuid,
    record: impl FnOnce(&Job, &JobCounts) -> NewAuditEvent,
) -> Result<Option<Job>, StoreError> {
    // Cheap first: most calls come while items are still open.
    let open = sqlx::query("SELECT 1 AS open FROM job_items WHERE job_id = $1 AND state IN ($2, $3) LIMIT 1")
        .bind(id.hyphenated().to_string())
        .bind(item_state::PENDING)
        .bind(item_state::RUNNING)
        .fetch_optional(pool)
        .await?;
    if open.is_some() {
        return Ok(None);
    }
    let counts = counts(pool, id).await?;
    let (ok, failed) = (counts.count(item_state::SUCCEEDED), counts.count(item_state::FAILED));
    let to = match (ok, failed) {
        (_, 0) => job_state::SUCCEEDED,
        (0, _) => job_state::FAILED,
        _ => job_state::PARTIALLY_SUCCEEDED,
    };
    let mut tx = begin_write(pool).await?;
    let key = id.hyphenated().to_string();
    let now = codec::format_ts(codec::now())?;
    let row = sqlx::query(concat!(
        "UPDATE jobs SET state = $2, updated_at = $3, finished_at = $3 WHERE id = $1 AND state = $4
         AND NOT EXISTS (SELECT 1 FROM job_items WHERE job_id = $1 AND state IN ($5, $6)) RETURNING ",
        job_cols!()
    ))
    .bind(&key)
    .bind(to)
    .bind(&now)
    .bind(job_state::RUNNING)
    .bind(item_state::PENDING)
    .bind(item_state::RUNNING)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let job = job_from_row(&row)?;
    append_audit_in(&mut tx, &record(&job, &counts)).await?;
    tx.commit().await?;
    Ok(Some(job))
}

fn job_from_row(row: &SqliteRow) -> Result<Job, StoreError> {
    Ok(Job {
        id: codec::parse_uuid("jobs.id", &col::<String>(row, "id")?)?,
        name: col(row, "name")?,
        product: col(row, "product")?,
        action: col(row, "action")?,
        params: codec::parse_json("jobs.params", &col::<String>(row, "params")?)?,
        principal: col(row, "principal")?,
        role: col(row, "role")?,
        state: col(row, "state")?,
        priority: col(row, "priority")?,
        revert_after_seconds: col(row, "revert_after_seconds")?,
        undo_of: col::<Option<String>>(row, "undo_of")?.map(|s| codec::parse_uuid("jobs.undo_of", &s)).transpose()?,
        total: col(row, "total")?,
        created_at: codec::parse_ts("jobs.created_at", &col::<String>(row, "created_at")?)?,
        updated_at: codec::parse_ts("jobs.updated_at", &col::<String>(row, "updated_at")?)?,
        finished_at: codec::parse_ts_opt("jobs.finished_at", col(row, "finished_at")?)?,
    })
}

fn item_from_row(row: &SqliteRow) -> Result<JobItem, StoreError> {
    Ok(JobItem {
        job_id: codec::parse_uuid("job_items.job_id", &col::<String>(row, "job_id")?)?,
        seq: col(row, "seq")?,
        tenant: col(row, "tenant")?,
        params: codec::parse_json("job_items.params", &col::<String>(row, "params")?)?,
        state: col(row, "state")?,
        attempts: col(row, "attempts")?,
        lease_owner: col(row, "lease_owner")?,
        lease_until: codec::parse_ts_opt("job_items.lease_until", col(row, "lease_until")?)?,
        operation_id: col::<Option<String>>(row, "operation_id")?
            .map(|s| codec::parse_uuid("job_items.operation_id", &s))
            .transpose()?,
        status: col(row, "status")?,
        error: codec::parse_json_opt("job_items.error", col(row, "error")?)?,
        updated_at: codec::parse_ts("job_items.updated_at", &col::<String>(row, "updated_at")?)?,
        finished_at: codec::parse_ts_opt("job_items.finished_at", col(row, "finished_at")?)?,
    })
}
