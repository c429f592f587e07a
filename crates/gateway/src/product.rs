//! Which product a request names, for every surface: the native path segment
//! (`/v1/tenants/{t}/actions/{product}/{action}`), the seed's worker routes
//! (`/api/DefenderXDR{Product}Worker`) and its `service` field all parse here, so they agree on
//! spellings and on what a known-but-unbuilt product answers: 501 `ProductNotImplemented` naming
//! the product, never "unknown service" (the seed's callers send MDO, MCAS, ... today).

use crate::error::ApiError;
use axum::http::StatusCode;
use catalog::Product;
use serde_json::json;

/// The native route's `{product}` segment: an unknown one is a 404 (no such resource).
pub fn parse_product(value: &str) -> Result<Product, ApiError> {
    let product = Product::parse(value).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "UnknownProduct", format!("unknown product '{value}'"))
            .field("product")
            .hint(format!("use one of {}", keys(Product::ALL.iter().copied())))
    })?;
    implemented(product, "product")
}

/// The seed's `service` field: an unknown one is a 400 naming the field.
pub fn parse_service(value: &str) -> Result<Product, ApiError> {
    let product = Product::parse(value).ok_or_else(|| {
        ApiError::bad_request(
            "service",
            format!("unknown service '{value}'"),
            format!("use one of {}", keys(Product::ALL.iter().copied())),
        )
    })?;
    implemented(product, "service")
}

/// The product itself, when its actions exist; else 501 saying it is known but not built yet.
pub fn implemented(product: Product, field: &str) -> Result<Product, ApiError> {
    if product.is_implemented() {
        return Ok(product);
    }
    let mut err = ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "ProductNotImplemented",
        format!(
            "{} ({}) is a known product, but its actions are not implemented in Riposte yet",
            product.title(),
            product.key()
        ),
    )
    .field(field)
    .hint(format!(
        "implemented products: {}; GET /v1/catalog lists every action",
        keys(Product::ALL.iter().copied().filter(|p| p.is_implemented()))
    ));
    err.extra = json!({ "product": product.key() });
    Err(err)
}

fn keys(products: impl Iterator<Item = Product>) -> String {
    products.map(Product::key).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_unbuilt_products_answer_501_and_unknown_ones_404_or_400() {
        assert_eq!(parse_product("mde").map(Product::key).ok(), Some("MDE"));
        assert_eq!(parse_service("IncidentS").map(Product::key).ok(), Some("Incident"));
        let err = parse_service("MCAS").unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str(), err.field.as_deref()),
            (StatusCode::NOT_IMPLEMENTED, "ProductNotImplemented", Some("service"))
        );
        assert!(err.message.contains("Defender for Cloud Apps"), "{}", err.message);
        assert!(err.hint.as_deref().unwrap_or("").contains("MDE"), "{:?}", err.hint);
        assert_eq!(err.body()["product"], "MCAS");
        assert_eq!(parse_product("Identity").unwrap_err().status, StatusCode::NOT_IMPLEMENTED);
        assert_eq!(parse_product("nope").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(parse_service("nope").unwrap_err().status, StatusCode::BAD_REQUEST);
    }
}
