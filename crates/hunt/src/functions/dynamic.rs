//! Functions over `dynamic` values: arrays, property bags, sets, JSON.

use std::sync::Arc;

use crate::value::{Dyn, Value};

fn arr(v: &Value) -> Option<Vec<Dyn>> {
    match v.to_dyn() {
        Dyn::Array(a) => Some(a.as_ref().clone()),
        _ => None,
    }
}

fn dynv(d: Dyn) -> Value {
    Value::Dynamic(d)
}

/// `parse_json(text)`: JSON text → dynamic; non-string input passes through; invalid JSON
/// yields the text itself as a dynamic string (Kusto does the same).
pub fn parse_json(a: &[Value]) -> Value {
    match &a[0] {
        // Empty text is no JSON value at all: null (not the empty string).
        Value::String(s) | Value::Dynamic(Dyn::String(s)) if s.trim().is_empty() => dynv(Dyn::Null),
        Value::String(s) => dynv(Dyn::parse_json(s).unwrap_or_else(|| Dyn::String(s.clone()))),
        Value::Dynamic(Dyn::String(s)) => dynv(Dyn::parse_json(s).unwrap_or_else(|| Dyn::String(s.clone()))),
        Value::Null => dynv(Dyn::Null),
        v => dynv(v.to_dyn()),
    }
}

pub fn array_length(a: &[Value]) -> Value {
    match a[0].to_dyn() {
        Dyn::Array(x) => Value::Long(x.len() as i64),
        _ => Value::Null,
    }
}

pub fn array_concat(a: &[Value]) -> Value {
    let mut out = Vec::new();
    // Arguments that are not arrays (null, bags, scalars) contribute nothing.
    for v in a {
        if let Some(x) = arr(v) {
            out.extend(x);
        }
    }
    dynv(Dyn::array(out))
}

/// Resolves a possibly negative index against a length (Python-like, clamped).
fn norm(i: i64, len: usize) -> i64 {
    if i < 0 { len as i64 + i } else { i }
}

pub fn array_slice(a: &[Value]) -> Value {
    let Some(x) = arr(&a[0]) else { return dynv(Dyn::Null) };
    let (Some(s), Some(e)) = (a[1].as_i64(), a[2].as_i64()) else { return dynv(Dyn::Null) };
    let len = x.len();
    let s = norm(s, len).max(0);
    let e = norm(e, len).min(len as i64 - 1);
    if s > e || s >= len as i64 {
        return dynv(Dyn::array(vec![]));
    }
    dynv(Dyn::array(x[s as usize..=e as usize].to_vec()))
}

pub fn array_reverse(a: &[Value]) -> Value {
    match arr(&a[0]) {
        Some(mut x) => {
            x.reverse();
            dynv(Dyn::array(x))
        }
        None => dynv(Dyn::Null),
    }
}

fn sort_impl(a: &[Value], desc: bool) -> Value {
    let Some(mut x) = arr(&a[0]) else { return dynv(Dyn::Null) };
    let nulls_last = a.get(1).and_then(Value::as_bool).unwrap_or(true);
    let (mut nulls, mut vals): (Vec<Dyn>, Vec<Dyn>) = x.drain(..).partition(Dyn::is_null);
    vals.sort_by(|p, q| p.compare(q));
    if desc {
        vals.reverse();
    }
    if nulls_last {
        vals.append(&mut nulls);
        dynv(Dyn::array(vals))
    } else {
        nulls.append(&mut vals);
        dynv(Dyn::array(nulls))
    }
}
pub fn array_sort_asc(a: &[Value]) -> Value {
    sort_impl(a, false)
}
pub fn array_sort_desc(a: &[Value]) -> Value {
    sort_impl(a, true)
}

pub fn array_index_of(a: &[Value]) -> Value {
    let Some(x) = arr(&a[0]) else { return Value::Null };
    let needle = a[1].to_dyn();
    let start = a.get(2).and_then(Value::as_i64).map_or(0, |s| norm(s, x.len()).max(0) as usize);
    for (i, item) in x.iter().enumerate().skip(start) {
        if item.equals(&needle) {
            return Value::Long(i as i64);
        }
    }
    Value::Long(-1)
}

pub fn array_sum(a: &[Value]) -> Value {
    match arr(&a[0]) {
        Some(x) if !x.is_empty() => Value::Real(x.iter().filter_map(Dyn::as_f64).sum()),
        Some(_) => Value::Null,
        None => Value::Null,
    }
}

fn rotate(a: &[Value], left: bool) -> Value {
    let Some(mut x) = arr(&a[0]) else { return dynv(Dyn::Null) };
    if x.is_empty() {
        return dynv(Dyn::array(x));
    }
    let n = a[1].as_i64().unwrap_or(0);
    let k = n.rem_euclid(x.len() as i64) as usize;
    if left {
        x.rotate_left(k)
    } else {
        x.rotate_right(k)
    }
    dynv(Dyn::array(x))
}
pub fn array_rotate_left(a: &[Value]) -> Value {
    rotate(a, true)
}
pub fn array_rotate_right(a: &[Value]) -> Value {
    rotate(a, false)
}

fn shift(a: &[Value], left: bool) -> Value {
    let Some(x) = arr(&a[0]) else { return dynv(Dyn::Null) };
    let n = a[1].as_i64().unwrap_or(0).unsigned_abs() as usize;
    let fill = a.get(2).map_or(Dyn::Null, Value::to_dyn);
    let len = x.len();
    let n = n.min(len);
    let out: Vec<Dyn> = if left {
        x[n..].iter().cloned().chain(std::iter::repeat_n(fill, n)).collect()
    } else {
        std::iter::repeat_n(fill, n).chain(x[..len - n].iter().cloned()).collect()
    };
    dynv(Dyn::array(out))
}
pub fn array_shift_left(a: &[Value]) -> Value {
    shift(a, true)
}
pub fn array_shift_right(a: &[Value]) -> Value {
    shift(a, false)
}

pub fn array_split(a: &[Value]) -> Value {
    let Some(x) = arr(&a[0]) else { return dynv(Dyn::Null) };
    let idx: Vec<i64> = match a[1].to_dyn() {
        Dyn::Array(i) => i.iter().filter_map(Dyn::as_f64).map(|f| f as i64).collect(),
        d => d.as_f64().map(|f| vec![f as i64]).unwrap_or_default(),
    };
    let mut out = Vec::new();
    let mut prev = 0usize;
    for i in idx {
        let i = (norm(i, x.len()).max(0) as usize).min(x.len()).max(prev);
        out.push(Dyn::array(x[prev..i].to_vec()));
        prev = i;
    }
    out.push(Dyn::array(x[prev..].to_vec()));
    dynv(Dyn::array(out))
}

pub fn bag_keys(a: &[Value]) -> Value {
    match a[0].to_dyn() {
        Dyn::Object(o) => dynv(Dyn::array(o.iter().map(|(k, _)| Dyn::String(k.clone())).collect())),
        _ => dynv(Dyn::Null),
    }
}

/// `bag_merge(b1, b2, ...)`: the first bag's value wins on duplicate keys.
pub fn bag_merge(a: &[Value]) -> Value {
    let mut out: Vec<(Arc<str>, Dyn)> = Vec::new();
    for v in a {
        if let Dyn::Object(o) = v.to_dyn() {
            for (k, x) in o.iter() {
                if !out.iter().any(|(ok, _)| ok == k) {
                    out.push((k.clone(), x.clone()));
                }
            }
        }
    }
    dynv(Dyn::object(out))
}

pub fn bag_remove_keys(a: &[Value]) -> Value {
    let Dyn::Object(o) = a[0].to_dyn() else { return dynv(Dyn::Null) };
    let keys: Vec<String> =
        arr(&a[1]).unwrap_or_default().iter().map(|k| Value::Dynamic(k.clone()).to_kusto_string()).collect();
    dynv(Dyn::object(o.iter().filter(|(k, _)| !keys.iter().any(|r| **r == **k)).cloned().collect()))
}

pub fn bag_has_key(a: &[Value]) -> Value {
    let key = a[1].to_kusto_string();
    Value::Bool(a[0].to_dyn().get(&key).is_some())
}

/// `pack(k1, v1, k2, v2, ...)` / `bag_pack`.
pub fn pack(a: &[Value]) -> Value {
    let mut out: Vec<(Arc<str>, Dyn)> = Vec::new();
    for pair in a.chunks(2) {
        let k: Arc<str> = Arc::from(pair[0].to_kusto_string());
        let v = pair.get(1).map_or(Dyn::Null, Value::to_dyn);
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    dynv(Dyn::object(out))
}

pub fn pack_array(a: &[Value]) -> Value {
    dynv(Dyn::array(a.iter().map(Value::to_dyn).collect()))
}

fn push_unique(out: &mut Vec<Dyn>, d: &Dyn) {
    if !out.iter().any(|x| x.equals(d)) {
        out.push(d.clone());
    }
}

pub fn set_union(a: &[Value]) -> Value {
    let mut out = Vec::new();
    for v in a {
        for d in arr(v).unwrap_or_default() {
            push_unique(&mut out, &d);
        }
    }
    dynv(Dyn::array(out))
}

pub fn set_intersect(a: &[Value]) -> Value {
    let sets: Vec<Vec<Dyn>> = a.iter().map(|v| arr(v).unwrap_or_default()).collect();
    let mut out = Vec::new();
    if let Some((first, rest)) = sets.split_first() {
        for d in first {
            if rest.iter().all(|s| s.iter().any(|x| x.equals(d))) {
                push_unique(&mut out, d);
            }
        }
    }
    dynv(Dyn::array(out))
}

pub fn set_difference(a: &[Value]) -> Value {
    let sets: Vec<Vec<Dyn>> = a.iter().map(|v| arr(v).unwrap_or_default()).collect();
    let mut out = Vec::new();
    if let Some((first, rest)) = sets.split_first() {
        for d in first {
            if !rest.iter().any(|s| s.iter().any(|x| x.equals(d))) {
                push_unique(&mut out, d);
            }
        }
    }
    dynv(Dyn::array(out))
}

pub fn set_has_element(a: &[Value]) -> Value {
    let Some(x) = arr(&a[0]) else { return Value::Null };
    let needle = a[1].to_dyn();
    Value::Bool(x.iter().any(|d| d.equals(&needle)))
}

pub fn zip(a: &[Value]) -> Value {
    let arrays: Vec<Vec<Dyn>> = a.iter().map(|v| arr(v).unwrap_or_default()).collect();
    let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
    let out =
        (0..n).map(|i| Dyn::array(arrays.iter().map(|x| x.get(i).cloned().unwrap_or(Dyn::Null)).collect())).collect();
    dynv(Dyn::array(out))
}

pub fn jaccard_index(a: &[Value]) -> Value {
    let (x, y) = (arr(&a[0]).unwrap_or_default(), arr(&a[1]).unwrap_or_default());
    let mut ux: Vec<Dyn> = Vec::new();
    for d in x.iter() {
        push_unique(&mut ux, d);
    }
    let mut uy: Vec<Dyn> = Vec::new();
    for d in y.iter() {
        push_unique(&mut uy, d);
    }
    let inter = ux.iter().filter(|d| uy.iter().any(|e| e.equals(d))).count();
    let union = ux.len() + uy.len() - inter;
    if union == 0 { Value::Real(f64::NAN) } else { Value::Real(inter as f64 / union as f64) }
}

/// `extractjson("$.a.b[0]", json)`: a small JSONPath subset (dot members, `['x']`, `[n]`).
pub fn extract_json(a: &[Value]) -> Value {
    let path = a[0].to_kusto_string();
    let doc = match &a[1] {
        Value::String(s) => Dyn::parse_json(s),
        v => Some(v.to_dyn()),
    };
    let Some(mut cur) = doc else { return Value::str("") };
    let mut rest = path.trim().strip_prefix('$').unwrap_or(&path).to_string();
    while !rest.is_empty() {
        let next;
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            next = cur.get(key).cloned();
            rest = r[end..].to_string();
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { return Value::str("") };
            let inner = r[..end].trim();
            next = if let Ok(i) = inner.parse::<i64>() {
                cur.index(i).cloned()
            } else {
                cur.get(inner.trim_matches(|c| c == '\'' || c == '"')).cloned()
            };
            rest = r[end + 1..].to_string();
        } else {
            return Value::str("");
        }
        match next {
            Some(n) => cur = n,
            None => return Value::str(""),
        }
    }
    Value::string(Value::Dynamic(cur).to_kusto_string())
}

/// `range(start, stop [, step])`: a dynamic array of numbers (capped at 1M elements).
pub fn range(a: &[Value]) -> Value {
    let step = a.get(2).cloned().unwrap_or(Value::Long(1));
    match (&a[0], &a[1], &step) {
        (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => {
            let (Some(x), Some(y), Some(s)) = (a[0].as_i64(), a[1].as_i64(), step.as_i64()) else { return Value::Null };
            if s == 0 {
                return Value::Null;
            }
            let mut out = Vec::new();
            let mut cur = x;
            while ((s > 0 && cur <= y) || (s < 0 && cur >= y)) && out.len() < 1_000_000 {
                out.push(Dyn::Long(cur));
                match cur.checked_add(s) {
                    Some(n) => cur = n,
                    None => break,
                }
            }
            dynv(Dyn::array(out))
        }
        // Dates step by a timespan (Kusto's time-window join builds its keys this way);
        // timespans by a timespan. Elements are the values as dynamic holds them.
        (Value::DateTime(x), Value::DateTime(y), Value::TimeSpan(s))
        | (Value::TimeSpan(x), Value::TimeSpan(y), Value::TimeSpan(s)) => {
            let date = matches!(a[0], Value::DateTime(_));
            if *s == 0 {
                return Value::Null;
            }
            let mut out = Vec::new();
            let mut cur = *x;
            while ((*s > 0 && cur <= *y) || (*s < 0 && cur >= *y)) && out.len() < 1_000_000 {
                out.push(if date { Value::DateTime(cur) } else { Value::TimeSpan(cur) }.to_dyn());
                match cur.checked_add(*s) {
                    Some(n) => cur = n,
                    None => break,
                }
            }
            dynv(Dyn::array(out))
        }
        _ => {
            let (Some(x), Some(y), Some(s)) = (a[0].as_f64(), a[1].as_f64(), step.as_f64()) else { return Value::Null };
            if s == 0.0 || !s.is_finite() {
                return Value::Null;
            }
            let mut out = Vec::new();
            let mut i = 0.0;
            loop {
                let cur = x + i * s;
                if (s > 0.0 && cur > y) || (s < 0.0 && cur < y) || out.len() >= 1_000_000 {
                    break;
                }
                out.push(Dyn::Real(cur));
                i += 1.0;
            }
            dynv(Dyn::array(out))
        }
    }
}
