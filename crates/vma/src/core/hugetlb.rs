//! What the core needs of hugetlbfs: which files and VMAs are hugetlb, the
//! pool reservations this address space holds, and the file's `mmap` hook
//! (`hugetlbfs_file_mmap`), which runs while a mapping is made. See
//! `sys::hugetlb` for the system-call side and what the model simplifies.

use super::{Core, VmaSet};
use crate::config::{Config, HugePool, PAGE_SHIFT};
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::flags::VmFlags;
use crate::vma::Vma;

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

impl VmaSet {
    /// Free huge pages of `size` bytes that no mapping has reserved: the
    /// pool's unreserved pages less this address space's reservations.
    pub(crate) fn huge_pages_unreserved(&self, config: &Config, size: u64) -> u64 {
        let Some(pool) = huge_pool_of_size(config, size) else {
            return 0;
        };
        pool.unreserved()
            .saturating_sub(self.huge_pages_reserved_here(size))
    }

    /// Huge pages of `size` bytes this address space's mappings reserve
    /// (see `sys::hugetlb` on what is simplified).
    fn huge_pages_reserved_here(&self, size: u64) -> u64 {
        self.iter()
            .filter(|(_, v)| !v.flags.contains(VmFlags::NORESERVE))
            .filter(|(_, v)| vma_huge_page_size(v) == Some(size))
            .map(|(_, v)| (v.end - v.start) / size)
            .sum()
    }
}

/// The pool of huge pages of `size` bytes.
fn huge_pool_of_size(config: &Config, size: u64) -> Option<&HugePool> {
    config.huge_pools.iter().find(|p| p.size() == size)
}

impl<E: Env> Core<'_, E> {
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
        if vma_len / size > self.set.huge_pages_unreserved(self.config, size) {
            return Err(Errno::ENOMEM);
        }
        Ok(flags)
    }
}
