//! The public API: Linux's memory system calls as methods of [`Mm`], each
//! returning the kernel's errno, built on the internal operations in
//! `core`. Argument checks follow the kernel's order, so the first error a
//! bad call meets is the kernel's.
//!
//! [`Mm`]: crate::Mm

mod brk;
pub mod consts;
mod exec;
mod fault;
mod file_ops;
mod fork;
mod guard;
pub(crate) mod hugetlb;
mod madvise;
mod mbind;
mod mempolicy;
mod mincore;
mod mlock;
pub(crate) mod mmap;
mod mprotect;
mod mremap;
mod mremap_move;
#[cfg(test)]
mod mremap_tests;
mod mseal;
mod msync;
mod pages;
mod pkeys;
mod prctl;
mod process;
mod process_madvise;
mod process_mrelease;
mod ranges;
mod remap_file_pages;
mod seed;
mod shared_policy;
mod shm;
mod uffd;
mod uffd_ops;
mod unmapped_area;
mod view;
mod walk;

pub use fault::{Access, Signal};
pub use guard::GuardMap;
pub use madvise::remove_allowed;
pub use mempolicy::PolicyReport;
pub use pages::Pages;
pub use process::Process;
pub use process_madvise::UIO_MAXIOV;
pub use ranges::RangeSet;
pub use seed::{SeedProcess, SeedVma};
pub use shared_policy::{SharedPolicies, SharedPolicy};
pub use uffd_ops::{UffdFill, GUARD_OVER_WP};
pub use view::{MapEntry, Maps};

use crate::flags::VmFlags;

/// `__ksm_should_add_vma`: with `PR_SET_MEMORY_MERGE`, a new VMA becomes
/// KSM-mergeable if it is not already and KSM may scan it.
pub(crate) fn ksm_should_add_vma(flags: VmFlags) -> bool {
    !flags.contains(VmFlags::MERGEABLE) && madvise::vma_ksm_compatible(flags)
}
