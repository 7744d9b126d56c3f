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

/// The guard markers: page ranges holding one.
pub type GuardMap = super::ranges::RangeSet;

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
            self.core().anon_vma_prepare(vma)?;
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

/// Guard markers live in the page tables: unmapping a range drops them,
/// moving its page tables moves them.
impl crate::core::PageState for GuardMap {
    fn clear(&mut self, start: u64, end: u64) {
        self.remove(start, end);
    }

    fn move_range(&mut self, from: u64, to: u64, len: u64) {
        GuardMap::move_range(self, from, to, len);
    }
}
