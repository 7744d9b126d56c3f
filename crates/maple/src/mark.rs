//! Marks: positions kept outside the tree (kernel: a `ma_state` that a VMA
//! operation carries from its first lookup through its neighbour steps,
//! splits, merges and stores).
//!
//! A [`Mark`] stands for an address `key` and answers what `find(key, ..)`
//! would: the first entry ending above `key`. It remembers the path and
//! slot of that answer, so an operation that keeps stepping and storing
//! near one place walks from the root once. Unlike the finger (one per
//! tree, moved by every descent), a mark belongs to its caller, so other
//! lookups in between do not displace it; and it remembers the slot, so
//! stepping to a neighbour is an index increment.
//!
//! A mark borrows nothing: the tree may change under it. Invariants:
//! * A mark's path may be used only while `mark.shape == tree.shape` (no
//!   node was allocated, freed or re-parented since it was taken).
//! * Even then, in-place edits of the leaf may have shifted slots, so the
//!   slot is trusted only after checking the leaf still answers `key`
//!   there: entry `idx` ends above `key` and entry `idx - 1` (if any)
//!   ends at or below it, and the leaf's entries span `key` (the finger's
//!   argument: then no other leaf can hold the answer).
//! * Otherwise the mark re-descends from the root by `key`. So a mark
//!   never changes an answer, only its cost; debug builds check every fast
//!   answer against a fresh descent.

use crate::node::{rank_le, NIL};
use crate::path::Pos;
use crate::MapleTree;
use core::ops::Range;

/// A position in a [`MapleTree`] held by the caller: the first entry ending
/// above an address (see the module notes). Create one with
/// [`MapleTree::mark`], and use it only with that tree (or a clone made
/// while it was current): on another tree its answers are unspecified.
#[derive(Clone, Copy)]
pub struct Mark {
    key: u64,
    shape: u64,
    pos: Option<Pos>,
}

impl Mark {
    /// The address the mark stands for.
    pub fn key(&self) -> u64 {
        self.key
    }
}

impl<V> MapleTree<V> {
    /// A mark at `addr`: on the first entry ending above `addr`.
    pub fn mark(&self, addr: u64) -> Mark {
        let addr = addr.min(u64::MAX - 1);
        Mark {
            key: addr,
            shape: self.shape,
            pos: self.seek_end_above(addr),
        }
    }

    /// Re-aims `m` at `addr` (a later address near the old one is cheap:
    /// the remembered leaf is tried first).
    pub fn mark_seek(&self, m: &mut Mark, addr: u64) {
        m.key = addr.min(u64::MAX - 1);
        self.mark_settle(m);
    }

    /// The entry `m` stands for (the first ending above its key) if it
    /// starts below `end`: `find(key, end)`, without a walk from the root
    /// while the mark's leaf still answers.
    #[inline]
    pub fn mark_find(&self, m: &mut Mark, end: u64) -> Option<(Range<u64>, &V)> {
        self.mark_settle(m);
        let (s, e, v) = self.entry_at(m.pos.as_ref()?)?;
        (s < end).then_some((s..e, v))
    }

    /// Moves `m` to the entry after the one it is on and returns it; `None`
    /// (the mark then stands past the last entry) when there is none.
    #[inline]
    pub fn mark_next(&self, m: &mut Mark) -> Option<(Range<u64>, &V)> {
        self.mark_settle(m);
        let pos = m.pos.as_mut()?;
        let (_, e, _) = self.entry_at(pos)?;
        m.key = e;
        if !self.advance(pos) {
            return None;
        }
        let (s, e, v) = self.entry_at(pos)?;
        debug_assert!(s >= m.key, "entries are ordered");
        Some((s..e, v))
    }

    /// The entry before the one `m` stands for (the last ending at or below
    /// its key), leaving the mark where it is.
    #[inline]
    pub fn mark_prev(&self, m: &mut Mark) -> Option<(Range<u64>, &V)> {
        self.mark_settle(m);
        let mut pos = m.pos?;
        if !self.retreat(&mut pos) {
            return None;
        }
        self.entry_at(&pos).map(|(s, e, v)| (s..e, v))
    }

    /// Stores `value` over `range` (as [`MapleTree::store`]) starting from
    /// the mark's leaf when it holds `range.start`, and leaves the mark on
    /// the stored entry.
    pub fn mark_store(&mut self, m: &mut Mark, range: Range<u64>, value: V)
    where
        V: Clone,
    {
        if range.start >= range.end {
            return;
        }
        m.key = range.start;
        self.mark_settle(m);
        let hint = m.pos.map(|p| p.path);
        self.replace_from(hint, range.start, range.end, Some(value));
        self.mark_settle(m);
    }

    /// Makes `m`'s remembered position the answer for its key: kept when
    /// the leaf still answers there, re-ranked within the leaf when only
    /// slots moved, re-descended otherwise.
    #[inline]
    fn mark_settle(&self, m: &mut Mark) {
        if let Some(idx) = self.mark_slot(m) {
            if let Some(pos) = m.pos.as_mut() {
                pos.idx = idx;
            }
        } else {
            m.pos = self.seek_end_above(m.key);
            m.shape = self.shape;
        }
        debug_assert!(
            self.mark_agrees(m),
            "a settled mark is where a descent by its key ends"
        );
    }

    /// The slot of the mark's leaf answering its key, if its path is still
    /// usable and the leaf spans the key.
    #[inline]
    fn mark_slot(&self, m: &Mark) -> Option<usize> {
        if m.shape != self.shape || self.root == NIL {
            return None;
        }
        let pos = m.pos.as_ref()?;
        let leaf = self.leaf(pos.path.leaf());
        let n = leaf.len();
        if n == 0 || m.key < leaf.starts[0] || m.key >= leaf.ends[n - 1] {
            return None;
        }
        let i = pos.idx;
        if i < n && leaf.ends[i] > m.key && (i == 0 || leaf.ends[i - 1] <= m.key) {
            return Some(i);
        }
        Some(rank_le(&leaf.ends, n, m.key))
    }

    /// Whether the mark's position equals a fresh descent's (debug checks).
    fn mark_agrees(&self, m: &Mark) -> bool {
        let fresh = self.seek_end_above(m.key);
        match (fresh, m.pos) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.same(&b) || (self.entry_at(&a).is_none() && self.entry_at(&b).is_none())
            }
            _ => false,
        }
    }
}
