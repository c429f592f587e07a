//! Directory roles and PIM: assignments removed, activations revoked, assignments expired,
//! eligibility removed, a granted request cancelled, the audit read, PIM alerts turned on.

use super::*;

fn assignments_of(state: &Value, user: &str) -> Vec<Value> {
    directory(state, "roleAssignments").into_iter().filter(|a| a["principalId"] == user).collect()
}

fn requests(state: &Value) -> Vec<Value> {
    directory(state, "roleAssignmentScheduleRequests")
}

#[tokio::test(flavor = "multi_thread")]
async fn role_assignments_and_pim_activations_are_revoked_and_expired() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    // The sandbox seeds: users 2, 5, 8 hold a permanent role; 3 an activated one; 4 an eligibility.
    let (u2, u3, u4, u5, u8) =
        (nth_user(&state, 2), nth_user(&state, 3), nth_user(&state, 4), nth_user(&state, 5), nth_user(&state, 8));

    let (status, body) = h.entra(&t, "GetUserRoleAssignments", json!({ "userId": u2["userPrincipalName"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"].as_array().map(Vec::len), Some(1), "{body}");
    let (status, body) = h.entra(&t, "RemoveAdminRole", json!({ "userId": u2["userPrincipalName"] })).await;
    assert_eq!(status, 200, "{body}");
    assert!(assignments_of(&h.state(&t).await, &id(&u2)).is_empty(), "assignment revoked");

    let uid3 = id(&u3);
    let activated = |s: &Value| {
        directory(s, "roleAssignmentScheduleInstances")
            .into_iter()
            .filter(|i| i["principalId"] == uid3.as_str() && i["assignmentType"] == "Activated")
            .count()
    };
    assert_eq!(activated(&state), 1);
    let (status, body) = h.entra(&t, "RevokePIMActivation", json!({ "userId": u3["userPrincipalName"] })).await;
    assert_eq!(status, 200, "{body}");
    let s = h.state(&t).await;
    assert_eq!(activated(&s), 0, "activation ended");
    assert!(assignments_of(&s, &uid3).is_empty());
    assert!(
        requests(&s)
            .iter()
            .any(|r| r["principalId"] == uid3.as_str() && r["action"] == "adminRemove" && r["status"] == "Revoked")
    );

    // Expire now: the assignment ends; expire later: its end moves.
    let role5 = assignments_of(&state, &id(&u5))[0]["roleDefinitionId"].clone();
    let (status, body) =
        h.entra(&t, "ExpirePIMAssignment", json!({ "userId": u5["id"], "roleDefinitionId": role5 })).await;
    assert_eq!(status, 200, "{body}");
    assert!(assignments_of(&h.state(&t).await, &id(&u5)).is_empty(), "expired now");
    let role8 = assignments_of(&state, &id(&u8))[0]["roleDefinitionId"].clone();
    let (status, body) = h
        .entra(
            &t,
            "ExpirePIMAssignment",
            json!({ "userId": u8["id"], "roleDefinitionId": role8, "expireAfterMinutes": 120 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let s = h.state(&t).await;
    assert_eq!(assignments_of(&s, &id(&u8)).len(), 1, "still active until then");
    assert!(
        directory(&s, "roleAssignmentScheduleInstances")
            .iter()
            .any(|i| i["principalId"] == u8["id"] && i["endDateTime"].is_string())
    );
    // Nothing to expire: Graph's 400, passed on as a 4xx.
    let (status, body) =
        h.entra(&t, "ExpirePIMAssignment", json!({ "userId": u5["id"], "roleDefinitionId": role5 })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("RoleAssignmentDoesNotExist"), "{body}");

    let eligible =
        directory(&state, "roleEligibilitySchedules").into_iter().find(|e| e["principalId"] == u4["id"]).unwrap();
    let (status, body) = h
        .entra(
            &t,
            "RemoveFromPIMRole",
            json!({ "userId": u4["userPrincipalName"], "roleDefinitionId": eligible["roleDefinitionId"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!directory(&h.state(&t).await, "roleEligibilitySchedules").iter().any(|e| e["principalId"] == u4["id"]));

    let (status, body) = h.entra(&t, "AuditPIMActivations", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let events = body["data"]["value"].as_array().unwrap();
    assert!(events.iter().any(|e| e["targetResources"][0]["id"] == uid3.as_str()), "the revocation is audited: {body}");
    let (_, body) = h.entra(&t, "AuditPIMActivations", json!({ "userId": u2["userPrincipalName"] })).await;
    assert!(
        body["data"]["value"].as_array().unwrap().iter().all(|e| e["targetResources"][0]["id"] == u2["id"]),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_request_is_cancelled_deny_is_501_and_pim_alerts_are_enabled() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let granted = requests(&state).into_iter().find(|r| r["status"] == "Granted").expect("a seeded Granted request");
    let (status, body) = h.entra(&t, "CancelPIMRequest", json!({ "requestId": granted["id"] })).await;
    assert_eq!(status, 200, "{body}");
    let r = requests(&h.state(&t).await).into_iter().find(|r| r["id"] == granted["id"]).unwrap();
    assert_eq!(r["status"], "Canceled");
    let (status, body) = h.entra(&t, "CancelPIMRequest", json!({ "requestId": granted["id"] })).await;
    assert!((400..500).contains(&status), "only Granted requests cancel: {status} {body}");

    let (status, body) = h.entra(&t, "DenyPIMRequest", json!({ "requestId": granted["id"] })).await;
    assert_eq!(status, 501, "{body}");
    assert!(body.to_string().contains("CancelPIMRequest"), "the nearest action is named: {body}");

    assert!(directory(&state, "pimAlertConfigurations").iter().any(|a| a["isEnabled"] == false));
    let (status, body) = h.entra(&t, "EnablePIMAlerts", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(directory(&h.state(&t).await, "pimAlertConfigurations").iter().all(|a| a["isEnabled"] == true));
}
