//! A set of addresses (or page offsets) kept as disjoint ranges, so that
//! marking a terabyte populated, guarded or reclaimed costs as much as
//! marking one page. Used for guard markers and page presence.

use alloc::collections::BTreeMap;
use core::ops::Bound::{Excluded, Included};

/// Disjoint, non-adjacent ranges `[start, end)`, keyed by start. Adjacent
/// ranges are coalesced so equal sets compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet {
    ranges: BTreeMap<u64, u64>,
}

impl RangeSet {
    /// Nothing in the set.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ranges in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }

    /// Is `x` in the set?
    pub fn contains(&self, x: u64) -> bool {
        self.ranges
            .range(..=x)
            .next_back()
            .is_some_and(|(_, &e)| x < e)
    }

    /// The first member of `[start, end)`, if any.
    pub fn first_in(&self, start: u64, end: u64) -> Option<u64> {
        if start >= end {
            return None;
        }
        if let Some((_, &e)) = self.ranges.range(..=start).next_back() {
            if start < e {
                return Some(start);
            }
        }
        self.ranges.range(start..end).next().map(|(&s, _)| s)
    }

    /// The first value of `[start, end)` that is not in the set, if any.
    pub fn first_gap(&self, start: u64, end: u64) -> Option<u64> {
        if start >= end {
            return None;
        }
        match self.ranges.range(..=start).next_back() {
            Some((_, &e)) if start < e => (e < end).then_some(e),
            _ => Some(start),
        }
    }

    /// Does the set meet `[start, end)`?
    pub fn intersects(&self, start: u64, end: u64) -> bool {
        self.first_in(start, end).is_some()
    }

    /// Adds `[start, end)`.
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        // The common cases take one search: the last range starting at or
        // before `end` is the only one to look at when it starts no later
        // than `start` (it then absorbs the new range if it reaches it),
        // or when it ends before `start` (nothing to absorb).
        match self.ranges.range_mut(..=end).next_back() {
            None => {
                self.ranges.insert(start, end);
                return;
            }
            Some((_, le)) if *le < start => {
                self.ranges.insert(start, end);
                return;
            }
            Some((&ls, le)) if ls <= start => {
                *le = (*le).max(end);
                return;
            }
            Some(_) => {}
        }
        let mut e = end;
        // Absorb every range starting inside our range or right at its end.
        while let Some((&ns, &ne)) = self.ranges.range((Excluded(start), Included(e))).next() {
            e = e.max(ne);
            self.ranges.remove(&ns);
        }
        // A range starting at or before us that reaches us grows in place
        // (ranges after it start beyond its end, so none was absorbed
        // above unless ours reaches past it).
        if let Some((_, pe)) = self.ranges.range_mut(..=start).next_back() {
            if *pe >= start {
                *pe = (*pe).max(e);
                return;
            }
        }
        self.ranges.insert(start, e);
    }

    /// Removes `[start, end)`.
    pub fn remove(&mut self, start: u64, end: u64) {
        // Most sets are empty (no pages touched, no guards): every unmap
        // clears them all, so skip the tree searches.
        if start >= end || self.ranges.is_empty() {
            return;
        }
        // The last range starting before `end` decides the common cases
        // in one search: if it ends by `start`, nothing overlaps; if it
        // starts at or before `start`, it is the only range that does.
        let Some((&ls, le)) = self.ranges.range_mut(..end).next_back() else {
            return;
        };
        let le_was = *le;
        if le_was <= start {
            return;
        }
        if ls <= start {
            if ls < start {
                *le = start;
            } else {
                self.ranges.remove(&ls);
            }
            if le_was > end {
                self.ranges.insert(end, le_was);
            }
            return;
        }
        // Several ranges meet `[start, end)`: one starting before it may be
        // cut short (it ends before `ls`, so not past `end`), those starting
        // inside go, and only the last of them, `ls`, may reach past `end`.
        debug_assert!(ls > start);
        if let Some((_, pe)) = self.ranges.range_mut(..start).next_back() {
            *pe = (*pe).min(start);
        }
        loop {
            // Keys gathered a batch at a time, so each costs one removal.
            let mut batch = [0u64; 16];
            let mut n = 0;
            for (&s, _) in self.ranges.range(start..end).take(batch.len()) {
                batch[n] = s;
                n += 1;
            }
            for s in &batch[..n] {
                self.ranges.remove(s);
            }
            if n < batch.len() {
                break;
            }
        }
        if le_was > end {
            self.ranges.insert(end, le_was);
        }
    }

    /// The members of `[start, end)`, as a new set.
    pub fn slice(&self, start: u64, end: u64) -> RangeSet {
        let mut out = RangeSet::default();
        if start >= end {
            return out;
        }
        let first = self
            .ranges
            .range(..=start)
            .next_back()
            .map_or(start, |(&s, _)| s);
        for (&s, &e) in self.ranges.range(first..end) {
            let (s, e) = (s.max(start), e.min(end));
            if s < e {
                out.ranges.insert(s, e);
            }
        }
        out
    }

    /// Adds every member of `other`.
    pub fn extend(&mut self, other: &RangeSet) {
        for (s, e) in other.iter() {
            self.insert(s, e);
        }
    }

    /// Moves the members of `[from, from + len)` to `[to, to + len)`;
    /// members already at the destination are replaced (page tables moved
    /// by mremap).
    pub fn move_range(&mut self, from: u64, to: u64, len: u64) {
        let moved = self.slice(from, from.saturating_add(len));
        self.remove(from, from.saturating_add(len));
        self.remove(to, to.saturating_add(len));
        for (s, e) in moved.iter() {
            self.insert(s - from + to, e - from + to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSet;
    use alloc::vec;
    use alloc::vec::Vec;

    fn ranges(g: &RangeSet) -> Vec<(u64, u64)> {
        g.iter().collect()
    }

    #[test]
    fn insert_coalesces_and_remove_splits() {
        let mut g = RangeSet::default();
        g.insert(10, 20);
        g.insert(30, 40);
        g.insert(20, 30);
        assert_eq!(ranges(&g), vec![(10, 40)]);
        g.remove(15, 25);
        assert_eq!(ranges(&g), vec![(10, 15), (25, 40)]);
        assert!(g.contains(14) && !g.contains(15) && g.contains(25));
        assert_eq!(g.first_in(15, 30), Some(25));
        assert_eq!(g.first_in(12, 30), Some(12));
        assert_eq!(g.first_in(15, 25), None);
        g.insert(5, 50);
        assert_eq!(ranges(&g), vec![(5, 50)]);
        g.remove(0, 100);
        assert!(g.is_empty());
    }

    #[test]
    fn insert_grows_the_range_before_over_those_after() {
        let mut g = RangeSet::default();
        g.insert(0, 10);
        g.insert(15, 30);
        g.insert(40, 50);
        g.insert(5, 20);
        assert_eq!(ranges(&g), vec![(0, 30), (40, 50)]);
        g.insert(2, 8);
        assert_eq!(ranges(&g), vec![(0, 30), (40, 50)]);
        g.insert(30, 35);
        assert_eq!(ranges(&g), vec![(0, 35), (40, 50)]);
        g.insert(36, 40);
        assert_eq!(ranges(&g), vec![(0, 35), (36, 50)]);
    }

    #[test]
    fn gaps_and_slices() {
        let mut g = RangeSet::default();
        g.insert(10, 20);
        g.insert(30, 40);
        assert_eq!(g.first_gap(0, 50), Some(0));
        assert_eq!(g.first_gap(10, 50), Some(20));
        assert_eq!(g.first_gap(12, 20), None);
        assert_eq!(g.first_gap(35, 40), None);
        assert_eq!(g.first_gap(5, 5), None);
        assert_eq!(ranges(&g.slice(15, 35)), vec![(15, 20), (30, 35)]);
        assert!(g.intersects(19, 21) && !g.intersects(20, 30));
    }

    #[test]
    fn move_carries_members() {
        let mut g = RangeSet::default();
        g.insert(10, 12);
        g.insert(100, 110);
        g.move_range(8, 100, 8);
        assert_eq!(ranges(&g), vec![(102, 104), (108, 110)]);
    }
}
