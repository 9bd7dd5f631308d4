//! Link health for the rule store: which URLs a rule's targets are ([`plan`]), their outcomes
//! as JSON ([`report`]).

mod plan;
pub mod report;

pub use plan::{Planned, Skip, plan};
