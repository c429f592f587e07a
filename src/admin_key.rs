//! The admin key as an ordinary key named `admin` (issue 15: the generated admin key was
//! missing from `keys list` and out of reach of `keys revoke`).
//!
//! On start the key lives in `api_keys` like any other: listed, rotated with `riposte keys
//! rotate admin`, revoked while another admin key remains. A database from before this change
//! kept only the hash in a setting; the first start moves that hash into an `admin` key and
//! clears the setting, so the same key keeps working.

use anyhow::{Context, bail};
use store::{ApiKey, NewKey, Store};

use crate::app::AdminKey;

/// The name of the key generated on first start.
pub const ADMIN: &str = gateway::auth::ADMIN_NAME;
const ADMIN_ROLE: &str = "admin";

/// The admin key: `RIPOSTE_ADMIN_KEY` if set (replacing the `admin` key when it differs), else
/// a legacy setting's hash moved into the `admin` key, else one generated when no active admin
/// key exists at all. A revoked `admin` is not brought back while another admin key remains.
pub async fn ensure(store: &Store) -> anyhow::Result<AdminKey> {
    migrate_legacy_setting(store).await?;
    if let Ok(key) = std::env::var("RIPOSTE_ADMIN_KEY")
        && !key.trim().is_empty()
    {
        let hash = gateway::auth::hash_key(key.trim());
        let current = store.key_by_hash(&hash).await?;
        if current.is_none() {
            if active(store, ADMIN).await?.is_some() {
                store.revoke_key(ADMIN).await?;
            }
            create(store, ADMIN_ROLE, vec![], &hash).await?;
            audit(store, "key_created", "env", ADMIN).await?;
        }
        return Ok(AdminKey::FromEnv);
    }
    if store.list_keys().await?.iter().any(|k| k.revoked_at.is_none() && k.role == ADMIN_ROLE) {
        return Ok(AdminKey::Existing);
    }
    let key = gateway::auth::generate_key();
    create(store, ADMIN_ROLE, vec![], &gateway::auth::hash_key(&key)).await?;
    audit(store, "key_created", "startup", ADMIN).await?;
    Ok(AdminKey::Generated(key))
}

/// A database from before this change: the admin key's hash in a setting becomes the `admin`
/// key (same hash, so the key the operator holds keeps working) and the setting is cleared.
async fn migrate_legacy_setting(store: &Store) -> anyhow::Result<()> {
    let Some(hash) = store.get_setting(gateway::auth::ADMIN_KEY_SETTING).await?.filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    if store.key_by_hash(&hash).await?.is_none() {
        if active(store, ADMIN).await?.is_some() {
            bail!("both a legacy admin key setting and an active key named 'admin' exist; revoke one first");
        }
        create(store, ADMIN_ROLE, vec![], &hash).await?;
        audit(store, "key_created", "migration", ADMIN).await?;
    }
    store.set_setting(gateway::auth::ADMIN_KEY_SETTING, "").await?;
    Ok(())
}

/// `riposte keys rotate NAME`: a new secret for the key, same role and scope; the old secret
/// stops working at once. Returns the new key (shown once).
pub async fn rotate(store: &Store, name: &str) -> anyhow::Result<String> {
    let old = active(store, name).await?.with_context(|| format!("no active key named '{name}'"))?;
    let key = gateway::auth::generate_key();
    store.revoke_key(name).await?;
    create_named(store, name, &old.role, old.tenants.clone(), &gateway::auth::hash_key(&key)).await?;
    audit(store, "key_rotated", "cli", name).await?;
    Ok(key)
}

/// `riposte keys revoke NAME`: refused for the last active admin key, which would lock every
/// administrator out.
pub async fn revoke(store: &Store, name: &str) -> anyhow::Result<()> {
    let key = active(store, name).await?.with_context(|| format!("no active key named '{name}'"))?;
    if key.role == ADMIN_ROLE {
        let admins = store.list_keys().await?.into_iter().filter(|k| k.revoked_at.is_none() && k.role == ADMIN_ROLE);
        if admins.count() <= 1 {
            bail!(
                "'{name}' is the last active admin key; create another (riposte keys create --role admin) before \
                 revoking it, or rotate it (riposte keys rotate {name})"
            );
        }
    }
    store.revoke_key(name).await?;
    audit(store, "key_revoked", "cli", name).await?;
    Ok(())
}

async fn active(store: &Store, name: &str) -> anyhow::Result<Option<ApiKey>> {
    Ok(store.list_keys().await?.into_iter().find(|k| k.name == name && k.revoked_at.is_none()))
}

async fn create(store: &Store, role: &str, tenants: Vec<String>, hash: &str) -> anyhow::Result<()> {
    create_named(store, ADMIN, role, tenants, hash).await
}

async fn create_named(store: &Store, name: &str, role: &str, tenants: Vec<String>, hash: &str) -> anyhow::Result<()> {
    store
        .create_key(NewKey { name: name.into(), role: role.into(), tenants, key_hash: hash.into() })
        .await
        .with_context(|| format!("creating key '{name}'"))?;
    Ok(())
}

/// Key lifecycle events go into the audit chain (never the key or its hash).
async fn audit(store: &Store, kind: &str, by: &str, name: &str) -> anyhow::Result<()> {
    store
        .append_audit(store::NewAuditEvent {
            operation_id: None,
            kind: store::AuditKind::parse(kind),
            principal: by.into(),
            tenant: None,
            product: None,
            action: None,
            params: serde_json::json!({ "name": name }),
            outcome: Some("Succeeded".into()),
            upstream_request_ids: vec![],
            duration_ms: None,
            detail: serde_json::Value::Null,
        })
        .await?;
    Ok(())
}
