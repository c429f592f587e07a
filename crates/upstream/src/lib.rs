//! # upstream — the only door to the clouds
//!
//! Every HTTP request Riposte makes to Microsoft (Graph, Defender for Endpoint, ARM, Cloud Apps,
//! Key Vault) and AWS (EC2, SigV4-signed: `aws.rs`) goes through [`Upstream`]. It owns what every call needs and no caller should re-implement:
//!
//! - **tokens**: OAuth2 client credentials (a secret or a certificate's signed assertion,
//!   [`Credential`]) per tenant × client × audience, cached, refreshed before expiry,
//!   single-flight on a cold cache, refreshed once on a 401 (`token`);
//! - **budgets**: Microsoft's documented rate limits per tenant, waited for locally so we do
//!   not collect 429s ([`Budgets`]);
//! - **retries**: 429/503 after `Retry-After`, bounded, jittered; transport errors only when
//!   repeating cannot run an action twice (`retry`);
//! - **paging**: `@odata.nextLink`, never to a foreign host;
//! - **errors**: Microsoft's four error shapes normalised into [`UpstreamError`] (`error`);
//! - **metrics**: prometheus counters ([`UpstreamMetrics`]).
//!
//! Base URLs always come from [`Clouds`] (configuration: a map from [`Api`] to base URL and token
//! audience per sovereign [`Cloud`], shared or per tenant), so the sandbox is just another cloud.
//! Nothing global is installed: the binary installs the rustls crypto provider at start-up.
//!
//! ```no_run
//! use std::sync::Arc;
//! use upstream::{Api, ApiRequest, TenantCredentials, Upstream, UpstreamConfig, UpstreamMetrics};
//!
//! # async fn demo() -> Result<(), upstream::UpstreamError> {
//! let upstream = Upstream::new(UpstreamConfig::microsoft(), Arc::new(UpstreamMetrics::new()))?;
//! let creds = TenantCredentials::new("contoso.onmicrosoft.com", "app-id", "secret-value");
//! let isolate = ApiRequest::post(
//!     Api::Mde,
//!     "/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/isolate",
//!     serde_json::json!({"Comment": "contain", "IsolationType": "Full"}),
//! );
//! let response = upstream.call(&creds, isolate).await?;
//! println!("{} {:?}", response.status, response.request_id);
//! # Ok(()) }
//! ```

pub mod activity;
pub mod api;
pub mod aws;
pub mod budget;
mod client;
pub mod clouds;
pub mod config;
pub mod credentials;
pub mod dry_run;
pub mod error;
pub mod grants;
/// Public identity-provider metadata (OIDC discovery, JWKS) for validating callers' tokens.
pub mod metadata;
pub mod metrics;
mod retry;
pub mod shared_budget;
mod token;

/// The shared vocabulary (`crates/vocab`): the catalog declares calls in these same types.
pub use activity::{Activity, CallActivity};
pub use api::{Api, ApiRequest, ApiResponse, Budget, Method, Paged};
pub use aws::AwsResponse;
pub use budget::{Budgets, Rate};
pub use client::{Download, FormField, FormValue, Upstream};
pub use clouds::{Cloud, Clouds, Endpoint};
pub use config::{RetryPolicy, TenantCredentials, UpstreamConfig};
pub use credentials::{AssumeRole, AwsCredentials, Certificate, Credential};
pub use dry_run::RenderedRequest;
pub use error::UpstreamError;
pub use grants::Grant;
pub use metrics::UpstreamMetrics;
pub use shared_budget::{Admission, SharedWindow, SharedWindows};

#[cfg(test)]
mod tests;
