//! The test fixture of the ported kernel tests: an address space with a
//! recording environment, and the kernel harness's helpers
//! (`alloc_and_link_vma`, `merge_new`, `merge_existing`, `cleanup_mm`,
//! `vmg_set_range`, `vma_set_dummy_anon_vma`, `vma_write_started`).
//! Every operation it performs is followed by a full `validate`.

use super::Failure;
use crate::anon_vma::AnonVma;
use crate::config::Config;
use crate::core::anon::{chain_link, unlink_anon_vmas};
use crate::core::vmg::MergeState;
use crate::env::{AllocSite, RecordingEnv};
use crate::file::VmOps;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::slab::VmaId;
use crate::vma::Vma;
use alloc::format;

/// `VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE`: the flags of every
/// kernel test VMA.
pub(crate) const F: VmFlags =
    VmFlags(VmFlags::READ.0 | VmFlags::WRITE.0 | VmFlags::MAYREAD.0 | VmFlags::MAYWRITE.0);

/// The `vm_ops` with a `close` hook the kernel tests use (`dummy_close`).
pub(crate) const CLOSE_OPS: VmOps = VmOps {
    id: 1,
    open: false,
    close: true,
    may_split: false,
    page_mkwrite: false,
};

/// An address space under test.
pub(crate) struct Ctx {
    pub mm: Mm<RecordingEnv>,
}

impl Ctx {
    /// An empty address space of the default kernel; counters untracked,
    /// as the kernel's fixture links VMAs without accounting.
    pub(crate) fn new() -> Ctx {
        let mut mm = Mm::with_env(Config::default(), RecordingEnv::new());
        mm.set.untrack_stats();
        Ctx { mm }
    }

    /// `validate_mm`, as a test failure.
    pub(crate) fn validate(&self) -> Result<(), Failure> {
        self.mm.validate().map_err(|e| Failure {
            file: file!(),
            line: line!(),
            message: format!("invariant: {e}"),
        })
    }

    pub(crate) fn vma(&self, id: VmaId) -> &Vma {
        self.mm.vma(id)
    }

    pub(crate) fn vma_mut(&mut self, id: VmaId) -> &mut Vma {
        self.mm.vma_mut(id)
    }

    /// `alloc_and_link_vma`: a VMA with the dummy `vm_ops` (so not
    /// anonymous), linked into the tree.
    pub(crate) fn alloc_and_link(
        &mut self,
        start: u64,
        end: u64,
        pgoff: u64,
        flags: VmFlags,
    ) -> Result<VmaId, Failure> {
        let mut vma = Vma::new(start, end, pgoff, flags);
        vma.ops = Some(VmOps::default());
        if self.mm.find_vma_intersection(start, end).is_some() {
            return Err(Failure {
                file: file!(),
                line: line!(),
                message: format!("{start:#x}-{end:#x} overlaps"),
            });
        }
        let id = self.mm.set.link(vma);
        self.validate()?;
        Ok(id)
    }

    /// `vma_set_dummy_anon_vma` / `__vma_set_dummy_anon_vma`: the VMA uses
    /// `av` and is linked to it alone (a singular chain: not a fork child).
    pub(crate) fn set_anon_vma(&mut self, id: VmaId, av: &AnonVma) {
        let vma = self.mm.vma_mut(id);
        unlink_anon_vmas(vma);
        chain_link(vma, av);
        av.add_active(1);
        vma.anon_vma = Some(av.clone());
    }

    /// `vma_write_started`: was the VMA write-locked since the last check?
    pub(crate) fn write_started(&mut self, id: VmaId) -> bool {
        self.mm.env.write_started(id)
    }

    /// `merge_new`: finds prev and next around `vmg.start`, then merges the
    /// new range.
    pub(crate) fn merge_new(&mut self, vmg: &mut MergeState) -> Result<Option<VmaId>, Failure> {
        vmg.next = self.mm.find_vma(vmg.start);
        vmg.prev = self.mm.vma_prev_of(vmg.start);
        let r = self.mm.core().merge_new_range(vmg);
        self.validate()?;
        Ok(r)
    }

    /// `merge_existing`.
    pub(crate) fn merge_existing(
        &mut self,
        vmg: &mut MergeState,
    ) -> Result<Option<VmaId>, Failure> {
        let r = self.mm.core().merge_existing_range(vmg);
        self.validate()?;
        Ok(r)
    }

    /// `expand_existing`: `vma_expand`; `true` on success.
    pub(crate) fn expand(&mut self, vmg: &mut MergeState) -> Result<bool, Failure> {
        let r = self.mm.core().expand(vmg).is_ok();
        self.validate()?;
        Ok(r)
    }

    /// `try_merge_new_vma`: merge the new range, or link a new VMA for it.
    /// Returns the VMA and whether it was a merge.
    pub(crate) fn try_merge_new(
        &mut self,
        vmg: &mut MergeState,
        start: u64,
        end: u64,
        pgoff: u64,
        flags: VmFlags,
    ) -> Result<(VmaId, bool), Failure> {
        set_range(vmg, start, end, pgoff, flags);
        if let Some(v) = self.merge_new(vmg)? {
            check_eq!(vmg.state, crate::core::vmg::MergeOutcome::Success);
            return Ok((v, true));
        }
        check_eq!(vmg.state, crate::core::vmg::MergeOutcome::NoMerge);
        Ok((self.alloc_and_link(start, end, pgoff, flags)?, false))
    }

    /// Makes every tree preallocation fail (`fail_prealloc = true`).
    pub(crate) fn fail_prealloc(&mut self) {
        self.mm.env.fail_site = Some(AllocSite::TreeNodes);
    }

    /// `cleanup_mm`: frees every VMA; returns how many there were.
    pub(crate) fn cleanup(&mut self) -> Result<usize, Failure> {
        self.mm.env.fail_site = None;
        self.mm.env.fail_alloc = None;
        self.mm.env.write_locked.clear();
        let ids: alloc::vec::Vec<_> = self.mm.vmas().map(|(id, _)| id).collect();
        for &id in &ids {
            let mut vma = self.mm.set.unlink(id).expect("live");
            unlink_anon_vmas(&mut vma);
        }
        self.validate()?;
        Ok(ids.len())
    }
}

/// `vmg_set_range`: a new range and flags; neighbours and merge decisions
/// reset, but not the `anon_vma` (the kernel tests rely on that).
pub(crate) fn set_range(vmg: &mut MergeState, start: u64, end: u64, pgoff: u64, flags: VmFlags) {
    vmg.prev = None;
    vmg.middle = None;
    vmg.next = None;
    vmg.target = None;
    vmg.start = start;
    vmg.end = end;
    vmg.pgoff = pgoff;
    vmg.flags = flags;
    vmg.just_expand = false;
    vmg.refused = None;
}

/// `vmg_set_range_anon_vma`.
pub(crate) fn set_range_anon(
    vmg: &mut MergeState,
    start: u64,
    end: u64,
    pgoff: u64,
    flags: VmFlags,
    av: Option<&AnonVma>,
) {
    set_range(vmg, start, end, pgoff, flags);
    vmg.anon_vma = av.cloned();
}

/// A zeroed merge state (`struct vma_merge_struct vmg = { .mm, .vmi }`).
pub(crate) fn empty_vmg() -> MergeState {
    MergeState::new(0, 0, VmFlags::NONE, 0)
}
