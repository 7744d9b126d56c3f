//! A naive reference model of the range map, for differential tests.
#![allow(dead_code)]

use maple::MapleTree;
use std::collections::BTreeMap;
use std::ops::Range;

/// start -> (end, value), non-overlapping, non-empty.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub map: BTreeMap<u64, (u64, u32)>,
}

impl Model {
    pub fn erase(&mut self, s: u64, e: u64) {
        if s >= e {
            return;
        }
        let hit: Vec<(u64, u64, u32)> = self
            .map
            .range(..e)
            .rev()
            .take_while(|(_, &(end, _))| end > s)
            .map(|(&a, &(b, v))| (a, b, v))
            .collect();
        for (a, b, v) in hit {
            self.map.remove(&a);
            if a < s {
                self.map.insert(a, (s, v));
            }
            if b > e {
                self.map.insert(e, (b, v));
            }
        }
    }

    pub fn store(&mut self, s: u64, e: u64, v: u32) {
        if s >= e {
            return;
        }
        self.erase(s, e);
        self.map.insert(s, (e, v));
    }

    pub fn entries(&self) -> Vec<(Range<u64>, u32)> {
        self.map.iter().map(|(&a, &(b, v))| (a..b, v)).collect()
    }

    pub fn load(&self, addr: u64) -> Option<(Range<u64>, u32)> {
        let (&a, &(b, v)) = self.map.range(..=addr).next_back()?;
        (addr < b).then_some((a..b, v))
    }

    pub fn find(&self, s: u64, e: u64) -> Option<(Range<u64>, u32)> {
        self.entries()
            .into_iter()
            .find(|(r, _)| r.start < e && r.end > s && s < e)
    }

    pub fn find_rev(&self, s: u64, e: u64) -> Option<(Range<u64>, u32)> {
        self.entries()
            .into_iter()
            .rev()
            .find(|(r, _)| r.start < e && r.end > s && s < e)
    }

    pub fn next_entry(&self, addr: u64) -> Option<(Range<u64>, u32)> {
        self.map.range(addr..).next().map(|(&a, &(b, v))| (a..b, v))
    }

    pub fn prev_entry(&self, addr: u64) -> Option<(Range<u64>, u32)> {
        self.entries()
            .into_iter()
            .rev()
            .find(|(r, _)| r.end <= addr)
    }

    /// All maximal gaps, in order, including the leading and trailing ones.
    pub fn gaps(&self) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut at = 0;
        for (r, _) in self.entries() {
            if r.start > at {
                out.push(at..r.start);
            }
            at = r.end;
        }
        if at < u64::MAX {
            out.push(at..u64::MAX);
        }
        out
    }

    pub fn lowest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if size == 0 || min > max {
            return None;
        }
        self.gaps().into_iter().find_map(|g| {
            let lo = g.start.max(min);
            let hi = g.end.min(max);
            (hi > lo && hi - lo >= size).then_some(lo)
        })
    }

    pub fn highest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if size == 0 || min > max {
            return None;
        }
        self.gaps().into_iter().rev().find_map(|g| {
            let lo = g.start.max(min);
            let hi = g.end.min(max);
            (hi > lo && hi - lo >= size).then(|| hi - size)
        })
    }

    /// Every slot (entry or gap) tiling [0, u64::MAX), in order.
    pub fn slots(&self) -> Vec<(Range<u64>, Option<u32>)> {
        let mut out = Vec::new();
        let mut at = 0;
        for (r, v) in self.entries() {
            if r.start > at {
                out.push((at..r.start, None));
            }
            at = r.end;
            out.push((r, Some(v)));
        }
        if at < u64::MAX {
            out.push((at..u64::MAX, None));
        }
        out
    }
}

/// A tree of `n` entries of 1-3 keys with holes, and its model.
pub fn seeded(n: u64) -> (MapleTree<u32>, Model) {
    let (mut t, mut m) = (MapleTree::new(), Model::default());
    for i in 0..n {
        let s = i * 4;
        let e = s + 1 + i % 3;
        t.store(s..e, i as u32);
        m.store(s, e, i as u32);
    }
    (t, m)
}
