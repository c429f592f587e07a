//! End-to-end tests of the mdo product: effects asserted in the sandbox (or moto for AWS).
