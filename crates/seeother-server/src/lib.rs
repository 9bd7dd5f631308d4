//! The seeother redirect server: rules, their index, the store, the HTTP service and the admin API.
