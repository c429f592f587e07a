//! Defender for Identity reads with no API of their own (`catalog/src/mdi/mod.rs`).
//!
//! MDI's lateral-movement-path graph and its "clear-text credentials" assessment live in the
//! portal only. What the raw material of both is, `IdentityLogonEvents`, advanced hunting
//! serves: these procedures run one fixed query each through Graph `runHuntingQuery` (under the
//! hunting budget) and answer its schema and rows, with the query, so a reader sees exactly
//! what was asked. `GetIdentitySecureScore` reads the newest Secure Score and keeps the controls
//! in the Identity category.

use super::super::{Args, Ctx, Procedure, Read, required};
use crate::EngineError;
use crate::plan::Carried;
use catalog::{Params, ProcedureId};
use serde_json::{Value, json};
use upstream::{Api, ApiRequest, Budget};

/// Accounts that signed in successfully over Kerberos from more than one device: the hops an
/// attacker with those credentials could take.
fn lateral_movement_query(days: i64) -> String {
    format!(
        "IdentityLogonEvents\n\
         | where Timestamp > ago({days}d)\n\
         | where ActionType == \"LogonSuccess\" and Protocol == \"Kerberos\" and isnotempty(DeviceName)\n\
         | summarize Devices = dcount(DeviceName), DeviceNames = make_set(DeviceName, 20), Logons = count(), LastSeen = max(Timestamp) by AccountUpn, AccountSid\n\
         | where Devices > 1\n\
         | order by Devices desc"
    )
}

/// Sign-ins whose protocol exposes the credential: LDAP simple binds (clear text) and NTLM.
fn exposed_credentials_query(days: i64) -> String {
    format!(
        "IdentityLogonEvents\n\
         | where Timestamp > ago({days}d)\n\
         | where Protocol in (\"LDAP\", \"NTLM\") or LogonType has \"cleartext\"\n\
         | summarize Logons = count(), Devices = make_set(DeviceName, 20), LastSeen = max(Timestamp) by AccountUpn, Protocol, LogonType\n\
         | order by Logons desc"
    )
}

async fn run(ctx: &Ctx<'_>, query: String, days: i64) -> Result<Carried, EngineError> {
    let body = json!({ "Query": query, "Timespan": format!("P{days}D") });
    let req = ApiRequest::post(Api::Graph, "/v1.0/security/runHuntingQuery", body).with_group(Budget::Hunting);
    let resp = ctx.engine.upstream().call(ctx.creds, req).await?;
    let results = resp.body["results"].as_array().cloned().unwrap_or_default();
    Ok(Carried {
        data: json!({
            "source": "advanced hunting (Graph runHuntingQuery over IdentityLogonEvents)",
            "query": query,
            "count": results.len(),
            "schema": resp.body["schema"],
            "results": results,
        }),
        request_ids: resp.request_id.into_iter().collect(),
        machine_action_ids: vec![],
        failed_targets: 0,
        follow: None,
    })
}

/// `GetLateralMovementPaths`.
pub struct LateralMovement {
    days: i64,
}

impl TryFrom<&Params> for LateralMovement {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(LateralMovement { days: Args::of::<Self>(params).i64("lookbackDays")? })
    }
}

impl Procedure for LateralMovement {
    const ID: ProcedureId = ProcedureId("mdi.hunting.lateral_movement");
    const READS: &'static [Read] = &[required("lookbackDays")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        run(ctx, lateral_movement_query(self.days), self.days).await
    }
}

/// `GetExposedCredentials`.
pub struct ExposedCredentials {
    days: i64,
}

impl TryFrom<&Params> for ExposedCredentials {
    type Error = EngineError;
    fn try_from(params: &Params) -> Result<Self, EngineError> {
        Ok(ExposedCredentials { days: Args::of::<Self>(params).i64("lookbackDays")? })
    }
}

impl Procedure for ExposedCredentials {
    const ID: ProcedureId = ProcedureId("mdi.hunting.exposed_credentials");
    const READS: &'static [Read] = &[required("lookbackDays")];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        run(ctx, exposed_credentials_query(self.days), self.days).await
    }
}

/// `GetIdentitySecureScore`: the newest `secureScore`, identity controls only.
pub struct IdentitySecureScore;

impl TryFrom<&Params> for IdentitySecureScore {
    type Error = EngineError;
    fn try_from(_: &Params) -> Result<Self, EngineError> {
        Ok(IdentitySecureScore)
    }
}

impl Procedure for IdentitySecureScore {
    const ID: ProcedureId = ProcedureId("mdi.secure_score.identity");
    const READS: &'static [Read] = &[];
    async fn apply(self, ctx: &Ctx<'_>) -> Result<Carried, EngineError> {
        let req = ApiRequest::get(Api::Graph, "/v1.0/security/secureScores").with_query("$top", "1");
        let resp = ctx.engine.upstream().call(ctx.creds, req).await?;
        let latest = resp.body["value"].get(0).cloned().unwrap_or(Value::Null);
        Ok(Carried {
            data: identity_part(&latest),
            request_ids: resp.request_id.into_iter().collect(),
            machine_action_ids: vec![],
            failed_targets: 0,
            follow: None,
        })
    }
}

/// The score's identity controls and their sum, beside the tenant totals they belong to.
fn identity_part(score: &Value) -> Value {
    let controls: Vec<Value> = score["controlScores"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["controlCategory"].as_str().is_some_and(|k| k.eq_ignore_ascii_case("Identity")))
        .cloned()
        .collect();
    let identity_score: f64 = controls.iter().filter_map(|c| c["score"].as_f64()).sum();
    json!({
        "id": score["id"],
        "createdDateTime": score["createdDateTime"],
        "currentScore": score["currentScore"],
        "maxScore": score["maxScore"],
        "identityScore": (identity_score * 100.0).round() / 100.0,
        "identityControls": controls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identity_controls_are_kept_and_summed() {
        let score = json!({"id": "t_2026-12-07", "currentScore": 40.0, "maxScore": 80.0, "controlScores": [
            {"controlCategory": "Identity", "controlName": "MFARegistrationV2", "score": 4.5},
            {"controlCategory": "Data", "controlName": "DLPEnabled", "score": 3.0},
            {"controlCategory": "identity", "controlName": "AdminMFAV2", "score": 2.25},
        ]});
        let part = identity_part(&score);
        assert_eq!(part["identityScore"], json!(6.75));
        assert_eq!(part["identityControls"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn queries_read_identity_logons_over_the_window() {
        for q in [lateral_movement_query(7), exposed_credentials_query(7)] {
            assert!(q.starts_with("IdentityLogonEvents") && q.contains("ago(7d)"), "{q}");
        }
    }
}
