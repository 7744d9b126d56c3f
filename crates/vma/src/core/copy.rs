//! Copying a VMA to a new place in the same address space (`copy_vma`),
//! the first half of an mremap move.

use super::anon::{anon_vma_clone, unlink_anon_vmas};
use super::munmap::close_vma;
use super::vmg::MergeState;
use super::Core;
use crate::config::{DontunmapBesideSource, PAGE_SHIFT};
use crate::env::{AllocSite, Env};
use crate::slab::VmaId;

/// What `copy_vma` produced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Copied {
    /// The VMA now covering the destination.
    pub new: VmaId,
    /// The source, which may have been merged into `new`.
    pub src: VmaId,
    /// Page-table moves must take the rmap locks.
    pub need_rmap_locks: bool,
}

impl<E: Env> Core<'_, E> {
    /// `copy_vma`: makes `[addr, addr + len)` a copy of `src` at offset
    /// `pgoff`, merging with the neighbours there if it can. An unfaulted
    /// anonymous source takes the destination's address as its offset, so
    /// that it can merge there. `beside_source` says what a copy right
    /// beside `src` may merge with (an `MREMAP_DONTUNMAP` copy on some
    /// builds; `Merges` everywhere else). `None` on failure, with nothing
    /// changed.
    pub(crate) fn copy_vma(
        &mut self,
        src: VmaId,
        (addr, len): (u64, u64),
        mut pgoff: u64,
        beside_source: DontunmapBesideSource,
    ) -> Option<Copied> {
        let end = addr.checked_add(len)?;
        let s = self.vma(src);
        let src_start = s.start;
        if s.is_anonymous() && s.anon_vma.is_none() {
            pgoff = addr >> PAGE_SHIFT;
        }
        if self.find_vma_intersection(addr, end).is_some() {
            return None;
        }
        let mut vmg = MergeState::for_vma(self.set, None, src, addr, end);
        vmg.prev = self.vma_prev_of(addr);
        vmg.pgoff = pgoff;
        vmg.next = self.find_vma(addr);
        let beside = vmg.prev == Some(src) && self.vma(src).end == addr
            || vmg.next == Some(src) && self.vma(src).start == end;
        let merged = match beside_source {
            _ if !beside => self.merge_copied_range(&mut vmg),
            DontunmapBesideSource::Merges => self.merge_copied_range(&mut vmg),
            DontunmapBesideSource::SkipsSource => {
                vmg.prev = vmg.prev.filter(|&p| p != src);
                vmg.next = vmg.next.filter(|&n| n != src);
                self.merge_copied_range(&mut vmg)
            }
            DontunmapBesideSource::MergesNothing => None,
        };
        if let Some(new) = merged {
            let n = self.vma(new);
            let src = if src_start >= n.start && src_start < n.end {
                new
            } else {
                src
            };
            let need_rmap_locks = n.pgoff <= self.vma(src).pgoff;
            return Some(Copied {
                new,
                src,
                need_rmap_locks,
            });
        }
        let new = self.copy_vma_new(src, addr, end, pgoff)?;
        Some(Copied {
            new,
            src,
            need_rmap_locks: false,
        })
    }

    /// The no-merge half of `copy_vma`: duplicate and link.
    fn copy_vma_new(&mut self, src: VmaId, addr: u64, end: u64, pgoff: u64) -> Option<VmaId> {
        self.alloc(AllocSite::Vma).ok()?;
        let s = self.vma(src);
        let mut new = s.dup();
        let (chain, has_anon) = (s.chain.clone(), s.anon_vma.is_some());
        new.start = addr;
        new.end = end;
        new.pgoff = pgoff;
        if new.policy.is_some() {
            self.alloc(AllocSite::Policy).ok()?;
        }
        anon_vma_clone(&mut *self.env, &mut new, &chain, has_anon).ok()?;
        if new.ops.is_some_and(|o| o.open) {
            self.env.vma_open(&new);
        }
        if self.tree_prealloc().is_err() {
            close_vma(&mut *self.env, &mut new);
            unlink_anon_vmas(&mut new);
            return None;
        }
        let id = self.set.vmas.insert(new);
        self.env.vma_start_write(id);
        self.set.tree.store(addr, end, id);
        self.set.map_count += 1;
        Some(id)
    }
}
