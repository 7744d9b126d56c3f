//! Merging: of a range inside an existing VMA whose attributes change
//! (`vma_merge_existing_range`), of a new range into its neighbours
//! (`vma_merge_new_range`), and the commit both end in.

use super::anon::{anon_vma_clone, unlink_anon_vmas};
use super::vmg::{MergeOutcome, MergeState};
use super::Core;
use crate::config::PAGE_SHIFT;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::slab::VmaId;

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
        let d = set.vmas.get_mut(dst).expect("live VMA");
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

    /// `commit_merge`: sets the surviving VMA's range, trims the adjusted
    /// neighbour, rewrites the tree and frees what the merge removes. Fails
    /// only before changing anything.
    pub(crate) fn commit_merge(&mut self, vmg: &MergeState) -> KResult<()> {
        let target = vmg.target.expect("merge has a target");
        let vma = if vmg.adjust_next_start {
            vmg.middle.expect("middle")
        } else {
            target
        };
        self.tree_prealloc()?;
        {
            let v = self.vma_mut(vma);
            v.start = vmg.start;
            v.end = vmg.end;
            v.pgoff = vmg.pgoff;
        }
        if vmg.adjust_middle_start {
            let m = self.vma_mut(vmg.middle.expect("middle"));
            m.pgoff = m.pgoff.wrapping_add((vmg.end - m.start) >> PAGE_SHIFT);
            m.start = vmg.end;
        } else if vmg.adjust_next_start {
            let n = self.vma_mut(vmg.next.expect("next"));
            n.pgoff = n.pgoff.wrapping_sub((n.start - vmg.end) >> PAGE_SHIFT);
            n.start = vmg.end;
        }
        let t = self.vma(target);
        let (ts, te) = (t.start, t.end);
        self.set.tree.store(ts, te, target);
        if vmg.remove_middle {
            self.free_merged(vmg.middle.expect("middle"));
        }
        if vmg.remove_next {
            self.free_merged(vmg.next.expect("next"));
        }
        Ok(())
    }

    /// The removal half of `vma_complete`: a VMA swallowed by a merge is
    /// unlinked from its `anon_vma`s and freed (its `close` never runs: such
    /// VMAs are not merged away).
    fn free_merged(&mut self, id: VmaId) {
        let mut vma = self.set.vmas.remove(id).expect("live VMA");
        unlink_anon_vmas(&mut vma);
        self.set.map_count -= 1;
    }

    /// `vma_merge_existing_range`: the attributes of `[vmg.start, vmg.end)`
    /// inside `vmg.middle` are about to change to those in `vmg`; merge that
    /// range into `prev` and/or the VMA after `middle` if they match.
    /// Returns the surviving VMA, or `None` (see `vmg.state`).
    pub(crate) fn merge_existing_range(&mut self, vmg: &mut MergeState) -> Option<VmaId> {
        let mut sticky = vmg.flags & self.config.sticky_flags();
        let middle = vmg.middle.expect("existing merge names its VMA");
        let (start, end) = (vmg.start, vmg.end);
        let (m_start, m_end, m_pgoff) = {
            let m = self.vma(middle);
            (m.start, m.end, m.pgoff)
        };
        let left_side = start == m_start;
        let right_side = end == m_end;
        vmg.state = MergeOutcome::NoMerge;
        if vmg.flags.intersects(crate::flags::VmFlags::SPECIAL) || (!left_side && !right_side) {
            return None;
        }
        let merge_left = left_side && self.can_vma_merge_left(vmg);
        let mut merge_right = false;
        let mut next = None;
        if right_side {
            next = self.set.vma_starting_at(m_end);
            vmg.next = next;
            merge_right = self.can_vma_merge_right(vmg, merge_left);
        }
        if !merge_left && !merge_right {
            return None;
        }
        let mut merge_both = merge_left && merge_right;
        vmg.remove_middle = left_side && right_side;
        if vmg.remove_middle && !self.can_merge_remove_vma(middle) {
            return None;
        }
        vmg.remove_next = merge_both;
        if vmg.remove_next && !self.can_merge_remove_vma(next.expect("next")) {
            vmg.remove_next = false;
            merge_right = false;
            merge_both = false;
        }
        self.env.vma_start_write(middle);
        if merge_right {
            let n = next.expect("next");
            self.env.vma_start_write(n);
            vmg.target = Some(n);
            sticky |= self.vma(n).flags & self.config.sticky_flags();
        }
        if merge_left {
            let p = vmg.prev.expect("prev");
            self.env.vma_start_write(p);
            vmg.target = Some(p);
            sticky |= self.vma(p).flags & self.config.sticky_flags();
        }
        let dup = if merge_both {
            let (p, n) = (vmg.prev.expect("prev"), next.expect("next"));
            vmg.start = self.vma(p).start;
            vmg.end = self.vma(n).end;
            vmg.pgoff = self.vma(p).pgoff;
            let src = if self.vma(n).anon_vma.is_some() {
                n
            } else {
                middle
            };
            self.dup_anon_vma(p, src)
        } else if merge_left {
            let p = vmg.prev.expect("prev");
            vmg.start = self.vma(p).start;
            vmg.pgoff = self.vma(p).pgoff;
            if !vmg.remove_middle {
                vmg.adjust_middle_start = true;
            }
            self.dup_anon_vma(p, middle)
        } else {
            let n = next.expect("next");
            let pglen = (vmg.end - vmg.start) >> PAGE_SHIFT;
            if vmg.remove_middle {
                vmg.end = self.vma(n).end;
                vmg.pgoff = self.vma(n).pgoff.wrapping_sub(pglen);
            } else {
                vmg.adjust_next_start = true;
                vmg.start = m_start;
                vmg.end = start;
                vmg.pgoff = m_pgoff;
            }
            self.dup_anon_vma(n, middle)
        };
        let committed = match dup {
            Ok(anon_dup) => self.commit_merge(vmg).map_err(|e| (e, anon_dup)),
            Err(e) => Err((e, None)),
        };
        if let Err((_, anon_dup)) = committed {
            self.undo_anon_dup(anon_dup);
            if !vmg.give_up_on_oom {
                vmg.state = MergeOutcome::ErrorNomem;
            }
            return None;
        }
        let target = vmg.target.expect("target");
        self.vma_mut(target).flags |= sticky;
        vmg.state = MergeOutcome::Success;
        Some(target)
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
        let can_left = self.can_vma_merge_left(vmg);
        let can_right = !vmg.just_expand && self.can_vma_merge_right(vmg, can_left);
        if can_right {
            let n = vmg.next.expect("next");
            vmg.end = self.vma(n).end;
            vmg.target = Some(n);
        }
        if can_left {
            let p = vmg.prev.expect("prev");
            vmg.start = self.vma(p).start;
            vmg.target = Some(p);
            vmg.pgoff = self.vma(p).pgoff;
            if can_right && !self.can_merge_remove_vma(vmg.next.expect("next")) {
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
        let can_left = self.can_vma_merge_left(vmg);
        vmg.anon_vma = own_anon;
        if let Some(n) = right {
            vmg.end = self.vma(n).end;
            vmg.pgoff = self.vma(n).pgoff.wrapping_sub(pglen);
            vmg.target = Some(n);
        }
        if can_left {
            let p = vmg.prev.expect("prev");
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
        let target = vmg.target.expect("expand has a target");
        let sticky_mask = self.config.sticky_flags();
        self.env.vma_start_write(target);
        let remove_next = vmg
            .next
            .is_some_and(|n| n != target && vmg.end == self.vma(n).end);
        let mut sticky = (vmg.flags | self.vma(target).flags) & sticky_mask;
        if remove_next {
            sticky |= self.vma(vmg.next.expect("next")).flags & sticky_mask;
        }
        let mut anon_dup = None;
        if remove_next {
            anon_dup = self.dup_anon_vma(target, vmg.next.expect("next"))?;
        }
        if let Some(src) = vmg.copied_from {
            if let Some(d) = self.dup_anon_vma(target, src)? {
                anon_dup = Some(d);
            }
        }
        if remove_next {
            self.env.vma_start_write(vmg.next.expect("next"));
            vmg.remove_next = true;
        }
        if self.commit_merge(vmg).is_err() {
            self.undo_anon_dup(anon_dup);
            if !vmg.give_up_on_oom {
                vmg.state = MergeOutcome::ErrorNomem;
            }
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
