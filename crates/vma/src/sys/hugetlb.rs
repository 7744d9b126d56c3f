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
use crate::config::{PAGE_SHIFT, PAGE_SIZE};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;

/// `ALIGN(len, size)` for a power-of-two `size`, wrapping like the kernel's
/// macro (a length within `size` of 2^64 becomes 0, which `do_mmap` then
/// refuses with EINVAL).
pub(crate) fn huge_align(len: u64, size: u64) -> u64 {
    debug_assert!(size.is_power_of_two());
    len.wrapping_add(size - 1) & !(size - 1)
}

pub(crate) use crate::core::hugetlb::{is_file_hugepages, vma_huge_page_size};

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

    /// Whether a fault in hugetlb VMA `vma` finds no huge page: a mapping
    /// with a reservation always gets one; a `VM_NORESERVE` one needs a
    /// free unreserved page in the pool (else SIGBUS, or EFAULT for
    /// get_user_pages).
    pub(crate) fn hugetlb_fault_fails(&self, vma: VmaId) -> bool {
        let v = self.vma(vma);
        match vma_huge_page_size(v) {
            Some(size) => {
                v.flags.contains(VmFlags::NORESERVE)
                    && self.set.huge_pages_unreserved(&self.config, size) == 0
            }
            None => false,
        }
    }
}
