//! Files in connected apps: the Cloud Apps API lists them (`GetCloudAppsFiles`) but has no file
//! governance call (quarantine, trash, remove sharing run from portal file policies), so a
//! response changes the OneDrive / SharePoint item itself through Graph drives. Each row says
//! which Graph change it makes:
//!
//! - revoking sharing deletes every sharing link and direct grant (the owner's and inherited
//!   permissions stay: those change on the parent), so nobody else can open or download it;
//! - removing external sharing deletes anonymous links and grants to addresses outside the
//!   drive owner's domain;
//! - quarantining revokes sharing and moves the item into a folder at its drive's root (the
//!   owner keeps access: Cloud Apps' admin quarantine, which moves it to an admin site, has no
//!   API); restoring moves it to the folder given;
//! - deleting sends the item to the site's recycle bin (restorable there for 93 days).
use super::*;

const PERMISSION: &str = "Files.ReadWrite.All";

const DRIVE_ID: ParamSpec = ParamSpec {
    name: "driveId",
    aliases: &["drive"],
    kind: ParamKind::Text { max: 200 },
    required: true,
    default: None,
    doc: "The drive holding the file (OneDrive ids look like b!...)",
};
const FILE_ID: ParamSpec = ParamSpec {
    name: "fileId",
    aliases: &["itemId", "driveItemId"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The drive item id of the file",
};
const TARGET_FOLDER: ParamSpec = ParamSpec {
    name: "targetFolderId",
    aliases: &["folderId", "parentId"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The folder to move the file back to (a quarantine answer's originalParentId)",
};
const QUARANTINE_FOLDER: ParamSpec = ParamSpec {
    name: "quarantineFolder",
    aliases: &["folderName"],
    kind: ParamKind::Text { max: 128 },
    required: false,
    default: Some("Quarantine"),
    doc: "The folder at the drive's root to move the file into (made when missing)",
};
const REASON: ParamSpec = ParamSpec {
    name: "reason",
    aliases: &["justification"],
    kind: ParamKind::Text { max: 500 },
    required: false,
    default: None,
    doc: "Why the file is deleted; kept in Riposte's audit (Graph's delete takes no reason)",
};

const fn row(
    name: &'static str,
    summary: &'static str,
    aliases: &'static [&'static str],
    params: &'static [ParamSpec],
    plan: Plan,
) -> ActionSpec {
    ActionSpec {
        product: Product::Mcas,
        name,
        summary,
        aliases,
        params,
        risk: Risk::Contain,
        inverse: None,
        permission: PERMISSION,
        completion: Completion::Immediate,
        sensitive_results: &[],
        plan,
    }
}

const ITEM: &str = "/v1.0/drives/{driveId}/items/{fileId}";

pub(super) static ACTIONS: &[ActionSpec] = &[
    row(
        "RevokeFileSharing",
        "Stop anyone but the owner opening or downloading a file: delete every sharing link and direct grant on it",
        &["BlockFileDownload", "RemoveFileSharing"],
        &[DRIVE_ID, FILE_ID],
        Plan::Procedure(ProcedureId("mcas.files.revoke_sharing")),
    ),
    row(
        "RemoveExternalSharing",
        "Delete a file's anonymous links and its grants to addresses outside the drive owner's domain (organization links and colleagues stay)",
        &[],
        &[DRIVE_ID, FILE_ID],
        Plan::Procedure(ProcedureId("mcas.files.remove_external")),
    ),
    ActionSpec {
        risk: Risk::Remediate,
        inverse: Some("RestoreFromQuarantine"),
        ..row(
            "QuarantineCloudFile",
            "Revoke a file's sharing and move it into a quarantine folder at its drive's root (the owner keeps access; Cloud Apps admin quarantine has no API)",
            &["QuarantineFile"],
            &[DRIVE_ID, FILE_ID, QUARANTINE_FOLDER],
            Plan::Procedure(ProcedureId("mcas.files.quarantine")),
        )
    },
    ActionSpec {
        inverse: Some("QuarantineCloudFile"),
        ..row(
            "RestoreFromQuarantine",
            "Move a quarantined file back to a folder (its sharing is not restored)",
            &["ReleaseCloudFile"],
            &[DRIVE_ID, FILE_ID, TARGET_FOLDER],
            Plan::Call(
                Call::new(Api::Graph, Method::Patch, ITEM)
                    .body(&[("parentReference/id", BodyValue::Param("targetFolderId"))]),
            ),
        )
    },
    ActionSpec {
        risk: Risk::Destructive,
        ..row(
            "DeleteSensitiveFile",
            "Delete a file (it goes to the site's recycle bin, restorable there for 93 days)",
            &["DeleteCloudFile"],
            &[DRIVE_ID, FILE_ID, REASON],
            Plan::Call(Call::new(Api::Graph, Method::Delete, ITEM)),
        )
    },
];

const LABEL_ID: ParamSpec = ParamSpec {
    name: "labelId",
    aliases: &["sensitivityLabelId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The Purview sensitivity label's id (GUID)",
};
const JUSTIFICATION: ParamSpec = ParamSpec {
    name: "justification",
    aliases: &["justificationText", "reason"],
    kind: ParamKind::Text { max: 500 },
    required: false,
    default: None,
    doc: "Why the label is assigned (needed when it lowers an existing label)",
};

/// Labelling is asynchronous at Microsoft: the operation succeeds when Microsoft accepts the
/// assignment (202); its `Location` is a SharePoint monitor, not on Graph's host, which Riposte
/// does not follow. A metered, protected API: the tenant must be enabled for it.
pub(super) static LABELS: &[ActionSpec] = &[row(
    "ApplySensitivityLabel",
    "Assign a sensitivity label to a file (Graph assignSensitivityLabel, privileged; applied asynchronously by Microsoft after the 202)",
    &["AssignSensitivityLabel"],
    &[DRIVE_ID, FILE_ID, LABEL_ID, JUSTIFICATION],
    Plan::Call(
        Call::new(Api::Graph, Method::Post, "/v1.0/drives/{driveId}/items/{fileId}/assignSensitivityLabel").body(&[
            ("sensitivityLabelId", BodyValue::Param("labelId")),
            ("assignmentMethod", BodyValue::Literal("\"privileged\"")),
            ("justificationText", BodyValue::Param("justification")),
        ]),
    ),
)];
