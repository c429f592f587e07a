//! End-to-end tests of the mdi product: effects asserted in the sandbox (or moto for AWS).
