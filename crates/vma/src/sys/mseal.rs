//! `mseal(2)` (mm/mseal.c: `do_mseal`, `range_contains_unmapped`,
//! `mseal_apply`). Sealing sets `VM_SEALED` on every VMA of a fully mapped
//! range, splitting and merging like any flag change. What a seal forbids
//! is checked where it matters: munmap and mmap over it (core/munmap.rs),
//! mprotect/pkey_mprotect (sys/mprotect.rs), mremap, and the discarding
//! madvise advice on read-only anonymous memory (sys/madvise.rs).

use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;

impl<E: Env> Mm<E> {
    /// `mseal(addr, len, flags)`: flags must be 0 and the start aligned;
    /// a range with any hole fails with ENOMEM before anything changes.
    pub fn mseal(&mut self, start: u64, len: u64, flags: u64) -> KResult<()> {
        if !self.config.mseal_6_10() {
            return Err(Errno::ENOSYS);
        }
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        if start % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let aligned = super::mmap::page_align(len).ok_or(Errno::EINVAL)?;
        let end = start.checked_add(aligned).ok_or(Errno::EINVAL)?;
        if end == start {
            return Ok(());
        }
        if self.range_contains_unmapped(start, end) {
            return Err(Errno::ENOMEM);
        }
        self.mseal_apply(start, end)
    }

    /// `range_contains_unmapped`.
    fn range_contains_unmapped(&self, start: u64, end: u64) -> bool {
        let mut prev_end = start;
        let mut next = start;
        while let Some(id) = self.find_vma_intersection(next, end) {
            let v = self.vma(id);
            if v.start > prev_end {
                return true;
            }
            prev_end = v.end;
            next = v.end;
        }
        prev_end < end
    }

    /// `mseal_apply`: seals each VMA's part of the range; VMAs already
    /// sealed are left as they are. An ENOMEM from a split (`max_map_count`)
    /// leaves the VMAs before it sealed.
    fn mseal_apply(&mut self, start: u64, end: u64) -> KResult<()> {
        let first = self.vma_at(start).ok_or(Errno::ENOMEM)?;
        let mut prev = if start > self.vma(first).start {
            Some(first)
        } else {
            self.vma_prev_of(start)
        };
        let mut next = start;
        while let Some(vma) = self.find_vma_intersection(next, end) {
            let v = self.vma(vma);
            next = v.end;
            if v.is_sealed() {
                prev = Some(vma);
                continue;
            }
            let (s, e) = (start.max(v.start), end.min(v.end));
            let mut flags = v.flags | VmFlags::SEALED;
            let got = self.core().modify_flags(prev, vma, s, e, &mut flags)?;
            self.env.vma_start_write(got);
            self.vma_mut(got).flags = flags | VmFlags::SEALED;
            prev = Some(got);
            next = self.vma(got).end;
        }
        Ok(())
    }
}
