//! HTTP: the request handler and the listener (HTTP/1.1, h2c, TLS, limits, graceful shutdown).

pub mod body;
pub mod listener;
pub mod peer;
pub mod service;
