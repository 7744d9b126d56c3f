//! Range stores and erases (kernel: `mas_store`, `mas_erase` over a range):
//! whatever the range covers is removed, entries it covers partly are
//! trimmed, and an entry containing the whole range is split in two.

use crate::node::{rank_le, rank_lt, split_point, LEAF_CAP, LEAF_MIN, NIL, PAD};
use crate::path::Path;
use crate::{AllocError, MapleTree};
use core::ops::Range;

/// Up to two new entries to insert into one leaf, in address order.
type Items<V> = [Option<(u64, u64, V)>; 2];

impl<V> MapleTree<V> {
    /// Stores `value` over `[range.start, range.end)`, replacing whatever was
    /// there. An empty or inverted range is a no-op. Uses preallocated nodes
    /// if there are any, and otherwise allocates (aborting on failure, like `Vec`).
    pub fn store(&mut self, range: Range<u64>, value: V)
    where
        V: Clone,
    {
        if range.start < range.end {
            self.replace(range.start, range.end, Some(value));
        }
    }

    /// [`preallocate`](MapleTree::preallocate), then [`store`](MapleTree::store).
    pub fn try_store(&mut self, range: Range<u64>, value: V) -> Result<(), AllocError>
    where
        V: Clone,
    {
        if range.start < range.end {
            self.preallocate()?;
            self.replace(range.start, range.end, Some(value));
        }
        Ok(())
    }

    /// Removes everything in `[range.start, range.end)`, trimming entries that
    /// stick out of it (and splitting one that contains it).
    pub fn erase(&mut self, range: Range<u64>)
    where
        V: Clone,
    {
        if range.start < range.end {
            self.replace(range.start, range.end, None);
        }
    }

    /// [`preallocate`](MapleTree::preallocate), then [`erase`](MapleTree::erase).
    pub fn try_erase(&mut self, range: Range<u64>) -> Result<(), AllocError>
    where
        V: Clone,
    {
        if range.start < range.end {
            self.preallocate()?;
            self.replace(range.start, range.end, None);
        }
        Ok(())
    }

    /// Clears `[s, e)` (with `s < e`) and, if `value` is given, stores it there.
    ///
    /// Works one leaf at a time: find the leaf holding the first entry that
    /// ends above `s`, drop the entries of that leaf inside the range and trim
    /// the ones sticking out. If the range goes on into the next leaf, repeat;
    /// otherwise insert the new entry (and the split-off tail of an entry
    /// that contained the whole range) where the removed run was.
    fn replace(&mut self, s: u64, e: u64, mut value: Option<V>)
    where
        V: Clone,
    {
        if self.root == NIL {
            if value.is_none() {
                return;
            }
            self.root = self.alloc_leaf();
            self.height = 0;
        }
        loop {
            let Some(path) = self.descend_by_end(s) else {
                return;
            };
            let id = path.leaf() as usize;
            let leaf = &self.leaves[id];
            let len = leaf.len();
            let i = rank_le(&leaf.ends, len, s);
            // Entries before `i` end at or below `s`, so start below `e`.
            let j = rank_lt(&leaf.starts, len, e).max(i);
            let more = j == len && self.next_separator(&path).is_some_and(|sep| sep < e);

            let leaf = &mut self.leaves[id];
            let (mut lo, mut hi) = (i, j);
            let mut edited = false;
            let mut tail = None;
            if lo < hi && leaf.starts[lo] < s {
                // Entry `lo` starts before the range: keep its head.
                if leaf.ends[lo] > e {
                    // ...and it ends after the range: its tail is a new entry.
                    tail = Some((e, leaf.ends[lo], leaf.vals[lo].clone()));
                }
                leaf.ends[lo] = s;
                lo += 1;
                edited = true;
            }
            if lo < hi && leaf.ends[hi - 1] > e {
                // Entry `hi - 1` ends after the range: keep its tail.
                leaf.starts[hi - 1] = e;
                hi -= 1;
                edited = true;
            }
            let mut items: Items<V> = [None, None];
            if !more {
                items = [value.take().map(|v| (s, e, v)), tail.take()];
                if items[0].is_none() {
                    items.swap(0, 1);
                }
            }
            let progress = edited || lo < hi || items[0].is_some();
            if progress {
                self.splice(&path, lo, hi, items);
            }
            if !more || !progress {
                debug_assert!(!more, "range erase made no progress");
                return;
            }
        }
    }

    /// Replaces entries `lo..hi` of the path's leaf with `items`, splitting
    /// the leaf if they do not fit, then restores the invariants up the path.
    fn splice(&mut self, path: &Path, lo: usize, hi: usize, items: Items<V>) {
        let id = path.leaf() as usize;
        let len = self.leaves[id].len();
        let p = items.iter().filter(|x| x.is_some()).count();
        let t = len - (hi - lo) + p;
        self.len = self.len + p - (hi - lo);

        if t <= LEAF_CAP {
            self.write_in_place(id, len, lo, hi, items);
            self.fixup(path, true, None);
            return;
        }
        if let Some((moved, left)) = self.shift_to_sibling(path, len, lo, hi, t) {
            // A neighbour took `moved` entries from the untouched end, so
            // the change fits here after all; the neighbour's summary changed
            // too, hence the full walk up.
            let (lo, hi) = if left {
                (lo - moved, hi - moved)
            } else {
                (lo, hi)
            };
            self.write_in_place(id, len - moved, lo, hi, items);
            self.fixup(path, false, None);
            return;
        }

        let values = items.iter().flatten().map(|(a, b, _)| (*a, *b));
        // The leaf's keys after the splice, in order.
        let mut fs = [0u64; LEAF_CAP + 2];
        let mut fe = [0u64; LEAF_CAP + 2];
        {
            let leaf = &self.leaves[id];
            fs[..lo].copy_from_slice(&leaf.starts[..lo]);
            fe[..lo].copy_from_slice(&leaf.ends[..lo]);
            for (q, (a, b)) in values.enumerate() {
                fs[lo + q] = a;
                fe[lo + q] = b;
            }
            fs[lo + p..t].copy_from_slice(&leaf.starts[hi..len]);
            fe[lo + p..t].copy_from_slice(&leaf.ends[hi..len]);
        }
        let values = items.into_iter().flatten().map(|(_, _, v)| v);

        // Split: the left part stays in this leaf, the right part moves to a new one.
        let ls = split_point(t, lo == 0, hi == len, LEAF_MIN);
        let new = self.alloc_leaf();
        let (left, right) = self.leaves.pair_mut(id, new as usize);
        left.starts[..ls].copy_from_slice(&fs[..ls]);
        left.ends[..ls].copy_from_slice(&fe[..ls]);
        right.starts[..t - ls].copy_from_slice(&fs[ls..t]);
        right.ends[..t - ls].copy_from_slice(&fe[ls..t]);
        left.starts[ls..].fill(PAD);
        left.ends[ls..].fill(PAD);
        left.vals.remove_range(lo, hi);
        // Old values from `cut` on (indices after the removal) go right.
        let len0 = len - (hi - lo);
        let cut = if ls <= lo {
            ls
        } else if ls >= lo + p {
            ls - p
        } else {
            lo
        };
        debug_assert_eq!(left.vals.len(), len0);
        left.vals.move_tail_to(cut, &mut right.vals);
        for (q, v) in values.enumerate() {
            let f = lo + q;
            if f < ls {
                left.vals.insert(f, v);
            } else {
                right.vals.insert(f - ls, v);
            }
        }
        self.fixup(path, true, Some(new));
    }

    /// Replaces entries `lo..hi` of leaf `id` (holding `len`) with `items`
    /// in place; the result must fit.
    fn write_in_place(&mut self, id: usize, len: usize, lo: usize, hi: usize, items: Items<V>) {
        let p = items.iter().filter(|x| x.is_some()).count();
        let t = len - (hi - lo) + p;
        let leaf = &mut self.leaves[id];
        if p == hi - lo {
            // As many entries in as out: overwrite them, nothing shifts.
            for (q, (a, b, v)) in items.into_iter().flatten().enumerate() {
                leaf.starts[lo + q] = a;
                leaf.ends[lo + q] = b;
                leaf.vals.set(lo + q, v);
            }
            return;
        }
        leaf.starts.copy_within(hi..len, lo + p);
        leaf.ends.copy_within(hi..len, lo + p);
        for (q, (a, b, _)) in items.iter().flatten().enumerate() {
            leaf.starts[lo + q] = *a;
            leaf.ends[lo + q] = *b;
        }
        leaf.starts[t..len.max(t)].fill(PAD);
        leaf.ends[t..len.max(t)].fill(PAD);
        leaf.vals.remove_range(lo, hi);
        for (q, (_, _, v)) in items.into_iter().flatten().enumerate() {
            leaf.vals.insert(lo + q, v);
        }
    }

    /// Before splitting a leaf that would hold `t > LEAF_CAP` entries after
    /// replacing `lo..hi`, tries to hand entries to a neighbour with room
    /// (B*-tree style), which keeps leaves fuller under random updates. Only
    /// entries the change does not touch move: from the front to the left
    /// neighbour, or from the back to the right one, evening the two out.
    /// Returns how many moved and whether they went left.
    fn shift_to_sibling(
        &mut self,
        path: &Path,
        len: usize,
        lo: usize,
        hi: usize,
        t: usize,
    ) -> Option<(usize, bool)> {
        let h = path.height;
        if h == 0 {
            return None;
        }
        let parent = path.nodes[h - 1] as usize;
        let c = path.slots[h - 1] as usize;
        let id = path.leaf();
        let need = t - LEAF_CAP;
        let n = self.inners[parent].len();
        for left in [true, false] {
            let (sib, slot, movable) = if left {
                if c == 0 {
                    continue;
                }
                (self.inners[parent].kids[c - 1], c - 1, lo)
            } else {
                if c + 1 >= n {
                    continue;
                }
                (self.inners[parent].kids[c + 1], c + 1, len - hi)
            };
            let sl = self.leaves[sib as usize].len();
            let room = LEAF_CAP - sl;
            if room < LEAF_CAP / 4 {
                // Not worth it: the neighbour would be full again soon, and
                // the append-biased split already packs growing ends well.
                continue;
            }
            let k = ((t.saturating_sub(sl)) / 2).clamp(need, room.min(movable).max(need));
            if k > room || k > movable {
                continue;
            }
            if left {
                self.even_leaves(sib, id, sl + k);
            } else {
                self.even_leaves(id, sib, len - k);
            }
            let sum = self.leaves[sib as usize].summary();
            self.inners[parent].set_summary(slot, sum);
            return Some((k, left));
        }
        None
    }
}
