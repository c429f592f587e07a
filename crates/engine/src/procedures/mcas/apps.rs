//! Consents and app access through Graph: list the grants (`oauth2PermissionGrants` by
//! `clientId` / `principalId`) and assignments (`appRoleAssignedTo`, a user's
//! `appRoleAssignments`), then delete each, a row per deletion. Nothing to delete is an answer
//! that says so, not an error: the user or app has no consent left, which is the state asked for.
//!
//! A restart part-way ends the operation `Unknown` (reconciliation); running it again deletes
//! what is left, since every list is read afresh.

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, Method};

/// Grants and assignments read per list, at most (a tenant's consents to one app fit).
const LIST_MAX: usize = 5_000;

/// `RevokeUserConsent`: a user's grants, or one app's.
pub struct RevokeConsent {
    user: String,
    client: Option<String>,
}

impl TryFrom<&Params> for RevokeConsent {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(RevokeConsent { user: args.text("userId")?, client: args.opt_text("clientId")? })
    }
}

impl Procedure for RevokeConsent {
    const ID: ProcedureId = ProcedureId("mcas.consents.revoke");
    const READS: &'static [Read] = &[required("userId"), optional("clientId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut filter = format!("principalId eq '{}'", quote(&self.user));
        if let Some(c) = &self.client {
            filter.push_str(&format!(" and clientId eq '{}'", quote(c)));
        }
        let mut run = Run::default();
        run.delete_grants(ctx, &filter).await?;
        run.finish(json!({ "userId": self.user, "clientId": self.client }))
    }
}

/// `BanRiskyApp`: disable the service principal, then delete every grant to it.
pub struct Ban {
    sp: String,
}

impl TryFrom<&Params> for Ban {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(Ban { sp: Args::of::<Self>(params).text("servicePrincipalId")? })
    }
}

impl Procedure for Ban {
    const ID: ProcedureId = ProcedureId("mcas.apps.ban");
    const READS: &'static [Read] = &[required("servicePrincipalId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut run = Run::default();
        let path = format!("/v1.0/servicePrincipals/{}", encode(&self.sp));
        let req = ApiRequest::new(Api::Graph, Method::Patch, path).with_body(json!({ "accountEnabled": false }));
        let resp = ctx.engine.upstream().call(ctx.creds, req).await?;
        run.request_ids.extend(resp.request_id);
        run.delete_grants(ctx, &format!("clientId eq '{}'", quote(&self.sp))).await?;
        run.finish(json!({ "servicePrincipalId": self.sp, "accountEnabled": false }))
    }
}

/// `RemoveAppAccess`: every assignment to the app and every grant to it.
pub struct RemoveAccess {
    sp: String,
}

impl TryFrom<&Params> for RemoveAccess {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(RemoveAccess { sp: Args::of::<Self>(params).text("servicePrincipalId")? })
    }
}

impl Procedure for RemoveAccess {
    const ID: ProcedureId = ProcedureId("mcas.apps.remove_access");
    const READS: &'static [Read] = &[required("servicePrincipalId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut run = Run::default();
        let assigned = format!("/v1.0/servicePrincipals/{}/appRoleAssignedTo", encode(&self.sp));
        run.delete_assignments(ctx, &assigned, None).await?;
        run.delete_grants(ctx, &format!("clientId eq '{}'", quote(&self.sp))).await?;
        run.finish(json!({ "servicePrincipalId": self.sp }))
    }
}

/// `BlockUserFromApp`: one user's assignments to the app and grants for it.
pub struct BlockUser {
    user: String,
    sp: String,
}

impl TryFrom<&Params> for BlockUser {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(BlockUser { user: args.text("userId")?, sp: args.text("servicePrincipalId")? })
    }
}

impl Procedure for BlockUser {
    const ID: ProcedureId = ProcedureId("mcas.apps.block_user");
    const READS: &'static [Read] = &[required("userId"), required("servicePrincipalId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut run = Run::default();
        let assignments = format!("/v1.0/users/{}/appRoleAssignments", encode(&self.user));
        let only_this_app = format!("resourceId eq {}", self.sp);
        run.delete_assignments(ctx, &assignments, Some(&only_this_app)).await?;
        let grants = format!("clientId eq '{}' and principalId eq '{}'", quote(&self.sp), quote(&self.user));
        run.delete_grants(ctx, &grants).await?;
        run.finish(json!({ "userId": self.user, "servicePrincipalId": self.sp }))
    }
}

/// What one procedure deleted: a row per deletion, and the Graph request ids.
#[derive(Default)]
struct Run {
    rows: Vec<Value>,
    request_ids: Vec<String>,
    failed: usize,
    first_error: Option<EngineError>,
}

impl Run {
    async fn delete_grants(&mut self, ctx: &Ctx<'_>, filter: &str) -> Result<(), EngineError> {
        let req = ApiRequest::get(Api::Graph, "/v1.0/oauth2PermissionGrants").with_query("$filter", filter);
        let found = ctx.engine.upstream().get_paged(ctx.creds, req, LIST_MAX).await?;
        self.request_ids.extend(found.request_ids);
        for g in found.items {
            let id = g["id"].as_str().unwrap_or_default();
            let path = format!("/v1.0/oauth2PermissionGrants/{}", encode(id));
            let what = json!({ "kind": "oauth2PermissionGrant", "id": id, "clientId": g["clientId"], "principalId": g["principalId"], "scope": g["scope"] });
            self.delete(ctx, path, what).await;
        }
        Ok(())
    }

    async fn delete_assignments(&mut self, ctx: &Ctx<'_>, list: &str, filter: Option<&str>) -> Result<(), EngineError> {
        let mut req = ApiRequest::get(Api::Graph, list);
        if let Some(f) = filter {
            req = req.with_query("$filter", f);
        }
        let found = ctx.engine.upstream().get_paged(ctx.creds, req, LIST_MAX).await?;
        self.request_ids.extend(found.request_ids);
        for a in found.items {
            let id = a["id"].as_str().unwrap_or_default();
            let path = format!("{list}/{}", encode(id));
            let what = json!({ "kind": "appRoleAssignment", "id": id, "principalId": a["principalId"], "resourceId": a["resourceId"] });
            self.delete(ctx, path, what).await;
        }
        Ok(())
    }

    async fn delete(&mut self, ctx: &Ctx<'_>, path: String, mut row: Value) {
        match ctx.engine.upstream().call(ctx.creds, ApiRequest::new(Api::Graph, Method::Delete, path)).await {
            Ok(resp) => {
                self.request_ids.extend(resp.request_id);
                row["deleted"] = true.into();
            }
            Err(e) => {
                let e = EngineError::from(e);
                row["deleted"] = false.into();
                row["error"] = crate::error_json(&e);
                self.failed += 1;
                self.first_error.get_or_insert(e);
            }
        }
        self.rows.push(row);
    }

    /// Every deletion failed: the first failure is the answer. Some failed: partial, rows say which.
    fn finish(self, about: Value) -> Result<Carried, EngineError> {
        let deleted = self.rows.len() - self.failed;
        if let (0, Some(e)) = (deleted, self.first_error) {
            return Err(e);
        }
        let mut data = about;
        data["deleted"] = deleted.into();
        data["failed"] = self.failed.into();
        data["results"] = Value::Array(self.rows);
        if deleted == 0 && self.failed == 0 {
            data["note"] = "nothing to delete: no grant or assignment matched".into();
        }
        Ok(Carried {
            data,
            request_ids: self.request_ids,
            machine_action_ids: vec![],
            failed_targets: self.failed,
            follow: None,
        })
    }
}

/// OData string literal: a quote doubled.
fn quote(s: &str) -> String {
    s.replace('\'', "''")
}

pub(super) fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
