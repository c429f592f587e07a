//! Azure Resource Manager parameter kinds: resource names and ids, address prefixes, port
//! ranges and ISO 3166 country codes, checked before any call so a bad value is a 400 naming the
//! field rather than an ARM error after the fact.
//!
//! The rules are ARM's own: resource group and resource names (1–90 characters of letters,
//! digits and `-_.()`, not ending in `.`; "Naming rules and restrictions for Azure resources"),
//! resource ids `/subscriptions/{guid}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}...`,
//! NSG address prefixes (an address or a CIDR range; the Network provider refuses a range whose
//! host bits are set), NSG port ranges (`*`, `N` or `N-M` within 0–65535) and the WAF `GeoMatch`
//! operator's two-letter ISO 3166-1 country codes.

use super::{Problem, echo, guid, problem, string_items};
use serde_json::Value;
use std::net::IpAddr;

/// A resource group or resource name as ARM accepts it.
pub(super) fn name(s: &str) -> Result<Value, Problem> {
    let ok = !s.is_empty()
        && s.chars().count() <= 90
        && !s.ends_with('.')
        && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        return Ok(Value::String(s.to_string()));
    }
    Err(problem(
        format!("'{}' is not an Azure resource name", echo(s)),
        "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.', e.g. \"rg-prod-servers\"",
    ))
}

/// A full ARM resource id, normalised to start with one `/`.
pub(super) fn resource_id(s: &str) -> Result<Value, Problem> {
    let bad = || {
        problem(
            format!("'{}' is not an Azure resource id", echo(s)),
            "send /subscriptions/{subscription GUID}/resourceGroups/{group}/providers/{namespace}/{type}/{name}, \
             e.g. \"/subscriptions/6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-isolation\"",
        )
    };
    let trimmed = s.trim().trim_end_matches('/');
    let segs: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let shape_ok = segs.len() >= 8
        && segs.len().is_multiple_of(2)
        && segs[0].eq_ignore_ascii_case("subscriptions")
        && guid(segs[1]).is_ok()
        && segs[2].eq_ignore_ascii_case("resourceGroups")
        && segs[4].eq_ignore_ascii_case("providers")
        && segs[5].contains('.');
    if !shape_ok || segs.iter().any(|seg| seg.is_empty()) || name(segs[3]).is_err() {
        return Err(bad());
    }
    if segs[6..].iter().any(|seg| name(seg).is_err()) {
        return Err(bad());
    }
    Ok(Value::String(format!("/{}", segs.join("/"))))
}

/// One address or a CIDR range whose host bits are clear (`203.0.113.7`, `198.51.100.0/24`).
pub(super) fn ip_prefix(s: &str) -> Result<Value, Problem> {
    let hint = "send an address or a CIDR range, e.g. \"203.0.113.7\" or \"198.51.100.0/24\"";
    let (addr, bits) = match s.trim().split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s.trim(), None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Err(problem(format!("'{}' is not an IPv4 or IPv6 address or range", echo(s)), hint));
    };
    let Some(bits) = bits else {
        return Ok(Value::String(ip.to_string()));
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let Some(len) = bits.parse::<u32>().ok().filter(|b| *b <= max) else {
        return Err(problem(format!("'{}' has a prefix length outside 0-{max}", echo(s)), hint));
    };
    let network = network_of(ip, len);
    if network != ip {
        return Err(problem(
            format!("'{}' has host bits set", echo(s)),
            format!("Azure refuses such a range; send the network address, \"{network}/{len}\""),
        ));
    }
    Ok(Value::String(format!("{ip}/{len}")))
}

fn network_of(ip: IpAddr, len: u32) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// NSG port ranges: `*`, a port, or `low-high`, each within 0-65535; a list of them.
pub(super) fn port_ranges(value: &Value, max: usize) -> Result<Value, Problem> {
    let items = string_items(value, "port range")?;
    if items.is_empty() {
        return Err(problem("names no port", "send \"*\", a port such as \"443\", or a range such as \"8000-8080\""));
    }
    if items.len() > max {
        return Err(problem(format!("names {} ranges; at most {max} allowed", items.len()), "merge adjacent ranges"));
    }
    if items.len() > 1 && items.iter().any(|p| p == "*") {
        return Err(problem("mixes '*' with other ranges", "send \"*\" alone to mean every port"));
    }
    items.iter().map(|p| port_range(p).map(Value::String)).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

fn port_range(s: &str) -> Result<String, Problem> {
    let bad = || {
        problem(
            format!("'{}' is not a port or port range within 0-65535", echo(s)),
            "send \"*\", a port such as \"443\", or a range such as \"8000-8080\"",
        )
    };
    if s == "*" {
        return Ok(s.to_string());
    }
    let port = |p: &str| p.trim().parse::<u16>().map_err(|_| bad());
    match s.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (port(lo)?, port(hi)?);
            if lo > hi {
                return Err(bad());
            }
            Ok(if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        }
        None => Ok(port(s)?.to_string()),
    }
}

/// ISO 3166-1 alpha-2 country codes (the WAF `GeoMatch` values), upper-cased, at most `max`.
pub(super) fn country_codes(value: &Value, max: usize) -> Result<Value, Problem> {
    let items = string_items(value, "country code")?;
    if items.is_empty() {
        return Err(problem("names no country", "send ISO 3166-1 alpha-2 codes, e.g. [\"KP\", \"IR\"]"));
    }
    if items.len() > max {
        return Err(problem(format!("names {} countries; at most {max} allowed", items.len()), "split the rule"));
    }
    let mut out = Vec::with_capacity(items.len());
    for code in items {
        let upper = code.to_ascii_uppercase();
        if !ISO_3166_ALPHA2.contains(&upper.as_str()) {
            return Err(problem(
                format!("'{}' is not an ISO 3166-1 alpha-2 country code", echo(&code)),
                "send two-letter codes such as \"KP\", \"IR\" or \"RU\" (ISO 3166-1 alpha-2)",
            ));
        }
        out.push(Value::String(upper));
    }
    Ok(Value::Array(out))
}

/// ISO 3166-1 alpha-2, every officially assigned code (Debian's iso-codes, 249 entries).
const ISO_3166_ALPHA2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(r: Result<Value, Problem>) -> Value {
        r.map_err(|p| p.message).expect("valid")
    }

    #[test]
    fn names_and_ids_follow_arm_rules() {
        assert!(name("rg-prod_servers.(1)").is_ok());
        assert!(name("bad/name").is_err());
        assert!(name("trailing.").is_err());
        assert!(name(&"a".repeat(91)).is_err());
        let id = "subscriptions/6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n/";
        assert_eq!(ok(resource_id(id)), json!(format!("/{}", id.trim_end_matches('/'))));
        assert!(
            resource_id("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n")
                .is_err()
        );
        assert!(resource_id("/subscriptions/6f1c52a4-3c0e-4b8a-9a1e-2d7f0b5c9e31/resourceGroups/rg").is_err());
    }

    #[test]
    fn prefixes_are_addresses_or_clean_ranges() {
        assert_eq!(ok(ip_prefix("203.0.113.7")), json!("203.0.113.7"));
        assert_eq!(ok(ip_prefix("198.51.100.0/24")), json!("198.51.100.0/24"));
        assert_eq!(ok(ip_prefix("2001:db8::/32")), json!("2001:db8::/32"));
        assert!(ip_prefix("198.51.100.7/24").unwrap_err().hint.contains("198.51.100.0/24"));
        assert!(ip_prefix("198.51.100.0/33").is_err());
        assert!(ip_prefix("300.1.1.1").is_err());
        assert!(ip_prefix("evil.example.com").is_err());
    }

    #[test]
    fn port_ranges_stay_within_the_port_space() {
        assert_eq!(ok(port_ranges(&json!("443, 8000-8080"), 10)), json!(["443", "8000-8080"]));
        assert_eq!(ok(port_ranges(&json!(["*"]), 10)), json!(["*"]));
        assert!(port_ranges(&json!("70000"), 10).is_err());
        assert!(port_ranges(&json!("90-80"), 10).is_err());
        assert!(port_ranges(&json!("*,22"), 10).is_err());
        assert!(port_ranges(&json!([22, 23]), 1).is_err());
    }

    #[test]
    fn country_codes_are_iso_3166() {
        assert_eq!(ok(country_codes(&json!("kp, IR"), 10)), json!(["KP", "IR"]));
        assert!(country_codes(&json!(["XX"]), 10).unwrap_err().message.contains("ISO 3166"));
        assert!(country_codes(&json!("USA"), 10).is_err());
        assert_eq!(ISO_3166_ALPHA2.len(), 249);
    }
}
