//! Hunting: saved queries (versioned, soft-deleted) and the run history.

use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::{begin_write, col};
use crate::StoreError;
use crate::codec;
use crate::model::effective_limit;
use crate::queries::{
    NewSavedQuery, QueryRun, QueryRunFilter, QueryRunTenant, SavedQuery, SavedQueryVersion, name_key,
};

/// Adds a version (1 for a new name; numbers continue after a delete, so a name's versions never
/// repeat) and returns the query with all its versions.
pub(crate) async fn save_query(pool: &PgPool, q: NewSavedQuery) -> Result<SavedQuery, StoreError> {
    let key = name_key(&q.name);
    let stamp = codec::format_ts(codec::now())?;
    let mut tx = begin_write(pool).await?;
    // A new name gets its row at version 0 first (a concurrent first save of the same name waits
    // on it instead of failing), then the row is locked, so two replicas saving one name number
    // their versions in turn. A save revives a deleted name; the first spelling is kept.
    sqlx::query(
        "INSERT INTO saved_queries (name_key, name, latest, created_at, updated_at, deleted_at)
         VALUES ($1, $2, 0, $3, $3, NULL) ON CONFLICT (name_key) DO NOTHING",
    )
    .bind(&key)
    .bind(q.name.trim())
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    let latest: i64 = sqlx::query_scalar("SELECT latest FROM saved_queries WHERE name_key = $1 FOR UPDATE")
        .bind(&key)
        .fetch_one(&mut *tx)
        .await?;
    let version = latest + 1;
    sqlx::query("UPDATE saved_queries SET latest = $2, updated_at = $3, deleted_at = NULL WHERE name_key = $1")
        .bind(&key)
        .bind(version)
        .bind(&stamp)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO saved_query_versions (name_key, version, query, description, author, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key)
    .bind(version)
    .bind(&q.query)
    .bind(&q.description)
    .bind(&q.author)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    let saved = fetch_saved(&mut tx, &key)
        .await?
        .ok_or_else(|| StoreError::invariant(format!("saved query {key:?} vanished inside its transaction")))?;
    tx.commit().await?;
    Ok(saved)
}

/// A saved query that is not deleted, with every version.
pub(crate) async fn saved_query(pool: &PgPool, name: &str) -> Result<Option<SavedQuery>, StoreError> {
    let mut conn = pool.acquire().await?;
    fetch_saved(&mut conn, &name_key(name)).await
}

/// Every saved query that is not deleted, by name.
pub(crate) async fn list_saved_queries(pool: &PgPool) -> Result<Vec<SavedQuery>, StoreError> {
    let mut conn = pool.acquire().await?;
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT name_key FROM saved_queries WHERE deleted_at IS NULL ORDER BY name_key")
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        out.extend(fetch_saved(&mut conn, &key).await?);
    }
    Ok(out)
}

/// Stamps the query deleted; `false` when there was no such (undeleted) query.
pub(crate) async fn delete_saved_query(pool: &PgPool, name: &str) -> Result<bool, StoreError> {
    let stamp = codec::format_ts(codec::now())?;
    let done = sqlx::query("UPDATE saved_queries SET deleted_at = $2 WHERE name_key = $1 AND deleted_at IS NULL")
        .bind(name_key(name))
        .bind(stamp)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

async fn fetch_saved(conn: &mut PgConnection, key: &str) -> Result<Option<SavedQuery>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT name, latest, created_at, updated_at FROM saved_queries WHERE name_key = $1 AND deleted_at IS NULL",
    )
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let versions = sqlx::query(
        "SELECT version, query, description, author, created_at FROM saved_query_versions
         WHERE name_key = $1 ORDER BY version",
    )
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(SavedQuery {
        name: col(&row, "name")?,
        latest: col(&row, "latest")?,
        created_at: codec::parse_ts("saved_queries.created_at", &col::<String>(&row, "created_at")?)?,
        updated_at: codec::parse_ts("saved_queries.updated_at", &col::<String>(&row, "updated_at")?)?,
        versions: versions.iter().map(version_from_row).collect::<Result<_, _>>()?,
    }))
}

fn version_from_row(row: &PgRow) -> Result<SavedQueryVersion, StoreError> {
    Ok(SavedQueryVersion {
        version: col(row, "version")?,
        query: col(row, "query")?,
        description: col(row, "description")?,
        author: col(row, "author")?,
        created_at: codec::parse_ts("saved_query_versions.created_at", &col::<String>(row, "created_at")?)?,
    })
}

// ---- run history -------------------------------------------------------------------------

/// Records a finished hunt and each tenant's part, in one transaction.
pub(crate) async fn record_query_run(pool: &PgPool, run: &QueryRun) -> Result<(), StoreError> {
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO query_runs (id, query_name, query_version, query, principal, status, row_count, duration_ms, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(run.id.hyphenated().to_string())
    .bind(&run.query_name)
    .bind(run.query_version)
    .bind(&run.query)
    .bind(&run.principal)
    .bind(&run.status)
    .bind(run.row_count)
    .bind(run.duration_ms)
    .bind(codec::format_ts(run.started_at)?)
    .execute(&mut *tx)
    .await
    .map_err(|e| crate::error::conflict_on_unique(e, || format!("query run {} already recorded", run.id)))?;
    for (position, t) in run.tenants.iter().enumerate() {
        sqlx::query(
            "INSERT INTO query_run_tenants (run_id, position, tenant, status, row_count, duration_ms, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(run.id.hyphenated().to_string())
        .bind(position as i64)
        .bind(&t.tenant)
        .bind(&t.status)
        .bind(t.row_count)
        .bind(t.duration_ms)
        .bind(t.error.as_ref().map(codec::canonical_json))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs matching the filter, newest first, each with its tenants.
pub(crate) async fn query_runs(pool: &PgPool, f: QueryRunFilter) -> Result<Vec<QueryRun>, StoreError> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "SELECT r.id, r.query_name, r.query_version, r.query, r.principal, r.status, r.row_count, r.duration_ms,
                r.started_at FROM query_runs r WHERE 1 = 1",
    );
    if let Some(name) = &f.query_name {
        qb.push(" AND lower(r.query_name) = ").push_bind(name_key(name));
    }
    if let Some(tenant) = &f.tenant {
        qb.push(" AND EXISTS (SELECT 1 FROM query_run_tenants t WHERE t.run_id = r.id AND lower(t.tenant) = ")
            .push_bind(tenant.trim().to_lowercase())
            .push(")");
    }
    if let Some(within) = &f.within {
        // Every tenant of the run must be in the list; an empty list admits no run.
        qb.push(" AND NOT EXISTS (SELECT 1 FROM query_run_tenants t WHERE t.run_id = r.id");
        if !within.is_empty() {
            qb.push(" AND lower(t.tenant) NOT IN (");
            let mut list = qb.separated(", ");
            for t in within {
                list.push_bind(t.trim().to_lowercase());
            }
            list.push_unseparated(")");
        }
        qb.push(")");
    }
    qb.push(" ORDER BY r.started_at DESC, r.id DESC LIMIT ").push_bind(effective_limit(f.limit));
    let rows = qb.build().fetch_all(pool).await?;
    let mut conn = pool.acquire().await?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = codec::parse_uuid("query_runs.id", &col::<String>(row, "id")?)?;
        runs.push(QueryRun {
            id,
            query_name: col(row, "query_name")?,
            query_version: col(row, "query_version")?,
            query: col(row, "query")?,
            principal: col(row, "principal")?,
            status: col(row, "status")?,
            row_count: col(row, "row_count")?,
            duration_ms: col(row, "duration_ms")?,
            started_at: codec::parse_ts("query_runs.started_at", &col::<String>(row, "started_at")?)?,
            tenants: run_tenants(&mut conn, id).await?,
        });
    }
    Ok(runs)
}

async fn run_tenants(conn: &mut PgConnection, id: Uuid) -> Result<Vec<QueryRunTenant>, StoreError> {
    let rows = sqlx::query(
        "SELECT tenant, status, row_count, duration_ms, error FROM query_run_tenants WHERE run_id = $1 ORDER BY position",
    )
    .bind(id.hyphenated().to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(QueryRunTenant {
                tenant: col(row, "tenant")?,
                status: col(row, "status")?,
                row_count: col(row, "row_count")?,
                duration_ms: col(row, "duration_ms")?,
                error: codec::parse_json_opt("query_run_tenants.error", col(row, "error")?)?,
            })
        })
        .collect()
}
