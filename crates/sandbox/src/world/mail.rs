//! A tenant's Exchange Online mail as Defender for Office 365 sees it (`graph/mail.rs` serves it):
//! every delivered copy of every message, by mailbox and folder; each mailbox's inbox rules; the
//! remediations run through `analyzedEmails/remediate` and the threat submissions made.
//!
//! One message sent to several people is one `networkMessageId` with a copy per recipient, as in
//! Exchange; a copy is what Graph's analyzed emails list and what remediation moves. Seeded per
//! tenant, from the tenant's users: ordinary mail for every mailbox, a phishing wave to eight
//! users, a malware message to two, a spam message in quarantine, and inbox rules of which two
//! forward mail out of the tenant.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{User, guid};
use crate::clock::fmt_utc;

/// Where a copy is now. `Quarantine` holds what filtering never delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    Inbox,
    JunkEmail,
    DeletedItems,
    /// Soft-deleted: recoverable by the user or an admin for the retention period.
    RecoverableItems,
    Quarantine,
}

impl Folder {
    /// The well-known folder name Graph uses (`mailFolders/{name}`).
    pub fn well_known(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::JunkEmail => "junkemail",
            Folder::DeletedItems => "deleteditems",
            Folder::RecoverableItems => "recoverableitemsdeletions",
            Folder::Quarantine => "quarantine",
        }
    }

    /// `analyzedEmailDeliveryDetail.location` (Graph's `deliveryLocation`).
    pub fn delivery_location(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox_folder",
            Folder::JunkEmail => "junkFolder",
            Folder::DeletedItems | Folder::RecoverableItems => "deletedFolder",
            Folder::Quarantine => "quarantine",
        }
    }
}

/// One recipient's copy of a message.
#[derive(Clone, Debug)]
pub struct Message {
    /// The Graph message id in the recipient's mailbox (`users/{id}/messages/{id}`).
    pub id: String,
    /// The mailbox owner's object id.
    pub mailbox: String,
    pub recipient: String,
    pub network_message_id: String,
    pub internet_message_id: String,
    pub sender: String,
    pub sender_name: String,
    pub subject: String,
    pub received: OffsetDateTime,
    pub original_folder: Folder,
    pub folder: Folder,
    /// Hard-deleted: gone from the mailbox for good.
    pub purged: bool,
    /// `phishing`, `malware`, `spam` or `none`.
    pub threat: &'static str,
    pub urls: Vec<String>,
    /// The remediations that moved this copy, oldest first (bulk ids).
    pub remediated_by: Vec<String>,
    /// Released from quarantine (`Release-QuarantineMessage`): delivered to the Inbox.
    pub released: bool,
}

impl Message {
    /// The analyzed email id: one per copy (network message id and recipient).
    pub fn analyzed_id(&self) -> String {
        format!("{}-{}-1", self.network_message_id, fnv(&self.recipient))
    }

    /// The quarantine `Identity` Get-QuarantineMessage shows: `{message guid}\\{recipient guid}`.
    pub fn quarantine_identity(&self) -> String {
        let h = fnv(&self.recipient);
        let r = uuid::Uuid::from_u64_pair(h, h.rotate_left(29) ^ 0x5bd1_e995);
        format!("{}\\{r}", self.network_message_id)
    }

    pub fn state_json(&self) -> Value {
        json!({
            "id": self.id,
            "analyzedEmailId": self.analyzed_id(),
            "mailbox": self.mailbox,
            "recipientEmailAddress": self.recipient,
            "networkMessageId": self.network_message_id,
            "internetMessageId": self.internet_message_id,
            "sender": self.sender,
            "subject": self.subject,
            "receivedDateTime": fmt_utc(self.received),
            "folder": self.folder.well_known(),
            "purged": self.purged,
            "threatType": self.threat,
            "remediatedBy": self.remediated_by,
            "quarantineIdentity": (self.original_folder == Folder::Quarantine).then(|| self.quarantine_identity()),
            "released": self.released,
        })
    }
}

/// A stable number for a text (no std hasher: its seed changes per process).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// An inbox rule (the v1.0 `messageRule`, as JSON: its `actions` decide whether it forwards).
#[derive(Clone, Debug)]
pub struct InboxRule {
    pub mailbox: String,
    pub rule: Value,
}

impl InboxRule {
    pub fn id(&self) -> &str {
        self.rule["id"].as_str().unwrap_or("")
    }
}

/// One `analyzedEmails/remediate` call: an Action Center entry, run on the sandbox clock.
#[derive(Clone, Debug)]
pub struct Remediation {
    pub bulk_id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub severity: String,
    pub action: String,
    pub remediate_senders_copy: bool,
    /// The copies named: (network message id, recipient).
    pub targets: Vec<(String, String)>,
    pub created: OffsetDateTime,
    /// The moves happen, all at once, at this instant.
    pub completes: OffsetDateTime,
    pub applied: bool,
}

impl Remediation {
    pub fn status(&self, now: OffsetDateTime) -> &'static str {
        if self.applied || now >= self.completes { "succeeded" } else { "running" }
    }

    pub fn state_json(&self, now: OffsetDateTime) -> Value {
        json!({
            "bulkId": self.bulk_id,
            "displayName": self.display_name,
            "description": self.description,
            "severity": self.severity,
            "action": self.action,
            "remediateSendersCopy": self.remediate_senders_copy,
            "status": self.status(now),
            "createdDateTime": fmt_utc(self.created),
            "completedDateTime": (self.status(now) == "succeeded").then(|| fmt_utc(self.completes)),
            "analyzedEmails": self.targets.iter()
                .map(|(n, r)| json!({"networkMessageId": n, "recipientEmailAddress": r}))
                .collect::<Vec<_>>(),
        })
    }
}

/// The whole of a tenant's mail.
#[derive(Clone, Debug, Default)]
pub struct MailState {
    pub messages: Vec<Message>,
    pub rules: Vec<InboxRule>,
    pub remediations: Vec<Remediation>,
    /// Threat submissions as Graph answered them (`emailThreats`, `urlThreats`, `fileThreats`).
    pub submissions: Vec<Value>,
    /// Attack simulations created (`security/attackSimulation/simulations`), as Graph shows them.
    pub simulations: Vec<Value>,
    /// The `attackSimulationOperation` behind each creation.
    pub simulation_ops: Vec<SimulationOp>,
    /// What only Exchange Online's admin API reaches (`exchange/`): allow/block entries,
    /// mailbox forwarding, protection policies, and the app's Exchange permission.
    pub exchange: ExchangeState,
}

/// Exchange Online objects the EXO V3 module's cmdlets read and change. Policies and mailboxes
/// are kept as the cmdlets show them (PascalCase objects), so a Set-* cmdlet's parameters are
/// exactly the object's settable properties.
#[derive(Clone, Debug, Default)]
pub struct ExchangeState {
    /// Roles in the token for `https://outlook.office365.com` (`Exchange.ManageAsApp`).
    pub app_roles: Vec<String>,
    /// Tenant allow/block list entries (Get-TenantAllowBlockListItems objects).
    pub allow_block: Vec<Value>,
    /// One per mailbox (Get-Mailbox objects: forwarding properties).
    pub mailboxes: Vec<Value>,
    /// Get-HostedContentFilterPolicy objects (anti-spam).
    pub spam_policies: Vec<Value>,
    /// Get-QuarantinePolicy objects.
    pub quarantine_policies: Vec<Value>,
    /// Get-SafeAttachmentPolicy objects.
    pub safe_attachment_policies: Vec<Value>,
}

/// The app role Exchange Online requires of an app-only caller.
pub const EXCHANGE_ROLE: &str = "Exchange.ManageAsApp";
/// The mailbox seeded with SMTP forwarding out of the tenant (user index), and where to.
pub const FORWARDING_MAILBOX: usize = 1;
pub const FORWARDING_TARGET: &str = "smtp:archive-box@protonmail.example";

impl ExchangeState {
    fn seed(users: &[User]) -> ExchangeState {
        let mailboxes = users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let fwd = (i == FORWARDING_MAILBOX).then_some(FORWARDING_TARGET);
                json!({
                    "Identity": u.mail_nickname, "Alias": u.mail_nickname, "DisplayName": u.display_name,
                    "UserPrincipalName": u.user_principal_name, "PrimarySmtpAddress": u.user_principal_name,
                    "ExternalDirectoryObjectId": u.id, "RecipientTypeDetails": "UserMailbox",
                    "ForwardingSmtpAddress": fwd, "ForwardingAddress": null,
                    "DeliverToMailboxAndForward": fwd.is_some(),
                })
            })
            .collect();
        ExchangeState {
            app_roles: vec![EXCHANGE_ROLE.to_string()],
            allow_block: SEEDED_BLOCKS
                .iter()
                .map(|d| seeded_entry(d, "Block"))
                .chain(SEEDED_ALLOWS.iter().map(|d| seeded_entry(d, "Allow")))
                .collect(),
            mailboxes,
            spam_policies: vec![json!({
                "Identity": "Default", "Name": "Default", "IsDefault": true,
                "SpamAction": "MoveToJmf", "HighConfidenceSpamAction": "MoveToJmf", "PhishSpamAction": "MoveToJmf",
                "HighConfidencePhishAction": "Quarantine", "BulkSpamAction": "MoveToJmf", "BulkThreshold": 7,
                "QuarantineRetentionPeriod": 15, "InlineSafetyTipsEnabled": true, "ZapEnabled": true,
                "SpamZapEnabled": true, "PhishZapEnabled": true, "MarkAsSpamBulkMail": "On",
                "SpamQuarantineTag": "DefaultFullAccessPolicy", "PhishQuarantineTag": "DefaultFullAccessPolicy",
                "HighConfidencePhishQuarantineTag": "AdminOnlyAccessPolicy",
            })],
            quarantine_policies: vec![
                quarantine_policy("AdminOnlyAccessPolicy", 0, true),
                quarantine_policy("DefaultFullAccessPolicy", 27, true),
                quarantine_policy("Contoso quarantine policy", 27, false),
            ],
            safe_attachment_policies: vec![json!({
                "Identity": "Contoso Safe Attachments", "Name": "Contoso Safe Attachments", "Enable": false,
                "Action": "Block", "QuarantineTag": "AdminOnlyAccessPolicy", "Redirect": false,
                "RedirectAddress": null, "IsBuiltInProtection": false,
            })],
        }
    }

    pub fn state_json(&self) -> Value {
        json!({
            "appRoles": self.app_roles,
            "tenantAllowBlockListItems": self.allow_block,
            "mailboxes": self.mailboxes,
            "hostedContentFilterPolicies": self.spam_policies,
            "quarantinePolicies": self.quarantine_policies,
            "safeAttachmentPolicies": self.safe_attachment_policies,
        })
    }
}

/// Sender entries the tenant already has: blocked domains and allowed partner addresses.
pub const SEEDED_BLOCKS: &[&str] =
    &["spam-relay-1.example", "spam-relay-2.example", "spam-relay-3.example", "spam-relay-4.example"];
pub const SEEDED_ALLOWS: &[&str] = &[
    "billing@partner-1.example",
    "billing@partner-2.example",
    "billing@partner-3.example",
    "billing@partner-4.example",
];

fn seeded_entry(value: &str, action: &str) -> Value {
    let id = format!("RgAAAAAI8gSyI_NmQqzeh-HXJBywBwCqfQNJY8hBTbdlKFkv6BcUAAAl_{:016X}AAAA0", fnv(value));
    json!({
        "Identity": id, "Action": action, "ListType": "Sender", "ListSubType": "Tenant", "Value": value,
        "ExpirationDate": null, "RemoveAfter": if action == "Allow" { json!(45) } else { Value::Null },
        "Notes": "seeded", "LastModifiedDateTime": "2026-01-05T10:00:00Z", "CreatedDateTime": "2026-01-05T10:00:00Z",
        "ModifiedBy": "", "SubmissionID": "", "SysManaged": false, "Error": null,
    })
}

fn quarantine_policy(name: &str, permissions: u32, built_in: bool) -> Value {
    json!({
        "Identity": name, "Name": name, "EndUserQuarantinePermissionsValue": permissions,
        "ESNEnabled": false, "QuarantineRetentionDays": 30, "IsBuiltIn": built_in,
    })
}

/// Creating a simulation: `running` until `completes`, then `succeeded` (and the simulation
/// `scheduled`).
#[derive(Clone, Debug)]
pub struct SimulationOp {
    pub id: String,
    pub simulation_id: String,
    pub created: OffsetDateTime,
    pub completes: OffsetDateTime,
}

impl SimulationOp {
    pub fn to_json(&self, tenant_id: &str, now: OffsetDateTime) -> Value {
        let done = now >= self.completes;
        json!({
            "@odata.type": "#microsoft.graph.attackSimulationOperation",
            "id": self.id,
            "createdDateTime": fmt_utc(self.created),
            "lastActionDateTime": fmt_utc(if done { self.completes } else { self.created }),
            "status": if done { "succeeded" } else { "running" },
            "statusDetail": null,
            "percentageCompleted": if done { 100 } else { 50 },
            "tenantId": tenant_id,
            "type": "createSimulation",
            "resourceLocation": format!("security/attackSimulation/simulations/{}", self.simulation_id),
        })
    }
}

/// Microsoft's global payloads (id, name, technique), the ones a simulation can name.
pub const PAYLOADS: &[(&str, &str, &str)] = &[
    ("9b1ed0d8-7d32-4a42-9e1b-2c8d0c2b6a01", "Password expiry notice", "credentialHarvesting"),
    ("4f0c1a77-2f6e-4b8e-8a3d-6c1e5b7d9a02", "Shared invoice", "attachmentMalware"),
    ("c3d2e1f0-5a4b-4c3d-9e8f-7a6b5c4d3e03", "Parcel delivery failed", "linkToMalwareFile"),
];

impl MailState {
    /// Carries out every remediation whose time has come (lazily, on each read that can show it).
    pub fn settle(&mut self, now: OffsetDateTime) {
        for r in self.remediations.iter_mut().filter(|r| !r.applied && now >= r.completes) {
            r.applied = true;
            for m in self.messages.iter_mut().filter(|m| !m.purged) {
                if r.targets.iter().any(|(n, rcpt)| *n == m.network_message_id && *rcpt == m.recipient) {
                    apply(m, &r.action);
                    m.remediated_by.push(r.bulk_id.clone());
                }
            }
        }
    }

    pub fn state_json(&self, now: OffsetDateTime) -> Value {
        json!({
            "messages": self.messages.iter().map(Message::state_json).collect::<Vec<_>>(),
            "inboxRules": self.rules.iter()
                .map(|r| json!({"mailbox": r.mailbox, "forwards": forwards(&r.rule), "rule": r.rule}))
                .collect::<Vec<_>>(),
            "remediations": self.remediations.iter().map(|r| r.state_json(now)).collect::<Vec<_>>(),
            "submissions": self.submissions,
            "simulations": self.simulations,
            "exchange": self.exchange.state_json(),
            "simulationPayloads": PAYLOADS.iter().map(|(id, name, _)| json!({"id": id, "displayName": name})).collect::<Vec<_>>(),
        })
    }
}

/// One remediation action on one copy (Graph's documented `remediationAction` values).
fn apply(m: &mut Message, action: &str) {
    match action {
        "softDelete" => m.folder = Folder::RecoverableItems,
        "hardDelete" => m.purged = true,
        "moveToJunk" => m.folder = Folder::JunkEmail,
        "moveToInbox" => m.folder = Folder::Inbox,
        "moveToDeletedItems" => m.folder = Folder::DeletedItems,
        _ => {}
    }
}

/// The phishing wave's sender, subject and link (tests and the console find it by these).
pub const PHISH_SENDER: &str = "it-helpdesk@contoso-support.example";
pub const PHISH_SUBJECT: &str = "Action required: verify your mailbox";
pub const PHISH_URL: &str = "https://contoso-support.example/verify";
/// How many users the phishing wave reached (users 0..N).
pub const PHISH_RECIPIENTS: usize = 8;

/// Seeds a tenant's mail from its users, on its own random stream (the rest of the world is
/// unchanged by it).
pub fn seed(seed: u64, tenant_index: usize, users: &[User], now: OffsetDateTime) -> MailState {
    use rand::SeedableRng;
    let mut rng = StdRng::seed_from_u64(seed ^ (tenant_index as u64 + 1).wrapping_mul(0x3A11_B0C5_0000_0007));
    let mut mail = MailState::default();
    let domain = users.first().and_then(|u| u.user_principal_name.split_once('@')).map(|(_, d)| d).unwrap_or("");
    // Ordinary mail: two messages per mailbox from a colleague.
    for (i, u) in users.iter().enumerate() {
        for k in 0..2 {
            let from = &users[(i + k + 1) % users.len()];
            let received = now - Duration::minutes(rng.random_range(30..3 * 24 * 60));
            let subject = ["Weekly sync notes", "Budget review", "Lunch on Friday?"][(i + k) % 3];
            let msg = Wave {
                sender: &from.user_principal_name,
                name: &from.display_name,
                subject,
                threat: "none",
                folder: Folder::Inbox,
                url: None,
            };
            deliver(&mut rng, &mut mail, &msg, std::slice::from_ref(u), received, domain);
        }
    }
    let wave = |threat, folder, sender, name, subject, url| Wave { sender, name, subject, threat, folder, url };
    let phish = wave("phishing", Folder::Inbox, PHISH_SENDER, "IT Helpdesk", PHISH_SUBJECT, Some(PHISH_URL));
    let n = PHISH_RECIPIENTS.min(users.len());
    deliver(&mut rng, &mut mail, &phish, &users[..n], now - Duration::hours(5), domain);
    let malware =
        wave("malware", Folder::Inbox, "billing@invoices-portal.example", "Billing", "Invoice 4471 overdue", None);
    deliver(
        &mut rng,
        &mut mail,
        &malware,
        &users[n.min(users.len() - 1)..(n + 2).min(users.len())],
        now - Duration::hours(9),
        domain,
    );
    let spam = wave("spam", Folder::Quarantine, "deals@bulk-offers.example", "Deals", "You won a prize", None);
    deliver(&mut rng, &mut mail, &spam, &users[..1], now - Duration::hours(20), domain);
    for (i, u) in users.iter().enumerate().take(6) {
        mail.rules.push(InboxRule { mailbox: u.id.clone(), rule: newsletter_rule(&mut rng) });
        if !i.is_multiple_of(2) {
            mail.rules.push(InboxRule { mailbox: u.id.clone(), rule: forwarding_rule(&mut rng, i) });
        }
    }
    // Quarantined by filtering, for Release-/Delete-QuarantineMessage: a phishing message to
    // several users and a malware message (drawn last, so the mail above is unchanged).
    let held =
        wave("phishing", Folder::Quarantine, "docs@share-files.example", "Shared Docs", QUARANTINED_SUBJECT, None);
    deliver(
        &mut rng,
        &mut mail,
        &held,
        &users[..QUARANTINED_RECIPIENTS.min(users.len())],
        now - Duration::hours(3),
        domain,
    );
    let held = wave("malware", Folder::Quarantine, "scanner@copier-fleet.example", "Scanner", "Scanned document", None);
    deliver(&mut rng, &mut mail, &held, &users[..2.min(users.len())], now - Duration::hours(2), domain);
    mail.exchange = ExchangeState::seed(users);
    mail
}

/// The quarantined phishing wave (tests find it by this subject) and how many it reached.
pub const QUARANTINED_SUBJECT: &str = "Document shared with you";
pub const QUARANTINED_RECIPIENTS: usize = 10;

struct Wave<'a> {
    sender: &'a str,
    name: &'a str,
    subject: &'a str,
    threat: &'static str,
    folder: Folder,
    url: Option<&'a str>,
}

/// One message to several recipients: one network message id, a copy per mailbox.
fn deliver(rng: &mut StdRng, mail: &mut MailState, w: &Wave<'_>, to: &[User], received: OffsetDateTime, domain: &str) {
    let network_message_id = guid(rng);
    let internet_message_id =
        format!("<{}@{}>", guid(rng).replace('-', ""), w.sender.split_once('@').map_or(domain, |(_, d)| d));
    for u in to {
        let bytes: [u8; 24] = rng.random();
        mail.messages.push(Message {
            id: format!("AAMkAG{}", hex::encode(bytes)),
            mailbox: u.id.clone(),
            recipient: u.user_principal_name.to_ascii_lowercase(),
            network_message_id: network_message_id.clone(),
            internet_message_id: internet_message_id.clone(),
            sender: w.sender.to_ascii_lowercase(),
            sender_name: w.name.to_string(),
            subject: w.subject.to_string(),
            received,
            original_folder: w.folder,
            folder: w.folder,
            purged: false,
            threat: w.threat,
            urls: w.url.map(|u| vec![u.to_string()]).unwrap_or_default(),
            remediated_by: Vec::new(),
            released: false,
        });
    }
}

fn newsletter_rule(rng: &mut StdRng) -> Value {
    json!({
        "id": format!("AQAAA{}=", hex::encode(rng.random::<[u8; 8]>())),
        "displayName": "Newsletters to folder",
        "sequence": 1,
        "isEnabled": true,
        "hasError": false,
        "isReadOnly": false,
        "conditions": {"senderContains": ["newsletter"]},
        "actions": {"moveToFolder": "Newsletters", "stopProcessingRules": true},
    })
}

/// An attacker's rule: odd users forward, every third of them as a redirect.
fn forwarding_rule(rng: &mut StdRng, i: usize) -> Value {
    let to = json!([{"emailAddress": {"name": "Archive", "address": format!("archive{i}@mailbox-backup.example")}}]);
    let actions = if i.is_multiple_of(3) {
        json!({"redirectTo": to})
    } else {
        json!({"forwardTo": to, "stopProcessingRules": false})
    };
    json!({
        "id": format!("AQAAA{}=", hex::encode(rng.random::<[u8; 8]>())),
        "displayName": ".",
        "sequence": 2,
        "isEnabled": true,
        "hasError": false,
        "isReadOnly": false,
        "conditions": {},
        "actions": actions,
    })
}

/// Whether a messageRule's actions send mail on (forward, forward as attachment, redirect).
pub fn forwards(rule: &Value) -> bool {
    ["forwardTo", "forwardAsAttachmentTo", "redirectTo"]
        .iter()
        .any(|k| rule["actions"][*k].as_array().is_some_and(|a| !a.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn the_seeded_mail_has_the_wave_forwarding_rules_and_quarantine() {
        let w = World::generate(3, 1, now());
        let mail = &w.tenants[0].mail;
        let wave: Vec<&Message> = mail.messages.iter().filter(|m| m.sender == PHISH_SENDER).collect();
        assert_eq!(wave.len(), PHISH_RECIPIENTS);
        assert!(wave.iter().all(|m| m.network_message_id == wave[0].network_message_id), "one message, many copies");
        assert_eq!(mail.rules.iter().filter(|r| forwards(&r.rule)).count(), 3);
        assert!(mail.messages.iter().any(|m| m.folder == Folder::Quarantine));
        let again = World::generate(3, 1, now());
        assert_eq!(again.tenants[0].mail.messages[0].id, mail.messages[0].id, "same seed, same mail");
    }

    #[test]
    fn a_remediation_moves_its_copies_only_when_it_completes() {
        let w = World::generate(3, 1, now());
        let mut mail = w.tenants[0].mail.clone();
        let target = mail.messages.iter().find(|m| m.sender == PHISH_SENDER).unwrap().clone();
        mail.remediations.push(Remediation {
            bulk_id: "b1".into(),
            display_name: "x".into(),
            description: None,
            severity: "medium".into(),
            action: "moveToJunk".into(),
            remediate_senders_copy: false,
            targets: vec![(target.network_message_id.clone(), target.recipient.clone())],
            created: now(),
            completes: now() + Duration::seconds(2),
            applied: false,
        });
        mail.settle(now() + Duration::seconds(1));
        assert_eq!(mail.messages.iter().find(|m| m.id == target.id).unwrap().folder, Folder::Inbox);
        assert_eq!(mail.remediations[0].status(now() + Duration::seconds(1)), "running");
        mail.settle(now() + Duration::seconds(2));
        let moved: Vec<&Message> = mail.messages.iter().filter(|m| !m.remediated_by.is_empty()).collect();
        assert_eq!(moved.len(), 1, "only the named copy");
        assert_eq!(moved[0].folder, Folder::JunkEmail);
    }
}
