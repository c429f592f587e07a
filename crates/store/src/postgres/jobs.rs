//! PostgreSQL statements for bulk jobs (`crate::jobs`): the SQLite ones, with row locks where
//! SQLite relies on its single writer, and two rules for several replicas:
//! * items are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so replicas claiming at once
//!   take disjoint items and never wait on each other; an item whose lease ran out (its replica
//!   died) is claimable again;
//! * a tenant's bulk items run on one replica at a time (a tenant lease, `tenant_leases`, taken
//!   and renewed with the item leases, migration 0022), so two schedulers never contend for one
//!   tenant's budget window (the windows themselves are counted in the database for every call,
//!   `budget_windows`, migration 0026). A replica holds at most its fair share of the tenants with
//!   work (`ceil(tenants / live replicas)`), so a second replica gets tenants to drain.

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
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

pub(crate) async fn create(pool: &PgPool, job: NewJob, record: &NewAuditEvent) -> Result<Job, StoreError> {
    let mut tx = begin_write(pool).await?;
    let job = create_in(&mut tx, job, record).await?;
    tx.commit().await?;
    Ok(job)
}

/// The job, its items and its record on a transaction the caller holds (`crate::approvals` holds
/// a job in the same transaction).
pub(crate) async fn create_in(
    tx: &mut sqlx::PgConnection,
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
    // Multi-row inserts, a few hundred rows at a time (as on SQLite; PostgreSQL's limit is 65,535).
    for (chunk_no, chunk) in job.items.chunks(500).enumerate() {
        let mut qb =
            QueryBuilder::<Postgres>::new("INSERT INTO job_items (job_id, seq, tenant, params, state, updated_at) ");
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

pub(crate) async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Job>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
        .bind(id.hyphenated().to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

pub(crate) async fn list(pool: &PgPool, states: &[&str], limit: i64) -> Result<Vec<Job>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!("SELECT ", job_cols!(), " FROM jobs WHERE 1 = 1"));
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
    pool: &PgPool,
    id: Uuid,
    state: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<JobItem>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(concat!("SELECT ", item_cols!(), " FROM job_items WHERE job_id = "));
    qb.push_bind(id.hyphenated().to_string());
    qb.push(" AND seq > ").push_bind(after_seq);
    if let Some(s) = state {
        qb.push(" AND state = ").push_bind(s.to_string());
    }
    qb.push(" ORDER BY seq LIMIT ").push_bind(limit.clamp(1, 100_000));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter().map(item_from_row).collect()
}

pub(crate) async fn counts(pool: &PgPool, id: Uuid) -> Result<JobCounts, StoreError> {
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
    pool: &PgPool,
    id: Uuid,
    from: &[&str],
    to: &str,
    record: &NewAuditEvent,
) -> Result<Job, StoreError> {
    let mut tx = begin_write(pool).await?;
    let key = id.hyphenated().to_string();
    let current = sqlx::query("SELECT state FROM jobs WHERE id = $1 FOR UPDATE")
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

pub(crate) async fn retry_failed(pool: &PgPool, id: Uuid, record: &NewAuditEvent) -> Result<u64, StoreError> {
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

pub(crate) async fn tenants_with_work(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT ji.tenant AS tenant FROM job_items ji JOIN jobs j ON j.id = ji.job_id
         WHERE j.state = $1 AND (ji.state = $2 OR (ji.state = $3 AND ji.lease_until < $4))",
    )
    .bind(job_state::RUNNING)
    .bind(item_state::PENDING)
    .bind(item_state::RUNNING)
    .bind(codec::format_ts(codec::now())?)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| col(r, "tenant")).collect()
}

/// Takes the tenant (its lease) if this replica may, then the items, in one transaction: a
/// tenant advisory lock orders concurrent claims for one tenant, and `SKIP LOCKED` lets claims
/// for other tenants pass. Empty when another live replica holds the tenant, or when this one
/// already holds its share of the tenants with work.
pub(crate) async fn claim(
    pool: &PgPool,
    tenant: &str,
    owner: &str,
    n: i64,
    lease_until: OffsetDateTime,
) -> Result<Vec<JobItem>, StoreError> {
    let now = codec::format_ts(codec::now())?;
    let until = codec::format_ts(lease_until)?;
    let mut tx = begin_write(pool).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('riposte-tenant-lease'), hashtext($1))")
        .bind(tenant)
        .execute(&mut *tx)
        .await?;
    if !take_tenant(&mut tx, tenant, owner, &now, &until).await? {
        tx.rollback().await?;
        return Ok(Vec::new());
    }
    let rows = sqlx::query(concat!(
        "UPDATE job_items SET state = $1, lease_owner = $2, lease_until = $3, updated_at = $4
         WHERE (job_id, seq) IN (
             SELECT ji.job_id, ji.seq FROM job_items ji JOIN jobs j ON j.id = ji.job_id
             WHERE j.state = $5 AND ji.tenant = $6
               AND (ji.state = $7 OR (ji.state = $1 AND ji.lease_until < $4))
             ORDER BY j.priority DESC, j.created_at, ji.job_id, ji.seq LIMIT $8
             FOR UPDATE OF ji SKIP LOCKED)
         RETURNING ",
        item_cols!()
    ))
    .bind(item_state::RUNNING)
    .bind(owner)
    .bind(&until)
    .bind(&now)
    .bind(job_state::RUNNING)
    .bind(tenant)
    .bind(item_state::PENDING)
    .bind(n.max(1))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut items = rows.iter().map(item_from_row).collect::<Result<Vec<_>, _>>()?;
    items.sort_by_key(|i| (i.job_id, i.seq));
    Ok(items)
}

/// Whether `owner` may run `tenant`'s items now, taking or renewing the tenant's lease if so.
/// A free tenant (no lease, or it ran out) is taken only within the owner's fair share; a held
/// one beyond the share (another replica came up) is released, but stays closed to others until
/// the owner's items of it in flight have ended or their leases ran out, so a tenant's items
/// never run on two replicas at once.
async fn take_tenant(
    tx: &mut sqlx::PgConnection,
    tenant: &str,
    owner: &str,
    now: &str,
    until: &str,
) -> Result<bool, StoreError> {
    let holder: Option<(String, String)> =
        sqlx::query_as("SELECT owner, lease_until FROM tenant_leases WHERE tenant = $1 FOR UPDATE")
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?;
    let mine = match &holder {
        Some((other, lease)) if other != owner && lease.as_str() >= now => return Ok(false),
        Some((holder, _)) => holder == owner,
        None => false,
    };
    let (held, share) = share_of(tx, tenant, owner, now).await?;
    if held >= share {
        if mine {
            sqlx::query(
                "UPDATE tenant_leases SET owner = '', lease_until = COALESCE(
                   (SELECT MAX(lease_until) FROM job_items WHERE tenant = $1 AND lease_owner = $2 AND state = $3), $4)
                 WHERE tenant = $1",
            )
            .bind(tenant)
            .bind(owner)
            .bind(item_state::RUNNING)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO tenant_leases (tenant, owner, lease_until) VALUES ($1, $2, $3)
         ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until",
    )
    .bind(tenant)
    .bind(owner)
    .bind(until)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// How many *other* tenants with work `owner` holds, and its fair share: the tenants with bulk work over
/// the live replicas (`replicas` heartbeats, at least one), rounded up.
async fn share_of(tx: &mut sqlx::PgConnection, tenant: &str, owner: &str, now: &str) -> Result<(i64, i64), StoreError> {
    let (held, share): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM tenant_leases l WHERE l.owner = $1 AND l.lease_until >= $2 AND l.tenant <> $6
                   AND EXISTS (SELECT 1 FROM job_items w JOIN jobs wj ON wj.id = w.job_id
                               WHERE w.tenant = l.tenant AND wj.state = $3 AND (w.state = $4 OR w.state = $5))),
                (SELECT CEIL(COUNT(DISTINCT ji.tenant)::float8
                             / GREATEST(1, (SELECT COUNT(*) FROM replicas WHERE heartbeat_until > $2)))::bigint
                 FROM job_items ji JOIN jobs j ON j.id = ji.job_id
                 WHERE j.state = $3 AND (ji.state = $4 OR ji.state = $5))",
    )
    .bind(owner)
    .bind(now)
    .bind(job_state::RUNNING)
    .bind(item_state::PENDING)
    .bind(item_state::RUNNING)
    .bind(tenant)
    .fetch_one(&mut *tx)
    .await?;
    Ok((held, share.max(1)))
}

pub(crate) async fn finish_item(
    pool: &PgPool,
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
    .execute(pool)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// Renews the owner's item leases and, with them, the leases of the tenants it is running.
pub(crate) async fn renew_leases(pool: &PgPool, owner: &str, until: OffsetDateTime) -> Result<u64, StoreError> {
    let until = codec::format_ts(until)?;
    let done = sqlx::query("UPDATE job_items SET lease_until = $2 WHERE lease_owner = $1 AND state = $3")
        .bind(owner)
        .bind(&until)
        .bind(item_state::RUNNING)
        .execute(pool)
        .await?
        .rows_affected();
    sqlx::query(
        "UPDATE tenant_leases SET lease_until = $2 WHERE owner = $1 AND tenant IN
         (SELECT DISTINCT tenant FROM job_items WHERE lease_owner = $1 AND state = $3)",
    )
    .bind(owner)
    .bind(&until)
    .bind(item_state::RUNNING)
    .execute(pool)
    .await?;
    Ok(done)
}

pub(crate) async fn complete_if_done(
    pool: &PgPool,
    id: Uuid,
    record: impl FnOnce(&Job, &JobCounts) -> NewAuditEvent,
) -> Result<Option<Job>, StoreError> {
    let counts = counts(pool, id).await?;
    if counts.count(item_state::PENDING) + counts.count(item_state::RUNNING) > 0 {
        return Ok(None);
    }
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

fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
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

fn item_from_row(row: &PgRow) -> Result<JobItem, StoreError> {
    let _ = row.columns();
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
