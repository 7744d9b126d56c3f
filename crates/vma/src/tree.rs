//! The VMA tree behind a narrow API: the only file that knows which range
//! tree stores the address space. Everything else asks it for the VMA at an
//! address, the neighbours of a range, a gap, or to store or erase a range.

use crate::slab::VmaId;
use alloc::collections::BTreeMap;

/// Address-ordered map of non-overlapping `[start, end)` ranges to VMA ids.
#[derive(Default, Debug, Clone)]
pub(crate) struct VmaTree {
    /// start -> (end, id)
    map: BTreeMap<u64, (u64, VmaId)>,
}

impl VmaTree {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The entry containing `addr`.
    pub(crate) fn load(&self, addr: u64) -> Option<(u64, u64, VmaId)> {
        let (&s, &(e, id)) = self.map.range(..=addr).next_back()?;
        (addr < e).then_some((s, e, id))
    }

    /// The lowest entry intersecting `[start, end)` (`vma_find`).
    pub(crate) fn find(&self, start: u64, end: u64) -> Option<(u64, u64, VmaId)> {
        if start >= end {
            return None;
        }
        if let Some(hit) = self.load(start) {
            return Some(hit);
        }
        let (&s, &(e, id)) = self.map.range(start..).next()?;
        (s < end).then_some((s, e, id))
    }

    /// The lowest entry ending above `addr` (`find_vma`).
    pub(crate) fn next_from(&self, addr: u64) -> Option<(u64, u64, VmaId)> {
        self.find(addr, u64::MAX)
    }

    /// The highest entry ending at or below `addr` (the `prev` of `find_vma_prev`).
    pub(crate) fn prev_of(&self, addr: u64) -> Option<(u64, u64, VmaId)> {
        let mut it = self.map.range(..addr).rev();
        let (&s, &(e, id)) = it.next()?;
        if e <= addr {
            return Some((s, e, id));
        }
        let (&s, &(e, id)) = it.next()?;
        Some((s, e, id))
    }

    /// Stores `id` over `[start, end)`. The caller has made the range free
    /// apart from entries it replaces exactly or trims by `adjust`.
    pub(crate) fn store(&mut self, start: u64, end: u64, id: VmaId) {
        self.erase(start, end);
        self.map.insert(start, (end, id));
    }

    /// Removes everything in `[start, end)`, trimming partly covered entries.
    pub(crate) fn erase(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let mut keys = alloc::vec::Vec::new();
        if let Some((s, _, _)) = self.load(start) {
            keys.push(s);
        }
        keys.extend(self.map.range(start..end).map(|(&s, _)| s));
        keys.dedup();
        for s in keys {
            let (e, id) = self.map.remove(&s).expect("key just listed");
            if s < start {
                self.map.insert(s, (start, id));
            }
            if e > end {
                self.map.insert(end, (e, id));
            }
        }
    }

    /// All entries in address order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64, VmaId)> + '_ {
        self.map.iter().map(|(&s, &(e, id))| (s, e, id))
    }

    /// Lowest `a` with `[a, a + size)` free inside `[min, max)`.
    pub(crate) fn lowest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if size == 0 || min >= max || max - min < size {
            return None;
        }
        let mut cursor = min;
        if let Some((_, e, _)) = self.load(min) {
            cursor = e;
        }
        for (&s, &(e, _)) in self.map.range(cursor..) {
            if s >= cursor && s - cursor >= size {
                break;
            }
            cursor = cursor.max(e);
            if cursor >= max {
                return None;
            }
        }
        (cursor.checked_add(size)? <= max).then_some(cursor)
    }

    /// Highest `a` with `[a, a + size)` free inside `[min, max)`.
    pub(crate) fn highest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if size == 0 || min >= max || max - min < size {
            return None;
        }
        let mut limit = max;
        for (&s, &(e, _)) in self.map.range(..max).rev() {
            let low = e.max(min);
            if low < limit && limit - low >= size {
                return Some(limit - size);
            }
            limit = limit.min(s);
            if limit <= min {
                return None;
            }
        }
        (limit - min >= size).then(|| limit - size)
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
