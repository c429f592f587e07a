//! String functions, Kusto term matching for `has`, and a regex cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use regex::Regex;

use super::{TermMatch, dyn_strings, text_of};
use crate::value::{Dyn, Value};

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Option<Arc<Regex>>>> = RefCell::new(HashMap::new());
}

/// Compiles (once per thread) a regex; invalid patterns give `None` and callers yield null.
pub fn regex_cached(pattern: &str) -> Option<Arc<Regex>> {
    REGEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(r) = c.get(pattern) {
            return r.clone();
        }
        if c.len() > 1000 {
            c.clear();
        }
        let r = regex::RegexBuilder::new(pattern).size_limit(1 << 22).build().ok().map(Arc::new);
        c.insert(pattern.to_string(), r.clone());
        r
    })
}

/// Kusto terms are runs of ASCII letters and digits (other characters delimit them, except
/// non-ASCII letters which belong to terms).
fn is_term_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Case-insensitive substring search.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        let first = n[0].to_ascii_lowercase();
        return (0..=h.len() - n.len())
            .any(|i| h[i].to_ascii_lowercase() == first && h[i..i + n.len()].eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// `has` / `hasprefix` / `hassuffix`: the needle must occur aligned with term boundaries.
/// A needle made of several terms (`"cmd.exe"`) matches as a phrase.
pub fn has_term(hay: &str, needle: &str, case_sensitive: bool, mode: TermMatch) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (h, n);
    let (hay, needle) = if case_sensitive {
        (hay, needle)
    } else if hay.is_ascii() && needle.is_ascii() {
        return has_term_ascii_ci(hay.as_bytes(), needle.as_bytes(), mode);
    } else {
        h = hay.to_lowercase();
        n = needle.to_lowercase();
        (h.as_str(), n.as_str())
    };
    let starts_term = needle.chars().next().is_some_and(is_term_char);
    let ends_term = needle.chars().last().is_some_and(is_term_char);
    for (i, _) in hay.match_indices(needle) {
        let end = i + needle.len();
        let left_ok =
            !starts_term || mode == TermMatch::Suffix || hay[..i].chars().last().is_none_or(|c| !is_term_char(c));
        let right_ok =
            !ends_term || mode == TermMatch::Prefix || hay[end..].chars().next().is_none_or(|c| !is_term_char(c));
        if left_ok && right_ok {
            return true;
        }
    }
    false
}

/// A regex equivalent, on ASCII text, to "any of `terms` matches as in [`has_term`]
/// (case-insensitive, whole terms)": a term boundary is required only where a term starts or
/// ends with an alphanumeric character. `None` if a term is not ASCII (case folding then
/// needs [`has_term`]). Lets a scan use the regex engine's literal prefilters instead of a
/// byte-by-byte search per term.
pub fn has_any_pattern(terms: &[&str]) -> Option<String> {
    if !terms.iter().all(|t| t.is_ascii()) {
        return None;
    }
    if terms.iter().any(|t| t.is_empty()) {
        // An empty term matches every text.
        return Some(String::new());
    }
    let alts: Vec<String> = terms
        .iter()
        .map(|t| {
            let starts = t.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric());
            let ends = t.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
            format!(
                "{}{}{}",
                if starts { "(?:^|[^[:alnum:]])" } else { "" },
                regex::escape(&t.to_ascii_lowercase()),
                if ends { "(?:$|[^[:alnum:]])" } else { "" }
            )
        })
        .collect();
    Some(format!("(?i){}", alts.join("|")))
}

fn has_term_ascii_ci(h: &[u8], n: &[u8], mode: TermMatch) -> bool {
    if n.len() > h.len() {
        return false;
    }
    let is_t = |b: u8| b.is_ascii_alphanumeric();
    let starts_term = is_t(n[0]);
    let ends_term = is_t(n[n.len() - 1]);
    let first = n[0].to_ascii_lowercase();
    for i in 0..=h.len() - n.len() {
        if h[i].to_ascii_lowercase() != first {
            continue;
        }
        if starts_term && mode != TermMatch::Suffix && i > 0 && is_t(h[i - 1]) {
            continue;
        }
        let end = i + n.len();
        if ends_term && mode != TermMatch::Prefix && end < h.len() && is_t(h[end]) {
            continue;
        }
        if h[i..end].eq_ignore_ascii_case(n) {
            return true;
        }
    }
    false
}

fn s(v: &Value) -> std::borrow::Cow<'_, str> {
    text_of(v)
}

pub fn tolower(a: &[Value]) -> Value {
    Value::string(s(&a[0]).to_lowercase())
}
pub fn toupper(a: &[Value]) -> Value {
    Value::string(s(&a[0]).to_uppercase())
}
/// Length in Unicode scalar values (Kusto counts UTF-16 units; equal for the BMP).
pub fn strlen(a: &[Value]) -> Value {
    // Kusto counts Unicode code points (a surrogate pair is one character).
    Value::Long(s(&a[0]).chars().count() as i64)
}
pub fn string_size(a: &[Value]) -> Value {
    Value::Long(s(&a[0]).len() as i64)
}

pub fn substring(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len() as i64;
    let Some(mut start) = a[1].as_i64() else { return Value::str("") };
    if start < 0 {
        // Counted from the end; a start before the beginning yields the empty string.
        start += n;
        if start < 0 {
            return Value::str("");
        }
    }
    let len = match a.get(2) {
        Some(v) => match v.as_i64() {
            Some(l) => l.max(0),
            None => return Value::str(""),
        },
        None => n,
    };
    if start >= n {
        return Value::str("");
    }
    let end = start.saturating_add(len).min(n);
    Value::string(chars[start as usize..end as usize].iter().collect())
}

pub fn strcat(a: &[Value]) -> Value {
    let mut out = String::new();
    for v in a {
        out.push_str(&s(v));
    }
    Value::string(out)
}

pub fn strcat_delim(a: &[Value]) -> Value {
    let d = s(&a[0]);
    let parts: Vec<String> = a[1..].iter().map(|v| s(v).into_owned()).collect();
    Value::string(parts.join(&d))
}

pub fn strcat_array(a: &[Value]) -> Value {
    let d = s(&a[1]);
    match a[0].to_dyn() {
        Dyn::Array(items) => {
            let parts: Vec<String> = items.iter().map(|x| Value::Dynamic(x.clone()).to_kusto_string()).collect();
            Value::string(parts.join(&d))
        }
        _ => Value::str(""),
    }
}

pub fn split(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let delim = s(&a[1]);
    let parts: Vec<&str> = if delim.is_empty() { vec![&text] } else { text.split(&*delim).collect() };
    match a.get(2) {
        Some(i) => match i.as_i64() {
            Some(i) if i >= 0 && (i as usize) < parts.len() => dyn_strings([parts[i as usize]]),
            _ => Value::Dynamic(Dyn::array(vec![])),
        },
        None => dyn_strings(parts),
    }
}

pub fn replace_string(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let from = s(&a[1]);
    if from.is_empty() {
        return Value::string(text.into_owned());
    }
    Value::string(text.replace(&*from, &s(&a[2])))
}

/// `replace_regex(text, regex, rewrite)`; `\1` in the rewrite refers to groups.
pub fn replace_regex(a: &[Value]) -> Value {
    let Some(re) = regex_cached(&s(&a[1])) else { return Value::Null };
    let rewrite = kusto_rewrite(&s(&a[2]));
    Value::string(re.replace_all(&s(&a[0]), rewrite.as_str()).into_owned())
}

/// Converts Kusto's `\1` group references to the regex crate's `${1}` and escapes `$`.
fn kusto_rewrite(r: &str) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let mut num = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    num.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{num}}}"));
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

/// `trim(regex, text)`: removes leading and trailing matches of the regex.
pub fn trim(a: &[Value]) -> Value {
    trim_impl(a, true, true)
}
pub fn trim_start(a: &[Value]) -> Value {
    trim_impl(a, true, false)
}
pub fn trim_end(a: &[Value]) -> Value {
    trim_impl(a, false, true)
}
/// Kusto removes one leading and/or one trailing match of the regex (`trim("x", "xxax")` is
/// `"xa"`); a quantifier in the pattern itself (`@"\s+"`) is what removes runs.
fn trim_impl(a: &[Value], start: bool, end: bool) -> Value {
    let pat = s(&a[0]);
    let text = s(&a[1]).into_owned();
    let mut out = text.as_str();
    if start {
        if let Some(re) = regex_cached(&format!("^(?:{pat})")) {
            if let Some(m) = re.find(out) {
                out = &out[m.end()..];
            }
        } else {
            return Value::Null;
        }
    }
    if end {
        if let Some(re) = regex_cached(&format!("(?:{pat})$")) {
            if let Some(m) = re.find(out) {
                out = &out[..m.start()];
            }
        } else {
            return Value::Null;
        }
    }
    Value::str(out)
}

/// `indexof(source, lookup [, start, length, occurrence])` in characters; -1 if absent.
pub fn indexof(a: &[Value]) -> Value {
    let hay: Vec<char> = s(&a[0]).chars().collect();
    let needle: Vec<char> = s(&a[1]).chars().collect();
    if needle.is_empty() {
        return Value::Null;
    }
    let n = hay.len() as i64;
    let mut start = a.get(2).and_then(Value::as_i64).unwrap_or(0);
    if start < 0 {
        start = (n + start).max(0);
    }
    if start > n {
        return Value::Long(-1);
    }
    let length = a.get(3).and_then(Value::as_i64).unwrap_or(-1);
    let end = if length < 0 { n } else { (start + length).min(n) };
    let occurrence = a.get(4).and_then(Value::as_i64).unwrap_or(1).max(1);
    let mut seen = 0;
    let mut i = start;
    while i + needle.len() as i64 <= end {
        if hay[i as usize..i as usize + needle.len()] == needle[..] {
            seen += 1;
            if seen == occurrence {
                return Value::Long(i);
            }
        }
        i += 1;
    }
    Value::Long(-1)
}

pub fn indexof_regex(a: &[Value]) -> Value {
    let Some(re) = regex_cached(&s(&a[1])) else { return Value::Null };
    let text = s(&a[0]);
    match re.find(&text) {
        Some(m) => Value::Long(text[..m.start()].chars().count() as i64),
        None => Value::Long(-1),
    }
}

/// `extract(regex, group, text [, typeof(T)])`.
pub fn extract(a: &[Value]) -> Value {
    let Some(re) = regex_cached(&s(&a[0])) else { return Value::Null };
    let group = a[1].as_i64().unwrap_or(0).max(0) as usize;
    let text = s(&a[2]);
    match re.captures(&text).and_then(|c| c.get(group)) {
        Some(m) => Value::str(m.as_str()),
        None => Value::str(""),
    }
}

/// `extract_all(regex, [groups,] text)`: all matches; one group → strings, several → arrays.
pub fn extract_all(a: &[Value]) -> Value {
    let Some(re) = regex_cached(&s(&a[0])) else { return Value::Null };
    let text = s(a.last().unwrap_or(&Value::Null));
    let groups: Option<Vec<usize>> = if a.len() == 3 {
        a[1].to_dyn().as_array().map(|g| g.iter().filter_map(|x| x.as_f64()).map(|x| x.max(0.0) as usize).collect())
    } else {
        None
    };
    let mut out = Vec::new();
    for caps in re.captures_iter(&text) {
        let take = |i: usize| Dyn::str(caps.get(i).map_or("", |m| m.as_str()));
        match &groups {
            Some(gs) => out.push(Dyn::array(gs.iter().map(|&g| take(g)).collect())),
            None if caps.len() <= 2 => out.push(take(if caps.len() == 2 { 1 } else { 0 })),
            None => out.push(Dyn::array((1..caps.len()).map(take).collect())),
        }
    }
    if out.is_empty() {
        return Value::Dynamic(Dyn::Null);
    }
    Value::Dynamic(Dyn::array(out))
}

/// `countof(text, search [, kind])`: non-overlapping plain matches or regex matches.
pub fn countof(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let pat = s(&a[1]);
    let regex = a.get(2).is_some_and(|k| s(k) == "regex");
    if regex {
        return regex_cached(&pat).map_or(Value::Null, |re| Value::Long(re.find_iter(&text).count() as i64));
    }
    if pat.is_empty() {
        return Value::Long(0);
    }
    Value::Long(text.matches(&*pat).count() as i64)
}

pub fn reverse(a: &[Value]) -> Value {
    Value::string(s(&a[0]).chars().rev().collect())
}

pub fn strrep(a: &[Value]) -> Value {
    let n = a[1].as_i64().unwrap_or(0).clamp(0, 1_000_000) as usize;
    let d = a.get(2).map(|v| s(v).into_owned()).unwrap_or_default();
    let text = s(&a[0]);
    if text.len().saturating_mul(n) > 64 << 20 {
        return Value::Null;
    }
    Value::string(vec![text.as_ref(); n].join(&d))
}

pub fn strcmp(a: &[Value]) -> Value {
    Value::Long(match s(&a[0]).cmp(&s(&a[1])) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })
}

pub fn url_decode(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(x) => {
                        out.push(x);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Value::string(String::from_utf8_lossy(&out).into_owned())
}

pub fn url_encode(a: &[Value]) -> Value {
    let mut out = String::new();
    for b in s(&a[0]).bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Value::string(out)
}

pub fn base64_encode(a: &[Value]) -> Value {
    Value::string(base64::engine::general_purpose::STANDARD.encode(s(&a[0]).as_bytes()))
}

fn b64_bytes(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t.trim_end_matches('=')))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t.trim_end_matches('=')))
        .ok()
}

pub fn base64_decode(a: &[Value]) -> Value {
    match b64_bytes(&s(&a[0])) {
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(t) => Value::string(t),
            Err(_) => Value::Null,
        },
        None => Value::Null,
    }
}

pub fn base64_decode_array(a: &[Value]) -> Value {
    match b64_bytes(&s(&a[0])) {
        Some(bytes) => Value::Dynamic(Dyn::array(bytes.into_iter().map(|b| Dyn::Long(b as i64)).collect())),
        None => Value::Null,
    }
}

/// `parse_url`: Scheme, Host, Port, Path, Username, Password, Query Parameters, Fragment.
pub fn parse_url(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let Some((scheme, rest)) = text.split_once("://") else {
        return Value::Dynamic(Dyn::object(vec![]));
    };
    let (rest, fragment) = rest.split_once('#').map_or((rest, ""), |(r, f)| (r, f));
    let (rest, query) = rest.split_once('?').map_or((rest, ""), |(r, q)| (r, q));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').map_or(("", authority), |(u, h)| (u, h));
    let (user, pass) = userinfo.split_once(':').map_or((userinfo, ""), |(u, p)| (u, p));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p))
            if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(']')
                || hostport.starts_with('[') && hostport.contains("]:") =>
        {
            (h, p)
        }
        _ => (hostport, ""),
    };
    let params: Vec<(Arc<str>, Dyn)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |x: &str| url_decode(&[Value::str(x)]).to_kusto_string();
            (Arc::from(dec(k)), Dyn::str(&dec(v)))
        })
        .collect();
    let f = |k: &str, v: &str| (Arc::<str>::from(k), Dyn::str(v));
    Value::Dynamic(Dyn::object(vec![
        f("Scheme", scheme),
        f("Host", host),
        f("Port", port),
        f("Path", path),
        f("Username", user),
        f("Password", pass),
        (Arc::from("Query Parameters"), Dyn::object(params)),
        f("Fragment", fragment),
    ]))
}

/// `parse_path`: Scheme, RootPath, DirectoryPath, DirectoryName, Filename, Extension, AlternateDataStreamName.
pub fn parse_path(a: &[Value]) -> Value {
    let text = s(&a[0]).into_owned();
    let (scheme, body) = match text.split_once("://") {
        Some((sc, b)) => (sc.to_string(), b.to_string()),
        None => (String::new(), text.clone()),
    };
    let sep_pos = body.rfind(['\\', '/']);
    let (dir, file) = match sep_pos {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => ("", body.as_str()),
    };
    let (file, ads) = file.split_once(':').map_or((file, ""), |(f, a)| (f, a));
    let ext = file.rsplit_once('.').map_or("", |(_, e)| e);
    let root = if body.len() >= 2 && body.as_bytes()[1] == b':' {
        body[..2].to_string()
    } else if body.starts_with("\\\\") {
        body.trim_start_matches('\\').split('\\').next().map(|h| format!("\\\\{h}")).unwrap_or_default()
    } else {
        String::new()
    };
    let dir_name = dir.rsplit(['\\', '/']).next().unwrap_or("");
    let full_dir = if scheme.is_empty() { dir.to_string() } else { format!("{scheme}://{dir}") };
    let f = |k: &str, v: &str| (Arc::<str>::from(k), Dyn::str(v));
    Value::Dynamic(Dyn::object(vec![
        f("Scheme", &scheme),
        f("RootPath", &root),
        f("DirectoryPath", &full_dir),
        f("DirectoryName", dir_name),
        f("Filename", file),
        f("Extension", ext),
        f("AlternateDataStreamName", ads),
    ]))
}

/// `parse_command_line(cmd, "windows")`: splits like CommandLineToArgvW (quotes, backslashes).
pub fn parse_command_line(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut have = false;
    let mut backslashes = 0usize;
    for c in text.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                continue;
            }
            '"' => {
                cur.push_str(&"\\".repeat(backslashes / 2));
                if backslashes % 2 == 1 {
                    cur.push('"');
                } else {
                    in_quotes = !in_quotes;
                }
                backslashes = 0;
                have = true;
                continue;
            }
            _ => {}
        }
        cur.push_str(&"\\".repeat(backslashes));
        backslashes = 0;
        if c.is_whitespace() && !in_quotes {
            if have || !cur.is_empty() {
                args.push(std::mem::take(&mut cur));
                have = false;
            }
        } else {
            cur.push(c);
            have = true;
        }
    }
    cur.push_str(&"\\".repeat(backslashes));
    if have || !cur.is_empty() {
        args.push(cur);
    }
    dyn_strings(args)
}

pub fn parse_csv(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    out.push(field);
    dyn_strings(out)
}

pub fn hash_sha256(a: &[Value]) -> Value {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s(&a[0]).as_bytes());
    Value::string(d.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn hash_md5(a: &[Value]) -> Value {
    use md5::Digest;
    let d = md5::Md5::digest(s(&a[0]).as_bytes());
    Value::string(d.iter().map(|b| format!("{b:02x}")).collect())
}

/// `hash(x [, mod])`: a stable 64-bit hash (FNV-1a; Kusto uses xxhash, values differ).
pub fn hash(a: &[Value]) -> Value {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s(&a[0]).bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    let h = (h >> 1) as i64;
    match a.get(1).and_then(Value::as_i64) {
        Some(m) if m > 0 => Value::Long(h % m),
        _ => Value::Long(h),
    }
}

pub fn isascii(a: &[Value]) -> Value {
    Value::Bool(s(&a[0]).is_ascii())
}

pub fn codepoints_from_string(a: &[Value]) -> Value {
    Value::Dynamic(Dyn::array(s(&a[0]).chars().map(|c| Dyn::Long(c as i64)).collect()))
}

pub fn codepoints_to_string(a: &[Value]) -> Value {
    match a[0].to_dyn() {
        Dyn::Array(items) => {
            Value::string(items.iter().filter_map(|d| d.as_f64()).filter_map(|f| char::from_u32(f as u32)).collect())
        }
        _ => Value::Null,
    }
}

pub fn make_string(a: &[Value]) -> Value {
    let mut out = String::new();
    for v in a {
        match v.to_dyn() {
            Dyn::Array(items) => {
                out.extend(items.iter().filter_map(|d| d.as_f64()).filter_map(|f| char::from_u32(f as u32)))
            }
            d => {
                if let Some(c) = d.as_f64().and_then(|f| char::from_u32(f as u32)) {
                    out.push(c)
                }
            }
        }
    }
    Value::string(out)
}

pub fn has_any_index(a: &[Value]) -> Value {
    let text = s(&a[0]);
    match a[1].to_dyn() {
        Dyn::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                let needle = Value::Dynamic(it.clone()).to_kusto_string();
                if has_term(&text, &needle, false, TermMatch::Whole) {
                    return Value::Long(i as i64);
                }
            }
            Value::Long(-1)
        }
        _ => Value::Long(-1),
    }
}

pub fn format_bytes(a: &[Value]) -> Value {
    let Some(n) = a[0].as_f64() else { return Value::str("") };
    let precision = a.get(1).and_then(Value::as_i64).unwrap_or(0).clamp(0, 10) as usize;
    let units = ["Bytes", "KB", "MB", "GB", "TB", "PB"];
    let mut v = n;
    let mut u = 0;
    while v.abs() >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    Value::string(format!("{v:.precision$} {}", units[u]))
}

/// `parse_version("1.2.3.4")`: a comparable number (each part padded to 8 digits).
pub fn parse_version(a: &[Value]) -> Value {
    let text = s(&a[0]);
    let parts: Vec<&str> = text.trim().split('.').collect();
    if parts.is_empty()
        || parts.len() > 4
        || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 8)
    {
        return Value::Null;
    }
    let mut v = 0f64;
    for i in 0..4 {
        let p: f64 = parts.get(i).and_then(|p| p.parse().ok()).unwrap_or(0.0);
        v = v * 1e8 + p;
    }
    Value::Decimal(v)
}

pub fn translate(a: &[Value]) -> Value {
    let from: Vec<char> = s(&a[0]).chars().collect();
    let to: Vec<char> = s(&a[1]).chars().collect();
    let out: String = s(&a[2])
        .chars()
        .filter_map(|c| match from.iter().position(|f| *f == c) {
            Some(i) if to.is_empty() => {
                let _ = i;
                None
            }
            Some(i) => Some(*to.get(i).unwrap_or(to.last().unwrap_or(&c))),
            None => Some(c),
        })
        .collect();
    Value::string(out)
}
