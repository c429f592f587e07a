//! Entra ID's procedures (catalog keys `entra.<area>.<verb>`), one file per catalog area
//! (`catalog/src/entra/<area>.rs`), plus [`users`]' target resolution: a user named by UPN,
//! object id or mail address becomes the one object id it denotes before any action runs.
//!
//! [`steps`] is how a procedure of several Graph calls reports: one row per step with its
//! outcome, failures counted so that a partial result is `PartiallySucceeded`, never hidden.

pub(crate) mod applications;
pub(crate) mod apps;
pub(crate) mod auth_methods;
pub(crate) mod conditional_access;
pub(crate) mod containment;
pub(crate) mod risk;
pub(crate) mod roles_pim;
pub(crate) mod steps;
pub(crate) mod users;

use super::{Entry, entry};

/// Every Entra ID procedure, by key.
pub const REGISTRY: &[Entry] = &[
    entry::<users::ResetPassword>(),
    entry::<auth_methods::DeleteMethod>(),
    entry::<auth_methods::DeleteAllMethods>(),
    entry::<risk::ConfirmCompromised>(),
    entry::<risk::Dismiss>(),
    entry::<conditional_access::CreateIpLocation>(),
    entry::<conditional_access::AddIpRanges>(),
    entry::<conditional_access::BlockCountries>(),
    entry::<conditional_access::EmergencyBlockUser>(),
    entry::<conditional_access::BreakGlass>(),
    entry::<conditional_access::BlockLegacyAuth>(),
    entry::<conditional_access::SignInRisk>(),
    entry::<conditional_access::UserRisk>(),
    entry::<conditional_access::MfaForRole>(),
    entry::<conditional_access::WhatIf>(),
    entry::<roles_pim::RemoveAdminRoles>(),
    entry::<roles_pim::RevokeActivations>(),
    entry::<roles_pim::AuditActivations>(),
    entry::<roles_pim::EnableAlerts>(),
    entry::<apps::RemoveCertificate>(),
    entry::<applications::GetApplication>(),
    entry::<applications::RemoveCredentials<false>>(),
    entry::<applications::RemoveCredentials<true>>(),
    entry::<containment::Contain>(),
    entry::<containment::Restore>(),
];
