//! Point and neighbour lookups (kernel: `mas_walk`, `mas_find`,
//! `mas_find_rev`, `mas_next`, `mas_prev`).

use crate::node::rank_le;
use crate::MapleTree;
use core::ops::Range;

impl<V> MapleTree<V> {
    /// The entry containing `addr`, with its range.
    #[inline]
    pub fn load(&self, addr: u64) -> Option<(Range<u64>, &V)> {
        let leaf = self.leaf(self.leaf_by_start(addr)?);
        let n = rank_le(&leaf.starts, leaf.len(), addr);
        let i = n.checked_sub(1)?;
        (addr < leaf.ends[i]).then(|| (leaf.starts[i]..leaf.ends[i], &leaf.vals[i]))
    }

    /// The value of the entry containing `addr`.
    pub fn get(&self, addr: u64) -> Option<&V> {
        self.load(addr).map(|(_, v)| v)
    }

    /// The lowest entry intersecting `[start, end)`. A lookup for its
    /// own sake: it starts from the finger when that answers, but does
    /// not move it (marks and stores keep their own place).
    #[inline]
    pub fn find(&self, start: u64, end: u64) -> Option<(Range<u64>, &V)> {
        if start >= end {
            return None;
        }
        // The leaf a descent by end finds holds the first entry ending
        // above `start`, unless it is the last leaf and no entry does.
        let leaf = self.leaf(self.leaf_by_end_unrecorded(start)?);
        let (s, e, v) = leaf.entry(rank_le(&leaf.ends, leaf.len(), start))?;
        (s < end).then_some((s..e, v))
    }

    /// The highest entry intersecting `[start, end)`.
    pub fn find_rev(&self, start: u64, end: u64) -> Option<(Range<u64>, &V)> {
        if start >= end {
            return None;
        }
        let pos = self.seek_start_at_most(end - 1)?;
        let (s, e, v) = self.entry_at(&pos)?;
        (e > start).then_some((s..e, v))
    }

    /// The first entry starting at or above `addr`.
    #[inline]
    pub fn next_entry(&self, addr: u64) -> Option<(Range<u64>, &V)> {
        let mut pos = self.seek_end_above(addr)?;
        let (s, _, _) = self.entry_at(&pos)?;
        if s < addr && !self.advance(&mut pos) {
            return None;
        }
        self.entry_at(&pos).map(|(s, e, v)| (s..e, v))
    }

    /// The last entry ending at or below `addr`.
    #[inline]
    pub fn prev_entry(&self, addr: u64) -> Option<(Range<u64>, &V)> {
        let leaf = self.leaf(self.leaf_by_end(addr)?);
        let idx = rank_le(&leaf.ends, leaf.len(), addr);
        if idx > 0 {
            return leaf.entry(idx - 1).map(|(s, e, v)| (s..e, v));
        }
        // The entry before lies in an earlier leaf: step there on the path.
        let mut pos = self.seek_end_above(addr)?;
        if !self.retreat(&mut pos) {
            return None;
        }
        self.entry_at(&pos).map(|(s, e, v)| (s..e, v))
    }
}
