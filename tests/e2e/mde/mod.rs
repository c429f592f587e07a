//! Defender for Endpoint, end to end: machine actions, alerts, indicators, reads, live response.

mod actions;
mod alerts;
mod bad_input;
mod devices;
mod indicators;
mod library;
mod live_response;
mod live_response_helpers;
mod reads;
mod tvm;
