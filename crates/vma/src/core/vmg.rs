//! The merge state (`struct vma_merge_struct`) and the compatibility rules
//! that decide whether a proposed range may join its neighbours.

use super::plan::Refusal;
use super::{Core, VmaSet};
use crate::anon_vma::AnonVma;
use crate::config::{Config, PAGE_SHIFT};
use crate::env::Env;
use crate::file::File;
use crate::flags::VmFlags;
use crate::policy::{mpol_equal, MemPolicy};
use crate::slab::VmaId;
use crate::verdict::{AnonConflict, NoMerge, Role};
use crate::vma::{AnonName, UffdCtx, Vma};

/// How a merge attempt ended (`enum vma_merge_state`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MergeOutcome {
    /// Not attempted yet.
    Start,
    /// Nothing could be merged; nothing changed.
    NoMerge,
    /// Merged: the target covers the range.
    Success,
    /// A merge was possible but an allocation failed; nothing changed.
    ErrorNomem,
}

/// A proposed range with its attributes and its neighbours
/// (`struct vma_merge_struct`). The merge functions read the proposal,
/// and write back the range the surviving VMA ends up with, the survivor
/// itself and how the attempt ended.
///
/// ```text
///   prev     middle      next
///   PPPP  mmmm[MMMM]mm  NNNN     [start, end) of middle changes, or
///   PPPP     [xxxx]     NNNN     a new range between prev and next
/// ```
#[derive(Clone, Debug)]
pub(crate) struct MergeState {
    /// The VMA below the range, if any (it need not be adjacent: the
    /// merge checks that).
    pub prev: Option<VmaId>,
    /// The existing VMA being modified (existing-range merges only).
    pub middle: Option<VmaId>,
    /// The VMA above the range, if any. An existing-range merge looks it up
    /// itself (the VMA starting where `middle` ends) when the range
    /// reaches `middle`'s end.
    pub next: Option<VmaId>,
    /// The VMA that survives and grows: set by a successful merge, and
    /// given by the caller of `expand`.
    pub target: Option<VmaId>,
    /// The VMA mremap is copying from (copied-range merges only): its
    /// fork-child status decides `anon_vma` compatibility, and a target
    /// without an `anon_vma` takes its.
    pub copied_from: Option<VmaId>,
    /// First address of the range; after a merge, of the survivor's new range.
    pub start: u64,
    /// End of the range (exclusive); after a merge, of the survivor's new range.
    pub end: u64,
    /// Page offset of `start` in the file (or the anonymous offset).
    pub pgoff: u64,
    /// The flags the range will have.
    pub flags: VmFlags,
    /// The file the range maps (`None` for anonymous memory).
    pub file: Option<File>,
    /// The range's `anon_vma` (an existing range's, or none for a new one).
    pub anon_vma: Option<AnonVma>,
    /// The NUMA policy the range will have.
    pub policy: Option<alloc::boxed::Box<MemPolicy>>,
    /// The userfaultfd context the range will be registered with.
    pub uffd_ctx: Option<UffdCtx>,
    /// The anonymous name the range will carry.
    pub anon_name: Option<AnonName>,
    /// Only expand `prev` over the range; never merge `next` (brk).
    pub just_expand: bool,
    /// `prev` grows over the range after it on its own behalf (mremap in
    /// place): before 6.4 such a growth bypassed the merge for a VMA with
    /// a `close` hook, so the hook does not refuse it.
    pub extends_prev: bool,
    /// On allocation failure report no merge instead of ENOMEM.
    pub give_up_on_oom: bool,
    /// How the last merge attempt with this state ended.
    pub state: MergeOutcome,
    /// Why the last existing-range merge was refused, when it was decided
    /// not to merge (as opposed to failing to allocate). Recorded for
    /// explanations; nothing in the merge reads it.
    pub refused: Option<Refusal>,
}

impl MergeState {
    /// A new range with no file, `anon_vma`, policy or name (`VMG_STATE`).
    pub(crate) fn new(start: u64, end: u64, flags: VmFlags, pgoff: u64) -> MergeState {
        MergeState {
            prev: None,
            middle: None,
            next: None,
            target: None,
            copied_from: None,
            start,
            end,
            pgoff,
            flags,
            file: None,
            anon_vma: None,
            policy: None,
            uffd_ctx: None,
            anon_name: None,
            just_expand: false,
            extends_prev: false,
            give_up_on_oom: false,
            state: MergeOutcome::Start,
            refused: None,
        }
    }

    /// The range `[start, end)` of the existing VMA `middle`, with all of
    /// `middle`'s attributes (`VMG_VMA_STATE`).
    pub(crate) fn for_vma(
        set: &VmaSet,
        prev: Option<VmaId>,
        middle: VmaId,
        start: u64,
        end: u64,
    ) -> MergeState {
        let m = set.vma(middle);
        let pgoff = m
            .pgoff
            .wrapping_add(start.wrapping_sub(m.start) >> PAGE_SHIFT);
        MergeState {
            prev,
            middle: Some(middle),
            file: m.file.clone(),
            anon_vma: m.anon_vma.clone(),
            policy: m.policy.clone(),
            uffd_ctx: m.uffd_ctx,
            anon_name: m.anon_name.clone(),
            ..MergeState::new(start, end, m.flags, pgoff)
        }
    }

    /// `vmg_nomem`.
    pub(crate) fn nomem(&self) -> bool {
        self.state == MergeOutcome::ErrorNomem
    }
}

/// The merge rules over a VMA set, read-only. Each rule returns the
/// reason it refused ([`NoMerge`]); the merges decide on whether it
/// refused, and explanations ([`crate::verdict`]) report the reason, so the
/// two always agree.
#[derive(Clone, Copy)]
pub(crate) struct MergeRules<'a> {
    pub set: &'a VmaSet,
    pub config: &'a Config,
}

impl VmaSet {
    /// The merge rules of this set under `config`.
    pub(crate) fn rules<'a>(&'a self, config: &'a Config) -> MergeRules<'a> {
        MergeRules { set: self, config }
    }
}

impl MergeRules<'_> {
    #[inline]
    pub(crate) fn vma(&self, id: VmaId) -> &Vma {
        self.set.vma(id)
    }

    /// `is_mergeable_vma`: policy, flags (but sticky ones), file, userfaultfd
    /// context and anon name of the neighbour match the proposal.
    fn is_mergeable_vma(&self, vmg: &MergeState, neighbour: VmaId) -> Result<(), NoMerge> {
        let vma = self.vma(neighbour);
        if !mpol_equal(vmg.policy.as_ref(), vma.policy.as_ref()) {
            return Err(NoMerge::PolicyDiffers);
        }
        let differ = vma.flags_differ(vmg.flags, self.config.sticky_flags());
        if !differ.is_empty() {
            return Err(NoMerge::FlagsDiffer { differ });
        }
        if vma.file != vmg.file {
            return Err(NoMerge::FileDiffers);
        }
        let grows_itself = vmg.extends_prev && vmg.prev == Some(neighbour);
        if !self.config.close_hook_merges_unless_removed_6_4() && vma.has_close() && !grows_itself {
            return Err(NoMerge::CloseHookBefore6_4);
        }
        if vma.uffd_ctx != vmg.uffd_ctx {
            return Err(NoMerge::UffdCtxDiffers);
        }
        if vma.anon_name != vmg.anon_name {
            return Err(NoMerge::AnonNameDiffers);
        }
        Ok(())
    }

    /// `is_mergeable_anon_vma`. Since 6.16 a faulted and an unfaulted VMA may
    /// merge unless the faulted one (or, for mremap, the VMA copied from) is a
    /// fork child; before, only an unfaulted proposal could join a neighbour
    /// with a single-entry chain.
    fn is_mergeable_anon_vma(&self, vmg: &MergeState, tgt: VmaId) -> Result<(), NoMerge> {
        let tgt = self.vma(tgt);
        let src_anon = vmg.anon_vma.as_ref();
        let tgt_anon = tgt.anon_vma.as_ref();
        let refuse = |c| Err(NoMerge::AnonVma(c));
        if !self.config.anon_merge_6_16() {
            let one_missing = src_anon.is_none() || tgt_anon.is_none();
            if one_missing && tgt.chain.len() == 1 || src_anon == tgt_anon {
                return Ok(());
            }
            return if one_missing {
                refuse(AnonConflict::ChainNotSingular {
                    chain_len: tgt.chain.len(),
                })
            } else {
                refuse(AnonConflict::BothFaulted)
            };
        }
        let fork_child = |id: Option<VmaId>| id.is_some_and(|id| self.vma(id).is_fork_child());
        match (tgt_anon, src_anon) {
            (None, Some(_)) if fork_child(vmg.middle) => {
                refuse(AnonConflict::ForkChild(Role::Range))
            }
            (None, Some(_)) if fork_child(vmg.copied_from) => {
                refuse(AnonConflict::ForkChild(Role::CopySource))
            }
            (None, Some(_)) => Ok(()),
            (Some(_), None) if tgt.is_fork_child() => {
                refuse(AnonConflict::ForkChild(Role::Neighbour))
            }
            (Some(_), None) => Ok(()),
            (t, s) if t == s => Ok(()),
            _ => refuse(AnonConflict::BothFaulted),
        }
    }

    /// `can_vma_merge_before`: the proposal may join `next` from below.
    pub(crate) fn can_vma_merge_before(
        &self,
        vmg: &MergeState,
        next: VmaId,
    ) -> Result<(), NoMerge> {
        let pglen = (vmg.end - vmg.start) >> PAGE_SHIFT;
        self.is_mergeable_vma(vmg, next)?;
        self.is_mergeable_anon_vma(vmg, next)?;
        let expected = vmg.pgoff.wrapping_add(pglen);
        let actual = self.vma(next).pgoff;
        if actual != expected {
            return Err(NoMerge::PgoffDiscontiguous { expected, actual });
        }
        Ok(())
    }

    /// `can_vma_merge_after`: the proposal may join `prev` from above.
    fn can_vma_merge_after(&self, vmg: &MergeState, prev: VmaId) -> Result<(), NoMerge> {
        self.is_mergeable_vma(vmg, prev)?;
        self.is_mergeable_anon_vma(vmg, prev)?;
        let p = self.vma(prev);
        let expected = p.pgoff.wrapping_add(p.pages());
        if vmg.pgoff != expected {
            return Err(NoMerge::PgoffDiscontiguous {
                expected,
                actual: vmg.pgoff,
            });
        }
        Ok(())
    }

    /// `can_vma_merge_left`: `prev` ends where the proposal starts and matches.
    pub(crate) fn can_vma_merge_left(&self, vmg: &MergeState) -> Result<(), NoMerge> {
        let prev = vmg.prev.ok_or(NoMerge::NoNeighbour)?;
        let end = self.vma(prev).end;
        if end != vmg.start {
            return Err(NoMerge::NotAdjacent {
                end,
                start: vmg.start,
            });
        }
        self.can_vma_merge_after(vmg, prev)
    }

    /// `can_vma_merge_right`: `next` starts where the proposal ends and
    /// matches; if merging both sides, `prev` and `next` must also agree on
    /// their `anon_vma`s.
    pub(crate) fn can_vma_merge_right(
        &self,
        vmg: &MergeState,
        can_merge_left: bool,
    ) -> Result<(), NoMerge> {
        let next = vmg.next.ok_or(NoMerge::NoNeighbour)?;
        let start = self.vma(next).start;
        if vmg.end != start {
            return Err(NoMerge::NotAdjacent {
                end: vmg.end,
                start,
            });
        }
        self.can_vma_merge_before(vmg, next)?;
        if !can_merge_left {
            return Ok(());
        }
        let prev = vmg.prev.and_then(|p| self.vma(p).anon_vma.as_ref());
        let next = self.vma(next).anon_vma.as_ref();
        if prev.is_none() || next.is_none() || prev == next {
            Ok(())
        } else {
            Err(NoMerge::PrevNextAnonVma)
        }
    }

    /// `can_merge_remove_vma`: a VMA with a `close` hook is never removed by a merge.
    pub(crate) fn can_merge_remove_vma(&self, id: VmaId) -> Result<(), NoMerge> {
        if self.vma(id).has_close() {
            Err(NoMerge::CloseHook)
        } else {
            Ok(())
        }
    }
}

impl<E: Env> Core<'_, E> {
    /// The merge rules over this core's set.
    pub(crate) fn rules(&self) -> MergeRules<'_> {
        self.set.rules(self.config)
    }

    /// `can_vma_merge_before`, decided.
    pub(crate) fn can_vma_merge_before(&self, vmg: &MergeState, next: VmaId) -> bool {
        self.rules().can_vma_merge_before(vmg, next).is_ok()
    }

    /// `can_vma_merge_left`, decided.
    pub(crate) fn can_vma_merge_left(&self, vmg: &MergeState) -> bool {
        self.rules().can_vma_merge_left(vmg).is_ok()
    }

    /// `can_vma_merge_right`, decided.
    pub(crate) fn can_vma_merge_right(&self, vmg: &MergeState, can_merge_left: bool) -> bool {
        self.rules()
            .can_vma_merge_right(vmg, can_merge_left)
            .is_ok()
    }

    /// `can_merge_remove_vma`, decided.
    pub(crate) fn can_merge_remove_vma(&self, id: VmaId) -> bool {
        self.rules().can_merge_remove_vma(id).is_ok()
    }
}
