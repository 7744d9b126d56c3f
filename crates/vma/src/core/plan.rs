//! Deciding an existing-range merge (the decision half of the kernel's
//! `vma_merge_existing_range`): a pure function from the merge state to a
//! [`MergePlan`], which `merge.rs` then commits. Keeping the two apart
//! means every case can be read (and drawn) on its own, and a refused
//! merge says which rule refused it.
//!
//! In the pictures, `P` is `prev`, `M` is `middle` (the VMA whose range
//! `[start, end)` changes attributes), `N` is `next`; the changed range is
//! drawn in capitals of its VMA and the unchanged part of `middle` in
//! lower case. Below each layout is the layout after the commit.

use super::vmg::{MergeRules, MergeState};
use super::Core;
use crate::env::Env;
use crate::flags::VmFlags;
use crate::slab::VmaId;
use crate::verdict::{MergeVerdict, NoMerge};

/// Why an existing-range merge was refused. Read by whoever wants to
/// explain a layout; deciding does not depend on anyone reading it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Refusal {
    /// The proposed flags include `VM_SPECIAL` (pfn, I/O, mixed maps,
    /// `VM_DONTEXPAND`): such VMAs never merge.
    Special,
    /// The range touches neither end of `middle`, so no neighbour can be
    /// adjacent to it: `mmMMmm` can only be split.
    NotAtEdge,
    /// Neither adjacent neighbour matches the proposal (flags, file,
    /// offset, policy, userfaultfd context, name or `anon_vma`).
    NoCompatibleNeighbour,
    /// The whole of `middle` would be removed, but it has a `close` hook,
    /// which a merge never runs.
    MiddleHasClose,
}

/// What an existing-range merge will do. Every variant names the VMAs it
/// touches, so committing it needs no further lookups that could fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MergePlan {
    /// No merge; the caller splits the range out of `middle` instead.
    Refused(Refusal),
    /// The range is all of `middle`, and both neighbours match: `prev`
    /// grows over `middle` and `next`, which are both freed.
    ///
    /// ```text
    ///   PPPPMMMMNNNN
    ///   PPPPPPPPPPPP
    /// ```
    PrevAbsorbsBoth {
        prev: VmaId,
        middle: VmaId,
        next: VmaId,
    },
    /// The range is all of `middle` and `prev` matches (`next` does not,
    /// or it has a `close` hook and so must stay): `prev` grows over
    /// `middle`, which is freed.
    ///
    /// ```text
    ///   PPPPMMMM        PPPPMMMMNNNN (N has close)
    ///   PPPPPPPP        PPPPPPPPNNNN
    /// ```
    PrevAbsorbsMiddle { prev: VmaId, middle: VmaId },
    /// The range is the head of `middle` and `prev` matches: `prev` grows
    /// over the head, and `middle`'s start (and offset) moves up to `end`.
    ///
    /// ```text
    ///   PPPPMMmm
    ///   PPPPPPmm
    /// ```
    PrevTakesHead { prev: VmaId, middle: VmaId },
    /// The range is all of `middle`, `next` matches and `prev` does not:
    /// `next` grows down over `middle`, which is freed.
    ///
    /// ```text
    ///   MMMMNNNN
    ///   NNNNNNNN
    /// ```
    NextAbsorbsMiddle { middle: VmaId, next: VmaId },
    /// The range is the tail of `middle` and `next` matches: `next`'s
    /// start (and offset) moves down to `start`, and `middle` ends there.
    ///
    /// ```text
    ///   mmMMNNNN
    ///   mmNNNNNN
    /// ```
    NextTakesTail { middle: VmaId, next: VmaId },
}

impl MergePlan {
    /// The VMAs the plan changes, as `(prev, middle, next)`: a neighbour
    /// is named only if it grows, shrinks or is freed.
    pub(crate) fn vmas(&self) -> (Option<VmaId>, Option<VmaId>, Option<VmaId>) {
        match *self {
            MergePlan::Refused(_) => (None, None, None),
            MergePlan::PrevAbsorbsBoth { prev, middle, next } => {
                (Some(prev), Some(middle), Some(next))
            }
            MergePlan::PrevAbsorbsMiddle { prev, middle }
            | MergePlan::PrevTakesHead { prev, middle } => (Some(prev), Some(middle), None),
            MergePlan::NextAbsorbsMiddle { middle, next }
            | MergePlan::NextTakesTail { middle, next } => (None, Some(middle), Some(next)),
        }
    }
}

impl<E: Env> Core<'_, E> {
    /// Decides an existing-range merge (see [`MergeRules::plan_existing_merge`]).
    pub(crate) fn plan_existing_merge(&self, vmg: &MergeState, middle: VmaId) -> MergePlan {
        self.rules().plan_existing_merge(vmg, middle)
    }
}

impl MergeRules<'_> {
    /// Decides how `[vmg.start, vmg.end)` of `middle`, about to take the
    /// attributes in `vmg`, merges with `vmg.prev` and `vmg.next` (which
    /// the caller looked up: `next` is the VMA starting at `middle`'s end,
    /// and is only consulted when the range reaches that end). Changes
    /// nothing.
    pub(crate) fn plan_existing_merge(&self, vmg: &MergeState, middle: VmaId) -> MergePlan {
        let m = self.vma(middle);
        debug_assert!(
            m.start <= vmg.start && vmg.start < vmg.end && vmg.end <= m.end,
            "the range lies inside middle"
        );
        debug_assert!(
            vmg.prev
                .is_none_or(|p| p == middle || self.vma(p).end <= m.start),
            "prev is middle or lies below it"
        );
        let left_side = vmg.start == m.start;
        let right_side = vmg.end == m.end;
        if vmg.flags.intersects(VmFlags::SPECIAL) {
            return MergePlan::Refused(Refusal::Special);
        }
        if !left_side && !right_side {
            return MergePlan::Refused(Refusal::NotAtEdge);
        }
        let prev = vmg
            .prev
            .filter(|_| left_side && self.can_vma_merge_left(vmg).is_ok());
        let next = vmg
            .next
            .filter(|_| right_side && self.can_vma_merge_right(vmg, prev.is_some()).is_ok());
        if left_side && right_side && (prev.is_some() || next.is_some()) {
            if self.can_merge_remove_vma(middle).is_err() {
                return MergePlan::Refused(Refusal::MiddleHasClose);
            }
            return self.whole_middle_plan(prev, middle, next);
        }
        match (prev, next) {
            (Some(prev), _) => MergePlan::PrevTakesHead { prev, middle },
            (None, Some(next)) => MergePlan::NextTakesTail { middle, next },
            (None, None) => MergePlan::Refused(Refusal::NoCompatibleNeighbour),
        }
    }

    /// The plan when all of `middle` goes, given the neighbours that match
    /// (at least one). A `next` with a `close` hook cannot be removed, so
    /// `prev` then takes `middle` alone.
    fn whole_middle_plan(
        &self,
        prev: Option<VmaId>,
        middle: VmaId,
        next: Option<VmaId>,
    ) -> MergePlan {
        match (prev, next) {
            (Some(prev), Some(next)) if self.can_merge_remove_vma(next).is_ok() => {
                MergePlan::PrevAbsorbsBoth { prev, middle, next }
            }
            (Some(prev), _) => MergePlan::PrevAbsorbsMiddle { prev, middle },
            (None, Some(next)) => MergePlan::NextAbsorbsMiddle { middle, next },
            (None, None) => MergePlan::Refused(Refusal::NoCompatibleNeighbour),
        }
    }

    /// Would all of `upper`, its attributes set again as they are, be
    /// absorbed by `lower` below it? The plan decides (prev absorbs
    /// middle, with or without next); the reason is the first rule of that
    /// path that refused.
    pub(crate) fn whole_into_prev(&self, lower: VmaId, upper: VmaId) -> MergeVerdict {
        let u = self.vma(upper);
        let (start, end) = (u.start, u.end);
        let mut vmg = MergeState::for_vma(self.set, Some(lower), upper, start, end);
        vmg.next = self.set.vma_starting_at(end);
        let lower_end = self.vma(lower).end;
        if lower_end != start {
            return MergeVerdict::Refused(NoMerge::NotAdjacent {
                end: lower_end,
                start,
            });
        }
        let merges = matches!(
            self.plan_existing_merge(&vmg, upper),
            MergePlan::PrevAbsorbsBoth { .. } | MergePlan::PrevAbsorbsMiddle { .. }
        );
        let special = vmg.flags & VmFlags::SPECIAL;
        let why = if !special.is_empty() {
            Err(NoMerge::Special { flags: special })
        } else {
            self.can_vma_merge_left(&vmg)
                .and_then(|()| self.can_merge_remove_vma(upper))
        };
        debug_assert_eq!(merges, why.is_ok(), "the plan and its reason agree");
        why.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::fixture::{Ctx, CLOSE_OPS, F};

    const PG: u64 = 0x1000;
    /// Flags that differ from `F`, so a VMA with them matches no `F` neighbour.
    const X: VmFlags = VmFlags(F.0 | VmFlags::EXEC.0);

    /// `P MM N` at pages 0, 1-2 and 3: `P` and `N` have flags `F`, `M`
    /// has `X`.
    fn pmn() -> (Ctx, VmaId, VmaId, VmaId) {
        let mut t = Ctx::new();
        let p = t.alloc_and_link(0, PG, 0, F).unwrap();
        let m = t.alloc_and_link(PG, 3 * PG, 1, X).unwrap();
        let n = t.alloc_and_link(3 * PG, 4 * PG, 3, F).unwrap();
        (t, p, m, n)
    }

    /// Plans giving `[start, end)` of `middle` the flags `flags`, with
    /// `prev` and the neighbour an existing-range merge would find; checks
    /// that deciding changed nothing.
    fn plan(
        t: &mut Ctx,
        prev: VmaId,
        middle: VmaId,
        pages: (u64, u64),
        flags: VmFlags,
    ) -> MergePlan {
        let (start, end) = (pages.0 * PG, pages.1 * PG);
        let mut vmg = MergeState::for_vma(&t.mm.set, Some(prev), middle, start, end);
        vmg.flags = flags;
        if end == t.vma(middle).end {
            vmg.next = t.mm.set.vma_starting_at(end);
        }
        let before = t.mm.map_count();
        let plan = t.mm.core().plan_existing_merge(&vmg, middle);
        assert_eq!(t.mm.map_count(), before);
        t.validate().unwrap();
        plan
    }

    #[test]
    fn each_case_gets_its_plan() {
        let (mut t, p, m, n) = pmn();
        let both = MergePlan::PrevAbsorbsBoth {
            prev: p,
            middle: m,
            next: n,
        };
        assert_eq!(plan(&mut t, p, m, (1, 3), F), both);
        let head = MergePlan::PrevTakesHead { prev: p, middle: m };
        assert_eq!(plan(&mut t, p, m, (1, 2), F), head);
        let tail = MergePlan::NextTakesTail { middle: m, next: n };
        assert_eq!(plan(&mut t, p, m, (2, 3), F), tail);
        t.vma_mut(p).flags = X | VmFlags::SHARED;
        let next_only = MergePlan::NextAbsorbsMiddle { middle: m, next: n };
        assert_eq!(plan(&mut t, p, m, (1, 3), F), next_only);
    }

    #[test]
    fn a_next_with_close_stays() {
        let (mut t, p, m, n) = pmn();
        t.vma_mut(n).ops = Some(CLOSE_OPS);
        let prev_only = MergePlan::PrevAbsorbsMiddle { prev: p, middle: m };
        assert_eq!(plan(&mut t, p, m, (1, 3), F), prev_only);
    }

    #[test]
    fn refusals_name_their_rule() {
        let (mut t, p, m, _) = pmn();
        let refused = MergePlan::Refused;
        let special = F | VmFlags::DONTEXPAND;
        assert_eq!(
            plan(&mut t, p, m, (1, 3), special),
            refused(Refusal::Special)
        );
        assert_eq!(
            plan(&mut t, p, m, (1, 3), X),
            refused(Refusal::NoCompatibleNeighbour)
        );
        t.vma_mut(m).ops = Some(CLOSE_OPS);
        assert_eq!(
            plan(&mut t, p, m, (1, 3), F),
            refused(Refusal::MiddleHasClose)
        );
        let wide = t.alloc_and_link(5 * PG, 8 * PG, 5, X).unwrap();
        assert_eq!(
            plan(&mut t, wide, wide, (6, 7), F),
            refused(Refusal::NotAtEdge)
        );
    }

    #[test]
    fn a_refused_merge_records_why() {
        let (mut t, p, m, _) = pmn();
        let mut vmg = MergeState::for_vma(&t.mm.set, Some(p), m, PG, 3 * PG);
        assert_eq!(t.merge_existing(&mut vmg).unwrap(), None);
        assert_eq!(vmg.refused, Some(Refusal::NoCompatibleNeighbour));
        vmg.flags = F;
        assert_eq!(t.merge_existing(&mut vmg).unwrap(), Some(p));
        assert_eq!(vmg.refused, None);
        assert_eq!(t.mm.map_count(), 1);
    }

    #[test]
    fn whole_into_prev_names_the_refusing_rule() {
        let (mut t, p, m, _) = pmn();
        let verdict = |t: &mut Ctx| t.mm.core().rules().whole_into_prev(p, m);
        let exec = VmFlags::EXEC;
        assert_eq!(
            verdict(&mut t),
            MergeVerdict::Refused(NoMerge::FlagsDiffer { differ: exec })
        );
        t.vma_mut(m).flags = F | VmFlags::DONTEXPAND;
        let special = NoMerge::Special {
            flags: VmFlags::DONTEXPAND,
        };
        assert_eq!(verdict(&mut t), MergeVerdict::Refused(special));
        t.vma_mut(m).flags = F;
        assert_eq!(verdict(&mut t), MergeVerdict::Merges);
        t.vma_mut(m).ops = Some(CLOSE_OPS);
        assert_eq!(verdict(&mut t), MergeVerdict::Refused(NoMerge::CloseHook));
        t.vma_mut(m).ops = None;
        t.vma_mut(m).pgoff = 7;
        let gap = NoMerge::PgoffDiscontiguous {
            expected: 1,
            actual: 7,
        };
        assert_eq!(verdict(&mut t), MergeVerdict::Refused(gap));
    }
}
