//! The seeother redirect server: rules, their index, the store, the HTTP service and the
//! admin API.
//!
//! - [`rule`]: what an operator writes, and its validation.
//! - [`index`] and [`resolve`]: the in-memory index and the answer to a request (pure, so
//!   `seeother explain` runs the server's own code).
//! - [`store`] and [`catalog`]: the SQLite store and the live rules kept in step with it.
//! - [`rules_file`]: TOML, JSON and CSV rule files.
//! - [`http`], [`api`], [`admin`], [`auth`], [`metrics`], [`stats`]: serving, the admin API
//!   and pages, the token, Prometheus metrics and hit counters.
//! - [`app`]: the state every handler shares, below the modules that use it, with
//!   [`session`] (admin sessions, the sign-in form's signed token), [`reports`] (import
//!   reports) and [`throttle`] (failed tokens per client).
//! - [`throttle`]: failed authentications limited per client address.
//! - [`server`]: everything put together, as `seeother serve` runs it.
//!
//! Every redirect is built by `seeother_core`; this crate takes no protocol decision of its own.
//!
//! ```
//! use std::sync::Arc;
//! use seeother_server::catalog::Catalog;
//! use seeother_server::rule::RuleSpec;
//! use seeother_server::store::Store;
//!
//! let catalog = Catalog::open(Arc::new(Store::in_memory().unwrap())).unwrap();
//! catalog.create(RuleSpec::path("/id/berlin", "https://example.org/page/berlin"), "doc").unwrap();
//! let index = catalog.index();
//! let hit = index.lookup(None, "/id/berlin").unwrap();
//! assert_eq!(hit.rule.matcher(), "/id/berlin");
//! ```

pub mod access_log;
pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod check;
pub mod control;
mod feed;
pub mod group;
pub mod health;
pub mod http;
pub mod import;
pub mod index;
mod load;
pub mod metrics;
pub mod migrate;
mod reload;
pub mod reports;
pub mod resolve;
pub mod rule;
pub mod rules_file;
pub mod server;
pub mod session;
pub mod snapshot;
pub mod stats;
pub mod store;
pub mod throttle;

pub use server::{Options, ServeError, Server};
