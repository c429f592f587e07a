//! Defender for Cloud Apps end to end: the Cloud Apps portal API on its own host and token
//! audience (alerts closed, activities and files listed, the block script), and through Graph
//! OAuth apps and consents (grants revoked, apps banned, disabled and enabled, access removed,
//! sessions revoked), session-control policies, and files (unshared, quarantined, restored,
//! deleted, labelled), each effect asserted in the sandbox's state.

use crate::common::*;
use serde_json::{Value, json};

async fn mcas(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed("DefenderXDRMCASWorker", body).await
}

fn cloud_apps(state: &Value) -> &Value {
    &state["cloudApps"]
}

fn open_alert_ids(state: &Value) -> Vec<String> {
    cloud_apps(state)["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["resolutionStatusValue"] == 0)
        .map(|a| a["_id"].as_str().unwrap().to_string())
        .collect()
}

fn alert<'a>(state: &'a Value, id: &str) -> &'a Value {
    cloud_apps(state)["alerts"].as_array().unwrap().iter().find(|a| a["_id"] == id).expect("the alert exists")
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_apps_alerts_are_listed_read_and_closed_three_ways() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let open = open_alert_ids(&state);
    assert!(open.len() >= 4, "the world seeds open Cloud Apps alerts");

    let (status, body) =
        mcas(&h, &t, "GetCloudAppsAlerts", json!({ "filters": { "alertOpen": { "eq": true } }, "limit": 100 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"].as_u64().unwrap() as usize, open.len(), "{body}");
    let (status, body) = mcas(&h, &t, "GetCloudAppsAlert", json!({ "alertId": open[0] })).await;
    assert_eq!((status, body["data"]["_id"].as_str()), (200, Some(open[0].as_str())), "{body}");

    let (status, body) = mcas(
        &h,
        &t,
        "CloseCloudAppsAlertsBenign",
        json!({ "alertIds": [open[0]], "comment": "pen test", "reasonId": 6 }),
    )
    .await;
    assert_eq!((status, body["data"]["closed_benign"].as_u64()), (200, Some(1)), "{body}");
    let (status, body) = mcas(&h, &t, "DismissCloudAppsAlert", json!({ "alertIds": open[1], "reasonId": 3 })).await;
    assert_eq!((status, body["data"]["closed_false_positive"].as_u64()), (200, Some(1)), "{body}");
    let (status, body) =
        mcas(&h, &t, "ResolveCloudAppsAlert", json!({ "alertIds": [open[2]], "comment": "confirmed" })).await;
    assert_eq!((status, body["data"]["closed_true_positive"].as_u64()), (200, Some(1)), "{body}");

    let after = h.state(&t).await;
    assert_eq!(alert(&after, &open[0])["resolutionStatusValue"], 4, "benign");
    assert_eq!(alert(&after, &open[0])["closeComment"], "pen test");
    assert_eq!(alert(&after, &open[0])["closeReasonId"], 6);
    assert_eq!(alert(&after, &open[1])["resolutionStatusValue"], 3, "false positive");
    assert_eq!(alert(&after, &open[2])["resolutionStatusValue"], 5, "true positive");
    assert_eq!(alert(&after, &open[3])["resolutionStatusValue"], 0, "untouched");

    // A reason the form does not allow is Microsoft's 400, and nothing closes.
    let (status, body) =
        mcas(&h, &t, "CloseCloudAppsAlertsBenign", json!({ "alertIds": [open[3]], "reasonId": 0 })).await;
    assert!((400..500).contains(&status) || status == 502, "{status} {body}");
    assert_eq!(alert(&h.state(&t).await, &open[3])["resolutionStatusValue"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_apps_activities_files_and_block_script() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let user = cloud_apps(&state)["activities"][0]["user"]["userName"].as_str().unwrap().to_string();
    let theirs = cloud_apps(&state)["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["user"]["userName"] == user.as_str())
        .count();

    let (status, body) =
        mcas(&h, &t, "GetCloudAppsActivities", json!({ "filters": { "user.username": { "eq": user } } })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"].as_u64().unwrap() as usize, theirs, "{body}");
    assert!(body["data"]["data"].as_array().unwrap().iter().all(|a| a["user"]["userName"] == user.as_str()));

    let public =
        cloud_apps(&state)["files"].as_array().unwrap().iter().filter(|f| f["sharing"].as_u64() >= Some(3)).count();
    let (status, body) = mcas(&h, &t, "GetCloudAppsFiles", json!({ "filters": { "sharing": { "gte": 3 } } })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"].as_u64().unwrap() as usize, public, "{body}");

    let (status, body) = mcas(&h, &t, "GetBlockScript", json!({ "format": "102" })).await;
    assert_eq!(status, 200, "{body}");
    let script = body["data"].as_str().expect("the script is text");
    let banned: Vec<&Value> = cloud_apps(&state)["discoveredApps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["tag"] == "unsanctioned")
        .collect();
    for app in &banned {
        for d in app["domains"].as_array().unwrap() {
            assert!(script.contains(&format!("url.domain={} deny", d.as_str().unwrap())), "{script}");
        }
    }
    let (status, body) = mcas(&h, &t, "GetBlockScript", json!({ "format": "999" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("format")), "{body}");
}

fn grants(state: &Value) -> Vec<Value> {
    cloud_apps(state)["oauth2PermissionGrants"].as_array().cloned().unwrap_or_default()
}

fn assignments(state: &Value) -> Vec<Value> {
    cloud_apps(state)["appRoleAssignments"].as_array().cloned().unwrap_or_default()
}

fn service_principal<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["directory"]["servicePrincipals"].as_array().unwrap().iter().find(|s| s["id"] == id).expect("the app exists")
}

/// The service principal ids of the apps users consented to, most-consented first.
fn consented_apps(state: &Value) -> Vec<String> {
    let mut apps: Vec<String> = Vec::new();
    for g in grants(state) {
        let c = g["clientId"].as_str().unwrap().to_string();
        if !apps.contains(&c) {
            apps.push(c);
        }
    }
    apps
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_consents_are_listed_and_revoked_through_graph() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let all = grants(&state);
    assert!(all.len() >= 6, "the world seeds consents");

    let (status, body) = mcas(&h, &t, "GetOAuthApps", json!({})).await;
    assert_eq!((status, body["data"]["count"].as_u64()), (200, Some(all.len() as u64)), "{body}");

    let g = all.iter().find(|g| g["consentType"] == "Principal").unwrap();
    let (user, client) = (g["principalId"].as_str().unwrap(), g["clientId"].as_str().unwrap());
    let mine = all.iter().filter(|x| x["principalId"] == user).count();
    let (status, body) = mcas(&h, &t, "GetUserAppConsents", json!({ "userId": user })).await;
    assert_eq!((status, body["data"]["count"].as_u64()), (200, Some(mine as u64)), "{body}");

    // The seed's spelling, one app: only that grant goes.
    let (status, body) = mcas(&h, &t, "RevokeOAuthPermissions", json!({ "userId": user, "clientId": client })).await;
    assert_eq!((status, body["data"]["deleted"].as_u64()), (200, Some(1)), "{body}");
    let after = grants(&h.state(&t).await);
    assert!(!after.iter().any(|x| x["principalId"] == user && x["clientId"] == client), "grant revoked");
    assert_eq!(after.len(), all.len() - 1, "nothing else revoked");
    // Nothing left for that app: an answer that says so, not an error.
    let (status, body) = mcas(&h, &t, "RevokeUserConsent", json!({ "userId": user, "clientId": client })).await;
    assert_eq!((status, body["data"]["deleted"].as_u64()), (200, Some(0)), "{body}");
    assert!(body["data"]["note"].is_string(), "{body}");

    // A user who is not a GUID is refused before any call.
    let (status, body) = mcas(&h, &t, "RevokeUserConsent", json!({ "userId": "alice@contoso.com" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("userId")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn risky_apps_are_banned_disabled_enabled_and_cut_off() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let apps = consented_apps(&state);
    assert!(apps.len() >= 3, "{apps:?}");
    let (ban, remove, block) = (apps[0].clone(), apps[1].clone(), apps[2].clone());

    // Ban (the seed's BanCloudApp): the app is disabled and every grant to it deleted.
    let n = grants(&state).iter().filter(|g| g["clientId"] == ban.as_str()).count();
    let (status, body) = mcas(&h, &t, "BanCloudApp", json!({ "appId": ban })).await;
    assert_eq!((status, body["data"]["deleted"].as_u64()), (200, Some(n as u64)), "{body}");
    let after = h.state(&t).await;
    assert_eq!(service_principal(&after, &ban)["accountEnabled"], false, "disabled");
    assert!(!grants(&after).iter().any(|g| g["clientId"] == ban.as_str()), "grants deleted");

    // Enable (the seed's SanctionCloudApp) undoes the disable; Disable (BlockUnsanctionedApp) again.
    let (status, body) = mcas(&h, &t, "SanctionCloudApp", json!({ "appId": ban })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(service_principal(&h.state(&t).await, &ban)["accountEnabled"], true);
    let (status, body) = mcas(&h, &t, "BlockUnsanctionedApp", json!({ "servicePrincipalId": ban })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(service_principal(&h.state(&t).await, &ban)["accountEnabled"], false);
    let (status, body) = mcas(&h, &t, "EnableApp", json!({ "servicePrincipalId": ban })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = mcas(&h, &t, "DisableApp", json!({ "servicePrincipalId": ban })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(service_principal(&h.state(&t).await, &ban)["accountEnabled"], false);

    // Remove access: every assignment and grant of the app goes; the app stays enabled.
    let (status, body) = mcas(&h, &t, "RemoveAppAccess", json!({ "servicePrincipalId": remove })).await;
    assert_eq!(status, 200, "{body}");
    let after = h.state(&t).await;
    assert!(!assignments(&after).iter().any(|a| a["resourceId"] == remove.as_str()), "assignments removed");
    assert!(!grants(&after).iter().any(|g| g["clientId"] == remove.as_str()), "grants removed");
    assert_eq!(service_principal(&after, &remove)["accountEnabled"], true);

    // Block one user from an app: that user's assignment and grant go, the others stay.
    let victim = assignments(&after).iter().find(|a| a["resourceId"] == block.as_str()).unwrap()["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let others = assignments(&after).iter().filter(|a| a["resourceId"] == block.as_str()).count() - 1;
    let (status, body) =
        mcas(&h, &t, "BlockUserFromApp", json!({ "userId": victim, "servicePrincipalId": block })).await;
    assert_eq!((status, body["data"]["deleted"].as_u64()), (200, Some(2)), "{body}");
    let after = h.state(&t).await;
    assert!(
        !assignments(&after).iter().any(|a| a["resourceId"] == block.as_str() && a["principalId"] == victim.as_str())
    );
    assert!(!grants(&after).iter().any(|g| g["clientId"] == block.as_str() && g["principalId"] == victim.as_str()));
    assert_eq!(assignments(&after).iter().filter(|a| a["resourceId"] == block.as_str()).count(), others);

    // An app that does not exist: Graph's 404, carried as an upstream rejection.
    let (status, body) =
        mcas(&h, &t, "BanRiskyApp", json!({ "servicePrincipalId": "00000000-0000-0000-0000-00000000beef" })).await;
    assert!(status == 404 || status == 502, "{status} {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn terminating_a_session_revokes_the_users_sign_in_sessions() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let users = state["users"].as_array().unwrap();
    for (i, name) in ["TerminateActiveSession", "RequireReAuthentication", "ForceReAuthentication"].iter().enumerate() {
        let upn = users[i]["userPrincipalName"].as_str().unwrap();
        let before = users[i]["signInSessionsValidFromDateTime"].clone();
        let (status, body) = mcas(&h, &t, name, json!({ "userId": upn })).await;
        assert_eq!(status, 200, "{name}: {body}");
        let after = h.state(&t).await;
        let u = after["users"].as_array().unwrap().iter().find(|u| u["userPrincipalName"] == upn).unwrap();
        assert!(!u["sessionsRevokedAt"].is_null() || u["signInSessionsValidFromDateTime"] != before, "{name}: {u}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn portal_only_names_answer_501_with_the_nearest_action() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    for (name, nearest) in [
        ("ApplyDLPPolicy", "GetCloudAppsFiles"),
        ("EnableAppGovernance", "BanRiskyApp"),
        ("BlockAppCategory", "GetBlockScript"),
    ] {
        let (status, body) = mcas(&h, &t, name, json!({})).await;
        assert_eq!((status, body["error"]["nearest"].as_str()), (501, Some(nearest)), "{name}: {body}");
    }
}

fn ca_policy<'a>(state: &'a Value, name: &str) -> Option<&'a Value> {
    state["directory"]["conditionalAccessPolicies"].as_array().unwrap().iter().find(|p| p["displayName"] == name)
}

/// Session controls are Conditional Access policies with a Cloud Apps session control:
/// report-only unless enforced, and removed by RemoveSessionPolicy.
#[tokio::test(flavor = "multi_thread")]
async fn session_controls_are_conditional_access_policies_that_can_be_removed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let user = state["users"][0]["id"].as_str().unwrap().to_string();

    let (status, body) = mcas(
        &h,
        &t,
        "CreateSessionPolicy",
        json!({ "policyName": "riposte monitor", "controlType": "blockDownloads", "users": [user] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["id"].as_str().expect("the policy id").to_string();
    let after = h.state(&t).await;
    let p = ca_policy(&after, "riposte monitor").expect("created");
    assert_eq!(p["state"], "enabledForReportingButNotEnforced", "{p}");
    assert_eq!(
        p["sessionControls"]["cloudAppSecurity"],
        json!({ "isEnabled": true, "cloudAppSecurityType": "blockDownloads" }),
        "{p}"
    );
    assert_eq!(p["conditions"]["users"]["includeUsers"], json!([user]), "{p}");
    assert_eq!(p["conditions"]["clientAppTypes"], json!(["browser"]), "{p}");

    let (status, body) =
        mcas(&h, &t, "EnableMonitorOnly", json!({ "policyName": "riposte watch", "enforce": true, "users": [user] }))
            .await;
    assert_eq!(status, 200, "{body}");
    let after = h.state(&t).await;
    let p = ca_policy(&after, "riposte watch").expect("created");
    assert_eq!(
        (p["state"].as_str(), p["sessionControls"]["cloudAppSecurity"]["cloudAppSecurityType"].as_str()),
        (Some("enabled"), Some("monitorOnly")),
        "{p}"
    );

    let (status, body) = mcas(&h, &t, "BlockDownloadSession", json!({ "sessionId": "s-1", "userId": user })).await;
    assert_eq!(status, 200, "{body}");
    let after = h.state(&t).await;
    let p = ca_policy(&after, "Riposte: block downloads").expect("created");
    assert_eq!(p["conditions"]["users"]["includeUsers"], json!([user]), "{p}");

    let (status, body) = mcas(&h, &t, "RemoveSessionPolicy", json!({ "policyId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert!(ca_policy(&h.state(&t).await, "riposte monitor").is_none(), "removed");
}

fn drive_items(state: &Value) -> Vec<Value> {
    cloud_apps(state)["driveItems"].as_array().cloned().unwrap_or_default()
}

/// The files Cloud Apps lists, changed through Graph drives: sharing revoked or cut back to the
/// organization, quarantined and restored, deleted.
#[tokio::test(flavor = "multi_thread")]
async fn files_are_unshared_quarantined_restored_and_deleted_through_graph() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let files: Vec<Value> = drive_items(&state).into_iter().filter(|i| i["file"].is_object()).collect();
    assert!(files.len() >= 4, "the world seeds shared files");
    let item = |state: &Value, id: &str| drive_items(state).into_iter().find(|i| i["id"] == id).expect("the item");
    let at = |f: &Value| {
        (f["parentReference"]["driveId"].as_str().unwrap().to_string(), f["id"].as_str().unwrap().to_string())
    };

    // BlockFileDownload (the seed's name): only the owner's and inherited permissions stay.
    let (d, f) = at(&files[0]);
    let (status, body) = mcas(&h, &t, "BlockFileDownload", json!({ "driveId": d, "fileId": f })).await;
    assert_eq!((status, body["data"]["permissionsDeleted"].as_u64()), (200, Some(4)), "{body}");
    let left = item(&h.state(&t).await, &f)["permissions"].as_array().cloned().unwrap();
    assert!(left.iter().all(|p| !p["inheritedFrom"].is_null() || p["roles"] == json!(["owner"])), "{left:?}");

    // External sharing: the anonymous link and the guest go, the organization link and colleague stay.
    let (d, f) = at(&files[1]);
    let (status, body) = mcas(&h, &t, "RemoveExternalSharing", json!({ "driveId": d, "fileId": f })).await;
    assert_eq!((status, body["data"]["permissionsDeleted"].as_u64()), (200, Some(2)), "{body}");
    let left = item(&h.state(&t).await, &f)["permissions"].as_array().cloned().unwrap();
    assert!(!left.iter().any(|p| p["link"]["scope"] == "anonymous"), "{left:?}");
    assert!(!left.iter().any(|p| p["grantedToV2"]["user"]["email"] == "partner@fabrikam.example"), "{left:?}");
    assert!(left.iter().any(|p| p["link"]["scope"] == "organization"), "{left:?}");

    // Quarantine: unshared and moved into Quarantine at the root; restore moves it back.
    let (d, f) = at(&files[2]);
    let (status, body) = mcas(&h, &t, "QuarantineCloudFile", json!({ "driveId": d, "fileId": f })).await;
    assert_eq!(status, 200, "{body}");
    let folder = body["data"]["quarantineFolderId"].as_str().unwrap().to_string();
    let original = body["data"]["originalParentId"].as_str().unwrap().to_string();
    let after = h.state(&t).await;
    assert_eq!(item(&after, &folder)["name"], "Quarantine");
    assert_eq!(item(&after, &f)["parentReference"]["id"], folder.as_str());
    assert_eq!(item(&after, &f)["permissions"].as_array().unwrap().len(), 1, "only the owner's inherited access");
    let (status, body) =
        mcas(&h, &t, "RestoreFromQuarantine", json!({ "driveId": d, "fileId": f, "targetFolderId": original })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(item(&h.state(&t).await, &f)["parentReference"]["id"], original.as_str());

    // RevokeFileSharing by its own name, then delete.
    let (d, f) = at(&files[3]);
    let (status, body) = mcas(&h, &t, "RevokeFileSharing", json!({ "driveId": d, "fileId": f })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        mcas(&h, &t, "DeleteSensitiveFile", json!({ "driveId": d, "fileId": f, "reason": "payroll data" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(item(&h.state(&t).await, &f)["deleted"], true);
    // Gone now: Graph's 404.
    let (status, body) = mcas(&h, &t, "DeleteSensitiveFile", json!({ "driveId": d, "fileId": f })).await;
    assert!(status == 404 || status == 502, "{status} {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sensitivity_label_is_assigned_to_a_file() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let file = drive_items(&state).into_iter().find(|i| i["file"].is_object()).unwrap();
    let (d, f) = (file["parentReference"]["driveId"].as_str().unwrap(), file["id"].as_str().unwrap());
    let label = "4e4234dd-377b-42a3-935b-0e42f138fa23";
    let (status, body) = mcas(
        &h,
        &t,
        "ApplySensitivityLabel",
        json!({ "driveId": d, "fileId": f, "labelId": label, "justification": "contains payroll data" }),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("Succeeded")), "{body}");
    let after = drive_items(&h.state(&t).await).into_iter().find(|i| i["id"] == f).unwrap();
    assert_eq!(after["sensitivityLabel"], json!({ "id": label, "assignmentMethod": "privileged" }), "{after}");
    let (status, body) =
        mcas(&h, &t, "ApplySensitivityLabel", json!({ "driveId": d, "fileId": f, "labelId": "not-a-guid" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("labelId")), "{body}");
}
