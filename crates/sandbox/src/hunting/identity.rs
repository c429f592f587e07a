//! Identity tables: `IdentityInfo` (one profile per Entra user, from the world) and
//! `IdentityLogonEvents` (Active Directory and Entra sign-ins), with a password spray from
//! `synth::SPRAY_IP` that fails against a dozen accounts and succeeds against one.

use hunt::value::{Dyn, Value};
use rand::Rng;
use serde_json::json;

use super::synth::*;
use super::tables::Tables;

fn dynamic(v: serde_json::Value) -> Value {
    Value::Dynamic(Dyn::from_serde(&v))
}

pub fn generate(snap: &Snapshot, t: &mut Tables) {
    info(snap, t);
    logons(snap, t);
}

fn info(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("IdentityInfo");
    let domain = format!("{}.onmicrosoft.com", snap.tenant_name);
    for (i, u) in snap.users.iter().enumerate() {
        let admin = u.department == "IT";
        let roles = if admin { json!(["Security Administrator"]) } else { json!([]) };
        let ts = snap.recent(&mut rng, 1);
        t.push(
            "IdentityInfo",
            vec![
                ("Timestamp", dt(ts)),
                ("ReportId", s(&format!("{}-{i}", u.id))),
                ("AccountObjectId", s(&u.id)),
                ("AccountUpn", s(&u.upn)),
                ("OnPremSid", s(&u.sid)),
                ("AccountDisplayName", s(&u.display)),
                ("AccountName", s(&u.name)),
                ("AccountDomain", s(&domain)),
                ("CriticalityLevel", int(if admin { 3 } else { 0 })),
                ("Type", s("User")),
                ("GivenName", s(&u.given)),
                ("Surname", s(&u.surname)),
                ("Department", s(&u.department)),
                ("JobTitle", s(&u.title)),
                ("EmailAddress", s(&u.upn)),
                ("City", s("Redmond")),
                ("Country", s("US")),
                ("IsAccountEnabled", boolean(u.enabled)),
                ("CreatedDateTime", dt(u.created)),
                ("ChangeSource", s("AzureActiveDirectory")),
                ("RiskLevel", s("")),
                ("Tags", dynamic(json!([]))),
                ("AssignedRoles", dynamic(roles)),
                ("TenantId", s(&snap.tenant_id)),
                ("SourceSystem", s("AzureActiveDirectory")),
                ("IdentityEnvironment", s("Cloud")),
                ("SourceProviders", dynamic(json!(["AzureActiveDirectory"]))),
            ],
        );
    }
}

fn logons(snap: &Snapshot, t: &mut Tables) {
    let mut rng = snap.rng("IdentityLogonEvents");
    let dc = format!("dc-01.corp.{}.local", snap.tenant_name);
    let mut report = 0;
    // Everyday sign-ins: each user about twice a day, from their own device.
    for _ in 0..1500 {
        let ui = rng.random_range(0..snap.users.len());
        let u = &snap.users[ui];
        let device = snap.devices.iter().enumerate().find(|(i, _)| snap.owner(*i).upn == u.upn).map(|(_, d)| d);
        let cloud = rng.random_bool(0.5);
        let failed = rng.random_bool(0.04);
        report += 1;
        let mut row: Row = vec![
            ("Timestamp", dt(snap.recent(&mut rng, 30))),
            ("ActionType", s(if failed { "LogonFailed" } else { "LogonSuccess" })),
            ("Application", s(if cloud { "Microsoft 365" } else { "Active Directory" })),
            ("LogonType", s(if cloud { "Login" } else { "Resource access" })),
            ("Protocol", s(if cloud { "" } else { "Kerberos" })),
            ("AccountName", s(&u.name)),
            ("AccountDomain", s(&snap.netbios())),
            ("AccountUpn", s(&u.upn)),
            ("AccountSid", s(&u.sid)),
            ("AccountObjectId", s(&u.id)),
            ("AccountDisplayName", s(&u.display)),
            ("DeviceType", s("Desktop")),
            ("Location", s("US")),
            ("ReportId", s(&format!("idlogon-{report}"))),
            ("AdditionalFields", dynamic(json!({}))),
        ];
        if failed {
            row.push(("FailureReason", s("WrongPassword")));
        }
        if let Some(d) = device {
            row.extend([
                ("DeviceName", s(&d.name)),
                ("OSPlatform", s(&d.os)),
                ("IPAddress", s(if cloud { &d.public_ip } else { &d.ip })),
                ("Port", int(rng.random_range(49152..65535))),
            ]);
        }
        if !cloud {
            row.extend([
                ("DestinationDeviceName", s(&dc)),
                ("DestinationIPAddress", s("10.0.0.4")),
                ("DestinationPort", int(88)),
            ]);
        }
        t.push("IdentityLogonEvents", row);
    }
    // The spray: one password tried against twelve accounts in ten minutes; the last works.
    let start = snap.anchor - 5 * TICKS_PER_DAY;
    let n = snap.users.len().min(12);
    for k in 0..n {
        let u = &snap.users[(k * 3 + 2) % snap.users.len()];
        let success = k + 1 == n;
        report += 1;
        t.push(
            "IdentityLogonEvents",
            vec![
                ("Timestamp", dt(start + k as i64 * 50 * TICKS_PER_SECOND)),
                ("ActionType", s(if success { "LogonSuccess" } else { "LogonFailed" })),
                ("Application", s("Microsoft 365")),
                ("LogonType", s("Login")),
                ("Protocol", s("")),
                ("FailureReason", s(if success { "" } else { "WrongPassword" })),
                ("AccountName", s(&u.name)),
                ("AccountDomain", s(&snap.netbios())),
                ("AccountUpn", s(&u.upn)),
                ("AccountSid", s(&u.sid)),
                ("AccountObjectId", s(&u.id)),
                ("AccountDisplayName", s(&u.display)),
                ("DeviceType", s("Other")),
                ("OSPlatform", s("Linux")),
                ("IPAddress", s(SPRAY_IP)),
                ("Port", int(rng.random_range(1024..65535))),
                ("Location", s("NL")),
                ("Isp", s("Stark Industries Solutions Ltd")),
                ("ReportId", s(&format!("idlogon-{report}"))),
                ("AdditionalFields", dynamic(json!({"UserAgent": "python-requests/2.31.0"}))),
            ],
        );
    }
}
