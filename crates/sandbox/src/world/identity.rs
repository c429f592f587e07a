//! A tenant's identities as Defender for Identity sees them (`graph/identities.rs` serves them):
//! one identity account per Entra user, each with an Active Directory account (synced from the
//! on-premises domain) and an Entra ID account, plus what `invokeAction` did to them; and the
//! tenant's Secure Score history, whose identity controls `GetIdentitySecureScore` reads.
//!
//! An Entra ID action is the Entra user's own state (disable sets `accountEnabled = false`,
//! revokeAllSessions moves `signInSessionsValidFromDateTime`), as the Entra account is that
//! user; an Active Directory action changes the on-premises account, kept here.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::{User, guid};
use crate::clock::fmt_utc;

/// The on-premises Active Directory account of an identity.
#[derive(Clone, Debug)]
pub struct AdAccount {
    /// The account id invokeAction takes for `activeDirectory` (the AD object GUID).
    pub account_id: String,
    pub sid: String,
    pub sam_account_name: String,
    pub enabled: bool,
    /// `forcePasswordReset`: the user must change the password at next logon.
    pub must_change_password: bool,
}

/// One `microsoft.graph.security.identityAccounts`.
#[derive(Clone, Debug)]
pub struct IdentityAccount {
    pub id: String,
    /// The Entra user (object id) this identity is.
    pub user_id: String,
    pub display_name: String,
    pub domain: String,
    pub cloud_sid: String,
    pub ad: AdAccount,
}

/// One invokeAction call, as answered.
#[derive(Clone, Debug)]
pub struct ActionRecord {
    pub identity_account_id: String,
    pub account_id: String,
    pub action: String,
    pub provider: String,
    pub correlation_id: String,
    pub at: OffsetDateTime,
}

/// One day's Secure Score (the v1.0 `secureScore`, as JSON).
#[derive(Clone, Debug, Default)]
pub struct IdentityState {
    pub accounts: Vec<IdentityAccount>,
    pub actions: Vec<ActionRecord>,
    pub secure_scores: Vec<Value>,
}

impl IdentityState {
    pub fn state_json(&self) -> Value {
        json!({
            "identityAccounts": self.accounts.iter().map(|a| json!({
                "id": a.id,
                "userId": a.user_id,
                "displayName": a.display_name,
                "activeDirectory": {
                    "accountId": a.ad.account_id,
                    "sid": a.ad.sid,
                    "samAccountName": a.ad.sam_account_name,
                    "enabled": a.ad.enabled,
                    "mustChangePassword": a.ad.must_change_password,
                },
            })).collect::<Vec<_>>(),
            "actions": self.actions.iter().map(|r| json!({
                "identityAccountId": r.identity_account_id,
                "accountId": r.account_id,
                "action": r.action,
                "identityProvider": r.provider,
                "correlationId": r.correlation_id,
                "dateTime": fmt_utc(r.at),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Seeds a tenant's identities and Secure Score from its users, on its own random stream.
pub fn seed(
    seed: u64,
    tenant_index: usize,
    tenant_name: &str,
    tenant_id: &str,
    users: &[User],
    now: OffsetDateTime,
) -> IdentityState {
    use rand::SeedableRng;
    let mut rng = StdRng::seed_from_u64(seed ^ (tenant_index as u64 + 1).wrapping_mul(0x1DE7_1717_0000_0005));
    let domain = format!("corp.{tenant_name}.local");
    let domain_sid = format!(
        "S-1-5-21-{}-{}-{}",
        rng.random_range(1_000_000_000u32..4_000_000_000),
        rng.random_range(1_000_000_000u32..4_000_000_000),
        rng.random_range(1_000_000_000u32..4_000_000_000)
    );
    let accounts = users
        .iter()
        .enumerate()
        .map(|(i, u)| IdentityAccount {
            id: guid(&mut rng),
            user_id: u.id.clone(),
            display_name: u.display_name.clone(),
            domain: domain.clone(),
            cloud_sid: format!("S-1-12-1-{}", rng.random_range(1_000_000_000u32..4_000_000_000)),
            ad: AdAccount {
                account_id: guid(&mut rng),
                sid: format!("{domain_sid}-{}", 1100 + i),
                sam_account_name: u.mail_nickname.clone(),
                enabled: true,
                must_change_password: false,
            },
        })
        .collect();
    IdentityState { accounts, actions: Vec::new(), secure_scores: secure_scores(&mut rng, tenant_id, users.len(), now) }
}

/// A week of daily scores; each has controls in the Identity, Data, Apps and Device categories.
fn secure_scores(rng: &mut StdRng, tenant_id: &str, users: usize, now: OffsetDateTime) -> Vec<Value> {
    const CONTROLS: &[(&str, &str, f64)] = &[
        ("Identity", "MFARegistrationV2", 9.0),
        ("Identity", "BlockLegacyAuthentication", 8.0),
        ("Identity", "AdminMFAV2", 10.0),
        ("Identity", "PasswordHashSync", 5.0),
        ("Data", "DLPEnabled", 3.0),
        ("Apps", "mdo_safelinksforemail", 8.0),
        ("Device", "scid_2010", 6.0),
    ];
    (0..7)
        .map(|d| {
            let day = now - Duration::days(d);
            let controls: Vec<Value> = CONTROLS
                .iter()
                .map(|(cat, name, max)| {
                    let score = (rng.random_range(0.0..=*max) * 100.0f64).round() / 100.0;
                    json!({"controlCategory": cat, "controlName": name, "score": score, "description": format!("{name} control"), "scoreInPercentage": (score / max * 10000.0).round() / 100.0})
                })
                .collect();
            let current: f64 = controls.iter().filter_map(|c| c["score"].as_f64()).sum();
            json!({
                "id": format!("{tenant_id}_{}", day.date()),
                "azureTenantId": tenant_id,
                "activeUserCount": users,
                "createdDateTime": fmt_utc(day),
                "currentScore": (current * 100.0).round() / 100.0,
                "maxScore": CONTROLS.iter().map(|c| c.2).sum::<f64>(),
                "licensedUserCount": users,
                "enabledServices": ["HasExchange", "HasAzureAD", "HasDefenderForIdentity"],
                "averageComparativeScores": [{"basis": "AllTenants", "averageScore": 38.5}],
                "controlScores": controls,
            })
        })
        .collect()
}
