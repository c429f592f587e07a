//! The seeded world: tenants with their app registration, MDE machines, Entra users and an
//! Azure subscription.
//!
//! Everything structural (ids, names, secrets, attributes) comes from one seed, so the same seed
//! always yields the same world. Timestamps are relative to the sandbox clock at start (a world
//! pinned to a fixed date would make every machine look offline), so they are the one part that
//! differs between runs.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

pub mod arm;
pub mod azure_data;
pub mod cloud_apps;
pub mod directory;
pub mod graph;
pub mod identity;
pub mod intune;
pub mod mail;
pub mod mdc;
pub mod mde;

pub const MACHINES_PER_TENANT: usize = 60;
pub const USERS_PER_TENANT: usize = 40;

/// App permissions granted to each tenant's app, per resource. They end up in the token's
/// `roles` claim; APIs answer 403 when the role an operation needs is missing.
pub const GRAPH_ROLES: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "User.EnableDisableAccount.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "SecurityAlert.ReadWrite.All",
    "SecurityIncident.ReadWrite.All",
    "ThreatHunting.Read.All",
    "IdentityRiskyUser.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "BitlockerKey.Read.All",
    "BitlockerKey.ReadBasic.All",
    "DeviceManagementApps.ReadWrite.All",
    "ThreatSubmission.ReadWrite.All",
    "CustomDetection.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Files.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    "IdentityRiskEvent.Read.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "RoleManagement.ReadWrite.Directory",
    "AuditLog.Read.All",
    "Application.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "RoleManagementAlert.ReadWrite.Directory",
    "SecurityAnalyzedMessage.ReadWrite.All",
    "MailboxSettings.ReadWrite",
    "SecurityIdentitiesAccount.Read.All",
    "SecurityIdentitiesActions.ReadWrite.All",
    "SecurityEvents.Read.All",
    "AttackSimulation.ReadWrite.All",
];
pub const MDE_ROLES: &[&str] = &[
    "Machine.Read.All",
    "Machine.ReadWrite.All",
    "Machine.Isolate",
    "Machine.RestrictExecution",
    "Machine.Scan",
    "Machine.CollectForensics",
    "Machine.Offboard",
    "Machine.StopAndQuarantine",
    "Machine.LiveResponse",
    "Alert.Read.All",
    "Alert.ReadWrite.All",
    "Ti.ReadWrite.All",
    "AdvancedQuery.Read.All",
    "Library.Manage",
    "Vulnerability.Read.All",
    "Software.Read.All",
    "SecurityRecommendation.Read.All",
    "RemediationTasks.Read.All",
    "User.Read.All",
];

pub struct World {
    pub tenants: Vec<Tenant>,
}

impl World {
    pub fn generate(seed: u64, tenants: usize, now: OffsetDateTime) -> World {
        let tenants = (0..tenants).map(|i| Tenant::generate(seed, i, now)).collect();
        World { tenants }
    }

    /// Accepts the tenant GUID (any case) or its `<name>.onmicrosoft.com` domain.
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.matches(id_or_domain))
    }

    pub fn tenant_mut(&mut self, id_or_domain: &str) -> Option<&mut Tenant> {
        self.tenants.iter_mut().find(|t| t.matches(id_or_domain))
    }
}

pub struct Tenant {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_id: String,
    /// Object id of the app's service principal: the token's `oid`/`sub`.
    pub sp_object_id: String,
    /// `contoso-1`: used in domains and DNS names.
    pub name: String,
    pub display_name: String,
    pub graph_roles: Vec<String>,
    pub mde_roles: Vec<String>,
    /// Defender for Endpoint / XDR data (`world/mde.rs`).
    pub mde: mde::MdeState,
    /// Entra directory and Graph security data (`world/graph.rs`).
    pub graph: graph::GraphState,
    /// The Azure subscription as ARM serves it (`world/arm.rs`).
    pub arm: arm::ArmStore,
    /// Intune managed devices and BitLocker recovery keys (`world/intune.rs`).
    pub intune: intune::IntuneState,
    /// Defender for Cloud Apps data and the OAuth consents it shows (`world/cloud_apps.rs`).
    pub cloud_apps: cloud_apps::CloudAppsState,
    /// Defender for Office 365: mailboxes, inbox rules, remediations, submissions (`world/mail.rs`).
    pub mail: mail::MailState,
    /// Defender for Identity: identity accounts and Secure Score (`world/identity.rs`).
    pub identity: identity::IdentityState,
}

impl Tenant {
    pub fn domain(&self) -> String {
        format!("{}.onmicrosoft.com", self.name)
    }

    fn matches(&self, id_or_domain: &str) -> bool {
        self.tenant_id.eq_ignore_ascii_case(id_or_domain) || self.domain().eq_ignore_ascii_case(id_or_domain)
    }

    pub fn machine(&self, id: &str) -> Option<&Machine> {
        self.mde.machines.iter().find(|m| m.id.eq_ignore_ascii_case(id))
    }

    pub fn machine_mut(&mut self, id: &str) -> Option<&mut Machine> {
        self.mde.machines.iter_mut().find(|m| m.id.eq_ignore_ascii_case(id))
    }

    /// Graph addresses users by object id or by UPN (case-insensitive).
    pub fn user_index(&self, id_or_upn: &str) -> Option<usize> {
        self.graph
            .users
            .iter()
            .position(|u| u.id.eq_ignore_ascii_case(id_or_upn) || u.user_principal_name.eq_ignore_ascii_case(id_or_upn))
    }

    fn generate(seed: u64, index: usize, now: OffsetDateTime) -> Tenant {
        // One stream per tenant, so adding tenants never changes the earlier ones.
        let mut rng = StdRng::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let n = index + 1;
        let name = format!("contoso-{n}");
        let tenant_id = guid(&mut rng);
        let client_id = guid(&mut rng);
        let client_secret = secret(&mut rng);
        let subscription_id = guid(&mut rng);
        let sp_object_id = guid(&mut rng);
        let mut users = (0..USERS_PER_TENANT).map(|i| User::generate(&mut rng, i, &name, now)).collect::<Vec<_>>();
        dedupe_upns(&mut users);
        let mut machines =
            (0..MACHINES_PER_TENANT).map(|i| Machine::generate(&mut rng, i, n, &name, now)).collect::<Vec<_>>();
        let mut arm = arm::ArmStore::seed(&mut rng, &subscription_id, &mut machines);
        let intune = intune::IntuneState::seed(seed, index, &machines, &users, now);
        azure_data::seed(&mut arm, seed, index, &tenant_id, &name, now);
        mdc::seed(&mut arm, &tenant_id, &sp_object_id, now);
        // Alerts draw from their own stream, so they never shift the ids drawn above.
        let (mut alerts, mut incidents) =
            crate::mde::alerts::seed(seed, index, &tenant_id, &name, &machines, &users, now);
        crate::graph::security::seed_cross_product(
            seed,
            index,
            &tenant_id,
            &name,
            &users,
            now,
            &mut alerts,
            &mut incidents,
        );
        crate::graph::cloud_alerts::seed(&tenant_id, now, &mut alerts, &mut incidents);
        let mail = mail::seed(seed, index, &users, now);
        let identity = identity::seed(seed, index, &name, &tenant_id, &users, now);
        let mut directory = directory::seed(seed, index, &users, now);
        crate::graph::applications::own_last(&mut directory.applications, &client_id);
        let cloud_apps = cloud_apps::CloudAppsState::seed(seed, index, &users, &mut directory.service_principals, now);
        Tenant {
            tenant_id,
            client_id,
            client_secret,
            subscription_id,
            sp_object_id,
            display_name: format!("Contoso {n}"),
            name,
            graph_roles: GRAPH_ROLES.iter().map(|s| s.to_string()).collect(),
            mde_roles: MDE_ROLES.iter().map(|s| s.to_string()).collect(),
            mde: mde::MdeState {
                machines,
                actions: Vec::new(),
                library: crate::mde::library::seed(now - Duration::days(90)),
                investigations: Vec::new(),
                devices: Default::default(),
                alerts,
                incidents,
                indicators: Default::default(),
            },
            graph: graph::GraphState {
                directory,
                users,
                detection_rules: Default::default(),
                password_resets: Default::default(),
            },
            arm,
            cloud_apps,
            intune,
            mail,
            identity,
        }
    }
}

pub fn guid(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Entra client secrets look like `abc8Q~` followed by 34 more characters.
fn secret(rng: &mut StdRng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = String::with_capacity(40);
    for _ in 0..3 {
        s.push(CHARS[rng.random_range(0..CHARS.len())] as char);
    }
    s.push_str("8Q~");
    for _ in 0..34 {
        s.push(CHARS[rng.random_range(0..CHARS.len())] as char);
    }
    s
}

fn weighted<'a>(rng: &mut StdRng, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    items[0].0
}

/// An MDE machine. Fields mirror the documented Machine entity; the `isolation` etc. fields are
/// the sandbox's record of what completed actions did (shown by state inspection only, as MDE
/// itself does not expose them on the entity).
#[derive(Clone)]
pub struct Machine {
    pub id: String,
    pub computer_dns_name: String,
    pub os_platform: String,
    pub version: String,
    pub os_build: Option<u32>,
    pub os_processor: String,
    pub first_seen: OffsetDateTime,
    /// `None` = the device reports in continuously (lastSeen follows the clock).
    pub last_seen_fixed: Option<OffsetDateTime>,
    pub last_seen_lag_secs: i64,
    pub health_status: String,
    pub onboarding_status: String,
    pub risk_score: String,
    pub exposure_level: String,
    pub device_value: String,
    pub last_ip_address: String,
    /// An earlier DHCP lease: (address, held until); `last_ip_address` is held since then.
    pub previous_ip: Option<(String, OffsetDateTime)>,
    pub last_external_ip_address: String,
    pub mac_address: String,
    pub rbac_group_id: u32,
    pub rbac_group_name: String,
    pub is_aad_joined: bool,
    pub aad_device_id: Option<String>,
    pub machine_tags: Vec<String>,
    pub agent_version: String,
    pub managed_by: String,
    /// Set when the machine is also an Azure VM: (vmId, resourceId, subscriptionId).
    pub vm: Option<(String, String, String)>,
    pub isolation: Option<String>,
    pub code_restricted: bool,
    pub offboarded: bool,
    pub last_av_scan: Option<(String, OffsetDateTime)>,
    pub quarantined_sha1: Vec<String>,
    pub investigation_packages: u32,
}

impl Machine {
    fn generate(rng: &mut StdRng, i: usize, tenant_n: usize, tenant_name: &str, now: OffsetDateTime) -> Machine {
        const PLATFORMS: &[&str] = &["Windows10", "Windows11", "WindowsServer2019", "Linux", "macOS"];
        // The first five cover every platform; machines 0..6 are online, 6..9 cover every
        // offline health state, the rest are weighted draws.
        let os = if i < PLATFORMS.len() {
            PLATFORMS[i]
        } else {
            weighted(
                rng,
                &[("Windows10", 35), ("Windows11", 25), ("WindowsServer2019", 15), ("Linux", 15), ("macOS", 10)],
            )
        };
        let health = match i {
            0..=5 => "Active",
            6 => "Inactive",
            7 => "ImpairedCommunication",
            8 => "NoSensorData",
            _ => weighted(rng, &[("Active", 75), ("Inactive", 10), ("ImpairedCommunication", 8), ("NoSensorData", 7)]),
        };
        let prefix = match os {
            "WindowsServer2019" => "srv",
            "Linux" => "lnx",
            "macOS" => "mac",
            _ => "ws",
        };
        let id_bytes: [u8; 20] = rng.random();
        let (version, os_build) = match os {
            "Windows10" => {
                *[("22H2", Some(19045)), ("21H2", Some(19044))].choose(rng).unwrap_or(&("22H2", Some(19045)))
            }
            "Windows11" => {
                *[("23H2", Some(22631)), ("22H2", Some(22621))].choose(rng).unwrap_or(&("23H2", Some(22631)))
            }
            "WindowsServer2019" => ("1809", Some(17763)),
            "Linux" => *[("22.4", None), ("20.4", None)].choose(rng).unwrap_or(&("22.4", None)),
            _ => *[("14.5", None), ("13.6", None)].choose(rng).unwrap_or(&("14.5", None)),
        };
        let last_seen_fixed = match health {
            "Active" => None,
            "Inactive" => Some(now - Duration::days(rng.random_range(8..60))),
            "ImpairedCommunication" => Some(now - Duration::hours(rng.random_range(24..72))),
            _ => Some(now - Duration::days(rng.random_range(2..14))),
        };
        let onboarding = if health == "NoSensorData" {
            weighted(rng, &[("Onboarded", 2), ("InsufficientInfo", 1)])
        } else {
            "Onboarded"
        };
        let is_client_windows = os == "Windows10" || os == "Windows11";
        let is_aad_joined = is_client_windows && rng.random_bool(0.8);
        let aad_device_id = if is_aad_joined { Some(guid(rng)) } else { None };
        let mut tags = Vec::new();
        for tag in ["VIP", "Finance", "Engineering", "Kiosk", "Critical", "Test"] {
            if rng.random_bool(0.12) {
                tags.push(tag.to_string());
            }
        }
        let (rbac_group_id, rbac_group_name) = match os {
            "WindowsServer2019" | "Linux" => (2, "Servers"),
            "macOS" => (3, "Unassigned"),
            _ => (1, "Workstations"),
        };
        let mac: [u8; 6] = rng.random();
        Machine {
            id: hex::encode(id_bytes),
            computer_dns_name: format!("{prefix}-{:04}.{tenant_name}.local", i + 1),
            os_platform: os.to_string(),
            version: version.to_string(),
            os_build,
            os_processor: "x64".into(),
            first_seen: now - Duration::days(rng.random_range(30..400)),
            last_seen_fixed,
            last_seen_lag_secs: rng.random_range(60..3600),
            health_status: health.to_string(),
            onboarding_status: onboarding.to_string(),
            risk_score: weighted(
                rng,
                &[("None", 30), ("Informational", 10), ("Low", 25), ("Medium", 20), ("High", 15)],
            )
            .to_string(),
            exposure_level: weighted(rng, &[("None", 10), ("Low", 40), ("Medium", 35), ("High", 15)]).to_string(),
            device_value: weighted(rng, &[("Normal", 80), ("High", 15), ("Low", 5)]).to_string(),
            last_ip_address: format!("10.{}.{}.{}", tenant_n, i / 200, i % 200 + 10),
            // Every seventh online machine moved from another lease three days ago (no RNG
            // draw, so the rest of the world is unchanged).
            previous_ip: (i % 7 == 2 && health == "Active")
                .then(|| (format!("10.{tenant_n}.100.{}", i + 10), now - Duration::days(3))),
            last_external_ip_address: format!(
                "20.{}.{}.{}",
                rng.random_range(1..255),
                rng.random_range(0..255),
                rng.random_range(1..255)
            ),
            mac_address: hex::encode_upper(mac),
            rbac_group_id,
            rbac_group_name: rbac_group_name.to_string(),
            is_aad_joined,
            aad_device_id,
            machine_tags: tags,
            agent_version: format!(
                "10.8{}.{}.{}",
                rng.random_range(700..800),
                os_build.unwrap_or(0),
                rng.random_range(1000..9999)
            ),
            managed_by: if is_client_windows { "Intune".into() } else { "MicrosoftDefenderForEndpoint".into() },
            vm: None,
            isolation: None,
            code_restricted: false,
            offboarded: false,
            last_av_scan: None,
            quarantined_sha1: Vec::new(),
            investigation_packages: 0,
        }
    }

    /// A machine that does not report in cannot pick up actions: they stay Pending, then TimeOut.
    pub fn is_online(&self) -> bool {
        !self.offboarded && self.health_status == "Active"
    }

    pub fn last_seen(&self, now: OffsetDateTime) -> OffsetDateTime {
        self.last_seen_fixed.unwrap_or_else(|| now - Duration::seconds(self.last_seen_lag_secs))
    }

    pub fn short_name(&self) -> &str {
        self.computer_dns_name.split('.').next().unwrap_or(&self.computer_dns_name)
    }

    pub fn is_windows(&self) -> bool {
        self.os_platform.starts_with("Windows")
    }
}

/// An Entra user (the v1.0 `user` resource, a useful subset).
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub given_name: String,
    pub surname: String,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub account_enabled: bool,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    pub mobile_phone: Option<String>,
    pub business_phones: Vec<String>,
    pub preferred_language: Option<String>,
    pub usage_location: Option<String>,
    pub employee_id: Option<String>,
    pub company_name: Option<String>,
    pub created: OffsetDateTime,
    pub sign_in_sessions_valid_from: OffsetDateTime,
    /// When revokeSignInSessions last ran (sandbox bookkeeping).
    pub sessions_revoked_at: Option<OffsetDateTime>,
    pub password_changed_at: Option<OffsetDateTime>,
}

impl User {
    fn generate(rng: &mut StdRng, i: usize, tenant_name: &str, now: OffsetDateTime) -> User {
        const FIRST: &[&str] = &[
            "Adele",
            "Alex",
            "Allan",
            "Diego",
            "Grady",
            "Henrietta",
            "Isaiah",
            "Johanna",
            "Joni",
            "Lee",
            "Lidia",
            "Lynne",
            "Megan",
            "Miriam",
            "Nestor",
            "Patti",
            "Pradeep",
            "Priya",
            "Omar",
            "Sofia",
        ];
        const LAST: &[&str] = &[
            "Vance",
            "Wilber",
            "Deyoung",
            "Siciliani",
            "Archie",
            "Cameron",
            "Langer",
            "Lauer",
            "Sherman",
            "Gu",
            "Holloway",
            "Robbins",
            "Bowen",
            "Graham",
            "Wilke",
            "Fernandez",
            "Gupta",
            "Nair",
            "Haddad",
            "Rossi",
        ];
        const DEPARTMENTS: &[(&str, &[&str])] = &[
            ("Finance", &["Accountant", "Financial Analyst", "CFO"]),
            ("Engineering", &["Software Engineer", "SRE", "Engineering Manager"]),
            ("Sales", &["Account Executive", "Sales Manager"]),
            ("Marketing", &["Marketing Specialist", "Brand Manager"]),
            ("HR", &["HR Partner", "Recruiter"]),
            ("IT", &["IT Administrator", "Helpdesk Technician", "Security Analyst"]),
            ("Legal", &["Counsel", "Paralegal"]),
            ("Operations", &["Operations Manager", "Logistics Coordinator"]),
        ];
        let first = *FIRST.choose(rng).unwrap_or(&"Alex");
        let last = *LAST.choose(rng).unwrap_or(&"Smith");
        let (dept, titles) = *DEPARTMENTS.choose(rng).unwrap_or(&DEPARTMENTS[0]);
        let title = *titles.choose(rng).unwrap_or(&"Employee");
        let nickname = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let upn = format!("{nickname}@{tenant_name}.onmicrosoft.com");
        let created = now - Duration::days(rng.random_range(30..1500));
        User {
            id: guid(rng),
            user_principal_name: upn.clone(),
            display_name: format!("{first} {last}"),
            given_name: first.to_string(),
            surname: last.to_string(),
            mail: Some(upn),
            mail_nickname: nickname,
            // User 0 stays enabled so callers always have a known-enabled account.
            account_enabled: i == 0 || !rng.random_bool(0.06),
            job_title: Some(title.to_string()),
            department: Some(dept.to_string()),
            office_location: Some(
                (*["Building 1", "Building 2", "Remote"].choose(rng).unwrap_or(&"Remote")).to_string(),
            ),
            mobile_phone: Some(format!("+1 425 555 {:04}", rng.random_range(100..9999))),
            business_phones: vec![format!("+1 425 555 {:04}", 100 + i)],
            preferred_language: Some("en-US".into()),
            usage_location: Some("US".into()),
            employee_id: Some(format!("E{:05}", 1000 + i)),
            company_name: None,
            created,
            sign_in_sessions_valid_from: created,
            sessions_revoked_at: None,
            password_changed_at: None,
        }
    }
}

/// Same first+last drawn twice: give the later one a numeric suffix, like admins do.
fn dedupe_upns(users: &mut [User]) {
    let mut seen = std::collections::HashSet::new();
    for u in users.iter_mut() {
        let domain =
            u.user_principal_name.find('@').map(|at| u.user_principal_name[at..].to_string()).unwrap_or_default();
        let base = u.mail_nickname.clone();
        let mut nick = base.clone();
        let mut n = 2;
        while !seen.insert(nick.clone()) {
            nick = format!("{base}{n}");
            n += 1;
        }
        u.user_principal_name = format!("{nick}{domain}");
        u.mail = Some(u.user_principal_name.clone());
        u.mail_nickname = nick;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn same_seed_same_world() {
        let a = World::generate(7, 3, now());
        let b = World::generate(7, 3, now());
        for (x, y) in a.tenants.iter().zip(&b.tenants) {
            assert_eq!(x.tenant_id, y.tenant_id);
            assert_eq!(x.client_secret, y.client_secret);
            assert_eq!(
                x.mde.machines.iter().map(|m| &m.id).collect::<Vec<_>>(),
                y.mde.machines.iter().map(|m| &m.id).collect::<Vec<_>>()
            );
            assert_eq!(
                x.graph.users.iter().map(|u| &u.user_principal_name).collect::<Vec<_>>(),
                y.graph.users.iter().map(|u| &u.user_principal_name).collect::<Vec<_>>()
            );
        }
        let c = World::generate(8, 3, now());
        assert_ne!(a.tenants[0].tenant_id, c.tenants[0].tenant_id);
    }

    #[test]
    fn world_has_required_variety() {
        let w = World::generate(1, 2, now());
        for t in &w.tenants {
            assert!(t.mde.machines.len() >= 50);
            assert_eq!(t.graph.users.len(), 40);
            for os in ["Windows10", "Windows11", "WindowsServer2019", "Linux", "macOS"] {
                assert!(t.mde.machines.iter().any(|m| m.os_platform == os), "{os}");
            }
            for h in ["Active", "Inactive", "ImpairedCommunication", "NoSensorData"] {
                assert!(t.mde.machines.iter().any(|m| m.health_status == h), "{h}");
            }
            assert!(t.mde.machines.iter().all(|m| m.id.len() == 40));
            let mut upns: Vec<_> = t.graph.users.iter().map(|u| u.user_principal_name.clone()).collect();
            upns.sort();
            upns.dedup();
            assert_eq!(upns.len(), 40, "UPNs must be unique");
            assert!(!t.arm.vms().is_empty());
            assert!(t.client_secret.len() == 40);
        }
    }
}
