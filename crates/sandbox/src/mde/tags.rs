//! `POST /api/machines/{id}/tags`: add or remove a machine tag (MDE "Add or Remove Tag").
//!
//! Body `{"Value": "tier-0", "Action": "Add" | "Remove"}`, both required; 200 with the updated
//! machine; `Machine.ReadWrite.All`. Adding a tag the machine has, or removing one it lacks,
//! changes nothing (tags compare case-insensitively, the first spelling stays). Riposte's approval
//! policy reads these tags (tier-0 devices), so tests tag a machine the way an operator would.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::{body_str, context, enum_value, machine_json, machine_not_found, parse_body, set_context, with_tenant};
use crate::auth::Caller;
use crate::errors::{self, json_response};
use crate::state::AppState;

/// The longest tag MDE's portal accepts.
const MAX_TAG: usize = 200;

pub(super) fn update(
    state: &AppState,
    c: &Caller,
    id: &str,
    method: &Method,
    body: &[u8],
) -> Result<Response, Response> {
    if method != Method::POST {
        return Err(errors::mde(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "Use POST to change tags."));
    }
    c.require(&["Machine.ReadWrite.All"])?;
    let body = parse_body(body)?;
    let value = body_str(&body, "Value", true)?.unwrap_or_default().trim().to_string();
    if value.chars().count() > MAX_TAG {
        return Err(errors::mde(
            StatusCode::BAD_REQUEST,
            "InvalidRequestBody",
            format!("Tag is longer than {MAX_TAG} characters."),
        ));
    }
    let add = enum_value(&body, "Action", &["Add", "Remove"], true)?.as_deref() == Some("Add");
    let machine = with_tenant(state, c, |t, now| {
        let m = t.machine_mut(id)?;
        let has = m.machine_tags.iter().position(|x| x.eq_ignore_ascii_case(&value));
        match (add, has) {
            (true, None) => m.machine_tags.push(value.clone()),
            (false, Some(i)) => {
                m.machine_tags.remove(i);
            }
            _ => {}
        }
        Some(machine_json(m, now))
    })?
    .ok_or_else(|| machine_not_found(id))?;
    let mut v = machine;
    set_context(&mut v, context(state, "Machines/$entity"));
    Ok(json_response(StatusCode::OK, v))
}
