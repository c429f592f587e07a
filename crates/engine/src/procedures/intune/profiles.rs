//! Configuration profiles that reach exactly one device, and their removal.
//!
//! Intune applies a profile to the members of the groups it is assigned to, so "block the camera
//! on this laptop" is four Graph calls: read the device (its platform and Entra device id), find
//! its Entra object (`GET /devices?$filter=deviceId eq '..'`), create the profile, create a
//! security group whose one member is that object, and assign the profile to the group
//! (`POST deviceConfigurations/{id}/assign`, which replaces the profile's assignments, so an
//! existing profile's assignments are read first and kept).
//!
//! What Riposte made is marked: a profile's description starts with [`CREATED`], a group's
//! description names the device and the profile. `RemoveConfigProfile` finds Riposte's groups
//! among the profile's assignments by that mark, takes them out of the assignments, deletes them,
//! and deletes a profile Riposte created once nothing else is assigned. A step that fails after
//! something was created undoes what was created, so a failure leaves nothing half-assigned.

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, optional, required};
use catalog::{Method, ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest};

const DEVICES: &str = "/v1.0/deviceManagement/managedDevices";
const PROFILES: &str = "/v1.0/deviceManagement/deviceConfigurations";
/// How a profile Riposte created begins its description.
const CREATED: &str = "Created by Riposte";

/// A profile setting for one platform: its Graph type and properties.
struct Template {
    odata_type: &'static str,
    settings: fn() -> Value,
}

/// The setting an action means on a platform; `None` where Intune has no such setting.
fn template(action: &str, os: &str) -> Option<Template> {
    let os = os.to_ascii_lowercase();
    let t = |odata_type, settings| Some(Template { odata_type, settings });
    match (action, os.as_str()) {
        ("BlockCamera", "windows") => {
            t("#microsoft.graph.windows10GeneralConfiguration", || json!({"cameraBlocked": true}))
        }
        ("BlockCamera", "ios") => {
            t("#microsoft.graph.iosGeneralDeviceConfiguration", || json!({"cameraBlocked": true}))
        }
        ("BlockCamera", "android") => {
            t("#microsoft.graph.androidGeneralDeviceConfiguration", || json!({"cameraBlocked": true}))
        }
        ("DisableUSBStorage", "windows") => {
            t("#microsoft.graph.windows10GeneralConfiguration", || json!({"storageBlockRemovableStorage": true}))
        }
        ("DisableUSBStorage", "android") => {
            t("#microsoft.graph.androidGeneralDeviceConfiguration", || json!({"storageBlockRemovableStorage": true}))
        }
        ("EnableFirewall", "windows") => t("#microsoft.graph.windows10EndpointProtectionConfiguration", || {
            let on = json!({"firewallEnabled": "allowed"});
            json!({"firewallProfileDomain": on, "firewallProfilePrivate": on, "firewallProfilePublic": on})
        }),
        ("EnableFirewall", "macos") => {
            t("#microsoft.graph.macOSEndpointProtectionConfiguration", || json!({"firewallEnabled": true}))
        }
        ("EnableBitLocker" | "EnableDeviceEncryption", "windows") => {
            t("#microsoft.graph.windows10EndpointProtectionConfiguration", || json!({"bitLockerEncryptDevice": true}))
        }
        ("EnableFileVault" | "EnableDeviceEncryption", "macos") => t(
            "#microsoft.graph.macOSEndpointProtectionConfiguration",
            || json!({"fileVaultEnabled": true, "fileVaultSelectedRecoveryKeyTypes": "personalRecoveryKey"}),
        ),
        _ => None,
    }
}

/// The device as the assignment steps need it.
pub(super) struct Device {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) os: String,
    /// Its Entra object id: what a group holds as member.
    object_id: String,
}

pub(super) async fn device(ctx: &Ctx<'_>, id: &str, request_ids: &mut Vec<String>) -> Result<Device, EngineError> {
    let upstream = ctx.engine.upstream();
    let read = ApiRequest::get(Api::Graph, format!("{DEVICES}/{id}"))
        .with_query("$select", "id,deviceName,operatingSystem,azureADDeviceId");
    let resp = upstream.call(ctx.creds, read).await?;
    request_ids.extend(resp.request_id);
    let d = resp.body;
    let aad = d["azureADDeviceId"].as_str().unwrap_or_default().to_string();
    let lookup = ApiRequest::get(Api::Graph, "/v1.0/devices").with_query("$filter", format!("deviceId eq '{aad}'"));
    let found = upstream.get_paged(ctx.creds, lookup, 10).await?;
    request_ids.extend(found.request_ids);
    let object_id = match found.items.as_slice() {
        [one] => one["id"].as_str().unwrap_or_default().to_string(),
        _ => {
            return Err(invalid(
                "deviceId",
                format!("the Intune device {id} has no single Entra device object (Entra device id '{aad}')"),
                "a profile reaches a device through a group, which holds the device's Entra object; register or join the device in Entra ID",
            ));
        }
    };
    Ok(Device {
        id: id.to_string(),
        name: d["deviceName"].as_str().unwrap_or_default().to_string(),
        os: d["operatingSystem"].as_str().unwrap_or_default().to_string(),
        object_id,
    })
}

/// A security group whose one member is the device, marked as Riposte's for what it targets
/// (`riposte-profile:<id>`, `riposte-app:<id>`).
pub(super) async fn create_group(
    ctx: &Ctx<'_>,
    device: &Device,
    mark: &str,
    request_ids: &mut Vec<String>,
) -> Result<String, EngineError> {
    let nickname = format!("riposte-{}", &ctx.operation.simple().to_string()[..16]);
    let body = json!({
        "displayName": format!("Riposte: {} ({mark})", device.name),
        "description": format!("Riposte assignment group riposte-device:{} {mark}", device.id),
        "mailEnabled": false,
        "mailNickname": nickname,
        "securityEnabled": true,
        "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", device.object_id)],
    });
    let resp = ctx.engine.upstream().call(ctx.creds, ApiRequest::post(Api::Graph, "/v1.0/groups", body)).await?;
    request_ids.extend(resp.request_id);
    id_of(&resp.body, "group")
}

/// The profile's current assignment targets.
async fn targets(ctx: &Ctx<'_>, profile_id: &str, request_ids: &mut Vec<String>) -> Result<Vec<Value>, EngineError> {
    let req = ApiRequest::get(Api::Graph, format!("{PROFILES}/{profile_id}/assignments"));
    let page = ctx.engine.upstream().get_paged(ctx.creds, req, 1000).await?;
    request_ids.extend(page.request_ids);
    Ok(page.items.into_iter().map(|a| a["target"].clone()).collect())
}

/// `assign`: the profile's assignments become exactly `targets`.
async fn assign(
    ctx: &Ctx<'_>,
    profile_id: &str,
    targets: Vec<Value>,
    request_ids: &mut Vec<String>,
) -> Result<Value, EngineError> {
    let assignments: Vec<Value> = targets.into_iter().map(|target| json!({ "target": target })).collect();
    let req =
        ApiRequest::post(Api::Graph, format!("{PROFILES}/{profile_id}/assign"), json!({ "assignments": assignments }));
    let resp = ctx.engine.upstream().call(ctx.creds, req).await?;
    request_ids.extend(resp.request_id);
    Ok(resp.body["value"].clone())
}

pub(super) fn group_target(group_id: &str) -> Value {
    json!({ "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group_id })
}

/// Best-effort clean-up of what a failed deployment created (its own failure is not the answer).
pub(super) async fn delete_quietly(ctx: &Ctx<'_>, path: String) {
    let req = ApiRequest::new(Api::Graph, Method::Delete, path);
    if let Err(e) = ctx.engine.upstream().call(ctx.creds, req).await {
        tracing::warn!(operation = %ctx.operation, error = %e, "could not undo a partial profile deployment");
    }
}

/// `BlockCamera`, `DisableUSBStorage`, `EnableFirewall`, `EnableBitLocker`, `EnableFileVault`,
/// `EnableDeviceEncryption`: the setting the action names, for the device's platform, in a new
/// profile assigned to the device alone.
pub struct DeploySetting {
    device: String,
}

impl TryFrom<&Params> for DeploySetting {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(DeploySetting { device: Args::of::<Self>(params).text("deviceId")? })
    }
}

impl Procedure for DeploySetting {
    const ID: ProcedureId = ProcedureId("intune.profiles.deploy_setting");
    const READS: &'static [Read] = &[required("deviceId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let action = ctx.spec.name;
        let mut request_ids = Vec::new();
        let device = device(ctx, &self.device, &mut request_ids).await?;
        let template = template(action, &device.os).ok_or_else(|| {
            invalid(
                "deviceId",
                format!(
                    "Intune has no {action} setting for {} devices ({} runs {})",
                    device.os, device.name, device.os
                ),
                "pick a device of a platform the action lists in its summary (GET /v1/catalog)",
            )
        })?;
        let settings = (template.settings)();
        let mut body = settings.clone();
        body["@odata.type"] = template.odata_type.into();
        // The operation in the name keeps names unique, so a later DeployConfigProfile by name finds it.
        let op = ctx.operation.simple().to_string();
        body["displayName"] = format!("Riposte {action}: {} ({})", device.name, &op[..8]).into();
        body["description"] = format!(
            "{CREATED} (operation {}) for device {}; remove with RemoveConfigProfile",
            ctx.operation, device.id
        )
        .into();
        let created = ctx.engine.upstream().call(ctx.creds, ApiRequest::post(Api::Graph, PROFILES, body)).await?;
        request_ids.extend(created.request_id);
        let profile_id = id_of(&created.body, "profile")?;
        let group_id =
            match create_group(ctx, &device, &format!("riposte-profile:{profile_id}"), &mut request_ids).await {
                Ok(g) => g,
                Err(e) => {
                    delete_quietly(ctx, format!("{PROFILES}/{profile_id}")).await;
                    return Err(e);
                }
            };
        if let Err(e) = assign(ctx, &profile_id, vec![group_target(&group_id)], &mut request_ids).await {
            delete_quietly(ctx, format!("{PROFILES}/{profile_id}")).await;
            delete_quietly(ctx, format!("/v1.0/groups/{group_id}")).await;
            return Err(e);
        }
        let data = json!({
            "deviceId": device.id,
            "deviceName": device.name,
            "platform": device.os,
            "profileId": profile_id,
            "profileType": template.odata_type,
            "settings": settings,
            "groupId": group_id,
            "undo": { "action": "RemoveConfigProfile", "params": { "profileId": profile_id } },
        });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

/// `DeployConfigProfile`: an existing profile (by id or display name) also reaches the device;
/// its other assignments are kept.
pub struct DeployExisting {
    device: String,
    /// A display name, or the profile's id.
    profile: String,
}

impl TryFrom<&Params> for DeployExisting {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(DeployExisting { device: args.text("deviceId")?, profile: args.text("profileName")? })
    }
}

impl Procedure for DeployExisting {
    const ID: ProcedureId = ProcedureId("intune.profiles.deploy_existing");
    const READS: &'static [Read] = &[required("deviceId"), required("profileName")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let mut request_ids = Vec::new();
        let profile_id = if catalog::params::is_guid(&self.profile) {
            self.profile.to_ascii_lowercase()
        } else {
            profile_by_name(ctx, &self.profile, &mut request_ids).await?
        };
        let mut kept = targets(ctx, &profile_id, &mut request_ids).await?;
        let device = device(ctx, &self.device, &mut request_ids).await?;
        let group_id = create_group(ctx, &device, &format!("riposte-profile:{profile_id}"), &mut request_ids).await?;
        kept.push(group_target(&group_id));
        let count = kept.len();
        if let Err(e) = assign(ctx, &profile_id, kept, &mut request_ids).await {
            delete_quietly(ctx, format!("/v1.0/groups/{group_id}")).await;
            return Err(e);
        }
        let data = json!({
            "deviceId": device.id,
            "deviceName": device.name,
            "profileId": profile_id,
            "groupId": group_id,
            "assignments": count,
        });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

/// The one profile of that display name, or a 400 naming `profileName`.
async fn profile_by_name(ctx: &Ctx<'_>, name: &str, request_ids: &mut Vec<String>) -> Result<String, EngineError> {
    let req = ApiRequest::get(Api::Graph, PROFILES)
        .with_query("$filter", format!("displayName eq '{}'", name.replace('\'', "''")));
    let page = ctx.engine.upstream().get_paged(ctx.creds, req, 50).await?;
    request_ids.extend(page.request_ids);
    match page.items.as_slice() {
        [one] => id_of(one, "profile"),
        [] => Err(invalid(
            "profileName",
            format!("no configuration profile is named '{name}'"),
            "send the profile's id (profileId)",
        )),
        many => Err(invalid(
            "profileName",
            format!("{} configuration profiles are named '{name}'", many.len()),
            "send the profile's id (profileId)",
        )),
    }
}

/// `RemoveConfigProfile`: Riposte's groups for the device (or for any device) leave the profile's
/// assignments and are deleted; a profile Riposte created is deleted once nothing is assigned.
pub struct Remove {
    profile_id: String,
    device: Option<String>,
}

impl TryFrom<&Params> for Remove {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(Remove { profile_id: args.text("profileId")?, device: args.opt_text("deviceId")? })
    }
}

impl Procedure for Remove {
    const ID: ProcedureId = ProcedureId("intune.profiles.remove");
    const READS: &'static [Read] = &[required("profileId"), optional("deviceId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let mut request_ids = Vec::new();
        let profile =
            upstream.call(ctx.creds, ApiRequest::get(Api::Graph, format!("{PROFILES}/{}", self.profile_id))).await?;
        request_ids.extend(profile.request_id);
        let mark = format!("riposte-profile:{}", self.profile_id);
        let device_mark = self.device.as_ref().map(|d| format!("riposte-device:{d}"));
        let (mut ours, mut kept) = (Vec::new(), Vec::new());
        for target in targets(ctx, &self.profile_id, &mut request_ids).await? {
            let group = match target["groupId"].as_str() {
                Some(g) => g.to_string(),
                None => {
                    kept.push(target);
                    continue;
                }
            };
            let read = upstream.call(ctx.creds, ApiRequest::get(Api::Graph, format!("/v1.0/groups/{group}"))).await;
            let description = match read {
                Ok(resp) => resp.body["description"].as_str().unwrap_or_default().to_string(),
                Err(upstream::UpstreamError::Api { status: 404, .. }) => String::new(),
                Err(e) => return Err(e.into()),
            };
            let is_ours = description.contains(&mark) && device_mark.as_ref().is_none_or(|m| description.contains(m));
            if is_ours { ours.push(group) } else { kept.push(target) }
        }
        if ours.is_empty() {
            return Err(invalid(
                if self.device.is_some() { "deviceId" } else { "profileId" },
                format!(
                    "Riposte assigned profile {} to no group{}",
                    self.profile_id,
                    match &self.device {
                        Some(d) => format!(" for device {d}"),
                        None => String::new(),
                    }
                ),
                "send the profileId a Riposte profile action answered (and its deviceId)",
            ));
        }
        let remaining = kept.len();
        assign(ctx, &self.profile_id, kept, &mut request_ids).await?;
        for group in &ours {
            let resp = upstream
                .call(ctx.creds, ApiRequest::new(Api::Graph, Method::Delete, format!("/v1.0/groups/{group}")))
                .await?;
            request_ids.extend(resp.request_id);
        }
        let created_by_us = profile.body["description"].as_str().is_some_and(|d| d.starts_with(CREATED));
        let delete_profile = created_by_us && remaining == 0;
        if delete_profile {
            let req = ApiRequest::new(Api::Graph, Method::Delete, format!("{PROFILES}/{}", self.profile_id));
            let resp = upstream.call(ctx.creds, req).await?;
            request_ids.extend(resp.request_id);
        }
        let data = json!({
            "profileId": self.profile_id,
            "removedGroups": ours,
            "remainingAssignments": remaining,
            "profileDeleted": delete_profile,
        });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

pub(super) fn id_of(body: &Value, what: &str) -> Result<String, EngineError> {
    body["id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| EngineError::Internal(format!("Graph answered a {what} without an id")))
}

pub(super) fn invalid(field: &str, message: String, hint: &str) -> EngineError {
    EngineError::InvalidParam(ParamError { field: field.to_string(), message, hint: hint.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_action_has_a_platform_and_refuses_the_others() {
        for action in [
            "BlockCamera",
            "DisableUSBStorage",
            "EnableFirewall",
            "EnableBitLocker",
            "EnableFileVault",
            "EnableDeviceEncryption",
        ] {
            let platforms: Vec<&str> = ["Windows", "macOS", "iOS", "Android"]
                .into_iter()
                .filter(|os| template(action, os).is_some())
                .collect();
            assert!(!platforms.is_empty(), "{action}");
        }
        assert!(template("EnableBitLocker", "macOS").is_none());
        assert!(template("EnableFileVault", "Windows").is_none());
        let fw = template("EnableFirewall", "Windows").unwrap();
        assert_eq!((fw.settings)()["firewallProfilePublic"]["firewallEnabled"], "allowed");
    }
}
