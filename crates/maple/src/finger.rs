//! The finger: the root-to-leaf path of the last descent, kept in the tree
//! so that the next lookup or store near the same place starts in that leaf
//! instead of at the root (the role the kernel's `ma_state` plays when an
//! operation keeps its position: a VMA operation finds a VMA, looks at its
//! neighbours, splits, merges and stores, all within a leaf or two).
//!
//! Invariants:
//! * The finger is usable only while `finger.shape == tree.shape`. The
//!   tree bumps `shape` whenever a node is allocated, freed or given a new
//!   parent, so a usable finger's path names live nodes, each the child at
//!   the recorded slot of the one above it, down to a leaf; in-place edits
//!   of a leaf and summary refreshes keep it usable (and a store that
//!   changes no node's place therefore leaves it valid).
//! * A usable finger answers `key` only when its leaf holds an entry
//!   starting at or below `key` and one ending above it. Entries of other
//!   leaves then all end at or below `key` (leaves to the left) or start
//!   above it (to the right), so both descents, by end and by start, would
//!   end in this leaf: the finger changes no answer. Debug builds check
//!   this against a full descent on every use.

use crate::node::NIL;
use crate::path::Path;
use crate::MapleTree;
use core::cell::Cell;

/// A remembered path, its leaf and the tree shape it was taken in. The leaf
/// and shape sit in their own cell so the check before each use reads
/// twelve bytes; the path is copied out only when the finger answers.
pub(crate) struct Finger {
    at: Cell<(u64, u32)>,
    path: Cell<Path>,
}

impl Finger {
    /// No path: never usable (a shape of `u64::MAX` is never reached).
    pub(crate) const fn new() -> Finger {
        Finger {
            at: Cell::new((u64::MAX, NIL)),
            path: Cell::new(Path {
                nodes: [NIL; crate::node::MAX_DEPTH],
                slots: [0; crate::node::MAX_DEPTH],
                height: 0,
            }),
        }
    }
}

impl Clone for Finger {
    fn clone(&self) -> Self {
        Finger {
            at: Cell::new(self.at.get()),
            path: Cell::new(self.path.get()),
        }
    }
}

impl<V> MapleTree<V> {
    /// Nodes moved: forget the finger's path.
    #[inline]
    pub(crate) fn reshaped(&mut self) {
        self.shape = self.shape.wrapping_add(1) % (u64::MAX - 1);
    }

    /// The finger's leaf, if the finger is usable and its leaf answers
    /// `key`: the check alone, without copying the path out.
    #[inline]
    pub(crate) fn finger_leaf_for(&self, key: u64) -> Option<u32> {
        let (shape, id) = self.finger.at.get();
        if shape != self.shape || self.root == NIL {
            return None;
        }
        let leaf = self.leaf(id);
        let n = leaf.len();
        if n == 0 || key < leaf.starts[0] || key >= leaf.ends[n - 1] {
            return None;
        }
        Some(id)
    }

    /// The finger's path, if it is usable and its leaf answers `key`.
    #[inline]
    pub(crate) fn finger_for(&self, key: u64) -> Option<Path> {
        let id = self.finger_leaf_for(key)?;
        let path = self.finger.path.get();
        debug_assert_eq!(
            path.height, self.height,
            "a usable finger has the tree's height"
        );
        debug_assert_eq!(path.leaf(), id, "the finger's leaf ends its path");
        Some(path)
    }

    /// Remembers where a descent ended.
    #[inline]
    pub(crate) fn remember(&self, path: Option<Path>) {
        if let Some(path) = path {
            self.finger.at.set((self.shape, path.leaf()));
            self.finger.path.set(path);
        }
    }
}
