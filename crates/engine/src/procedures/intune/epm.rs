//! Endpoint Privilege Management: revoking an approved elevation request, and denying the pending
//! requests to run an application elevated on a device (beta `deviceManagement/elevationRequests`).

use super::profiles::invalid;
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest};

const REQUESTS: &str = "/beta/deviceManagement/elevationRequests";

/// `RevokeElevation`: an approved request is revoked; with a device, only that device's request.
pub struct Revoke {
    request: String,
    device: Option<String>,
    justification: String,
}

impl TryFrom<&Params> for Revoke {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Revoke {
            request: args.text("elevationId")?,
            device: args.opt_text("deviceId")?,
            justification: args.text("justification")?,
        })
    }
}

impl Procedure for Revoke {
    const ID: ProcedureId = ProcedureId("intune.epm.revoke");
    const READS: &'static [Read] = &[required("elevationId"), optional("deviceId"), required("justification")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let mut request_ids = Vec::new();
        let read =
            upstream.call(ctx.creds, ApiRequest::get(Api::Graph, format!("{REQUESTS}/{}", self.request))).await?;
        request_ids.extend(read.request_id);
        let on = read.body["requestedOnDeviceId"].as_str().unwrap_or_default();
        if let Some(device) = self.device.as_deref().filter(|d| !d.eq_ignore_ascii_case(on)) {
            return Err(invalid(
                "deviceId",
                format!("elevation request {} was made on device {on}, not {device}", self.request),
                "send the device the request came from, or leave deviceId out",
            ));
        }
        let body = json!({ "reviewerJustification": self.justification });
        let revoke = ApiRequest::post(Api::Graph, format!("{REQUESTS}/{}/revoke", self.request), body);
        let resp = upstream.call(ctx.creds, revoke).await?;
        request_ids.extend(resp.request_id);
        let data = resp.body.get("value").cloned().unwrap_or(resp.body);
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

/// `BlockElevationRequest`: every pending request on the device for the application is denied.
pub struct DenyPending {
    device: String,
    path: String,
    hash: Option<String>,
    justification: String,
}

impl TryFrom<&Params> for DenyPending {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(DenyPending {
            device: args.text("deviceId")?,
            path: args.text("applicationPath")?,
            hash: args.opt_text("fileHash")?,
            justification: args.text("justification")?,
        })
    }
}

impl DenyPending {
    /// The full path when one was given, else the file name.
    fn matches(&self, request: &Value) -> bool {
        let app = &request["applicationDetail"];
        let path = app["filePath"].as_str().unwrap_or_default();
        let same_file = if self.path.contains('\\') || self.path.contains('/') {
            path.eq_ignore_ascii_case(&self.path)
        } else {
            path.rsplit(['\\', '/']).next().is_some_and(|name| name.eq_ignore_ascii_case(&self.path))
        };
        let same_hash =
            self.hash.as_deref().is_none_or(|h| app["fileHash"].as_str().is_some_and(|f| f.eq_ignore_ascii_case(h)));
        same_file
            && same_hash
            && request["requestedOnDeviceId"].as_str().is_some_and(|d| d.eq_ignore_ascii_case(&self.device))
    }
}

impl Procedure for DenyPending {
    const ID: ProcedureId = ProcedureId("intune.epm.deny_pending");
    const READS: &'static [Read] =
        &[required("deviceId"), required("applicationPath"), optional("fileHash"), required("justification")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let list = ApiRequest::get(Api::Graph, REQUESTS).with_query("$filter", "status eq 'pending'");
        let page = upstream.get_paged(ctx.creds, list, 5000).await?;
        let mut request_ids = page.request_ids;
        let on_device: Vec<&Value> = page
            .items
            .iter()
            .filter(|r| r["requestedOnDeviceId"].as_str().is_some_and(|d| d.eq_ignore_ascii_case(&self.device)))
            .collect();
        let targets: Vec<&Value> = on_device.iter().copied().filter(|r| self.matches(r)).collect();
        if targets.is_empty() {
            let pending: Vec<&str> =
                on_device.iter().filter_map(|r| r["applicationDetail"]["filePath"].as_str()).collect();
            return Err(invalid(
                "applicationPath",
                format!("no pending elevation request on device {} is for '{}'", self.device, self.path),
                &if pending.is_empty() {
                    "the device has no pending elevation request".to_string()
                } else {
                    format!("pending on this device: {}", pending.join(", "))
                },
            ));
        }
        let mut denied = Vec::new();
        for r in targets {
            let id = r["id"].as_str().unwrap_or_default();
            let body = json!({ "reviewerJustification": self.justification });
            let resp =
                upstream.call(ctx.creds, ApiRequest::post(Api::Graph, format!("{REQUESTS}/{id}/deny"), body)).await?;
            request_ids.extend(resp.request_id);
            denied.push(resp.body.get("value").cloned().unwrap_or(resp.body));
        }
        let data = json!({ "deviceId": self.device, "count": denied.len(), "denied": denied });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}
