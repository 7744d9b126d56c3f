//! Splitting one VMA into two (`__split_vma`, `split_vma`).

use super::anon::anon_vma_clone;
use super::Core;
use crate::config::PAGE_SHIFT;
use crate::env::{AllocSite, Env};
use crate::errno::{Errno, KResult};
use crate::slab::VmaId;

/// Which side of the split point gets the newly allocated VMA.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum NewPart {
    /// The new VMA is the part below the split point.
    Below,
    /// The new VMA is the part above it.
    Above,
}

impl<E: Env> Core<'_, E> {
    /// `__split_vma`: splits `id` at `addr` (strictly inside it) without the
    /// `max_map_count` check. `id` keeps the other part; returns the new VMA.
    /// On failure nothing has changed.
    pub(crate) fn split_unchecked(
        &mut self,
        id: VmaId,
        addr: u64,
        part: NewPart,
    ) -> KResult<VmaId> {
        let vma = self.vma(id);
        if addr <= vma.start || addr >= vma.end {
            return Err(Errno::EINVAL);
        }
        // hugetlb_vm_op_split: a huge page cannot be cut in two.
        if super::hugetlb::vma_huge_page_size(vma).is_some_and(|size| addr % size != 0) {
            return Err(Errno::EINVAL);
        }
        if vma.ops.is_some_and(|o| o.may_split) {
            let Core { set, env, .. } = self;
            env.may_split(set.vma(id), addr)?;
        }
        self.alloc(AllocSite::Vma)?;
        let vma = self.vma(id);
        let mut new = vma.dup();
        let (chain, has_anon) = (vma.chain.clone(), vma.anon_vma.is_some());
        match part {
            NewPart::Below => new.end = addr,
            NewPart::Above => {
                new.start = addr;
                new.pgoff = new.pgoff.wrapping_add((addr - vma.start) >> PAGE_SHIFT);
            }
        }
        self.tree_prealloc()?;
        if new.policy.is_some() {
            self.alloc(AllocSite::Policy)?;
        }
        anon_vma_clone(&mut *self.env, &mut new, &chain, has_anon)?;
        if new.ops.is_some_and(|o| o.open) {
            self.env.vma_open(&new);
        }
        self.env.vma_start_write(id);
        let v = self.vma_mut(id);
        match part {
            NewPart::Below => {
                v.pgoff = v.pgoff.wrapping_add((addr - v.start) >> PAGE_SHIFT);
                v.start = addr;
            }
            NewPart::Above => v.end = addr,
        }
        let (s, e) = (new.start, new.end);
        let new_id = self.set.vmas.insert(new);
        self.env.vma_start_write(new_id);
        self.set.tree.store(s, e, new_id);
        self.set.map_count += 1;
        Ok(new_id)
    }

    /// `split_vma`: a split that would take `map_count` past
    /// `max_map_count` fails with ENOMEM.
    pub(crate) fn split(&mut self, id: VmaId, addr: u64, part: NewPart) -> KResult<VmaId> {
        if self.set.map_count >= self.config.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.split_unchecked(id, addr, part)
    }
}
