//! Which product a request names, for every surface: the native path segment
//! (`/v1/tenants/{t}/actions/{product}/{action}`), the seed's worker routes
//! (`/api/DefenderXDR{Product}Worker`) and its `service` field all parse here, so they agree on
//! spellings (every product the seed routed to has its actions in the catalog).

use crate::error::ApiError;
use axum::http::StatusCode;
use catalog::Product;

/// The native route's `{product}` segment: an unknown one is a 404 (no such resource).
pub fn parse_product(value: &str) -> Result<Product, ApiError> {
    Product::parse(value).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "UnknownProduct", format!("unknown product '{value}'"))
            .field("product")
            .hint(format!("use one of {}", keys(Product::ALL.iter().copied())))
    })
}

/// The seed's `service` field: an unknown one is a 400 naming the field.
pub fn parse_service(value: &str) -> Result<Product, ApiError> {
    Product::parse(value).ok_or_else(|| {
        ApiError::bad_request(
            "service",
            format!("unknown service '{value}'"),
            format!("use one of {}", keys(Product::ALL.iter().copied())),
        )
    })
}

fn keys(products: impl Iterator<Item = Product>) -> String {
    products.map(Product::key).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_and_unknown_ones_are_404_or_400() {
        assert_eq!(parse_product("mde").map(Product::key).ok(), Some("MDE"));
        assert_eq!(parse_service("IncidentS").map(Product::key).ok(), Some("Incident"));
        assert_eq!(parse_service("MCAS").map(Product::key).ok(), Some("MCAS"));
        assert_eq!(parse_product("Identity").map(Product::key).ok(), Some("MDI"));
        let err = parse_product("nope").unwrap_err();
        assert_eq!((err.status, err.field.as_deref()), (StatusCode::NOT_FOUND, Some("product")));
        assert!(err.hint.as_deref().unwrap_or("").contains("MCAS"), "{:?}", err.hint);
        assert_eq!(parse_service("nope").unwrap_err().status, StatusCode::BAD_REQUEST);
    }
}
