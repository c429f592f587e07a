//! `[store]`: which database the gateway keeps its state in.
//!
//! ```toml
//! [store]
//! url = "postgres://riposte:secret@db.internal:5432/riposte"   # several replicas share it
//! ```
//!
//! Without a URL (the default) the store is the SQLite file `{data}/riposte.db`, for one process.
//! `RIPOSTE_STORE_URL` overrides the file (the CLI's `keys` and `audit` commands read it too).
//! The URL may carry a password: it is never logged or echoed back (errors name the host only).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::Path;
use store::Store;

/// The environment variable that overrides `[store] url`.
pub const STORE_URL_ENV: &str = "RIPOSTE_STORE_URL";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `postgres://` (or `postgresql://`) URL; absent: SQLite in the data directory.
    pub url: Option<String>,
}

/// The PostgreSQL URL to use, if any: `RIPOSTE_STORE_URL`, else `[store] url`. Checked here, so a
/// typo fails at start-up naming the setting instead of as a connection error.
pub fn resolve(section: Option<&StoreSection>) -> anyhow::Result<Option<String>> {
    let from_env = std::env::var(STORE_URL_ENV).ok().filter(|u| !u.trim().is_empty());
    let (source, url) = match (from_env, section.and_then(|s| s.url.clone())) {
        (Some(u), _) => (STORE_URL_ENV, u),
        (None, Some(u)) => ("store.url", u),
        (None, None) => return Ok(None),
    };
    let url = url.trim().to_string();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!(
            "{source} must be a postgres:// URL (e.g. postgres://user:password@host:5432/riposte); \
             leave it unset to use SQLite in the data directory"
        );
    }
    Ok(Some(url))
}

/// Opens the store: PostgreSQL at `url` when given, else the SQLite file of `data_dir`; acting
/// as this data directory's replica.
pub async fn open(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Store> {
    let mut store = open_backend(data_dir, url).await?;
    store.set_replica_id(&replica_id(data_dir)?);
    Ok(store)
}

/// The data directory's replica id (`{data}/replica.id`, created once): stable across restarts,
/// so a restarted replica reclaims its own unfinished operations at once, while those of other
/// replicas wait for their heartbeat to lapse (`engine::replica`).
fn replica_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("replica.id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) => write_replica_id(&path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_replica_id(&path),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_replica_id(path: &Path) -> anyhow::Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    std::fs::write(path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

async fn open_backend(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Store> {
    match url {
        Some(url) => Store::open_postgres(url)
            .await
            .with_context(|| format!("opening the PostgreSQL store at {}", redacted(url))),
        None => Store::open_sqlite(&crate::app::db_path(data_dir)).await.context("opening the store"),
    }
}

/// The URL without its user information (a password must never reach a log or an error).
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}://{}{}", u.scheme(), u.host_str().unwrap_or(""), u.path()),
        Err(_) => "(unparsable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_appears_in_what_is_shown() {
        let shown = redacted("postgres://riposte:hunter2@db.internal:5432/riposte?sslmode=require");
        assert_eq!(shown, "postgres://db.internal/riposte");
    }

    #[test]
    fn only_postgres_urls_are_accepted() {
        let ok = StoreSection { url: Some("postgresql://db/riposte".into()) };
        assert_eq!(resolve(Some(&ok)).unwrap().as_deref(), Some("postgresql://db/riposte"));
        let bad = StoreSection { url: Some("mysql://db/riposte".into()) };
        let e = resolve(Some(&bad)).unwrap_err().to_string();
        assert!(e.contains("store.url") && e.contains("postgres://"), "{e}");
        assert_eq!(resolve(None).unwrap(), None);
    }
}
