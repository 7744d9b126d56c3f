//! `brk(2)`: the heap grows by expanding the `[heap]` VMA in place (never
//! merging the VMA after it), and shrinks by unmapping (`sys_brk`,
//! `do_brk_flags`).

use super::consts::MAP_FIXED;
use super::mmap::page_align;
use crate::config::{PAGE_SHIFT, PAGE_SIZE, RLIM_INFINITY};
use crate::core::vmg::MergeState;
use crate::env::{AllocSite, Env};
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::vma::Vma;

impl<E: Env> Mm<E> {
    /// `brk(addr)`: returns the new break, or the old one if refused.
    pub fn brk(&mut self, brk: u64) -> u64 {
        let orig = self.process.brk;
        match self.try_brk(brk) {
            Ok(()) => brk,
            Err(()) => {
                self.process.brk = orig;
                orig
            }
        }
    }

    fn try_brk(&mut self, brk: u64) -> Result<(), ()> {
        let p = &self.process;
        if brk < p.start_brk {
            return Err(());
        }
        let rlim = self.config.rlimits.data;
        let data = p.end_data.saturating_sub(p.start_data);
        if rlim < RLIM_INFINITY && (brk - p.start_brk).saturating_add(data) > rlim {
            return Err(());
        }
        let newbrk = page_align(brk).ok_or(())?;
        let oldbrk = page_align(p.brk).ok_or(())?;
        if oldbrk == newbrk {
            self.process.brk = brk;
            return Ok(());
        }
        if brk <= self.process.brk {
            let mut at = self.vma_mark(newbrk);
            let Some(vma) = self.find_vma_at(&mut at, newbrk, oldbrk) else {
                return Err(());
            };
            if self.vma(vma).start >= oldbrk {
                return Err(());
            }
            self.process.brk = brk;
            return self
                .core()
                .munmap_aligned(at, vma, newbrk, oldbrk)
                .map_err(|_| ());
        }
        self.check_brk_limits(oldbrk, newbrk - oldbrk)
            .map_err(|_| ())?;
        let guard_end = newbrk
            .saturating_add(PAGE_SIZE)
            .saturating_add(self.config.stack_guard_gap);
        if let Some(next) = self.find_vma_intersection(oldbrk, guard_end) {
            if newbrk.saturating_add(PAGE_SIZE) > self.vm_start_gap(self.vma(next)) {
                return Err(());
            }
        }
        let brkvma = self
            .vma_prev_of(oldbrk)
            .filter(|&v| self.vma(v).start >= self.process.start_brk);
        self.do_brk_flags(brkvma, oldbrk, newbrk - oldbrk, VmFlags::NONE)
            .map_err(|_| ())?;
        self.process.brk = brk;
        if self.process.def_flags.contains(VmFlags::LOCKED) {
            self.populate(oldbrk, newbrk - oldbrk);
        }
        Ok(())
    }

    /// `check_brk_limits`.
    fn check_brk_limits(&self, addr: u64, len: u64) -> KResult<()> {
        self.get_unmapped_area(None, addr, len, 0, MAP_FIXED, VmFlags::NONE)?;
        if !self.mlock_future_ok(self.process.def_flags, len) {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }

    /// `do_brk_flags`: extend `vma` (the heap) over `[addr, addr + len)` if
    /// it ends there and matches, else create an anonymous VMA.
    pub(crate) fn do_brk_flags(
        &mut self,
        vma: Option<VmaId>,
        addr: u64,
        len: u64,
        flags: VmFlags,
    ) -> KResult<()> {
        // brk checked the range against TASK_SIZE (check_brk_limits).
        debug_assert!(addr.checked_add(len).is_some(), "brk range wraps");
        let pages = len >> PAGE_SHIFT;
        let mut flags = flags | VmFlags::DATA_DEFAULT | VmFlags::ACCOUNT | self.process.def_flags;
        if self.process.merge_any && self.config.ksm && super::ksm_should_add_vma(flags) {
            flags |= VmFlags::MERGEABLE;
        }
        if !self.may_expand_vm(flags, pages) || self.map_count() > self.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.core().vm_enough_memory(pages)?;
        let mut done = None;
        if let Some(v) = vma.filter(|&v| self.vma(v).end == addr) {
            let mut vmg = MergeState::new(addr, addr + len, flags, addr >> PAGE_SHIFT);
            vmg.prev = Some(v);
            vmg.just_expand = true;
            done = self.core().merge_new_range(&mut vmg);
            if done.is_none() && vmg.nomem() {
                self.core().vm_unacct_memory(pages);
                return Err(Errno::ENOMEM);
            }
        }
        let vma = match done {
            Some(v) => v,
            None => {
                if self
                    .alloc(AllocSite::Vma)
                    .and_then(|_| self.tree_prealloc())
                    .is_err()
                {
                    self.core().vm_unacct_memory(pages);
                    return Err(Errno::ENOMEM);
                }
                let vma = Vma::new(addr, addr + len, addr >> PAGE_SHIFT, flags);
                let id = self.set.link(vma);
                self.env.vma_start_write(id);
                id
            }
        };
        self.set.add_total(pages);
        self.set.account_kind(VmFlags::DATA_DEFAULT, pages as i64);
        if flags.contains(VmFlags::LOCKED) {
            self.set.add_locked(pages as i64);
        }
        if self.config.soft_dirty {
            self.vma_mut(vma).flags |= VmFlags::SOFTDIRTY;
        }
        Ok(())
    }
}
