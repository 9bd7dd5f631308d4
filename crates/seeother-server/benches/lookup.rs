//! Micro-benchmarks of the server's request path without sockets: finding a request's rule in
//! a large table, and the whole answer (lookup, `Location`, note, header map).
//!
//! The requests cycle through every rule in a shuffled order, as a load generator's path list
//! does, so a table larger than the caches is measured with its cache misses.
//!
//! Run with `cargo bench -p seeother-server` (add `-- --quick` for a short pass).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Method};
use seeother_server::index::Index;
use seeother_server::resolve::{self, Request};
use seeother_server::rule::RuleSpec;

#[path = "../tests/support/mod.rs"]
mod support;

/// A small deterministic generator (xorshift64*), so every run measures the same table.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// `len` characters of `[0-9a-z]`.
    fn word(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        (0..len)
            .map(|_| ALPHABET[(self.next() % 36) as usize] as char)
            .collect()
    }
}

/// `n` rules shaped like the server benchmark's (98 % identifiers, 2 % prefixes), and request
/// paths hitting each once, shuffled: exact hits, then paths under the prefixes.
fn table(n: usize) -> (Index, Vec<String>, Vec<String>) {
    let mut random = Random(0x5ee0_7e55);
    let kinds = ["work", "person", "place", "concept"];
    let mut specs = Vec::with_capacity(n);
    let mut exact = Vec::new();
    let mut under = Vec::new();
    for i in 0..n {
        if i % 50 == 49 {
            let key = random.word(11);
            specs.push(RuleSpec::prefix(
                &format!("/c/{key}/"),
                &format!("https://archive.example.net/collections/{key}/"),
            ));
            under.push(format!(
                "/c/{key}/{}/{}.html",
                random.word(4),
                random.word(8)
            ));
        } else {
            let kind = kinds[i % kinds.len()];
            let key = random.word(12);
            specs.push(RuleSpec::path(
                &format!("/id/{kind}/{key}"),
                &format!("https://catalogue.example.org/{kind}s/{key}"),
            ));
            exact.push(format!("/id/{kind}/{key}"));
        }
    }
    let index = support::compile(&specs);
    for paths in [&mut exact, &mut under] {
        for i in (1..paths.len()).rev() {
            paths.swap(i, (random.next() % (i as u64 + 1)) as usize);
        }
    }
    (index, exact, under)
}

fn lookup(c: &mut Criterion) {
    for n in [10_000, 1_000_000] {
        let (index, exact, under) = table(n);
        let misses: Vec<String> = exact.iter().map(|p| format!("{p}x")).collect();
        for (name, paths) in [("exact", &exact), ("prefix", &under), ("miss", &misses)] {
            let mut i = 0;
            c.bench_function(&format!("lookup {name}, {n} rules"), |b| {
                b.iter(|| {
                    i = (i + 1) % paths.len();
                    index.lookup(None, black_box(&paths[i])).is_some()
                })
            });
        }
        let headers = HeaderMap::new();
        let mut i = 0;
        c.bench_function(&format!("answer GET exact, {n} rules"), |b| {
            b.iter(|| {
                i = (i + 1) % exact.len();
                resolve::answer(
                    &index,
                    &Request {
                        method: &Method::GET,
                        host: None,
                        path: black_box(&exact[i]),
                        query: None,
                        headers: &headers,
                    },
                )
                .reply
                .into_response()
            })
        });
    }
}

criterion_group!(benches, lookup);
criterion_main!(benches);
