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

//!
//! The product is large, so its table is split by area, one submodule each; this module holds
//! the parameters and call shapes they share, and [`actions`] chains their tables.
use crate::*;

mod alerts;
mod detection;
mod devices;
mod hunting;
mod indicators;
mod investigations;
mod live_response;
mod tvm;
mod unsupported;

/// Every MDE action, area by area.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    devices::ACTIONS
        .iter()
        .chain(investigations::ACTIONS)
        .chain(indicators::ACTIONS)
        .chain(alerts::ACTIONS)
        .chain(detection::ACTIONS)
        .chain(tvm::ACTIONS)
        .chain(hunting::ACTIONS)
        .chain(live_response::ACTIONS)
        .chain(unsupported::ACTIONS)
}

// --- Shared parameters ------------------------------------------------------------------------

/// The target machines: a comma-separated string or an array of 40-hex MDE machine ids.
pub(super) const DEVICE_IDS: ParamSpec = ParamSpec {
    name: "deviceIds",
    aliases: &["deviceId", "machineId", "machineIds"],
    kind: ParamKind::DeviceIds,
    required: true,
    default: None,
    doc: "MDE machine ids (40 hex): comma-separated string or JSON array, at most 500",
};

/// One machine, for reads about a single device.
pub(super) const DEVICE_ID: ParamSpec = ParamSpec {
    name: "deviceId",
    aliases: &["machineId", "deviceIds", "machineIds"],
    kind: ParamKind::DeviceId,
    required: true,
    default: None,
    doc: "MDE machine id (40 hex)",
};

/// A MachineAction id, as answered by any device action.
pub(super) const ACTION_ID: ParamSpec = ParamSpec {
    name: "actionId",
    aliases: &["machineActionId", "id"],
    kind: ParamKind::ActionId,
    required: true,
    default: None,
    doc: "MachineAction id (GUID) returned by a device action",
};

/// An optional machine to narrow a machine-action list to (the seed's `machineId`).
pub(super) const MACHINE_FILTER: ParamSpec = ParamSpec {
    name: "deviceId",
    aliases: &["machineId"],
    kind: ParamKind::DeviceId,
    required: false,
    default: None,
    doc: "Only actions on this MDE machine (40 hex)",
};

pub(super) const FILTER: ParamSpec = ParamSpec {
    name: "filter",
    aliases: &["$filter"],
    kind: ParamKind::ODataFilter,
    required: false,
    default: None,
    doc: "OData $filter expression passed to MDE",
};

/// MDE caps `$top` at 10,000 for machines and machine actions.
pub(super) const TOP: ParamSpec = ParamSpec {
    name: "top",
    aliases: &["$top"],
    kind: ParamKind::Int { min: 1, max: 10_000 },
    required: false,
    default: None,
    doc: "Most items to return (1-10000); all pages are read when absent",
};

pub(super) const ISOLATION_TYPE: ParamSpec = ParamSpec {
    name: "isolationType",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Full", "Selective", "UnManagedDevice"] },
    required: false,
    default: Some("Full"),
    doc: "Full, Selective (keeps Outlook/Teams/Skype) or UnManagedDevice (contain device)",
};

pub(super) const SCAN_TYPE: ParamSpec = ParamSpec {
    name: "scanType",
    aliases: &[],
    kind: ParamKind::Enum { values: &["Quick", "Full"] },
    required: false,
    default: Some("Quick"),
    doc: "Quick or Full antivirus scan",
};

pub(super) const SHA1: ParamSpec = ParamSpec {
    name: "sha1",
    aliases: &["fileHash"],
    kind: ParamKind::Sha1,
    required: true,
    default: None,
    doc: "SHA-1 of the file to stop and quarantine",
};

/// MDE requires a `Comment` on every device action; the default says who acted.
pub(super) const fn comment(default: &'static str) -> ParamSpec {
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
pub(super) const fn device_action(path: &'static str) -> Call {
    Call::new(Api::Mde, Method::Post, path).body(&[("Comment", BodyValue::Param("comment"))]).each("deviceIds")
}

/// A collection read: `$filter` and `$top` passed through, every `@odata.nextLink` followed.
pub(super) const fn list(path: &'static str) -> Call {
    Call::new(Api::Mde, Method::Get, path).query(&[("$filter", "filter"), ("$top", "top")]).paged()
}

/// The permissions a cancel needs: that of the action being cancelled.
pub(super) const CANCEL_PERMISSION: &str = "Machine.Isolate | Machine.RestrictExecution | Machine.Scan | Machine.CollectForensics | \
     Machine.StopAndQuarantine | Machine.Offboard | Machine.LiveResponse (the one of the cancelled action's type)";

// --- Shared by the alert, indicator, investigation, detection-rule and TVM tables -------------

/// A required opaque upstream id (alert, incident, indicator, CVE, rule, ...).
pub(super) const fn resource_id(name: &'static str, aliases: &'static [&'static str], doc: &'static str) -> ParamSpec {
    ParamSpec { name, aliases, kind: ParamKind::ResourceId, required: true, default: None, doc }
}

/// An optional enum parameter without a default (PATCH bodies send only what was given).
pub(super) const fn optional_enum(
    name: &'static str,
    aliases: &'static [&'static str],
    values: &'static [&'static str],
    doc: &'static str,
) -> ParamSpec {
    ParamSpec { name, aliases, kind: ParamKind::Enum { values }, required: false, default: None, doc }
}

/// Optional free text without a default.
pub(super) const fn optional_text(
    name: &'static str,
    aliases: &'static [&'static str],
    max: usize,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec { name, aliases, kind: ParamKind::Text { max }, required: false, default: None, doc }
}

/// Required free text.
pub(super) const fn required_text(
    name: &'static str,
    aliases: &'static [&'static str],
    max: usize,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec { name, aliases, kind: ParamKind::Text { max }, required: true, default: None, doc }
}

/// `$top` for collections whose page size Microsoft caps lower than MDE's 10,000.
pub(super) const fn top_up_to(max: i64) -> ParamSpec {
    ParamSpec {
        name: "top",
        aliases: &["$top"],
        kind: ParamKind::Int { min: 1, max },
        required: false,
        default: None,
        doc: "Most items to return; all pages are read when absent",
    }
}

/// A Graph collection read: `$filter` and `$top` passed through, every `@odata.nextLink` followed.
pub(super) const fn graph_list(path: &'static str) -> Call {
    Call::new(Api::Graph, Method::Get, path).query(&[("$filter", "filter"), ("$top", "top")]).paged()
}
