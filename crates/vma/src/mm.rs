//! The address space (`struct mm_struct`): the VMA tree, the VMA objects,
//! `map_count`, the memory counters, the configuration it reproduces and the
//! environment it talks to.

use crate::config::{Config, PAGE_SHIFT};
use crate::env::{AllocSite, Env, NullEnv};
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::slab::{Slab, VmaId};
use crate::tree::VmaTree;
use crate::vma::Vma;
use alloc::format;
use alloc::string::String;

/// Page counters of an address space, as `/proc/PID/status` reports them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct VmStats {
    pub total_vm: u64,
    pub locked_vm: u64,
    pub data_vm: u64,
    pub exec_vm: u64,
    pub stack_vm: u64,
    /// Pages charged to overcommit accounting (`VM_ACCOUNT` VMAs).
    pub committed: u64,
}

/// A broken invariant found by [`Mm::validate`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Invariant(pub String);

impl core::fmt::Display for Invariant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address space.
pub struct Mm<E: Env = NullEnv> {
    pub(crate) tree: VmaTree,
    pub(crate) vmas: Slab<Vma>,
    pub(crate) map_count: usize,
    pub(crate) stats: VmStats,
    /// The counters follow every mapping change (false for the core's own
    /// tests, which link VMAs without accounting, as the kernel's do).
    pub(crate) stats_tracked: bool,
    /// `anon_vma` objects may be shared with another address space (fork),
    /// so their counters cannot be recounted from this one alone.
    pub(crate) anon_shared: bool,
    /// Pages the kernel charged to overcommit accounting that no
    /// `VM_ACCOUNT` VMA carries and that are never uncharged (mremap leaks
    /// some, see `sys::mremap_move`): part of `stats.committed`, left out
    /// of a recount.
    pub(crate) committed_leaked: u64,
    /// Pages still in `stats.locked_vm` whose VMAs are no longer locked:
    /// `MREMAP_DONTUNMAP` unlocks its source without uncounting it (see
    /// `sys::mremap_move`). Added to a recount of the locked VMAs.
    pub(crate) locked_leaked: u64,
    pub config: Config,
    pub env: E,
    /// Process state beside the VMAs (mmap base, brk, `def_flags`, pkeys).
    pub process: crate::sys::Process,
    /// Guard markers (`MADV_GUARD_INSTALL`), standing in for PTE markers.
    pub(crate) guards: crate::sys::GuardMap,
    /// NUMA policies of shmem files (see `sys::shared_policy`).
    pub(crate) shared_policies: crate::sys::SharedPolicies,
    /// Page presence (see `sys::pages`).
    pub(crate) pages: crate::sys::Pages,
}

impl<E: Env> Mm<E> {
    /// An empty address space reproducing `config`.
    pub fn with_env(config: Config, env: E) -> Self {
        let process = crate::sys::Process::for_config(&config);
        Mm {
            tree: VmaTree::default(),
            vmas: Slab::default(),
            map_count: 0,
            stats: VmStats::default(),
            stats_tracked: true,
            anon_shared: false,
            committed_leaked: 0,
            locked_leaked: 0,
            config,
            env,
            process,
            guards: crate::sys::GuardMap::default(),
            shared_policies: Default::default(),
            pages: Default::default(),
        }
    }

    /// Number of VMAs (`mm->map_count`).
    pub fn map_count(&self) -> usize {
        self.map_count
    }

    pub fn stats(&self) -> VmStats {
        self.stats
    }

    /// The VMA with this id, if it is still alive (ids of freed VMAs are
    /// never reused for another VMA).
    pub fn get(&self, id: VmaId) -> Option<&Vma> {
        self.vmas.get(id)
    }

    /// The VMA with this id. Internal: every id the core holds names a live
    /// VMA (the invariant `validate` checks).
    pub(crate) fn vma(&self, id: VmaId) -> &Vma {
        self.vmas.get(id).expect("VmaId of a live VMA")
    }

    pub(crate) fn vma_mut(&mut self, id: VmaId) -> &mut Vma {
        self.vmas.get_mut(id).expect("VmaId of a live VMA")
    }

    /// The VMA containing `addr`.
    pub fn vma_at(&self, addr: u64) -> Option<VmaId> {
        self.tree.load(addr).map(|(_, _, id)| id)
    }

    /// `find_vma`: the first VMA ending above `addr`.
    pub fn find_vma(&self, addr: u64) -> Option<VmaId> {
        self.tree.next_from(addr).map(|(_, _, id)| id)
    }

    /// `find_vma_intersection`: the first VMA intersecting `[start, end)`.
    pub fn find_vma_intersection(&self, start: u64, end: u64) -> Option<VmaId> {
        self.tree.find(start, end).map(|(_, _, id)| id)
    }

    /// The last VMA ending at or below `addr` (`find_vma_prev`'s prev).
    pub fn vma_prev_of(&self, addr: u64) -> Option<VmaId> {
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
    pub fn vmas(&self) -> impl DoubleEndedIterator<Item = (VmaId, &Vma)> + '_ {
        self.tree.iter().map(move |(_, _, id)| (id, self.vma(id)))
    }

    /// Asks the environment for an allocation; ENOMEM if it refuses.
    pub(crate) fn alloc(&mut self, site: AllocSite) -> KResult<()> {
        if self.env.alloc(site) {
            Ok(())
        } else {
            Err(Errno::ENOMEM)
        }
    }

    /// `vma_iter_prealloc`: reserve tree nodes so the following store cannot fail.
    pub(crate) fn tree_prealloc(&mut self) -> KResult<()> {
        self.alloc(AllocSite::TreeNodes)?;
        self.tree.preallocate().map_err(|_| Errno::ENOMEM)
    }

    /// Checks every structural invariant (the kernel's `validate_mm`, and more).
    pub fn validate(&self) -> Result<(), Invariant> {
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
            self.validate_anon(vma)?;
            count_stats(&mut recount, vma);
            prev_end = e;
            count += 1;
        }
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
        if !self.anon_shared {
            self.validate_anon_counts()?;
        }
        self.validate_guards()?;
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

    fn validate_anon(&self, vma: &Vma) -> Result<(), Invariant> {
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

    /// With no fork relatives, every `anon_vma` counter is a recount of this
    /// address space.
    fn validate_anon_counts(&self) -> Result<(), Invariant> {
        for (_, vma) in self.vmas() {
            for av in &vma.chain {
                let linked = self.vmas().filter(|(_, v)| v.chain.contains(av)).count() as u32;
                let active = self
                    .vmas()
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

impl Mm<NullEnv> {
    /// An empty address space of the default kernel with no environment.
    pub fn new(config: Config) -> Self {
        Mm::with_env(config, NullEnv)
    }
}
