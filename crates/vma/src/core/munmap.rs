//! Unmapping in three steps, so that mmap can unmap what it replaces only
//! once the new mapping is certain: gather (split the ends, detach the
//! VMAs, total what they hold), complete (free them and update the
//! counters), or abort (put them back) -- `vms_*_munmap_vmas`.

use super::set::account_kind;
use super::split::NewPart;
use super::Core;
use crate::config::PAGE_SIZE;
use crate::env::{AllocSite, Env};
use crate::errno::{Errno, KResult};
use crate::file::VmOps;
use crate::flags::VmFlags;
use crate::slab::VmaId;

/// Ops id of `vma_dummy_vm_ops`, installed once `close` has run.
pub(crate) const DUMMY_OPS_ID: u32 = u32::MAX;

/// `struct vma_munmap_struct`: the VMAs of `[start, end)` on their way out.
#[derive(Debug, Default)]
pub(crate) struct Munmap {
    pub start: u64,
    pub end: u64,
    pub prev: Option<VmaId>,
    pub next: Option<VmaId>,
    /// The detached VMAs, in address order (the kernel's side tree).
    pub detached: alloc::vec::Vec<VmaId>,
    pub nr_pages: u64,
    pub locked_vm: u64,
    pub nr_accounted: u64,
    pub exec_vm: u64,
    pub stack_vm: u64,
    pub data_vm: u64,
    /// Page tables of the range still need clearing (and `close` calling).
    pub clear_ptes: bool,
}

impl Munmap {
    pub(crate) fn new(start: u64, end: u64) -> Munmap {
        Munmap {
            start,
            end,
            ..Default::default()
        }
    }
}

impl<E: Env> Core<'_, E> {
    /// A `Munmap` of `[start, end)` whose detached list reuses the set's
    /// spare buffer.
    pub(crate) fn munmap_state(&mut self, start: u64, end: u64) -> Munmap {
        let mut vms = Munmap::new(start, end);
        vms.detached = core::mem::take(&mut self.set.spare_detached);
        vms
    }

    /// `vms_gather_munmap_vmas`: splits the VMAs straddling the ends of the
    /// range and detaches every VMA inside it. On failure the detached VMAs
    /// are reattached but splits already made stay, as in the kernel. `at`
    /// is the caller's iterator (it found `first`), carried through the
    /// split, the neighbour lookups and the walk over the range.
    pub(crate) fn munmap_gather(
        &mut self,
        vms: &mut Munmap,
        first: VmaId,
        mut at: maple::Mark,
    ) -> KResult<()> {
        let f = self.vma(first);
        if vms.start > f.start {
            if vms.end < f.end && self.set.map_count >= self.config.max_map_count {
                return Err(Errno::ENOMEM);
            }
            if f.is_sealed() {
                return Err(Errno::EPERM);
            }
            self.split_unchecked(first, vms.start, NewPart::Below)?;
        }
        self.set.seek(&mut at, vms.start);
        vms.prev = self.set.prev_at(&mut at);
        if let Err(e) = self.detach_range(vms, &mut at) {
            vms.detached.clear();
            return Err(e);
        }
        vms.next = self.set.find_at(&mut at, vms.end, u64::MAX);
        vms.clear_ptes = true;
        Ok(())
    }

    fn detach_range(&mut self, vms: &mut Munmap, at: &mut maple::Mark) -> KResult<()> {
        let mut addr = vms.start;
        while let Some(id) = self.set.find_at(at, addr, vms.end) {
            if self.vma(id).is_sealed() {
                return Err(Errno::EPERM);
            }
            if self.vma(id).end > vms.end {
                self.split_unchecked(id, vms.end, NewPart::Above)?;
            }
            self.env.vma_start_write(id);
            self.alloc(AllocSite::TreeNodes)?;
            let v = self.vma(id);
            let pages = v.pages();
            vms.nr_pages += pages;
            if v.flags.contains(VmFlags::LOCKED) {
                vms.locked_vm += pages;
            }
            if v.flags.contains(VmFlags::ACCOUNT) {
                vms.nr_accounted += pages;
            }
            let mut kinds = super::set::VmStats::default();
            account_kind(&mut kinds, v.flags, pages as i64);
            vms.exec_vm += kinds.exec_vm;
            vms.stack_vm += kinds.stack_vm;
            vms.data_vm += kinds.data_vm;
            addr = v.end;
            vms.detached.push(id);
        }
        Ok(())
    }

    /// `vms_clean_up_area`: clears the page tables and runs `close` on the
    /// detached VMAs before a new mapping replaces them.
    pub(crate) fn munmap_clean_up(&mut self, vms: &mut Munmap) {
        if vms.nr_pages == 0 {
            return;
        }
        self.clear_ptes(vms);
        for &id in &vms.detached {
            let Core { set, env, .. } = self;
            close_vma(&mut **env, set.vma_mut(id));
        }
    }

    fn clear_ptes(&mut self, vms: &mut Munmap) {
        if vms.clear_ptes {
            self.zap(vms.start, vms.end);
            self.markers.clear(vms.start, vms.end);
            vms.clear_ptes = false;
        }
    }

    /// `vms_complete_munmap_vmas`: the VMAs are gone from the tree; free them
    /// and take them off the counters.
    pub(crate) fn munmap_complete(&mut self, vms: &mut Munmap) {
        self.set.map_count -= vms.detached.len();
        self.set.stats.locked_vm = self.set.stats.locked_vm.wrapping_sub(vms.locked_vm);
        if vms.nr_pages == 0 {
            return;
        }
        self.clear_ptes(vms);
        let s = &mut self.set.stats;
        s.total_vm = s.total_vm.wrapping_sub(vms.nr_pages);
        s.exec_vm = s.exec_vm.wrapping_sub(vms.exec_vm);
        s.stack_vm = s.stack_vm.wrapping_sub(vms.stack_vm);
        s.data_vm = s.data_vm.wrapping_sub(vms.data_vm);
        let mut detached = core::mem::take(&mut vms.detached);
        for &id in &detached {
            self.remove_vma(id);
        }
        detached.clear();
        self.set.spare_detached = detached;
        self.vm_unacct_memory(vms.nr_accounted);
    }

    /// `vms_abort_munmap_vmas`: undo a gather. If `close` already ran the
    /// VMAs cannot come back: the range is left empty, as the kernel does.
    pub(crate) fn munmap_abort(&mut self, vms: &mut Munmap) {
        if vms.nr_pages == 0 {
            return;
        }
        if vms.clear_ptes {
            vms.detached.clear();
            return;
        }
        self.set.tree.erase(vms.start, vms.end);
        self.munmap_complete(vms);
    }

    /// `remove_vma`: `close`, drop the file and policy, free. The VMA is
    /// already out of the tree.
    pub(crate) fn remove_vma(&mut self, id: VmaId) {
        let vma = self.set.vmas.remove(id);
        debug_assert!(vma.is_some(), "only detached, still live VMAs are removed");
        if let Some(mut vma) = vma {
            close_vma(&mut *self.env, &mut vma);
            super::anon::unlink_anon_vmas(&mut vma);
        }
    }

    /// `do_vmi_align_munmap`: unmaps the page-aligned `[start, end)`, whose
    /// first VMA is `first`, found through the iterator `at`.
    pub(crate) fn munmap_aligned(
        &mut self,
        at: maple::Mark,
        first: VmaId,
        start: u64,
        end: u64,
    ) -> KResult<()> {
        let mut vms = self.munmap_state(start, end);
        self.munmap_gather(&mut vms, first, at)?;
        if let Err(e) = self.alloc(AllocSite::TreeNodes) {
            vms.detached.clear();
            return Err(e);
        }
        self.set.tree.erase(start, end);
        self.munmap_complete(&mut vms);
        Ok(())
    }

    /// `do_vmi_munmap`: validates and unmaps `[start, start + len)`.
    pub(crate) fn do_munmap(&mut self, start: u64, len: u64) -> KResult<()> {
        let task_size = self.config.task_size;
        if start % PAGE_SIZE != 0 || start > task_size || len > task_size - start {
            return Err(Errno::EINVAL);
        }
        // With a real TASK_SIZE (below 2^57) neither step can wrap; the
        // checks keep an absurd configured one from wrapping either.
        let end = crate::config::page_align(len)
            .and_then(|l| start.checked_add(l))
            .filter(|&end| end != start)
            .ok_or(Errno::EINVAL)?;
        let mut at = self.set.mark(start);
        match self.set.find_at(&mut at, start, end) {
            None => Ok(()),
            Some(first) => self.munmap_aligned(at, first, start, end),
        }
    }

    /// `vm_unacct_memory`.
    pub(crate) fn vm_unacct_memory(&mut self, pages: u64) {
        self.set.stats.committed = self.set.stats.committed.wrapping_sub(pages);
    }
}

/// `vma_close`: runs `close` once, then installs the dummy ops.
pub(crate) fn close_vma<E: Env>(env: &mut E, vma: &mut crate::vma::Vma) {
    if vma.has_close() {
        env.vma_close(vma);
        vma.ops = Some(VmOps {
            id: DUMMY_OPS_ID,
            ..VmOps::default()
        });
    }
}
