//! End-to-end tests of the azure product: effects asserted in the sandbox (or moto for AWS).
