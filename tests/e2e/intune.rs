//! End-to-end tests of the intune product: effects asserted in the sandbox (or moto for AWS).
