//! Defender for Endpoint actions (upstream-apis.md §2.3–2.5).
//!
//! Device actions take a list of machine ids and fan out one `POST /api/machines/{id}/<action>`
//! per device; each answers a MachineAction that the engine polls to a final state. MDE body keys
//! are case-sensitive (`Comment`, not `comment`), so every body below spells them as MDE does.
//!
//! Aliases are every spelling the seed used for the same upstream call (worker and orchestrator
//! records of `seed-actions.json`), plus a few names from Microsoft's API pages and MachineAction
//! `type` values (`IsolateMachine`, `GetMachines`, `RestrictCodeExecution`, ...). Seed names whose
//! call matches but whose meaning does not (`TriggerVulnerabilityScan` and `ApplySecurityBaseline`
//! only run an AV scan; `GetSession`/`GetCommandResult` are live-response reads) are left for
//! their own entries.
use crate::*;

// --- Shared parameters ------------------------------------------------------------------------

/// The target machines: a comma-separated string or an array of 40-hex MDE machine ids.
const DEVICE_IDS: ParamSpec = ParamSpec {
    name: "deviceIds",
    aliases: &["deviceId", "machineId", "machineIds"],
    kind: ParamKind::DeviceIds,
    required: true,
    default: None,
    doc: "MDE machine ids (40 hex): comma-separated string or JSON array, at most 500",
};

/// One machine, for reads about a single device.
const DEVICE_ID: ParamSpec = ParamSpec {
    name: "deviceId",
    aliases: &["machineId", "deviceIds", "machineIds"],
    kind: ParamKind::DeviceId,
    required: true,
    default: None,
    doc: "MDE machine id (40 hex)",
};

/// A MachineAction id, as answered by any device action.
const ACTION_ID: ParamSpec = ParamSpec {
    name: "actionId",
    aliases: &["machineActionId", "id"],
    kind: ParamKind::ActionId,
    required: true,
    default: None,
    doc: "MachineAction id (GUID) returned by a device action",
};

/// An optional machine to narrow a machine-action list to (the seed's `machineId`).
const MACHINE_FILTER: ParamSpec = ParamSpec {
    name: "deviceId",
    aliases: &["machineId"],
    kind: ParamKind::DeviceId,
    required: false,
    default: None,
    doc: "Only actions on this MDE machine (40 hex)",
};

const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData $filter expression passed to MDE",
};

/// MDE caps `$top` at 10,000 for machines and machine actions.
const TOP: ParamSpec = ParamSpec {
    name: "top",
    aliases: &["$top"],
    kind: ParamKind::Int { min: 1, max: 10_000 },
    required: false,
    default: None,
    doc: "Most items to return (1-10000); all pages are read when absent",
};

const ISOLATION_TYPE: ParamSpec = ParamSpec {
    name: "isolationType",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Full", "Selective", "UnManagedDevice"] },
    required: false,
    default: Some("Full"),
    doc: "Full, Selective (keeps Outlook/Teams/Skype) or UnManagedDevice (contain device)",
};

const SCAN_TYPE: ParamSpec = ParamSpec {
    name: "scanType",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Quick", "Full"] },
    required: false,
    default: Some("Quick"),
    doc: "Quick or Full antivirus scan",
};

const SHA1: ParamSpec = ParamSpec {
    name: "sha1",
    aliases: &["fileHash"],
    kind: ParamKind::Sha1,
    required: true,
    default: None,
    doc: "SHA-1 of the file to stop and quarantine",
};

/// MDE requires a `Comment` on every device action; the default says who acted.
const fn comment(default: &'static str) -> ParamSpec {
    ParamSpec {
        name: "comment",
        aliases: &["reason"],
        kind: ParamKind::Text { max: 1000 },
        required: false,
        default: Some(default),
        doc: "Comment recorded on the MachineAction",
    }
}

// --- Call shapes ------------------------------------------------------------------------------

/// `POST /api/machines/{id}/<action>` once per device, with a `Comment` body.
const fn device_action(path: &'static str) -> Call {
    Call::new(Api::Mde, Method::Post, path).body(&[("Comment", BodyValue::Param("comment"))]).each("deviceIds")
}

/// A collection read: `$filter` and `$top` passed through, every `@odata.nextLink` followed.
const fn list(path: &'static str) -> Call {
    Call::new(Api::Mde, Method::Get, path).query(&[("$filter", "filter"), ("$top", "top")]).paged()
}

/// The permissions a cancel needs: that of the action being cancelled.
const CANCEL_PERMISSION: &str = "Machine.Isolate | Machine.RestrictExecution | Machine.Scan | Machine.CollectForensics | \
     Machine.StopAndQuarantine | Machine.Offboard | Machine.LiveResponse (the one of the cancelled action's type)";

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
        plan: Plan::Call(
            Call::new(Api::Mde, Method::Post, "/api/machineactions/{actionId}/cancel")
                .body(&[("Comment", BodyValue::Param("comment"))]),
        ),
    },
];
