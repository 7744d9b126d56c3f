//! The internal VMA operations (the kernel's mm/vma.c): merge, split,
//! expand, shrink, modify, munmap, mmap_region, copy and relocate. They are
//! crate-private: the system calls are built on them, and the crate's own
//! tests exercise them directly, as the kernel's userland tests do.
//!
//! The state they change is a [`VmaSet`] (tree, VMA objects, `map_count`,
//! counters), whose fields only this module sees. The operations run on a
//! [`Core`]: the set borrowed together with what the operations consult
//! (the configuration), the environment, and the page state they clear or
//! move as a side effect, reached only through the [`PageState`] trait --
//! so nothing here depends on the system-call layer.

pub(crate) mod account;
pub(crate) mod anon;
pub(crate) mod copy;
pub(crate) mod hugetlb;
pub(crate) mod merge;
pub(crate) mod mmap_region;
pub(crate) mod modify;
pub(crate) mod munmap;
pub(crate) mod plan;
pub(crate) mod relocate;
pub(crate) mod set;
pub(crate) mod split;
pub(crate) mod vmg;

pub(crate) use set::VmaSet;

use crate::config::Config;
use crate::env::{AllocSite, Env};
use crate::errno::{Errno, KResult};
use crate::slab::VmaId;
use crate::vma::Vma;

/// Range-based page state that the core's operations change as a side
/// effect of unmapping or moving VMAs, kept by whoever owns the address
/// space (the model's pages and guard markers). The environment hears of
/// the same changes through [`Env::zap`] and [`Env::move_page_tables`].
pub(crate) trait PageState {
    /// `[start, end)` is no longer mapped: forget what it held.
    fn clear(&mut self, start: u64, end: u64);
    /// The page tables of `[from, from + len)` now live at `to`.
    fn move_range(&mut self, from: u64, to: u64, len: u64);
}

/// The core's operations, on a VMA set borrowed with the configuration,
/// the environment and the page state beside it.
pub(crate) struct Core<'m, E: Env> {
    set: &'m mut VmaSet,
    config: &'m Config,
    env: &'m mut E,
    /// Which pages are present (cleared by a zap, moved by relocation).
    pages: &'m mut dyn PageState,
    /// Guard markers (`MADV_GUARD_INSTALL`): cleared with the page tables
    /// on unmap, moved with them, but left by a zap.
    markers: &'m mut dyn PageState,
}

impl<'m, E: Env> Core<'m, E> {
    pub(crate) fn new(
        set: &'m mut VmaSet,
        config: &'m Config,
        env: &'m mut E,
        pages: &'m mut dyn PageState,
        markers: &'m mut dyn PageState,
    ) -> Self {
        Core {
            set,
            config,
            env,
            pages,
            markers,
        }
    }

    #[inline]
    pub(crate) fn vma(&self, id: VmaId) -> &Vma {
        self.set.vma(id)
    }

    #[inline]
    pub(crate) fn vma_mut(&mut self, id: VmaId) -> &mut Vma {
        self.set.vma_mut(id)
    }

    fn vma_at(&self, addr: u64) -> Option<VmaId> {
        self.set.vma_at(addr)
    }

    fn find_vma(&self, addr: u64) -> Option<VmaId> {
        self.set.find_vma(addr)
    }

    fn find_vma_intersection(&self, start: u64, end: u64) -> Option<VmaId> {
        self.set.find_vma_intersection(start, end)
    }

    fn vma_prev_of(&self, addr: u64) -> Option<VmaId> {
        self.set.vma_prev_of(addr)
    }

    /// Asks the environment for an allocation; ENOMEM if it refuses.
    pub(crate) fn alloc(&mut self, site: AllocSite) -> KResult<()> {
        if self.env.alloc(site) {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// `vma_iter_prealloc`: reserve tree nodes so the following store cannot fail.
    pub(crate) fn tree_prealloc(&mut self) -> KResult<()> {
        self.alloc(AllocSite::TreeNodes)?;
        self.set.tree.preallocate().map_err(|_| Errno::ENOMEM)
    }

    /// `zap_page_range`: the page tables of `[start, end)` are cleared;
    /// guard markers stay.
    fn zap(&mut self, start: u64, end: u64) {
        self.env.zap(start, end);
        self.pages.clear(start, end);
    }
}
