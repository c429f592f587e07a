//! End-to-end tests of the mdc product: effects asserted in the sandbox (or moto for AWS).
