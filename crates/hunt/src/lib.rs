//! KQL for Riposte: lexer, parser, checker against table schemas, and a columnar evaluator.
//!
//! No network, no I/O beyond reading tables and conformance files the caller names.

// Front end: text -> AST -> checked against schemas.
pub mod ast;
pub mod check;
pub mod conformance;
pub mod lexer;
pub mod limits;
pub mod parser;
pub mod schema;

// Back end: columnar evaluation.
pub mod bench;
pub mod database;
pub mod eval;
pub mod functions;
pub mod oracle;
pub mod table;
pub mod value;
