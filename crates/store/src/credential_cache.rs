//! Key lookups without a database round trip on every request.
//!
//! Every authenticated request resolves its key: the admin key's hash (a setting) and the key
//! row by hash. Both change rarely, so answers are kept here, keyed by what was asked. Any key or
//! setting write through this process ([`Store::create_key`], [`Store::revoke_key`],
//! [`Store::set_setting`]) empties the cache at once, so a revoke or rotation through the API takes
//! effect on the next request. A write by another process (the CLI on the same SQLite file, another
//! PostgreSQL replica) cannot be seen here; [`TTL`] bounds how long an answer is trusted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::model::ApiKey;
use crate::{Store, StoreError};

/// How long a cached answer stands without a change through this process.
pub const TTL: Duration = Duration::from_secs(1);

/// At most this many answers; beyond it the cache starts over (a flood of unknown keys cannot grow it).
const CAPACITY: usize = 4_096;

/// Cached answers, shared by every clone of a [`Store`].
#[derive(Debug, Default)]
pub(crate) struct CredentialCache {
    keys: Mutex<HashMap<String, (Instant, Option<ApiKey>)>>,
    settings: Mutex<HashMap<String, (Instant, Option<String>)>>,
    /// Bumped by every invalidation: an answer read before a write is not remembered after it.
    generation: AtomicU64,
}

impl CredentialCache {
    /// Forgets everything: called after every key or setting write.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.keys).clear();
        lock(&self.settings).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn fresh<V: Clone>(map: &Mutex<HashMap<String, (Instant, V)>>, k: &str) -> Option<V> {
    lock(map).get(k).filter(|(at, _)| at.elapsed() < TTL).map(|(_, v)| v.clone())
}

/// Keeps `v` unless an invalidation happened since `generation` was read (the read may be stale).
fn remember<V>(cache: &CredentialCache, map: &Mutex<HashMap<String, (Instant, V)>>, generation: u64, k: &str, v: V) {
    let mut m = lock(map);
    if cache.generation.load(Ordering::SeqCst) != generation {
        return;
    }
    if m.len() >= CAPACITY {
        m.clear();
    }
    m.insert(k.to_string(), (Instant::now(), v));
}

impl Store {
    /// [`Store::key_by_hash`], answered from memory when asked within [`TTL`] and no key changed.
    pub async fn key_by_hash_cached(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        if let Some(hit) = fresh(&self.credentials.keys, key_hash) {
            return Ok(hit);
        }
        let generation = self.credentials.generation.load(Ordering::SeqCst);
        let found = self.key_by_hash(key_hash).await?;
        remember(&self.credentials, &self.credentials.keys, generation, key_hash, found.clone());
        Ok(found)
    }

    /// [`Store::get_setting`], answered from memory likewise (for settings read on every request).
    pub async fn setting_cached(&self, key: &str) -> Result<Option<String>, StoreError> {
        if let Some(hit) = fresh(&self.credentials.settings, key) {
            return Ok(hit);
        }
        let generation = self.credentials.generation.load(Ordering::SeqCst);
        let value = self.get_setting(key).await?;
        remember(&self.credentials, &self.credentials.settings, generation, key, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use crate::{NewKey, Store};

    #[tokio::test]
    async fn a_revoke_or_rotation_in_process_takes_effect_at_once() {
        let s = Store::in_memory().await.unwrap();
        let new =
            |hash: &str| NewKey { name: "ci".into(), role: "admin".into(), tenants: vec![], key_hash: hash.into() };
        s.create_key(new("h1")).await.unwrap();
        assert!(s.key_by_hash_cached("h1").await.unwrap().is_some());
        assert!(s.revoke_key("ci").await.unwrap());
        assert_eq!(s.key_by_hash_cached("h1").await.unwrap(), None, "a revoked key is refused at once");
        // An unknown key is cached as unknown, until a key is created.
        assert_eq!(s.key_by_hash_cached("h2").await.unwrap(), None);
        s.create_key(new("h2")).await.unwrap();
        assert!(s.key_by_hash_cached("h2").await.unwrap().is_some());
        // The admin key's rotation likewise.
        s.set_setting("admin_key_hash", "a1").await.unwrap();
        assert_eq!(s.setting_cached("admin_key_hash").await.unwrap().as_deref(), Some("a1"));
        s.set_setting("admin_key_hash", "a2").await.unwrap();
        assert_eq!(s.setting_cached("admin_key_hash").await.unwrap().as_deref(), Some("a2"));
    }
}
