//! End-to-end tests of the mcas product: effects asserted in the sandbox (or moto for AWS).
