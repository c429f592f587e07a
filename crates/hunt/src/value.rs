//! KQL scalar types and values.
//!
//! Representation choices (and why):
//! - `datetime` is 100-ns ticks since 0001-01-01T00:00:00Z (the .NET epoch Kusto uses), so the
//!   full Kusto range 0001..9999 fits an `i64` and out-of-range arithmetic becomes null.
//! - `timespan` is signed 100-ns ticks.
//! - `decimal` is stored as `f64` (Kusto's 128-bit decimal is rare in hunting queries); it keeps
//!   its own type tag so `gettype()` and output schemas still say `decimal`.
//! - `string` is never null: a missing string is the empty string, as in Kusto.
//! - `dynamic` is [`Dyn`], a JSON-like tree that keeps object keys in insertion order.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The scalar types of KQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
}

impl Type {
    /// Parses a KQL type name (`long`, `int64`, `double`, `date`, `time`, `uniqueid`, …).
    pub fn parse(name: &str) -> Option<Type> {
        Some(match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => Type::Bool,
            "int" | "int32" => Type::Int,
            "long" | "int64" => Type::Long,
            "real" | "double" | "float" => Type::Real,
            "decimal" => Type::Decimal,
            "string" => Type::String,
            "datetime" | "date" => Type::DateTime,
            "timespan" | "time" => Type::TimeSpan,
            "guid" | "uniqueid" => Type::Guid,
            "dynamic" => Type::Dynamic,
            _ => return None,
        })
    }

    /// The name `gettype()` and `getschema` report.
    pub fn name(self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Long => "long",
            Type::Real => "real",
            Type::Decimal => "decimal",
            Type::String => "string",
            Type::DateTime => "datetime",
            Type::TimeSpan => "timespan",
            Type::Guid => "guid",
            Type::Dynamic => "dynamic",
        }
    }

    /// The .NET-style name Kusto's result schemas use (`System.Int64` → `Int`, …); int and long
    /// both map to `Int`, real and decimal to `Real`, as the oracle file records them.
    pub fn result_name(self) -> &'static str {
        match self {
            Type::Bool => "Bool",
            Type::Int | Type::Long => "Int",
            Type::Real | Type::Decimal => "Real",
            Type::String => "String",
            Type::DateTime => "DateTime",
            Type::TimeSpan => "TimeSpan",
            Type::Guid => "Guid",
            Type::Dynamic => "Dynamic",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Long | Type::Real | Type::Decimal)
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------------------------
// dynamic
// ---------------------------------------------------------------------------------------------

/// A `dynamic` value: JSON plus nothing else. Datetimes, timespans and guids stored into a
/// dynamic become their string form, as Kusto does (`make_list(datetime)` yields strings).
#[derive(Clone, Debug, Default)]
pub enum Dyn {
    #[default]
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    String(Arc<str>),
    Array(Arc<Vec<Dyn>>),
    /// Object properties in insertion order (Kusto preserves it in output).
    Object(Arc<Vec<(Arc<str>, Dyn)>>),
}

impl Dyn {
    pub fn str(s: &str) -> Dyn {
        Dyn::String(Arc::from(s))
    }
    pub fn array(v: Vec<Dyn>) -> Dyn {
        Dyn::Array(Arc::new(v))
    }
    pub fn object(v: Vec<(Arc<str>, Dyn)>) -> Dyn {
        Dyn::Object(Arc::new(v))
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Dyn::Null)
    }
    pub fn as_array(&self) -> Option<&[Dyn]> {
        match self {
            Dyn::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_object(&self) -> Option<&[(Arc<str>, Dyn)]> {
        match self {
            Dyn::Object(o) => Some(o),
            _ => None,
        }
    }
    /// Property lookup (`d.name`, `d["name"]`); the last duplicate wins like JSON parsers do.
    pub fn get(&self, key: &str) -> Option<&Dyn> {
        self.as_object()?.iter().rev().find(|(k, _)| &**k == key).map(|(_, v)| v)
    }
    /// Array indexing with Kusto's negative-index-from-end rule.
    pub fn index(&self, i: i64) -> Option<&Dyn> {
        let a = self.as_array()?;
        let idx = if i < 0 { a.len() as i64 + i } else { i };
        if idx < 0 {
            return None;
        }
        a.get(idx as usize)
    }

    /// The type name `gettype()` reports for a dynamic value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Dyn::Null => "null",
            Dyn::Bool(_) => "bool",
            Dyn::Long(_) => "long",
            Dyn::Real(_) => "double",
            Dyn::String(_) => "string",
            Dyn::Array(_) => "array",
            Dyn::Object(_) => "dictionary",
        }
    }

    /// Compact JSON, as `tostring(dynamic)` prints it.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out, None, 0, JsonFloat::Kusto);
        out
    }

    /// Indented JSON exactly as Python's `json.dumps(v, indent=2, ensure_ascii=False)` prints it
    /// (used to compare against the oracle file).
    pub fn to_json_pretty_python(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out, Some(2), 0, JsonFloat::Python);
        out
    }

    /// Parses JSON text; keeps key order. Returns `None` for invalid JSON.
    pub fn parse_json(text: &str) -> Option<Dyn> {
        let mut p = JsonParser { s: text.as_bytes(), i: 0 };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return None;
        }
        Some(v)
    }

    /// Converts from serde_json (used by loaders); serde_json's maps are sorted, which is fine
    /// for data files.
    pub fn from_serde(v: &serde_json::Value) -> Dyn {
        match v {
            serde_json::Value::Null => Dyn::Null,
            serde_json::Value::Bool(b) => Dyn::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Dyn::Long(i)
                } else {
                    Dyn::Real(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Dyn::str(s),
            serde_json::Value::Array(a) => Dyn::array(a.iter().map(Dyn::from_serde).collect()),
            serde_json::Value::Object(o) => {
                Dyn::object(o.iter().map(|(k, v)| (Arc::from(k.as_str()), Dyn::from_serde(v))).collect())
            }
        }
    }

    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Dyn::Null => serde_json::Value::Null,
            Dyn::Bool(b) => serde_json::Value::Bool(*b),
            Dyn::Long(i) => serde_json::Value::from(*i),
            Dyn::Real(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::String(format_real(*f))),
            Dyn::String(s) => serde_json::Value::String(s.to_string()),
            Dyn::Array(a) => serde_json::Value::Array(a.iter().map(Dyn::to_serde).collect()),
            Dyn::Object(o) => serde_json::Value::Object(o.iter().map(|(k, v)| (k.to_string(), v.to_serde())).collect()),
        }
    }

    /// Structural equality used by sets, `in`, and array_index_of (1 == 1.0).
    pub fn equals(&self, other: &Dyn) -> bool {
        match (self, other) {
            (Dyn::Null, Dyn::Null) => true,
            (Dyn::Bool(a), Dyn::Bool(b)) => a == b,
            (Dyn::Long(a), Dyn::Long(b)) => a == b,
            (Dyn::Long(a), Dyn::Real(b)) | (Dyn::Real(b), Dyn::Long(a)) => (*a as f64) == *b,
            (Dyn::Real(a), Dyn::Real(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Dyn::String(a), Dyn::String(b)) => a == b,
            (Dyn::Array(a), Dyn::Array(b)) => a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(y)),
            (Dyn::Object(a), Dyn::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| other.get(k).is_some_and(|w| v.equals(w)))
            }
            _ => false,
        }
    }

    /// Ordering used by array_sort_asc and sorting dynamic columns (numbers < strings < others).
    pub fn compare(&self, other: &Dyn) -> Ordering {
        fn rank(d: &Dyn) -> u8 {
            match d {
                Dyn::Null => 0,
                Dyn::Bool(_) => 1,
                Dyn::Long(_) | Dyn::Real(_) => 2,
                Dyn::String(_) => 3,
                Dyn::Array(_) => 4,
                Dyn::Object(_) => 5,
            }
        }
        match (self, other) {
            (Dyn::Bool(a), Dyn::Bool(b)) => a.cmp(b),
            (Dyn::Long(a), Dyn::Long(b)) => a.cmp(b),
            (Dyn::Long(_) | Dyn::Real(_), Dyn::Long(_) | Dyn::Real(_)) => {
                let (a, b) = (self.as_f64().unwrap_or(0.0), other.as_f64().unwrap_or(0.0));
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
            (Dyn::String(a), Dyn::String(b)) => a.cmp(b),
            _ => match rank(self).cmp(&rank(other)) {
                Ordering::Equal => self.to_json().cmp(&other.to_json()),
                o => o,
            },
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Dyn::Long(i) => Some(*i as f64),
            Dyn::Real(f) => Some(*f),
            _ => None,
        }
    }

    fn hash_into<H: Hasher>(&self, h: &mut H) {
        match self {
            Dyn::Null => 0u8.hash(h),
            Dyn::Bool(b) => b.hash(h),
            Dyn::Long(i) => (*i as f64).to_bits().hash(h),
            Dyn::Real(f) => canonical_f64_bits(*f).hash(h),
            Dyn::String(s) => s.hash(h),
            Dyn::Array(a) => {
                a.len().hash(h);
                for x in a.iter() {
                    x.hash_into(h);
                }
            }
            Dyn::Object(o) => {
                // Order-independent so that equal bags hash equally.
                let mut acc: u64 = 0;
                for (k, v) in o.iter() {
                    let mut sub = std::collections::hash_map::DefaultHasher::new();
                    k.hash(&mut sub);
                    v.hash_into(&mut sub);
                    acc = acc.wrapping_add(sub.finish());
                }
                acc.hash(h);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum JsonFloat {
    /// Kusto's own JSON text (`1.0` prints as `1.0`; shortest round trip).
    Kusto,
    /// Python's float repr (`1.0`, `1e+16`, `NaN`).
    Python,
}

fn write_json(v: &Dyn, out: &mut String, indent: Option<usize>, depth: usize, fl: JsonFloat) {
    let newline = |out: &mut String, d: usize| {
        if let Some(n) = indent {
            out.push('\n');
            for _ in 0..n * d {
                out.push(' ');
            }
        }
    };
    match v {
        Dyn::Null => out.push_str("null"),
        Dyn::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Dyn::Long(i) => {
            let _ = write!(out, "{i}");
        }
        Dyn::Real(f) => match fl {
            JsonFloat::Python => out.push_str(&python_float_repr(*f)),
            JsonFloat::Kusto => {
                if f.is_finite() {
                    let s = format_real(*f);
                    out.push_str(&s);
                    if !s.contains(['.', 'E', 'e']) {
                        out.push_str(".0");
                    }
                } else {
                    out.push_str(&format!("\"{}\"", format_real(*f)));
                }
            }
        },
        Dyn::String(s) => write_json_string(s, out),
        Dyn::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if indent.is_none() && fl == JsonFloat::Python {
                        out.push(' ');
                    }
                }
                newline(out, depth + 1);
                write_json(x, out, indent, depth + 1, fl);
            }
            newline(out, depth);
            out.push(']');
        }
        Dyn::Object(o) => {
            if o.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json_string(k, out);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(x, out, indent, depth + 1, fl);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A small JSON parser that keeps object key order (serde_json's default map sorts keys).
struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Option<Dyn> {
        if depth > 256 {
            return None;
        }
        self.ws();
        let c = *self.s.get(self.i)?;
        match c {
            b'n' => self.eat("null").then_some(Dyn::Null),
            b't' => self.eat("true").then_some(Dyn::Bool(true)),
            b'f' => self.eat("false").then_some(Dyn::Bool(false)),
            b'"' => self.string().map(|s| Dyn::String(Arc::from(s))),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Dyn::array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Dyn::array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut props: Vec<(Arc<str>, Dyn)> = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Dyn::object(props));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    if let Some(slot) = props.iter_mut().find(|(pk, _)| **pk == *k) {
                        slot.1 = v;
                    } else {
                        props.push((Arc::from(k), v));
                    }
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Dyn::object(props));
                        }
                        _ => return None,
                    }
                }
            }
            _ => self.number(),
        }
    }
    fn number(&mut self) -> Option<Dyn> {
        let start = self.i;
        while self.i < self.s.len() && matches!(self.s[self.i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        if text.is_empty() {
            return None;
        }
        if !text.contains(['.', 'e', 'E'])
            && let Ok(i) = text.parse::<i64>()
        {
            return Some(Dyn::Long(i));
        }
        text.parse::<f64>().ok().map(Dyn::Real)
    }
    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'"' && self.s[self.i] != b'\\' {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
            match self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => {
                    self.i += 1;
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        }
                        _ => return None,
                    }
                }
            }
        }
    }
    fn hex4(&mut self) -> Option<u32> {
        let h = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Value
// ---------------------------------------------------------------------------------------------

/// One KQL scalar. `Null` is untyped here; columns carry the type.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Real(f64),
    Decimal(f64),
    String(Arc<str>),
    DateTime(i64),
    TimeSpan(i64),
    Guid(u128),
    Dynamic(Dyn),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::String(Arc::from(s))
    }
    pub fn string(s: String) -> Value {
        Value::String(Arc::from(s))
    }

    /// The value's own type, if not null.
    pub fn ty(&self) -> Option<Type> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Long(_) => Type::Long,
            Value::Real(_) => Type::Real,
            Value::Decimal(_) => Type::Decimal,
            Value::String(_) => Type::String,
            Value::DateTime(_) => Type::DateTime,
            Value::TimeSpan(_) => Type::TimeSpan,
            Value::Guid(_) => Type::Guid,
            Value::Dynamic(_) => Type::Dynamic,
        })
    }

    /// Kusto null: typed nulls, and dynamic null. Strings are never null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Dynamic(Dyn::Null))
    }

    /// `isempty`: null, or empty string (also an empty string inside a dynamic).
    pub fn is_empty(&self) -> bool {
        match self {
            Value::String(s) => s.is_empty(),
            Value::Dynamic(Dyn::String(s)) => s.is_empty(),
            v => v.is_null(),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(Dyn::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// Integral view (int, long, and dynamic longs).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i as i64),
            Value::Long(i) => Some(*i),
            Value::Dynamic(Dyn::Long(i)) => Some(*i),
            Value::Real(f) | Value::Decimal(f) | Value::Dynamic(Dyn::Real(f)) if f.is_finite() => Some(*f as i64),
            _ => None,
        }
    }

    /// Numeric view as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Long(i) => Some(*i as f64),
            Value::Real(f) | Value::Decimal(f) => Some(*f),
            Value::Dynamic(d) => d.as_f64(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(Dyn::String(s)) => Some(s),
            _ => None,
        }
    }

    /// `tostring()` semantics: null → "", strings as is, dynamic strings unquoted, other
    /// dynamics as compact JSON.
    pub fn to_kusto_string(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Long(i) => i.to_string(),
            Value::Real(f) | Value::Decimal(f) => format_real(*f),
            Value::String(s) => s.to_string(),
            Value::DateTime(t) => format_datetime(*t),
            Value::TimeSpan(t) => format_timespan(*t),
            Value::Guid(g) => format_guid(*g),
            Value::Dynamic(Dyn::Null) => String::new(),
            Value::Dynamic(Dyn::String(s)) => s.to_string(),
            Value::Dynamic(Dyn::Bool(b)) => if *b { "true" } else { "false" }.to_string(),
            Value::Dynamic(d) => d.to_json(),
        }
    }

    /// Converts to a dynamic value (datetimes, timespans, guids and decimals become strings).
    pub fn to_dyn(&self) -> Dyn {
        match self {
            Value::Null => Dyn::Null,
            Value::Bool(b) => Dyn::Bool(*b),
            Value::Int(i) => Dyn::Long(*i as i64),
            Value::Long(i) => Dyn::Long(*i),
            Value::Real(f) => Dyn::Real(*f),
            Value::Decimal(f) => Dyn::String(Arc::from(format_real(*f))),
            Value::String(s) => Dyn::String(s.clone()),
            Value::DateTime(t) => Dyn::String(Arc::from(format_datetime(*t))),
            Value::TimeSpan(t) => Dyn::String(Arc::from(format_timespan(*t))),
            Value::Guid(g) => Dyn::String(Arc::from(format_guid(*g))),
            Value::Dynamic(d) => d.clone(),
        }
    }

    /// Converts a dynamic scalar back to a typed value of `ty` (for `to typeof(...)`,
    /// bag_unpack and similar). Returns Null when it does not convert.
    pub fn from_dyn_as(d: &Dyn, ty: Type) -> Value {
        convert(&Value::Dynamic(d.clone()), ty)
    }

    /// Renders the value the way the oracle file stores a cell (a Python-repr-like tuple item).
    pub fn render_oracle(&self, ty: Type) -> String {
        match (self, ty) {
            (Value::Null, Type::String) => "''".into(),
            (Value::Null, Type::Dynamic) => "null".into(),
            (Value::Null, _) => "null".into(),
            (Value::Bool(b), _) => if *b { "True" } else { "False" }.into(),
            (Value::Int(i), _) => i.to_string(),
            (Value::Long(i), _) => i.to_string(),
            (Value::Real(f) | Value::Decimal(f), _) => oracle_real(*f),
            (Value::String(s), _) => format!("'{s}'"),
            (Value::DateTime(t), _) => format_datetime(*t),
            (Value::TimeSpan(t), _) => format_timespan(*t),
            (Value::Guid(g), _) => format!("'{}'", format_guid(*g)),
            (Value::Dynamic(d), _) => d.to_json_pretty_python(),
        }
    }
}

/// Real numbers in the oracle file: integral values print without a fraction (the harness
/// received them as JSON integers), others as Python's float repr with .NET-style exponents.
fn oracle_real(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == f.trunc() && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    format_real(f)
}

/// Canonical bits so that all NaNs and ±0 group together.
fn canonical_f64_bits(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else if f == 0.0 {
        0
    } else {
        f.to_bits()
    }
}

/// Equality for grouping, distinct and join keys: null equals null (Kusto groups nulls
/// together and its joins match null keys), NaN equals NaN, int equals long.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => self.as_i64() == other.as_i64(),
            (Value::Real(a) | Value::Decimal(a), Value::Real(b) | Value::Decimal(b)) => {
                canonical_f64_bits(*a) == canonical_f64_bits(*b)
            }
            (Value::String(a), Value::String(b)) => a == b,
            (Value::DateTime(a), Value::DateTime(b)) => a == b,
            (Value::TimeSpan(a), Value::TimeSpan(b)) => a == b,
            (Value::Guid(a), Value::Guid(b)) => a == b,
            (Value::Dynamic(a), Value::Dynamic(b)) => a.equals(b),
            _ => false,
        }
    }
}
impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => b.hash(h),
            Value::Int(_) | Value::Long(_) => self.as_i64().hash(h),
            Value::Real(f) | Value::Decimal(f) => canonical_f64_bits(*f).hash(h),
            Value::String(s) => s.hash(h),
            Value::DateTime(t) | Value::TimeSpan(t) => t.hash(h),
            Value::Guid(g) => g.hash(h),
            Value::Dynamic(d) => d.hash_into(h),
        }
    }
}

/// Sort order for `sort by`: nulls compare lowest (callers place them per `nulls first/last`).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(_) | Value::Long(_), Value::Int(_) | Value::Long(_)) => a.as_i64().cmp(&b.as_i64()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) | (Value::TimeSpan(x), Value::TimeSpan(y)) => x.cmp(y),
        (Value::Guid(x), Value::Guid(y)) => x.cmp(y),
        (Value::Dynamic(x), Value::Dynamic(y)) => x.compare(y),
        _ => match (a.as_f64(), b.as_f64()) {
            // NaN sorts below every number, like .NET's double.CompareTo.
            (Some(x), Some(y)) => match (x.is_nan(), y.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            },
            _ => a.to_kusto_string().cmp(&b.to_kusto_string()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions (toint, tolong, todouble, tostring, todatetime, ...)
// ---------------------------------------------------------------------------------------------

/// Converts `v` to `ty` with Kusto's `to<type>()` rules; failures become null (never panic).
pub fn convert(v: &Value, ty: Type) -> Value {
    if let Value::Dynamic(Dyn::Null) = v {
        return if ty == Type::String { Value::str("") } else { Value::Null };
    }
    match ty {
        Type::String => Value::string(v.to_kusto_string()),
        Type::Dynamic => Value::Dynamic(v.to_dyn()),
        Type::Bool => to_bool(v).map_or(Value::Null, Value::Bool),
        Type::Long => to_long(v).map_or(Value::Null, Value::Long),
        Type::Int => to_long_for_int(v).map_or(Value::Null, Value::Int),
        Type::Real => to_real(v).map_or(Value::Null, Value::Real),
        Type::Decimal => to_real(v).map_or(Value::Null, Value::Decimal),
        Type::DateTime => match v {
            Value::DateTime(t) => Value::DateTime(*t),
            Value::String(_) | Value::Dynamic(Dyn::String(_)) => {
                v.as_str().and_then(parse_datetime).map_or(Value::Null, Value::DateTime)
            }
            Value::Long(_) | Value::Int(_) => Value::Null,
            _ => Value::Null,
        },
        Type::TimeSpan => match v {
            Value::TimeSpan(t) => Value::TimeSpan(*t),
            Value::String(_) | Value::Dynamic(Dyn::String(_)) => {
                v.as_str().and_then(parse_timespan).map_or(Value::Null, Value::TimeSpan)
            }
            Value::Int(_) | Value::Long(_) | Value::Dynamic(Dyn::Long(_)) => {
                v.as_i64().map_or(Value::Null, Value::TimeSpan)
            }
            Value::Real(f) | Value::Decimal(f) if f.is_finite() => Value::TimeSpan(*f as i64),
            _ => Value::Null,
        },
        Type::Guid => match v {
            Value::Guid(g) => Value::Guid(*g),
            _ => v.as_str().and_then(parse_guid).map_or(Value::Null, Value::Guid),
        },
    }
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Some(*b),
        Value::Int(_) | Value::Long(_) | Value::Dynamic(Dyn::Long(_)) => v.as_i64().map(|i| i != 0),
        Value::Real(f) | Value::Decimal(f) | Value::Dynamic(Dyn::Real(f)) => Some(*f != 0.0),
        Value::String(_) | Value::Dynamic(Dyn::String(_)) => {
            let s = v.as_str()?.trim();
            if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                s.parse::<i64>().ok().map(|i| i != 0)
            }
        }
        _ => None,
    }
}

/// Parses an integer string: decimal, or 0x-prefixed hex (two's complement for 16 digits).
fn parse_long_text(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|u| u as i64);
    }
    s.strip_prefix('+').unwrap_or(s).parse::<i64>().ok()
}

/// Truncates a real to a long as Kusto does: NaN and infinities are null; values above
/// `(real)max long` clamp to max long, below min long to min long; in between .NET's unchecked
/// cast, under which exactly 2^63 (what `todouble(max long)` is) wraps to min long.
fn real_to_long(f: f64) -> Option<i64> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !f.is_finite() {
        None
    } else if f > TWO_63 {
        Some(i64::MAX)
    } else if f == TWO_63 || f < -TWO_63 {
        Some(i64::MIN)
    } else {
        Some(f as i64)
    }
}

fn to_long(v: &Value) -> Option<i64> {
    match v {
        Value::Int(_) | Value::Long(_) | Value::Dynamic(Dyn::Long(_)) => v.as_i64(),
        Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Some(*b as i64),
        Value::Real(f) | Value::Decimal(f) | Value::Dynamic(Dyn::Real(f)) => real_to_long(*f),
        Value::String(_) | Value::Dynamic(Dyn::String(_)) => parse_long_text(v.as_str()?),
        Value::DateTime(t) | Value::TimeSpan(t) => Some(*t),
        _ => None,
    }
}

fn to_long_for_int(v: &Value) -> Option<i32> {
    match v {
        Value::String(_) | Value::Dynamic(Dyn::String(_)) => {
            let s = v.as_str()?.trim();
            if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                return u32::from_str_radix(hex, 16).ok().map(|u| u as i32);
            }
            s.strip_prefix('+').unwrap_or(s).parse::<i32>().ok()
        }
        Value::Real(f) | Value::Decimal(f) | Value::Dynamic(Dyn::Real(f)) => {
            if !f.is_finite() {
                None
            } else if *f > 2_147_483_647.0 {
                Some(i32::MAX)
            } else if *f < -2_147_483_648.0 {
                Some(i32::MIN)
            } else {
                Some(*f as i32)
            }
        }
        _ => to_long(v).map(|i| i as i32),
    }
}

fn to_real(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) | Value::Dynamic(Dyn::Bool(b)) => Some(*b as i64 as f64),
        Value::String(_) | Value::Dynamic(Dyn::String(_)) => parse_real_text(v.as_str()?),
        Value::DateTime(t) | Value::TimeSpan(t) => Some(*t as f64),
        _ => v.as_f64(),
    }
}

/// Parses a real number the way Kusto's `todouble` accepts it (`NaN`, `Infinity`, `-inf`).
pub fn parse_real_text(s: &str) -> Option<f64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Some(f64::NAN),
        "infinity" | "+infinity" | "inf" => return Some(f64::INFINITY),
        "-infinity" | "-inf" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    if s.is_empty() || s.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    s.parse::<f64>().ok()
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// Splits a finite non-zero f64 into its shortest round-trip digits and decimal exponent
/// (value = 0.d1d2d3… × 10^exp10 with exp10 such that d1 is the first digit).
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    let digits = if digits.is_empty() { "0".to_string() } else { digits };
    (f < 0.0, digits, exp.parse::<i32>().unwrap_or(0))
}

/// Formats a real as Kusto/.NET does ("R" round trip; exponent form from 1E+15 up and below 1E-05).
pub fn format_real(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return "0".into();
    }
    let (neg, digits, exp) = shortest_digits(f);
    let sign = if neg { "-" } else { "" };
    if !(-5..15).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        let e = exp.abs();
        return format!("{sign}{m}E{esign}{e:02}");
    }
    format!("{sign}{}", place_point(&digits, exp))
}

/// Python's `repr(float)`.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let (neg, digits, exp) = shortest_digits(f);
    let sign = if neg { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let mut m = digits[..1].to_string();
        if digits.len() > 1 {
            m.push('.');
            m.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exp.abs());
    }
    let s = place_point(&digits, exp);
    if s.contains('.') { format!("{sign}{s}") } else { format!("{sign}{s}.0") }
}

/// Places the decimal point into `digits` (first digit has weight 10^exp).
fn place_point(digits: &str, exp: i32) -> String {
    if exp < 0 {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{}{}", digits, "0".repeat(int_len - digits.len()))
        } else {
            format!("{}.{}", &digits[..int_len], &digits[int_len..])
        }
    }
}

// ---------------------------------------------------------------------------------------------
// datetime / timespan
// ---------------------------------------------------------------------------------------------

pub const TICKS_PER_SECOND: i64 = 10_000_000;
pub const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;
/// Ticks of 1970-01-01 since 0001-01-01.
pub const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
/// 9999-12-31T23:59:59.9999999.
pub const MAX_DATETIME_TICKS: i64 = 3_155_378_975_999_999_999;

/// Checks the datetime range; out-of-range results are null in Kusto.
pub fn datetime_in_range(t: i64) -> Option<i64> {
    (0..=MAX_DATETIME_TICKS).contains(&t).then_some(t)
}

/// Days since 0001-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let unix_days = era * 146_097 + doe - 719_468;
    unix_days + UNIX_EPOCH_TICKS / TICKS_PER_DAY
}

/// (year, month, day) for days since 0001-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days - UNIX_EPOCH_TICKS / TICKS_PER_DAY + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

/// Broken-down datetime.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Sub-second ticks (0..10_000_000).
    pub frac: u32,
}

pub fn to_civil(t: i64) -> Civil {
    let days = t.div_euclid(TICKS_PER_DAY);
    let rem = t.rem_euclid(TICKS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (rem / TICKS_PER_HOUR) as u32,
        minute: (rem % TICKS_PER_HOUR / TICKS_PER_MINUTE) as u32,
        second: (rem % TICKS_PER_MINUTE / TICKS_PER_SECOND) as u32,
        frac: (rem % TICKS_PER_SECOND) as u32,
    }
}

/// Builds ticks from parts, validating each field.
pub fn from_civil(c: &Civil) -> Option<i64> {
    if !(1..=9999).contains(&c.year)
        || !(1..=12).contains(&c.month)
        || c.day < 1
        || c.day > days_in_month(c.year, c.month)
    {
        return None;
    }
    if c.hour > 23 || c.minute > 59 || c.second > 59 || c.frac >= TICKS_PER_SECOND as u32 {
        return None;
    }
    let days = days_from_civil(c.year, c.month, c.day);
    let t = days * TICKS_PER_DAY
        + c.hour as i64 * TICKS_PER_HOUR
        + c.minute as i64 * TICKS_PER_MINUTE
        + c.second as i64 * TICKS_PER_SECOND
        + c.frac as i64;
    datetime_in_range(t)
}

/// `2021-01-01T00:00:00.0000000Z`, Kusto's canonical datetime text.
pub fn format_datetime(t: i64) -> String {
    let c = to_civil(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z", c.year, c.month, c.day, c.hour, c.minute, c.second, c.frac)
}

/// `[-][d.]hh:mm:ss[.fffffff]`, .NET's constant ("c") timespan format.
pub fn format_timespan(t: i64) -> String {
    let neg = t < 0;
    let a = t.unsigned_abs();
    let tpd = TICKS_PER_DAY as u64;
    let days = a / tpd;
    let rem = a % tpd;
    let h = rem / TICKS_PER_HOUR as u64;
    let m = rem % TICKS_PER_HOUR as u64 / TICKS_PER_MINUTE as u64;
    let s = rem % TICKS_PER_MINUTE as u64 / TICKS_PER_SECOND as u64;
    let frac = rem % TICKS_PER_SECOND as u64;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if days > 0 {
        let _ = write!(out, "{days}.");
    }
    let _ = write!(out, "{h:02}:{m:02}:{s:02}");
    if frac > 0 {
        let _ = write!(out, ".{frac:07}");
    }
    out
}

/// Reads up to 7 fractional digits as ticks ("5" → 5_000_000).
fn frac_ticks(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut d: String = digits.chars().take(7).collect();
    while d.len() < 7 {
        d.push('0');
    }
    d.parse().ok()
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Parses the datetime texts Kusto accepts: ISO 8601 (`T` or space, optional seconds,
/// fraction, `Z` or offset), date-only, and RFC 822/1123 (`Sat, 8 Nov 2014 15:05:02 GMT`).
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.as_bytes()[0].is_ascii_alphabetic()
        || s.contains(|c: char| c.is_ascii_alphabetic() && c != 'T' && c != 'Z' && c != 't' && c != 'z')
    {
        return parse_rfc822(s);
    }
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let mut dp = date.split(['-', '/']);
    let year: i64 = dp.next()?.parse().ok()?;
    let month: u32 = dp.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = dp.next().map_or(Some(1), |d| d.parse().ok())?;
    if dp.next().is_some() || date.len() < 4 {
        return None;
    }
    let mut c = Civil { year, month, day, hour: 0, minute: 0, second: 0, frac: 0 };
    let mut offset_ticks = 0i64;
    if !rest.is_empty() {
        let mut time = rest;
        if let Some(t) = time.strip_suffix(['Z', 'z']) {
            time = t;
        } else if let Some(i) = time.rfind(['+', '-']) {
            let off = &time[i + 1..];
            let (oh, om) = off.split_once(':').unwrap_or((off, "0"));
            let mins = oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?;
            offset_ticks = if &time[i..i + 1] == "+" { mins } else { -mins } * TICKS_PER_MINUTE;
            time = &time[..i];
        }
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut tp = hms.split(':');
        c.hour = tp.next()?.trim().parse().ok()?;
        c.minute = tp.next().map_or(Some(0), |m| m.parse().ok())?;
        c.second = tp.next().map_or(Some(0), |x| x.parse().ok())?;
        if tp.next().is_some() {
            return None;
        }
        if let Some(f) = frac {
            c.frac = frac_ticks(f)?;
        }
    }
    datetime_in_range(from_civil(&c)? - offset_ticks)
}

fn parse_rfc822(s: &str) -> Option<i64> {
    let s = s.split_once(',').map_or(s, |(_, r)| r).trim();
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() < 3 {
        return None;
    }
    let day: u32 = parts[0].parse().ok()?;
    let month = MONTHS.iter().position(|m| parts[1].to_ascii_lowercase().starts_with(m))? as u32 + 1;
    let mut year: i64 = parts[2].parse().ok()?;
    if year < 100 {
        year += 2000;
    }
    let mut c = Civil { year, month, day, hour: 0, minute: 0, second: 0, frac: 0 };
    if let Some(t) = parts.get(3) {
        let mut tp = t.split(':');
        c.hour = tp.next()?.parse().ok()?;
        c.minute = tp.next().map_or(Some(0), |m| m.parse().ok())?;
        c.second = tp.next().map_or(Some(0), |x| x.parse().ok())?;
    }
    from_civil(&c)
}

/// Parses timespan text: `[-][d.]hh:mm[:ss[.fffffff]]` or a literal like `1d`, `2.5h`, `30m`,
/// `100ms`, `10tick`.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if !s.contains(':') {
        return parse_timespan_literal(s);
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (days, clock) = match body.split_once(':') {
        Some((first, _)) if first.contains('.') => {
            let (d, _) = first.split_once('.')?;
            (d.parse::<i64>().ok()?, &body[d.len() + 1..])
        }
        _ => (0, body),
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (clock, None),
    };
    let mut tp = hms.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let m: i64 = tp.next()?.parse().ok()?;
    let sec: i64 = tp.next().map_or(Some(0), |x| x.parse().ok())?;
    if tp.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let f = match frac {
        Some(f) => frac_ticks(f)? as i64,
        None => 0,
    };
    let t = days
        .checked_mul(TICKS_PER_DAY)?
        .checked_add(h * TICKS_PER_HOUR + m * TICKS_PER_MINUTE + sec * TICKS_PER_SECOND + f)?;
    Some(if neg { -t } else { t })
}

/// `1d`, `1.5h`, `30m`, `10s`, `100ms`, `5microsecond`, `3tick`, `2days`, …
pub fn parse_timespan_literal(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let per = timespan_unit_ticks(unit)?;
    let t = n * per as f64;
    (t.is_finite() && t.abs() < 9.2e18).then(|| t.round() as i64)
}

/// Ticks in one unit of a timespan literal suffix.
pub fn timespan_unit_ticks(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => TICKS_PER_DAY,
        "h" | "hr" | "hrs" | "hour" | "hours" => TICKS_PER_HOUR,
        "m" | "min" | "minute" | "minutes" => TICKS_PER_MINUTE,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SECOND,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 10_000,
        "microsecond" | "microseconds" | "micros" | "micro" => 10,
        "tick" | "ticks" => 1,
        _ => return None,
    })
}

pub fn format_guid(g: u128) -> String {
    let h = format!("{g:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

pub fn parse_guid(s: &str) -> Option<u128> {
    let s = s.trim().trim_start_matches('{').trim_end_matches('}');
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    if s.len() == 36 && [8, 13, 18, 23].iter().any(|&i| s.as_bytes()[i] != b'-') {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_roundtrip() {
        let t = parse_datetime("2020-06-15 13:45:09.1234567").unwrap();
        assert_eq!(format_datetime(t), "2020-06-15T13:45:09.1234567Z");
        assert_eq!(parse_datetime("0001-01-01").unwrap(), 0);
        assert_eq!(format_datetime(MAX_DATETIME_TICKS), "9999-12-31T23:59:59.9999999Z");
        assert!(parse_datetime("2020-13-01").is_none());
        assert!(parse_datetime("2020-02-30").is_none());
        assert_eq!(format_datetime(parse_datetime("1969-12-31 23:30:00").unwrap()), "1969-12-31T23:30:00.0000000Z");
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z").unwrap(), UNIX_EPOCH_TICKS);
        assert!(parse_datetime("Sat, 8 Nov 2014 15:05:02 GMT").is_some());
    }

    #[test]
    fn timespan_text() {
        assert_eq!(format_timespan(2 * TICKS_PER_DAY), "2.00:00:00");
        assert_eq!(format_timespan(-(TICKS_PER_HOUR)), "-01:00:00");
        assert_eq!(format_timespan(parse_timespan("1.02:03:04.5").unwrap()), "1.02:03:04.5000000");
        assert_eq!(format_timespan(parse_timespan("13:00").unwrap()), "13:00:00");
        assert_eq!(parse_timespan("1d").unwrap(), TICKS_PER_DAY);
        assert_eq!(parse_timespan("-00:30:00").unwrap(), -30 * TICKS_PER_MINUTE);
        assert_eq!(format_timespan(1), "00:00:00.0000001");
    }

    #[test]
    fn reals() {
        assert_eq!(format_real(1.5), "1.5");
        assert_eq!(format_real(3.0), "3");
        assert_eq!(format_real(9.223372036854776e18), "9.223372036854776E+18");
        assert_eq!(python_float_repr(4.0), "4.0");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(0.00001), "1e-05");
        assert_eq!(oracle_real(15.0), "15");
        assert_eq!(oracle_real(-2.1500000000000004), "-2.1500000000000004");
    }

    #[test]
    fn json_keeps_order_and_pretty_prints_like_python() {
        let d = Dyn::parse_json(r#"{"b":1,"a":[1,2.5,"x"],"c":{}}"#).unwrap();
        assert_eq!(d.to_json(), r#"{"b":1,"a":[1,2.5,"x"],"c":{}}"#);
        assert_eq!(
            d.to_json_pretty_python(),
            "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2.5,\n    \"x\"\n  ],\n  \"c\": {}\n}"
        );
        assert!(Dyn::parse_json("{").is_none());
    }

    #[test]
    fn conversions() {
        assert!(matches!(convert(&Value::str("0xFF"), Type::Int), Value::Int(255)));
        assert!(matches!(convert(&Value::str("5.9"), Type::Long), Value::Null));
        assert!(matches!(convert(&Value::Real(2.9), Type::Long), Value::Long(2)));
        assert!(matches!(convert(&Value::str("yes"), Type::Bool), Value::Null));
        assert!(matches!(convert(&Value::str("-1"), Type::Bool), Value::Bool(true)));
        assert!(matches!(convert(&Value::str("inf"), Type::Real), Value::Real(f) if f.is_infinite()));
    }

    #[test]
    fn guid() {
        let g = parse_guid("550e8400-e29b-41d4-a716-446655440000").unwrap();
        assert_eq!(format_guid(g), "550e8400-e29b-41d4-a716-446655440000");
    }
}
