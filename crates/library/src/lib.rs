//! # library — Riposte's live-response file library
//!
//! Scripts and files an analyst uploads (to push to MDE's library and run with RunScript or
//! PutFile), and files retrieved from devices by GetFile, kept as blobs behind
//! [`object_store`]: the local filesystem by default, S3 or Azure Blob by configuration (cargo
//! features `s3` / `azure`). Nothing here talks to Microsoft; `engine` pushes library files to
//! MDE through `upstream`.
//!
//! Layout, one namespace per tenant:
//!
//! ```text
//! tenants/{tenant}/library/{name}                 the file an analyst uploaded
//! tenants/{tenant}/library.meta/{name}.json        its metadata (size, sha256, who, descriptions)
//! tenants/{tenant}/retrieved/{operation}/{name}   a file GetFile brought back from a device
//! tenants/{tenant}/retrieved.meta/{operation}/{name}.json
//! ```
//!
//! Metadata lives next to the blob as a JSON sidecar, so every backend (a directory, a bucket, a
//! container) holds the whole library and nothing needs the database to list or serve it.
//!
//! Files leave Riposte only through [`links`]: HMAC-signed, expiring download tokens.

pub mod links;
mod names;

pub use links::{LinkError, Links, SignedLink};
pub use names::{MAX_NAME_CHARS, check_name};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

/// Default largest upload: big enough for tools and scripts, well under memory worries.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 50 * 1024 * 1024;

/// Errors of the library layer; the gateway maps them to HTTP once.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LibraryError {
    /// A name that cannot be a library file name (field: which input carried it).
    #[error("{field}: {message}")]
    InvalidName { field: &'static str, message: String, hint: String },
    #[error("no library file '{name}' for this tenant")]
    NotFound { name: String },
    #[error("the file is {size} bytes; at most {max} bytes are accepted")]
    TooLarge { size: usize, max: usize },
    /// The blob store failed (disk, bucket, network): not the caller's fault.
    #[error("library storage: {0}")]
    Storage(String),
}

impl From<object_store::Error> for LibraryError {
    fn from(e: object_store::Error) -> Self {
        LibraryError::Storage(e.to_string())
    }
}

/// Where the blobs live.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A directory on the local filesystem (created if missing).
    Local(std::path::PathBuf),
    /// Process memory (tests; nothing survives a restart).
    Memory,
    /// An S3 bucket; credentials and region come from the usual `AWS_*` environment.
    #[cfg(feature = "s3")]
    S3 { bucket: String },
    /// An Azure Blob container; account and credentials from the usual `AZURE_STORAGE_*` environment.
    #[cfg(feature = "azure")]
    Azure { container: String },
}

impl Backend {
    /// The object store behind this backend (the hunting archive keeps its Parquet files in one too).
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>, LibraryError> {
        Ok(match self {
            Backend::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| LibraryError::Storage(format!("creating {}: {e}", dir.display())))?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
            }
            Backend::Memory => Arc::new(object_store::memory::InMemory::new()),
            #[cfg(feature = "s3")]
            Backend::S3 { bucket } => {
                Arc::new(object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).build()?)
            }
            #[cfg(feature = "azure")]
            Backend::Azure { container } => {
                Arc::new(object_store::azure::MicrosoftAzureBuilder::from_env().with_container_name(container).build()?)
            }
        })
    }
}

/// What a file is, as listed and as pushed to MDE's library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMeta {
    pub name: String,
    pub size: u64,
    /// Lowercase hex; MDE's library reports the same digest, so a push can be skipped when equal.
    pub sha256: String,
    pub uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
    pub description: Option<String>,
    pub parameters_description: Option<String>,
    pub has_parameters: bool,
    /// Set on files GetFile retrieved: the operation that brought them back.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation: Option<String>,
}

/// The caller-supplied part of an upload.
#[derive(Debug, Clone, Default)]
pub struct NewFile {
    pub uploaded_by: String,
    pub description: Option<String>,
    pub parameters_description: Option<String>,
    pub has_parameters: bool,
}

/// Where an object sits: the analyst's library, or the files retrieved by one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    Library,
    Retrieved { operation: String },
}

/// One object of one tenant; what a signed link points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    pub tenant: String,
    pub area: Area,
    pub name: String,
}

impl ObjectKey {
    pub fn library(tenant: &str, name: &str) -> ObjectKey {
        ObjectKey { tenant: tenant.into(), area: Area::Library, name: name.into() }
    }

    pub fn retrieved(tenant: &str, operation: &str, name: &str) -> ObjectKey {
        ObjectKey { tenant: tenant.into(), area: Area::Retrieved { operation: operation.into() }, name: name.into() }
    }

    fn parts(&self, meta: bool) -> Vec<String> {
        let mut parts = vec!["tenants".to_string(), self.tenant.clone()];
        let suffix = if meta { ".meta" } else { "" };
        match &self.area {
            Area::Library => parts.push(format!("library{suffix}")),
            Area::Retrieved { operation } => {
                parts.push(format!("retrieved{suffix}"));
                parts.push(operation.clone());
            }
        }
        parts.push(if meta { format!("{}.json", self.name) } else { self.name.clone() });
        parts
    }

    fn blob(&self) -> Path {
        Path::from_iter(self.parts(false))
    }

    fn sidecar(&self) -> Path {
        Path::from_iter(self.parts(true))
    }

    /// The text a link signs: unambiguous because every part is checked or generated by us and
    /// none may contain `/`.
    pub fn to_link_path(&self) -> String {
        self.parts(false).join("/")
    }

    /// The inverse of [`ObjectKey::to_link_path`]; `None` for anything else.
    pub fn from_link_path(s: &str) -> Option<ObjectKey> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            ["tenants", tenant, "library", name] => Some(ObjectKey::library(tenant, name)),
            ["tenants", tenant, "retrieved", op, name] => Some(ObjectKey::retrieved(tenant, op, name)),
            _ => None,
        }
    }
}

/// Library configuration.
#[derive(Debug, Clone)]
pub struct LibraryConfig {
    pub backend: Backend,
    pub max_upload_bytes: usize,
}

/// The file library. Cheap to clone.
#[derive(Clone)]
pub struct Library {
    store: Arc<dyn ObjectStore>,
    max_upload_bytes: usize,
    links: Links,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library").field("store", &self.store.to_string()).finish_non_exhaustive()
    }
}

impl Library {
    pub fn open(config: &LibraryConfig, links: Links) -> Result<Library, LibraryError> {
        Ok(Library { store: config.backend.open()?, max_upload_bytes: config.max_upload_bytes, links })
    }

    pub fn max_upload_bytes(&self) -> usize {
        self.max_upload_bytes
    }

    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Store (or replace) a library file and its metadata.
    pub async fn put(&self, tenant: &str, name: &str, bytes: Bytes, new: NewFile) -> Result<FileMeta, LibraryError> {
        check_name(name, "fileName")?;
        self.put_key(&ObjectKey::library(tenant, name), bytes, new, None).await
    }

    /// Store a file GetFile retrieved for `operation`.
    pub async fn put_retrieved(
        &self,
        tenant: &str,
        operation: &str,
        name: &str,
        bytes: Bytes,
        by: &str,
    ) -> Result<FileMeta, LibraryError> {
        let name = names::sanitize(name);
        let new = NewFile { uploaded_by: by.to_string(), ..NewFile::default() };
        self.put_key(&ObjectKey::retrieved(tenant, operation, &name), bytes, new, Some(operation.to_string())).await
    }

    async fn put_key(
        &self,
        key: &ObjectKey,
        bytes: Bytes,
        new: NewFile,
        operation: Option<String>,
    ) -> Result<FileMeta, LibraryError> {
        if bytes.len() > self.max_upload_bytes {
            return Err(LibraryError::TooLarge { size: bytes.len(), max: self.max_upload_bytes });
        }
        let meta = FileMeta {
            name: key.name.clone(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            uploaded_by: new.uploaded_by,
            uploaded_at: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc()),
            description: new.description,
            parameters_description: new.parameters_description,
            has_parameters: new.has_parameters,
            operation,
        };
        // Blob first, then metadata: a listing (which reads metadata) never shows a file whose
        // bytes are not there yet.
        self.store.put(&key.blob(), PutPayload::from_bytes(bytes)).await?;
        let json = serde_json::to_vec(&meta).map_err(|e| LibraryError::Storage(e.to_string()))?;
        self.store.put(&key.sidecar(), PutPayload::from(json)).await?;
        Ok(meta)
    }

    /// Every library file of a tenant, by name.
    pub async fn list(&self, tenant: &str) -> Result<Vec<FileMeta>, LibraryError> {
        let prefix = Path::from_iter(["tenants", tenant, "library.meta"]);
        let objects: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        let mut files = Vec::with_capacity(objects.len());
        for o in objects {
            let bytes = self.store.get(&o.location).await?.bytes().await?;
            match serde_json::from_slice::<FileMeta>(&bytes) {
                Ok(meta) => files.push(meta),
                Err(e) => tracing::warn!(location = %o.location, error = %e, "skipping unreadable library metadata"),
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// Metadata of one library file.
    pub async fn meta(&self, tenant: &str, name: &str) -> Result<FileMeta, LibraryError> {
        check_name(name, "fileName")?;
        self.meta_of(&ObjectKey::library(tenant, name)).await
    }

    pub async fn meta_of(&self, key: &ObjectKey) -> Result<FileMeta, LibraryError> {
        let bytes = self.fetch(&key.sidecar(), &key.name).await?;
        serde_json::from_slice(&bytes).map_err(|e| LibraryError::Storage(format!("metadata of {}: {e}", key.name)))
    }

    /// A library file's metadata and bytes.
    pub async fn read(&self, tenant: &str, name: &str) -> Result<(FileMeta, Bytes), LibraryError> {
        check_name(name, "fileName")?;
        self.read_key(&ObjectKey::library(tenant, name)).await
    }

    pub async fn read_key(&self, key: &ObjectKey) -> Result<(FileMeta, Bytes), LibraryError> {
        let meta = self.meta_of(key).await?;
        let bytes = self.fetch(&key.blob(), &key.name).await?;
        Ok((meta, bytes))
    }

    /// Remove a library file; `NotFound` if there was none.
    pub async fn delete(&self, tenant: &str, name: &str) -> Result<FileMeta, LibraryError> {
        let meta = self.meta(tenant, name).await?;
        let key = ObjectKey::library(tenant, name);
        // Metadata first: once it is gone the file is no longer listed or linkable.
        self.store.delete(&key.sidecar()).await?;
        match self.store.delete(&key.blob()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(meta),
            Err(e) => Err(e.into()),
        }
    }

    async fn fetch(&self, path: &Path, name: &str) -> Result<Bytes, LibraryError> {
        match self.store.get(path).await {
            Ok(r) => Ok(r.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(LibraryError::NotFound { name: name.to_string() }),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests;
