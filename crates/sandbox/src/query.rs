//! Query-string helpers shared by the OData APIs: parsing options and building nextLinks.

/// Decoded query parameters in request order.
#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default())
    }

    /// Case-insensitive lookup (ASP.NET and Graph accept `$Filter` as well as `$filter`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// The first `$option` not in `allowed`, if any.
    pub fn unknown_system_option(&self, allowed: &[&str]) -> Option<&str> {
        self.0
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| k.starts_with('$') && !allowed.iter().any(|a| a.eq_ignore_ascii_case(k)))
    }

    /// A copy with `key` set to `value` (replacing any case variant), for nextLinks.
    pub fn with(&self, key: &str, value: &str) -> Params {
        let mut out: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| !k.eq_ignore_ascii_case(key)).cloned().collect();
        out.push((key.to_string(), value.to_string()));
        Params(out)
    }

    /// Percent-encodes values but keeps `$` readable in option names.
    pub fn to_query_string(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| {
                let k: String =
                    url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>().replace("%24", "$");
                let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Keeps only the selected properties (already validated) of each entity.
pub fn project(items: Vec<serde_json::Value>, select: &[String]) -> Vec<serde_json::Value> {
    if select.is_empty() {
        return items;
    }
    items
        .into_iter()
        .map(|v| match v {
            serde_json::Value::Object(map) => {
                serde_json::Value::Object(map.into_iter().filter(|(k, _)| select.iter().any(|s| s == k)).collect())
            }
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_rebuild() {
        let p = Params::parse(Some("$filter=healthStatus+eq+'Active'&$TOP=5"));
        assert_eq!(p.get("$filter"), Some("healthStatus eq 'Active'"));
        assert_eq!(p.get("$top"), Some("5"));
        let next = p.with("$skip", "5").to_query_string();
        assert!(next.contains("$skip=5"));
        assert!(next.contains("$filter=healthStatus+eq+%27Active%27"));
        assert_eq!(p.unknown_system_option(&["$filter"]), Some("$TOP"));
    }
}
