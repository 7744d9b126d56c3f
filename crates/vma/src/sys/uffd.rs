//! userfaultfd range registration (fs/userfaultfd.c: `userfaultfd_register`,
//! `userfaultfd_unregister`, `validate_range`; mm/userfaultfd.c:
//! `userfaultfd_register_range`, `userfaultfd_clear_vma`;
//! `vma_can_userfault`).
//!
//! Registering gives each VMA of the range the mode flags
//! (`VM_UFFD_MISSING`/`WP`/`MINOR`) and the context, both part of the
//! merge identity, through `vma_modify_flags_uffd`. Holes inside the range
//! are allowed; a range without any VMA is EINVAL. Every VMA is checked
//! before anything changes. The context is assumed to have no
//! `UFFD_FEATURE_WP_ASYNC` (the oracle's runner does not ask for it).

use super::consts::*;
use super::hugetlb::vma_huge_page_size;
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::FileKind;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::vma::UffdCtx;

/// `UFFD_API_REGISTER_MODES` on x86-64 (WP and MINOR supported).
const REGISTER_MODES: u64 =
    UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MINOR;

impl<E: Env> Mm<E> {
    /// `UFFDIO_REGISTER` of `[start, start + len)` with `mode`
    /// (`UFFDIO_REGISTER_MODE_*`) on the context `ctx`.
    pub fn uffd_register(&mut self, ctx: UffdCtx, start: u64, len: u64, mode: u64) -> KResult<()> {
        if !self.config.userfaultfd {
            return Err(Errno::ENOSYS);
        }
        if mode == 0 || mode & !REGISTER_MODES != 0 {
            return Err(Errno::EINVAL);
        }
        let mut vm_flags = VmFlags::NONE;
        if mode & UFFDIO_REGISTER_MODE_MISSING != 0 {
            vm_flags |= VmFlags::UFFD_MISSING;
        }
        if mode & UFFDIO_REGISTER_MODE_WP != 0 {
            vm_flags |= VmFlags::UFFD_WP;
        }
        if mode & UFFDIO_REGISTER_MODE_MINOR != 0 {
            vm_flags |= VmFlags::UFFD_MINOR;
        }
        let end = self.uffd_validate_range(start, len)?;
        let first = self
            .find_vma_intersection(start, end)
            .ok_or(Errno::EINVAL)?;
        self.uffd_check_huge_start(first, start)?;
        let mut next = start;
        while let Some(cur) = self.find_vma_intersection(next, end) {
            let c = self.vma(cur);
            next = c.end;
            if !self.vma_can_userfault(cur, vm_flags) {
                return Err(Errno::EINVAL);
            }
            if !c.flags.contains(VmFlags::MAYWRITE) {
                return Err(Errno::EPERM);
            }
            // A range ending inside a hugetlb VMA must end on a huge page.
            if end > c.start && end <= c.end {
                if let Some(size) = vma_huge_page_size(c) {
                    if end % size != 0 {
                        return Err(Errno::EINVAL);
                    }
                }
            }
            if c.uffd_ctx.is_some_and(|other| other != ctx) {
                return Err(Errno::EBUSY);
            }
        }
        self.userfaultfd_register_range(ctx, first, vm_flags, start, end)
    }

    /// `UFFDIO_UNREGISTER` of `[start, start + len)`. Every VMA of the range
    /// must be one userfaultfd could work on; registered ones lose their
    /// flags and context (whichever context they had, as in the kernel).
    pub fn uffd_unregister(&mut self, ctx: UffdCtx, start: u64, len: u64) -> KResult<()> {
        let _ = ctx;
        if !self.config.userfaultfd {
            return Err(Errno::ENOSYS);
        }
        let end = self.uffd_validate_range(start, len)?;
        let first = self
            .find_vma_intersection(start, end)
            .ok_or(Errno::EINVAL)?;
        self.uffd_check_huge_start(first, start)?;
        let mut next = start;
        while let Some(cur) = self.find_vma_intersection(next, end) {
            next = self.vma(cur).end;
            if !self.vma_can_userfault(cur, self.vma(cur).flags) {
                return Err(Errno::EINVAL);
            }
        }
        // Write-protected entries of WP-registered VMAs are resolved first.
        let mut next = start;
        while let Some(cur) = self.find_vma_intersection(next, end) {
            let c = self.vma(cur);
            let (s, e) = (c.start.max(start), c.end.min(end));
            next = c.end;
            if c.flags.contains(VmFlags::UFFD_WP) {
                self.pages.set_wp(s, e, false);
            }
        }
        let mut prev = self.walk_prev(first, start);
        let mut start = start;
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            if v.uffd_ctx.is_none() {
                prev = Some(vma);
                start = v.end;
                next = v.end;
                continue;
            }
            start = start.max(v.start);
            let vma_end = end.min(v.end);
            let got = self.userfaultfd_clear_vma(prev, vma, start, vma_end)?;
            prev = Some(got);
            start = self.vma(got).end;
            next = start;
        }
        Ok(())
    }

    /// If the range's first VMA is hugetlb, the range must start on one of
    /// its huge pages (EINVAL), even if it starts in a hole before it.
    fn uffd_check_huge_start(&self, first: VmaId, start: u64) -> KResult<()> {
        match vma_huge_page_size(self.vma(first)) {
            Some(size) if start % size != 0 => Err(Errno::EINVAL),
            _ => Ok(()),
        }
    }

    /// `validate_range`: page-aligned start and length, non-empty, inside
    /// the task's address space. Returns the end.
    pub(crate) fn uffd_validate_range(&self, start: u64, len: u64) -> KResult<u64> {
        let task_size = self.config.task_size;
        if start % PAGE_SIZE != 0
            || len % PAGE_SIZE != 0
            || len == 0
            || start >= task_size
            || len > task_size - start
        {
            return Err(Errno::EINVAL);
        }
        Ok(start + len)
    }

    /// `vma_can_userfault`: anonymous, shmem or hugetlb memory that is not
    /// special, droppable (since 6.17) or a shadow stack; MINOR needs shmem
    /// or hugetlb. A SysV attach is shmem underneath but not to
    /// `vma_is_shmem` (its ops are `shm_vm_ops`): refused.
    pub(crate) fn vma_can_userfault(&self, vma: VmaId, vm_flags: VmFlags) -> bool {
        let v = self.vma(vma);
        let hugetlb = v.flags.contains(VmFlags::HUGETLB);
        if v.flags.contains(VmFlags::SHADOW_STACK) {
            return false;
        }
        if v.flags.contains(VmFlags::DROPPABLE) && self.config.uffd_refuses_droppable_6_17() {
            return false;
        }
        if !hugetlb && v.flags.intersects(VmFlags::SPECIAL) {
            return false;
        }
        let shmem = v
            .file
            .as_ref()
            .is_some_and(|f| f.inner().kind == FileKind::Shmem)
            && !v.is_sysv_shm();
        if vm_flags.contains(VmFlags::UFFD_MINOR) && !hugetlb && !shmem {
            return false;
        }
        v.is_anonymous() || hugetlb || shmem
    }

    /// `userfaultfd_register_range`: each VMA not already registered to
    /// `ctx` with (at least) these modes gets exactly these modes.
    fn userfaultfd_register_range(
        &mut self,
        ctx: UffdCtx,
        first: VmaId,
        vm_flags: VmFlags,
        start: u64,
        end: u64,
    ) -> KResult<()> {
        let mut prev = self.walk_prev(first, start);
        let mut start = start;
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            if v.uffd_ctx == Some(ctx) && v.flags.contains(vm_flags) {
                prev = Some(vma);
                start = v.end;
                next = v.end;
                continue;
            }
            start = start.max(v.start);
            let vma_end = end.min(v.end);
            let new_flags = (v.flags & !VmFlags::UFFD_FLAGS) | vm_flags;
            let got = self.core().modify_flags_uffd(
                prev,
                vma,
                start,
                vma_end,
                new_flags,
                Some(ctx),
                false,
            )?;
            self.userfaultfd_set_ctx(got, Some(ctx), vm_flags);
            prev = Some(got);
            start = self.vma(got).end;
            next = start;
        }
        Ok(())
    }

    /// `userfaultfd_clear_vma`: drops the registration of `[start, end)`;
    /// if that is the whole VMA an allocation failure just gives up the
    /// merge instead of failing.
    fn userfaultfd_clear_vma(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
    ) -> KResult<VmaId> {
        let v = self.vma(vma);
        let give_up_on_oom = start == v.start && end == v.end;
        let flags = v.flags & !VmFlags::UFFD_FLAGS;
        let got =
            self.core()
                .modify_flags_uffd(prev, vma, start, end, flags, None, give_up_on_oom)?;
        self.userfaultfd_set_ctx(got, None, VmFlags::NONE);
        Ok(got)
    }

    /// `userfaultfd_set_ctx`.
    fn userfaultfd_set_ctx(&mut self, vma: VmaId, ctx: Option<UffdCtx>, flags: VmFlags) {
        self.env.vma_start_write(vma);
        let v = self.vma_mut(vma);
        v.uffd_ctx = ctx;
        v.flags = (v.flags & !VmFlags::UFFD_FLAGS) | flags;
    }
}
