//! An OData `$filter` applied by Riposte to Defender for Cloud alerts.
//!
//! `Alerts - List` at api-version 2022-01-01 documents no `$filter` (only 2019-01-01 and
//! earlier did), and ARM ignores one sent anyway: Microsoft's answer is "we don't have $filter
//! parameter". A responder's filter would silently list everything, so the engine lists every
//! page and keeps the alerts the filter matches.
//!
//! Grammar: `and`, `or`, `not`, parentheses; `eq ne gt ge lt le` between a property path and a
//! literal (`'text'` with `''` for a quote, numbers, `true`/`false`/`null`, unquoted RFC 3339
//! datetimes); `contains`, `startswith`, `endswith` (`contains(properties/techniques, 'T1496')`
//! tests an array's elements). Paths are `id`, `name`, `type` or `properties/...`. Text compares
//! ignoring case (ARM's enum values are PascalCase, callers write them either way); datetimes
//! compare as instants.

use serde_json::Value;
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Op, String, Lit),
    Call(Func, String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Str(String),
    Word(String),
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                out.push(match chars[i] {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    _ => Tok::Comma,
                });
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("a text literal is not closed with '".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/') => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '.' | '/' | ':' | '+'))
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        if self.next().as_ref() == Some(&t) { Ok(()) } else { Err(format!("expected {what}")) }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Tok::Open) => {
                let e = self.or()?;
                self.expect(Tok::Close, "')'")?;
                Ok(e)
            }
            Some(Tok::Word(w)) if self.toks.get(self.pos) == Some(&Tok::Open) => self.call(&w),
            Some(Tok::Word(path)) => {
                let path = check_path(&path)?;
                let op = match self.next() {
                    Some(Tok::Word(o)) => op(&o).ok_or_else(|| format!("'{o}' is not eq, ne, gt, ge, lt or le"))?,
                    _ => return Err(format!("expected an operator after {path}")),
                };
                Ok(Expr::Cmp(op, path, self.literal()?))
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the expression ends early".into()),
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr, String> {
        let f = match name.to_ascii_lowercase().as_str() {
            "contains" => Func::Contains,
            "startswith" => Func::StartsWith,
            "endswith" => Func::EndsWith,
            _ => return Err(format!("unknown function '{name}' (contains, startswith, endswith)")),
        };
        self.expect(Tok::Open, "'('")?;
        let path = match self.next() {
            Some(Tok::Word(p)) => check_path(&p)?,
            _ => return Err(format!("{name} takes a property path first")),
        };
        self.expect(Tok::Comma, "','")?;
        let text = match self.next() {
            Some(Tok::Str(s)) => s,
            _ => return Err(format!("{name} takes a text literal second")),
        };
        self.expect(Tok::Close, "')'")?;
        Ok(Expr::Call(f, path, text))
    }

    fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "null" => Ok(Lit::Null),
                "true" => Ok(Lit::Bool(true)),
                "false" => Ok(Lit::Bool(false)),
                _ if OffsetDateTime::parse(&w, &Rfc3339).is_ok() => Ok(Lit::Str(w)),
                _ => w.parse::<f64>().map(Lit::Num).map_err(|_| format!("'{w}' is not a literal (quote text: '{w}')")),
            },
            _ => Err("expected a literal".into()),
        }
    }
}

fn op(s: &str) -> Option<Op> {
    Some(match s.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        _ => return None,
    })
}

/// `id`, `name`, `type` or `properties/...`.
fn check_path(p: &str) -> Result<String, String> {
    let first = p.split('/').next().unwrap_or_default();
    let top = ["id", "name", "type"].iter().any(|t| t.eq_ignore_ascii_case(p));
    if top || (first.eq_ignore_ascii_case("properties") && p.len() > "properties/".len()) {
        return Ok(p.to_string());
    }
    Err(format!("unknown property '{p}': an alert's fields are under properties/, e.g. properties/status"))
}

/// Parses a filter; the message says what is wrong.
pub fn parse(input: &str) -> Result<Expr, String> {
    let toks = tokenize(input)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?} after a complete expression", p.toks[p.pos]));
    }
    Ok(e)
}

/// The value at a `/` path, property names matched ignoring case.
fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/')
        .try_fold(v, |cur, key| cur.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, x)| x))
}

fn order(v: &Value, lit: &Lit) -> Option<Ordering> {
    match (v, lit) {
        (Value::Null, Lit::Null) => Some(Ordering::Equal),
        (Value::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), Lit::Num(b)) => a.as_f64()?.partial_cmp(b),
        (Value::String(a), Lit::Str(b)) => {
            match (OffsetDateTime::parse(a, &Rfc3339), OffsetDateTime::parse(b, &Rfc3339)) {
                (Ok(x), Ok(y)) => Some(x.cmp(&y)),
                _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
            }
        }
        _ => None,
    }
}

fn compare(op: Op, v: Option<&Value>, lit: &Lit) -> bool {
    let v = v.unwrap_or(&Value::Null);
    if let Value::Array(items) = v {
        // An array matches when an element does (ne: when none equals).
        return match op {
            Op::Ne => !items.iter().any(|x| compare(Op::Eq, Some(x), lit)),
            _ => items.iter().any(|x| compare(op, Some(x), lit)),
        };
    }
    let o = order(v, lit);
    match op {
        Op::Eq => o == Some(Ordering::Equal),
        Op::Ne => o != Some(Ordering::Equal),
        Op::Gt => o == Some(Ordering::Greater),
        Op::Ge => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
        Op::Lt => o == Some(Ordering::Less),
        Op::Le => matches!(o, Some(Ordering::Less | Ordering::Equal)),
    }
}

fn text_test(f: Func, v: Option<&Value>, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    let test = |s: &str| {
        let s = s.to_lowercase();
        match f {
            Func::Contains => s.contains(&needle),
            Func::StartsWith => s.starts_with(&needle),
            Func::EndsWith => s.ends_with(&needle),
        }
    };
    match v {
        Some(Value::String(s)) => test(s),
        // An array contains the text when an element equals it (or, for startswith/endswith, matches).
        Some(Value::Array(items)) => items.iter().any(|x| match (f, x.as_str()) {
            (Func::Contains, Some(s)) => s.eq_ignore_ascii_case(&needle),
            (_, Some(s)) => test(s),
            _ => false,
        }),
        _ => false,
    }
}

/// Whether `item` satisfies the filter.
pub fn matches(e: &Expr, item: &Value) -> bool {
    match e {
        Expr::Or(a, b) => matches(a, item) || matches(b, item),
        Expr::And(a, b) => matches(a, item) && matches(b, item),
        Expr::Not(a) => !matches(a, item),
        Expr::Cmp(op, path, lit) => compare(*op, at(item, path), lit),
        Expr::Call(f, path, text) => text_test(*f, at(item, path), text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert() -> Value {
        json!({"id": "/subscriptions/s/x/alerts/dc1", "name": "dc1", "properties": {
            "status": "Active", "severity": "High", "isIncident": false, "techniques": ["T1496", "T1059"],
            "startTimeUtc": "2026-12-05T10:00:00Z", "alertDisplayName": "A drift binary detected"}})
    }

    fn ok(f: &str) -> bool {
        matches(&parse(f).unwrap_or_else(|e| panic!("{f}: {e}")), &alert())
    }

    #[test]
    fn comparisons_functions_and_logic() {
        assert!(ok("properties/status eq 'Active'"));
        assert!(ok("properties/status eq 'active'"), "text ignores case");
        assert!(!ok("properties/status eq 'Dismissed'"));
        assert!(ok("properties/status ne 'Dismissed' and properties/severity eq 'High'"));
        assert!(ok("properties/severity eq 'Low' or (name eq 'dc1' and not (properties/isIncident eq true))"));
        assert!(ok("properties/startTimeUtc gt 2026-12-05T09:00:00Z"));
        assert!(!ok("properties/startTimeUtc ge '2026-12-05T10:00:01Z'"));
        assert!(ok("contains(properties/techniques, 'T1496')"));
        assert!(!ok("contains(properties/techniques, 'T14')"), "an array element must equal the text");
        assert!(ok("startswith(properties/alertDisplayName, 'a drift')"));
        assert!(ok("properties/techniques eq 'T1059'"));
        assert!(!ok("properties/missing eq 'x'"));
    }

    #[test]
    fn bad_filters_say_why() {
        for f in [
            "status eq 'Active'",
            "properties/status equals 'x'",
            "properties/status eq",
            "(name eq 'a'",
            "name eq Active",
            "foo(name, 'a')",
            "name eq 'a' name",
        ] {
            assert!(parse(f).is_err(), "{f} should be refused");
        }
        assert!(parse("status eq 'Active'").unwrap_err().contains("properties/"));
    }
}
