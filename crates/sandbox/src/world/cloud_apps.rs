//! A tenant's Defender for Cloud Apps data (served on the Cloud Apps portal API by
//! `cloud_apps/mod.rs`) and the OAuth consent data Cloud Apps shows but Graph owns
//! (`oauth2PermissionGrants`, app role assignments; served by `cloud_apps/consents.rs`).
//!
//! The OAuth apps are service principals of the Entra directory (`world/directory.rs`): the
//! third-party apps seeded here are added to that list, so Graph's `servicePrincipals` routes
//! (disable, read) see them. Seeded from its own random stream.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::directory::ServicePrincipal;
use super::{User, guid};
use crate::clock::fmt_utc;

/// Cloud Apps app roles granted to each tenant's app (token `roles` for the Cloud Apps audience).
pub const CLOUD_APPS_ROLES: &[&str] =
    &["Investigation.read", "Investigation.manage", "Discovery.read", "Discovery.manage"];

/// Alert resolution (`resolutionStatusValue`, api-alerts): 0 open, 1 dismissed, 2 resolved,
/// 3 false positive, 4 benign, 5 true positive.
pub const OPEN: u8 = 0;
pub const FALSE_POSITIVE: u8 = 3;
pub const BENIGN: u8 = 4;
pub const TRUE_POSITIVE: u8 = 5;

/// A Cloud Apps alert (api-alerts properties).
#[derive(Clone, Debug)]
pub struct CloudAppsAlert {
    /// A 24-hex-digit object id, like Microsoft's.
    pub id: String,
    pub timestamp: OffsetDateTime,
    pub title: String,
    pub description: String,
    /// 0 low, 1 medium, 2 high, 3 informational.
    pub severity: u8,
    /// 0 unread, 1 read, 2 archived.
    pub status: u8,
    pub resolution: u8,
    pub resolution_date: Option<OffsetDateTime>,
    /// The close comment and reason id, when closed through the API.
    pub close_comment: Option<String>,
    pub close_reason: Option<i64>,
    pub user: String,
    pub app: (u32, &'static str),
    pub ip: String,
}

/// A delegated permission grant (`oauth2PermissionGrant`): a user's (or every user's) consent
/// for a client app to call a resource with scopes.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    /// The client's service principal object id.
    pub client_id: String,
    /// `Principal` (one user) or `AllPrincipals` (admin consent for everyone).
    pub consent_type: &'static str,
    pub principal_id: Option<String>,
    /// The resource's service principal object id (Microsoft Graph's, here).
    pub resource_id: String,
    pub scope: String,
}

/// An app role assignment (`appRoleAssignment`): a user assigned to an app.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub id: String,
    pub app_role_id: String,
    pub principal_id: String,
    pub principal_display_name: String,
    pub resource_id: String,
    pub resource_display_name: String,
    pub created: OffsetDateTime,
}

/// An app of the Cloud Discovery catalog; `banned` apps appear in block scripts.
#[derive(Clone, Debug)]
pub struct DiscoveredApp {
    pub app_id: u32,
    pub name: &'static str,
    pub category: &'static str,
    pub domains: &'static [&'static str],
    pub score: u8,
    pub banned: bool,
}

/// A permission on a drive item (Graph `permission`): a sharing link, a direct grant, the
/// owner, or one inherited from the parent (which can only be changed there).
#[derive(Clone, Debug)]
pub struct Permission {
    pub id: String,
    pub roles: Vec<&'static str>,
    /// `anonymous`, `organization` or `users` for a sharing link.
    pub link_scope: Option<&'static str>,
    pub grantee: Option<String>,
    pub inherited: bool,
}

/// A OneDrive item (Graph `driveItem`): the files Cloud Apps lists live in users' drives.
#[derive(Clone, Debug)]
pub struct DriveItem {
    pub id: String,
    pub drive_id: String,
    pub name: String,
    /// `None` for a drive's root.
    pub parent_id: Option<String>,
    pub folder: bool,
    pub owner: String,
    pub size: u64,
    pub deleted: bool,
    pub permissions: Vec<Permission>,
    /// The Cloud Apps file id of the same file, when Cloud Apps lists it.
    pub cloud_apps_id: Option<String>,
    /// The sensitivity label assigned (`assignSensitivityLabel`): (label id, assignment method).
    pub label: Option<(String, String)>,
}

#[derive(Default)]
pub struct CloudAppsState {
    pub roles: Vec<String>,
    pub alerts: Vec<CloudAppsAlert>,
    pub activities: Vec<Value>,
    pub files: Vec<Value>,
    pub apps: Vec<DiscoveredApp>,
    pub grants: Vec<Grant>,
    pub assignments: Vec<Assignment>,
    /// Graph's own service principal object id in this tenant (grants' `resourceId`).
    pub graph_sp_id: String,
    /// Users' OneDrive items (roots, folders, files), served by `cloud_apps/drives.rs`.
    pub drive_items: Vec<DriveItem>,
}

/// Third-party OAuth apps users consented to: (name, delegated scopes).
const OAUTH_APPS: &[(&str, &str)] = &[
    ("FreePDF Converter Pro", "Mail.ReadWrite Files.ReadWrite.All offline_access"),
    ("Calendar Sync Helper", "Calendars.ReadWrite User.Read offline_access"),
    ("Survey Monkeyish", "User.Read"),
];

/// A discovered app: (id, name, category, domains, risk score 0-10, unsanctioned by default).
type CatalogApp = (u32, &'static str, &'static str, &'static [&'static str], u8, bool);

const CATALOG: &[CatalogApp] = &[
    (11161, "Microsoft 365", "Collaboration", &["office.com", "sharepoint.com"], 10, false),
    (15600, "Microsoft OneDrive for Business", "Cloud storage", &["onedrive.com"], 10, false),
    (20893, "Dropbox", "Cloud storage", &["dropbox.com", "dropboxusercontent.com"], 9, false),
    (26060, "WeTransfer", "Cloud storage", &["wetransfer.com", "we.tl"], 6, true),
    (28375, "Mega", "Cloud storage", &["mega.nz", "mega.io"], 4, true),
];

impl CloudAppsState {
    /// Seeds alerts, activities, files, the discovery catalog, and OAuth consents (adding the
    /// third-party apps to `service_principals`).
    pub fn seed(
        seed: u64,
        index: usize,
        users: &[User],
        service_principals: &mut Vec<ServicePrincipal>,
        now: OffsetDateTime,
    ) -> CloudAppsState {
        let mut rng = StdRng::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0xCA05_0A99_0000_0005) ^ 0x0CA5);
        let mut s = CloudAppsState {
            roles: CLOUD_APPS_ROLES.iter().map(|r| r.to_string()).collect(),
            graph_sp_id: guid(&mut rng),
            ..Default::default()
        };
        s.apps = CATALOG
            .iter()
            .map(|&(app_id, name, category, domains, score, banned)| DiscoveredApp {
                app_id,
                name,
                category,
                domains,
                score,
                banned,
            })
            .collect();
        for (i, u) in users.iter().take(12).enumerate() {
            s.alerts.push(alert(&mut rng, i, u, now));
            for k in 0..3 {
                s.activities.push(activity(&mut rng, u, now - Duration::minutes((i * 40 + k * 7) as i64)));
            }
            let f = file(&mut rng, i, u, now);
            seed_drive(&mut s, &mut rng, u, &f);
            s.files.push(f);
        }
        seed_oauth(&mut s, &mut rng, users, service_principals, now);
        s
    }

    pub fn alert_mut(&mut self, id: &str) -> Option<&mut CloudAppsAlert> {
        self.alerts.iter_mut().find(|a| a.id.eq_ignore_ascii_case(id))
    }
}

fn object_id(rng: &mut StdRng) -> String {
    (0..12).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

const ALERT_KINDS: &[(&str, &str, u8)] = &[
    ("Impossible travel activity", "The user signed in from two countries within 40 minutes.", 2),
    ("Mass download by a single user", "The user downloaded 412 files from OneDrive in 5 minutes.", 1),
    ("Suspicious inbox forwarding", "An inbox rule forwards all mail to an external address.", 2),
    ("Activity from infrequent country", "The user signed in from a country not seen in the organization.", 0),
];

fn alert(rng: &mut StdRng, i: usize, u: &User, now: OffsetDateTime) -> CloudAppsAlert {
    let (title, description, severity) = ALERT_KINDS[i % ALERT_KINDS.len()];
    CloudAppsAlert {
        id: object_id(rng),
        timestamp: now - Duration::minutes(rng.random_range(10..5 * 24 * 60)),
        title: title.into(),
        description: description.into(),
        severity,
        status: (i % 2) as u8,
        resolution: OPEN,
        resolution_date: None,
        close_comment: None,
        close_reason: None,
        user: u.user_principal_name.clone(),
        app: (11161, "Microsoft 365"),
        ip: format!("198.51.100.{}", rng.random_range(1..255u8)),
    }
}

fn activity(rng: &mut StdRng, u: &User, at: OffsetDateTime) -> Value {
    const EVENTS: &[&str] = &["Log on", "Download file", "Create inbox rule", "Share file externally"];
    let event = EVENTS[rng.random_range(0..EVENTS.len())];
    json!({
        "_id": object_id(rng),
        "timestamp": at.unix_timestamp() * 1000,
        "appId": 11161,
        "appName": "Microsoft 365",
        "eventTypeName": event,
        "description": format!("{} by {}", event, u.user_principal_name),
        "user": { "userName": u.user_principal_name },
        "ipAddress": format!("198.51.100.{}", rng.random_range(1..255u8)),
        "device": { "clientIP": format!("10.0.{}.{}", rng.random_range(0..8u8), rng.random_range(2..250u8)) },
    })
}

fn file(rng: &mut StdRng, i: usize, u: &User, now: OffsetDateTime) -> Value {
    const NAMES: &[&str] = &["Q3-payroll.xlsx", "customer-list.csv", "board-deck.pptx", "passwords.txt"];
    json!({
        "_id": object_id(rng),
        "name": NAMES[i % NAMES.len()],
        "ownerAddress": u.user_principal_name,
        "appId": 15600,
        "appName": "Microsoft OneDrive for Business",
        "fileSize": rng.random_range(2_000..9_000_000u64),
        // 0 private, 1 internal, 2 external, 3 public, 4 public (internet).
        "sharing": (i % 5) as u8,
        "modifiedDate": (now - Duration::days(rng.random_range(1..60))).unix_timestamp() * 1000,
        "isFolder": false,
    })
}

/// One user's drive: its root, a `Projects` folder, and the file Cloud Apps lists, shared with
/// an anonymous link, an organization link, a colleague and an external guest.
fn seed_drive(s: &mut CloudAppsState, rng: &mut StdRng, u: &User, f: &Value) {
    let drive_id = format!("b!{}", object_id(rng));
    let domain = u.user_principal_name.split('@').nth(1).unwrap_or("contoso.com").to_string();
    let item = |rng: &mut StdRng, name: &str, parent: Option<&str>, folder: bool| DriveItem {
        id: format!("01{}", object_id(rng).to_uppercase()),
        drive_id: drive_id.clone(),
        name: name.to_string(),
        parent_id: parent.map(String::from),
        folder,
        owner: u.user_principal_name.clone(),
        size: 0,
        deleted: false,
        permissions: Vec::new(),
        cloud_apps_id: None,
        label: None,
    };
    let root = item(rng, "root", None, true);
    let projects = item(rng, "Projects", Some(&root.id), true);
    let mut file = item(rng, f["name"].as_str().unwrap_or("file.txt"), Some(&projects.id), false);
    file.size = f["fileSize"].as_u64().unwrap_or(0);
    file.cloud_apps_id = f["_id"].as_str().map(String::from);
    let mut perm = |roles: Vec<&'static str>, link: Option<&'static str>, grantee: Option<String>, inherited: bool| {
        Permission { id: object_id(rng), roles, link_scope: link, grantee, inherited }
    };
    file.permissions = vec![
        perm(vec!["owner"], None, Some(u.user_principal_name.clone()), true),
        perm(vec!["read"], Some("anonymous"), None, false),
        perm(vec!["read"], Some("organization"), None, false),
        perm(vec!["write"], None, Some(format!("finance-team@{domain}")), false),
        perm(vec!["read"], None, Some("partner@fabrikam.example".into()), false),
    ];
    s.drive_items.extend([root, projects, file]);
}

fn seed_oauth(
    s: &mut CloudAppsState,
    rng: &mut StdRng,
    users: &[User],
    service_principals: &mut Vec<ServicePrincipal>,
    now: OffsetDateTime,
) {
    for (k, (name, scope)) in OAUTH_APPS.iter().enumerate() {
        let sp = ServicePrincipal {
            id: guid(rng),
            app_id: guid(rng),
            display_name: (*name).to_string(),
            account_enabled: true,
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
        };
        // Four users consented to each app; the first app also holds an admin consent.
        for u in users.iter().skip(k * 4).take(4) {
            s.grants.push(Grant {
                id: grant_id(rng),
                client_id: sp.id.clone(),
                consent_type: "Principal",
                principal_id: Some(u.id.clone()),
                resource_id: s.graph_sp_id.clone(),
                scope: (*scope).to_string(),
            });
            s.assignments.push(Assignment {
                id: grant_id(rng),
                app_role_id: "00000000-0000-0000-0000-000000000000".into(),
                principal_id: u.id.clone(),
                principal_display_name: u.display_name.clone(),
                resource_id: sp.id.clone(),
                resource_display_name: sp.display_name.clone(),
                created: now - Duration::days(rng.random_range(5..200)),
            });
        }
        if k == 0 {
            s.grants.push(Grant {
                id: grant_id(rng),
                client_id: sp.id.clone(),
                consent_type: "AllPrincipals",
                principal_id: None,
                resource_id: s.graph_sp_id.clone(),
                scope: "User.Read".into(),
            });
        }
        service_principals.push(sp);
    }
}

/// Grant and assignment ids are opaque base64url strings at Microsoft.
fn grant_id(rng: &mut StdRng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    (0..43).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

impl Grant {
    pub fn graph_json(&self) -> Value {
        json!({
            "id": self.id,
            "clientId": self.client_id,
            "consentType": self.consent_type,
            "principalId": self.principal_id,
            "resourceId": self.resource_id,
            "scope": self.scope,
        })
    }
}

impl Assignment {
    pub fn graph_json(&self) -> Value {
        json!({
            "id": self.id,
            "deletedDateTime": null,
            "appRoleId": self.app_role_id,
            "createdDateTime": fmt_utc(self.created),
            "principalDisplayName": self.principal_display_name,
            "principalId": self.principal_id,
            "principalType": "User",
            "resourceDisplayName": self.resource_display_name,
            "resourceId": self.resource_id,
        })
    }
}

impl CloudAppsAlert {
    /// The alert as the Cloud Apps API answers it (api-alerts properties).
    pub fn api_json(&self) -> Value {
        json!({
            "_id": self.id,
            "timestamp": self.timestamp.unix_timestamp() * 1000,
            "title": self.title,
            "description": self.description,
            "isMarkdown": false,
            "statusValue": self.status,
            "severityValue": self.severity,
            "resolutionStatusValue": self.resolution,
            "resolveTime": self.resolution_date.map(fmt_utc),
            "entities": [
                { "type": "user", "id": self.user, "label": self.user, "pa": self.user },
                { "type": "service", "id": self.app.0, "label": self.app.1 },
                { "type": "ip", "id": self.ip, "label": self.ip },
            ],
            "stories": [0],
            "evidence": [],
            "intent": [1],
            "isPreview": false,
            "audits": self.close_comment.as_ref().map(|c| vec![json!({"comment": c, "reasonId": self.close_reason})]).unwrap_or_default(),
        })
    }
}

/// The `/_sandbox/state` view: alerts with their resolution, consents and app assignments.
pub fn state_json(s: &CloudAppsState) -> Value {
    json!({
        "alerts": s.alerts.iter().map(|a| {
            let mut v = a.api_json();
            v["closeComment"] = json!(a.close_comment);
            v["closeReasonId"] = json!(a.close_reason);
            v
        }).collect::<Vec<_>>(),
        "activities": s.activities,
        "files": s.files,
        "discoveredApps": s.apps.iter().map(|a| json!({
            "appId": a.app_id, "name": a.name, "category": a.category, "domains": a.domains, "score": a.score,
            "tag": if a.banned { "unsanctioned" } else { "none" },
        })).collect::<Vec<_>>(),
        "oauth2PermissionGrants": s.grants.iter().map(Grant::graph_json).collect::<Vec<_>>(),
        "appRoleAssignments": s.assignments.iter().map(Assignment::graph_json).collect::<Vec<_>>(),
        "driveItems": s.drive_items.iter().map(|i| {
            let mut v = i.graph_json();
            v["deleted"] = i.deleted.into();
            v["sensitivityLabel"] = i.label.as_ref().map(|(id, how)| json!({ "id": id, "assignmentMethod": how })).into();
            v["permissions"] = i.permissions.iter().map(|p| p.graph_json(i)).collect::<Vec<_>>().into();
            v
        }).collect::<Vec<_>>(),
    })
}

impl DriveItem {
    /// The item as Graph answers it (`driveItem`).
    pub fn graph_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "parentReference": { "driveId": self.drive_id, "driveType": "business", "id": self.parent_id },
            "createdBy": { "user": { "email": self.owner } },
        });
        if self.folder {
            v["folder"] = json!({ "childCount": 0 });
        } else {
            v["file"] = json!({ "mimeType": "application/octet-stream" });
        }
        if self.parent_id.is_none() {
            v["root"] = json!({});
        }
        v
    }
}

impl Permission {
    /// The permission as Graph answers it; an inherited one names the item it comes from.
    pub fn graph_json(&self, item: &DriveItem) -> Value {
        let mut v = json!({ "id": self.id, "roles": self.roles });
        if let Some(scope) = self.link_scope {
            v["link"] = json!({ "scope": scope, "type": "view", "webUrl": format!("https://contoso-my.sharepoint.com/:x:/s/{}", self.id) });
        }
        if let Some(g) = &self.grantee {
            v["grantedToV2"] = json!({ "user": { "email": g, "displayName": g } });
        }
        if self.inherited {
            v["inheritedFrom"] = json!({ "driveId": item.drive_id, "id": item.parent_id });
        }
        v
    }
}
