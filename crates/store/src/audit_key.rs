//! The key of the audit chain (issue 15: "the audit chain can be rewritten by anyone who can
//! write the database").
//!
//! An unkeyed hash chain proves order, not authorship: whoever can write the database can
//! recompute every hash forward, or wipe the rows and reset the head. With a key that lives
//! outside the database (a 0600 file in the data directory, or `RIPOSTE_AUDIT_KEY`), each
//! record's hash is an HMAC-SHA256, so a rewrite needs the key as well as the database.
//!
//! The key reaches [`crate::chain`] as a task-local set by the [`crate::Store`] methods that
//! append or verify (`Store::sealed`), so the backends' append paths (SQLite and PostgreSQL,
//! journal and reverts) seal with it without each carrying a key parameter. A path that forgot
//! the scope would seal an unkeyed row, which keyed verification reports as modified: it
//! fails closed.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use crate::StoreError;

/// The setting holding the chain key's [`AuditKey::check_value`].
pub const KEY_CHECK_SETTING: &str = "audit.key_check";

/// Bytes of a generated key.
pub const KEY_BYTES: usize = 32;

/// The HMAC key of the audit chain. Never printed: `Debug` shows only a fingerprint.
#[derive(Clone)]
pub struct AuditKey(Arc<[u8]>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.fingerprint())
    }
}

impl AuditKey {
    /// A key from its hex text (a file's content or `RIPOSTE_AUDIT_KEY`). At least 16 bytes.
    pub fn from_hex(text: &str) -> Result<AuditKey, StoreError> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| StoreError::invariant("the audit key is not hex (expected 64 hex characters)"))?;
        if bytes.len() < 16 {
            return Err(StoreError::invariant("the audit key is too short (at least 16 bytes, 32 recommended)"));
        }
        Ok(AuditKey(bytes.into()))
    }

    /// A fresh random key.
    pub fn generate() -> AuditKey {
        // Two v4 UUIDs: 244 bits from the operating system's random source (uuid's getrandom).
        let mut bytes = Vec::with_capacity(KEY_BYTES);
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        AuditKey(bytes.into())
    }

    /// The key in `path`, or a new one written there with mode 0600 when the file does not
    /// exist yet (first start). The file is created exclusively, so two processes starting
    /// at once cannot each write their own.
    pub fn load_or_create(path: &Path) -> Result<AuditKey, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => return AuditKey::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(path, e)),
        }
        let key = AuditKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(hex::encode(&key.0).as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| io_error(path, e))?;
                Ok(key)
            }
            // Another process created it between our read and our create: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => AuditKey::load_or_create(path),
            Err(e) => Err(io_error(path, e)),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A value only a holder of the key can compute (an HMAC of a fixed tag), stored in the
    /// database so processes sharing a chain can tell they share its key; the key cannot be
    /// recovered from it.
    pub fn check_value(&self) -> String {
        hex::encode(hmac_sha256(&self.0, &[b"riposte-audit-key-check-v1\n"]))
    }

    /// A short public name of the key (first 8 hex digits of its SHA-256), for logs and reports.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(&self.0)[..4])
    }
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { path: path.display().to_string(), source }
}

tokio::task_local! {
    static KEY: Option<AuditKey>;
}

/// The key of the store whose method is running, if it has one.
pub(crate) fn current() -> Option<AuditKey> {
    KEY.try_with(|k| k.clone()).ok().flatten()
}

/// Runs `f` with `key` as the chain key.
pub(crate) async fn scoped<F: Future>(key: Option<AuditKey>, f: F) -> F::Output {
    KEY.scope(key, f).await
}

/// HMAC-SHA256 (RFC 2104) over `parts`, written out on `sha2` so the store needs no new crate.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let a = AuditKey::load_or_create(&path).unwrap();
        let b = AuditKey::load_or_create(&path).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(!format!("{a:?}").contains(&hex::encode(a.bytes())), "Debug never shows the key");
    }
}

/// What [`Store::use_audit_key`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keying {
    /// The chain was keyed already (or is new): nothing rewritten.
    AlreadyKeyed,
    /// A chain written before keys existed was verified and re-keyed: this many rows.
    Rekeyed(i64),
}

impl crate::Store {
    /// Seals and verifies the audit chain under `key` from now on. A chain written before keys
    /// existed (migration 0017) is re-keyed once, after its unkeyed hashes verify, and only
    /// when `may_rekey` (the caller found no external anchor saying the chain was keyed
    /// before: an unkeyed chain beside such an anchor was rewritten, and re-keying it would
    /// launder the forgery).
    pub async fn use_audit_key(&mut self, key: AuditKey, may_rekey: bool) -> Result<Keying, StoreError> {
        // A stored key check says the chain was keyed before: an unkeyed chain now was rewritten
        // (a replica with a fresh data directory has no anchor file to say so).
        let may_rekey = may_rekey && self.get_setting(KEY_CHECK_SETTING).await?.is_none();
        let keying = match &self.backend {
            crate::Backend::Sqlite(p) => {
                if crate::sqlite::audit_keyed::is_keyed(p).await? {
                    Keying::AlreadyKeyed
                } else if !may_rekey {
                    return Err(StoreError::invariant(
                        "the audit chain is not keyed, but its anchor or its stored key check says it was: the chain was rewritten \
                         (run `riposte audit verify`)",
                    ));
                } else {
                    let _writer = self.audit_writer.lock().await;
                    let legacy = scoped(None, crate::sqlite::verify_audit(p)).await?;
                    if !legacy.ok {
                        return Err(StoreError::invariant(format!(
                            "the unkeyed audit chain does not verify ({}), so it cannot be re-keyed \
                             (run `riposte audit verify`)",
                            legacy.problems.first().map(String::as_str).unwrap_or("broken")
                        )));
                    }
                    Keying::Rekeyed(crate::sqlite::audit_keyed::rekey(p, &key).await?)
                }
            }
            crate::Backend::Postgres(p) => {
                use crate::postgres::audit_keyed;
                if audit_keyed::is_keyed(p).await? {
                    Keying::AlreadyKeyed
                } else if !may_rekey {
                    return Err(StoreError::invariant(
                        "the audit chain is not keyed, but its anchor or its stored key check says it was: the chain was rewritten \
                         (run `riposte audit verify`)",
                    ));
                } else if scoped(None, crate::postgres::verify_audit(p)).await?.ok {
                    Keying::Rekeyed(audit_keyed::rekey(p, &key).await?)
                } else {
                    // Written before migration 0017 gave PostgreSQL the flag: its rows were
                    // sealed under the key already. Mark it keyed only if they verify under it.
                    let keyed = scoped(Some(key.clone()), crate::postgres::verify_audit(p)).await?;
                    if !keyed.ok {
                        return Err(StoreError::invariant(format!(
                            "the audit chain verifies neither unkeyed nor under this key ({}), so it cannot \
                             be keyed (run `riposte audit verify`)",
                            keyed.problems.first().map(String::as_str).unwrap_or("broken")
                        )));
                    }
                    audit_keyed::mark_keyed(p).await?;
                    Keying::AlreadyKeyed
                }
            }
        };
        self.claim_key_check(&key).await?;
        tracing::info!(key = %key.fingerprint(), ?keying, "audit chain keyed");
        self.audit_key = Some(key);
        Ok(keying)
    }

    /// Records the key's check value the first time a key is used, and refuses a key whose
    /// check differs: every process (replica, CLI) writing one chain must seal under one key,
    /// or the chain mixes keys and no key verifies it. Insert-if-absent, so of two replicas
    /// starting together with different keys exactly one wins and the other refuses to start.
    async fn claim_key_check(&self, key: &AuditKey) -> Result<(), StoreError> {
        const INSERT: &str = "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                              ON CONFLICT (key) DO NOTHING";
        let check = key.check_value();
        let now = crate::codec::format_ts(crate::codec::now())?;
        match &self.backend {
            crate::Backend::Sqlite(p) => {
                sqlx::query(INSERT).bind(KEY_CHECK_SETTING).bind(&check).bind(&now).execute(p).await?;
            }
            crate::Backend::Postgres(p) => {
                sqlx::query(INSERT).bind(KEY_CHECK_SETTING).bind(&check).bind(&now).execute(p).await?;
            }
        }
        match self.get_setting(KEY_CHECK_SETTING).await? {
            Some(stored) if stored == check => Ok(()),
            _ => Err(StoreError::invariant(format!(
                "this process's audit key (fingerprint {}) is not the key the audit chain is sealed with: \
                 every replica must use the same key (RIPOSTE_AUDIT_KEY, the file RIPOSTE_AUDIT_KEY_FILE names, \
                 or the data directory's audit.key); copy the first replica's key to this one",
                key.fingerprint()
            ))),
        }
    }

    /// The fingerprint of the chain's key, if the store has one.
    pub fn audit_key_fingerprint(&self) -> Option<String> {
        self.audit_key.as_ref().map(AuditKey::fingerprint)
    }

    /// Runs an append or a verification with this store's key in scope.
    pub(crate) async fn sealed<F: Future>(&self, f: F) -> F::Output {
        scoped(self.audit_key.clone(), f).await
    }

    /// The stored hash of audit row `seq` (anchor checks).
    pub async fn audit_hash_at(&self, seq: i64) -> Result<Option<String>, StoreError> {
        match &self.backend {
            crate::Backend::Sqlite(p) => crate::sqlite::audit_keyed::hash_at(p, seq).await,
            crate::Backend::Postgres(p) => {
                Ok(sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(seq).fetch_optional(p).await?)
            }
        }
    }

    /// The chain's recorded head: (seq, hash).
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        match &self.backend {
            crate::Backend::Sqlite(p) => crate::sqlite::audit_keyed::head(p).await,
            crate::Backend::Postgres(p) => {
                Ok(sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_optional(p).await?)
            }
        }
    }

    /// Problems of keying a verification report cannot see from the rows alone: a keyed store
    /// over an unkeyed chain, or a keyed chain verified without its key.
    pub(crate) async fn keying_problems(&self) -> Result<Vec<String>, StoreError> {
        let keyed = match &self.backend {
            crate::Backend::Sqlite(p) => crate::sqlite::audit_keyed::is_keyed(p).await?,
            crate::Backend::Postgres(p) => crate::postgres::audit_keyed::is_keyed(p).await?,
        };
        Ok(match (keyed, &self.audit_key) {
            (true, None) => vec![
                "the audit chain is keyed: verify it with its key (the data directory's audit.key or \
                                  RIPOSTE_AUDIT_KEY)"
                    .to_string(),
            ],
            (false, Some(_)) => vec!["the audit chain is not keyed, though a key is configured".to_string()],
            _ => vec![],
        })
    }
}
