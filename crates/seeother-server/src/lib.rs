//! The seeother redirect server: rules, their index, the store, the HTTP service and the admin API.

pub mod index;
pub mod resolve;
pub mod rule;
pub mod store;
