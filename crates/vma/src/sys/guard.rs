//! Guard regions (`MADV_GUARD_INSTALL` / `MADV_GUARD_REMOVE`, Linux 6.13+):
//! pages whose page-table entries hold a guard marker, so that any access
//! raises SIGSEGV without the VMA being split. The model has no page
//! tables, so the markers live in a range set beside the VMA tree
//! ([`GuardMap`]) and follow the life of PTE markers: they survive
//! `MADV_DONTNEED`, `MADV_FREE` and mprotect, vanish when the range is
//! unmapped, are copied to a fork child (unless the VMA is
//! `VM_WIPEONFORK` or not copied), and move with page tables on mremap.
//! The kernel code mirrored is `madvise_guard_install`,
//! `madvise_guard_remove` and `is_valid_guard_vma` in mm/madvise.c.

use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use alloc::collections::BTreeMap;

/// Disjoint, non-adjacent page ranges `[start, end)` holding guard markers,
/// keyed by start. Adjacent ranges are coalesced so equal sets compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuardMap {
    ranges: BTreeMap<u64, u64>,
}

impl GuardMap {
    /// No guard markers anywhere.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The guarded ranges in address order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }

    /// Is the page containing `addr` guarded?
    pub fn contains(&self, addr: u64) -> bool {
        self.ranges
            .range(..=addr)
            .next_back()
            .is_some_and(|(_, &e)| addr < e)
    }

    /// The first guarded address in `[start, end)`, if any.
    pub fn first_in(&self, start: u64, end: u64) -> Option<u64> {
        if let Some((_, &e)) = self.ranges.range(..=start).next_back() {
            if start < e {
                return Some(start);
            }
        }
        self.ranges.range(start..end).next().map(|(&s, _)| s)
    }

    /// Marks `[start, end)` guarded.
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut s, mut e) = (start, end);
        // Absorb a range that starts before and touches or overlaps us.
        if let Some((&ps, &pe)) = self.ranges.range(..=s).next_back() {
            if pe >= s {
                s = ps;
                e = e.max(pe);
                self.ranges.remove(&ps);
            }
        }
        // Absorb every range starting inside or right at our end.
        while let Some((&ns, &ne)) = self.ranges.range(s..=e).next() {
            e = e.max(ne);
            self.ranges.remove(&ns);
        }
        self.ranges.insert(s, e);
    }

    /// Clears the markers in `[start, end)`.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        if let Some((&ps, &pe)) = self.ranges.range(..start).next_back() {
            if pe > start {
                self.ranges.insert(ps, start);
                if pe > end {
                    self.ranges.insert(end, pe);
                }
            }
        }
        while let Some((&ns, &ne)) = self.ranges.range(start..end).next() {
            self.ranges.remove(&ns);
            if ne > end {
                self.ranges.insert(end, ne);
            }
        }
    }

    /// The markers of `[start, end)`, as a new map.
    pub fn slice(&self, start: u64, end: u64) -> GuardMap {
        let mut out = GuardMap::default();
        for (s, e) in self.iter() {
            let (s, e) = (s.max(start), e.min(end));
            if s < e {
                out.insert(s, e);
            }
        }
        out
    }

    /// Moves the markers of `[from, from + len)` to `[to, to + len)`, as
    /// `move_page_tables` carries PTE markers (mremap). Markers already at
    /// the destination are replaced.
    pub fn move_range(&mut self, from: u64, to: u64, len: u64) {
        let moved = self.slice(from, from.saturating_add(len));
        self.remove(from, from.saturating_add(len));
        self.remove(to, to.saturating_add(len));
        for (s, e) in moved.iter() {
            self.insert(s - from + to, e - from + to);
        }
    }
}

impl<E: Env> Mm<E> {
    /// The guard markers of this address space.
    pub fn guards(&self) -> &GuardMap {
        &self.guards
    }

    /// `is_valid_guard_vma`: guard markers need page tables that only the
    /// core manages (no `VM_SPECIAL`, no hugetlb); installing them zaps the
    /// range, which a locked VMA forbids.
    fn is_valid_guard_vma(&self, vma: VmaId, allow_locked: bool) -> bool {
        let mut disallowed = VmFlags::SPECIAL | VmFlags::HUGETLB;
        if !allow_locked {
            disallowed |= VmFlags::LOCKED;
        }
        !self.vma(vma).flags.intersects(disallowed)
    }

    /// `madvise_guard_install` on `[start, end)` of one VMA: marks the VMA
    /// `VM_MAYBE_GUARD` in place (no split; the flag is sticky), gives an
    /// anonymous VMA its `anon_vma` (the range now has page tables), zaps
    /// whatever is mapped there and installs the markers.
    pub(crate) fn guard_install(&mut self, vma: VmaId, start: u64, end: u64) -> KResult<()> {
        if !self.is_valid_guard_vma(vma, false) {
            return Err(Errno::EINVAL);
        }
        if self.config.maybe_guard_6_18_37() {
            self.vma_mut(vma).flags |= VmFlags::MAYBE_GUARD;
        }
        if self.vma(vma).is_anonymous() {
            self.anon_vma_prepare(vma)?;
        }
        self.zap(start, end);
        self.guards.insert(start, end);
        Ok(())
    }

    /// `madvise_guard_remove` on `[start, end)` of one VMA. Locked VMAs are
    /// allowed: removing markers discards nothing. `VM_MAYBE_GUARD` stays.
    pub(crate) fn guard_remove(&mut self, vma: VmaId, start: u64, end: u64) -> KResult<()> {
        if !self.is_valid_guard_vma(vma, true) {
            return Err(Errno::EINVAL);
        }
        self.guards.remove(start, end);
        Ok(())
    }

    /// Page tables of `[start, end)` are freed (munmap, a replacing mmap,
    /// exit): their markers go with them.
    pub(crate) fn guards_unmapped(&mut self, start: u64, end: u64) {
        self.guards.remove(start, end);
    }

    /// Checks that every marker lies inside a VMA, as PTE markers can only
    /// exist in mapped page tables.
    pub(crate) fn validate_guards(&self) -> Result<(), crate::mm::Invariant> {
        for (s, e) in self.guards.iter() {
            let mut addr = s;
            while addr < e {
                match self.vma_at(addr) {
                    Some(id) => addr = self.vma(id).end,
                    None => {
                        return Err(crate::mm::Invariant(alloc::format!(
                            "guard marker at {addr:#x} outside every VMA"
                        )))
                    }
                }
            }
            if s % PAGE_SIZE != 0 || e % PAGE_SIZE != 0 {
                return Err(crate::mm::Invariant(alloc::format!(
                    "guard range {s:#x}-{e:#x} is not page aligned"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::GuardMap;
    use alloc::vec;
    use alloc::vec::Vec;

    fn ranges(g: &GuardMap) -> Vec<(u64, u64)> {
        g.iter().collect()
    }

    #[test]
    fn insert_coalesces_and_remove_splits() {
        let mut g = GuardMap::default();
        g.insert(10, 20);
        g.insert(30, 40);
        g.insert(20, 30);
        assert_eq!(ranges(&g), vec![(10, 40)]);
        g.remove(15, 25);
        assert_eq!(ranges(&g), vec![(10, 15), (25, 40)]);
        assert!(g.contains(14) && !g.contains(15) && g.contains(25));
        assert_eq!(g.first_in(15, 30), Some(25));
        assert_eq!(g.first_in(12, 30), Some(12));
        assert_eq!(g.first_in(15, 25), None);
        g.insert(5, 50);
        assert_eq!(ranges(&g), vec![(5, 50)]);
        g.remove(0, 100);
        assert!(g.is_empty());
    }

    #[test]
    fn move_carries_markers() {
        let mut g = GuardMap::default();
        g.insert(10, 12);
        g.insert(100, 110);
        g.move_range(8, 100, 8);
        assert_eq!(ranges(&g), vec![(102, 104), (108, 110)]);
    }
}
