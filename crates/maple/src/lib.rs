//! `maple`: a B-tree of non-overlapping half-open `u64` ranges mapping to values,
//! with O(log n) search for free gaps.
//!
//! It plays the role of the Linux maple tree in the VMA layer: one entry per
//! mapping, range stores that trim or split whatever they overlap, neighbour
//! walks, and `mas_empty_area`-style gap search pruned by per-subtree
//! largest-gap metadata. The design is our own:
//!
//! * Nodes live in two arenas (chunked vectors of leaves and of inner nodes,
//!   which grow without moving nodes) and refer to each other by `u32` index;
//!   freed nodes go on intrusive free lists. The crate has no `unsafe` code.
//! * A leaf holds up to 16 entries as parallel `start`/`end` arrays plus
//!   a fixed array of 16 value slots in the leaf itself, so a lookup
//!   follows no pointer out of the leaf and stores never allocate for
//!   values.
//! * An inner node holds up to 32 children and, for each, the first start,
//!   last end and the largest gap *inside* that child; gaps *between*
//!   children are computed from neighbouring first/last keys. Every gap
//!   therefore has one owner, and an update only refreshes the nodes on its
//!   own root-to-leaf path, stopping as soon as a summary is unchanged. Each
//!   inner node also keeps its own largest gap, updated in O(1) in the
//!   common case.
//! * Splits are biased by where the change happened: growth at a node's
//!   right end (mappings added upwards) or left end (top-down mmap) leaves
//!   the old node nearly full, so address-space-like trees pack tightly;
//!   elsewhere a full leaf first hands entries to a neighbour with room
//!   (B*-tree style) before it splits.
//!
//! * The tree remembers where its last descent ended (the finger, see
//!   `finger.rs`): a lookup or store whose key falls inside that leaf's
//!   entries starts there, so an operation that finds an entry, looks at
//!   its neighbours and stores next to it walks from the root once. Stores
//!   that move no node keep the finger valid.
//! * A caller that steps and stores around one place can keep its own
//!   position, a [`Mark`] (see `mark.rs`): the finger's check plus the
//!   slot, so other lookups in between do not displace it.
//!
//! Memory: about 26 bytes per entry beyond the value at a million entries
//! (see `examples/compare.rs`).
//!
//! The key space is `[0, u64::MAX)`: ranges are half-open, so `u64::MAX` is
//! never inside an entry. No method panics on any argument.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod arena;
mod chunks;
mod cursor;
mod debug;
mod finger;
mod gap;
mod iter;
mod mark;
mod node;
mod path;
mod query;
mod rebalance;
mod store;
mod validate;
mod vals;

pub use cursor::Cursor;
pub use iter::Iter;
pub use mark::Mark;
pub use validate::ValidateError;

use chunks::Chunked;
use finger::Finger;
use node::{Inner, Leaf, NIL};

/// Allocation failure, reported by the `try_*` methods and [`MapleTree::preallocate`]
/// when `Vec::try_reserve` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError;

impl core::fmt::Display for AllocError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("maple tree node allocation failed")
    }
}

/// A map from non-overlapping, non-empty half-open ranges `[start, end)` of
/// `u64` to values `V`, ordered by address.
pub struct MapleTree<V> {
    /// Leaf arena; free leaves are chained through `starts[0]`.
    leaves: Chunked<Leaf<V>>,
    /// Inner-node arena; free inner nodes are chained through `starts[0]`.
    inners: Chunked<Inner>,
    /// Head of the free-leaf chain, or `NIL`.
    free_leaf: u32,
    /// Head of the free-inner chain, or `NIL`.
    free_inner: u32,
    /// Length of the free-leaf chain.
    n_free_leaves: usize,
    /// Length of the free-inner chain.
    n_free_inners: usize,
    /// Root node (a leaf when `height == 0`), or `NIL` before the first store.
    root: u32,
    /// Number of inner levels above the leaves.
    height: usize,
    /// Number of entries.
    len: usize,
    /// Bumped whenever nodes are linked, unlinked or re-parented, which
    /// is what can make a remembered root-to-leaf path stale.
    shape: u64,
    /// Where the last descent ended (see `finger.rs`).
    finger: Finger,
}

impl<V> MapleTree<V> {
    /// An empty tree; allocates nothing.
    pub const fn new() -> Self {
        MapleTree {
            leaves: Chunked::new(),
            inners: Chunked::new(),
            free_leaf: NIL,
            free_inner: NIL,
            n_free_leaves: 0,
            n_free_inners: 0,
            root: NIL,
            height: 0,
            len: 0,
            shape: 0,
            finger: Finger::new(),
        }
    }

    /// Number of entries (non-empty ranges holding a value).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the tree holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of inner levels above the leaves (0 for a tree of one leaf).
    pub fn height(&self) -> usize {
        self.height
    }

    /// Drops every entry and releases all node memory. The shape counter
    /// goes on counting, so marks taken before never pass for current.
    pub fn clear(&mut self) {
        let shape = self.shape;
        *self = MapleTree::new();
        self.shape = shape;
        self.reshaped();
    }
}

impl<V> Default for MapleTree<V> {
    fn default() -> Self {
        MapleTree::new()
    }
}

impl<V: Clone> Clone for MapleTree<V> {
    fn clone(&self) -> Self {
        MapleTree {
            leaves: self.leaves.clone(),
            inners: self.inners.clone(),
            free_leaf: self.free_leaf,
            free_inner: self.free_inner,
            n_free_leaves: self.n_free_leaves,
            n_free_inners: self.n_free_inners,
            root: self.root,
            height: self.height,
            len: self.len,
            shape: self.shape,
            finger: self.finger.clone(),
        }
    }
}
