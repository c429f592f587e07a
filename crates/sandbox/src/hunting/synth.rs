//! Shared pieces of the table generators: a snapshot of the tenant's world (so generation runs
//! without holding the world lock), the seeded RNG, time and hash helpers, and the account /
//! process records that many tables repeat as column groups.

use hunt::value::Value;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::Digest;
use time::OffsetDateTime;

use crate::mde::alerts::Alert;
use crate::world::Tenant;

/// One row under construction: column name -> value. Columns left out are null.
pub type Row = Vec<(&'static str, Value)>;

pub const TICKS_PER_SECOND: i64 = hunt::value::TICKS_PER_SECOND;
pub const TICKS_PER_MINUTE: i64 = hunt::value::TICKS_PER_MINUTE;
pub const TICKS_PER_HOUR: i64 = hunt::value::TICKS_PER_HOUR;
pub const TICKS_PER_DAY: i64 = hunt::value::TICKS_PER_DAY;

/// The parts of a tenant the tables are built from, copied out of the world.
pub struct Snapshot {
    pub seed: u64,
    pub tenant_id: String,
    pub tenant_name: String,
    pub subscription_id: String,
    /// The sandbox clock when the tables were generated: every timestamp is before it.
    pub anchor: i64,
    pub devices: Vec<Device>,
    pub users: Vec<Person>,
    pub alerts: Vec<Alert>,
}

pub struct Device {
    pub id: String,
    pub name: String,
    pub os: String,
    pub version: String,
    pub os_build: Option<u32>,
    pub ip: String,
    pub public_ip: String,
    pub mac: String,
    pub group: String,
    pub aad_device_id: Option<String>,
    pub tags: Vec<String>,
    pub online: bool,
    pub onboarding: String,
    pub exposure: String,
    pub value: String,
    pub agent_version: String,
    pub azure_vm: Option<(String, String, String)>,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl Device {
    pub fn windows(&self) -> bool {
        self.os.starts_with("Windows")
    }
    pub fn server(&self) -> bool {
        self.os.contains("Server") || self.os == "Linux"
    }
}

pub struct Person {
    pub id: String,
    pub upn: String,
    /// SAM account name (`adele.vance`).
    pub name: String,
    pub display: String,
    pub given: String,
    pub surname: String,
    pub department: String,
    pub title: String,
    pub enabled: bool,
    pub sid: String,
    pub created: i64,
}

impl Snapshot {
    pub fn of(t: &Tenant, seed: u64, now: OffsetDateTime) -> Snapshot {
        let domain_sid = {
            let h = digest(&format!("domain-sid/{}", t.tenant_id));
            let n = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            format!("S-1-5-21-{}-{}-{}", n(0), n(4), n(8))
        };
        let devices = t
            .mde
            .machines
            .iter()
            .map(|m| Device {
                id: m.id.clone(),
                name: m.computer_dns_name.clone(),
                os: m.os_platform.clone(),
                version: m.version.clone(),
                os_build: m.os_build,
                ip: m.last_ip_address.clone(),
                public_ip: m.last_external_ip_address.clone(),
                mac: m.mac_address.clone(),
                group: m.rbac_group_name.clone(),
                aad_device_id: m.aad_device_id.clone(),
                tags: m.machine_tags.clone(),
                online: m.is_online(),
                onboarding: m.onboarding_status.clone(),
                exposure: m.exposure_level.clone(),
                value: m.device_value.clone(),
                agent_version: m.agent_version.clone(),
                azure_vm: m.vm.clone(),
                first_seen: ticks(m.first_seen),
                last_seen: ticks(m.last_seen(now)),
            })
            .collect();
        let users = t
            .graph
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| Person {
                id: u.id.clone(),
                upn: u.user_principal_name.clone(),
                name: u.mail_nickname.clone(),
                display: u.display_name.clone(),
                given: u.given_name.clone(),
                surname: u.surname.clone(),
                department: u.department.clone().unwrap_or_default(),
                title: u.job_title.clone().unwrap_or_default(),
                enabled: u.account_enabled,
                sid: format!("{domain_sid}-{}", 1104 + i),
                created: ticks(u.created),
            })
            .collect();
        Snapshot {
            seed,
            tenant_id: t.tenant_id.clone(),
            tenant_name: t.name.clone(),
            subscription_id: t.subscription_id.clone(),
            anchor: ticks(now),
            devices,
            users,
            alerts: t.mde.alerts.clone(),
        }
    }

    /// The NetBIOS-style domain events carry in `AccountDomain` (`contoso1`).
    pub fn netbios(&self) -> String {
        self.tenant_name.replace('-', "")
    }

    /// An RNG for one table: same seed and tenant, same rows.
    pub fn rng(&self, table: &str) -> StdRng {
        let h = digest(&format!("{}/{}/{table}", self.seed, self.tenant_id));
        let mut s = [0u8; 8];
        s.copy_from_slice(&h[..8]);
        StdRng::seed_from_u64(u64::from_le_bytes(s))
    }

    /// A time in the last `days` days (never in the last minute, so `ago(1m)` is empty).
    pub fn recent(&self, rng: &mut StdRng, days: i64) -> i64 {
        self.anchor - TICKS_PER_MINUTE - rng.random_range(0..days.max(1) * TICKS_PER_DAY)
    }

    pub fn account(&self, p: &Person) -> Account {
        Account {
            domain: self.netbios(),
            name: p.name.clone(),
            sid: p.sid.clone(),
            upn: p.upn.clone(),
            object_id: p.id.clone(),
        }
    }

    /// The user who mostly works on device `i`.
    pub fn owner(&self, i: usize) -> &Person {
        &self.users[(i * 7 + 3) % self.users.len()]
    }
}

/// Ticks (100 ns since 0001-01-01) of a sandbox time, as `hunt` stores datetimes.
pub fn ticks(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 100) as i64 + hunt::value::UNIX_EPOCH_TICKS
}

fn digest(s: &str) -> [u8; 32] {
    sha2::Sha256::digest(s.as_bytes()).into()
}

/// Stable fake hashes for a file: same name (and build), same hashes on every device.
pub struct Hashes {
    pub sha1: String,
    pub sha256: String,
    pub md5: String,
    pub size: i64,
}

pub fn hashes(file: &str) -> Hashes {
    let a = digest(&format!("sha256/{}", file.to_ascii_lowercase()));
    let b = digest(&format!("sha1/{}", file.to_ascii_lowercase()));
    Hashes {
        sha256: hex::encode(a),
        sha1: hex::encode(&b[..20]),
        md5: hex::encode(&b[20..]),
        size: 40_000 + i64::from(u16::from_le_bytes([a[0], a[1]])) * 37,
    }
}

pub fn s(v: &str) -> Value {
    Value::str(v)
}

pub fn dt(t: i64) -> Value {
    Value::DateTime(t)
}

pub fn long(v: i64) -> Value {
    Value::Long(v)
}

pub fn int(v: i32) -> Value {
    Value::Int(v)
}

pub fn boolean(v: bool) -> Value {
    Value::Bool(v)
}

/// A JSON text cell (Defender stores arrays and objects as strings in many columns).
pub fn json_text(v: serde_json::Value) -> Value {
    Value::str(&v.to_string())
}

#[derive(Clone)]
pub struct Account {
    pub domain: String,
    pub name: String,
    pub sid: String,
    pub upn: String,
    pub object_id: String,
}

impl Account {
    pub fn system() -> Account {
        Account {
            domain: "nt authority".into(),
            name: "system".into(),
            sid: "S-1-5-18".into(),
            upn: String::new(),
            object_id: String::new(),
        }
    }

    pub fn root() -> Account {
        Account {
            domain: String::new(),
            name: "root".into(),
            sid: String::new(),
            upn: String::new(),
            object_id: String::new(),
        }
    }

    pub fn is_system(&self) -> bool {
        self.sid == "S-1-5-18" || self.name == "root"
    }
}

/// A process as Defender describes it, both as the created process and, in other tables, as
/// the initiating process of an event.
#[derive(Clone)]
pub struct Proc {
    pub file: String,
    /// Full path including the file name, as Defender's `FolderPath`.
    pub path: String,
    pub cmd: String,
    pub pid: i64,
    pub created: i64,
    pub account: Account,
    pub logon_id: i64,
    pub company: &'static str,
    pub product: &'static str,
    pub description: &'static str,
    pub signed: bool,
    pub parent_file: String,
    pub parent_pid: i64,
    pub parent_created: i64,
}

impl Proc {
    fn integrity(&self) -> &'static str {
        if self.account.is_system() { "System" } else { "Medium" }
    }

    fn elevation(&self) -> &'static str {
        if self.account.is_system() { "TokenElevationTypeDefault" } else { "TokenElevationTypeLimited" }
    }

    /// The `InitiatingProcess*` column group.
    pub fn initiating(&self, row: &mut Row) {
        let h = hashes(&self.path);
        row.extend([
            ("InitiatingProcessAccountDomain", s(&self.account.domain)),
            ("InitiatingProcessAccountName", s(&self.account.name)),
            ("InitiatingProcessAccountSid", s(&self.account.sid)),
            ("InitiatingProcessAccountUpn", s(&self.account.upn)),
            ("InitiatingProcessAccountObjectId", s(&self.account.object_id)),
            ("InitiatingProcessLogonId", long(self.logon_id)),
            ("InitiatingProcessIntegrityLevel", s(self.integrity())),
            ("InitiatingProcessTokenElevation", s(self.elevation())),
            ("InitiatingProcessSHA1", s(&h.sha1)),
            ("InitiatingProcessSHA256", s(&h.sha256)),
            ("InitiatingProcessMD5", s(&h.md5)),
            ("InitiatingProcessFileName", s(&self.file)),
            ("InitiatingProcessFileSize", long(h.size)),
            ("InitiatingProcessVersionInfoCompanyName", s(self.company)),
            ("InitiatingProcessVersionInfoProductName", s(self.product)),
            ("InitiatingProcessVersionInfoOriginalFileName", s(&self.file)),
            ("InitiatingProcessVersionInfoInternalFileName", s(&self.file)),
            ("InitiatingProcessVersionInfoFileDescription", s(self.description)),
            ("InitiatingProcessId", long(self.pid)),
            ("InitiatingProcessCommandLine", s(&self.cmd)),
            ("InitiatingProcessCreationTime", dt(self.created)),
            ("InitiatingProcessFolderPath", s(&self.path)),
            ("InitiatingProcessParentId", long(self.parent_pid)),
            ("InitiatingProcessParentFileName", s(&self.parent_file)),
            ("InitiatingProcessParentCreationTime", dt(self.parent_created)),
            ("InitiatingProcessSignatureStatus", s(if self.signed { "Valid" } else { "Unsigned" })),
            ("InitiatingProcessSignerType", s(if self.signed { "OsVendor" } else { "Unknown" })),
        ]);
    }

    /// The created-process column group of `DeviceProcessEvents` / `DeviceEvents`.
    pub fn created(&self, row: &mut Row) {
        let h = hashes(&self.path);
        row.extend([
            ("FileName", s(&self.file)),
            ("FolderPath", s(&self.path)),
            ("SHA1", s(&h.sha1)),
            ("SHA256", s(&h.sha256)),
            ("MD5", s(&h.md5)),
            ("FileSize", long(h.size)),
            ("ProcessVersionInfoCompanyName", s(self.company)),
            ("ProcessVersionInfoProductName", s(self.product)),
            ("ProcessVersionInfoOriginalFileName", s(&self.file)),
            ("ProcessVersionInfoInternalFileName", s(&self.file)),
            ("ProcessVersionInfoFileDescription", s(self.description)),
            ("ProcessId", long(self.pid)),
            ("ProcessCommandLine", s(&self.cmd)),
            ("ProcessIntegrityLevel", s(self.integrity())),
            ("ProcessTokenElevation", s(self.elevation())),
            ("ProcessCreationTime", dt(self.created)),
            ("AccountDomain", s(&self.account.domain)),
            ("AccountName", s(&self.account.name)),
            ("AccountSid", s(&self.account.sid)),
            ("AccountUpn", s(&self.account.upn)),
            ("AccountObjectId", s(&self.account.object_id)),
            ("LogonId", long(self.logon_id)),
        ]);
    }
}

/// `DeviceId` / `DeviceName` and a per-device `ReportId`.
pub fn device_cells(d: &Device, report_id: i64, row: &mut Row) {
    row.extend([("DeviceId", s(&d.id)), ("DeviceName", s(&d.name)), ("ReportId", long(report_id))]);
}

pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

// ---------------------------------------------------------------------------------------------
// The planted attack story (needles): one phishing email leads to a compromised workstation.
// Email, device and identity tables all tell the same story with the same names and times.
// ---------------------------------------------------------------------------------------------

/// The phishing sender's domain and the payload / command-and-control host.
pub const PHISH_DOMAIN: &str = "contoso-invoices.com";
pub const PHISH_URL: &str = "https://contoso-invoices.com/view/INV-2291";
pub const C2_HOST: &str = "update-check.cdn-contoso.net";
pub const C2_IP: &str = "185.225.17.74";
pub const PAYLOAD: &str = "invoice_update.exe";
/// Source of the password spray against the tenant's accounts (IdentityLogonEvents).
pub const SPRAY_IP: &str = "45.155.205.233";

impl Snapshot {
    /// The compromised workstation: the first online Windows client (index into `devices`).
    pub fn victim_device(&self) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.online && d.windows() && !d.server() && d.last_seen > self.anchor - TICKS_PER_DAY)
    }

    /// A second online Windows client where LOLBins run (`None` when the tenant has none).
    pub fn lolbin_device(&self) -> Option<usize> {
        let victim = self.victim_device();
        self.devices.iter().enumerate().position(|(i, d)| Some(i) != victim && d.online && d.windows())
    }

    /// When the phishing email arrived: three days before the tables were generated.
    pub fn story_start(&self) -> i64 {
        self.anchor - 3 * TICKS_PER_DAY
    }

    /// A deterministic public IPv4 address for a host name.
    pub fn resolve(host: &str) -> String {
        if host == C2_HOST {
            return C2_IP.into();
        }
        let h = digest(&format!("dns/{host}"));
        format!("{}.{}.{}.{}", 13 + h[0] % 180, h[1], h[2], 1 + h[3] % 250)
    }
}
