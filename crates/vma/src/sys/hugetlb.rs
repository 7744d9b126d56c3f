//! hugetlb mappings as the VMA layer sees them: the unlinked hugetlbfs file
//! behind each anonymous `MAP_HUGETLB` mmap (`ksys_mmap_pgoff`,
//! `hugetlb_file_setup`), its address rules (`hugetlb_get_unmapped_area`),
//! its `mmap` hook (`hugetlbfs_file_mmap`: flags, offset checks, pool
//! reservation) and whether a fault can get a huge page.
//!
//! Pool reservations are modelled simply: the pools are
//! [`Config::huge_pools`](crate::Config::huge_pools) as the process
//! started, and this address space's own reservations are recounted from
//! its VMAs (every hugetlb VMA without `VM_NORESERVE` holds one reserved
//! huge page per huge page it spans). Reservations of other processes made
//! later, surplus pages (`nr_overcommit_hugepages`), per-inode reservation
//! maps shared between mappings of one file, and pages consumed by faults
//! are not modelled.

use super::consts::*;
use crate::config::{HugePool, PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::vma::Vma;

/// `ALIGN(len, size)` for a power-of-two `size`, wrapping like the kernel's
/// macro (a length within `size` of 2^64 becomes 0, which `do_mmap` then
/// refuses with EINVAL).
pub(crate) fn huge_align(len: u64, size: u64) -> u64 {
    debug_assert!(size.is_power_of_two());
    len.wrapping_add(size - 1) & !(size - 1)
}

/// The huge page size of a hugetlb VMA (`huge_page_size(hstate_vma(vma))`);
/// `None` for other VMAs.
pub(crate) fn vma_huge_page_size(vma: &Vma) -> Option<u64> {
    if !vma.flags.contains(VmFlags::HUGETLB) {
        return None;
    }
    vma.file.as_ref().and_then(File::huge_page_size)
}

/// Whether `file` is a hugetlbfs file (`is_file_hugepages`).
pub(crate) fn is_file_hugepages(file: Option<&File>) -> bool {
    file.is_some_and(|f| f.inner().huge_page_shift.is_some())
}

impl<E: Env> Mm<E> {
    /// The anonymous half of `ksys_mmap_pgoff` for `MAP_HUGETLB`: the pool
    /// the size field names (EINVAL if the kernel has no such huge page
    /// size), the length rounded up to whole huge pages, and a fresh
    /// hugetlbfs file of that length. Returns the file and the new length.
    pub(crate) fn anon_hugetlb_file(&self, flags: u32, len: u64) -> KResult<(File, u64)> {
        let log = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
        let pool = self.config.huge_pool(log).ok_or(Errno::EINVAL)?;
        let len = huge_align(len, pool.size());
        Ok((File::anon_hugetlb(len >> PAGE_SHIFT, pool.shift), len))
    }

    /// `hugetlb_get_unmapped_area`'s checks: the length must be whole huge
    /// pages and a `MAP_FIXED` address huge-page aligned (EINVAL); a hint
    /// is rounded to a huge page (up, or down before 6.13). Returns the
    /// hint and the alignment mask the gap search must honour
    /// (`huge_page_mask_align`).
    pub(crate) fn hugetlb_area_hint(
        &self,
        file: &File,
        addr: u64,
        len: u64,
        flags: u32,
    ) -> KResult<(u64, u64)> {
        let size = file.huge_page_size().ok_or(Errno::EINVAL)?;
        let mask = size - 1;
        if len & mask != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_FIXED != 0 {
            if addr & mask != 0 {
                return Err(Errno::EINVAL);
            }
            return Ok((addr, 0));
        }
        let hint = if !self.config.hugetlb_hint_rounds_up() {
            addr & !mask
        } else if addr != 0 {
            huge_align(addr, size)
        } else {
            0
        };
        Ok((hint, mask & !(PAGE_SIZE - 1)))
    }

    /// `hugetlbfs_file_mmap` on a new VMA of `file`: marks it
    /// `VM_HUGETLB | VM_DONTEXPAND`, requires a huge-page-aligned file
    /// offset that fits a file position (EINVAL), and reserves the pool's
    /// pages unless `VM_NORESERVE` (ENOMEM if the pool cannot promise
    /// them). Runs after the range was cleared, like the kernel's hook, so
    /// a failing `MAP_FIXED` mapping loses what it replaced.
    pub(crate) fn hugetlbfs_mmap(&self, file: &File, vma: &Vma) -> KResult<VmFlags> {
        let flags = vma.flags | VmFlags::HUGETLB | VmFlags::DONTEXPAND;
        let size = file.huge_page_size().ok_or(Errno::EINVAL)?;
        // The byte offset must fit an loff_t.
        if vma.pgoff >> (63 - PAGE_SHIFT) != 0 {
            return Err(Errno::EINVAL);
        }
        if vma.pgoff & ((size >> PAGE_SHIFT) - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let vma_len = vma.end - vma.start;
        let end = (vma.pgoff << PAGE_SHIFT)
            .checked_add(vma_len)
            .filter(|e| *e <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
        if flags.contains(VmFlags::NORESERVE) {
            return Ok(flags);
        }
        debug_assert!(end >= vma_len && vma_len % size == 0);
        if vma_len / size > self.huge_pages_unreserved(size) {
            return Err(Errno::ENOMEM);
        }
        Ok(flags)
    }

    /// Free huge pages of `size` bytes that no mapping has reserved: the
    /// pool's unreserved pages less this address space's reservations.
    pub(crate) fn huge_pages_unreserved(&self, size: u64) -> u64 {
        let Some(pool) = self.huge_pool_of_size(size) else {
            return 0;
        };
        pool.unreserved()
            .saturating_sub(self.huge_pages_reserved_here(size))
    }

    /// The pool of huge pages of `size` bytes.
    fn huge_pool_of_size(&self, size: u64) -> Option<&HugePool> {
        self.config.huge_pools.iter().find(|p| p.size() == size)
    }

    /// Huge pages of `size` bytes this address space's mappings reserve
    /// (see the module's note on what is simplified).
    fn huge_pages_reserved_here(&self, size: u64) -> u64 {
        self.vmas()
            .filter(|(_, v)| !v.flags.contains(VmFlags::NORESERVE))
            .filter(|(_, v)| vma_huge_page_size(v) == Some(size))
            .map(|(_, v)| (v.end - v.start) / size)
            .sum()
    }

    /// Whether a fault in hugetlb VMA `vma` finds no huge page: a mapping
    /// with a reservation always gets one; a `VM_NORESERVE` one needs a
    /// free unreserved page in the pool (else SIGBUS, or EFAULT for
    /// get_user_pages).
    pub(crate) fn hugetlb_fault_fails(&self, vma: VmaId) -> bool {
        let v = self.vma(vma);
        match vma_huge_page_size(v) {
            Some(size) => {
                v.flags.contains(VmFlags::NORESERVE) && self.huge_pages_unreserved(size) == 0
            }
            None => false,
        }
    }
}
