//! Defender for Office 365 through Exchange Online's admin REST endpoint (the EXO V3 module's
//! `InvokeCommand`): quarantine released to the Inbox and deleted, sender entries blocked and
//! allowed then removed by the inverses, mailbox forwarding cleared, protection policies changed;
//! the app without `Exchange.ManageAsApp` is refused and nothing changes; bad input is a 4xx.

use super::mdo;
use crate::common::*;
use serde_json::{Value, json};

const HELD_SENDER: &str = "docs@share-files.example";

/// The quarantined copies of the seeded held wave, as the sandbox holds them now.
async fn held(h: &Harness, t: &str) -> Vec<Value> {
    let state = h.state(t).await;
    state["mail"]["messages"].as_array().unwrap().iter().filter(|m| m["sender"] == HELD_SENDER).cloned().collect()
}

fn by_identity<'a>(copies: &'a [Value], id: &str) -> &'a Value {
    copies.iter().find(|m| m["quarantineIdentity"] == id).unwrap_or_else(|| panic!("no copy {id}"))
}

async fn exchange(h: &Harness, t: &str) -> Value {
    h.state(t).await["mail"]["exchange"].clone()
}

fn entry<'a>(x: &'a Value, value: &str) -> Option<&'a Value> {
    x["tenantAllowBlockListItems"].as_array().unwrap().iter().find(|e| e["Value"] == value)
}

#[tokio::test(flavor = "multi_thread")]
async fn quarantine_is_listed_released_to_the_inbox_and_deleted() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = mdo(&h, &t, "GetQuarantineMessages", json!({ "senderAddress": HELD_SENDER })).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["data"]["value"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    assert_eq!(listed.len(), 10, "{body}");
    assert!(listed.iter().all(|m| m["ReleaseStatus"] == "NOTRELEASED" && m["Type"] == "Phish"), "{body}");
    let ids: Vec<String> = listed.iter().map(|m| m["Identity"].as_str().unwrap().to_string()).collect();
    assert!(ids[0].contains('\\'), "{{message}}\\{{recipient}} identities: {}", ids[0]);
    assert!(held(&h, &t).await.iter().all(|m| m["folder"] == "quarantine"));

    // One released: delivered to the Inbox, shown RELEASED; the others stay.
    let (status, body) = mdo(&h, &t, "ReleaseQuarantineEmail", json!({ "identity": ids[0] })).await;
    assert_eq!(status, 200, "{body}");
    let copies = held(&h, &t).await;
    let released = by_identity(&copies, &ids[0]);
    assert_eq!((released["folder"].as_str(), released["released"].as_bool()), (Some("inbox"), Some(true)));
    assert_eq!(by_identity(&copies, &ids[1])["folder"], "quarantine");

    // Two more in one call.
    let (status, body) = mdo(&h, &t, "BulkReleaseQuarantine", json!({ "identities": [ids[1], ids[2]] })).await;
    assert_eq!(status, 200, "{body}");
    let copies = held(&h, &t).await;
    assert!([&ids[1], &ids[2]].iter().all(|id| by_identity(&copies, id)["folder"] == "inbox"));
    assert_eq!(by_identity(&copies, &ids[3])["folder"], "quarantine", "only the named ones");
    let (_, body) = mdo(&h, &t, "GetQuarantineMessages", json!({ "senderAddress": HELD_SENDER })).await;
    let released =
        body["data"]["value"].as_array().unwrap().iter().filter(|m| m["ReleaseStatus"] == "RELEASED").count();
    assert_eq!(released, 3, "{body}");

    // One deleted: gone from quarantine, not delivered.
    let (status, body) = mdo(&h, &t, "DeleteQuarantineEmail", json!({ "identity": ids[4] })).await;
    assert_eq!(status, 200, "{body}");
    let gone = by_identity(&held(&h, &t).await, &ids[4]).clone();
    assert_eq!((gone["purged"].as_bool(), gone["folder"].as_str()), (Some(true), Some("quarantine")));
    let (_, body) = mdo(&h, &t, "GetQuarantineMessages", json!({ "senderAddress": HELD_SENDER })).await;
    assert_eq!(body["data"]["value"].as_array().unwrap().len(), 9, "{body}");

    // Unknown (or deleted) identities: Exchange's not-found, naming the identity; nothing changes.
    let unknown = "11111111-2222-3333-4444-555555555555\\66666666-7777-8888-9999-000000000000";
    for id in [unknown, ids[4].as_str()] {
        let (status, body) = mdo(&h, &t, "ReleaseQuarantineEmail", json!({ "identity": id })).await;
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(body.to_string().contains("couldn't be found"), "{body}");
    }
    let (status, body) = mdo(&h, &t, "BulkReleaseQuarantine", json!({ "identities": [ids[5], unknown] })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert_eq!(by_identity(&held(&h, &t).await, &ids[5])["folder"], "quarantine", "all or nothing");
    // The identity is required.
    let (status, body) = mdo(&h, &t, "DeleteQuarantineEmail", json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("identity"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sender_entries_are_blocked_allowed_and_removed_by_the_inverses() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = mdo(&h, &t, "GetTenantAllowBlockList", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["value"].as_array().unwrap().len(), 8, "the seeded sender entries: {body}");

    let (status, body) = mdo(
        &h,
        &t,
        "BlockSenderDomain",
        json!({ "domain": "Evil-Phish.example", "expirationDays": 7, "notes": "IR-42" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let x = exchange(&h, &t).await;
    let e = entry(&x, "evil-phish.example").unwrap_or_else(|| panic!("no entry: {x}"));
    assert_eq!(
        (e["Action"].as_str(), e["ListType"].as_str(), e["Notes"].as_str()),
        (Some("Block"), Some("Sender"), Some("IR-42"))
    );
    assert!(e["ExpirationDate"].is_string(), "{e}");
    let (status, body) = mdo(&h, &t, "UnblockSenderDomain", json!({ "domain": "evil-phish.example" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(entry(&exchange(&h, &t).await, "evil-phish.example").is_none(), "the inverse removed it");

    let (status, body) = mdo(&h, &t, "AddSafeSender", json!({ "sender": "alerts@vendor.example" })).await;
    assert_eq!(status, 200, "{body}");
    let x = exchange(&h, &t).await;
    let e = entry(&x, "alerts@vendor.example").unwrap_or_else(|| panic!("no entry: {x}"));
    assert_eq!((e["Action"].as_str(), e["RemoveAfter"].as_i64()), (Some("Allow"), Some(45)), "{e}");
    let (status, body) = mdo(&h, &t, "RemoveSafeSender", json!({ "sender": "alerts@vendor.example" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(entry(&exchange(&h, &t).await, "alerts@vendor.example").is_none());

    // Bad input: not a domain (named by the field), an entry that is not there.
    let before = exchange(&h, &t).await["tenantAllowBlockListItems"].clone();
    let (status, body) = mdo(&h, &t, "BlockSenderDomain", json!({ "domain": "not a domain" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("senders"), "names the field: {body}");
    let (status, body) = mdo(&h, &t, "RemoveSafeSender", json!({ "sender": "never-added.example" })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.to_string().contains("never-added.example"), "{body}");
    assert_eq!(exchange(&h, &t).await["tenantAllowBlockListItems"], before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn mailbox_forwarding_is_read_and_cleared() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let x = exchange(&h, &t).await;
    let forwarding =
        x["mailboxes"].as_array().unwrap().iter().find(|m| m["ForwardingSmtpAddress"].is_string()).unwrap().clone();
    let upn = forwarding["UserPrincipalName"].as_str().unwrap();
    let (status, body) = mdo(&h, &t, "GetMailboxForwarding", json!({ "userId": upn })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["value"][0]["ForwardingSmtpAddress"].as_str().unwrap().contains("protonmail"), "{body}");

    let (status, body) = mdo(&h, &t, "DisableMailboxForwarding", json!({ "userId": upn })).await;
    assert_eq!(status, 200, "{body}");
    let x = exchange(&h, &t).await;
    let m = x["mailboxes"].as_array().unwrap().iter().find(|m| m["UserPrincipalName"] == upn).unwrap();
    assert_eq!(
        (&m["ForwardingSmtpAddress"], &m["ForwardingAddress"], &m["DeliverToMailboxAndForward"]),
        (&Value::Null, &Value::Null, &json!(false))
    );

    let (status, body) =
        mdo(&h, &t, "DisableMailboxForwarding", json!({ "userId": "nobody@contoso-1.onmicrosoft.com" })).await;
    assert!((400..500).contains(&status), "{status} {body}");
    let (status, body) = mdo(&h, &t, "DisableMailboxForwarding", json!({ "userId": "not a user" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("userId"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn protection_policies_are_changed() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    let (status, body) = mdo(
        &h,
        &t,
        "UpdateSpamPolicy",
        json!({ "spamAction": "quarantine", "bulkThreshold": 5, "highConfidencePhishAction": "Quarantine" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let p = &exchange(&h, &t).await["hostedContentFilterPolicies"][0];
    assert_eq!((p["SpamAction"].as_str(), p["BulkThreshold"].as_i64()), (Some("Quarantine"), Some(5)), "{p}");
    assert_eq!(p["PhishSpamAction"], "MoveToJmf", "untouched settings stay");

    let (status, body) = mdo(
        &h,
        &t,
        "UpdateQuarantinePolicy",
        json!({ "identity": "Contoso quarantine policy", "endUserQuarantinePermissionsValue": 0, "esnEnabled": true }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let x = exchange(&h, &t).await;
    let q =
        x["quarantinePolicies"].as_array().unwrap().iter().find(|q| q["Name"] == "Contoso quarantine policy").unwrap();
    assert_eq!((q["EndUserQuarantinePermissionsValue"].as_i64(), q["ESNEnabled"].as_bool()), (Some(0), Some(true)));
    // Microsoft's built-in policies cannot be changed.
    let (status, body) =
        mdo(&h, &t, "UpdateQuarantinePolicy", json!({ "identity": "AdminOnlyAccessPolicy", "esnEnabled": true })).await;
    assert!((400..500).contains(&status), "{status} {body}");

    let (status, body) = mdo(
        &h,
        &t,
        "EnableATPSafeAttachments",
        json!({ "identity": "Contoso Safe Attachments", "attachmentAction": "DynamicDelivery" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let s = &exchange(&h, &t).await["safeAttachmentPolicies"][0];
    assert_eq!((s["Enable"].as_bool(), s["Action"].as_str()), (Some(true), Some("DynamicDelivery")), "{s}");
    let (status, body) = mdo(&h, &t, "UpdateSpamPolicy", json!({ "bulkThreshold": 12 })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("bulkThreshold"), "{body}");
}

/// Without `Exchange.ManageAsApp` (set before the first token) Exchange refuses with 403 and
/// nothing is released.
#[tokio::test(flavor = "multi_thread")]
async fn without_exchange_manage_as_app_nothing_is_released() {
    let h = Harness::start(1).await;
    let t = h.tenant(0);
    h.sandbox_admin(&format!("roles/{t}"), json!({ "exchangeOnline": [] })).await;
    let id = held(&h, &t).await[0]["quarantineIdentity"].as_str().unwrap().to_string();
    let (status, body) = mdo(&h, &t, "ReleaseQuarantineEmail", json!({ "identity": id })).await;
    assert_eq!((status, body["error"]["upstreamStatus"].as_u64()), (502, Some(403)), "{body}");
    assert!(body.to_string().contains("Exchange.ManageAsApp"), "{body}");
    assert!(held(&h, &t).await.iter().all(|m| m["folder"] == "quarantine"), "nothing released");
}
