//! Changing the attributes of part of a VMA (`vma_modify` and its
//! flags/name/policy/userfaultfd variants), and `vma_merge_extend`.

use super::split::NewPart;
use super::vmg::{MergeOutcome, MergeState};
use super::Core;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::policy::MemPolicy;
use crate::slab::VmaId;
use crate::vma::{AnonName, UffdCtx};

impl<E: Env> Core<'_, E> {
    /// `vma_modify`: merge the changed range into a neighbour if possible,
    /// otherwise split it out of `vmg.middle`. Returns the VMA that now
    /// covers exactly the range (the merged one, or `middle` after splits).
    /// A failed second split leaves the first in place, as the kernel does.
    pub(crate) fn modify(&mut self, vmg: &mut MergeState) -> KResult<VmaId> {
        debug_assert!(vmg.middle.is_some(), "modify names the VMA it changes");
        let vma = vmg.middle.ok_or(Errno::EINVAL)?;
        let (start, end) = (vmg.start, vmg.end);
        if let Some(merged) = self.merge_existing_range(vmg) {
            return Ok(merged);
        }
        if vmg.nomem() {
            return Err(Errno::ENOMEM);
        }
        if self.vma(vma).start < start {
            self.split(vma, start, NewPart::Below)?;
        }
        if self.vma(vma).end > end {
            self.split(vma, end, NewPart::Above)?;
        }
        Ok(vma)
    }

    /// `vma_modify_flags`. The caller applies `flags` to the returned VMA; on
    /// a merge they are updated to the merged VMA's (sticky flags kept).
    pub(crate) fn modify_flags(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        flags: &mut VmFlags,
    ) -> KResult<VmaId> {
        let mut vmg = MergeState::for_vma(self.set, prev, vma, start, end);
        vmg.flags = *flags;
        let ret = self.modify(&mut vmg)?;
        if vmg.state == MergeOutcome::Success {
            *flags = self.vma(ret).flags;
        }
        Ok(ret)
    }

    /// `vma_modify_name`.
    pub(crate) fn modify_name(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        name: Option<AnonName>,
    ) -> KResult<VmaId> {
        let mut vmg = MergeState::for_vma(self.set, prev, vma, start, end);
        vmg.anon_name = name;
        self.modify(&mut vmg)
    }

    /// `vma_modify_policy`.
    pub(crate) fn modify_policy(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        policy: Option<MemPolicy>,
    ) -> KResult<VmaId> {
        let mut vmg = MergeState::for_vma(self.set, prev, vma, start, end);
        vmg.policy = policy.map(alloc::boxed::Box::new);
        self.modify(&mut vmg)
    }

    /// `vma_modify_flags_uffd`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn modify_flags_uffd(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        flags: VmFlags,
        ctx: Option<UffdCtx>,
        give_up_on_oom: bool,
    ) -> KResult<VmaId> {
        let mut vmg = MergeState::for_vma(self.set, prev, vma, start, end);
        if !self.config.uffd_merge_pgoff_6_3() {
            // The old register and unregister paths passed the VMA's own
            // offset even for a range starting inside it, so such a range
            // never merged with the VMA after it.
            vmg.pgoff = self.vma(vma).pgoff;
        }
        vmg.flags = flags;
        vmg.uffd_ctx = ctx;
        vmg.give_up_on_oom = give_up_on_oom;
        self.modify(&mut vmg)
    }

    /// `vma_merge_extend`: grow `vma` by `delta` bytes as a new range after
    /// it, merging with the following VMA if it matches (mremap in place).
    pub(crate) fn merge_extend(&mut self, vma: VmaId, delta: u64) -> Option<VmaId> {
        let end = self.vma(vma).end;
        let mut vmg = MergeState::for_vma(self.set, Some(vma), vma, end, end.checked_add(delta)?);
        vmg.next = self.find_vma(end);
        vmg.middle = None;
        vmg.extends_prev = true;
        self.merge_new_range(&mut vmg)
    }
}
