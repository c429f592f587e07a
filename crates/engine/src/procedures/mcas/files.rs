//! Files through Graph drives: sharing revoked (all, or what leaves the owner's domain) and the
//! quarantine move. A row per permission deleted; the owner's and inherited permissions are
//! never touched (Graph refuses inherited ones; they change on the parent).

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, Method};

use super::apps::encode;

/// Which permissions a revocation deletes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every sharing link and direct grant.
    All,
    /// Anonymous links and grants to addresses outside `domain`.
    External,
}

pub struct RevokeSharing {
    drive: String,
    item: String,
}

pub struct RemoveExternal {
    drive: String,
    item: String,
}

pub struct Quarantine {
    drive: String,
    item: String,
    folder: String,
}

impl TryFrom<&Params> for RevokeSharing {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(RevokeSharing { drive: a.text("driveId")?, item: a.text("fileId")? })
    }
}

impl TryFrom<&Params> for RemoveExternal {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(RemoveExternal { drive: a.text("driveId")?, item: a.text("fileId")? })
    }
}

impl TryFrom<&Params> for Quarantine {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let a = Args::of::<Self>(params);
        Ok(Quarantine { drive: a.text("driveId")?, item: a.text("fileId")?, folder: a.text("quarantineFolder")? })
    }
}

impl Procedure for RevokeSharing {
    const ID: ProcedureId = ProcedureId("mcas.files.revoke_sharing");
    const READS: &'static [Read] = &[required("driveId"), required("fileId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut out = Revoked::default();
        out.revoke(ctx, &self.drive, &self.item, Scope::All, "").await?;
        out.finish(json!({ "driveId": self.drive, "fileId": self.item }))
    }
}

impl Procedure for RemoveExternal {
    const ID: ProcedureId = ProcedureId("mcas.files.remove_external");
    const READS: &'static [Read] = &[required("driveId"), required("fileId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut out = Revoked::default();
        let drive = out.get(ctx, format!("/v1.0/drives/{}", encode(&self.drive))).await?;
        let owner = drive["owner"]["user"]["email"].as_str().unwrap_or_default();
        let domain = owner.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        out.revoke(ctx, &self.drive, &self.item, Scope::External, &domain).await?;
        out.finish(json!({ "driveId": self.drive, "fileId": self.item, "ownerDomain": domain }))
    }
}

impl Procedure for Quarantine {
    const ID: ProcedureId = ProcedureId("mcas.files.quarantine");
    const READS: &'static [Read] = &[required("driveId"), required("fileId"), required("quarantineFolder")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut out = Revoked::default();
        let item_path = format!("/v1.0/drives/{}/items/{}", encode(&self.drive), encode(&self.item));
        let item = out.get(ctx, item_path.clone()).await?;
        let original_parent = item["parentReference"]["id"].clone();
        out.revoke(ctx, &self.drive, &self.item, Scope::All, "").await?;
        let folder = out.folder(ctx, &self.drive, &self.folder).await?;
        let req = ApiRequest::new(Api::Graph, Method::Patch, item_path)
            .with_body(json!({ "parentReference": { "id": folder } }));
        let moved = ctx.engine.upstream().call(ctx.creds, req).await?;
        out.request_ids.extend(moved.request_id);
        out.finish(json!({
            "driveId": self.drive,
            "fileId": self.item,
            "quarantineFolderId": folder,
            // Where RestoreFromQuarantine puts it back.
            "originalParentId": original_parent,
        }))
    }
}

/// What a procedure deleted, with the Graph request ids.
#[derive(Default)]
struct Revoked {
    rows: Vec<Value>,
    request_ids: Vec<String>,
    failed: usize,
    first_error: Option<EngineError>,
}

impl Revoked {
    async fn get(&mut self, ctx: &Ctx<'_>, path: String) -> Result<Value, EngineError> {
        let resp = ctx.engine.upstream().call(ctx.creds, ApiRequest::get(Api::Graph, path)).await?;
        self.request_ids.extend(resp.request_id);
        Ok(resp.body)
    }

    async fn revoke(
        &mut self,
        ctx: &Ctx<'_>,
        drive: &str,
        item: &str,
        scope: Scope,
        domain: &str,
    ) -> Result<(), EngineError> {
        let base = format!("/v1.0/drives/{}/items/{}/permissions", encode(drive), encode(item));
        let list = self.get(ctx, base.clone()).await?;
        for p in
            list["value"].as_array().cloned().unwrap_or_default().into_iter().filter(|p| deletable(p, scope, domain))
        {
            let id = p["id"].as_str().unwrap_or_default();
            let req = ApiRequest::new(Api::Graph, Method::Delete, format!("{base}/{}", encode(id)));
            let mut row = json!({ "permissionId": id, "roles": p["roles"], "link": p["link"]["scope"], "grantee": p["grantedToV2"]["user"]["email"] });
            match ctx.engine.upstream().call(ctx.creds, req).await {
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
        Ok(())
    }

    /// The id of the folder `name` at the drive's root, made when missing.
    async fn folder(&mut self, ctx: &Ctx<'_>, drive: &str, name: &str) -> Result<String, EngineError> {
        let children = format!("/v1.0/drives/{}/root/children", encode(drive));
        let list = self.get(ctx, children.clone()).await?;
        let existing = list["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["folder"].is_object() && i["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
        if let Some(id) = existing.and_then(|i| i["id"].as_str()) {
            return Ok(id.to_string());
        }
        let body = json!({ "name": name, "folder": {}, "@microsoft.graph.conflictBehavior": "fail" });
        let made = ctx.engine.upstream().call(ctx.creds, ApiRequest::post(Api::Graph, children, body)).await?;
        self.request_ids.extend(made.request_id);
        made.body["id"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| EngineError::Internal("Graph made a folder without an id".into()))
    }

    fn finish(self, about: Value) -> Result<Carried, EngineError> {
        let deleted = self.rows.len() - self.failed;
        if let (0, Some(e)) = (deleted, self.first_error) {
            return Err(e);
        }
        let mut data = about;
        data["permissionsDeleted"] = deleted.into();
        data["failed"] = self.failed.into();
        data["results"] = Value::Array(self.rows);
        Ok(Carried {
            data,
            request_ids: self.request_ids,
            machine_action_ids: vec![],
            failed_targets: self.failed,
            follow: None,
        })
    }
}

/// Whether a revocation of `scope` deletes permission `p`: never the owner's or an inherited one.
fn deletable(p: &Value, scope: Scope, domain: &str) -> bool {
    let owner = p["roles"].as_array().is_some_and(|r| r.iter().any(|x| x == "owner"));
    if owner || !p["inheritedFrom"].is_null() {
        return false;
    }
    match scope {
        Scope::All => true,
        Scope::External => {
            let anonymous = p["link"]["scope"] == "anonymous";
            let outside = p["grantedToV2"]["user"]["email"]
                .as_str()
                .is_some_and(|e| !e.to_ascii_lowercase().ends_with(&format!("@{domain}")));
            anonymous || outside
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_inherited_permissions_are_never_deleted_and_external_means_outside_the_domain() {
        let owner = json!({"roles": ["owner"], "grantedToV2": {"user": {"email": "a@contoso.com"}}});
        let inherited = json!({"roles": ["write"], "inheritedFrom": {"id": "x"}});
        let anon = json!({"roles": ["read"], "link": {"scope": "anonymous"}});
        let org = json!({"roles": ["read"], "link": {"scope": "organization"}});
        let colleague = json!({"roles": ["write"], "grantedToV2": {"user": {"email": "b@Contoso.com"}}});
        let guest = json!({"roles": ["read"], "grantedToV2": {"user": {"email": "p@fabrikam.example"}}});
        for p in [&owner, &inherited] {
            assert!(!deletable(p, Scope::All, "contoso.com"));
        }
        for p in [&anon, &org, &colleague, &guest] {
            assert!(deletable(p, Scope::All, "contoso.com"));
        }
        let external: Vec<bool> =
            [&anon, &org, &colleague, &guest].iter().map(|p| deletable(p, Scope::External, "contoso.com")).collect();
        assert_eq!(external, [true, false, false, true]);
    }
}
