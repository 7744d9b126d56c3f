//! `madvise(2)` (mm/madvise.c: `do_madvise`, `madvise_walk_vmas`,
//! `madvise_vma_behavior`, `madvise_update_vma`, `madvise_populate`).
//!
//! Advice falls into three groups. Hints change VMA flags through
//! `vma_modify_flags`, splitting and merging like mprotect (an ENOMEM from
//! there, including `max_map_count`, is reported as EAGAIN). Page-level
//! advice (DONTNEED, FREE, COLD, ...) checks the VMA and leaves the layout
//! alone. `MADV_POPULATE_*` faults pages in across VMAs. All but the
//! populate pair (which joined them before 6.10) walk the VMAs of the
//! range: a hole does not stop the walk but turns the result into ENOMEM,
//! while a per-VMA error stops it with the VMAs before already advised.

use super::consts::*;
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

/// `PMD_SIZE` on x86-64: the unit `MADV_COLLAPSE` works in.
const HPAGE_PMD_SIZE: u64 = PMD_SIZE;

/// `vma_ksm_compatible`: KSM may scan this VMA (private, ordinary memory).
pub(crate) fn vma_ksm_compatible(flags: VmFlags) -> bool {
    !flags.intersects(
        VmFlags::SHARED
            | VmFlags::MAYSHARE
            | VmFlags::PFNMAP
            | VmFlags::IO
            | VmFlags::DONTEXPAND
            | VmFlags::HUGETLB
            | VmFlags::MIXEDMAP
            | VmFlags::DROPPABLE,
    )
}

/// `is_discard`: advice that throws data away, refused on sealed
/// read-only anonymous memory.
fn is_discard(advice: i32) -> bool {
    matches!(
        advice,
        MADV_FREE
            | MADV_DONTNEED
            | MADV_DONTNEED_LOCKED
            | MADV_REMOVE
            | MADV_DONTFORK
            | MADV_WIPEONFORK
            | MADV_GUARD_INSTALL
    )
}

impl<E: Env> Mm<E> {
    /// `madvise(addr, len, advice)`.
    ///
    /// `MADV_HWPOISON` and `MADV_SOFT_OFFLINE` act on physical pages, which
    /// the model does not have: after the range checks they fail with EPERM,
    /// as for a caller without `CAP_SYS_ADMIN`.
    pub fn madvise(&mut self, start: u64, len: u64, advice: i32) -> KResult<()> {
        if !self.madvise_behavior_valid(advice) {
            return Err(Errno::EINVAL);
        }
        // check_input_range
        if start % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let aligned = super::mmap::page_align(len).ok_or(Errno::EINVAL)?;
        let end = start.checked_add(aligned).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Ok(());
        }
        match advice {
            MADV_HWPOISON | MADV_SOFT_OFFLINE => Err(Errno::EPERM),
            MADV_POPULATE_READ | MADV_POPULATE_WRITE
                if self.config.populate_without_walk_6_10() =>
            {
                self.madvise_populate(start, end, advice == MADV_POPULATE_WRITE)
            }
            MADV_POPULATE_READ | MADV_POPULATE_WRITE => {
                let write = advice == MADV_POPULATE_WRITE;
                self.madvise_walk_vmas(start, end, |mm, _prev, vma, s, e| {
                    mm.madvise_populate(s, e, write).map(|()| vma)
                })
            }
            _ => self.madvise_walk_vmas(start, end, |mm, prev, vma, s, e| {
                mm.madvise_vma_behavior(prev, vma, s, e, advice)
            }),
        }
    }

    /// `madvise_behavior_valid`: the advice exists in this kernel's build.
    pub(crate) fn madvise_behavior_valid(&self, advice: i32) -> bool {
        match advice {
            MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_DONTNEED
            | MADV_DONTNEED_LOCKED | MADV_FREE | MADV_REMOVE | MADV_DONTFORK | MADV_DOFORK
            | MADV_DONTDUMP | MADV_DODUMP | MADV_WIPEONFORK | MADV_KEEPONFORK | MADV_COLD
            | MADV_PAGEOUT | MADV_POPULATE_READ | MADV_POPULATE_WRITE | MADV_HWPOISON
            | MADV_SOFT_OFFLINE => true,
            MADV_MERGEABLE | MADV_UNMERGEABLE => self.config.ksm,
            MADV_HUGEPAGE | MADV_NOHUGEPAGE | MADV_COLLAPSE => self.config.transparent_hugepage,
            MADV_GUARD_INSTALL | MADV_GUARD_REMOVE => self.config.guard_regions_6_13(),
            _ => false,
        }
    }

    /// `madvise_walk_vmas`: calls `visit(prev, vma, start, end)` on each part
    /// of `[start, end)` that a VMA covers. `visit` returns the VMA that
    /// covers the part afterwards (it may have merged or split). Holes give
    /// ENOMEM once the walk is over; an error from `visit` ends it at once.
    pub(crate) fn madvise_walk_vmas<F>(&mut self, start: u64, end: u64, mut visit: F) -> KResult<()>
    where
        F: FnMut(&mut Self, Option<VmaId>, VmaId, u64, u64) -> KResult<VmaId>,
    {
        let mut start = start;
        let mut vma = self.find_vma(start);
        let mut prev = match vma {
            Some(v) if start > self.vma(v).start => Some(v),
            Some(v) => self.vma_prev_of(self.vma(v).start),
            None => None,
        };
        let mut unmapped = false;
        loop {
            let Some(v) = vma else {
                return Err(Errno::ENOMEM);
            };
            let (vs, ve) = (self.vma(v).start, self.vma(v).end);
            if start < vs {
                unmapped = true;
                start = vs;
                if start >= end {
                    break;
                }
            }
            let mut range_end = ve.min(end);
            let now = visit(self, prev, v, start, range_end)?;
            prev = Some(now);
            let now_end = self.vma(now).end;
            if range_end < now_end {
                range_end = now_end;
            }
            if range_end >= end {
                break;
            }
            vma = self.find_vma(now_end);
            start = range_end;
        }
        if unmapped {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// `madvise_vma_behavior`: one VMA's part of the range. Returns the VMA
    /// covering `[start, end)` afterwards.
    fn madvise_vma_behavior(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        advice: i32,
    ) -> KResult<VmaId> {
        if !self.can_madvise_modify(vma, advice) {
            return Err(Errno::EPERM);
        }
        let v = self.vma(vma);
        let flags = v.flags;
        let mut new_flags = flags;
        match advice {
            MADV_REMOVE => return self.madvise_remove(vma, start, end).map(|_| vma),
            MADV_WILLNEED => return Ok(vma),
            MADV_COLD | MADV_PAGEOUT => {
                if flags.intersects(VmFlags::LOCKED | VmFlags::PFNMAP | VmFlags::HUGETLB) {
                    return Err(Errno::EINVAL);
                }
                if advice == MADV_PAGEOUT {
                    self.madvise_pageout(vma, start, end);
                }
                return Ok(vma);
            }
            MADV_FREE | MADV_DONTNEED | MADV_DONTNEED_LOCKED => {
                return self
                    .madvise_dontneed_free(vma, start, end, advice)
                    .map(|_| vma)
            }
            MADV_COLLAPSE => return self.madvise_collapse(vma, start, end).map(|_| vma),
            MADV_GUARD_INSTALL => return self.guard_install(vma, start, end).map(|_| vma),
            MADV_GUARD_REMOVE => return self.guard_remove(vma, start, end).map(|_| vma),
            MADV_NORMAL => new_flags.remove(VmFlags::RAND_READ | VmFlags::SEQ_READ),
            MADV_SEQUENTIAL => {
                new_flags.remove(VmFlags::RAND_READ);
                new_flags |= VmFlags::SEQ_READ;
            }
            MADV_RANDOM => {
                new_flags.remove(VmFlags::SEQ_READ);
                new_flags |= VmFlags::RAND_READ;
            }
            MADV_DONTFORK => new_flags |= VmFlags::DONTCOPY,
            MADV_DOFORK => {
                if flags.contains(VmFlags::IO) {
                    return Err(Errno::EINVAL);
                }
                new_flags.remove(VmFlags::DONTCOPY);
            }
            MADV_WIPEONFORK => {
                if v.file.is_some() || flags.contains(VmFlags::SHARED) {
                    return Err(Errno::EINVAL);
                }
                new_flags |= VmFlags::WIPEONFORK;
            }
            MADV_KEEPONFORK => {
                if flags.contains(VmFlags::DROPPABLE) {
                    return Err(Errno::EINVAL);
                }
                new_flags.remove(VmFlags::WIPEONFORK);
            }
            MADV_DONTDUMP => new_flags |= VmFlags::DONTDUMP,
            MADV_DODUMP => {
                let special =
                    !flags.contains(VmFlags::HUGETLB) && flags.intersects(VmFlags::SPECIAL);
                if special || flags.contains(VmFlags::DROPPABLE) {
                    return Err(Errno::EINVAL);
                }
                new_flags.remove(VmFlags::DONTDUMP);
            }
            MADV_MERGEABLE => {
                if super::ksm_should_add_vma(flags) {
                    new_flags |= VmFlags::MERGEABLE;
                }
            }
            MADV_UNMERGEABLE => new_flags.remove(VmFlags::MERGEABLE),
            MADV_HUGEPAGE => {
                new_flags.remove(VmFlags::NOHUGEPAGE);
                new_flags |= VmFlags::HUGEPAGE;
            }
            MADV_NOHUGEPAGE => {
                new_flags.remove(VmFlags::HUGEPAGE);
                new_flags |= VmFlags::NOHUGEPAGE;
            }
            _ => return Err(Errno::EINVAL),
        }
        self.madvise_update_vma(prev, vma, start, end, new_flags)
            .map_err(|e| if e == Errno::ENOMEM { Errno::EAGAIN } else { e })
    }

    /// `madvise_update_vma` for flags: split or merge `[start, end)` out of
    /// `vma` and give it `new_flags`; nothing happens if they are unchanged.
    fn madvise_update_vma(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        mut new_flags: VmFlags,
    ) -> KResult<VmaId> {
        if new_flags == self.vma(vma).flags {
            return Ok(vma);
        }
        let got = self
            .core()
            .modify_flags(prev, vma, start, end, &mut new_flags)?;
        self.env.vma_start_write(got);
        self.vma_mut(got).flags = new_flags;
        Ok(got)
    }

    /// `can_madvise_modify`: on a sealed VMA, advice that discards data is
    /// refused for anonymous memory (before 6.17: memory without a file)
    /// the caller could not write anyway --
    /// not `VM_WRITE`, or its protection key denies writes
    /// (`arch_vma_access_permitted`).
    fn can_madvise_modify(&self, vma: VmaId, advice: i32) -> bool {
        let v = self.vma(vma);
        let writable = v.flags.contains(VmFlags::WRITE)
            && (!self.config.pkeys_enabled() || self.pkru_allows(v.flags.pkey(), true));
        let anonymous = if self.config.mseal_discard_checks_vma_anonymous_6_17() {
            v.is_anonymous()
        } else {
            v.file.is_none() && !v.flags.contains(VmFlags::SHARED)
        };
        !v.is_sealed() || !is_discard(advice) || !anonymous || writable
    }

    /// `madvise_dontneed_free`: DONTNEED zaps the range (guard markers
    /// stay), FREE only works on anonymous memory; locked VMAs only accept
    /// `MADV_DONTNEED_LOCKED`.
    fn madvise_dontneed_free(
        &mut self,
        vma: VmaId,
        start: u64,
        end: u64,
        advice: i32,
    ) -> KResult<()> {
        let v = self.vma(vma);
        let mut forbidden = VmFlags::PFNMAP;
        if advice != MADV_DONTNEED_LOCKED {
            forbidden |= VmFlags::LOCKED;
        }
        if let Some(size) = super::hugetlb::vma_huge_page_size(v) {
            // Only the DONTNEED pair works on hugetlb, from a huge page
            // boundary; the end is rounded down so that no huge page is
            // dropped that the caller did not cover entirely.
            if advice == MADV_FREE || start % size != 0 {
                return Err(Errno::EINVAL);
            }
            let end = end - end % size;
            if end > start {
                self.zap(start, end);
            }
            return Ok(());
        } else if v.flags.intersects(forbidden) {
            return Err(Errno::EINVAL);
        }
        if advice == MADV_FREE {
            if !v.is_anonymous() {
                return Err(Errno::EINVAL);
            }
            self.pages.mark_lazyfree(start.max(v.start), end.min(v.end));
            return Ok(());
        }
        self.zap(start, end);
        Ok(())
    }

    /// `madvise_pageout` on one VMA's part of the range, as far as page
    /// presence goes. Droppable memory loses its pages (anything but the
    /// zero page), deterministically: reclaim frees them without writing
    /// them anywhere. Page-cache pages may or may not be unmapped, and
    /// clean ones dropped, depending on reclaim: they become unsettled.
    /// Private anonymous pages stay mapped (without swap reclaim cannot
    /// take them; with swap their entry becomes a swap entry, which every
    /// observation here treats as present), but for those MADV_FREE left
    /// clean, which reclaim discards. Droppable and lazily freed pages
    /// are taken as reclaim finds them on the LRU, as it does unless a
    /// CPU switch left them in another CPU's batch.
    fn madvise_pageout(&mut self, vma: VmaId, start: u64, end: u64) {
        let v = self.vma(vma);
        let (start, end) = (start.max(v.start), end.min(v.end));
        if v.flags.contains(VmFlags::DROPPABLE) {
            let own = self.pages.own_pages(start, end);
            for (s, e) in own.iter() {
                self.zap(s, e);
            }
            return;
        }
        if v.is_anonymous() {
            // Lazily freeable pages are clean: reclaim discards them.
            let lazy = self.pages.lazyfree_in(start, end);
            for (s, e) in lazy.iter() {
                self.zap(s, e);
            }
            return;
        }
        if let Some(file) = &v.file {
            let ino = file.inner().ino;
            let first = v.pgoff + ((start - v.start) >> crate::config::PAGE_SHIFT);
            let last = v.pgoff + ((end - v.start) >> crate::config::PAGE_SHIFT);
            self.pages.reclaim(start, end);
            self.pages.reclaim_cache(ino, first, last);
        }
    }

    /// `madvise_remove`: punches a hole in the file behind a shared
    /// writable mapping.
    fn madvise_remove(&mut self, vma: VmaId, start: u64, end: u64) -> KResult<()> {
        let v = self.vma(vma);
        remove_allowed(v)?;
        let (start, end) = (start.max(v.start), end.min(v.end));
        let first = v.pgoff + ((start - v.start) >> crate::config::PAGE_SHIFT);
        let last = v.pgoff + ((end - v.start) >> crate::config::PAGE_SHIFT);
        let Some(file) = v.file.clone() else {
            return Err(Errno::EINVAL);
        };
        self.file_hole_punched(&file, first, last);
        Ok(())
    }

    /// `madvise_collapse`, as far as the VMA decides it: the VMA must be
    /// eligible for a PMD-sized THP (anonymous with an `anon_vma`, not
    /// `VM_NOHUGEPAGE`, holding an aligned 2 MiB block). The outcome of an
    /// actual collapse depends on the pages and is taken as success.
    /// File-backed VMAs are refused, as with shmem THP off and no
    /// read-only THP for the filesystem.
    fn madvise_collapse(&mut self, vma: VmaId, start: u64, end: u64) -> KResult<()> {
        let v = self.vma(vma);
        let refused = VmFlags::NOHUGEPAGE | VmFlags::SPECIAL | VmFlags::HUGETLB;
        let disabled = self.process.def_flags.contains(VmFlags::NOHUGEPAGE);
        let first = v
            .start
            .div_ceil(HPAGE_PMD_SIZE)
            .saturating_mul(HPAGE_PMD_SIZE);
        let fits = first
            .checked_add(HPAGE_PMD_SIZE)
            .is_some_and(|e| e <= v.end);
        if v.flags.intersects(refused)
            || disabled
            || !v.is_anonymous()
            || v.anon_vma.is_none()
            || !fits
        {
            return Err(Errno::EINVAL);
        }
        let _ = (start, end);
        Ok(())
    }

    /// `madvise_populate`: fault `[start, end)` in, VMA after VMA; no VMA
    /// gives ENOMEM, a VMA that does not allow the access EINVAL, a page
    /// that cannot be faulted EFAULT. Stops at the first error. Before
    /// 6.10 ([`Config::populate_without_walk_6_10`]) madvise's walk calls
    /// it on one VMA's part at a time, so it never meets a hole.
    ///
    /// [`Config::populate_without_walk_6_10`]: crate::config::Config::populate_without_walk_6_10
    fn madvise_populate(&mut self, start: u64, end: u64, write: bool) -> KResult<()> {
        let mut addr = start;
        while addr < end {
            let vma = self.vma_at(addr).ok_or(Errno::ENOMEM)?;
            let f = self.vma(vma).flags;
            let allowed = if write {
                f.contains(VmFlags::WRITE) && !f.contains(VmFlags::SHADOW_STACK)
            } else {
                f.contains(VmFlags::READ)
            };
            // Secret memory is refused as incompatible (measured: 6.18).
            let secret = self.vma(vma).is_secretmem();
            if f.intersects(VmFlags::IO | VmFlags::PFNMAP) || !allowed || secret {
                return Err(Errno::EINVAL);
            }
            let e = end.min(self.vma(vma).end);
            // get_user_pages here reports a poisoned page as such.
            let poison = self.pages.poisoned().first_in(addr, e);
            match self.fault_in_pages(vma, addr, e, write) {
                Err(Errno::EFAULT)
                    if poison.is_some_and(|p| self.pages.mapped().first_gap(addr, p).is_none()) =>
                {
                    return Err(Errno::EHWPOISON)
                }
                r => r?,
            }
            addr = e;
        }
        Ok(())
    }
}

/// `madvise_remove`'s checks of one VMA: MADV_REMOVE punches a hole in the
/// file a VMA maps only if it is unlocked, shared and may be written, and
/// the file takes writes. A walk over several VMAs punches those before
/// the first that fails.
pub fn remove_allowed(v: &crate::vma::Vma) -> KResult<()> {
    let Some(file) = &v.file else {
        return Err(Errno::EINVAL);
    };
    if v.flags.contains(VmFlags::LOCKED) {
        return Err(Errno::EINVAL);
    }
    if !v.flags.contains(VmFlags::SHARED | VmFlags::MAYWRITE) {
        return Err(Errno::EACCES);
    }
    if file.is_write_sealed() {
        return Err(Errno::EPERM);
    }
    Ok(())
}
