//! Keys and passcodes whose answer is a secret: a reset passcode, BitLocker recovery keys.
//!
//! Both answers carry fields the catalog declares `sensitive_results` (`/passcode`,
//! `/value/*/key`): the engine redacts them before the result is stored, audited or logged, and
//! only a caller who sent `Prefer: reveal-secrets` sees them, once.

use std::time::Duration;

use crate::EngineError;
use crate::plan::Carried;
use crate::procedures::{Args, Ctx, Procedure, Read, required};
use catalog::{Method, ParamError, Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, ApiResponse};

const DEVICES: &str = "/v1.0/deviceManagement/managedDevices";
const RECOVERY_KEYS: &str = "/v1.0/informationProtection/bitlocker/recoveryKeys";
/// How long ResetDevicePasscode waits for the device to report the new passcode; a device that
/// checks in later shows it in the Intune portal.
const PASSCODE_POLLS: u32 = 15;
const PASSCODE_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `ResetDevicePasscode`: queue `resetPasscode`, then read the device's action result (beta
/// carries the passcode Android device-admin devices report; iOS removes the passcode instead).
pub struct ResetPasscode {
    device: String,
}

impl TryFrom<&Params> for ResetPasscode {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(ResetPasscode { device: Args::of::<Self>(params).text("deviceId")? })
    }
}

impl Procedure for ResetPasscode {
    const ID: ProcedureId = ProcedureId("intune.keys.reset_passcode");
    const READS: &'static [Read] = &[required("deviceId")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let mut request_ids = Vec::new();
        let post = ApiRequest::new(Api::Graph, Method::Post, format!("{DEVICES}/{}/resetPasscode", self.device));
        note(&mut request_ids, &upstream.call(ctx.creds, post).await?);
        let path = format!("/beta/deviceManagement/managedDevices/{}", self.device);
        let mut result = Value::Null;
        for attempt in 0..PASSCODE_POLLS {
            if attempt > 0 {
                tokio::time::sleep(PASSCODE_POLL_INTERVAL).await;
            }
            let read = ApiRequest::get(Api::Graph, path.clone()).with_query("$select", "id,deviceActionResults");
            let resp = upstream.call(ctx.creds, read).await?;
            note(&mut request_ids, &resp);
            result = action_result(&resp.body, "resetPasscode").unwrap_or(Value::Null);
            if matches!(result["actionState"].as_str(), Some("done" | "failed" | "notSupported")) {
                break;
            }
        }
        let state = result["actionState"].as_str().unwrap_or("pending").to_string();
        let mut data = json!({
            "deviceId": self.device,
            "actionName": "resetPasscode",
            "actionState": state,
            "startDateTime": result["startDateTime"],
            "lastUpdatedDateTime": result["lastUpdatedDateTime"],
        });
        match result["passcode"].as_str() {
            Some(p) if !p.is_empty() => data["passcode"] = p.into(),
            _ if state == "done" => {
                data["note"] = "the device removed its passcode (iOS/iPadOS): no new one to show".into()
            }
            _ => data["note"] = "the device has not reported yet; it acts when it next checks in".into(),
        }
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

/// The device's latest `deviceActionResults` entry for `action`.
fn action_result(device: &Value, action: &str) -> Option<Value> {
    device["deviceActionResults"]
        .as_array()?
        .iter()
        .filter(|r| r["actionName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(action)))
        .max_by(|a, b| a["startDateTime"].as_str().cmp(&b["startDateTime"].as_str()))
        .cloned()
}

/// `GetBitLockerRecoveryKey`: the Entra device id of the device, its recovery keys' ids, and
/// with `revealKey` each key (`$select=key`, which Entra audits under KeyManagement).
pub struct BitLockerRecoveryKeys {
    device: String,
    reveal: bool,
}

impl TryFrom<&Params> for BitLockerRecoveryKeys {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        let args = Args::of::<Self>(params);
        Ok(BitLockerRecoveryKeys { device: args.text("deviceId")?, reveal: args.bool("revealKey")? })
    }
}

impl Procedure for BitLockerRecoveryKeys {
    const ID: ProcedureId = ProcedureId("intune.keys.bitlocker_recovery_keys");
    const READS: &'static [Read] = &[required("deviceId"), required("revealKey")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let upstream = ctx.engine.upstream();
        let mut request_ids = Vec::new();
        let read = ApiRequest::get(Api::Graph, format!("{DEVICES}/{}", self.device))
            .with_query("$select", "id,deviceName,azureADDeviceId");
        let device = upstream.call(ctx.creds, read).await?;
        note(&mut request_ids, &device);
        let Some(aad) = device.body["azureADDeviceId"].as_str().filter(|s| !s.is_empty()).map(String::from) else {
            return Err(EngineError::InvalidParam(ParamError {
                field: "deviceId".into(),
                message: format!(
                    "the Intune device {} has no Entra device id, so it has no recovery keys in Entra ID",
                    self.device
                ),
                hint: "BitLocker keys are escrowed to Entra ID for Entra-joined or registered Windows devices".into(),
            }));
        };
        let list = ApiRequest::get(Api::Graph, RECOVERY_KEYS).with_query("$filter", format!("deviceId eq '{aad}'"));
        let page = upstream.get_paged(ctx.creds, list, 100).await?;
        request_ids.extend(page.request_ids);
        let mut keys = page.items;
        if self.reveal {
            for key in &mut keys {
                let id = key["id"].as_str().unwrap_or_default().to_string();
                let read = ApiRequest::get(Api::Graph, format!("{RECOVERY_KEYS}/{id}")).with_query("$select", "key");
                let resp = upstream.call(ctx.creds, read).await?;
                note(&mut request_ids, &resp);
                key["key"] = resp.body["key"].clone();
            }
        }
        let data = json!({
            "deviceId": self.device,
            "deviceName": device.body["deviceName"],
            "azureADDeviceId": aad,
            "keysRevealed": self.reveal,
            "count": keys.len(),
            "value": keys,
        });
        Ok(Carried { data, request_ids, machine_action_ids: vec![], failed_targets: 0, follow: None })
    }
}

fn note(request_ids: &mut Vec<String>, resp: &ApiResponse) {
    request_ids.extend(resp.request_id.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_result_of_the_action_is_read() {
        let device = json!({ "deviceActionResults": [
            { "actionName": "remoteLock", "actionState": "done", "startDateTime": "2026-01-01T00:00:09Z" },
            { "actionName": "resetPasscode", "actionState": "done", "startDateTime": "2026-01-01T00:00:01Z" },
            { "actionName": "resetPasscode", "actionState": "pending", "startDateTime": "2026-01-01T00:00:05Z" },
        ]});
        assert_eq!(action_result(&device, "resetPasscode").unwrap()["actionState"], "pending");
        assert!(action_result(&device, "wipe").is_none());
    }
}
