//! A cursor over slots, entries and the gaps between them (kernel: `ma_state`
//! walked with `mas_next`, `mas_prev`, `mas_next_range`, `mas_prev_range`).

use crate::node::Leaf;
use crate::path::Pos;
use crate::MapleTree;
use core::ops::Range;

/// A position on one slot of the key space: an entry, or a maximal empty
/// range between entries. The slots tile `[0, u64::MAX)`.
pub struct Cursor<'a, V> {
    tree: &'a MapleTree<V>,
    /// On an entry: that entry. In a gap: the entry right after the gap, or
    /// past the end. `None` only for an empty tree.
    pos: Option<Pos>,
    /// The leaf `pos` is in, cached so steps within a leaf stay cheap.
    leaf: Option<&'a Leaf<V>>,
    range: Range<u64>,
    value: Option<&'a V>,
}

impl<V> MapleTree<V> {
    /// A cursor on the slot containing `addr` (`u64::MAX`, outside the key
    /// space, is treated as `u64::MAX - 1`).
    pub fn cursor(&self, addr: u64) -> Cursor<'_, V> {
        let addr = addr.min(u64::MAX - 1);
        let mut c = Cursor {
            tree: self,
            pos: None,
            leaf: None,
            range: 0..u64::MAX,
            value: None,
        };
        let Some(pos) = self.seek_end_above(addr) else {
            return c;
        };
        c.pos = Some(pos);
        c.leaf = Some(self.leaf(pos.path.leaf()));
        match self.entry_at(&pos) {
            Some((s, e, v)) if s <= addr => {
                c.range = s..e;
                c.value = Some(v);
            }
            next => {
                let end = next.map_or(u64::MAX, |(s, _, _)| s);
                let mut before = pos;
                let start = if self.retreat(&mut before) {
                    self.entry_at(&before).map_or(0, |(_, e, _)| e)
                } else {
                    0
                };
                c.range = start..end;
            }
        }
        c
    }
}

impl<'a, V> Cursor<'a, V> {
    /// The current slot: an entry's range, or the maximal empty range around
    /// the position.
    pub fn range(&self) -> Range<u64> {
        self.range.clone()
    }

    /// The current entry's value; `None` in a gap.
    pub fn value(&self) -> Option<&'a V> {
        self.value
    }

    /// Moves to `pos`, refreshing the cached leaf.
    #[inline]
    fn set_pos(&mut self, pos: Pos) {
        self.leaf = Some(self.tree.leaf(pos.path.leaf()));
        self.pos = Some(pos);
    }

    /// Moves onto `(s, e, v)` at `pos`.
    fn land(&mut self, pos: Pos, s: u64, e: u64, v: &'a V) -> (Range<u64>, &'a V) {
        self.set_pos(pos);
        self.range = s..e;
        self.value = Some(v);
        (s..e, v)
    }

    /// Moves to the next entry after the current slot and returns it; at the
    /// last entry, returns `None` and stays put.
    #[inline]
    pub fn next_entry(&mut self) -> Option<(Range<u64>, &'a V)> {
        if self.value.is_some() {
            // Fast path: the next entry is in the same leaf.
            if let (Some(pos), Some(leaf)) = (self.pos.as_mut(), self.leaf) {
                if let Some((s, e, v)) = leaf.entry(pos.idx + 1) {
                    pos.idx += 1;
                    self.range = s..e;
                    self.value = Some(v);
                    return Some((s..e, v));
                }
            }
        }
        let mut pos = self.pos?;
        if self.value.is_some() && !self.tree.advance(&mut pos) {
            return None;
        }
        let (s, e, v) = self.tree.entry_at(&pos)?;
        Some(self.land(pos, s, e, v))
    }

    /// Moves to the previous entry before the current slot and returns it; at
    /// the first entry, returns `None` and stays put.
    pub fn prev_entry(&mut self) -> Option<(Range<u64>, &'a V)> {
        let mut pos = self.pos?;
        if !self.tree.retreat(&mut pos) {
            return None;
        }
        let (s, e, v) = self.tree.entry_at(&pos)?;
        Some(self.land(pos, s, e, v))
    }

    /// Moves to the slot right after the current one (entry or gap) and
    /// returns it; `None` (staying put) when the current slot ends at `u64::MAX`.
    pub fn next_range(&mut self) -> Option<(Range<u64>, Option<&'a V>)> {
        let end = self.range.end;
        if end == u64::MAX {
            return None;
        }
        let mut pos = self.pos?;
        if self.value.is_some() {
            self.tree.advance(&mut pos);
        }
        match self.tree.entry_at(&pos) {
            Some((s, e, v)) if s == end => {
                let (r, v) = self.land(pos, s, e, v);
                Some((r, Some(v)))
            }
            next => {
                self.set_pos(pos);
                self.range = end..next.map_or(u64::MAX, |(s, _, _)| s);
                self.value = None;
                Some((self.range.clone(), None))
            }
        }
    }

    /// Moves to the slot right before the current one (entry or gap) and
    /// returns it; `None` (staying put) when the current slot starts at 0.
    pub fn prev_range(&mut self) -> Option<(Range<u64>, Option<&'a V>)> {
        let start = self.range.start;
        if start == 0 {
            return None;
        }
        let pos = self.pos?;
        let mut before = pos;
        let prev = if self.tree.retreat(&mut before) {
            self.tree.entry_at(&before)
        } else {
            None
        };
        match prev {
            Some((s, e, v)) if e == start => {
                let (r, v) = self.land(before, s, e, v);
                Some((r, Some(v)))
            }
            prev => {
                // From an entry, step into the gap before it; `pos` stays on
                // the entry, which is the one after the gap.
                self.range = prev.map_or(0, |(_, e, _)| e)..start;
                self.value = None;
                Some((self.range.clone(), None))
            }
        }
    }
}

impl<V> Clone for Cursor<'_, V> {
    fn clone(&self) -> Self {
        Cursor {
            tree: self.tree,
            pos: self.pos,
            leaf: self.leaf,
            range: self.range.clone(),
            value: self.value,
        }
    }
}
