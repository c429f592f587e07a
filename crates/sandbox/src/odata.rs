//! A small OData v4 `$filter` parser and evaluator over JSON entities, shared by MDE and Graph.
//!
//! Supported: `eq ne gt ge lt le`, `and or not`, parentheses, `in (...)`, `startswith`,
//! `endswith`, `contains`, `tolower`, `toupper`, lambda `prop/any(x: x eq 'v')`, string / number /
//! bool / null literals and unquoted datetime literals (`lastSeen gt 2024-01-01T00:00:00Z`, also
//! `2018-08-01Z` as in Microsoft's examples).
//!
//! Not confirmed by upstream-apis.md: string comparison is case-insensitive here (MDE enum
//! values and Graph directory properties compare that way in practice); we pick the lenient
//! option so a correct client is never rejected.

use serde_json::Value;
use std::cmp::Ordering;
use time::OffsetDateTime;

use crate::clock::parse_datetime;

#[derive(Debug, Clone)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Op, Operand, Operand),
    In(Operand, Vec<Lit>),
    /// A boolean-valued function or lambda used as a clause.
    Truthy(Operand),
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

#[derive(Debug, Clone)]
pub enum Operand {
    Prop(String),
    Var,
    Lit(Lit),
    Call(String, Vec<Operand>),
    Any(String, Option<Box<Expr>>),
}

#[derive(Debug, Clone)]
pub enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Date(OffsetDateTime),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Colon,
    Str(String),
    /// identifiers, keywords, numbers and datetime literals
    Word(String),
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string literal at position {i}")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            // A bare Edm.Guid literal, which may start with a letter.
            c if c.is_ascii_hexdigit() && guid_at(&chars, i) => {
                out.push(Tok::Word(chars[i..i + 36].iter().collect()));
                i += 36;
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) => {
                // numbers and datetimes: digits plus the punctuation a datetime literal uses
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '-' | ':' | '.' | '+'))
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' || c == '@' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.' | '@' | '$'))
                {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}' at position {i}")),
        }
    }
    Ok(out)
}

/// Whether a GUID (`8-4-4-4-12` hex digits) starts at `i` and ends a token.
fn guid_at(chars: &[char], i: usize) -> bool {
    let Some(text) = chars.get(i..i + 36) else { return false };
    let ends = chars.get(i + 36).is_none_or(|c| !(c.is_alphanumeric() || *c == '-'));
    ends && uuid::Uuid::parse_str(&text.iter().collect::<String>()).is_ok()
}

/// Parses `$filter` against the properties an entity type allows (matched case-insensitively,
/// stored in canonical case). `entity` names the type in error messages.
pub fn parse(input: &str, allowed: &[&str], entity: &str) -> Result<Expr, String> {
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err("The $filter expression is empty.".into());
    }
    let mut p = Parser { toks, pos: 0, allowed, entity, lambda_var: None };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("Syntax error: unexpected '{}' in '{input}'.", p.describe_current()));
    }
    Ok(e)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    allowed: &'a [&'a str],
    entity: &'a str,
    lambda_var: Option<String>,
}

fn is_kw(t: Option<&Tok>, kw: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn describe_current(&self) -> String {
        match self.peek() {
            None => "end of input".into(),
            Some(Tok::Word(w)) => w.clone(),
            Some(Tok::Str(s)) => format!("'{s}'"),
            Some(t) => format!("{t:?}"),
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), String> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("Syntax error: expected {t:?} but found '{}'.", self.describe_current()))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while is_kw(self.peek(), "or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while is_kw(self.peek(), "and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if is_kw(self.peek(), "not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        let left = self.operand()?;
        let op = match self.peek() {
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Some(Op::Eq),
                "ne" => Some(Op::Ne),
                "gt" => Some(Op::Gt),
                "ge" => Some(Op::Ge),
                "lt" => Some(Op::Lt),
                "le" => Some(Op::Le),
                "in" => {
                    self.pos += 1;
                    return self.in_list(left);
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.operand()?;
            return Ok(Expr::Cmp(op, left, right));
        }
        match &left {
            Operand::Any(..) => Ok(Expr::Truthy(left)),
            Operand::Call(name, _) if matches!(name.as_str(), "startswith" | "endswith" | "contains") => {
                Ok(Expr::Truthy(left))
            }
            _ => Err(format!("Syntax error: expected a comparison operator but found '{}'.", self.describe_current())),
        }
    }

    fn in_list(&mut self, left: Operand) -> Result<Expr, String> {
        self.expect(Tok::LParen)?;
        let mut items = Vec::new();
        loop {
            match self.operand()? {
                Operand::Lit(l) => items.push(l),
                _ => return Err("The 'in' operator accepts only literal values.".into()),
            }
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::RParen) => {
                    self.pos += 1;
                    break;
                }
                _ => {
                    return Err(format!("Syntax error in 'in' list near '{}'.", self.describe_current()));
                }
            }
        }
        Ok(Expr::In(left, items))
    }

    fn property(&self, name: &str) -> Result<String, String> {
        self.allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(name))
            .map(|a| a.to_string())
            .ok_or_else(|| format!("Could not find a property named '{name}' on type '{}'.", self.entity))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let tok = self.peek().cloned().ok_or("Syntax error: unexpected end of $filter.")?;
        self.pos += 1;
        match tok {
            Tok::Str(s) => Ok(Operand::Lit(Lit::Str(s))),
            Tok::Word(w) => {
                let lower = w.to_ascii_lowercase();
                if lower == "true" || lower == "false" {
                    return Ok(Operand::Lit(Lit::Bool(lower == "true")));
                }
                if lower == "null" {
                    return Ok(Operand::Lit(Lit::Null));
                }
                // An Edm.Guid literal is written bare (`resourceId eq 8e881353-1735-...`); it
                // compares as its text.
                if w.len() == 36 && uuid::Uuid::parse_str(&w).is_ok() {
                    return Ok(Operand::Lit(Lit::Str(w)));
                }
                let first = w.chars().next().unwrap_or(' ');
                if first.is_ascii_digit() || first == '-' {
                    if let Ok(n) = w.parse::<f64>() {
                        return Ok(Operand::Lit(Lit::Num(n)));
                    }
                    if let Some(d) = parse_datetime(&w) {
                        return Ok(Operand::Lit(Lit::Date(d)));
                    }
                    return Err(format!("Invalid literal '{w}'."));
                }
                if let Some(prop) = lower.strip_suffix("/any") {
                    let prop_name = self.property(&w[..prop.len()])?;
                    return self.lambda(prop_name);
                }
                if self.peek() == Some(&Tok::LParen) {
                    if !matches!(
                        lower.as_str(),
                        "startswith" | "endswith" | "contains" | "tolower" | "toupper" | "trim"
                    ) {
                        return Err(format!("Unknown function '{w}'."));
                    }
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::RParen) {
                        loop {
                            args.push(self.operand()?);
                            if self.peek() == Some(&Tok::Comma) {
                                self.pos += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.expect(Tok::RParen)?;
                    let arity = if matches!(lower.as_str(), "tolower" | "toupper" | "trim") { 1 } else { 2 };
                    if args.len() != arity {
                        return Err(format!("Function '{w}' takes {arity} argument(s)."));
                    }
                    return Ok(Operand::Call(lower, args));
                }
                if self.lambda_var.as_deref().is_some_and(|v| v == w) {
                    return Ok(Operand::Var);
                }
                Ok(Operand::Prop(self.property(&w)?))
            }
            other => Err(format!("Syntax error: unexpected {other:?}.")),
        }
    }

    fn lambda(&mut self, prop: String) -> Result<Operand, String> {
        self.expect(Tok::LParen)?;
        if self.peek() == Some(&Tok::RParen) {
            self.pos += 1;
            return Ok(Operand::Any(prop, None));
        }
        let var = match self.peek().cloned() {
            Some(Tok::Word(v)) => v,
            _ => return Err("Syntax error: expected a lambda variable.".into()),
        };
        self.pos += 1;
        self.expect(Tok::Colon)?;
        let saved = self.lambda_var.replace(var);
        let body = self.or();
        self.lambda_var = saved;
        let body = body?;
        self.expect(Tok::RParen)?;
        Ok(Operand::Any(prop, Some(Box::new(body))))
    }
}

/// A runtime value during evaluation.
#[derive(Debug, Clone)]
enum Val {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Date(OffsetDateTime),
    List(Vec<Val>),
}

fn from_json(v: Option<&Value>) -> Val {
    match v {
        None | Some(Value::Null) => Val::Null,
        Some(Value::Bool(b)) => Val::Bool(*b),
        Some(Value::Number(n)) => Val::Num(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) => Val::Str(s.clone()),
        Some(Value::Array(a)) => Val::List(a.iter().map(|x| from_json(Some(x))).collect()),
        Some(Value::Object(_)) => Val::Null,
    }
}

fn from_lit(l: &Lit) -> Val {
    match l {
        Lit::Null => Val::Null,
        Lit::Bool(b) => Val::Bool(*b),
        Lit::Num(n) => Val::Num(*n),
        Lit::Str(s) => Val::Str(s.clone()),
        Lit::Date(d) => Val::Date(*d),
    }
}

/// Evaluates the filter against one entity.
pub fn matches(expr: &Expr, entity: &Value) -> bool {
    eval(expr, entity, None)
}

fn eval(expr: &Expr, entity: &Value, var: Option<&Val>) -> bool {
    match expr {
        Expr::Or(a, b) => eval(a, entity, var) || eval(b, entity, var),
        Expr::And(a, b) => eval(a, entity, var) && eval(b, entity, var),
        Expr::Not(a) => !eval(a, entity, var),
        Expr::Cmp(op, a, b) => compare(*op, &value(a, entity, var), &value(b, entity, var)),
        Expr::In(a, items) => {
            let left = value(a, entity, var);
            items.iter().any(|l| compare(Op::Eq, &left, &from_lit(l)))
        }
        Expr::Truthy(o) => matches!(value(o, entity, var), Val::Bool(true)),
    }
}

fn value(o: &Operand, entity: &Value, var: Option<&Val>) -> Val {
    match o {
        Operand::Prop(p) => from_json(entity.get(p)),
        Operand::Var => var.cloned().unwrap_or(Val::Null),
        Operand::Lit(l) => from_lit(l),
        Operand::Any(p, body) => {
            let items = match from_json(entity.get(p)) {
                Val::List(items) => items,
                Val::Null => Vec::new(),
                other => vec![other],
            };
            match body {
                None => Val::Bool(!items.is_empty()),
                Some(b) => Val::Bool(items.iter().any(|it| eval(b, entity, Some(it)))),
            }
        }
        Operand::Call(name, args) => {
            let vals: Vec<Val> = args.iter().map(|a| value(a, entity, var)).collect();
            let s = |i: usize| match vals.get(i) {
                Some(Val::Str(s)) => Some(s.to_lowercase()),
                _ => None,
            };
            match name.as_str() {
                "startswith" => Val::Bool(matches!((s(0), s(1)), (Some(a), Some(b)) if a.starts_with(&b))),
                "endswith" => Val::Bool(matches!((s(0), s(1)), (Some(a), Some(b)) if a.ends_with(&b))),
                "contains" => Val::Bool(matches!((s(0), s(1)), (Some(a), Some(b)) if a.contains(&b))),
                "tolower" => s(0).map(Val::Str).unwrap_or(Val::Null),
                "toupper" => match vals.first() {
                    Some(Val::Str(x)) => Val::Str(x.to_uppercase()),
                    _ => Val::Null,
                },
                "trim" => match vals.first() {
                    Some(Val::Str(x)) => Val::Str(x.trim().to_string()),
                    _ => Val::Null,
                },
                _ => Val::Null,
            }
        }
    }
}

fn order(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Null, Val::Null) => Some(Ordering::Equal),
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::Date(x), Val::Str(s)) => parse_datetime(s).map(|y| x.cmp(&y)),
        (Val::Str(s), Val::Date(y)) => parse_datetime(s).map(|x| x.cmp(y)),
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Num(x), Val::Str(s)) => s.parse::<f64>().ok().and_then(|y| x.partial_cmp(&y)),
        (Val::Str(s), Val::Num(y)) => s.parse::<f64>().ok().and_then(|x| x.partial_cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Str(x), Val::Str(y)) => {
            // Timestamps in entities are strings; compare them as instants when both parse.
            if let (Some(dx), Some(dy)) = (parse_datetime(x), parse_datetime(y))
                && (x.contains('T') || y.contains('T'))
            {
                return Some(dx.cmp(&dy));
            }
            Some(x.to_lowercase().cmp(&y.to_lowercase()))
        }
        _ => None,
    }
}

fn compare(op: Op, a: &Val, b: &Val) -> bool {
    // A collection compared to a scalar: true when any element matches (lenient; lets
    // `machineTags eq 'VIP'` work as well as the lambda form).
    if let Val::List(items) = a {
        let any = items.iter().any(|x| compare(Op::Eq, x, b));
        return match op {
            Op::Eq => any,
            Op::Ne => !any,
            _ => items.iter().any(|x| compare(op, x, b)),
        };
    }
    let ord = order(a, b);
    match op {
        Op::Eq => ord == Some(Ordering::Equal),
        Op::Ne => ord != Some(Ordering::Equal),
        Op::Gt => ord == Some(Ordering::Greater),
        Op::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        Op::Lt => ord == Some(Ordering::Less),
        Op::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
    }
}

/// Parses `$orderby` (`prop [asc|desc], ...`) against the allowed properties.
pub fn parse_orderby(input: &str, allowed: &[&str], entity: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    for part in input.split(',') {
        let mut words = part.split_whitespace();
        let Some(name) = words.next() else {
            return Err("Syntax error in $orderby.".into());
        };
        let prop = allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("Could not find a property named '{name}' on type '{entity}'."))?;
        let desc = match words.next().map(|w| w.to_ascii_lowercase()) {
            None => false,
            Some(w) if w == "asc" => false,
            Some(w) if w == "desc" => true,
            Some(w) => return Err(format!("Syntax error in $orderby near '{w}'.")),
        };
        if words.next().is_some() {
            return Err("Syntax error in $orderby.".into());
        }
        out.push((prop.to_string(), desc));
    }
    Ok(out)
}

/// Sorts entities by the parsed `$orderby` keys (stable, so ties keep world order).
pub fn sort(items: &mut [Value], keys: &[(String, bool)]) {
    items.sort_by(|a, b| {
        for (k, desc) in keys {
            let o = order(&from_json(a.get(k)), &from_json(b.get(k))).unwrap_or(Ordering::Equal);
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[&str] =
        &["healthStatus", "osPlatform", "lastSeen", "machineTags", "riskScore", "rbacGroupId", "computerDnsName"];

    fn m() -> Value {
        json!({"healthStatus":"Active","osPlatform":"Windows10","lastSeen":"2024-05-01T10:00:00.0000000Z",
               "machineTags":["VIP","Finance"],"riskScore":"High","rbacGroupId":1,"computerDnsName":"ws-0001.contoso-1.local"})
    }

    fn t(f: &str) -> bool {
        matches(&parse(f, FIELDS, "Machine").unwrap(), &m())
    }

    #[test]
    fn bare_guid_literals_compare_as_text() {
        let fields = &["resourceId"];
        let v = json!({"resourceId": "e8a9c1f2-1735-45af-af21-ee1344582a4d"});
        for f in
            ["resourceId eq e8a9c1f2-1735-45af-af21-ee1344582a4d", "resourceId eq E8A9C1F2-1735-45AF-AF21-EE1344582A4D"]
        {
            assert!(matches(&parse(f, fields, "appRoleAssignment").unwrap(), &v), "{f}");
        }
        let other = parse("resourceId eq 8e881353-1735-45af-af21-ee1344582a4d", fields, "appRoleAssignment").unwrap();
        assert!(!matches(&other, &v));
    }

    #[test]
    fn comparisons_and_logic() {
        assert!(t("healthStatus eq 'Active'"));
        assert!(t("healthStatus eq 'active'"));
        assert!(!t("healthStatus ne 'Active'"));
        assert!(t("healthStatus eq 'Active' and osPlatform eq 'Windows10'"));
        assert!(t("healthStatus eq 'Inactive' or osPlatform eq 'Windows10'"));
        assert!(t("not (healthStatus eq 'Inactive')"));
        assert!(t("osPlatform in ('Linux','Windows10')"));
        assert!(!t("osPlatform in ('Linux','macOS')"));
        assert!(t("startswith(computerDnsName,'ws-')"));
        assert!(t("rbacGroupId eq 1"));
        assert!(t("rbacGroupId lt 2"));
    }

    #[test]
    fn dates_and_lambdas() {
        assert!(t("lastSeen gt 2024-04-30T00:00:00Z"));
        assert!(t("lastSeen gt 2024-04-30Z"));
        assert!(!t("lastSeen lt 2024-04-30"));
        assert!(t("lastSeen ge '2024-05-01T10:00:00Z'"));
        assert!(t("machineTags/any(tag: tag eq 'VIP')"));
        assert!(!t("machineTags/any(tag: tag eq 'Kiosk')"));
        assert!(t("machineTags eq 'Finance'"));
    }

    #[test]
    fn bad_filters_are_errors() {
        for f in [
            "",
            "healthStatus eq",
            "foo eq 'x'",
            "healthStatus eq 'x",
            "healthStatus === 'x'",
            "(healthStatus eq 'x'",
            "bogus(healthStatus)",
            "healthStatus eq 'a' and",
        ] {
            assert!(parse(f, FIELDS, "Machine").is_err(), "{f}");
        }
    }
}
