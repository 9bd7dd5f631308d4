//! The most frequent (host, path) pairs of a stream in a fixed number of slots: the
//! space-saving algorithm (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent
//! and Top-k Elements in Data Streams", 2005). A pair new to a full table takes the slot of
//! the least counted one, starting from its count: every pair asked for more than
//! total / slots times is kept, and its count less its error is a lower bound of the truth.
//! So a scanner's many paths, each asked once, cannot push a popular path out.

use std::collections::{BTreeSet, HashMap};

#[derive(Debug)]
struct Slot {
    host: Box<str>,
    path: Box<str>,
    count: u64,
    /// How much of `count` may belong to pairs it replaced.
    error: u64,
}

/// At most `capacity` counted pairs.
#[derive(Debug, Default)]
pub(super) struct TopK {
    slots: Vec<Slot>,
    /// Slot of each pair, by host, then path (so a lookup needs no owned key).
    by_key: HashMap<Box<str>, HashMap<Box<str>, usize>>,
    /// (count, slot), least counted first.
    order: BTreeSet<(u64, usize)>,
}

impl TopK {
    /// Pairs counted.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Add `n` to (host, path) within `capacity` slots; the guaranteed count of the pair it
    /// pushed out (0 if none).
    pub(super) fn add(&mut self, host: &str, path: &str, n: u64, capacity: usize) -> u64 {
        if let Some(&i) = self.by_key.get(host).and_then(|p| p.get(path)) {
            let s = &mut self.slots[i];
            self.order.remove(&(s.count, i));
            s.count += n;
            self.order.insert((s.count, i));
            return 0;
        }
        if self.slots.len() < capacity.max(1) {
            let i = self.slots.len();
            self.slots.push(Slot {
                host: host.into(),
                path: path.into(),
                count: n,
                error: 0,
            });
            self.index(host, path, i);
            self.order.insert((n, i));
            return 0;
        }
        let Some((least, i)) = self.order.pop_first() else {
            return n;
        };
        let old = &self.slots[i];
        let lost = old.count - old.error;
        if let Some(paths) = self.by_key.get_mut(&old.host) {
            paths.remove(&old.path);
            if paths.is_empty() {
                self.by_key.remove(&old.host);
            }
        }
        self.slots[i] = Slot {
            host: host.into(),
            path: path.into(),
            count: least + n,
            error: least,
        };
        self.index(host, path, i);
        self.order.insert((least + n, i));
        lost
    }

    fn index(&mut self, host: &str, path: &str, i: usize) {
        match self.by_key.get_mut(host) {
            Some(paths) => {
                paths.insert(path.into(), i);
            }
            None => {
                self.by_key
                    .insert(host.into(), HashMap::from([(path.into(), i)]));
            }
        }
    }

    /// Every pair with its guaranteed count (count less error), in key order; emptied.
    pub(super) fn drain(&mut self) -> Vec<(String, String, u64)> {
        let taken = std::mem::take(self);
        let mut out: Vec<(String, String, u64)> = taken
            .slots
            .into_iter()
            .map(|s| {
                (
                    s.host.into_string(),
                    s.path.into_string(),
                    s.count - s.error,
                )
            })
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::TopK;

    #[test]
    fn a_flood_of_distinct_paths_keeps_the_frequent_one_and_the_bound() {
        let mut t = TopK::default();
        for i in 0..100_000u64 {
            t.add("h", &format!("/scan/{i}"), 1, 100);
            if i % 50 == 0 {
                t.add("h", "/popular", 1, 100);
            }
        }
        assert_eq!(t.len(), 100);
        let out = t.drain();
        let popular = out.iter().find(|(_, p, _)| p == "/popular").expect("kept");
        // 2,000 requests; the guarantee is within total / slots (1,020) of that.
        assert!(
            popular.2 >= 2_000 - 1_020 && popular.2 <= 2_000,
            "{popular:?}"
        );
        let top = out.iter().max_by_key(|e| e.2).unwrap();
        assert_eq!(top.1, "/popular");
    }

    #[test]
    fn counts_below_capacity_are_exact() {
        let mut t = TopK::default();
        for _ in 0..3 {
            t.add("a", "/x", 1, 10);
        }
        t.add("b", "/x", 2, 10);
        assert_eq!(
            t.drain(),
            [("a".into(), "/x".into(), 3), ("b".into(), "/x".into(), 2)]
        );
    }
}
