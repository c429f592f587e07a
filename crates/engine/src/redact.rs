//! Redaction: what operations, audit records and logs may keep of a request and its answer.
//!
//! Sensitivity is declared in the catalog, not guessed here: a parameter of kind
//! [`ParamKind::Secret`] (a new password, a passcode, key material) and the answer fields an
//! action lists in [`ActionSpec::sensitive_results`] (a temporary access pass, a recovery key)
//! are replaced by [`REDACTED`] before anything is stored. The catalog's whole-table test holds
//! every secret-looking parameter name to the `Secret` kind, so a name heuristic is the guard
//! there, not the mechanism here. The one heuristic left is for free-form JSON a caller passes
//! through (a Graph PATCH object): its keys have no declaration, so secret-looking ones are
//! redacted on sight.
//!
//! A caller may see a declared secret answer once, in the response to the request that produced
//! it, by sending `Prefer: reveal-secrets` ([`reveal_requested`]); the stored copy is redacted
//! all the same, so a replay or `GET /v1/operations/{id}` never shows it again.

use catalog::{ActionSpec, ParamKind, Params};
use serde_json::{Map, Value};

/// What a secret becomes in every record.
pub const REDACTED: &str = "[redacted]";

/// The RFC 7240 preference token asking for a one-time reveal of declared secret answers.
pub const REVEAL_PREFERENCE: &str = "reveal-secrets";

/// Keys inside free-form JSON parameters that are treated as secrets (lowercase, separators
/// removed, matched as substrings). Declared parameters never go through this list.
const FREE_FORM_SECRET_KEYS: &[&str] =
    &["password", "passcode", "passphrase", "secret", "unlockcode", "privatekey", "accesskey", "apikey", "recoverykey"];

/// Parameters as they may be stored: declared secrets replaced by [`REDACTED`], file bodies by
/// their size, secret-looking keys of free-form objects redacted.
pub fn params(spec: &ActionSpec, params: &Params) -> Value {
    let map: Map<String, Value> = params
        .iter()
        .map(|(name, value)| {
            let kind = spec.params.iter().find(|p| p.name == *name).map(|p| p.kind);
            let kept = match kind {
                Some(kind) if kind.is_secret() => Value::String(REDACTED.into()),
                _ if params.is_secret(name) => Value::String(REDACTED.into()),
                // File bodies (UploadToLibrary's base64 `content`) are kept out of records: the
                // library holds the file, the record its size.
                _ if *name == "content" => {
                    let chars = value.as_str().map(str::len).unwrap_or(0);
                    Value::String(format!("[{chars} base64 characters, stored in the library]"))
                }
                Some(ParamKind::JsonObject | ParamKind::JsonObjects { .. } | ParamKind::Indicators { .. }) => {
                    free_form(value)
                }
                _ => value.clone(),
            };
            (name.to_string(), kept)
        })
        .collect();
    Value::Object(map)
}

/// An answer as it may be stored: every field the action declares sensitive replaced by
/// [`REDACTED`]. Pointers address the upstream answer; they are also applied to each per-target
/// answer of a fan-out (`/results/*/response`), where the engine files them.
pub fn result(spec: &ActionSpec, value: &Value) -> Value {
    let mut out = value.clone();
    if spec.sensitive_results.is_empty() {
        return out;
    }
    for pointer in spec.sensitive_results {
        let path: Vec<String> = segments(pointer);
        redact_at(&mut out, &path);
        if let Some(Value::Array(rows)) = out.get_mut("results") {
            for row in rows {
                if let Some(answer) = row.get_mut("response") {
                    redact_at(answer, &path);
                }
            }
        }
    }
    out
}

/// Whether `Prefer` header values ask for a one-time reveal (`Prefer: reveal-secrets`, possibly
/// among other preferences such as `wait=30`).
pub fn reveal_requested<'a>(prefer: impl IntoIterator<Item = &'a str>) -> bool {
    prefer
        .into_iter()
        .flat_map(|h| h.split(','))
        .any(|token| token.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(REVEAL_PREFERENCE)))
}

/// RFC 6901 segments of a pointer (`~1` is `/`, `~0` is `~`); `*` stays a wildcard.
fn segments(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// Replace whatever `path` reaches (every match of a `*`) by [`REDACTED`]; absent paths are fine.
fn redact_at(value: &mut Value, path: &[String]) {
    let Some((head, rest)) = path.split_first() else {
        if !value.is_null() {
            *value = Value::String(REDACTED.into());
        }
        return;
    };
    match value {
        Value::Object(map) if head == "*" => map.values_mut().for_each(|v| redact_at(v, rest)),
        Value::Object(map) => {
            if let Some(v) = map.get_mut(head.as_str()) {
                redact_at(v, rest)
            }
        }
        Value::Array(items) if head == "*" => items.iter_mut().for_each(|v| redact_at(v, rest)),
        Value::Array(items) => {
            if let Some(v) = head.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                redact_at(v, rest)
            }
        }
        _ => {}
    }
}

/// Free-form JSON with secret-looking keys redacted, at any depth.
pub(crate) fn free_form(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = catalog::params::normalize(k);
                    let secret = FREE_FORM_SECRET_KEYS.iter().any(|m| key.contains(m));
                    (k.clone(), if secret { Value::String(REDACTED.into()) } else { free_form(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(free_form).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::{Completion, ParamSpec, Plan, Product, Risk};
    use serde_json::json;

    const fn param(name: &'static str, kind: ParamKind) -> ParamSpec {
        ParamSpec { name, aliases: &[], kind, required: false, default: None, doc: "" }
    }

    static SPEC: ActionSpec = ActionSpec {
        product: Product::EntraId,
        name: "ResetPasswordForTest",
        summary: "",
        aliases: &[],
        params: &[
            param("userId", ParamKind::UserRef),
            param("newPassword", ParamKind::Secret { max: 256 }),
            // Not secret by name: only the declaration decides.
            param("keyPath", ParamKind::Text { max: 100 }),
            param("updates", ParamKind::JsonObject),
        ],
        risk: Risk::Contain,
        inverse: None,
        permission: "",
        completion: Completion::Immediate,
        plan: Plan::Unsupported { reason: "test", nearest: None },
        sensitive_results: &["/temporaryAccessPass", "/value/*/key", "/nested/a~1b"],
    };

    #[test]
    fn declared_secret_params_are_replaced_and_nothing_else_by_name() {
        let mut p = Params::new();
        p.insert("userId", json!("alice@contoso.com"));
        p.insert_secret("newPassword", json!("hunter2"));
        p.insert("keyPath", json!("HKLM\\Software"));
        p.insert("updates", json!({ "displayName": "A", "passwordProfile": { "password": "hunter3" }, "list": [{ "clientSecret": "s" }] }));
        let r = params(&SPEC, &p);
        assert_eq!(r["newPassword"], REDACTED);
        assert_eq!(r["userId"], "alice@contoso.com");
        assert_eq!(r["keyPath"], "HKLM\\Software");
        assert_eq!(r["updates"]["displayName"], "A");
        assert_eq!(r["updates"]["passwordProfile"], REDACTED);
        assert_eq!(r["updates"]["list"][0]["clientSecret"], REDACTED);
        let text = r.to_string();
        assert!(!text.contains("hunter") && !text.contains("\"s\""), "{text}");
        assert!(!format!("{p:?}").contains("hunter2"), "Debug hides declared secrets");
    }

    #[test]
    fn declared_result_fields_are_replaced_with_wildcards_and_fan_out() {
        let answer = json!({
            "temporaryAccessPass": "TAP-123",
            "lifetimeInMinutes": 60,
            "value": [{ "id": "1", "key": "k1" }, { "id": "2", "key": "k2" }, { "id": "3" }],
            "nested": { "a/b": "x", "c": "y" },
        });
        let r = result(&SPEC, &answer);
        assert_eq!(r["temporaryAccessPass"], REDACTED);
        assert_eq!(r["lifetimeInMinutes"], 60);
        assert_eq!(r["value"][0], json!({ "id": "1", "key": REDACTED }));
        assert_eq!(r["value"][1]["key"], REDACTED);
        assert_eq!(r["value"][2], json!({ "id": "3" }), "absent fields stay absent");
        assert_eq!(r["nested"], json!({ "a/b": REDACTED, "c": "y" }));
        assert_eq!(answer["temporaryAccessPass"], "TAP-123", "the caller's copy is untouched");

        let fan_out = json!({ "results": [{ "deviceId": "d", "response": { "temporaryAccessPass": "TAP-9" } }] });
        assert_eq!(result(&SPEC, &fan_out)["results"][0]["response"]["temporaryAccessPass"], REDACTED);
    }

    #[test]
    fn reveal_is_a_prefer_token() {
        assert!(reveal_requested(["reveal-secrets"]));
        assert!(reveal_requested(["wait=30, Reveal-Secrets"]));
        assert!(reveal_requested(["wait=5", "reveal-secrets; once"]));
        assert!(!reveal_requested(["wait=30"]));
        assert!(!reveal_requested(["reveal-secretsx"]));
        assert!(!reveal_requested(std::iter::empty::<&str>()));
    }
}
