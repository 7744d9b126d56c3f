//! Root-to-leaf paths and positions: how every lookup descends and how
//! iterators and cursors step from leaf to leaf without parent pointers.

use crate::node::{rank_le, Inner, Leaf, MAX_DEPTH, NIL};
use crate::MapleTree;

/// The nodes from the root (`nodes[0]`) down to a leaf (`nodes[height]`),
/// with the child slot taken at each inner level (`slots[l]` for `l < height`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Path {
    pub(crate) nodes: [u32; MAX_DEPTH],
    pub(crate) slots: [u8; MAX_DEPTH],
    pub(crate) height: usize,
}

impl Path {
    /// The leaf the path ends in.
    #[inline]
    pub(crate) fn leaf(&self) -> u32 {
        self.nodes[self.height]
    }
}

/// A place in the entry sequence: entry `idx` of the path's leaf. `idx` may
/// equal the leaf's length only in the last leaf, meaning "past the end".
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) path: Path,
    pub(crate) idx: usize,
}

impl Pos {
    /// Whether both name the same entry slot (same leaf, same index).
    #[inline]
    pub(crate) fn same(&self, other: &Pos) -> bool {
        self.idx == other.idx && self.path.leaf() == other.path.leaf()
    }
}

/// The child of `n` to descend into for the first entry ending above
/// `key`: the first child whose last end is above it (the last child when
/// none is).
#[inline]
fn child_by_end(n: &Inner, key: u64) -> usize {
    rank_le(&n.ends, n.len() - 1, key)
}

/// The child of `n` to descend into for the last entry starting at or
/// below `key`: the last child whose first start is at most `key` (the
/// first child when none is).
#[inline]
fn child_by_start(n: &Inner, key: u64) -> usize {
    rank_le(&n.starts, n.len(), key).saturating_sub(1)
}

/// An entry as the query methods see it: start, end, value.
pub(crate) type EntryRef<'a, V> = (u64, u64, &'a V);

impl<V> MapleTree<V> {
    /// Descends from the root, taking at each inner node the child `pick` names.
    #[inline]
    fn descend(&self, pick: impl Fn(&Inner) -> usize) -> Option<Path> {
        if self.root == NIL {
            return None;
        }
        let mut p = Path {
            nodes: [NIL; MAX_DEPTH],
            slots: [0; MAX_DEPTH],
            height: self.height,
        };
        let mut node = self.root;
        for l in 0..self.height {
            p.nodes[l] = node;
            let inner = &self.inners[node as usize];
            let c = pick(inner);
            p.slots[l] = c as u8;
            node = inner.kids[c];
        }
        p.nodes[self.height] = node;
        Some(p)
    }

    /// The leaf a descent taking the child `pick` names ends in, found
    /// without recording the path: for lookups that store nothing after.
    #[inline]
    fn descend_leaf(&self, pick: impl Fn(&Inner) -> usize) -> Option<u32> {
        if self.root == NIL {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = &self.inners[node as usize];
            node = inner.kids[pick(inner)];
        }
        Some(node)
    }

    /// The leaf `descend_by_end(key)` ends in, for a lookup no store
    /// follows: from the finger when it answers, else by a descent that
    /// neither records its path nor moves the finger (writing a path out
    /// costs a lookup in a large tree more than it would save a store).
    #[inline]
    pub(crate) fn leaf_by_end_unrecorded(&self, key: u64) -> Option<u32> {
        if let Some(id) = self.finger_leaf_for(key) {
            debug_assert!(
                self.descend_leaf(|n| child_by_end(n, key)) == Some(id),
                "the finger's leaf is the one a descent by end finds"
            );
            return Some(id);
        }
        self.descend_leaf(|n| child_by_end(n, key))
    }

    /// Path to the leaf holding the first entry whose end is above `key`
    /// (that is, the entry containing `key` or the first one after it), or
    /// to the last leaf when there is none.
    #[inline]
    pub(crate) fn descend_by_end(&self, key: u64) -> Option<Path> {
        if let Some(p) = self.finger_for(key) {
            debug_assert!(
                self.descend(|n| child_by_end(n, key)) == Some(p),
                "the finger's leaf is the one a descent by end finds"
            );
            return Some(p);
        }
        let p = self.descend(|n| child_by_end(n, key));
        self.remember(p);
        p
    }

    /// Path to the leaf holding the last entry whose start is at most `key`,
    /// or to the first leaf when there is none.
    #[inline]
    pub(crate) fn descend_by_start(&self, key: u64) -> Option<Path> {
        if let Some(p) = self.finger_for(key) {
            debug_assert!(
                self.descend(|n| child_by_start(n, key)) == Some(p),
                "the finger's leaf is the one a descent by start finds"
            );
            return Some(p);
        }
        let p = self.descend(|n| child_by_start(n, key));
        self.remember(p);
        p
    }

    /// The leaf `descend_by_end(key)` ends in, without copying a path out
    /// when the finger answers (point lookups need no path).
    #[inline]
    pub(crate) fn leaf_by_end(&self, key: u64) -> Option<u32> {
        if let Some(id) = self.finger_leaf_for(key) {
            debug_assert!(
                self.descend(|n| child_by_end(n, key)).map(|p| p.leaf()) == Some(id),
                "the finger's leaf is the one a descent by end finds"
            );
            return Some(id);
        }
        let p = self.descend(|n| child_by_end(n, key));
        self.remember(p);
        p.map(|p| p.leaf())
    }

    /// The leaf `descend_by_start(key)` ends in (see [`Self::leaf_by_end`]).
    #[inline]
    pub(crate) fn leaf_by_start(&self, key: u64) -> Option<u32> {
        if let Some(id) = self.finger_leaf_for(key) {
            debug_assert!(
                self.descend(|n| child_by_start(n, key)).map(|p| p.leaf()) == Some(id),
                "the finger's leaf is the one a descent by start finds"
            );
            return Some(id);
        }
        let p = self.descend(|n| child_by_start(n, key));
        self.remember(p);
        p.map(|p| p.leaf())
    }

    /// Position of the first entry whose end is above `key`, or past the end.
    #[inline]
    pub(crate) fn seek_end_above(&self, key: u64) -> Option<Pos> {
        let path = self.descend_by_end(key)?;
        let leaf = &self.leaves[path.leaf() as usize];
        let idx = rank_le(&leaf.ends, leaf.len(), key);
        Some(Pos { path, idx })
    }

    /// Position of the last entry whose start is at most `key`, if any.
    #[inline]
    pub(crate) fn seek_start_at_most(&self, key: u64) -> Option<Pos> {
        let path = self.descend_by_start(key)?;
        let leaf = &self.leaves[path.leaf() as usize];
        let n = rank_le(&leaf.starts, leaf.len(), key);
        if n == 0 {
            return None;
        }
        Some(Pos { path, idx: n - 1 })
    }

    /// Moves `p` to the first leaf after its current one; false (and `p`
    /// unchanged) when it is already in the last leaf.
    pub(crate) fn next_leaf(&self, p: &mut Path) -> bool {
        let mut l = p.height;
        loop {
            if l == 0 {
                return false;
            }
            l -= 1;
            let inner = &self.inners[p.nodes[l] as usize];
            if (p.slots[l] as usize) + 1 < inner.len() {
                p.slots[l] += 1;
                break;
            }
        }
        let mut node = self.inners[p.nodes[l] as usize].kids[p.slots[l] as usize];
        for m in l + 1..p.height {
            p.nodes[m] = node;
            p.slots[m] = 0;
            node = self.inners[node as usize].kids[0];
        }
        p.nodes[p.height] = node;
        true
    }

    /// Moves `p` to the last leaf before its current one; false (and `p`
    /// unchanged) when it is already in the first leaf.
    pub(crate) fn prev_leaf(&self, p: &mut Path) -> bool {
        let mut l = p.height;
        loop {
            if l == 0 {
                return false;
            }
            l -= 1;
            if p.slots[l] > 0 {
                p.slots[l] -= 1;
                break;
            }
        }
        let mut node = self.inners[p.nodes[l] as usize].kids[p.slots[l] as usize];
        for m in l + 1..p.height {
            p.nodes[m] = node;
            let inner = &self.inners[node as usize];
            let last = inner.len() - 1;
            p.slots[m] = last as u8;
            node = inner.kids[last];
        }
        p.nodes[p.height] = node;
        true
    }

    /// Start of the first entry in the leaf after the path's leaf (the
    /// separator above it), or `None` for the last leaf.
    pub(crate) fn next_separator(&self, p: &Path) -> Option<u64> {
        (0..p.height).rev().find_map(|l| {
            let inner = &self.inners[p.nodes[l] as usize];
            let s = p.slots[l] as usize + 1;
            (s < inner.len()).then(|| inner.starts[s])
        })
    }

    /// Leaf `id`.
    #[inline]
    pub(crate) fn leaf(&self, id: u32) -> &Leaf<V> {
        &self.leaves[id as usize]
    }

    /// The entry at `p`, or `None` past the end.
    #[inline]
    pub(crate) fn entry_at(&self, p: &Pos) -> Option<EntryRef<'_, V>> {
        self.leaf(p.path.leaf()).entry(p.idx)
    }

    /// Steps `p` to the next entry; at the end it stays past the end and
    /// returns false.
    #[inline]
    pub(crate) fn advance(&self, p: &mut Pos) -> bool {
        let len = self.leaves[p.path.leaf() as usize].len();
        if p.idx + 1 < len {
            p.idx += 1;
            return true;
        }
        if self.next_leaf(&mut p.path) {
            p.idx = 0;
            return true;
        }
        p.idx = len;
        false
    }

    /// Steps `p` to the previous entry; false (and `p` unchanged) at the first.
    #[inline]
    pub(crate) fn retreat(&self, p: &mut Pos) -> bool {
        if p.idx > 0 {
            p.idx -= 1;
            return true;
        }
        let mut path = p.path;
        if self.prev_leaf(&mut path) {
            p.path = path;
            p.idx = self.leaves[path.leaf() as usize].len() - 1;
            return true;
        }
        false
    }
}
