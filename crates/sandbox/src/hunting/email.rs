//! Defender for Office 365 tables: mail flow to and from the tenant's users, attachments, URLs
//! and Safe Links clicks. The planted phishing campaign (`synth::PHISH_*`) reaches five users;
//! the victim clicks the link (ClickAllowed) and, in the device tables, opens the document.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use super::synth::*;
use super::tables::Tables;

const PARTNERS: &[(&str, &str)] = &[
    ("fabrikam.com", "Fabrikam Sales"),
    ("northwindtraders.com", "Northwind Traders"),
    ("adventure-works.com", "Adventure Works"),
    ("tailspintoys.com", "Tailspin Toys"),
    ("litware.com", "Litware Support"),
];
const NEWSLETTERS: &[(&str, &str)] = &[
    ("news.techdaily.com", "Tech Daily"),
    ("mail.flightdeals.com", "Flight Deals"),
    ("promo.officesupplies.com", "Office Supplies Weekly"),
];
const SUBJECTS: &[&str] = &[
    "Weekly sync notes",
    "Re: Contract renewal",
    "Q3 forecast review",
    "Lunch on Friday?",
    "Updated project timeline",
    "Fw: Customer feedback",
    "Invoice 10042 from Fabrikam",
    "Action items from today's meeting",
    "Re: Travel approval",
    "Shared document: Roadmap",
];

struct Mail {
    when: i64,
    sender: String,
    sender_name: String,
    sender_domain: String,
    recipient: usize,
    subject: String,
    direction: &'static str,
    action: &'static str,
    location: &'static str,
    threats: &'static str,
    urls: Vec<String>,
    attachments: Vec<&'static str>,
    sender_ip: String,
}

fn message_ids(rng: &mut StdRng, domain: &str) -> (String, String) {
    let bytes: [u8; 16] = rng.random();
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid().to_string();
    let internet = format!("<{}@{domain}>", hex::encode(&bytes[..8]).to_uppercase());
    (id, internet)
}

pub fn generate(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("EmailEvents");
    let own_domain = format!("{}.onmicrosoft.com", snap.tenant_name);
    let mut mails = Vec::new();
    for _ in 0..1500 {
        let recipient = rng.random_range(0..snap.users.len());
        let when = snap.recent(&mut rng, 30);
        let kind = rng.random_range(0..10);
        let mail = if kind < 5 {
            let sender = &snap.users[rng.random_range(0..snap.users.len())];
            Mail {
                when,
                sender: sender.upn.clone(),
                sender_name: sender.display.clone(),
                sender_domain: own_domain.clone(),
                recipient,
                subject: pick(&mut rng, SUBJECTS).to_string(),
                direction: "Intra-org",
                action: "Delivered",
                location: "Inbox/folder",
                threats: "",
                urls: if rng.random_bool(0.3) {
                    vec![format!(
                        "https://{}.sharepoint.com/sites/team/Shared%20Documents/plan.docx",
                        snap.tenant_name.replace('-', "")
                    )]
                } else {
                    vec![]
                },
                attachments: if rng.random_bool(0.2) { vec!["Meeting notes.docx"] } else { vec![] },
                sender_ip: String::new(),
            }
        } else if kind < 8 {
            let (domain, name) = *pick(&mut rng, PARTNERS);
            Mail {
                when,
                sender: format!("{}@{domain}", pick(&mut rng, &["sales", "info", "accounts", "support"])),
                sender_name: name.into(),
                sender_domain: domain.into(),
                recipient,
                subject: pick(&mut rng, SUBJECTS).to_string(),
                direction: "Inbound",
                action: "Delivered",
                location: "Inbox/folder",
                threats: "",
                urls: if rng.random_bool(0.5) { vec![format!("https://www.{domain}/portal")] } else { vec![] },
                attachments: if rng.random_bool(0.25) { vec!["Quote.pdf"] } else { vec![] },
                sender_ip: Snapshot::resolve(&format!("mail.{domain}")),
            }
        } else {
            let (domain, name) = *pick(&mut rng, NEWSLETTERS);
            let spam = rng.random_bool(0.4);
            Mail {
                when,
                sender: format!("newsletter@{domain}"),
                sender_name: name.into(),
                sender_domain: domain.into(),
                recipient,
                subject: "This week's top offers".into(),
                direction: "Inbound",
                action: if spam { "Junked" } else { "Delivered" },
                location: if spam { "Junk folder" } else { "Inbox/folder" },
                threats: if spam { "Spam" } else { "" },
                urls: vec![format!("https://{domain}/offers?id={}", rng.random_range(1000..9999))],
                attachments: vec![],
                sender_ip: Snapshot::resolve(domain),
            }
        };
        mails.push(mail);
    }
    phishing(snap, &mut mails);
    let mut clicks = snap.rng("UrlClickEvents");
    for m in &mails {
        emit(snap, t, &mut rng, &mut clicks, m);
    }
}

/// The campaign: the victim and four colleagues get the invoice lure within a minute.
fn phishing(snap: &Snapshot, mails: &mut Vec<Mail>) {
    let Some(vi) = snap.victim_device() else {
        return;
    };
    let victim = snap.users.iter().position(|u| u.upn == snap.owner(vi).upn).unwrap_or(0);
    let start = snap.story_start();
    for k in 0..5usize {
        let recipient = if k == 0 { victim } else { (victim + k * 5) % snap.users.len() };
        let junked = k >= 3;
        mails.push(Mail {
            when: start + k as i64 * 11 * TICKS_PER_SECOND,
            sender: format!("billing@{PHISH_DOMAIN}"),
            sender_name: "Contoso Billing".into(),
            sender_domain: PHISH_DOMAIN.into(),
            recipient,
            subject: "Overdue invoice INV-2291 - action required".into(),
            direction: "Inbound",
            action: if junked { "Junked" } else { "Delivered" },
            location: if junked { "Junk folder" } else { "Inbox/folder" },
            threats: if junked { "Phish" } else { "" },
            urls: vec![PHISH_URL.into()],
            attachments: vec![],
            sender_ip: "185.225.17.21".into(),
        });
    }
}

fn emit(snap: &Snapshot, t: &mut Tables, rng: &mut StdRng, clicks: &mut StdRng, m: &Mail) {
    let (id, internet_id) = message_ids(rng, &m.sender_domain);
    let r = &snap.users[m.recipient];
    let report = format!("{id}-{}", m.recipient);
    let auth = if m.direction == "Intra-org" {
        json!({"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "CompAuth": "pass"})
    } else if m.sender_domain == PHISH_DOMAIN {
        json!({"SPF": "pass", "DKIM": "none", "DMARC": "none", "CompAuth": "softpass"})
    } else {
        json!({"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "CompAuth": "pass"})
    };
    let (methods, confidence) = match m.threats {
        "Spam" => (json!({"Spam": ["Mixed analysis detection"]}), json!({"Spam": "Normal"})),
        "Phish" => (json!({"Phish": ["URL detonation reputation"]}), json!({"Phish": "High"})),
        _ => (json!({}), json!({})),
    };
    t.push(
        "EmailEvents",
        vec![
            ("Timestamp", dt(m.when)),
            ("NetworkMessageId", s(&id)),
            ("InternetMessageId", s(&internet_id)),
            ("SenderMailFromAddress", s(&m.sender)),
            ("SenderFromAddress", s(&m.sender)),
            ("SenderDisplayName", s(&m.sender_name)),
            ("SenderMailFromDomain", s(&m.sender_domain)),
            ("SenderFromDomain", s(&m.sender_domain)),
            ("SenderIPv4", s(&m.sender_ip)),
            ("RecipientEmailAddress", s(&r.upn)),
            ("RecipientObjectId", s(&r.id)),
            ("Subject", s(&m.subject)),
            ("EmailDirection", s(m.direction)),
            ("DeliveryAction", s(m.action)),
            ("DeliveryLocation", s(m.location)),
            ("LatestDeliveryAction", s(m.action)),
            ("LatestDeliveryLocation", s(m.location)),
            ("ThreatTypes", s(m.threats)),
            ("DetectionMethods", json_text(methods.clone())),
            ("ConfidenceLevel", json_text(confidence)),
            ("AuthenticationDetails", json_text(auth)),
            ("AttachmentCount", int(m.attachments.len() as i32)),
            ("UrlCount", int(m.urls.len() as i32)),
            ("EmailLanguage", s("en")),
            ("Connectors", s("")),
            ("ReportId", s(&report)),
        ],
    );
    for a in &m.attachments {
        let h = hashes(a);
        t.push(
            "EmailAttachmentInfo",
            vec![
                ("Timestamp", dt(m.when)),
                ("NetworkMessageId", s(&id)),
                ("SenderFromAddress", s(&m.sender)),
                ("SenderDisplayName", s(&m.sender_name)),
                ("RecipientEmailAddress", s(&r.upn)),
                ("RecipientObjectId", s(&r.id)),
                ("FileName", s(a)),
                ("FileType", s(a.rsplit('.').next().unwrap_or(""))),
                ("SHA256", s(&h.sha256)),
                ("FileSize", long(h.size)),
                ("ThreatTypes", s("")),
                ("ReportId", s(&report)),
            ],
        );
    }
    for u in &m.urls {
        let domain = u.split('/').nth(2).unwrap_or("");
        t.push(
            "EmailUrlInfo",
            vec![
                ("Timestamp", dt(m.when)),
                ("NetworkMessageId", s(&id)),
                ("Url", s(u)),
                ("UrlDomain", s(domain)),
                ("UrlLocation", s("Body")),
                ("ReportId", s(&report)),
            ],
        );
        let phish = u == PHISH_URL;
        let victim = snap.victim_device().map(|vi| snap.owner(vi).upn == r.upn).unwrap_or(false);
        let clicked =
            m.action == "Delivered" && if phish { victim || clicks.random_bool(0.5) } else { clicks.random_bool(0.15) };
        if !clicked {
            continue;
        }
        // The victim's click is allowed (the URL was not known yet); later clicks on the
        // same link are blocked once detonation flagged it.
        let (action, threats, delay) = if phish && !victim {
            ("ClickBlocked", "Phish", 4 * TICKS_PER_HOUR)
        } else if phish {
            ("ClickAllowed", "", 12 * TICKS_PER_MINUTE)
        } else {
            ("ClickAllowed", "", clicks.random_range(TICKS_PER_MINUTE..8 * TICKS_PER_HOUR))
        };
        let at = (m.when + delay).min(snap.anchor - TICKS_PER_MINUTE);
        let ip = snap
            .devices
            .iter()
            .enumerate()
            .find(|(i, _)| snap.owner(*i).upn == r.upn)
            .map(|(_, d)| d.public_ip.clone())
            .unwrap_or_default();
        t.push(
            "UrlClickEvents",
            vec![
                ("Timestamp", dt(at)),
                ("TimeGenerated", dt(at)),
                ("Url", s(u)),
                ("ActionType", s(action)),
                ("AccountUpn", s(&r.upn)),
                ("Workload", s("Email")),
                ("NetworkMessageId", s(&id)),
                ("ThreatTypes", s(threats)),
                ("DetectionMethods", s(if threats.is_empty() { "" } else { "[\"URL detonation reputation\"]" })),
                ("IPAddress", s(&ip)),
                ("IsClickedThrough", boolean(false)),
                ("UrlChain", json_text(json!([u]))),
                ("ReportId", s(&format!("{report}-click"))),
                ("AppName", s("Outlook")),
                ("TenantId", s(&snap.tenant_id)),
            ],
        );
    }
}
