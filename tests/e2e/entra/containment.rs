//! A compromised account contained in one call, step by step, and restored.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn contain_disables_revokes_strips_mfa_issues_a_tap_and_isolates_then_restore_undoes_it() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    // User 0 is logged on to machine 0, which is online (the sandbox's logon model).
    let u = nth_user(&state, 0);
    let uid = id(&u);
    let machine0 = state["machines"][0]["id"].as_str().unwrap().to_string();
    let before = user(&state, u["userPrincipalName"].as_str().unwrap())["signInSessionsValidFromDateTime"].clone();

    let (status, body) = native(
        &h,
        &t,
        "ContainCompromisedAccount",
        json!({ "userId": u["userPrincipalName"], "issueTap": true, "isolateDevices": true }),
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = if body["result"].is_object() { &body["result"] } else { &body["data"] };
    assert_eq!(data["failedSteps"], 0, "{body}");
    let steps: Vec<&str> = data["steps"].as_array().unwrap().iter().filter_map(|s| s["step"].as_str()).collect();
    for step in [
        "disableUser",
        "verifyDisabled",
        "revokeSessions",
        "verifySessionsRevoked",
        "deleteAuthenticationMethod",
        "issueTemporaryAccessPass",
        "isolateDevice",
    ] {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }
    let pass = data["temporaryAccessPass"].as_str().unwrap().to_string();
    assert_ne!(pass, "[redacted]");
    assert!(data["isolatedDevices"].as_array().unwrap().contains(&json!(machine0)), "{body}");
    assert!(!records(&h, &t, "ContainCompromisedAccount", &body).await.contains(&pass), "the pass is in no record");

    let s = h.state(&t).await;
    let after = user(&s, u["userPrincipalName"].as_str().unwrap());
    assert_eq!(after["accountEnabled"], false);
    assert_ne!(after["signInSessionsValidFromDateTime"], before, "sessions revoked");
    let methods: Vec<Value> =
        directory(&s, "authenticationMethods").into_iter().filter(|m| m["userId"] == uid.as_str()).collect();
    assert!(methods.iter().all(|m| m["set"] == "temporaryAccessPassMethods") && methods.len() == 1, "{methods:?}");
    assert!(
        s["machineActions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["machineId"] == machine0.as_str() && a["type"] == "Isolate")
    );

    // The inverse: the user back, the isolation released (once MDE has carried it out).
    h.sandbox_admin("clock", json!({ "advance_seconds": 600 })).await;
    let isolated = |s: &Value| s["machines"][0]["isolationType"].is_string();
    assert!(isolated(&h.state(&t).await), "machine 0 isolated");
    let (status, body) =
        h.entra(&t, "RestoreCompromisedAccount", json!({ "userId": uid, "deviceIds": [machine0] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["failedSteps"], 0, "{body}");
    let s = h.state(&t).await;
    assert_eq!(user(&s, u["userPrincipalName"].as_str().unwrap())["accountEnabled"], true);
    assert!(
        s["machineActions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["machineId"] == machine0.as_str() && a["type"] == "Unisolate")
    );
    h.sandbox_admin("clock", json!({ "advance_seconds": 600 })).await;
    assert!(!isolated(&h.state(&t).await), "machine 0 released");
}

/// A step Graph refuses is reported as such; the others still run, and the operation is
/// PartiallySucceeded, never a success that hides it.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_step_makes_containment_partially_succeeded_with_the_steps_listed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let u = nth_user(&h.state(&t).await, 1);
    let uid = id(&u);
    h.sandbox_admin(
        "faults",
        json!({ "path_prefix": format!("/v1.0/users/{uid}/revokeSignInSessions"), "method": "POST", "status": 400 }),
    )
    .await;

    let (status, body) = h.entra(&t, "ContainCompromisedAccount", json!({ "userId": uid })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "PartiallySucceeded", "{body}");
    let steps = body["data"]["steps"].as_array().unwrap();
    let revoke = steps.iter().find(|s| s["step"] == "revokeSessions").unwrap();
    assert_eq!(revoke["succeeded"], false, "{revoke}");
    assert_eq!(body["data"]["failedSteps"], 1, "{body}");
    let s = h.state(&t).await;
    assert_eq!(user(&s, u["userPrincipalName"].as_str().unwrap())["accountEnabled"], false, "the other steps ran");
    assert!(directory(&s, "authenticationMethods").iter().all(|m| m["userId"] != uid.as_str()));
}
