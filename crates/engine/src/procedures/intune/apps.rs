//! An app uninstalled from one device, and the app protection selective wipe of a device.
//!
//! `UninstallApp` reuses the profiles' one-device group: the app gets an `uninstall` assignment
//! for a group holding only the device, and keeps its other assignments (Graph's `assign`
//! replaces them all, so they are read first). `WipeAppData` is the selective wipe of the device's
//! user's protected apps on that device (beta `wipeManagedAppRegistrationsByAzureAdDeviceId`).

use super::profiles::{create_group, delete_quietly, device, group_target, invalid};
use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest};

const APPS: &str = "/v1.0/deviceAppManagement/mobileApps";

/// `UninstallApp`: the app is uninstalled from the device at its next check-in.
pub struct Uninstall {
    device: String,
    app: String,
}

impl TryFrom<&Params> for Uninstall {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Uninstall { device: args.text("deviceId")?, app: args.text("appId")? })
    }
}

impl Procedure for Uninstall {
    const ID: ProcedureId = ProcedureId("intune.apps.uninstall");
    const READS: &'static [Read] = &[required("deviceId"), required("appId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let mut request_ids = Vec::new();
        let app = upstream.call(ctx.creds, ApiRequest::get(Api::Graph, format!("{APPS}/{}", self.app))).await?;
        request_ids.extend(app.request_id);
        let existing = upstream
            .get_paged(ctx.creds, ApiRequest::get(Api::Graph, format!("{APPS}/{}/assignments", self.app)), 1000)
            .await?;
        request_ids.extend(existing.request_ids);
        let device = device(ctx, &self.device, &mut request_ids).await?;
        let group = create_group(ctx, &device, &format!("riposte-app:{}", self.app), &mut request_ids).await?;
        let mut assignments: Vec<Value> = existing
            .items
            .iter()
            .map(|a| {
                json!({ "@odata.type": "#microsoft.graph.mobileAppAssignment", "intent": a["intent"], "target": a["target"] })
            })
            .collect();
        assignments.push(json!({
            "@odata.type": "#microsoft.graph.mobileAppAssignment",
            "intent": "uninstall",
            "target": group_target(&group),
        }));
        let count = assignments.len();
        let assign = ApiRequest::post(
            Api::Graph,
            format!("{APPS}/{}/assign", self.app),
            json!({ "mobileAppAssignments": assignments }),
        );
        match upstream.call(ctx.creds, assign).await {
            Ok(resp) => request_ids.extend(resp.request_id),
            Err(e) => {
                delete_quietly(ctx, format!("/v1.0/groups/{group}")).await;
                return Err(e.into());
            }
        }
        let data = json!({
            "deviceId": device.id,
            "deviceName": device.name,
            "appId": self.app,
            "appName": app.body["displayName"],
            "intent": "uninstall",
            "groupId": group,
            "assignments": count,
            "note": "Intune uninstalls the app when the device next checks in; a Required assignment that also reaches the device wins over this uninstall",
        });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

/// `WipeAppData`: the selective wipe of every protected app of the device's user on the device.
pub struct WipeAppData {
    device: String,
    /// Refused when given: Intune cannot wipe one app.
    app: Option<String>,
}

impl TryFrom<&Params> for WipeAppData {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(WipeAppData { device: args.text("deviceId")?, app: args.opt_text("appId")? })
    }
}

impl Procedure for WipeAppData {
    const ID: ProcedureId = ProcedureId("intune.apps.wipe_app_data");
    const READS: &'static [Read] = &[required("deviceId"), optional("appId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        if let Some(app) = self.app {
            return Err(invalid(
                "appId",
                format!(
                    "Intune cannot wipe the data of one app ('{app}'): its selective wipe covers every app-protection-managed app of the user on the device"
                ),
                "leave appId out to wipe the corporate data of all the user's protected apps on the device, or use UninstallApp for one app",
            ));
        }
        let upstream = ctx.engine.upstream();
        let mut request_ids = Vec::new();
        let read = ApiRequest::get(Api::Graph, format!("/v1.0/deviceManagement/managedDevices/{}", self.device))
            .with_query("$select", "id,deviceName,userId,azureADDeviceId");
        let d = upstream.call(ctx.creds, read).await?;
        request_ids.extend(d.request_id);
        let user = d.body["userId"].as_str().unwrap_or_default().to_string();
        let aad = d.body["azureADDeviceId"].as_str().unwrap_or_default().to_string();
        if user.is_empty() || aad.is_empty() {
            return Err(invalid(
                "deviceId",
                format!(
                    "the Intune device {} has no primary user or Entra device id, so no app protection registration to wipe",
                    self.device
                ),
                "app protection registrations belong to a user on an Entra-registered device",
            ));
        }
        let wipe = ApiRequest::post(
            Api::Graph,
            format!("/beta/users/{user}/wipeManagedAppRegistrationsByAzureAdDeviceId"),
            json!({ "azureAdDeviceId": aad }),
        );
        let resp = upstream.call(ctx.creds, wipe).await?;
        request_ids.extend(resp.request_id);
        let data = json!({
            "deviceId": self.device,
            "deviceName": d.body["deviceName"],
            "userId": user,
            "azureADDeviceId": aad,
            "scope": "every app-protection-managed app of the user on this device",
        });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}
