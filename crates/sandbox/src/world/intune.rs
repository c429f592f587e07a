//! A tenant's Intune data: managed devices (the Windows clients MDE reports as Intune-managed,
//! plus phones, tablets and Macs only Intune knows) with the remote actions sent to them, and the
//! BitLocker recovery keys Entra ID holds for them.
//!
//! A managed device linked to an MDE machine is the same device: the same host name (Intune keeps
//! the host name, MDE the FQDN) and `azureADDeviceId` = the machine's `aadDeviceId` when MDE knows
//! it. Remote actions follow Graph's lifecycle: a `deviceActionResults` entry is `pending` when
//! Graph answers 204, and turns `done` when the device next checks in (after the sandbox's
//! `action_pending_seconds`); a device that is off never checks in, so its actions stay pending.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

use super::{Machine, User, guid};

#[derive(Default)]
pub struct IntuneState {
    pub devices: Vec<ManagedDevice>,
    /// BitLocker recovery keys escrowed to Entra ID (`informationProtection/bitlocker/recoveryKeys`).
    pub recovery_keys: Vec<RecoveryKey>,
    /// Device configuration profiles (`deviceManagement/deviceConfigurations`) and their
    /// assignments; none at start.
    pub profiles: Vec<Profile>,
    /// Apps Intune deploys (`deviceAppManagement/mobileApps`) and their assignments.
    pub mobile_apps: Vec<MobileApp>,
    /// App protection (MAM) registrations of users' apps on their phones and tablets.
    pub app_registrations: Vec<AppRegistration>,
    /// Endpoint Privilege Management support-approved elevation requests.
    pub elevation_requests: Vec<ElevationRequest>,
}

/// An app in Intune's catalog and its assignments (`intent` + `target`, as Graph takes them).
#[derive(Clone)]
pub struct MobileApp {
    pub id: String,
    pub odata_type: &'static str,
    pub display_name: String,
    pub publisher: String,
    pub assignments: Vec<serde_json::Value>,
}

/// An app protection registration: one user's protected app on one device.
#[derive(Clone)]
pub struct AppRegistration {
    pub id: String,
    pub user_id: String,
    pub azure_ad_device_id: String,
    pub device_name: String,
    pub app_identifier: String,
    /// When a selective wipe of the app's corporate data was requested.
    pub wipe_requested_at: Option<OffsetDateTime>,
}

/// An EPM elevation request a user made on a device, for an admin to approve or deny.
#[derive(Clone)]
pub struct ElevationRequest {
    pub id: String,
    pub user_id: String,
    pub user_principal_name: String,
    /// The Intune id of the device the request came from.
    pub device_id: String,
    pub device_name: String,
    pub file_path: String,
    pub file_hash: String,
    pub justification: String,
    /// `pending`, `approved`, `denied`, `revoked`, `expired`.
    pub status: String,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub expires: OffsetDateTime,
    pub reviewer_justification: Option<String>,
}

/// A device configuration profile: its derived type, its settings as sent, its assignments.
#[derive(Clone)]
pub struct Profile {
    pub id: String,
    /// `#microsoft.graph.windows10GeneralConfiguration`, ...
    pub odata_type: String,
    pub display_name: String,
    pub description: Option<String>,
    /// The type's own properties as given at creation.
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
    pub version: u32,
    /// `(assignment id, target)`: targets as Graph takes them (`groupAssignmentTarget` + `groupId`).
    pub assignments: Vec<(String, serde_json::Value)>,
}

/// One remote action and its state, as `deviceActionResults` reports it.
#[derive(Clone)]
pub struct ActionResult {
    pub action_name: String,
    /// `pending`, `done`, `failed`, `notSupported`.
    pub state: String,
    pub start: OffsetDateTime,
    pub updated: OffsetDateTime,
    /// What the device reported for a resetPasscode (Android device administrator only).
    pub passcode: Option<String>,
    /// What a windowsDefenderScan asked for (`quickScan`).
    pub quick_scan: Option<bool>,
}

/// An Intune managed device (the v1.0 `managedDevice` resource, a useful subset) and what the
/// remote actions did to it (sandbox bookkeeping, shown by state inspection only).
#[derive(Clone)]
pub struct ManagedDevice {
    pub id: String,
    pub device_name: String,
    /// `Windows`, `macOS`, `iOS`, `Android`.
    pub operating_system: String,
    pub os_version: String,
    pub azure_ad_device_id: String,
    /// The object id of the device in Entra ID (`/devices/{id}`), what a group holds as member.
    pub entra_object_id: String,
    pub user_id: String,
    pub user_principal_name: String,
    pub user_display_name: String,
    pub serial_number: String,
    pub model: String,
    pub manufacturer: String,
    pub enrolled: OffsetDateTime,
    pub last_sync: OffsetDateTime,
    pub compliance_state: String,
    pub management_state: String,
    pub is_supervised: bool,
    pub is_encrypted: bool,
    /// The code that clears Activation Lock on a supervised Apple device (Graph returns it only
    /// when `$select`ed).
    pub activation_lock_bypass_code: Option<String>,
    /// Whether the device checks in (an MDE machine that is not active does not).
    pub online: bool,
    pub actions: Vec<ActionResult>,
    pub effects: Effects,
}

/// What completed remote actions did.
#[derive(Clone, Default)]
pub struct Effects {
    pub locked_at: Option<OffsetDateTime>,
    pub wiped: bool,
    pub retired: bool,
    pub lost_mode: bool,
    pub last_scan: Option<(&'static str, OffsetDateTime)>,
    pub signatures_updated_at: Option<OffsetDateTime>,
    pub rebooted_at: Option<OffsetDateTime>,
    pub shut_down: bool,
    pub cleaned: bool,
    pub shared_user_logged_out_at: Option<OffsetDateTime>,
    pub passcode_reset_at: Option<OffsetDateTime>,
    pub bitlocker_rotations: u32,
    pub filevault_rotations: u32,
    pub activation_lock_bypassed: bool,
}

/// A BitLocker recovery key in Entra ID.
#[derive(Clone)]
pub struct RecoveryKey {
    pub id: String,
    /// The Entra device id the key was backed up from.
    pub device_id: String,
    pub created: OffsetDateTime,
    pub key: String,
}

impl ManagedDevice {
    pub fn is(&self, os: &str) -> bool {
        self.operating_system.eq_ignore_ascii_case(os)
    }
}

impl IntuneState {
    /// Intune's devices: one per Intune-managed MDE machine, and a few only Intune manages. Drawn
    /// from a stream of their own, so the rest of the world is unchanged.
    pub fn seed(seed: u64, index: usize, machines: &[Machine], users: &[User], now: OffsetDateTime) -> IntuneState {
        let mut rng =
            StdRng::seed_from_u64(seed ^ 0x1A7E_D3C0_0000_0000 ^ (index as u64 + 1).wrapping_mul(0x2545_F491));
        let mut state = IntuneState::default();
        let user = |i: usize| &users[i % users.len().max(1)];
        for (i, m) in machines.iter().filter(|m| m.managed_by == "Intune").enumerate() {
            let u = user(i);
            let aad = m.aad_device_id.clone().unwrap_or_else(|| guid(&mut rng));
            let version = format!("10.0.{}.{}", m.os_build.unwrap_or(19045), rng.random_range(1000..5000));
            let d = device(&mut rng, m.short_name(), "Windows", &version, &aad, u, m.is_online(), now);
            state.recovery_keys.push(recovery_key(&mut rng, &aad, d.enrolled));
            state.devices.push(d);
        }
        state.mobile_apps = seed_apps(&mut rng);
        let extra: &[(&str, &str, &str)] = &[
            ("ipad", "iOS", "17.5"),
            ("iphone", "iOS", "17.6"),
            ("android", "Android", "14"),
            ("mbp", "macOS", "14.5"),
        ];
        for (i, (prefix, os, version)) in extra.iter().enumerate() {
            for n in 0..2 {
                let u = user(users.len() / 2 + i * 2 + n);
                let aad = guid(&mut rng);
                let name = format!("{prefix}-{:04}", i * 2 + n + 1);
                let d = device(&mut rng, &name, os, version, &aad, u, true, now);
                if *os == "iOS" || *os == "Android" {
                    for app in ["com.microsoft.Office.Outlook", "com.microsoft.skype.teams"] {
                        state.app_registrations.push(AppRegistration {
                            id: guid(&mut rng),
                            user_id: d.user_id.clone(),
                            azure_ad_device_id: d.azure_ad_device_id.clone(),
                            device_name: d.device_name.clone(),
                            app_identifier: app.to_string(),
                            wipe_requested_at: None,
                        });
                    }
                }
                state.devices.push(d);
            }
        }
        state.elevation_requests = seed_elevations(&mut rng, &state.devices, now);
        state
    }

    pub fn device_mut(&mut self, id: &str) -> Option<&mut ManagedDevice> {
        self.devices.iter_mut().find(|d| d.id.eq_ignore_ascii_case(id))
    }
}

/// The app every Windows device asks to run elevated (a pending request each), and the one
/// every fifth was already allowed (approved).
pub const PENDING_ELEVATION_PATH: &str = r"C:\Users\Public\Downloads\ContosoSetup.exe";
const APPROVED_ELEVATION_PATH: &str = r"C:\Program Files\7-Zip\7zFM.exe";

/// One pending elevation request per Windows device, and an approved one on every fifth.
fn seed_elevations(rng: &mut StdRng, devices: &[ManagedDevice], now: OffsetDateTime) -> Vec<ElevationRequest> {
    let mut out = Vec::new();
    for (i, d) in devices.iter().filter(|d| d.is("Windows")).enumerate() {
        let mut request = |path: &str, status: &str, age_hours: i64| ElevationRequest {
            id: guid(rng),
            user_id: d.user_id.clone(),
            user_principal_name: d.user_principal_name.clone(),
            device_id: d.id.clone(),
            device_name: d.device_name.clone(),
            file_path: path.to_string(),
            file_hash: hex::encode(rng.random::<[u8; 32]>()).to_ascii_uppercase(),
            justification: "Need to install a tool for work".into(),
            status: status.to_string(),
            created: now - Duration::hours(age_hours),
            modified: now - Duration::hours(age_hours),
            expires: now + Duration::hours(24 - age_hours),
            reviewer_justification: None,
        };
        out.push(request(PENDING_ELEVATION_PATH, "pending", 1));
        if i % 5 == 0 {
            out.push(request(APPROVED_ELEVATION_PATH, "approved", 3));
        }
    }
    out
}

/// A few apps, made available to every licensed user (so no uninstall is overridden by a
/// Required assignment).
fn seed_apps(rng: &mut StdRng) -> Vec<MobileApp> {
    let apps: &[(&str, &str, &str)] = &[
        ("#microsoft.graph.win32LobApp", "7-Zip", "Igor Pavlov"),
        ("#microsoft.graph.win32LobApp", "Zoom Workplace", "Zoom Video Communications"),
        ("#microsoft.graph.win32LobApp", "Notepad++", "Notepad++ Team"),
        ("#microsoft.graph.iosStoreApp", "Microsoft Authenticator", "Microsoft Corporation"),
    ];
    apps.iter()
        .map(|(ty, name, publisher)| MobileApp {
            id: guid(rng),
            odata_type: ty,
            display_name: name.to_string(),
            publisher: publisher.to_string(),
            assignments: vec![serde_json::json!({
                "intent": "available",
                "target": { "@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget" },
            })],
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn device(
    rng: &mut StdRng,
    name: &str,
    os: &str,
    version: &str,
    aad: &str,
    user: &User,
    online: bool,
    now: OffsetDateTime,
) -> ManagedDevice {
    let (manufacturer, model) = match os {
        "Windows" => ("Microsoft Corporation", "Surface Laptop 5"),
        "macOS" => ("Apple", "MacBook Pro"),
        "iOS" if name.starts_with("ipad") => ("Apple", "iPad Air"),
        "iOS" => ("Apple", "iPhone 15"),
        _ => ("Google", "Pixel 8"),
    };
    let enrolled = now - Duration::days(rng.random_range(20..300));
    ManagedDevice {
        id: guid(rng),
        device_name: name.to_string(),
        operating_system: os.to_string(),
        os_version: version.to_string(),
        azure_ad_device_id: aad.to_string(),
        entra_object_id: guid(rng),
        user_id: user.id.clone(),
        user_principal_name: user.user_principal_name.clone(),
        user_display_name: user.display_name.clone(),
        serial_number: format!("{:012X}", rng.random_range(0u64..0xFFFF_FFFF_FFFF)),
        model: model.to_string(),
        manufacturer: manufacturer.to_string(),
        enrolled,
        last_sync: now - Duration::minutes(rng.random_range(5..600)),
        compliance_state: if rng.random_bool(0.85) { "compliant" } else { "noncompliant" }.to_string(),
        management_state: "managed".into(),
        is_supervised: os == "iOS" || os == "macOS",
        is_encrypted: os != "Android",
        activation_lock_bypass_code: (os == "iOS" || os == "macOS").then(|| {
            const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
            let mut code = String::new();
            for i in 0..25 {
                if i > 0 && i % 5 == 0 {
                    code.push('-');
                }
                code.push(CHARS[rng.random_range(0..CHARS.len())] as char);
            }
            code
        }),
        online,
        actions: Vec::new(),
        effects: Effects::default(),
    }
}

/// A recovery password: eight groups of six digits.
pub fn recovery_key(rng: &mut StdRng, device_id: &str, created: OffsetDateTime) -> RecoveryKey {
    let groups: Vec<String> = (0..8).map(|_| format!("{:06}", rng.random_range(0..1_000_000u32))).collect();
    RecoveryKey { id: guid(rng), device_id: device_id.to_string(), created, key: groups.join("-") }
}
