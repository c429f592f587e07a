//! Defender for Office 365 end to end: remediation moves, purges and restores the copies named
//! in the sandbox's mailboxes; search reads them across mailboxes; submissions are recorded;
//! forwarding inbox rules are removed; zero-hour auto purge answers 501. Exchange Online cmdlets
//! (quarantine, allow/block list, mailbox forwarding, policies) are tested in `mdo/exchange.rs`.

use crate::common::*;
use serde_json::{Value, json};

mod exchange;

const PHISH_SENDER: &str = "it-helpdesk@contoso-support.example";

pub(crate) async fn mdo(h: &Harness, tenant: &str, action: &str, params: Value) -> (u16, Value) {
    let mut body = json!({ "action": action, "tenantId": tenant });
    merge(&mut body, params);
    h.seed("DefenderXDRMDOWorker", body).await
}

/// Every copy of the seeded phishing wave, as the sandbox holds them.
fn phish_copies(state: &Value) -> Vec<Value> {
    state["mail"]["messages"].as_array().unwrap().iter().filter(|m| m["sender"] == PHISH_SENDER).cloned().collect()
}

/// The copy of `network` in `recipient`'s mailbox, now.
async fn copy(h: &Harness, tenant: &str, network: &str, recipient: &str) -> Value {
    let state = h.state(tenant).await;
    state["mail"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["networkMessageId"] == network && m["recipientEmailAddress"] == recipient)
        .cloned()
        .unwrap()
}

/// Waits (on the sandbox clock, a few seconds) until the copy satisfies `done`.
async fn until(h: &Harness, tenant: &str, network: &str, recipient: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let c = copy(h, tenant, network, recipient).await;
        if done(&c) {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{network} for {recipient} never reached the expected state: {}", copy(h, tenant, network, recipient).await);
}

fn window() -> Value {
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    json!({ "startTime": fmt(now - time::Duration::days(5)), "endTime": fmt(now + time::Duration::hours(1)) })
}

fn with(mut a: Value, b: Value) -> Value {
    merge(&mut a, b);
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn remediation_moves_purges_and_restores_phishing_copies() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let copies = phish_copies(&h.state(&t).await);
    assert_eq!(copies.len(), 8, "the seeded wave reached eight mailboxes");
    let network = copies[0]["networkMessageId"].as_str().unwrap().to_string();
    let rcpt: Vec<String> = copies.iter().map(|c| c["recipientEmailAddress"].as_str().unwrap().to_string()).collect();
    assert!(copies.iter().all(|c| c["folder"] == "inbox"));

    // Search across mailboxes: the wave by sender, in the required window.
    let (status, body) =
        mdo(&h, &t, "GetAnalyzedEmails", with(window(), json!({ "senderAddress": PHISH_SENDER }))).await;
    assert_eq!(status, 200, "{body}");
    let found = body["data"]["value"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(found.len(), 8, "{body}");
    assert!(found.iter().all(|e| e["latestDelivery"]["location"] == "inbox_folder"), "{body}");

    // Move to junk, then back with the inverse.
    let (status, body) =
        mdo(&h, &t, "MoveToJunk", json!({ "networkMessageId": network, "recipientEmailAddress": rcpt[0] })).await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[0], |c| c["folder"] == "junkemail").await;
    let state = h.state(&t).await;
    let rem = state["mail"]["remediations"].as_array().unwrap();
    assert_eq!(
        (rem.len(), rem[0]["action"].as_str(), rem[0]["status"].as_str()),
        (1, Some("moveToJunk"), Some("succeeded"))
    );
    let (status, body) = mdo(
        &h,
        &t,
        "GetAnalyzedEmails",
        with(window(), json!({ "recipientEmailAddress": rcpt[0], "networkMessageId": network })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"][0]["latestDelivery"]["location"], "junkFolder", "{body}");
    let (status, body) =
        mdo(&h, &t, "MoveToInbox", json!({ "networkMessageId": network, "recipientEmailAddress": rcpt[0] })).await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[0], |c| c["folder"] == "inbox").await;

    // The seed's BulkEmailDelete (soft delete) with its `emailIds`, two copies at once.
    let (status, body) = mdo(
        &h,
        &t,
        "BulkEmailDelete",
        json!({ "emailIds": [network, network], "recipientEmailAddresses": [rcpt[1], rcpt[2]] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[1], |c| c["folder"] == "recoverableitemsdeletions").await;
    until(&h, &t, &network, &rcpt[2], |c| c["folder"] == "recoverableitemsdeletions").await;

    let (status, body) =
        mdo(&h, &t, "MoveToDeletedItems", json!({ "networkMessageId": network, "recipient": rcpt[3] })).await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[3], |c| c["folder"] == "deleteditems").await;

    // The seed's RemovePhishingEmails is a hard delete: purged.
    let (status, body) = mdo(
        &h,
        &t,
        "RemovePhishingEmails",
        json!({ "networkMessageIds": network, "recipientEmailAddresses": rcpt[4] }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[4], |c| c["purged"] == true).await;
    let (status, body) =
        mdo(&h, &t, "HardDeleteEmails", json!({ "networkMessageId": network, "recipient": rcpt[5] })).await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[5], |c| c["purged"] == true).await;
    let (status, body) =
        mdo(&h, &t, "SoftDeleteEmails", json!({ "networkMessageId": network, "recipient": rcpt[6] })).await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[6], |c| c["folder"] == "recoverableitemsdeletions").await;

    // The orchestrator's RemediateEmail* label, with the action as a parameter.
    let (status, body) = h
        .seed(
            "Gateway",
            json!({ "service": "MDO", "action": "RemediateEmail*", "tenantId": t,
                    "remediationAction": "moveToJunk", "networkMessageId": network, "recipientEmailAddress": rcpt[7] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    until(&h, &t, &network, &rcpt[7], |c| c["folder"] == "junkemail").await;
    // Untouched copies stay where they were: copy 0 is back in the inbox.
    assert_eq!(copy(&h, &t, &network, &rcpt[0]).await["folder"], "inbox");

    // The delivery path of the message: every copy's latest location.
    let (status, body) = mdo(&h, &t, "TraceEmailPath", with(window(), json!({ "messageId": network }))).await;
    assert_eq!(status, 200, "{body}");
    let copies = body["data"]["value"].as_array().unwrap();
    assert_eq!(copies.len(), 8, "{body}");
    assert!(copies.iter().any(|c| c["latestDelivery"]["location"] == "deletedFolder"), "{body}");
    assert!(copies.iter().all(|c| c["originalDelivery"]["location"] == "inbox_folder"), "{body}");

    // Quarantined mail, by its latest delivery location.
    let (status, body) = mdo(&h, &t, "ExportQuarantineReport", window()).await;
    assert_eq!(status, 200, "{body}");
    let q = body["data"]["value"].as_array().unwrap();
    assert!(!q.is_empty() && q.iter().all(|e| e["latestDelivery"]["location"] == "quarantine"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn remediation_refuses_bad_addresses_unknown_and_foreign_messages() {
    let h = Harness::start(2).await;
    let (t0, t1) = (h.tenant(0), h.tenant(1));
    let mine = phish_copies(&h.state(&t0).await);
    let theirs = phish_copies(&h.state(&t1).await);
    let rcpt = mine[0]["recipientEmailAddress"].as_str().unwrap();
    let network = mine[0]["networkMessageId"].as_str().unwrap();

    let (status, body) =
        mdo(&h, &t0, "MoveToJunk", json!({ "networkMessageId": network, "recipientEmailAddress": "not-an-address" }))
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("recipientEmailAddresses"), "names the field: {body}");

    let unknown = "00000000-1111-2222-3333-444444444444";
    let (status, body) =
        mdo(&h, &t0, "SoftDeleteEmails", json!({ "networkMessageId": unknown, "recipientEmailAddress": rcpt })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("analyzedEmails[0]") && body.to_string().contains(unknown), "{body}");

    // Another tenant's message, with its own recipient: not this tenant's mail.
    let (status, body) = mdo(
        &h,
        &t0,
        "HardDeleteEmails",
        json!({ "networkMessageId": theirs[0]["networkMessageId"], "recipientEmailAddress": theirs[0]["recipientEmailAddress"] }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("networkMessageId"), "{body}");
    assert!(
        phish_copies(&h.state(&t1).await).iter().all(|c| c["purged"] == false),
        "nothing purged in the other tenant"
    );

    // Lists of different lengths cannot pair up.
    let (status, body) = mdo(
        &h,
        &t0,
        "MoveToJunk",
        json!({ "networkMessageIds": [network, network], "recipientEmailAddresses": [rcpt] }),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Graph requires the time window.
    let (status, body) = mdo(&h, &t0, "GetAnalyzedEmails", json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("startTime"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn submissions_are_recorded_and_a_phishing_url_is_blocked() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let c = phish_copies(&h.state(&t).await)[0].clone();
    let url = format!(
        "https://graph.microsoft.com/v1.0/users/{}/messages/{}",
        c["mailbox"].as_str().unwrap(),
        c["id"].as_str().unwrap()
    );
    let rcpt = c["recipientEmailAddress"].clone();

    let (status, body) =
        mdo(&h, &t, "SubmitEmailThreat", json!({ "recipientEmail": rcpt, "messageUrl": url, "category": "phishing" }))
            .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        mdo(&h, &t, "ReportPhishingCampaign", json!({ "recipientEmailAddress": rcpt, "messageUri": url })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        mdo(&h, &t, "SubmitURLThreat", json!({ "url": "https://contoso-support.example/verify" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        mdo(&h, &t, "SubmitFileThreat", json!({ "fileName": "invoice.docm", "fileContent": "aGVsbG8gd29ybGQ=" })).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        mdo(&h, &t, "BlockPhishingURL", json!({ "url": "https://login-contoso.example/", "reason": "campaign 12" }))
            .await;
    assert_eq!(status, 200, "{body}");

    let state = h.state(&t).await;
    let subs = state["mail"]["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), 5, "{subs:?}");
    let email: Vec<&Value> = subs.iter().filter(|s| s["contentType"] == "email").collect();
    assert_eq!(email.len(), 2);
    assert!(email.iter().all(|s| s["category"] == "phishing" && s["sender"] == PHISH_SENDER), "{email:?}");
    let file = subs.iter().find(|s| s["contentType"] == "file").unwrap();
    assert_eq!(file["fileName"], "invoice.docm");
    let block = subs.iter().find(|s| s["webUrl"] == "https://login-contoso.example/").unwrap();
    assert_eq!(block["tenantAllowOrBlockListAction"]["action"], "block", "{block}");
    assert_eq!(block["result"]["tenantAllowBlockListEntryResults"][0]["entryType"], "url", "{block}");

    // A message URL that names another mailbox's message is refused.
    let (status, body) =
        mdo(&h, &t, "SubmitEmailThreat", json!({ "recipientEmail": "someone@else.example", "messageUrl": url })).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarding_rules_are_listed_and_removed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let state = h.state(&t).await;
    let rules = state["mail"]["inboxRules"].as_array().unwrap();
    let mailbox = rules.iter().find(|r| r["forwards"] == true).unwrap()["mailbox"].as_str().unwrap().to_string();
    let total = rules.iter().filter(|r| r["mailbox"] == mailbox).count();
    assert!(total >= 2, "a forwarding rule and an ordinary one");

    let (status, body) = mdo(&h, &t, "GetInboxRules", json!({ "userId": mailbox })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"].as_array().map(Vec::len), Some(total), "{body}");
    let (status, body) = mdo(&h, &t, "GetMailboxForwarders", json!({ "userId": mailbox })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["forwardingRuleCount"], 1, "{body}");
    assert!(body["data"]["forwardingRules"][0]["forwardsTo"][0].as_str().unwrap().ends_with("mailbox-backup.example"));

    let (status, body) = mdo(&h, &t, "RemoveMailForwardingRules", json!({ "userId": mailbox })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["removedCount"], 1, "{body}");
    let state = h.state(&t).await;
    let left: Vec<&Value> =
        state["mail"]["inboxRules"].as_array().unwrap().iter().filter(|r| r["mailbox"] == mailbox).collect();
    assert_eq!(left.len(), total - 1, "only the forwarding rule went");
    assert!(left.iter().all(|r| r["forwards"] == false));
    let (status, body) = mdo(&h, &t, "RemoveMailForwardingRules", json!({ "userId": mailbox })).await;
    assert_eq!((status, body["data"]["removedCount"].as_u64()), (200, Some(0)), "{body}");

    let (status, body) = mdo(&h, &t, "GetMailboxForwarders", json!({ "userId": "nobody@contoso.example" })).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_hour_auto_purge_answers_501_with_the_nearest_action() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    for (name, nearest) in [("ZAPPhishing", "SoftDeleteEmails"), ("ZAPMalware", "SoftDeleteEmails")] {
        let (status, body) = mdo(&h, &t, name, json!({})).await;
        assert_eq!(status, 501, "{name}: {body}");
        assert!(body.to_string().contains(nearest), "{name}: {body}");
    }
}

/// Permissions per application role: without SecurityAnalyzedMessage.ReadWrite.All (set before
/// the first token, which carries the roles) remediation is Graph's 403 and nothing moves.
#[tokio::test(flavor = "multi_thread")]
async fn remediation_without_its_role_is_refused_with_graphs_403() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let roles = h.sandbox_admin(&format!("roles/{t}"), json!({})).await;
    let fewer: Vec<Value> = roles["graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| *r != "SecurityAnalyzedMessage.ReadWrite.All")
        .cloned()
        .collect();
    h.sandbox_admin(&format!("roles/{t}"), json!({ "graph": fewer })).await;
    let c = phish_copies(&h.state(&t).await)[0].clone();
    let (status, body) = mdo(
        &h,
        &t,
        "SoftDeleteEmails",
        json!({ "networkMessageId": c["networkMessageId"], "recipientEmailAddress": c["recipientEmailAddress"] }),
    )
    .await;
    // Our app lacks a permission: the gateway's 502 carries Microsoft's 403 and its code.
    assert_eq!((status, body["error"]["upstreamStatus"].as_u64()), (502, Some(403)), "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied", "{body}");
    assert!(h.state(&t).await["mail"]["remediations"].as_array().unwrap().is_empty(), "nothing recorded");
}

/// A phishing simulation: Graph's 202 + Location on the creation operation, followed by the
/// engine to `succeeded`; the simulation exists with its targets.
#[tokio::test(flavor = "multi_thread")]
async fn a_phishing_simulation_is_created_and_followed_to_completion() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = mdo(&h, &t, "GetSimulationPayloads", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let payload = body["data"]["value"][0]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string();
    let state = h.state(&t).await;
    let targets: Vec<Value> =
        state["users"].as_array().unwrap().iter().take(3).map(|u| u["userPrincipalName"].clone()).collect();

    let (status, body) = mdo(
        &h,
        &t,
        "SimulatePhishing",
        json!({ "campaignName": "Q4 awareness", "targetUsers": targets, "payloadId": payload, "wait": 30 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Succeeded", "the operation was followed to its end: {body}");
    let sims = h.state(&t).await["mail"]["simulations"].as_array().unwrap().clone();
    assert_eq!(sims.len(), 1);
    assert_eq!(sims[0]["displayName"], "Q4 awareness");
    assert_eq!(sims[0]["includedAccountTarget"]["accountTargetEmails"].as_array().map(Vec::len), Some(3));

    // Someone outside the tenant cannot be targeted.
    let (status, body) = mdo(
        &h,
        &t,
        "SimulatePhishing",
        json!({ "campaignName": "x", "targetUsers": ["stranger@elsewhere.example"], "payloadId": payload }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("stranger@elsewhere.example"), "{body}");
}
