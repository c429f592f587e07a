//! Filling a call's JSON body from its template ([`catalog::BodyValue`]) and the validated params.
//!
//! Graph, Intune, Exchange and ARM bodies are more than flat copies of parameters: nested
//! objects (`queryCondition/queryText`), references that combine a literal with an id
//! (`Format`), Microsoft's spelling of one of our values (`Mapped`), an expiry computed from a
//! duration (`NowPlus`), and arrays of objects built element-wise from list parameters
//! (`Objects`). Each form is data in the catalog and one small function here; every form that
//! reads a parameter leaves its field out when the parameter is absent, so optional fields are
//! sent only when the caller gave them.

use crate::EngineError;
use catalog::{BodyValue, Call, Method, ParamError, Params};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The body of `call`: `None` for a body-less call, `{}` for a POST with no template.
pub fn body(call: &Call, params: &Params, now: OffsetDateTime) -> Result<Option<Value>, EngineError> {
    if call.body.is_empty() {
        return Ok(match call.method {
            Method::Post => Some(json!({})),
            _ => None,
        });
    }
    Ok(Some(Value::Object(object(call.body, params, now)?)))
}

/// One object from (key, source) pairs, absent sources left out.
fn object(
    fields: &[(&str, BodyValue)],
    params: &Params,
    now: OffsetDateTime,
) -> Result<Map<String, Value>, EngineError> {
    let mut map = Map::new();
    for (key, source) in fields {
        if let Some(value) = value_of(source, params, now)? {
            insert_at(&mut map, key, value);
        }
    }
    Ok(map)
}

/// One source's value, or `None` when a parameter it reads is absent.
fn value_of(source: &BodyValue, params: &Params, now: OffsetDateTime) -> Result<Option<Value>, EngineError> {
    match *source {
        BodyValue::Param(p) => Ok(params.get(p).cloned()),
        BodyValue::Literal(lit) => literal(lit).map(Some),
        BodyValue::Format(template) => Ok(format(template, params).map(Value::String)),
        BodyValue::Mapped { param, table } => mapped(param, table, params),
        BodyValue::NowPlus { param, unit_seconds } => now_plus(param, unit_seconds, params, now),
        BodyValue::Objects(fields) => objects(source, fields, params, now),
    }
}

fn literal(lit: &str) -> Result<Value, EngineError> {
    serde_json::from_str(lit).map_err(|e| EngineError::Internal(format!("bad literal {lit} in catalog: {e}")))
}

/// The template with each `{param}` replaced by its value; `None` when any is absent.
fn format(template: &str, params: &Params) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 40);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}')?;
        out.push_str(&super::scalar_text(params.get(&rest[start + 1..end])?));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The parameter's value looked up (ignoring case) in the table; a value the table lacks is the
/// caller's mistake, named with the values it could have been.
fn mapped(param: &str, table: &[(&str, &str)], params: &Params) -> Result<Option<Value>, EngineError> {
    let Some(value) = params.get(param) else { return Ok(None) };
    let given = super::scalar_text(value);
    match table.iter().find(|(from, _)| from.eq_ignore_ascii_case(&given)) {
        Some((_, to)) => literal(to).map(Some),
        None => Err(EngineError::InvalidParam(ParamError {
            field: param.to_string(),
            message: format!("'{given}' has no upstream equivalent"),
            hint: format!("one of: {}", table.iter().map(|(from, _)| *from).collect::<Vec<_>>().join(", ")),
        })),
    }
}

/// `now` plus the parameter's duration, as RFC 3339 (whole seconds).
fn now_plus(
    param: &str,
    unit_seconds: i64,
    params: &Params,
    now: OffsetDateTime,
) -> Result<Option<Value>, EngineError> {
    let Some(value) = params.get(param) else { return Ok(None) };
    let invalid = || {
        EngineError::InvalidParam(ParamError {
            field: param.to_string(),
            message: format!("'{}' is not a duration", super::scalar_text(value)),
            hint: "a whole number, or an ISO 8601 duration such as P7D or PT12H".into(),
        })
    };
    let seconds = match value {
        Value::Number(n) => n.as_i64().and_then(|n| n.checked_mul(unit_seconds)),
        Value::String(s) => {
            s.trim().parse::<i64>().ok().and_then(|n| n.checked_mul(unit_seconds)).or_else(|| iso8601_seconds(s))
        }
        _ => None,
    }
    .ok_or_else(invalid)?;
    let at = now.replace_nanosecond(0).unwrap_or(now) + Duration::seconds(seconds);
    let text = at.format(&Rfc3339).map_err(|_| invalid())?;
    Ok(Some(Value::String(text)))
}

/// Seconds in an ISO 8601 duration of weeks, days, hours, minutes and seconds (`P1W`,
/// `P7DT12H`, `PT90M`); years and months have no fixed length and are refused.
pub(crate) fn iso8601_seconds(s: &str) -> Option<i64> {
    let rest = s.trim().strip_prefix(['P', 'p'])?;
    let (mut total, mut number, mut in_time, mut any) = (0i64, String::new(), false, false);
    for c in rest.chars() {
        let unit = match c.to_ascii_uppercase() {
            'T' if number.is_empty() && !in_time => {
                in_time = true;
                continue;
            }
            d if d.is_ascii_digit() => {
                number.push(d);
                continue;
            }
            'W' if !in_time => 604_800,
            'D' if !in_time => 86_400,
            'H' if in_time => 3_600,
            'M' if in_time => 60,
            'S' if in_time => 1,
            _ => return None,
        };
        total = total.checked_add(number.parse::<i64>().ok()?.checked_mul(unit)?)?;
        number.clear();
        any = true;
    }
    (any && number.is_empty()).then_some(total)
}

/// An array of objects, one per index of the list parameters the fields read; a scalar is the
/// same in every object. Lists of different lengths are refused, naming the shorter one.
fn objects(
    source: &BodyValue,
    fields: &[(&str, BodyValue)],
    params: &Params,
    now: OffsetDateTime,
) -> Result<Option<Value>, EngineError> {
    let reads = source.reads();
    let lists: Vec<(&str, &Vec<Value>)> =
        reads.iter().filter_map(|name| params.get(name).and_then(Value::as_array).map(|a| (*name, a))).collect();
    let count = match lists.first() {
        Some((_, first)) => first.len(),
        None if reads.iter().any(|name| params.contains_key(name)) => 1,
        None => return Ok(None),
    };
    if let Some((name, list)) = lists.iter().find(|(_, l)| l.len() != count) {
        return Err(EngineError::InvalidParam(ParamError {
            field: name.to_string(),
            message: format!("has {} items where {} has {count}", list.len(), lists[0].0),
            hint: "the lists pair up item by item, so give them the same length".into(),
        }));
    }
    let items = (0..count)
        .map(|i| {
            let mut row = params.clone();
            for (name, list) in &lists {
                row.insert(name, list[i].clone());
            }
            object(fields, &row, now).map(Value::Object)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Value::Array(items)))
}

/// Put `value` at a body key; a key with `/` is a path into nested objects (Graph bodies such as
/// `queryCondition/queryText`), so one flat template can describe a nested body. `*` as the key
/// merges a JSON object param into the body root (a caller's Graph PATCH properties).
pub(super) fn insert_at(map: &mut Map<String, Value>, key: &str, value: Value) {
    if key == "*" {
        if let Value::Object(fields) = value {
            for (k, v) in fields {
                map.entry(k).or_insert(v);
            }
        }
        return;
    }
    match key.split_once('/') {
        None => {
            map.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let slot = map.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(inner) = slot {
                insert_at(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::Api;

    fn at() -> OffsetDateTime {
        OffsetDateTime::parse("2026-11-23T10:00:00.5Z", &Rfc3339).unwrap()
    }

    fn filled(body: &'static [(&'static str, BodyValue)], params: &Params) -> Result<Value, EngineError> {
        let call = Call::new(Api::Graph, Method::Post, "/x").body(body);
        Ok(super::body(&call, params, at())?.unwrap())
    }

    fn params(pairs: &[(&'static str, Value)]) -> Params {
        let mut p = Params::new();
        for (k, v) in pairs {
            p.insert(k, v.clone());
        }
        p
    }

    #[test]
    fn slash_keys_build_nested_bodies_and_star_merges() {
        let mut m = Map::new();
        insert_at(&mut m, "displayName", json!("r"));
        insert_at(&mut m, "queryCondition/queryText", json!("T | take 1"));
        insert_at(&mut m, "detectionAction/alertTemplate/title", json!("t"));
        insert_at(&mut m, "detectionAction/alertTemplate/severity", json!("high"));
        insert_at(&mut m, "*", json!({"displayName": "ignored: explicit keys win", "isEnabled": false}));
        assert_eq!(
            Value::Object(m),
            json!({"displayName": "r", "isEnabled": false, "queryCondition": {"queryText": "T | take 1"},
                   "detectionAction": {"alertTemplate": {"title": "t", "severity": "high"}}})
        );
    }

    #[test]
    fn optional_params_appear_only_when_given() {
        const BODY: &[(&str, BodyValue)] =
            &[("Comment", BodyValue::Param("comment")), ("IsolationType", BodyValue::Literal("\"Full\""))];
        assert_eq!(filled(BODY, &Params::new()).unwrap(), json!({"IsolationType": "Full"}));
        assert_eq!(
            filled(BODY, &params(&[("comment", json!("c"))])).unwrap(),
            json!({"Comment": "c", "IsolationType": "Full"})
        );
        let bare = Call::new(Api::Graph, Method::Get, "/x");
        assert_eq!(super::body(&bare, &Params::new(), at()).unwrap(), None);
    }

    #[test]
    fn format_combines_a_literal_with_params_or_is_left_out() {
        const BODY: &[(&str, BodyValue)] =
            &[("@odata.id", BodyValue::Format("https://graph.microsoft.com/v1.0/directoryObjects/{userId}"))];
        let p = params(&[("userId", json!("6f7e"))]);
        assert_eq!(
            filled(BODY, &p).unwrap(),
            json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/6f7e"})
        );
        assert_eq!(filled(BODY, &Params::new()).unwrap(), json!({}));
    }

    #[test]
    fn mapped_translates_through_the_table_and_names_a_stray_value() {
        const BODY: &[(&str, BodyValue)] =
            &[("severity", BodyValue::Mapped { param: "severity", table: &[("High", "\"high\""), ("Off", "0")] })];
        assert_eq!(filled(BODY, &params(&[("severity", json!("HIGH"))])).unwrap(), json!({"severity": "high"}));
        assert_eq!(filled(BODY, &params(&[("severity", json!("off"))])).unwrap(), json!({"severity": 0}));
        assert_eq!(filled(BODY, &Params::new()).unwrap(), json!({}));
        let EngineError::InvalidParam(e) = filled(BODY, &params(&[("severity", json!("Medium"))])).unwrap_err() else {
            panic!()
        };
        assert_eq!(e.field, "severity");
        assert!(e.hint.contains("High, Off"), "{}", e.hint);
    }

    #[test]
    fn now_plus_adds_units_or_an_iso_duration() {
        const BODY: &[(&str, BodyValue)] =
            &[("expirationDateTime", BodyValue::NowPlus { param: "hours", unit_seconds: 3600 })];
        assert_eq!(
            filled(BODY, &params(&[("hours", json!(24))])).unwrap(),
            json!({"expirationDateTime": "2026-11-24T10:00:00Z"})
        );
        assert_eq!(
            filled(BODY, &params(&[("hours", json!("P1DT12H"))])).unwrap(),
            json!({"expirationDateTime": "2026-11-24T22:00:00Z"})
        );
        assert_eq!(
            filled(BODY, &params(&[("hours", json!("PT90M"))])).unwrap(),
            json!({"expirationDateTime": "2026-11-23T11:30:00Z"})
        );
        assert_eq!(filled(BODY, &Params::new()).unwrap(), json!({}));
        for bad in ["P1Y", "PT", "soon", "P1H"] {
            assert!(
                matches!(filled(BODY, &params(&[("hours", json!(bad))])), Err(EngineError::InvalidParam(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn objects_pair_list_params_item_by_item_and_repeat_scalars() {
        const BODY: &[(&str, BodyValue)] = &[(
            "analyzedEmails",
            BodyValue::Objects(&[
                ("networkMessageId", BodyValue::Param("messageIds")),
                ("recipientEmailAddress", BodyValue::Param("recipients")),
                ("source/kind", BodyValue::Param("kind")),
                ("note", BodyValue::Param("note")),
            ]),
        )];
        let p = params(&[
            ("messageIds", json!(["m1", "m2"])),
            ("recipients", json!(["a@x", "b@x"])),
            ("kind", json!("user")),
        ]);
        assert_eq!(
            filled(BODY, &p).unwrap(),
            json!({"analyzedEmails": [
                {"networkMessageId": "m1", "recipientEmailAddress": "a@x", "source": {"kind": "user"}},
                {"networkMessageId": "m2", "recipientEmailAddress": "b@x", "source": {"kind": "user"}},
            ]})
        );
        assert_eq!(filled(BODY, &Params::new()).unwrap(), json!({}));
        let uneven = params(&[("messageIds", json!(["m1", "m2"])), ("recipients", json!(["a@x"]))]);
        let EngineError::InvalidParam(e) = filled(BODY, &uneven).unwrap_err() else { panic!() };
        assert_eq!(e.field, "recipients");
    }
}
