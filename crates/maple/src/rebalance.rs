//! Restoring the tree's shape after a leaf changed: refreshing cached
//! summaries up the path, inserting split-off siblings (splitting full
//! parents), and merging or evening out underfull nodes
//! (kernel: `mas_split`, `mas_rebalance`, `mas_update_gap`).

use crate::node::{split_point, Inner, Summary, INNER_CAP, INNER_MIN, LEAF_CAP, PAD};
use crate::path::Path;
use crate::MapleTree;

impl<V> MapleTree<V> {
    /// Walks `path` from its leaf up to the root after the leaf changed.
    /// `early_exit` is false when nodes off the path changed too (the walk
    /// then goes all the way up); `pending` is a new right sibling of the
    /// leaf (from a split) still to be linked into the parent. At each
    /// level the parent's cached summary of the child is refreshed; a
    /// pending sibling is inserted next to it; an underfull child is merged
    /// with or evened out against a sibling. With `early_exit`, the walk
    /// stops as soon as a child's shape and summary are unchanged, without
    /// touching its parent (kernel: the early exit of `mas_update_gap`):
    /// the parent's cached summary is the child's summary before the
    /// change, so no summary needs computing ahead of a store.
    pub(crate) fn fixup(&mut self, path: &Path, early_exit: bool, mut pending: Option<u32>) {
        let h = path.height;
        for l in (0..h).rev() {
            let parent = path.nodes[l] as usize;
            let c = path.slots[l] as usize;
            let child = path.nodes[l + 1];
            let child_leaf = l + 1 == h;
            let sum = self.node_summary(child, child_leaf);
            let underfull = self.node_len(child, child_leaf) < Self::node_min(child_leaf);
            if early_exit
                && pending.is_none()
                && !underfull
                && self.inners[parent].child_summary(c) == sum
            {
                // Nothing above this level can change.
                return;
            }
            self.inners[parent].set_summary(c, sum);
            if let Some(new) = pending.take() {
                let nsum = self.node_summary(new, child_leaf);
                pending = self.inner_insert(parent, c + 1, new, nsum);
            } else if underfull {
                self.rebalance(parent, c, child_leaf);
            }
        }
        if let Some(new) = pending {
            // The root split: grow a level.
            let old = self.root;
            let a = self.node_summary(old, h == 0);
            let b = self.node_summary(new, h == 0);
            let root = self.alloc_inner();
            let inner = &mut self.inners[root as usize];
            inner.push(old, a);
            inner.push(new, b);
            self.root = root;
            self.height += 1;
        }
        while self.height > 0 && self.inners[self.root as usize].len() == 1 {
            // A root with one child is redundant: shrink a level.
            let old = self.root;
            self.root = self.inners[old as usize].kids[0];
            self.free_inner_node(old);
            self.height -= 1;
        }
    }

    /// Inserts child `kid` at slot `pos` of inner node `parent`, splitting the
    /// node when full; returns the new right half to link one level up.
    fn inner_insert(&mut self, parent: usize, pos: usize, kid: u32, sum: Summary) -> Option<u32> {
        let n = self.inners[parent].len();
        if n < INNER_CAP {
            self.inners[parent].insert(pos, kid, sum);
            return None;
        }
        let t = n + 1;
        let mut kids = [0u32; INNER_CAP + 1];
        let mut sums = [Summary::default(); INNER_CAP + 1];
        {
            let node = &self.inners[parent];
            for k in 0..n {
                let d = k + (k >= pos) as usize;
                kids[d] = node.kids[k];
                sums[d] = node.child_summary(k);
            }
            kids[pos] = kid;
            sums[pos] = sum;
        }
        let ls = split_point(t, pos <= 1, pos == n, INNER_MIN);
        let new = self.alloc_inner();
        let (left, right) = self.inners.pair_mut(parent, new as usize);
        *left = Inner::new();
        for k in 0..ls {
            left.push(kids[k], sums[k]);
        }
        *right = Inner::new();
        for k in ls..t {
            right.push(kids[k], sums[k]);
        }
        Some(new)
    }

    /// Child `c` of `parent` is underfull: merge it with a neighbour if the
    /// two fit comfortably in one node, else share their items evenly.
    fn rebalance(&mut self, parent: usize, c: usize, leaf: bool) {
        let n = self.inners[parent].len();
        if n < 2 {
            return;
        }
        let (l, r) = if c > 0 { (c - 1, c) } else { (0, 1) };
        let lid = self.inners[parent].kids[l];
        let rid = self.inners[parent].kids[r];
        let total = self.node_len(lid, leaf) + self.node_len(rid, leaf);
        let cap = if leaf { LEAF_CAP } else { INNER_CAP };
        if total <= cap * 3 / 4 {
            if leaf {
                self.merge_leaves(lid, rid);
                self.free_leaf_node(rid);
            } else {
                self.merge_inners(lid, rid);
                self.free_inner_node(rid);
            }
            let sum = self.node_summary(lid, leaf);
            let p = &mut self.inners[parent];
            p.remove(r);
            p.set_summary(l, sum);
        } else {
            if leaf {
                self.even_leaves(lid, rid, total / 2);
            } else {
                self.even_inners(lid, rid, total / 2);
            }
            let a = self.node_summary(lid, leaf);
            let b = self.node_summary(rid, leaf);
            let p = &mut self.inners[parent];
            p.set_summary(l, a);
            p.set_summary(r, b);
        }
        // The child's summary was cached while it was underfull, possibly
        // empty: recount rather than trust the incremental update.
        self.inners[parent].recount();
    }

    /// Appends all entries of leaf `rid` to leaf `lid`.
    fn merge_leaves(&mut self, lid: u32, rid: u32) {
        let (a, b) = self.leaves.pair_mut(lid as usize, rid as usize);
        let (la, lb) = (a.len(), b.len());
        a.starts[la..la + lb].copy_from_slice(&b.starts[..lb]);
        a.ends[la..la + lb].copy_from_slice(&b.ends[..lb]);
        a.vals.take_head_from(&mut b.vals, lb);
    }

    /// Appends all children of inner node `rid` to inner node `lid`.
    fn merge_inners(&mut self, lid: u32, rid: u32) {
        let (a, b) = self.inners.pair_mut(lid as usize, rid as usize);
        let lb = b.len();
        for k in 0..lb {
            a.push(b.kids[k], b.child_summary(k));
        }
        b.len = 0;
    }

    /// Moves entries between neighbouring leaves so the left one has `target`.
    pub(crate) fn even_leaves(&mut self, lid: u32, rid: u32, target: usize) {
        let (a, b) = self.leaves.pair_mut(lid as usize, rid as usize);
        let (la, lb) = (a.len(), b.len());
        if la < target {
            let k = target - la;
            a.starts[la..target].copy_from_slice(&b.starts[..k]);
            a.ends[la..target].copy_from_slice(&b.ends[..k]);
            b.starts.copy_within(k..lb, 0);
            b.ends.copy_within(k..lb, 0);
            b.starts[lb - k..lb].fill(PAD);
            b.ends[lb - k..lb].fill(PAD);
            a.vals.take_head_from(&mut b.vals, k);
        } else if la > target {
            let k = la - target;
            b.starts.copy_within(0..lb, k);
            b.ends.copy_within(0..lb, k);
            b.starts[..k].copy_from_slice(&a.starts[target..la]);
            b.ends[..k].copy_from_slice(&a.ends[target..la]);
            a.starts[target..la].fill(PAD);
            a.ends[target..la].fill(PAD);
            a.vals.move_tail_before(target, &mut b.vals);
        }
    }

    /// Moves children between neighbouring inner nodes so the left one has `target`.
    fn even_inners(&mut self, lid: u32, rid: u32, target: usize) {
        // Children change parents: remembered paths through them go stale.
        self.reshaped();
        let (a, b) = self.inners.pair_mut(lid as usize, rid as usize);
        while a.len() < target {
            a.insert(a.len(), b.kids[0], b.child_summary(0));
            b.remove(0);
        }
        while a.len() > target {
            let k = a.len() - 1;
            b.insert(0, a.kids[k], a.child_summary(k));
            a.remove(k);
        }
    }
}
