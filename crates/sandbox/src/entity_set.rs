//! The generic entity-set layer: one implementation of OData list queries (`$filter`,
//! `$orderby`, `$top`, `$skip` / `$skiptoken`, `$select`, `$count`, `@odata.nextLink`) for every
//! emulated collection, so a new product declares its sets as data instead of copying a list
//! handler.
//!
//! A set is a [`SetSpec`]: entity type name, filterable / sortable / selectable properties and
//! a [`Paging`] style. [`query`] applies a request's options to the rows and returns a [`Page`],
//! or a [`QueryError`] that each API family words in its own error shape (MDE `ODataError`,
//! Graph `BadRequest` / `Request_BadRequest`), since their documented messages differ.

use base64::Engine;
use serde_json::{Map, Value};

use crate::odata;
use crate::query::{Params, project};

/// How a set pages.
#[derive(Clone, Copy, Debug)]
pub enum Paging {
    /// `$top` / `$skip`; the nextLink advances `$skip`. `default` rows without `$top`,
    /// `max` the largest `$top`. With `link_top`, the nextLink always carries `$top` (Graph
    /// security); otherwise only when the request had one (MDE).
    Skip { default: usize, max: usize, link_top: bool },
    /// Directory objects: `$top` in `1..=max`, opaque `$skiptoken` in the nextLink.
    SkipToken { default: usize, max: usize, prefix: &'static str },
}

/// How `$select` is checked.
#[derive(Clone, Copy, Debug)]
pub enum Select {
    /// Names must be among these (case-insensitive; answered in this casing).
    Known(&'static [&'static str]),
    /// Any names are projected as given (unknown ones come back absent).
    Free,
}

#[derive(Clone, Copy, Debug)]
pub struct SetSpec {
    pub entity: &'static str,
    pub filterable: &'static [&'static str],
    pub sortable: &'static [&'static str],
    pub select: Select,
    pub paging: Paging,
}

/// Why a query was refused; each API family turns it into its own error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    Filter(String),
    OrderBy(String),
    /// `$top` not a number, or outside the allowed range (raw text).
    Top(String),
    /// `$top` above the set's maximum.
    TopTooLarge(usize, usize),
    Skip(String),
    Select(String),
    SkipToken,
}

/// One page of a collection.
#[derive(Debug)]
pub struct Page {
    pub count: usize,
    pub rows: Vec<Value>,
    pub next_link: Option<String>,
}

impl Page {
    /// The OData response body: `@odata.context`, `@odata.count` (when `$count=true`),
    /// `value`, `@odata.nextLink`.
    pub fn body(self, context: String, params: &Params) -> Value {
        let mut body = Map::new();
        body.insert("@odata.context".into(), context.into());
        if params.get("$count").is_some_and(|c| c.eq_ignore_ascii_case("true")) {
            body.insert("@odata.count".into(), self.count.into());
        }
        body.insert("value".into(), Value::Array(self.rows));
        if let Some(next) = self.next_link {
            body.insert("@odata.nextLink".into(), next.into());
        }
        Value::Object(body)
    }
}

/// Applies the request's options to `items`. `link_base` is `{base_url}{path}` for nextLinks.
pub fn query(set: &SetSpec, params: &Params, mut items: Vec<Value>, link_base: &str) -> Result<Page, QueryError> {
    if let Some(f) = params.get("$filter") {
        let expr = odata::parse(f, set.filterable, set.entity).map_err(QueryError::Filter)?;
        items.retain(|v| odata::matches(&expr, v));
    }
    if let Some(o) = params.get("$orderby") {
        let keys = odata::parse_orderby(o, set.sortable, set.entity).map_err(QueryError::OrderBy)?;
        odata::sort(&mut items, &keys);
    }
    let select = selection(set, params)?;
    let (offset, page, next) = window(set.paging, params)?;
    let count = items.len();
    let end = offset.saturating_add(page).min(count);
    let rows = if offset < count { items[offset..end].to_vec() } else { Vec::new() };
    let next_link = (end < count && page > 0).then(|| format!("{link_base}?{}", next(end).to_query_string()));
    Ok(Page { count, rows: project(rows, &select), next_link })
}

fn selection(set: &SetSpec, params: &Params) -> Result<Vec<String>, QueryError> {
    let Some(s) = params.get("$select") else {
        return Ok(Vec::new());
    };
    let names = s.split(',').map(str::trim).filter(|p| !p.is_empty());
    match set.select {
        Select::Free => Ok(names.map(str::to_owned).collect()),
        Select::Known(fields) => names
            .map(|p| {
                fields
                    .iter()
                    .find(|f| f.eq_ignore_ascii_case(p))
                    .map(|f| f.to_string())
                    .ok_or_else(|| QueryError::Select(p.to_string()))
            })
            .collect(),
    }
}

type NextParams<'a> = Box<dyn Fn(usize) -> Params + 'a>;

/// (offset, page size, how to build the next page's query from the end offset).
fn window(paging: Paging, params: &Params) -> Result<(usize, usize, NextParams<'_>), QueryError> {
    match paging {
        Paging::Skip { default, max, link_top } => {
            let top = match params.get("$top") {
                None => None,
                Some(t) => {
                    let n: usize = t.trim().parse().map_err(|_| QueryError::Top(t.into()))?;
                    if n > max {
                        return Err(QueryError::TopTooLarge(n, max));
                    }
                    Some(n)
                }
            };
            let skip = match params.get("$skip") {
                None => 0,
                Some(s) => s.trim().parse().map_err(|_| QueryError::Skip(s.into()))?,
            };
            let page = top.unwrap_or(default);
            let with_top = link_top || top.is_some();
            let next = move |end: usize| {
                let p = params.with("$skip", &end.to_string());
                if with_top { p.with("$top", &page.to_string()) } else { p }
            };
            Ok((skip, page, Box::new(next)))
        }
        Paging::SkipToken { default, max, prefix } => {
            let page = match params.get("$top") {
                None => default,
                Some(t) => match t.trim().parse::<usize>() {
                    Ok(n) if (1..=max).contains(&n) => n,
                    _ => return Err(QueryError::Top(t.into())),
                },
            };
            let offset = match params.get("$skiptoken") {
                None => 0,
                Some(tok) => decode_skiptoken(prefix, tok).ok_or(QueryError::SkipToken)?,
            };
            let next = move |end: usize| params.with("$skiptoken", &encode_skiptoken(prefix, end));
            Ok((offset, page, Box::new(next)))
        }
    }
}

fn encode_skiptoken(prefix: &str, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}:{offset}"))
}

fn decode_skiptoken(prefix: &str, token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix(prefix)?.strip_prefix(':')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SET: SetSpec = SetSpec {
        entity: "t",
        filterable: &["n", "k"],
        sortable: &["n"],
        select: Select::Known(&["n", "k"]),
        paging: Paging::Skip { default: 100, max: 1000, link_top: false },
    };

    fn rows() -> Vec<Value> {
        (0..10).map(|n| json!({"n": n, "k": if n % 2 == 0 { "even" } else { "odd" }})).collect()
    }

    #[test]
    fn filters_sorts_pages_and_links() {
        let p = Params::parse(Some("$filter=k eq 'even'&$orderby=n desc&$top=2&$select=N"));
        let page = query(&SET, &p, rows(), "http://x/api/t").unwrap();
        assert_eq!(page.count, 5);
        assert_eq!(page.rows, vec![json!({"n": 8}), json!({"n": 6})]);
        let next = page.next_link.unwrap();
        assert!(next.contains("$skip=2") && next.contains("$top=2"), "{next}");
        let p = Params::parse(Some("$top=5000"));
        assert_eq!(query(&SET, &p, rows(), "").unwrap_err(), QueryError::TopTooLarge(5000, 1000));
        let p = Params::parse(Some("$select=nope"));
        assert!(matches!(query(&SET, &p, rows(), ""), Err(QueryError::Select(_))));
    }

    #[test]
    fn skiptoken_paging_round_trips() {
        let set = SetSpec { paging: Paging::SkipToken { default: 4, max: 999, prefix: "sandbox-t" }, ..SET };
        let first = query(&set, &Params::parse(None), rows(), "http://x/t").unwrap();
        assert_eq!(first.rows.len(), 4);
        let link = first.next_link.unwrap();
        let q = link.split_once('?').unwrap().1;
        let second = query(&set, &Params::parse(Some(q)), rows(), "http://x/t").unwrap();
        assert_eq!(second.rows[0]["n"], 4);
        let bad = Params::parse(Some("$skiptoken=zzz"));
        assert_eq!(query(&set, &bad, rows(), "").unwrap_err(), QueryError::SkipToken);
        assert_eq!(decode_skiptoken("p", &encode_skiptoken("p", 7)), Some(7));
        assert_eq!(decode_skiptoken("p", "garbage!"), None);
    }
}
