//! Device response: machine actions, machine and action reads, cancel; device lookups by DNS
//! name and IP, logged-on users, the investigation package link.
//!
//! Every `deviceIds`/`deviceId` here also takes DNS names and IPs; the engine resolves them to
//! machine ids first (`engine/src/procedures/resolve.rs`), and an ambiguous name is a 400 that
//! lists the candidates.
use super::*;

/// A DNS name to look up: the FQDN MDE reports (`computerDnsName`), or its first label.
const DNS_NAME: ParamSpec = ParamSpec {
    name: "computerDnsName",
    aliases: &["hostname", "hostName", "deviceName", "dnsName", "machineName", "computerName", "name"],
    kind: ParamKind::Text { max: 253 },
    required: true,
    default: None,
    doc: "Device DNS name, e.g. ws-01.contoso.com; a short name (ws-01) matches its FQDN",
};

const IP: ParamSpec = ParamSpec {
    name: "ip",
    aliases: &["ipAddress", "address"],
    kind: ParamKind::Ip,
    required: true,
    default: None,
    doc: "Internal IP address the device had (IPv4 or IPv6, no CIDR)",
};

/// `findbyip` looks 15 minutes either side of this moment; now when absent.
const TIMESTAMP: ParamSpec = ParamSpec {
    name: "timestamp",
    aliases: &["time", "at"],
    kind: ParamKind::DateTime,
    required: false,
    default: None,
    doc: "When the device had the IP (RFC 3339); MDE searches 15 minutes either side. Now when absent",
};

// --- The table --------------------------------------------------------------------------------

pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        product: Product::Mde,
        name: "IsolateDevice",
        summary: "Cut devices off the network except for the Defender service",
        aliases: &["IsolateMachine"],
        params: &[DEVICE_IDS, comment("Isolated by Riposte"), ISOLATION_TYPE],
        risk: Risk::Contain,
        inverse: Some("UnisolateDevice"),
        permission: "Machine.Isolate",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Post, "/api/machines/{deviceIds}/isolate")
                .body(&[("Comment", BodyValue::Param("comment")), ("IsolationType", BodyValue::Param("isolationType"))])
                .each("deviceIds"),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UnisolateDevice",
        summary: "Release devices from isolation",
        aliases: &[],
        params: &[DEVICE_IDS, comment("Released from isolation by Riposte")],
        risk: Risk::Contain,
        inverse: Some("IsolateDevice"),
        permission: "Machine.Isolate",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(device_action("/api/machines/{deviceIds}/unisolate")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "RestrictAppExecution",
        summary: "Allow only Microsoft-signed code to run on devices",
        aliases: &["RestrictApp", "RestrictCodeExecution"],
        params: &[DEVICE_IDS, comment("App execution restricted by Riposte")],
        risk: Risk::Contain,
        inverse: Some("UnrestrictAppExecution"),
        permission: "Machine.RestrictExecution",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(device_action("/api/machines/{deviceIds}/restrictCodeExecution")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "UnrestrictAppExecution",
        summary: "Lift the app execution restriction on devices",
        aliases: &["UnrestrictApp", "UnrestrictCodeExecution"],
        params: &[DEVICE_IDS, comment("App execution restriction lifted by Riposte")],
        risk: Risk::Contain,
        inverse: Some("RestrictAppExecution"),
        permission: "Machine.RestrictExecution",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(device_action("/api/machines/{deviceIds}/unrestrictCodeExecution")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "RunAntivirusScan",
        summary: "Start a Defender Antivirus scan on devices",
        // "RUNAV SCAN" (the seed's broken switch label) normalises to RunAVScan.
        aliases: &["RunAVScan"],
        params: &[DEVICE_IDS, comment("Antivirus scan by Riposte"), SCAN_TYPE],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Machine.Scan",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Post, "/api/machines/{deviceIds}/runAntiVirusScan")
                .body(&[("Comment", BodyValue::Param("comment")), ("ScanType", BodyValue::Param("scanType"))])
                .each("deviceIds"),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "CollectInvestigationPackage",
        summary: "Collect a forensic investigation package from devices",
        aliases: &["CollectPackage"],
        params: &[DEVICE_IDS, comment("Investigation package collected by Riposte")],
        // Remediate, not Read: it runs a collector on the endpoint, blocks other actions there
        // while pending, needs the write permission Machine.CollectForensics, and yields a package
        // of sensitive forensic data (files, registry, logs) that a read-only role should not get.
        risk: Risk::Remediate,
        inverse: None,
        permission: "Machine.CollectForensics",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(device_action("/api/machines/{deviceIds}/collectInvestigationPackage")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "StopAndQuarantineFile",
        summary: "Stop a file's processes and quarantine it on devices",
        aliases: &[],
        params: &[DEVICE_IDS, SHA1, comment("File stopped and quarantined by Riposte")],
        risk: Risk::Remediate,
        inverse: None,
        permission: "Machine.StopAndQuarantine",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Post, "/api/machines/{deviceIds}/StopAndQuarantineFile")
                .body(&[("Comment", BodyValue::Param("comment")), ("Sha1", BodyValue::Param("sha1"))])
                .each("deviceIds"),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "OffboardDevice",
        summary: "Offboard devices from Defender for Endpoint (Windows only)",
        aliases: &[],
        params: &[DEVICE_IDS, comment("Offboarded by Riposte")],
        risk: Risk::Destructive,
        inverse: None,
        permission: "Machine.Offboard",
        completion: Completion::MachineAction,
        sensitive_results: &[],
        plan: Plan::Call(device_action("/api/machines/{deviceIds}/offboard")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetAllDevices",
        summary: "List machines, optionally filtered",
        aliases: &["GetDevices", "GetMachines"],
        params: &[FILTER, TOP],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(list("/api/machines")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetDeviceInfo",
        summary: "Get one machine",
        aliases: &[],
        params: &[DEVICE_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/machines/{deviceId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetActionStatus",
        summary: "Get one MachineAction and its status",
        aliases: &["GetMachineActionStatus"],
        params: &[ACTION_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/machineactions/{actionId}")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetAllActions",
        summary: "List MachineActions, optionally filtered",
        // The seed's worker filtered by `machineId`; it becomes `$filter=machineId eq '<id>'`.
        aliases: &[],
        params: &[FILTER, TOP, MACHINE_FILTER],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(list("/api/machineactions").filter_eq(&[("machineId", "deviceId")])),
    },
    ActionSpec {
        product: Product::Mde,
        name: "CancelAction",
        summary: "Cancel a MachineAction that has not finished",
        aliases: &[],
        params: &[ACTION_ID, comment("Cancelled by Riposte")],
        // Contain: it stops a pending action; nothing on the device is changed beyond that.
        risk: Risk::Contain,
        inverse: None,
        permission: CANCEL_PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Post, "/api/machineactions/{actionId}/cancel")
                .body(&[("Comment", BodyValue::Param("comment"))]),
        ),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetDeviceByName",
        summary: "Find machines by DNS name (full or short name)",
        aliases: &["FindDeviceByName", "GetDeviceByHostname", "FindMachineByName"],
        params: &[DNS_NAME],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.devices.find_by_name")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "FindDevicesByIp",
        summary: "Find machines that had an internal IP around a moment (MDE findbyip)",
        aliases: &["FindMachinesByIp", "FindByIp", "GetDeviceByIp"],
        params: &[IP, TIMESTAMP],
        risk: Risk::Read,
        inverse: None,
        permission: "Machine.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Procedure(ProcedureId("mde.devices.find_by_ip")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetDeviceLogonUsers",
        summary: "Users who logged on to a machine",
        aliases: &["GetLogonUsers", "GetLoggedOnUsers", "GetMachineLogonUsers"],
        params: &[DEVICE_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "User.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/machines/{deviceId}/logonusers")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetDeviceAlerts",
        summary: "Alerts related to a machine",
        aliases: &["GetMachineAlerts"],
        params: &[DEVICE_ID],
        risk: Risk::Read,
        inverse: None,
        permission: "Alert.Read.All",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/machines/{deviceId}/alerts")),
    },
    ActionSpec {
        product: Product::Mde,
        name: "GetInvestigationPackageUri",
        summary: "A short-lived download link for a collected investigation package",
        aliases: &["GetPackageUri", "GetInvestigationPackage", "DownloadInvestigationPackage"],
        params: &[ACTION_ID],
        // Remediate, like the collection itself: the package holds sensitive forensic data that a
        // read-only role should not be able to download.
        risk: Risk::Remediate,
        inverse: None,
        permission: "Machine.CollectForensics",
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan: Plan::Call(Call::new(Api::Mde, Method::Get, "/api/machineactions/{actionId}/getPackageUri")),
    },
];
