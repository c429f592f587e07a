//! Product-independent behaviour: bad input, persistence across restarts, throttling.

mod bad_input;
mod completion;
pub(crate) mod durability;
mod persistence;
mod throttling;
