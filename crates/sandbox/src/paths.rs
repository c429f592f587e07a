//! Case-insensitive routing: Microsoft's APIs match path segments without regard to case
//! (`/api/Software` = `/api/software`), axum's router does not.
//!
//! Routes are registered through [`route`], which records their template. Before routing,
//! [`normalize`] finds the registered template that matches the request's segments
//! case-insensitively (the one with the most literal segments wins) and rewrites those literal
//! segments to the registered spelling, so each route is declared once, in its documented
//! casing, and sub-resources can be real routes instead of a catch-all `{sub}` dispatched by
//! string comparisons.

use std::sync::{Mutex, OnceLock};

use axum::Router;
use axum::http::Request;
use axum::http::Uri;
use axum::routing::MethodRouter;

use crate::state::AppState;

/// Templates as segments; `None` marks a `{param}` segment.
type Template = Vec<Option<String>>;

fn registry() -> &'static Mutex<Vec<Template>> {
    static TEMPLATES: OnceLock<Mutex<Vec<Template>>> = OnceLock::new();
    TEMPLATES.get_or_init(|| Mutex::new(Vec::new()))
}

fn parse_template(path: &str) -> Template {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
        .collect()
}

/// `router.route(path, handler)`, with `path` matched case-insensitively.
pub fn route(router: Router<AppState>, path: &str, handler: MethodRouter<AppState>) -> Router<AppState> {
    let t = parse_template(path);
    let mut reg = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !reg.contains(&t) {
        reg.push(t);
    }
    drop(reg);
    router.route(path, handler)
}

/// The path with literal segments in their registered spelling, if a template matches and
/// anything changes.
fn canonical(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reg = registry().lock().unwrap_or_else(|e| e.into_inner());
    let best = reg
        .iter()
        .filter(|t| {
            t.len() == segs.len()
                && t.iter().zip(&segs).all(|(lit, seg)| lit.as_deref().is_none_or(|l| l.eq_ignore_ascii_case(seg)))
        })
        .max_by_key(|t| t.iter().filter(|s| s.is_some()).count())?;
    let out: Vec<&str> = best.iter().zip(&segs).map(|(lit, seg)| lit.as_deref().unwrap_or(seg)).collect();
    let out = format!("/{}", out.join("/"));
    (out != path).then_some(out)
}

/// A service that normalises the path of every request before handing it on (wraps the
/// router, so it runs before routing; any body type, as the server and `$batch` differ).
#[derive(Clone)]
pub struct Normalize<S>(pub S);

impl<S, B> tower::Service<Request<B>> for Normalize<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.0.call(normalize(req))
    }
}

/// Rewrites the request's path to the registered spelling (runs before routing).
pub fn normalize<B>(mut req: Request<B>) -> Request<B> {
    let Some(path) = canonical(req.uri().path()) else {
        return req;
    };
    let pq = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = pq.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_literal_template_wins() {
        let r = Router::new();
        let h = || axum::routing::get(|| async { "" });
        let r = route(r, "/api/paths-test/{id}/{sub}", h());
        let _r = route(r, "/api/paths-test/{id}/logonUsers", h());
        assert_eq!(canonical("/API/Paths-Test/AbC/LOGONUSERS").as_deref(), Some("/api/paths-test/AbC/logonUsers"));
        assert_eq!(canonical("/api/PATHS-TEST/x/other").as_deref(), Some("/api/paths-test/x/other"));
        assert_eq!(canonical("/api/paths-test/x/logonUsers"), None);
    }
}
