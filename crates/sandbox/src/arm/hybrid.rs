//! Microsoft.HybridCompute (Azure Arc-enabled servers): machines and their run commands.
//!
//! A run command (`machines/{m}/runCommands/{name}`, a tracked child resource) is a long-running
//! PUT; the sandbox "runs" the script when the PUT is taken and reports it in
//! `properties.instanceView` (`executionState`, `exitCode`, `output`, times), as the agent
//! reports back. A disconnected machine cannot run commands: 409 `MachineNotConnected` (the
//! code is not in upstream-apis.md; the message follows the agent's wording).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::clock::fmt_utc;
use crate::errors;
use crate::world::arm::{ArmStore, Resource};

pub use crate::world::arm::ARC_RUN_COMMANDS;

/// Fills the run command's instance view, or refuses it when the machine is not connected.
pub fn run_command(
    store: &ArmStore,
    machine_id: &str,
    cmd: &mut Resource,
    now: time::OffsetDateTime,
) -> Result<(), Response> {
    let connected = store
        .get(machine_id)
        .and_then(|m| m.body.pointer("/properties/status"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("Connected"));
    if !connected {
        return Err(errors::arm(
            StatusCode::CONFLICT,
            "MachineNotConnected",
            "The machine is not connected to Azure; run commands need the Connected Machine agent online.",
        ));
    }
    let script = cmd.body.pointer("/properties/source/script").and_then(Value::as_str).unwrap_or("").to_string();
    if script.is_empty() && cmd.body.pointer("/properties/source/scriptUri").is_none() {
        return Err(errors::arm(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "The run command needs properties.source.script or properties.source.scriptUri.",
        ));
    }
    if let Some(p) = cmd.body.get_mut("properties").and_then(Value::as_object_mut) {
        p.insert(
            "instanceView".into(),
            json!({
                "executionState": "Succeeded", "executionMessage": "Execution completed", "exitCode": 0,
                "output": format!("ran {} characters of script", script.chars().count()), "error": "",
                "startTime": fmt_utc(now), "endTime": fmt_utc(now),
            }),
        );
    }
    Ok(())
}
