//! Node arenas: allocation, free lists, preallocation and memory accounting.

use crate::node::{Inner, Leaf, Summary, INNER_MIN, LEAF_CAP, LEAF_MIN, NIL, PAD};
use crate::{AllocError, MapleTree};
use core::mem::size_of;

impl<V> MapleTree<V> {
    /// A leaf with no entries: from the free list, else newly allocated.
    pub(crate) fn alloc_leaf(&mut self) -> u32 {
        self.reshaped();
        if self.free_leaf != NIL {
            let id = self.free_leaf;
            let leaf = &mut self.leaves[id as usize];
            self.free_leaf = leaf.starts[0] as u32;
            leaf.starts = [PAD; LEAF_CAP];
            leaf.ends = [PAD; LEAF_CAP];
            self.n_free_leaves -= 1;
            return id;
        }
        assert!(self.leaves.len() < NIL as usize, "maple: leaf arena full");
        self.leaves.push(Leaf::new()) as u32
    }

    /// An inner node with no children: from the free list, else newly allocated.
    pub(crate) fn alloc_inner(&mut self) -> u32 {
        self.reshaped();
        if self.free_inner != NIL {
            let id = self.free_inner;
            let inner = &mut self.inners[id as usize];
            self.free_inner = inner.starts[0] as u32;
            *inner = Inner::new();
            self.n_free_inners -= 1;
            return id;
        }
        assert!(self.inners.len() < NIL as usize, "maple: inner arena full");
        self.inners.push(Inner::new()) as u32
    }

    /// Puts an emptied leaf on the free list.
    pub(crate) fn free_leaf_node(&mut self, id: u32) {
        self.reshaped();
        let leaf = &mut self.leaves[id as usize];
        leaf.vals.clear();
        leaf.starts[0] = self.free_leaf as u64;
        self.free_leaf = id;
        self.n_free_leaves += 1;
    }

    /// Puts an inner node on the free list.
    pub(crate) fn free_inner_node(&mut self, id: u32) {
        self.reshaped();
        let inner = &mut self.inners[id as usize];
        inner.len = 0;
        inner.starts[0] = self.free_inner as u64;
        self.free_inner = id;
        self.n_free_inners += 1;
    }

    /// Summary of node `id`, a leaf when `leaf` is set.
    #[inline]
    pub(crate) fn node_summary(&self, id: u32, leaf: bool) -> Summary {
        if leaf {
            self.leaves[id as usize].summary()
        } else {
            self.inners[id as usize].summary()
        }
    }

    /// Entry or child count of node `id`.
    #[inline]
    pub(crate) fn node_len(&self, id: u32, leaf: bool) -> usize {
        if leaf {
            self.leaves[id as usize].len()
        } else {
            self.inners[id as usize].len()
        }
    }

    /// Fewest entries or children a non-root node of that kind may hold.
    #[inline]
    pub(crate) fn node_min(leaf: bool) -> usize {
        if leaf {
            LEAF_MIN
        } else {
            INNER_MIN
        }
    }

    /// Reserves enough free nodes that the next single store or erase cannot
    /// allocate (kernel: `mas_preallocate`). A store adds at most two entries
    /// to one leaf, so it splits at most one node per level and may add a
    /// root: one leaf and `height + 1` inner nodes.
    pub fn preallocate(&mut self) -> Result<(), AllocError> {
        let want_leaves = 1;
        let want_inners = self.height + 1;
        while self.n_free_leaves < want_leaves {
            if self.leaves.len() >= NIL as usize {
                return Err(AllocError);
            }
            self.leaves.try_reserve_one().map_err(|_| AllocError)?;
            let leaf = Leaf::new();
            let id = self.leaves.push_reserved(leaf);
            self.free_leaf_node(id as u32);
        }
        while self.n_free_inners < want_inners {
            if self.inners.len() >= NIL as usize {
                return Err(AllocError);
            }
            self.inners.try_reserve_one().map_err(|_| AllocError)?;
            let id = self.inners.push_reserved(Inner::new());
            self.free_inner_node(id as u32);
        }
        Ok(())
    }

    /// Bytes of memory the tree holds: the tree header and both node
    /// arenas at their capacity (values live in the leaves). Allocator
    /// bookkeeping is not counted.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>() + self.leaves.bytes() + self.inners.bytes()
    }
}
