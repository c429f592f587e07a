//! Plain data for hunting: saved queries with their versions, and the run history.
//! Backend-agnostic, like `model`; the SQL lives in `sqlite/queries.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// A query to save. Saving a name that exists (case-insensitively) adds a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSavedQuery {
    pub name: String,
    pub query: String,
    pub description: Option<String>,
    /// The key name that saved it.
    pub author: String,
}

/// One saved text of a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQueryVersion {
    /// 1, 2, 3, ...
    pub version: i64,
    pub query: String,
    pub description: Option<String>,
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A saved query with every version, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQuery {
    pub name: String,
    pub latest: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub versions: Vec<SavedQueryVersion>,
}

impl SavedQuery {
    /// The version asked for, or the latest.
    pub fn version(&self, version: Option<i64>) -> Option<&SavedQueryVersion> {
        let wanted = version.unwrap_or(self.latest);
        self.versions.iter().find(|v| v.version == wanted)
    }
}

/// One tenant's part of a hunt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRunTenant {
    pub tenant: String,
    /// `succeeded`, `throttled` or `failed`.
    pub status: String,
    pub row_count: i64,
    pub duration_ms: i64,
    /// `{code, message, ...}` when the tenant did not succeed.
    pub error: Option<Value>,
}

/// A hunt to record: the query text, who ran it, and how each tenant fared. Never the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRun {
    pub id: Uuid,
    /// The saved query run, `None` for an ad-hoc query.
    pub query_name: Option<String>,
    pub query_version: Option<i64>,
    pub query: String,
    pub principal: String,
    /// `succeeded`, `partial` or `failed`.
    pub status: String,
    pub row_count: i64,
    pub duration_ms: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// In the order the hunt named them.
    pub tenants: Vec<QueryRunTenant>,
}

/// Which runs to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryRunFilter {
    /// Runs of this saved query (case-insensitive).
    pub query_name: Option<String>,
    /// Runs that included this tenant.
    pub tenant: Option<String>,
    /// Runs whose every tenant is in this list (a scoped key's view); `None` = no restriction.
    pub within: Option<Vec<String>>,
    /// Maximum rows; `<= 0` means the default (100). Capped at 10 000.
    pub limit: i64,
}

/// Saved query names are compared case-insensitively.
pub(crate) fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}
