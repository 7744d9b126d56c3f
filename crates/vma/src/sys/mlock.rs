//! `mlock(2)`, `mlock2(2)`, `munlock(2)`, `mlockall(2)`, `munlockall(2)`
//! (mm/mlock.c: `do_mlock`, `apply_vma_lock_flags`, `mlock_fixup`,
//! `apply_mlockall_flags`, `count_mm_mlocked_page_nr`).
//!
//! Locking sets `VM_LOCKED` (and `VM_LOCKONFAULT`) through
//! `vma_modify_flags`, counts the pages in `locked_vm`, then populates the
//! range. mlock reports a failed populate (a guard page, an inaccessible
//! VMA: ENOMEM) after the flags are set; mlockall ignores it.

use super::consts::*;
use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

impl<E: Env> Mm<E> {
    /// `mlock(addr, len)`.
    pub fn mlock(&mut self, start: u64, len: u64) -> KResult<()> {
        self.do_mlock(start, len, VmFlags::LOCKED)
    }

    /// `mlock2(addr, len, flags)`: `MLOCK_ONFAULT` locks pages as they are
    /// faulted instead of populating the range.
    pub fn mlock2(&mut self, start: u64, len: u64, flags: u32) -> KResult<()> {
        if flags & !MLOCK_ONFAULT != 0 {
            return Err(Errno::EINVAL);
        }
        let mut vm_flags = VmFlags::LOCKED;
        if flags & MLOCK_ONFAULT != 0 {
            vm_flags |= VmFlags::LOCKONFAULT;
        }
        self.do_mlock(start, len, vm_flags)
    }

    /// `munlock(addr, len)`.
    pub fn munlock(&mut self, start: u64, len: u64) -> KResult<()> {
        let (start, len) = lock_range(start, len);
        self.apply_vma_lock_flags(start, len, VmFlags::NONE)
    }

    /// `do_mlock`: `RLIMIT_MEMLOCK` (ENOMEM unless `CAP_IPC_LOCK`; pages
    /// already locked in the range do not count twice), the flags, then the
    /// populate, whose EFAULT becomes ENOMEM and ENOMEM EAGAIN.
    fn do_mlock(&mut self, start: u64, len: u64, flags: VmFlags) -> KResult<()> {
        if !self.can_do_mlock() {
            return Err(Errno::EPERM);
        }
        let (start, len) = lock_range(start, len);
        let limit = self.config.rlimits.memlock >> PAGE_SHIFT;
        let mut locked = (len >> PAGE_SHIFT).saturating_add(self.stats().locked_vm);
        let cap = self.config.cap_ipc_lock;
        if locked > limit && !cap {
            locked = locked.saturating_sub(self.count_mlocked_pages(start, len));
        }
        if locked > limit && !cap {
            return Err(Errno::ENOMEM);
        }
        self.apply_vma_lock_flags(start, len, flags)?;
        self.mm_populate(start, len, false).map_err(|e| match e {
            Errno::EFAULT => Errno::ENOMEM,
            Errno::ENOMEM => Errno::EAGAIN,
            e => e,
        })
    }

    /// `count_mm_mlocked_page_nr`: pages of `[start, start + len)` in
    /// `VM_LOCKED` VMAs.
    fn count_mlocked_pages(&self, start: u64, len: u64) -> u64 {
        let end = start.saturating_add(len);
        let mut count = 0u64;
        let mut next = start;
        while let Some(id) = self.find_vma_intersection(next, end) {
            let v = self.vma(id);
            next = v.end;
            if v.flags.contains(VmFlags::LOCKED) {
                count += (v.end.min(end) - v.start.max(start)) >> PAGE_SHIFT;
            }
        }
        count
    }

    /// `apply_vma_lock_flags`: replaces the lock flags of every VMA in
    /// `[start, start + len)` with `flags`. The range must be mapped from
    /// its start; at a hole the VMAs before keep their change and the call
    /// fails with ENOMEM.
    fn apply_vma_lock_flags(&mut self, start: u64, len: u64, flags: VmFlags) -> KResult<()> {
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        let first = self.vma_at(start).ok_or(Errno::ENOMEM)?;
        self.walk_range(
            self.vma_mark(start),
            first,
            start,
            end,
            |mm, vma, prev, nstart, seg_end| {
                let newflags = (mm.vma(vma).flags & !VmFlags::LOCKED_MASK) | flags;
                mm.mlock_fixup(vma, prev, nstart, seg_end, newflags)
            },
        )?;
        Ok(())
    }

    /// `mlock_fixup`: gives `[start, end)` of `vma` the lock flags in
    /// `newflags` and updates `locked_vm`. Special, droppable and hugetlb
    /// VMAs are never locked (silently).
    fn mlock_fixup(
        &mut self,
        vma: VmaId,
        prev: &mut Option<VmaId>,
        start: u64,
        end: u64,
        mut newflags: VmFlags,
    ) -> KResult<()> {
        let oldflags = self.vma(vma).flags;
        let unsupported = VmFlags::SPECIAL | VmFlags::DROPPABLE | VmFlags::HUGETLB;
        if newflags == oldflags || oldflags.intersects(unsupported) || self.vma(vma).is_secretmem()
        {
            *prev = Some(vma);
            return Ok(());
        }
        let got = self
            .core()
            .modify_flags(*prev, vma, start, end, &mut newflags)?;
        *prev = Some(got);
        let pages = (end - start) >> PAGE_SHIFT;
        if !newflags.contains(VmFlags::LOCKED) {
            self.set.add_locked((pages as i64).wrapping_neg());
        } else if !oldflags.contains(VmFlags::LOCKED) {
            self.set.add_locked(pages as i64);
        }
        self.env.vma_start_write(got);
        self.vma_mut(got).flags = newflags;
        Ok(())
    }

    /// `mlockall(flags)`: `MCL_FUTURE` locks later mappings through
    /// `def_flags`; `MCL_CURRENT` locks every VMA now (only if `total_vm`
    /// fits `RLIMIT_MEMLOCK`, ENOMEM otherwise), ignoring per-VMA errors,
    /// and populates everything, ignoring failures.
    pub fn mlockall(&mut self, flags: u32) -> KResult<()> {
        let valid = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
        if flags == 0 || flags & !valid != 0 || flags == MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        if !self.can_do_mlock() {
            return Err(Errno::EPERM);
        }
        let limit = self.config.rlimits.memlock >> PAGE_SHIFT;
        if flags & MCL_CURRENT != 0 && self.stats().total_vm > limit && !self.config.cap_ipc_lock {
            return Err(Errno::ENOMEM);
        }
        self.apply_mlockall_flags(flags);
        if flags & MCL_CURRENT != 0 {
            self.populate(0, self.config.task_size);
        }
        Ok(())
    }

    /// `munlockall()`.
    pub fn munlockall(&mut self) -> KResult<()> {
        self.apply_mlockall_flags(0);
        Ok(())
    }

    /// `apply_mlockall_flags`.
    fn apply_mlockall_flags(&mut self, flags: u32) {
        self.process.def_flags.remove(VmFlags::LOCKED_MASK);
        if flags & MCL_FUTURE != 0 {
            self.process.def_flags |= VmFlags::LOCKED;
            if flags & MCL_ONFAULT != 0 {
                self.process.def_flags |= VmFlags::LOCKONFAULT;
            }
            if flags & MCL_CURRENT == 0 {
                return;
            }
        }
        let mut to_add = VmFlags::NONE;
        if flags & MCL_CURRENT != 0 {
            to_add |= VmFlags::LOCKED;
            if flags & MCL_ONFAULT != 0 {
                to_add |= VmFlags::LOCKONFAULT;
            }
        }
        let mut prev = None;
        let mut next = 0u64;
        while let Some(vma) = self.find_vma(next) {
            let v = self.vma(vma);
            let (s, e) = (v.start, v.end);
            let newflags = (v.flags & !VmFlags::LOCKED_MASK) | to_add;
            if self.mlock_fixup(vma, &mut prev, s, e, newflags).is_err() {
                prev = Some(vma);
            }
            next = self.vma(prev.expect("prev set")).end.max(e);
        }
    }
}

/// Rounds an mlock range out to pages as `do_mlock` does: the start down,
/// the length up by the start's offset (wrapping like the kernel's
/// `PAGE_ALIGN`, so a huge length can become 0).
fn lock_range(start: u64, len: u64) -> (u64, u64) {
    let off = start % PAGE_SIZE;
    let len = len.wrapping_add(off).wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    (start - off, len)
}
