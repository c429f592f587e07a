//! Defender for Cloud Apps: its own per-tenant portal host and token audience (`Api::CloudApps`,
//! upstream-apis.md §7); OAuth apps and consents through Graph, where Cloud Apps has no API.
//!
//! - `portal.rs`: the Cloud Apps API: alerts (list, read, close benign / false positive / true
//!   positive), activities, files, and the Cloud Discovery block script.
//! - `apps.rs`: OAuth apps and user consents (Graph `oauth2PermissionGrants`, app role
//!   assignments, service principals) and sessions (Graph `revokeSignInSessions`), each name
//!   saying exactly which Graph change it makes.
//! - `files.rs`: files in connected apps changed through Graph drives (sharing revoked, external
//!   sharing removed, quarantine folder, restore, delete).
//! - `sessions.rs`: Conditional Access App Control switched on by Conditional Access policies
//!   with a Cloud Apps session control (report-only unless enforced), and removed.
//! - `unsupported.rs`: what only the Cloud Apps or Purview portal can do, with the reason and
//!   the nearest real action.
use crate::*;

mod apps;
mod files;
mod portal;
mod sessions;
mod unsupported;

/// Every Mcas action.
pub fn actions() -> impl Iterator<Item = &'static ActionSpec> {
    portal::ACTIONS
        .iter()
        .chain(apps::ACTIONS)
        .chain(files::ACTIONS)
        .chain(files::LABELS)
        .chain(sessions::ACTIONS)
        .chain(unsupported::ACTIONS)
}

/// Effect checks of this product's actions (`verify.rs`).
pub static CHECKS: &[verify::Check] = &[];

// --- Parameters shared by the tables ---------------------------------------------------------

/// An Entra user's object id: grants and assignments name principals by object id only.
pub(crate) const USER_OBJECT_ID: ParamSpec = ParamSpec {
    name: "userId",
    aliases: &["principalId", "userObjectId"],
    kind: ParamKind::Guid,
    required: true,
    default: None,
    doc: "The user's Entra object id (GUID); grants name users by object id, not UPN",
};
/// A service principal's object id (the app as it exists in this tenant).
pub(crate) const SERVICE_PRINCIPAL_ID: ParamSpec = ParamSpec {
    name: "servicePrincipalId",
    aliases: &["appId", "applicationId", "spId"],
    kind: ParamKind::ResourceId,
    required: true,
    default: None,
    doc: "The app's service principal object id in this tenant (not its client/application id)",
};
