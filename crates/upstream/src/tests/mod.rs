//! End-to-end tests of `Upstream` against small axum mock clouds on 127.0.0.1:0.
//! One mock serves login (`/login`), MDE (`/mde`), Graph (`/graph`) and ARM (`/arm`) under
//! path prefixes, which also proves base URLs with paths work (like the sandbox).

mod mock;

mod calls;
mod paging;
mod tenants;
mod tokens;
