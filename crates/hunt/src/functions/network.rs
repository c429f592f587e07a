//! IPv4 helpers.

use crate::value::{Dyn, Value};

/// Parses `a.b.c.d` (optionally `/prefix`) → (address, prefix bits).
fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let (ip, bits) = match s.split_once('/') {
        Some((ip, b)) => (ip, b.trim().parse::<u32>().ok().filter(|b| *b <= 32)?),
        None => (s, 32),
    };
    let parts: Vec<&str> = ip.trim().split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut addr = 0u32;
    for p in parts {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        addr = (addr << 8) | p.parse::<u8>().ok()? as u32;
    }
    Some((addr, bits))
}

fn mask(bits: u32) -> u32 {
    if bits == 0 { 0 } else { u32::MAX << (32 - bits) }
}

fn text(v: &Value) -> String {
    v.to_kusto_string()
}

pub fn ipv4_is_private(a: &[Value]) -> Value {
    let Some((ip, _)) = parse_cidr(&text(&a[0])) else { return Value::Null };
    let private = [(0x0A00_0000u32, 8u32), (0xAC10_0000, 12), (0xC0A8_0000, 16)];
    Value::Bool(private.iter().any(|(net, bits)| ip & mask(*bits) == *net))
}

pub fn ipv4_is_in_range(a: &[Value]) -> Value {
    let (Some((ip, ib)), Some((net, bits))) = (parse_cidr(&text(&a[0])), parse_cidr(&text(&a[1]))) else {
        return Value::Null;
    };
    let m = mask(bits.min(ib));
    Value::Bool(ip & m == net & m)
}

pub fn ipv4_is_in_any_range(a: &[Value]) -> Value {
    let Some((ip, _)) = parse_cidr(&text(&a[0])) else { return Value::Null };
    let mut ranges: Vec<String> = Vec::new();
    for v in &a[1..] {
        match v.to_dyn() {
            Dyn::Array(items) => ranges.extend(items.iter().map(|d| Value::Dynamic(d.clone()).to_kusto_string())),
            _ => ranges.push(text(v)),
        }
    }
    Value::Bool(ranges.iter().filter_map(|r| parse_cidr(r)).any(|(net, bits)| ip & mask(bits) == net & mask(bits)))
}

/// Compares two addresses under a prefix; -1, 0, 1.
pub fn ipv4_compare(a: &[Value]) -> Value {
    let (Some((x, xb)), Some((y, yb))) = (parse_cidr(&text(&a[0])), parse_cidr(&text(&a[1]))) else {
        return Value::Null;
    };
    let bits = a.get(2).and_then(Value::as_i64).map_or(xb.min(yb), |b| (b.clamp(0, 32) as u32).min(xb).min(yb));
    let m = mask(bits);
    Value::Long(match (x & m).cmp(&(y & m)) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

pub fn ipv4_is_match(a: &[Value]) -> Value {
    match ipv4_compare(a) {
        Value::Long(c) => Value::Bool(c == 0),
        v => v,
    }
}

pub fn ipv6_is_match(a: &[Value]) -> Value {
    Value::Bool(text(&a[0]).eq_ignore_ascii_case(&text(&a[1])))
}

pub fn parse_ipv4(a: &[Value]) -> Value {
    parse_cidr(&text(&a[0])).map_or(Value::Null, |(ip, bits)| Value::Long((ip & mask(bits)) as i64))
}

pub fn parse_ipv4_mask(a: &[Value]) -> Value {
    let Some((ip, _)) = parse_cidr(&text(&a[0])) else { return Value::Null };
    let bits = a[1].as_i64().unwrap_or(32).clamp(0, 32) as u32;
    Value::Long((ip & mask(bits)) as i64)
}

fn dotted(ip: u32) -> String {
    format!("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255)
}

fn addr_of(v: &Value) -> Option<(u32, u32)> {
    match v {
        Value::Int(_) | Value::Long(_) => {
            v.as_i64().filter(|x| (0..=u32::MAX as i64).contains(x)).map(|x| (x as u32, 32))
        }
        _ => parse_cidr(&text(v)),
    }
}

pub fn format_ipv4(a: &[Value]) -> Value {
    let Some((ip, bits)) = addr_of(&a[0]) else { return Value::str("") };
    let b = a.get(1).and_then(Value::as_i64).map_or(bits, |b| b.clamp(0, 32) as u32);
    Value::string(dotted(ip & mask(b)))
}

pub fn format_ipv4_mask(a: &[Value]) -> Value {
    let Some((ip, bits)) = addr_of(&a[0]) else { return Value::str("") };
    let b = a.get(1).and_then(Value::as_i64).map_or(bits, |b| b.clamp(0, 32) as u32);
    Value::string(format!("{}/{}", dotted(ip & mask(b)), b))
}
