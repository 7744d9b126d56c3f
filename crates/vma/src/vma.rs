//! The virtual memory area: one contiguous range with uniform attributes.

use crate::anon_vma::AnonVma;
use crate::config::PAGE_SHIFT;
use crate::file::{File, VmOps};
use crate::flags::VmFlags;
use crate::policy::MemPolicy;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Identity of a userfaultfd context registered on a VMA.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UffdCtx(pub u32);

/// A VMA's anonymous name (`PR_SET_VMA_ANON_NAME`); compared by content.
/// An `Arc<String>` rather than an `Arc<str>`: one word in every VMA
/// instead of two, for a field almost all VMAs leave empty.
/// An anonymous VMA name (`PR_SET_VMA_ANON_NAME`), shared by the VMAs a
/// split made from one.
pub type AnonName = Arc<String>;

/// `struct vm_area_struct`, the parts that decide VMA behaviour.
#[derive(Debug)]
pub struct Vma {
    /// First byte (page aligned).
    pub start: u64,
    /// One past the last byte (page aligned).
    pub end: u64,
    /// Offset in the file, in pages; for anonymous memory the virtual page
    /// number the VMA had when created (moved with it until faulted).
    pub pgoff: u64,
    /// `vm_flags`.
    pub flags: VmFlags,
    /// The mapped file (`vm_file`).
    pub file: Option<File>,
    /// The hooks its file's `mmap` installed (`vm_ops`).
    pub ops: Option<VmOps>,
    /// The `anon_vma` anonymous pages of this VMA go to, once faulted.
    pub anon_vma: Option<AnonVma>,
    /// `anon_vma_chain`: every `anon_vma` this VMA is linked into, oldest
    /// (the root side) first. More than one entry means a fork child.
    pub(crate) chain: Chain,
    /// The VMA's NUMA policy; boxed, as most VMAs have none.
    pub policy: Option<Box<MemPolicy>>,
    /// The userfaultfd it is registered with.
    pub uffd_ctx: Option<UffdCtx>,
    /// Its anonymous name.
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
            chain: Chain::default(),
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
            chain: Chain::default(),
            policy: self.policy.clone(),
            uffd_ctx: self.uffd_ctx,
            anon_name: self.anon_name.clone(),
        }
    }

    /// A copy of this VMA, its `anon_vma` and chain replaced by their
    /// copies in `anon` (for a deep copy of the address space).
    pub(crate) fn deep_copy(&self, anon: &mut crate::anon_vma::AnonCopies) -> Vma {
        let mut v = self.dup();
        v.anon_vma = self.anon_vma.as_ref().map(|av| anon.copy(av));
        for av in &self.chain {
            v.chain.push(anon.copy(av));
        }
        v
    }

    /// The in-line size of a `Vma` and of each of its fields, in bytes (for
    /// benchmarks weighing what each field costs).
    pub fn field_sizes() -> [(&'static str, usize); 12] {
        use core::mem::size_of_val;
        let v = Vma::new(0, 0, 0, VmFlags::empty());
        [
            ("Vma", core::mem::size_of::<Vma>()),
            ("start", size_of_val(&v.start)),
            ("end", size_of_val(&v.end)),
            ("pgoff", size_of_val(&v.pgoff)),
            ("flags", size_of_val(&v.flags)),
            ("file", size_of_val(&v.file)),
            ("ops", size_of_val(&v.ops)),
            ("anon_vma", size_of_val(&v.anon_vma)),
            ("chain", size_of_val(&v.chain)),
            ("policy", size_of_val(&v.policy)),
            ("uffd_ctx", size_of_val(&v.uffd_ctx)),
            ("anon_name", size_of_val(&v.anon_name)),
        ]
    }

    /// Its length in pages.
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

    /// `vma_is_anonymous`: no `vm_ops` -- no file, or a private mapping
    /// of `/dev/zero`, which keeps its file.
    pub fn is_anonymous(&self) -> bool {
        self.ops.is_none()
            && self
                .file
                .as_ref()
                .is_none_or(|f| f.inner().kind == crate::file::FileKind::DevZero)
    }

    /// `vma_is_fork_child`: has an `anon_vma` and is linked to more than one,
    /// i.e. may share copy-on-write pages with a parent.
    pub fn is_fork_child(&self) -> bool {
        self.anon_vma.is_some() && self.chain.len() != 1
    }

    /// Whether it belongs to a SysV shared memory attach (`vm_ops ==
    /// &shm_vm_ops`): shmem underneath, but not `vma_is_shmem`, and its
    /// file places mappings itself (`shm_get_unmapped_area`).
    pub fn is_sysv_shm(&self) -> bool {
        self.ops.is_some_and(|o| o.id == crate::file::SHM_OPS_ID)
    }

    /// `vma_is_secretmem`: it maps a `memfd_secret` file.
    pub fn is_secretmem(&self) -> bool {
        self.file.as_ref().is_some_and(|f| f.inner().secretmem)
    }

    /// Whether its `vm_ops` have a `close` hook (which blocks merges
    /// that would remove it).
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

/// An `anon_vma_chain` in one word: empty (unfaulted VMAs, the common case)
/// costs nothing beyond it; a chain lives in its own allocation.
/// (Boxing the `Vec` is the point: its three-word header moves out of line
/// with the links, leaving one word in every VMA.)
#[derive(Clone, Debug, Default)]
#[allow(clippy::box_collection)]
pub(crate) struct Chain(Option<Box<Vec<AnonVma>>>);

impl Chain {
    /// Appends `av` (the chain grows by one link).
    pub(crate) fn push(&mut self, av: AnonVma) {
        self.0.get_or_insert_with(Default::default).push(av);
    }

    /// Empties the chain, returning its links in order.
    pub(crate) fn take(&mut self) -> Vec<AnonVma> {
        self.0.take().map(|b| *b).unwrap_or_default()
    }
}

impl core::ops::Deref for Chain {
    type Target = [AnonVma];
    fn deref(&self) -> &[AnonVma] {
        self.0.as_deref().map_or(&[], |v| v.as_slice())
    }
}

impl<'a> IntoIterator for &'a Chain {
    type Item = &'a AnonVma;
    type IntoIter = core::slice::Iter<'a, AnonVma>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
