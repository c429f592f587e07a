//! AWS Query API XML, read into JSON so procedures handle AWS answers like Microsoft's.
//!
//! EC2 (API version 2016-11-15) and STS answer in XML whose shape is regular: a list is an
//! element whose children are all `<item>`, a structure an element with named children, a
//! scalar an element with text. [`to_json`] maps exactly that: lists become arrays, structures
//! objects, scalars strings (AWS sends numbers and booleans as text; readers parse what they
//! need). An empty element (`<groupSet/>`) is an empty string, which [`items`] reads as an empty
//! list. Errors come in two envelopes ([`error`]): EC2's `<Response><Errors><Error>` and STS's
//! `<ErrorResponse><Error>`; both carry `Code` and `Message` and a request id.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

use crate::error::{UpstreamError, truncate};

/// An element being read: its local name, its named children in order, its text.
type Open = (String, Vec<(String, Value)>, String);

/// The root element's name (`DescribeInstancesResponse`) and its content as JSON.
pub(crate) fn to_json(text: &str) -> Result<(String, Value), String> {
    // Text is trimmed per leaf, not per fragment: `a &amp; b` arrives as three fragments.
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    loop {
        match reader.read_event().map_err(|e| format!("XML at byte {}: {e}", reader.buffer_position()))? {
            Event::Start(e) => stack.push((local_name(e.local_name().as_ref()), Vec::new(), String::new())),
            Event::Empty(e) => {
                let name = local_name(e.local_name().as_ref());
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, Value::String(String::new()))),
                    None => return Ok((name, Value::String(String::new()))),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => push_text(&mut stack, &t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => entity(&r.decode().map_err(|e| e.to_string())?)?.to_owned(),
                };
                push_text(&mut stack, &resolved);
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().ok_or("an end tag without a start")?;
                let value = element_value(children, text);
                match stack.last_mut() {
                    Some(parent) => parent.1.push((name, value)),
                    None => return Ok((name, value)),
                }
            }
            Event::Eof => return Err("the document ended before its root element closed".into()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

/// A list element's entries; an empty element (`""`) or an absent one is an empty list.
pub fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// AWS's error answer as [`UpstreamError::Api`]: its code (`AuthFailure`,
/// `InvalidInstanceID.NotFound`, ...), its message and request id, with the HTTP status.
/// AWS's codes for a credential that has expired: EC2's `RequestExpired` (the signature's date
/// or the temporary keys are past their time) and STS/IAM's `ExpiredToken`. AWS answers them
/// with 400, but it is our credential that failed, not the caller's request: they travel as a
/// 401, so the engine answers 502 naming the code and an assumed role's session is renewed.
pub(crate) const EXPIRED_CREDENTIAL_CODES: &[&str] = &["RequestExpired", "ExpiredToken", "ExpiredTokenException"];

/// An AWS error answer (EC2's or STS's XML) as [`UpstreamError::Api`] with AWS's own code.
pub(crate) fn error(status: u16, text: &str) -> UpstreamError {
    let (code, message, request_id) = match to_json(text) {
        Ok((_, body)) => {
            // EC2: Response/Errors/Error; STS: ErrorResponse/Error.
            let error = body.get("Errors").and_then(|e| e.get("Error")).or_else(|| body.get("Error"));
            let field = |k: &str| error.and_then(|e| e.get(k)).and_then(Value::as_str).map(str::to_owned);
            let request_id = ["RequestID", "RequestId"].iter().find_map(|k| body.get(*k)?.as_str().map(str::to_owned));
            (field("Code"), field("Message"), request_id)
        }
        Err(_) => (None, None, None),
    };
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown");
    let code = code.filter(|c| !c.is_empty()).unwrap_or_else(|| reason.replace(' ', ""));
    let status = if EXPIRED_CREDENTIAL_CODES.contains(&code.as_str()) { 401 } else { status };
    UpstreamError::Api {
        status,
        code,
        message: truncate(&message.filter(|m| !m.is_empty()).unwrap_or_else(|| truncate(text, 300)), 1000),
        request_id,
    }
}

fn local_name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn push_text(stack: &mut [Open], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.2.push_str(text);
    }
}

/// The five entities XML predefines (AWS sends no others).
fn entity(name: &str) -> Result<&'static str, String> {
    Ok(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        other => return Err(format!("unknown XML entity &{other};")),
    })
}

/// Text for a leaf, an array for `<item>` children, else an object (the first of a repeated name).
fn element_value(children: Vec<(String, Value)>, text: String) -> Value {
    if children.is_empty() {
        return Value::String(text.trim().to_owned());
    }
    if children.iter().all(|(name, _)| name == "item") {
        return Value::Array(children.into_iter().map(|(_, v)| v).collect());
    }
    let mut object = Map::new();
    for (name, value) in children {
        object.entry(name).or_insert(value);
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_structures_and_scalars() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeNetworkAclsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <networkAclSet>
    <item>
      <networkAclId>acl-5566953c</networkAclId>
      <default>true</default>
      <entrySet>
        <item><ruleNumber>100</ruleNumber><ruleAction>allow</ruleAction><cidrBlock>0.0.0.0/0</cidrBlock></item>
      </entrySet>
      <associationSet/>
      <tagSet><item><key>Name</key><value>a &amp; b &#65;</value></item></tagSet>
    </item>
  </networkAclSet>
</DescribeNetworkAclsResponse>"#;
        let (root, body) = to_json(text).unwrap();
        assert_eq!(root, "DescribeNetworkAclsResponse");
        let acl = &body["networkAclSet"][0];
        assert_eq!(acl["networkAclId"], "acl-5566953c");
        assert_eq!(acl["entrySet"][0]["ruleNumber"], "100");
        assert!(items(&acl["associationSet"]).is_empty());
        assert_eq!(acl["tagSet"][0]["value"], "a & b A");
        assert_eq!(body["requestId"], "59dbff89-35bd-4eac-99ed-be587EXAMPLE");
    }

    #[test]
    fn ec2_and_sts_errors_keep_aws_codes() {
        let ec2 = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"#;
        assert_eq!(
            error(400, ec2),
            UpstreamError::Api {
                status: 400,
                code: "InvalidInstanceID.NotFound".into(),
                message: "The instance ID 'i-1' does not exist".into(),
                request_id: Some("ea966190-f9aa-478e-9ede-example".into()),
            }
        );
        let sts = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#;
        let UpstreamError::Api { code, request_id, .. } = error(403, sts) else { panic!() };
        assert_eq!((code.as_str(), request_id.as_deref()), ("InvalidClientTokenId", Some("r-1")));
        // An expired credential is ours, not the caller's: a 401 whatever status AWS sent.
        let expired = r#"<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has expired.</Message></Error></Errors><RequestID>r-2</RequestID></Response>"#;
        let UpstreamError::Api { status, code, .. } = error(400, expired) else { panic!() };
        assert_eq!((status, code.as_str()), (401, "RequestExpired"));
        let expired = r#"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>r-3</RequestId></ErrorResponse>"#;
        let UpstreamError::Api { status, code, .. } = error(400, expired) else { panic!() };
        assert_eq!((status, code.as_str()), (401, "ExpiredToken"));
        let UpstreamError::Api { code, message, .. } = error(503, "<html>down</html") else { panic!() };
        assert_eq!(code, "ServiceUnavailable");
        assert!(message.contains("down"));
        assert_eq!(to_json("<a><b>1</b><b>2</b></a>").unwrap().1, json!({"b": "1"}));
    }
}
