//! Marks: positions kept outside the tree (kernel: a `ma_state` that a VMA
//! operation carries from its first lookup through its neighbour steps,
//! splits, merges and stores).
//!
//! A [`Mark`] stands for an address `key` and answers what `find(key, ..)`
//! would: the first entry ending above `key`. It remembers the leaf and
//! slot of that answer (not the path: copying a 136-byte path on every
//! step cost more than it saved), so an operation that keeps stepping
//! near one place walks from the root once and steps to a neighbour by
//! an index increment. Unlike the finger (one per tree, moved by every
//! descent), a mark belongs to its caller, so other lookups in between do
//! not displace it. A step out of the leaf, and a store, go through the
//! tree's finger, which the mark's lookups keep in the same place.
//!
//! A mark borrows nothing: the tree may change under it. Invariants:
//! * A mark's leaf may be used only while `mark.shape == tree.shape` (no
//!   node was allocated, freed or re-parented since it was found).
//! * Even then, in-place edits of the leaf may have shifted slots, so the
//!   slot is trusted only after checking the leaf still answers `key`
//!   there: entry `idx` ends above `key` and entry `idx - 1` (if any)
//!   ends at or below it, and the leaf's entries span `key` (the finger's
//!   argument: then no other leaf can hold the answer).
//! * Otherwise the mark looks its key up again (finger or root). So a mark
//!   never changes an answer, only its cost; debug builds check every fast
//!   answer against a fresh descent.

use crate::node::{rank_le, NIL};
use crate::MapleTree;
use core::ops::Range;

/// A position in a [`MapleTree`] held by the caller: the first entry ending
/// above an address (see the module notes). Create one with
/// [`MapleTree::mark`], and use it only with that tree (or a clone made
/// while it was current): on another tree its answers are unspecified.
#[derive(Clone, Copy)]
pub struct Mark {
    key: u64,
    /// Tree shape the leaf was found in; `u64::MAX` (never a shape) until
    /// the first lookup.
    shape: u64,
    leaf: u32,
    idx: u32,
}

impl Mark {
    /// The address the mark stands for.
    pub fn key(&self) -> u64 {
        self.key
    }
}

impl<V> MapleTree<V> {
    /// A mark at `addr`, standing for the first entry ending above it. It
    /// looks nothing up until first used.
    pub fn mark(&self, addr: u64) -> Mark {
        Mark {
            key: addr.min(u64::MAX - 1),
            shape: u64::MAX,
            leaf: NIL,
            idx: 0,
        }
    }

    /// Re-aims `m` at `addr` (a later address near the old one is cheap:
    /// the remembered leaf is tried first).
    #[inline]
    pub fn mark_seek(&self, m: &mut Mark, addr: u64) {
        m.key = addr.min(u64::MAX - 1);
    }

    /// The entry `m` stands for (the first ending above its key) if it
    /// starts below `end`: `find(key, end)`, without a walk from the root
    /// while the mark's leaf still answers.
    #[inline]
    pub fn mark_find(&self, m: &mut Mark, end: u64) -> Option<(Range<u64>, &V)> {
        self.mark_settle(m)?;
        let (s, e, v) = self.leaf(m.leaf).entry(m.idx as usize)?;
        (s < end).then_some((s..e, v))
    }

    /// Moves `m` to the entry after the one it stands for and returns it;
    /// `None` when there is none (the mark then stands past the last
    /// entry).
    #[inline]
    pub fn mark_next(&self, m: &mut Mark) -> Option<(Range<u64>, &V)> {
        self.mark_settle(m)?;
        let leaf = self.leaf(m.leaf);
        let (_, e, _) = leaf.entry(m.idx as usize)?;
        m.key = e;
        if let Some((s, e, v)) = leaf.entry(m.idx as usize + 1) {
            m.idx += 1;
            return Some((s..e, v));
        }
        self.mark_find(m, u64::MAX)
    }

    /// The entry before the one `m` stands for (the last ending at or below
    /// its key), leaving the mark where it is.
    #[inline]
    pub fn mark_prev(&self, m: &mut Mark) -> Option<(Range<u64>, &V)> {
        self.mark_settle(m)?;
        if m.idx > 0 {
            let (s, e, v) = self.leaf(m.leaf).entry(m.idx as usize - 1)?;
            return Some((s..e, v));
        }
        self.prev_entry(m.key)
    }

    /// Stores `value` over `range` (as [`MapleTree::store`]) and re-aims
    /// the mark at the stored entry. The store starts from the finger,
    /// which the mark's last lookup left in the same leaf.
    pub fn mark_store(&mut self, m: &mut Mark, range: Range<u64>, value: V)
    where
        V: Clone,
    {
        if range.start < range.end {
            m.key = range.start;
            self.store(range, value);
        }
    }

    /// Makes the mark's leaf and slot the answer for its key: kept when
    /// the leaf still answers there, re-ranked within the leaf when only
    /// slots moved, looked up again otherwise. `None` for an empty tree.
    #[inline]
    fn mark_settle(&self, m: &mut Mark) -> Option<()> {
        match self.mark_slot(m) {
            Some(idx) => m.idx = idx as u32,
            None => self.mark_lookup(m)?,
        }
        debug_assert!(
            self.mark_agrees(m),
            "a settled mark is where a descent by its key ends"
        );
        Some(())
    }

    /// The slow path of [`Self::mark_settle`]: a lookup by key.
    #[cold]
    fn mark_lookup(&self, m: &mut Mark) -> Option<()> {
        let id = self.leaf_by_end(m.key)?;
        let leaf = self.leaf(id);
        m.leaf = id;
        m.idx = rank_le(&leaf.ends, leaf.len(), m.key) as u32;
        m.shape = self.shape;
        Some(())
    }

    /// The slot of the mark's leaf answering its key, if the leaf is still
    /// in place and spans the key.
    #[inline]
    fn mark_slot(&self, m: &Mark) -> Option<usize> {
        if m.shape != self.shape || self.root == NIL {
            return None;
        }
        let leaf = self.leaf(m.leaf);
        let n = leaf.len();
        if n == 0 || m.key < leaf.starts[0] || m.key >= leaf.ends[n - 1] {
            return None;
        }
        let i = m.idx as usize;
        if i < n && leaf.ends[i] > m.key && (i == 0 || leaf.ends[i - 1] <= m.key) {
            return Some(i);
        }
        Some(rank_le(&leaf.ends, n, m.key))
    }

    /// Whether the mark's leaf and slot equal a fresh descent's (debug
    /// checks), or both are past the last entry.
    fn mark_agrees(&self, m: &Mark) -> bool {
        let Some(fresh) = self.seek_end_above(m.key) else {
            return false;
        };
        let past = |leaf: u32, idx: usize| self.leaf(leaf).entry(idx).is_none();
        (fresh.path.leaf() == m.leaf && fresh.idx == m.idx as usize)
            || (past(fresh.path.leaf(), fresh.idx) && past(m.leaf, m.idx as usize))
    }
}
