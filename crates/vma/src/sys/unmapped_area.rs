//! Choosing an address for a mapping without `MAP_FIXED`
//! (`__get_unmapped_area`, x86's `arch_get_unmapped_area{,_topdown}`,
//! `unmapped_area{,_topdown}`, THP alignment of large anonymous mappings).

use super::consts::*;
use super::hugetlb::is_file_hugepages;
use super::mmap::page_align;
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::vma::Vma;

/// `struct vm_unmapped_area_info`.
struct AreaInfo {
    topdown: bool,
    length: u64,
    low_limit: u64,
    high_limit: u64,
    align_mask: u64,
    align_offset: u64,
    start_gap: u64,
}

impl<E: Env> Mm<E> {
    /// `vm_start_gap`: where a VMA's guard gap below it begins.
    pub(crate) fn vm_start_gap(&self, vma: &Vma) -> u64 {
        let mut start = vma.start;
        if vma.flags.contains(VmFlags::GROWSDOWN) {
            start = start.saturating_sub(self.config.stack_guard_gap);
        }
        if vma.flags.contains(VmFlags::SHADOW_STACK) {
            start = start.saturating_sub(PAGE_SIZE);
        }
        start
    }

    /// `__get_unmapped_area`: the address a mapping of `len` bytes goes to.
    pub(crate) fn get_unmapped_area(
        &self,
        file: Option<&File>,
        addr: u64,
        len: u64,
        pgoff: u64,
        flags: u32,
        vm_flags: VmFlags,
    ) -> KResult<u64> {
        let task_size = self.config.task_size;
        if len > task_size {
            return Err(Errno::ENOMEM);
        }
        let pgoff = if file.is_none() { 0 } else { pgoff };
        let thp = self.config.transparent_hugepage;
        let large_anon =
            file.is_none() && flags & MAP_SHARED == 0 && addr == 0 && len % PMD_SIZE == 0;
        let thp_file = file.is_some_and(|f| f.inner().thp_aligned);
        let addr = if let Some(f) = file.filter(|f| is_file_hugepages(Some(f))) {
            let (hint, align) = self.hugetlb_area_hint(f, addr, len, flags)?;
            self.arch_unmapped_area(hint, len, pgoff, flags, vm_flags, align)?
        } else if thp && (large_anon || thp_file) {
            self.thp_unmapped_area(addr, len, pgoff, flags, vm_flags)?
        } else {
            self.arch_unmapped_area(addr, len, pgoff, flags, vm_flags, 0)?
        };
        if addr > task_size - len {
            return Err(Errno::ENOMEM);
        }
        if addr % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(addr)
    }

    /// `thp_get_unmapped_area_vmflags`: pad by a huge page, then align the
    /// result to one, unless padding fails or the hint was taken.
    fn thp_unmapped_area(
        &self,
        addr: u64,
        len: u64,
        pgoff: u64,
        flags: u32,
        vm_flags: VmFlags,
    ) -> KResult<u64> {
        let off = pgoff << crate::config::PAGE_SHIFT;
        let off_end = off.wrapping_add(len);
        let off_align = off.div_ceil(PMD_SIZE) * PMD_SIZE;
        if !(off_end <= off_align || off_end - off_align < PMD_SIZE) {
            if let Some(len_pad) = len.checked_add(PMD_SIZE) {
                if let Ok(ret) = self.arch_unmapped_area(addr, len_pad, pgoff, flags, vm_flags, 0) {
                    if ret == addr {
                        return Ok(addr);
                    }
                    let off_sub = off.wrapping_sub(ret) & (PMD_SIZE - 1);
                    if !self.process.legacy_layout && off_sub == 0 {
                        return Ok(ret + PMD_SIZE);
                    }
                    return Ok(ret + off_sub);
                }
            }
        }
        self.arch_unmapped_area(addr, len, pgoff, flags, vm_flags, 0)
    }

    /// x86's `arch_get_unmapped_area_topdown` (or the bottom-up one for
    /// the legacy layout). `align_mask` is x86's `get_align_mask`: the
    /// huge page alignment for hugetlbfs files, 0 otherwise.
    fn arch_unmapped_area(
        &self,
        addr: u64,
        len: u64,
        pgoff: u64,
        flags: u32,
        vm_flags: VmFlags,
        align_mask: u64,
    ) -> KResult<u64> {
        let task_size = self.config.task_size;
        if flags & MAP_FIXED != 0 {
            return Ok(addr);
        }
        if self.process.legacy_layout || flags & MAP_32BIT != 0 {
            return self.bottom_up_area(addr, len, pgoff, flags, vm_flags, align_mask);
        }
        if addr != 0 {
            let hint = addr & !(PAGE_SIZE - 1);
            if self.hint_fits(hint, len) {
                return Ok(hint);
            }
        }
        let info = AreaInfo {
            topdown: true,
            length: len,
            low_limit: if flags & MAP_ABOVE4G != 0 {
                1 << 32
            } else {
                PAGE_SIZE
            },
            // A hint above the 47-bit window opens the rest of a larger
            // (5-level) address space; never beyond the top of memory.
            high_limit: if addr > DEFAULT_MAP_WINDOW {
                self.process
                    .mmap_base
                    .saturating_add(task_size.saturating_sub(DEFAULT_MAP_WINDOW))
            } else {
                self.process.mmap_base
            },
            align_mask,
            align_offset: pgoff << crate::config::PAGE_SHIFT,
            start_gap: if vm_flags.contains(VmFlags::SHADOW_STACK) {
                PAGE_SIZE
            } else {
                0
            },
        };
        match self.unmapped_area(&info) {
            Ok(a) => Ok(a),
            Err(_) => self.bottom_up_area(addr, len, pgoff, flags, VmFlags::NONE, align_mask),
        }
    }

    /// A page-aligned hint is taken if the range is free up to the next
    /// VMA's guard gap and does not straddle the 47-bit boundary.
    fn hint_fits(&self, hint: u64, len: u64) -> bool {
        let task_size = self.config.task_size;
        if task_size - len < hint
            || (hint > DEFAULT_MAP_WINDOW) != (hint + len > DEFAULT_MAP_WINDOW)
        {
            return false;
        }
        match self.find_vma(hint) {
            None => true,
            Some(v) => hint + len <= self.vm_start_gap(self.vma(v)),
        }
    }

    /// x86's bottom-up `arch_get_unmapped_area`.
    fn bottom_up_area(
        &self,
        addr: u64,
        len: u64,
        pgoff: u64,
        flags: u32,
        vm_flags: VmFlags,
        align_mask: u64,
    ) -> KResult<u64> {
        // Like the top-down search, only a hint above the 47-bit window
        // opens the rest of a 5-level address space.
        let (begin, end) = if flags & MAP_32BIT != 0 {
            (0x4000_0000, 0x8000_0000)
        } else if addr > DEFAULT_MAP_WINDOW {
            (self.process.mmap_legacy_base, self.config.task_size)
        } else {
            (
                self.process.mmap_legacy_base,
                self.config.task_size.min(DEFAULT_MAP_WINDOW),
            )
        };
        if len > end {
            return Err(Errno::ENOMEM);
        }
        if addr != 0 {
            // Checked first, `hint <= end - len` bounds `hint + len` by `end`.
            let hint = page_align(addr).unwrap_or(0);
            if end - len >= hint {
                let free = match self.find_vma(hint) {
                    None => true,
                    Some(v) => hint + len <= self.vm_start_gap(self.vma(v)),
                };
                if free {
                    return Ok(hint);
                }
            }
        }
        self.unmapped_area(&AreaInfo {
            topdown: false,
            length: len,
            low_limit: begin,
            high_limit: end,
            align_mask,
            align_offset: pgoff << crate::config::PAGE_SHIFT,
            start_gap: if vm_flags.contains(VmFlags::SHADOW_STACK) {
                PAGE_SIZE
            } else {
                0
            },
        })
    }

    /// `vm_unmapped_area`: the lowest or highest fitting gap, respecting the
    /// guard gaps of the VMAs around it, found through the tree's gap search.
    fn unmapped_area(&self, info: &AreaInfo) -> KResult<u64> {
        let length = info
            .length
            .checked_add(info.align_mask)
            .and_then(|l| l.checked_add(info.start_gap))
            .ok_or(Errno::ENOMEM)?;
        let mut low = info.low_limit.max(self.config.mmap_min_addr);
        let mut high = info.high_limit;
        loop {
            if info.topdown {
                let a = self
                    .set
                    .highest_gap(low, high, length)
                    .ok_or(Errno::ENOMEM)?;
                let gap_end = a + length;
                let mut gap = gap_end - info.length;
                gap -= gap.wrapping_sub(info.align_offset) & info.align_mask;
                match self.find_vma(gap_end).map(|v| self.vma(v)) {
                    Some(next) if next.flags.intersects(VmFlags::STARTGAP) => {
                        if self.vm_start_gap(next) < gap_end {
                            high = self.vm_start_gap(next);
                            continue;
                        }
                    }
                    _ => {
                        if let Some(prev) = self.vma_prev_of(a).map(|v| self.vma(v)) {
                            if prev.end > gap {
                                high = prev.start;
                                continue;
                            }
                        }
                    }
                }
                return Ok(gap);
            } else {
                let a = self
                    .set
                    .lowest_gap(low, high, length)
                    .ok_or(Errno::ENOMEM)?;
                let mut gap = a + info.start_gap;
                gap += info.align_offset.wrapping_sub(gap) & info.align_mask;
                match self.find_vma(a).map(|v| self.vma(v)) {
                    Some(next) if next.flags.intersects(VmFlags::STARTGAP) => {
                        if self.vm_start_gap(next) < gap + length - 1 {
                            low = next.end;
                            continue;
                        }
                    }
                    _ => {
                        if let Some(prev) = self.vma_prev_of(a).map(|v| self.vma(v)) {
                            if prev.end > gap {
                                low = prev.end;
                                continue;
                            }
                        }
                    }
                }
                return Ok(gap);
            }
        }
    }
}
