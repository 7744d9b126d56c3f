//! The walk mprotect and mlock share (`do_mprotect_pkey`'s and
//! `apply_vma_lock_flags`' loops): visit the VMAs of `[start, end)` in
//! order, each with its part of the range and the VMA before it, stopping
//! with ENOMEM at the first hole -- the VMAs before keep their change.

use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;
use crate::slab::VmaId;

impl<E: Env> Mm<E> {
    /// The `prev` a range walk starts with: `first` itself when the range
    /// begins inside it (the part before stays), else the VMA before it.
    pub(crate) fn walk_prev(&self, first: VmaId, start: u64) -> Option<VmaId> {
        let f = self.vma(first);
        if start > f.start {
            Some(first)
        } else {
            self.vma_prev_of(f.start)
        }
    }

    /// Calls `fixup(mm, vma, prev, seg_start, seg_end)` for each VMA of
    /// `[start, end)`, beginning with `first` (which contains `start`).
    /// `fixup` leaves in `prev` the VMA now covering the segment. `at` is
    /// the caller's iterator standing for `first` (the lookup that found
    /// it), carried through the walk so no step looks up from scratch.
    pub(crate) fn walk_range(
        &mut self,
        mut at: maple::Mark,
        first: VmaId,
        start: u64,
        end: u64,
        mut fixup: impl FnMut(&mut Self, VmaId, &mut Option<VmaId>, u64, u64) -> KResult<()>,
    ) -> KResult<()> {
        let f = self.vma(first);
        let mut prev = if start > f.start {
            Some(first)
        } else {
            self.vma_prev_at(&mut at)
        };
        debug_assert_eq!(
            prev,
            self.walk_prev(first, start),
            "the iterator stands for first"
        );
        let mut nstart = start;
        let mut tmp = f.start;
        while let Some(vma) = self.find_vma_at(&mut at, nstart.max(tmp), end) {
            let v = self.vma(vma);
            if v.start != tmp {
                return Err(Errno::ENOMEM);
            }
            let seg_end = v.end.min(end);
            fixup(self, vma, &mut prev, nstart, seg_end)?;
            tmp = self.vma(prev.expect("fixup sets prev")).end;
            nstart = tmp;
            if tmp >= end {
                break;
            }
        }
        if tmp < end {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }
}
