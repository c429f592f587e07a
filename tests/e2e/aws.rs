//! End-to-end tests of the aws product: effects asserted in the sandbox (or moto for AWS).
