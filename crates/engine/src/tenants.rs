//! The tenants this gateway acts for, with their (secret) credentials.

use crate::EngineError;
use std::collections::BTreeMap;
use upstream::TenantCredentials;

/// Tenant id (lower-cased) → credentials. Credentials never leave this struct except to `upstream`.
#[derive(Default)]
pub struct TenantDirectory {
    tenants: BTreeMap<String, TenantCredentials>,
}

impl TenantDirectory {
    pub fn new(list: Vec<TenantCredentials>) -> TenantDirectory {
        TenantDirectory { tenants: list.into_iter().map(|c| (c.tenant_id.to_ascii_lowercase(), c)).collect() }
    }

    pub fn get(&self, tenant: &str) -> Result<&TenantCredentials, EngineError> {
        self.tenants
            .get(&tenant.trim().to_ascii_lowercase())
            .ok_or_else(|| EngineError::UnknownTenant(tenant.to_string()))
    }

    /// Tenant ids only (safe to show).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.tenants.values().map(|c| c.tenant_id.as_str())
    }

    pub fn all(&self) -> impl Iterator<Item = &TenantCredentials> {
        self.tenants.values()
    }

    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }
}
