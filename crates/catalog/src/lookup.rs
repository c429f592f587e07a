//! Name resolution: canonical names and seed aliases, case-insensitively, with close matches.

use crate::{ActionSpec, Product};

/// An action name resolved to its declaration.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub spec: &'static ActionSpec,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown action '{name}'")]
    UnknownAction { product: Option<Product>, name: String, close: Vec<String> },
}

/// The index over every declaration.
pub struct Catalog;
