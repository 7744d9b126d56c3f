//! The internal VMA operations (the kernel's mm/vma.c): merge, split,
//! expand, shrink, modify, munmap, mmap_region, copy and relocate. They are
//! crate-private: the system calls in [`crate::sys`] are built on them, and
//! the crate's own tests exercise them directly, as the kernel's userland
//! tests do.

pub(crate) mod account;
pub(crate) mod anon;
pub(crate) mod copy;
pub(crate) mod merge;
pub(crate) mod mmap_region;
pub(crate) mod modify;
pub(crate) mod munmap;
pub(crate) mod relocate;
pub(crate) mod split;
pub(crate) mod vmg;
