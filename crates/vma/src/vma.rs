//! The virtual memory area: one contiguous range with uniform attributes.

use crate::anon_vma::AnonVma;
use crate::config::PAGE_SHIFT;
use crate::file::{File, VmOps};
use crate::flags::VmFlags;
use crate::policy::MemPolicy;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Identity of a userfaultfd context registered on a VMA.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UffdCtx(pub u32);

/// A VMA's anonymous name (`PR_SET_VMA_ANON_NAME`); compared by content.
pub type AnonName = Arc<str>;

/// `struct vm_area_struct`, the parts that decide VMA behaviour.
#[derive(Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    /// Offset in the file, in pages; for anonymous memory the virtual page
    /// number the VMA had when created (moved with it until faulted).
    pub pgoff: u64,
    pub flags: VmFlags,
    pub file: Option<File>,
    pub ops: Option<VmOps>,
    /// The `anon_vma` anonymous pages of this VMA go to, once faulted.
    pub anon_vma: Option<AnonVma>,
    /// `anon_vma_chain`: every `anon_vma` this VMA is linked into, oldest
    /// (the root side) first. More than one entry means a fork child.
    pub(crate) chain: Vec<AnonVma>,
    pub policy: Option<MemPolicy>,
    pub uffd_ctx: Option<UffdCtx>,
    pub anon_name: Option<AnonName>,
}

impl Vma {
    /// A VMA with the given range and flags and nothing else, as
    /// `vm_area_alloc` followed by `vma_set_range` and `vm_flags_init`.
    pub fn new(start: u64, end: u64, pgoff: u64, flags: VmFlags) -> Vma {
        Vma {
            start,
            end,
            pgoff,
            flags,
            file: None,
            ops: None,
            anon_vma: None,
            chain: Vec::new(),
            policy: None,
            uffd_ctx: None,
            anon_name: None,
        }
    }

    /// `vm_area_dup`: every field but the `anon_vma_chain`.
    pub(crate) fn dup(&self) -> Vma {
        Vma {
            start: self.start,
            end: self.end,
            pgoff: self.pgoff,
            flags: self.flags,
            file: self.file.clone(),
            ops: self.ops,
            anon_vma: self.anon_vma.clone(),
            chain: Vec::new(),
            policy: self.policy.clone(),
            uffd_ctx: self.uffd_ctx,
            anon_name: self.anon_name.clone(),
        }
    }

    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> PAGE_SHIFT
    }

    /// Number of `anon_vma_chain` entries.
    pub fn chain_len(&self) -> usize {
        self.chain.len()
    }

    /// The `anon_vma`s this VMA is linked into, oldest first.
    pub fn chain(&self) -> &[AnonVma] {
        &self.chain
    }

    /// `vma_is_anonymous`: no `vm_ops`.
    pub fn is_anonymous(&self) -> bool {
        self.ops.is_none() && self.file.is_none()
    }

    /// `vma_is_fork_child`: has an `anon_vma` and is linked to more than one,
    /// i.e. may share copy-on-write pages with a parent.
    pub fn is_fork_child(&self) -> bool {
        self.anon_vma.is_some() && self.chain.len() != 1
    }

    pub fn has_close(&self) -> bool {
        self.ops.is_some_and(|o| o.close)
    }

    /// `vma_is_accessible`: any of read, write, exec.
    pub fn is_accessible(&self) -> bool {
        self.flags.intersects(VmFlags::ACCESS)
    }

    /// `vma_is_sealed`.
    pub fn is_sealed(&self) -> bool {
        self.flags.contains(VmFlags::SEALED)
    }
}
