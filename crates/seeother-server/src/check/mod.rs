//! Link health for the rule store: which URLs a rule's targets are ([`plan`]), their outcomes
//! as JSON ([`report`]), and the server's background checks ([`background`]), whose latest
//! result per rule is kept in the store.

pub mod background;
mod plan;
pub mod report;

pub use plan::{Planned, Skip, plan};
