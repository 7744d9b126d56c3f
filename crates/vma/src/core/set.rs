//! The VMA set of an address space: the tree, the VMA objects, `map_count`
//! and the memory counters. Its fields are private to `core`, so that only
//! the core's operations change the set's shape; the system calls read it
//! and adjust it through the few named methods here.

use crate::config::PAGE_SHIFT;
use crate::flags::VmFlags;
use crate::slab::{Slab, VmaId};
use crate::tree::VmaTree;
use crate::vma::Vma;
use alloc::format;
use alloc::string::String;

/// Page counters of an address space, as `/proc/PID/status` reports them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VmStats {
    /// Pages mapped (`VmSize`).
    pub total_vm: u64,
    /// Pages of `VM_LOCKED` VMAs (`VmLck`).
    pub locked_vm: u64,
    /// Pages of private writable, non-stack VMAs (`VmData`).
    pub data_vm: u64,
    /// Pages of executable, non-writable, non-stack VMAs (`VmExe` and
    /// libraries).
    pub exec_vm: u64,
    /// Pages of stack VMAs (`VmStk`).
    pub stack_vm: u64,
    /// Pages charged to overcommit accounting (`VM_ACCOUNT` VMAs).
    pub committed: u64,
}

/// A broken invariant found by [`Mm::validate`](crate::Mm::validate).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Invariant(pub String);

impl core::fmt::Display for Invariant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The VMAs of one address space and what is counted from them.
#[derive(Debug)]
pub(crate) struct VmaSet {
    pub(super) tree: VmaTree,
    pub(super) vmas: Slab<Vma>,
    /// `mm->map_count`: the number of VMAs in the tree.
    pub(super) map_count: usize,
    pub(super) stats: VmStats,
    /// The counters follow every mapping change (false for the core's own
    /// tests, which link VMAs without accounting, as the kernel's do).
    stats_tracked: bool,
    /// `anon_vma` objects may be shared with another address space (fork),
    /// so their counters cannot be recounted from this one alone.
    anon_shared: bool,
    /// Pages the kernel charged to overcommit accounting that no
    /// `VM_ACCOUNT` VMA carries and that are never uncharged (mremap leaks
    /// some, see `sys::mremap_move`): part of `stats.committed`, left out
    /// of a recount.
    pub(super) committed_leaked: u64,
    /// Pages still in `stats.locked_vm` whose VMAs are no longer locked:
    /// `MREMAP_DONTUNMAP` unlocks its source without uncounting it (see
    /// `sys::mremap_move`). Added to a recount of the locked VMAs.
    locked_leaked: u64,
    /// An empty list with capacity, lent to each unmap for the VMAs it
    /// detaches and given back when it completes, so that mmap over
    /// existing mappings allocates nothing.
    pub(super) spare_detached: alloc::vec::Vec<VmaId>,
}

impl Default for VmaSet {
    fn default() -> Self {
        VmaSet {
            tree: VmaTree::default(),
            vmas: Slab::default(),
            map_count: 0,
            stats: VmStats::default(),
            stats_tracked: true,
            anon_shared: false,
            committed_leaked: 0,
            locked_leaked: 0,
            spare_detached: alloc::vec::Vec::new(),
        }
    }
}

impl VmaSet {
    /// A copy sharing nothing mutable with this set: the VMAs under the
    /// same ids, and copies of every `anon_vma` they reach.
    pub(crate) fn deep_copy(&self) -> VmaSet {
        let mut anon = crate::anon_vma::AnonCopies::default();
        VmaSet {
            tree: self.tree.clone(),
            vmas: self.vmas.map_clone(|v| v.deep_copy(&mut anon)),
            map_count: self.map_count,
            stats: self.stats,
            stats_tracked: self.stats_tracked,
            anon_shared: self.anon_shared,
            committed_leaked: self.committed_leaked,
            locked_leaked: self.locked_leaked,
            spare_detached: alloc::vec::Vec::new(),
        }
    }

    /// Number of VMAs (`mm->map_count`).
    pub(crate) fn map_count(&self) -> usize {
        self.map_count
    }

    pub(crate) fn stats(&self) -> VmStats {
        self.stats
    }

    /// The VMA with this id, if it is still alive.
    #[inline]
    pub(crate) fn get(&self, id: VmaId) -> Option<&Vma> {
        self.vmas.get(id)
    }

    /// The VMA with this id. Every id the core hands out names a live VMA
    /// until the core frees it (the invariant `validate` checks), so a dead
    /// id here is a bug in the caller.
    #[inline]
    pub(crate) fn vma(&self, id: VmaId) -> &Vma {
        self.vmas.get(id).expect("VmaId of a live VMA")
    }

    /// The VMA with this id, to change its attributes (never its range:
    /// that is the tree's, and only the core's operations move it).
    #[inline]
    pub(crate) fn vma_mut(&mut self, id: VmaId) -> &mut Vma {
        self.vmas.get_mut(id).expect("VmaId of a live VMA")
    }

    /// The VMA containing `addr`.
    pub(crate) fn vma_at(&self, addr: u64) -> Option<VmaId> {
        self.tree.load(addr).map(|(_, _, id)| id)
    }

    /// `find_vma`: the first VMA ending above `addr`.
    pub(crate) fn find_vma(&self, addr: u64) -> Option<VmaId> {
        self.tree.next_from(addr).map(|(_, _, id)| id)
    }

    /// `find_vma_intersection`: the first VMA intersecting `[start, end)`.
    pub(crate) fn find_vma_intersection(&self, start: u64, end: u64) -> Option<VmaId> {
        self.tree.find(start, end).map(|(_, _, id)| id)
    }

    /// An iterator at `addr` for a walk over a range (`VMA_ITERATOR`):
    /// see [`Self::find_at`].
    pub(crate) fn mark(&self, addr: u64) -> maple::Mark {
        self.tree.mark(addr)
    }

    /// `find_vma_intersection(addr, end)` through a kept iterator: a walk
    /// over consecutive VMAs steps within the leaf of its last answer
    /// instead of looking each one up again.
    #[inline]
    pub(crate) fn find_at(&self, m: &mut maple::Mark, addr: u64, end: u64) -> Option<VmaId> {
        self.tree.find_at(m, addr, end).map(|(_, _, id)| id)
    }

    /// Re-aims `m` at `addr` (`vma_iter_set`).
    #[inline]
    pub(crate) fn seek(&self, m: &mut maple::Mark, addr: u64) {
        self.tree.seek(m, addr);
    }

    /// The VMA before the one `m` stands for: `vma_prev_of(m.key())`,
    /// from the mark's leaf.
    #[inline]
    pub(crate) fn prev_at(&self, m: &mut maple::Mark) -> Option<VmaId> {
        self.tree.prev_at(m).map(|(_, _, id)| id)
    }

    /// The last VMA ending at or below `addr` (`find_vma_prev`'s prev).
    pub(crate) fn vma_prev_of(&self, addr: u64) -> Option<VmaId> {
        self.tree.prev_of(addr).map(|(_, _, id)| id)
    }

    /// The VMA starting exactly at `addr`.
    pub(crate) fn vma_starting_at(&self, addr: u64) -> Option<VmaId> {
        self.tree
            .load(addr)
            .filter(|&(s, _, _)| s == addr)
            .map(|(_, _, id)| id)
    }

    /// All VMAs in address order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (VmaId, &Vma)> + '_ {
        self.tree.iter().map(move |(_, _, id)| (id, self.vma(id)))
    }

    /// Lowest `a` with `[a, a + size)` free inside `[min, max)`.
    pub(crate) fn lowest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        self.tree.lowest_gap(min, max, size)
    }

    /// Highest `a` with `[a, a + size)` free inside `[min, max)`.
    pub(crate) fn highest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        self.tree.highest_gap(min, max, size)
    }

    /// Links a fully built VMA over its range, which must be free (brk's
    /// new VMA, a fork child's copy, a seeded VMA, a test fixture's).
    /// The caller has made the tree store infallible.
    pub(crate) fn link(&mut self, vma: Vma) -> VmaId {
        debug_assert!(
            self.find_vma_intersection(vma.start, vma.end).is_none(),
            "linking over a mapped range"
        );
        let (s, e) = (vma.start, vma.end);
        let id = self.vmas.insert(vma);
        self.tree.store(s, e, id);
        self.map_count += 1;
        id
    }

    /// Takes `id` out of the tree and returns it, unfreed of its links:
    /// the caller releases them (teardown, a test fixture's cleanup).
    pub(crate) fn unlink(&mut self, id: VmaId) -> Option<Vma> {
        let vma = self.vmas.remove(id)?;
        self.tree.erase(vma.start, vma.end);
        self.map_count -= 1;
        Some(vma)
    }

    /// Every VMA object, for dropping their `anon_vma` links.
    pub(crate) fn vmas_mut(&mut self) -> impl Iterator<Item = &mut Vma> + '_ {
        self.vmas.iter_mut().map(|(_, v)| v)
    }

    /// Moves the start of `id` down to `start` over free space, its offset
    /// following (stack growth, `expand_downwards`).
    pub(crate) fn grow_down(&mut self, id: VmaId, start: u64) {
        let v = self.vma_mut(id);
        debug_assert!(start <= v.start, "growing down moves the start down");
        v.pgoff -= (v.start - start) >> PAGE_SHIFT;
        v.start = start;
        let end = v.end;
        self.tree.store(start, end, id);
    }

    #[cfg(any(test, feature = "harness"))]
    /// Counters untracked: links without accounting, as the kernel's
    /// userland tests do.
    pub(crate) fn untrack_stats(&mut self) {
        self.stats_tracked = false;
    }

    /// The `anon_vma`s may be shared with a fork relative from now on.
    pub(crate) fn share_anon(&mut self) {
        self.anon_shared = true;
    }

    /// Replaces the counters (fork: the child's are a recount).
    pub(crate) fn set_stats(&mut self, stats: VmStats) {
        self.stats = stats;
    }

    /// `vm_stat_account` for `pages` more (or, negative, fewer) pages of
    /// `flags`' kind, without `total_vm`.
    pub(crate) fn account_kind(&mut self, flags: VmFlags, pages: i64) {
        account_kind(&mut self.stats, flags, pages);
    }

    /// `total_vm` grows by `pages`.
    pub(crate) fn add_total(&mut self, pages: u64) {
        self.stats.total_vm = self.stats.total_vm.wrapping_add(pages);
    }

    /// `locked_vm` changes by `pages`.
    pub(crate) fn add_locked(&mut self, pages: i64) {
        self.stats.locked_vm = self.stats.locked_vm.wrapping_add_signed(pages);
    }

    /// Pages charged without an overcommit check (a charge given back).
    pub(crate) fn add_committed(&mut self, pages: u64) {
        self.stats.committed = self.stats.committed.wrapping_add(pages);
    }

    /// `pages` (wrapping) stay charged with no `VM_ACCOUNT` VMA to carry them.
    pub(crate) fn leak_committed(&mut self, pages: u64) {
        self.committed_leaked = self.committed_leaked.wrapping_add(pages);
    }

    /// `pages` stay in `locked_vm` with no locked VMA to carry them.
    pub(crate) fn leak_locked(&mut self, pages: u64) {
        self.locked_leaked = self.locked_leaked.wrapping_add(pages);
    }

    /// Checks every structural invariant of the set (the kernel's
    /// `validate_mm`, and more).
    pub(crate) fn validate(&self) -> Result<(), Invariant> {
        self.tree
            .validate()
            .map_err(|e| Invariant(format!("tree: {e}")))?;
        let mut prev_end = 0u64;
        let mut count = 0usize;
        let mut recount = VmStats::default();
        for (s, e, id) in self.tree.iter() {
            let Some(vma) = self.vmas.get(id) else {
                return Err(Invariant(format!(
                    "tree entry {s:#x}-{e:#x} names a freed VMA"
                )));
            };
            validate_entry(vma, s, e, prev_end)?;
            validate_anon(vma)?;
            count_stats(&mut recount, vma);
            prev_end = e;
            count += 1;
        }
        self.validate_counts(count)?;
        if !self.anon_shared {
            self.validate_anon_counts()?;
        }
        if self.stats_tracked {
            let s = self.stats;
            recount.locked_vm = recount.locked_vm.wrapping_add(self.locked_leaked);
            recount.committed = recount.committed.wrapping_add(self.committed_leaked);
            if s != recount {
                return Err(Invariant(format!(
                    "counters {s:?} but a recount gives {recount:?}"
                )));
            }
        }
        Ok(())
    }

    /// The tree, `map_count` and the slab agree on how many VMAs there are.
    fn validate_counts(&self, count: usize) -> Result<(), Invariant> {
        if self.tree.len() != count {
            return Err(Invariant(format!(
                "tree holds {} entries, {count} walked",
                self.tree.len()
            )));
        }
        if count != self.map_count {
            return Err(Invariant(format!(
                "map_count {} but the tree holds {count}",
                self.map_count
            )));
        }
        if self.vmas.len() != count {
            return Err(Invariant(format!(
                "{} VMA objects live but {count} in the tree",
                self.vmas.len()
            )));
        }
        Ok(())
    }

    /// With no fork relatives, every `anon_vma` counter is a recount of this
    /// address space.
    fn validate_anon_counts(&self) -> Result<(), Invariant> {
        for (_, vma) in self.iter() {
            for av in &vma.chain {
                let linked = self.iter().filter(|(_, v)| v.chain.contains(av)).count() as u32;
                let active = self
                    .iter()
                    .filter(|(_, v)| v.anon_vma.as_ref() == Some(av))
                    .count() as u32;
                if av.linked() != linked || av.num_active_vmas() != active {
                    return Err(Invariant(format!(
                        "{av:?}: a recount gives linked={linked} active={active}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One tree entry `[s, e)` against its VMA and the entry before it.
fn validate_entry(vma: &Vma, s: u64, e: u64, prev_end: u64) -> Result<(), Invariant> {
    if vma.start != s || vma.end != e {
        return Err(Invariant(format!(
            "VMA {:#x}-{:#x} stored in the tree as {s:#x}-{e:#x}",
            vma.start, vma.end
        )));
    }
    if s >= e {
        return Err(Invariant(format!("empty VMA at {s:#x}")));
    }
    if s < prev_end {
        return Err(Invariant(format!(
            "VMA {s:#x}-{e:#x} overlaps the one before"
        )));
    }
    if (s | e) & ((1 << PAGE_SHIFT) - 1) != 0 {
        return Err(Invariant(format!("VMA {s:#x}-{e:#x} is not page aligned")));
    }
    Ok(())
}

fn validate_anon(vma: &Vma) -> Result<(), Invariant> {
    match &vma.anon_vma {
        Some(av) if !vma.chain.contains(av) => Err(Invariant(format!(
            "VMA {:#x}-{:#x}: its anon_vma is not on its chain",
            vma.start, vma.end
        ))),
        None if !vma.chain.is_empty() => Err(Invariant(format!(
            "VMA {:#x}-{:#x}: chain without an anon_vma",
            vma.start, vma.end
        ))),
        _ => Ok(()),
    }
}

/// Adds one VMA to the counters as `vm_stat_account` and accounting do.
pub(crate) fn count_stats(stats: &mut VmStats, vma: &Vma) {
    let pages = vma.pages();
    stats.total_vm += pages;
    if vma.flags.contains(VmFlags::LOCKED) {
        stats.locked_vm += pages;
    }
    account_kind(stats, vma.flags, pages as i64);
    if vma.flags.contains(VmFlags::ACCOUNT) {
        stats.committed += pages;
    }
}

/// `vm_stat_account` minus `total_vm`: exec, stack or data by the flags.
pub(crate) fn account_kind(stats: &mut VmStats, flags: VmFlags, pages: i64) {
    let slot = if flags & (VmFlags::EXEC | VmFlags::WRITE | VmFlags::STACK) == VmFlags::EXEC {
        &mut stats.exec_vm
    } else if flags.contains(VmFlags::STACK) {
        &mut stats.stack_vm
    } else if flags & (VmFlags::WRITE | VmFlags::SHARED | VmFlags::STACK) == VmFlags::WRITE {
        &mut stats.data_vm
    } else {
        return;
    };
    *slot = slot.wrapping_add_signed(pages);
}
