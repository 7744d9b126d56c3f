//! The VMA tree behind a narrow API: the only file that knows which range
//! tree stores the address space. Everything else asks it for the VMA at an
//! address, the neighbours of a range, a gap, or to store or erase a range.

use crate::slab::VmaId;
use maple::MapleTree;

/// Address-ordered map of non-overlapping `[start, end)` ranges to VMA ids,
/// stored in the maple range tree.
#[derive(Default, Debug, Clone)]
pub(crate) struct VmaTree {
    tree: MapleTree<VmaId>,
}

/// An entry as `(start, end, id)`.
type Entry = (u64, u64, VmaId);

fn entry((r, &id): (core::ops::Range<u64>, &VmaId)) -> Entry {
    (r.start, r.end, id)
}

impl VmaTree {
    pub(crate) fn len(&self) -> usize {
        self.tree.len()
    }

    /// The entry containing `addr`.
    pub(crate) fn load(&self, addr: u64) -> Option<Entry> {
        self.tree.load(addr).map(entry)
    }

    /// The lowest entry intersecting `[start, end)` (`vma_find`).
    pub(crate) fn find(&self, start: u64, end: u64) -> Option<Entry> {
        self.tree.find(start, end).map(entry)
    }

    /// The lowest entry ending above `addr` (`find_vma`).
    pub(crate) fn next_from(&self, addr: u64) -> Option<Entry> {
        self.find(addr, u64::MAX)
    }

    /// A mark at `addr` (the kernel's `vma_iterator`): it stands for the
    /// first entry ending above `addr` and is kept by the caller across
    /// changes (see [`VmaSet::find_at`](crate::core::VmaSet)).
    pub(crate) fn mark(&self, addr: u64) -> maple::Mark {
        self.tree.mark(addr)
    }

    /// The first entry intersecting `[addr, end)`, through a kept mark:
    /// no walk from the root while the mark's leaf answers `addr`.
    #[inline]
    pub(crate) fn find_at(&self, m: &mut maple::Mark, addr: u64, end: u64) -> Option<Entry> {
        if addr >= end {
            return None;
        }
        self.tree.mark_seek(m, addr);
        self.tree.mark_find(m, end).map(entry)
    }

    /// Re-aims `m` at `addr`.
    #[inline]
    pub(crate) fn seek(&self, m: &mut maple::Mark, addr: u64) {
        self.tree.mark_seek(m, addr);
    }

    /// The entry before the one the mark stands for (`vma_prev` of a kept
    /// iterator): the highest ending at or below the mark's address.
    #[inline]
    pub(crate) fn prev_at(&self, m: &mut maple::Mark) -> Option<Entry> {
        self.tree.mark_prev(m).map(entry)
    }

    /// The highest entry ending at or below `addr` (the `prev` of `find_vma_prev`).
    pub(crate) fn prev_of(&self, addr: u64) -> Option<Entry> {
        self.tree.prev_entry(addr).map(entry)
    }

    /// `vma_iter_prealloc`: reserve nodes so the next store or erase cannot
    /// allocate.
    pub(crate) fn preallocate(&mut self) -> Result<(), maple::AllocError> {
        self.tree.preallocate()
    }

    /// Stores `id` over `[start, end)`, replacing or trimming what is there.
    pub(crate) fn store(&mut self, start: u64, end: u64, id: VmaId) {
        self.tree.store(start..end, id);
    }

    /// Removes everything in `[start, end)`, trimming partly covered entries.
    pub(crate) fn erase(&mut self, start: u64, end: u64) {
        self.tree.erase(start..end);
    }

    /// All entries in address order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = Entry> + '_ {
        self.tree.iter().map(entry)
    }

    /// Lowest `a` with `[a, a + size)` free inside `[min, max)`.
    pub(crate) fn lowest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        self.tree.lowest_gap(min, max, size)
    }

    /// Highest `a` with `[a, a + size)` free inside `[min, max)`.
    pub(crate) fn highest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        self.tree.highest_gap(min, max, size)
    }

    /// The tree's own structural invariants.
    pub(crate) fn validate(&self) -> Result<(), alloc::string::String> {
        self.tree.validate().map_err(|e| alloc::format!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slab::Slab;

    /// `AA  B   C` in pages of 1: gaps at [2,4) and [5,8).
    fn tree() -> VmaTree {
        let mut slab = Slab::default();
        let mut t = VmaTree::default();
        for (s, e) in [(0, 2), (4, 5), (8, 9)] {
            t.store(s, e, slab.insert(()));
        }
        t
    }

    #[test]
    fn gaps_are_found_from_either_end() {
        let t = tree();
        assert_eq!(t.lowest_gap(0, 100, 2), Some(2));
        assert_eq!(t.lowest_gap(0, 100, 3), Some(5));
        assert_eq!(t.lowest_gap(0, 100, 4), Some(9));
        assert_eq!(t.lowest_gap(0, 8, 4), None);
        assert_eq!(t.highest_gap(0, 8, 3), Some(5));
        assert_eq!(t.highest_gap(0, 8, 1), Some(7));
        assert_eq!(t.highest_gap(0, 5, 2), Some(2));
        assert_eq!(t.highest_gap(0, 4, 3), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn store_trims_and_erase_splits() {
        let mut t = tree();
        let mut slab = Slab::default();
        let id = slab.insert(());
        t.store(1, 5, id);
        let got: alloc::vec::Vec<_> = t.iter().map(|(s, e, _)| (s, e)).collect();
        assert_eq!(got, [(0, 1), (1, 5), (8, 9)]);
        t.erase(2, 3);
        let got: alloc::vec::Vec<_> = t.iter().map(|(s, e, _)| (s, e)).collect();
        assert_eq!(got, [(0, 1), (1, 2), (3, 5), (8, 9)]);
        assert_eq!(t.prev_of(3).map(|(s, _, _)| s), Some(1));
        assert_eq!(t.find(5, 8), None);
    }
}
