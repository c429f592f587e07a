//! Redaction: what the audit and operation records may keep of a request's parameters.

use catalog::Params;
use serde_json::{Map, Value};

/// Parameter names whose values are secrets and never stored.
const SECRET_MARKERS: &[&str] = &["password", "secret", "token", "credential", "apikey", "key"];

/// Parameters as they may be stored: secret-looking values replaced by a marker.
pub fn params(params: &Params) -> Value {
    let map: Map<String, Value> = params
        .iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let secret = SECRET_MARKERS.iter().any(|m| lower.ends_with(m));
            if secret {
                return (k.to_string(), Value::String("[redacted]".into()));
            }
            // File bodies (UploadToLibrary's base64 `content`) are kept out of records: the
            // library holds the file, the record its size.
            if *k == "content" {
                let chars = v.as_str().map(str::len).unwrap_or(0);
                return (k.to_string(), Value::String(format!("[{chars} base64 characters, stored in the library]")));
            }
            (k.to_string(), v.clone())
        })
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_replaced() {
        let mut p = Params::new();
        p.insert("newPassword", json!("hunter2"));
        p.insert("deviceIds", json!(["a"]));
        let r = params(&p);
        assert_eq!(r["newPassword"], "[redacted]");
        assert_eq!(r["deviceIds"], json!(["a"]));
        assert!(!r.to_string().contains("hunter2"));
    }
}
