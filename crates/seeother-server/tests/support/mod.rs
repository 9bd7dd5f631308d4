//! What the index tests share: building an index from rule specs, as the store would.

use seeother_server::index::{Index, RuleParts};
use seeother_server::rule::RuleSpec;

/// An index of `rules`, validated as the store would, with ids 1, 2, 3 … in order.
pub fn compile(rules: &[RuleSpec]) -> Index {
    let valid: Vec<RuleSpec> = rules
        .iter()
        .map(|r| r.clone().validate().expect("valid rule"))
        .collect();
    Index::build(
        valid
            .iter()
            .enumerate()
            .map(|(i, r)| RuleParts::of_spec(i as i64 + 1, r).expect("has a matcher")),
    )
    .expect("compiles")
}
