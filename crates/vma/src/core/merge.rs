//! Merging: of a range inside an existing VMA whose attributes change
//! (`vma_merge_existing_range`), of a new range into its neighbours
//! (`vma_merge_new_range`), and the commit both end in.

use super::anon::{anon_vma_clone, unlink_anon_vmas};
use super::plan::MergePlan;
use super::vmg::{MergeOutcome, MergeState};
use super::Core;
use crate::config::PAGE_SHIFT;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::slab::VmaId;

/// What committing a decided merge writes.
#[derive(Clone, Copy, Debug)]
struct Commit {
    /// The VMA that survives; its new range is stored in the tree.
    target: VmaId,
    /// The VMA whose range becomes the merge state's `[start, end)` at its
    /// `pgoff`: the target, except where `next` takes the tail of `middle`
    /// (then `middle`, which shrinks).
    resized: VmaId,
    /// A VMA whose start moves to the merge state's `end`, its offset
    /// following: `middle` when `prev` takes its head, `next` when it
    /// takes `middle`'s tail.
    shifted: Option<VmaId>,
    /// VMAs the merge frees, in this order (`middle`, then `next`).
    removed: [Option<VmaId>; 2],
}

impl Commit {
    /// `target` grows over the range, freeing `removed`.
    fn grow(target: VmaId, removed: [Option<VmaId>; 2]) -> Commit {
        Commit {
            target,
            resized: target,
            shifted: None,
            removed,
        }
    }
}

impl<E: Env> Core<'_, E> {
    /// `dup_anon_vma`: an unfaulted `dst` that absorbs a faulted `src` must
    /// take `src`'s `anon_vma` (and chain). Returns `dst` when it did, so a
    /// failed merge can undo it.
    pub(crate) fn dup_anon_vma(&mut self, dst: VmaId, src: VmaId) -> KResult<Option<VmaId>> {
        let s = self.vma(src);
        if s.anon_vma.is_none() || self.vma(dst).anon_vma.is_some() {
            return Ok(None);
        }
        let (anon, chain) = (s.anon_vma.clone(), s.chain.clone());
        let Core { set, env, .. } = self;
        let d = set.vma_mut(dst);
        d.anon_vma = anon;
        anon_vma_clone(&mut **env, d, &chain, true)?;
        Ok(Some(dst))
    }

    /// Undoes a `dup_anon_vma` after a failed merge.
    pub(crate) fn undo_anon_dup(&mut self, anon_dup: Option<VmaId>) {
        if let Some(id) = anon_dup {
            unlink_anon_vmas(self.vma_mut(id));
        }
    }

    /// `commit_merge`: sets the range of `commit.resized` to `[vmg.start,
    /// vmg.end)` at `vmg.pgoff`, moves the start of `commit.shifted` to
    /// `vmg.end`, stores the target's range in the tree and frees what the
    /// merge removes. Fails only before changing anything.
    fn commit_merge(&mut self, vmg: &MergeState, commit: &Commit) -> KResult<()> {
        debug_assert!(vmg.start < vmg.end, "a merge leaves a non-empty VMA");
        self.tree_prealloc()?;
        let v = self.vma_mut(commit.resized);
        v.start = vmg.start;
        v.end = vmg.end;
        v.pgoff = vmg.pgoff;
        if let Some(id) = commit.shifted {
            self.shift_start(id, vmg.end);
        }
        let t = self.vma(commit.target);
        let (ts, te) = (t.start, t.end);
        self.set.tree.store(ts, te, commit.target);
        for id in commit.removed.into_iter().flatten() {
            self.free_merged(id);
        }
        Ok(())
    }

    /// Moves the start of `id` to `start`, its offset following, where a
    /// neighbour grew over part of it (or it grew over part of one).
    fn shift_start(&mut self, id: VmaId, start: u64) {
        let v = self.vma_mut(id);
        if start >= v.start {
            v.pgoff = v.pgoff.wrapping_add((start - v.start) >> PAGE_SHIFT);
        } else {
            v.pgoff = v.pgoff.wrapping_sub((v.start - start) >> PAGE_SHIFT);
        }
        v.start = start;
    }

    /// The removal half of `vma_complete`: a VMA swallowed by a merge is
    /// unlinked from its `anon_vma`s and freed (its `close` never runs: such
    /// VMAs are not merged away).
    fn free_merged(&mut self, id: VmaId) {
        let vma = self.set.vmas.remove(id);
        debug_assert!(vma.is_some(), "a merge frees only VMAs it found linked");
        if let Some(mut vma) = vma {
            unlink_anon_vmas(&mut vma);
            self.set.map_count -= 1;
        }
    }

    /// `vma_merge_existing_range`: the attributes of `[vmg.start, vmg.end)`
    /// inside `vmg.middle` are about to change to those in `vmg`; merge that
    /// range into `prev` and/or the VMA after `middle` if they match.
    /// Returns the surviving VMA, or `None` (see `vmg.state`, and
    /// `vmg.refused` for why no merge was possible).
    pub(crate) fn merge_existing_range(&mut self, vmg: &mut MergeState) -> Option<VmaId> {
        vmg.state = MergeOutcome::NoMerge;
        vmg.refused = None;
        debug_assert!(
            vmg.middle.is_some(),
            "an existing-range merge names its VMA"
        );
        let middle = vmg.middle?;
        let m_end = self.vma(middle).end;
        if vmg.end == m_end {
            vmg.next = self.set.vma_starting_at(m_end);
        }
        match self.plan_existing_merge(vmg, middle) {
            MergePlan::Refused(why) => {
                vmg.refused = Some(why);
                None
            }
            plan => self.commit_existing_merge(vmg, plan),
        }
    }

    /// Carries out a merge plan: write-locks the VMAs it changes, sets
    /// `vmg`'s range to the survivor's new one, gives the survivor an
    /// `anon_vma` if it absorbs a faulted VMA without one, and commits.
    fn commit_existing_merge(&mut self, vmg: &mut MergeState, plan: MergePlan) -> Option<VmaId> {
        let sticky = self.lock_merging(vmg, &plan);
        let (commit, dup_src) = self.existing_commit(vmg, plan)?;
        vmg.target = Some(commit.target);
        let anon_dup = match self.dup_anon_vma(commit.target, dup_src) {
            Ok(d) => d,
            Err(_) => return self.merge_failed(vmg, None),
        };
        if self.commit_merge(vmg, &commit).is_err() {
            return self.merge_failed(vmg, anon_dup);
        }
        self.vma_mut(commit.target).flags |= sticky;
        vmg.state = MergeOutcome::Success;
        Some(commit.target)
    }

    /// Write-locks `middle`, then the neighbours that grow or shrink, and
    /// returns the sticky flags the survivor keeps: those of the proposal
    /// and of every neighbour taking part.
    fn lock_merging(&mut self, vmg: &MergeState, plan: &MergePlan) -> VmFlags {
        let mask = self.config.sticky_flags();
        let mut sticky = vmg.flags & mask;
        let (prev, middle, next) = plan.vmas();
        if let Some(m) = middle {
            self.env.vma_start_write(m);
        }
        for id in [next, prev].into_iter().flatten() {
            self.env.vma_start_write(id);
            sticky |= self.vma(id).flags & mask;
        }
        sticky
    }

    /// The commit a plan makes, with the new range of the survivor written
    /// to `vmg`, and the VMA whose `anon_vma` the survivor must take if it
    /// has none. `None` for a refused plan.
    fn existing_commit(&self, vmg: &mut MergeState, plan: MergePlan) -> Option<(Commit, VmaId)> {
        let pglen = (vmg.end - vmg.start) >> PAGE_SHIFT;
        Some(match plan {
            MergePlan::Refused(_) => return None,
            MergePlan::PrevAbsorbsBoth { prev, middle, next } => {
                let (p, n) = (self.vma(prev), self.vma(next));
                (vmg.start, vmg.end, vmg.pgoff) = (p.start, n.end, p.pgoff);
                let src = if n.anon_vma.is_some() { next } else { middle };
                (Commit::grow(prev, [Some(middle), Some(next)]), src)
            }
            MergePlan::PrevAbsorbsMiddle { prev, middle } => {
                let p = self.vma(prev);
                (vmg.start, vmg.pgoff) = (p.start, p.pgoff);
                (Commit::grow(prev, [Some(middle), None]), middle)
            }
            MergePlan::PrevTakesHead { prev, middle } => {
                let p = self.vma(prev);
                (vmg.start, vmg.pgoff) = (p.start, p.pgoff);
                let commit = Commit {
                    shifted: Some(middle),
                    ..Commit::grow(prev, [None, None])
                };
                (commit, middle)
            }
            MergePlan::NextAbsorbsMiddle { middle, next } => {
                let n = self.vma(next);
                (vmg.end, vmg.pgoff) = (n.end, n.pgoff.wrapping_sub(pglen));
                (Commit::grow(next, [Some(middle), None]), middle)
            }
            MergePlan::NextTakesTail { middle, next } => {
                let m = self.vma(middle);
                (vmg.start, vmg.end, vmg.pgoff) = (m.start, vmg.start, m.pgoff);
                let commit = Commit {
                    target: next,
                    resized: middle,
                    shifted: Some(next),
                    removed: [None, None],
                };
                (commit, middle)
            }
        })
    }

    /// A decided merge could not be committed (an allocation failed):
    /// undoes the `anon_vma` duplication and reports ENOMEM, unless the
    /// caller asked to give up quietly. Nothing else had changed.
    fn merge_failed(&mut self, vmg: &mut MergeState, anon_dup: Option<VmaId>) -> Option<VmaId> {
        self.undo_anon_dup(anon_dup);
        if !vmg.give_up_on_oom {
            vmg.state = MergeOutcome::ErrorNomem;
        }
        None
    }

    /// `vma_merge_new_range`: a new range `[vmg.start, vmg.end)` lies
    /// between `vmg.prev` and `vmg.next` (the caller has made it free);
    /// expand whichever neighbours match over it.
    pub(crate) fn merge_new_range(&mut self, vmg: &mut MergeState) -> Option<VmaId> {
        let end = vmg.end;
        vmg.state = MergeOutcome::NoMerge;
        if vmg.flags.intersects(crate::flags::VmFlags::SPECIAL)
            || (vmg.prev.is_none() && vmg.next.is_none())
        {
            return None;
        }
        let left = vmg.prev.filter(|_| self.can_vma_merge_left(vmg));
        let right = vmg
            .next
            .filter(|_| !vmg.just_expand && self.can_vma_merge_right(vmg, left.is_some()));
        if let Some(n) = right {
            vmg.end = self.vma(n).end;
            vmg.target = Some(n);
        }
        if let Some(p) = left {
            vmg.start = self.vma(p).start;
            vmg.target = Some(p);
            vmg.pgoff = self.vma(p).pgoff;
            // A next with a close hook cannot be removed: prev stops short.
            if right.is_some_and(|n| !self.can_merge_remove_vma(n)) {
                vmg.end = end;
            }
        }
        let target = vmg.target?;
        self.expand(vmg).ok()?;
        vmg.state = MergeOutcome::Success;
        Some(target)
    }

    /// The new-mapping merge of `mmap_region` before 6.12: `next` is tried
    /// first, then `prev` as if the range already carried next's
    /// `anon_vma`. So between two VMAs with different `anon_vma`s a new
    /// mapping joins `next`, where 6.12 and later join `prev`.
    pub(crate) fn merge_new_range_next_first(&mut self, vmg: &mut MergeState) -> Option<VmaId> {
        vmg.state = MergeOutcome::NoMerge;
        if vmg.flags.intersects(crate::flags::VmFlags::SPECIAL) {
            return None;
        }
        let pglen = (vmg.end - vmg.start) >> PAGE_SHIFT;
        let right = vmg
            .next
            .filter(|&n| self.vma(n).start == vmg.end && self.can_vma_merge_before(vmg, n));
        let own_anon = vmg.anon_vma.clone();
        if let Some(n) = right {
            vmg.anon_vma = self.vma(n).anon_vma.clone();
        }
        let left = vmg.prev.filter(|_| self.can_vma_merge_left(vmg));
        vmg.anon_vma = own_anon;
        if let Some(n) = right {
            vmg.end = self.vma(n).end;
            vmg.pgoff = self.vma(n).pgoff.wrapping_sub(pglen);
            vmg.target = Some(n);
        }
        if let Some(p) = left {
            vmg.start = self.vma(p).start;
            vmg.pgoff = self.vma(p).pgoff;
            vmg.target = Some(p);
        }
        let target = vmg.target?;
        self.expand(vmg).ok()?;
        vmg.state = MergeOutcome::Success;
        Some(target)
    }

    /// `vma_merge_copied_range`: a new range that mremap copies `vmg.middle`
    /// into; merged as a new range, remembering where it came from.
    pub(crate) fn merge_copied_range(&mut self, vmg: &mut MergeState) -> Option<VmaId> {
        vmg.copied_from = vmg.middle.take();
        self.merge_new_range(vmg)
    }

    /// `vma_expand`: grows `vmg.target` to `[vmg.start, vmg.end)`, removing
    /// `vmg.next` if the range now covers it entirely.
    pub(crate) fn expand(&mut self, vmg: &mut MergeState) -> KResult<()> {
        debug_assert!(vmg.target.is_some(), "expand names the VMA to grow");
        let target = vmg.target.ok_or(Errno::EINVAL)?;
        let sticky_mask = self.config.sticky_flags();
        self.env.vma_start_write(target);
        let remove_next = vmg
            .next
            .filter(|&n| n != target && vmg.end == self.vma(n).end);
        let mut sticky = (vmg.flags | self.vma(target).flags) & sticky_mask;
        let mut anon_dup = None;
        if let Some(next) = remove_next {
            sticky |= self.vma(next).flags & sticky_mask;
            anon_dup = self.dup_anon_vma(target, next)?;
        }
        if let Some(src) = vmg.copied_from {
            if let Some(d) = self.dup_anon_vma(target, src)? {
                anon_dup = Some(d);
            }
        }
        if let Some(next) = remove_next {
            self.env.vma_start_write(next);
        }
        if self
            .commit_merge(vmg, &Commit::grow(target, [None, remove_next]))
            .is_err()
        {
            self.merge_failed(vmg, anon_dup);
            return Err(Errno::ENOMEM);
        }
        self.vma_mut(target).flags |= sticky;
        Ok(())
    }

    /// `vma_shrink`: trims one end of a VMA to `[start, end)`.
    pub(crate) fn shrink(&mut self, id: VmaId, start: u64, end: u64, pgoff: u64) -> KResult<()> {
        let (s, e) = {
            let v = self.vma(id);
            (v.start, v.end)
        };
        self.tree_prealloc()?;
        self.env.vma_start_write(id);
        if s < start {
            self.set.tree.erase(s, start);
        } else {
            self.set.tree.erase(end, e);
        }
        let v = self.vma_mut(id);
        v.start = start;
        v.end = end;
        v.pgoff = pgoff;
        Ok(())
    }
}
