//! What the index tests share: building an index from rule specs, as the store would.

use seeother_server::index::{Index, RuleParts};
use seeother_server::rule::RuleSpec;

/// An index of `rules`, validated as the store would, with ids 1, 2, 3 … in order.
pub fn compile(rules: &[RuleSpec]) -> Index {
    build(rules, true)
}

/// [`compile`], without telling the index builder how many rules come (as a stream of
/// unknown length would), so its tables start small and grow.
#[allow(dead_code)] // Not every test file that shares this module uses it.
pub fn compile_unsized(rules: &[RuleSpec]) -> Index {
    build(rules, false)
}

fn build(rules: &[RuleSpec], sized: bool) -> Index {
    let valid: Vec<RuleSpec> = rules
        .iter()
        .map(|r| r.clone().validate().expect("valid rule"))
        .collect();
    let parts = valid
        .iter()
        .enumerate()
        .map(|(i, r)| RuleParts::of_spec(i as i64 + 1, r).expect("has a matcher"));
    if sized {
        Index::build(parts)
    } else {
        // A filter hides the count from the iterator's size hint.
        Index::build(parts.filter(|_| true))
    }
    .expect("compiles")
}
