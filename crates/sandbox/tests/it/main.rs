//! Integration tests: a real sandbox on 127.0.0.1:0, driven over HTTP with reqwest.
//! Effects are asserted through the emulated APIs or `/_sandbox/state`, never internals.

mod common;

mod admin;
mod alerts;
mod applications;
mod arm;
mod arm_store;
mod auth;
mod auth_methods;
mod graph;
mod graph_batch;
mod hunting;
mod indicators;
mod investigations;
mod live_response;
mod login;
mod machine_actions;
mod machines;
mod paths;
mod security;
mod tls;
mod tvm;
