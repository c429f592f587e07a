//! API keys and settings.

use sqlx::postgres::{PgPool, PgRow};
use uuid::Uuid;

use super::{col, error_mentions};
use crate::StoreError;
use crate::codec;
use crate::error::conflict_on_unique;
use crate::model::{ApiKey, NewKey};

macro_rules! key_cols {
    () => {
        "id, name, role, tenants, created_at, revoked_at"
    };
}

pub(crate) async fn create_key(pool: &PgPool, k: NewKey) -> Result<ApiKey, StoreError> {
    let key = ApiKey {
        id: Uuid::now_v7(),
        name: k.name,
        role: k.role,
        tenants: k.tenants,
        created_at: codec::now(),
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO api_keys (id, name, role, tenants, key_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(key.id.hyphenated().to_string())
    .bind(&key.name)
    .bind(&key.role)
    .bind(codec::string_list_json(&key.tenants))
    .bind(&k.key_hash)
    .bind(codec::format_ts(key.created_at)?)
    .execute(pool)
    .await
    .map_err(|e| {
        let on_hash = error_mentions(&e, "key_hash");
        conflict_on_unique(e, || {
            if on_hash {
                "an API key with the same hash already exists".to_string()
            } else {
                format!("an active API key named {:?} already exists", key.name)
            }
        })
    })?;
    Ok(key)
}

pub(crate) async fn key_by_hash(pool: &PgPool, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", key_cols!(), " FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"))
        .bind(key_hash)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(key_from_row).transpose()
}

pub(crate) async fn list_keys(pool: &PgPool) -> Result<Vec<ApiKey>, StoreError> {
    let rows =
        sqlx::query(concat!("SELECT ", key_cols!(), " FROM api_keys ORDER BY created_at, id")).fetch_all(pool).await?;
    rows.iter().map(key_from_row).collect()
}

pub(crate) async fn revoke_key(pool: &PgPool, name: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
        .bind(codec::format_ts(codec::now())?)
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

fn key_from_row(row: &PgRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: codec::parse_uuid("api_keys.id", &col::<String>(row, "id")?)?,
        name: col(row, "name")?,
        role: col(row, "role")?,
        tenants: codec::parse_string_list("api_keys.tenants", &col::<String>(row, "tenants")?)?,
        created_at: codec::parse_ts("api_keys.created_at", &col::<String>(row, "created_at")?)?,
        revoked_at: codec::parse_ts_opt("api_keys.revoked_at", col(row, "revoked_at")?)?,
    })
}

pub(crate) async fn get_setting(pool: &PgPool, key: &str) -> Result<Option<String>, StoreError> {
    let value: Option<(String,)> =
        sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await?;
    Ok(value.map(|(v,)| v))
}

pub(crate) async fn set_setting(pool: &PgPool, key: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(codec::format_ts(codec::now())?)
    .execute(pool)
    .await?;
    Ok(())
}
