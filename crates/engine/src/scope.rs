//! Tenant scope for reads: what a key may see. The rules live here, not in the gateway's
//! handlers, so every surface (native API, CLI, console) applies the same ones, and a handler
//! cannot forget them. `Engine::list_operations` (in `lib.rs`) follows the same rules.
//!
//! - an operation of a tenant outside the key's scope does not exist for that key (404, never
//!   403, so ids cannot be probed);
//! - a scoped key reading the audit must name one of its tenants: the log also holds records with
//!   no tenant (saved queries, keys), which only unscoped keys see;
//! - a request about one tenant's files may leave the tenant out when the key is scoped to exactly
//!   one (whether the key may use the tenant it names is checked by the library procedures).

use crate::{Engine, EngineError, Principal};
use store::{AuditFilter, AuditRecord, Operation};
use uuid::Uuid;

impl Engine {
    /// One operation, if the caller's scope covers its tenant.
    pub async fn operation_for(&self, principal: &Principal, id: Uuid) -> Result<Operation, EngineError> {
        let op = self.operation(id).await?;
        if !principal.may_access(&op.tenant) {
            return Err(EngineError::OperationNotFound(id.to_string()));
        }
        Ok(op)
    }

    /// Audit records matching the filter, within the caller's scope.
    pub async fn audit(&self, principal: &Principal, filter: AuditFilter) -> Result<Vec<AuditRecord>, EngineError> {
        if !principal.tenants.is_empty() {
            match &filter.tenant {
                Some(t) if principal.may_access(t.as_str()) => {}
                _ => {
                    return Err(EngineError::Forbidden(format!(
                        "key '{}' is scoped to tenants; name one of them with ?tenant= to read the audit",
                        principal.name
                    )));
                }
            }
        }
        Ok(self.inner.store.query_audit(filter).await?)
    }

    /// The tenant a per-tenant read or write is about: the one named, else the key's only tenant.
    pub fn chosen_tenant(&self, principal: &Principal, named: Option<&str>) -> Result<String, EngineError> {
        match (named.map(str::trim).filter(|t| !t.is_empty()), principal.tenants.as_slice()) {
            (Some(t), _) => Ok(t.to_string()),
            (None, [only]) => Ok(only.clone()),
            _ => Err(EngineError::InvalidParam(catalog::ParamError {
                field: "tenant".into(),
                message: "tenant is required".into(),
                hint: "add ?tenant=<tenant id> (GET /v1/tenants lists them)".into(),
            })),
        }
    }

    /// The configured tenant ids the caller may use (never credentials).
    pub fn visible_tenants(&self, principal: &Principal) -> Vec<&str> {
        self.inner.tenants.ids().filter(|t| principal.may_access(t)).collect()
    }
}
