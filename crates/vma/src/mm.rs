//! The address space (`struct mm_struct`): the VMA set the core operates
//! on, the configuration it reproduces, the environment it talks to, and
//! the process state the system calls keep beside the VMAs.

use crate::config::Config;
use crate::core::{Core, VmaSet};
use crate::env::{AllocSite, Env, NullEnv};
use crate::errno::KResult;
use crate::slab::VmaId;
use crate::vma::Vma;

pub(crate) use crate::core::set::count_stats;
pub use crate::core::set::{Invariant, VmStats};

/// An address space.
///
/// Only the system calls change it. What it holds is reachable by shared
/// reference alone -- VMAs as `&Vma`, counters by value, the process
/// state through [`Mm::process`] -- so nothing outside can put it in a
/// state [`Mm::validate`] refuses. The public fields are the embedder's:
/// the `config` (sysctls, rlimits, capabilities: read by every call,
/// changed by none, so any change is what changing the knob on a running
/// system does) and the `env`.
///
/// ```compile_fail,E0594
/// # use vma::{Config, Mm};
/// # use vma::sys::consts::*;
/// let mut mm = Mm::new(Config::default());
/// mm.mmap(0x10000, 0x2000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, None, 0).unwrap();
/// let (_, vma) = mm.vmas().next().unwrap();
/// vma.end = 0x11000; // a `&Vma`: cannot be assigned through
/// ```
///
/// ```compile_fail,E0616
/// # use vma::{Config, Mm, VmFlags};
/// let mut mm = Mm::new(Config::default());
/// mm.process.def_flags = VmFlags::ACCOUNT; // private: use `set_process`
/// ```
pub struct Mm<E: Env = NullEnv> {
    /// The VMAs and their counters; changed only by the core's operations.
    pub(crate) set: VmaSet,
    /// The kernel reproduced.
    pub config: Config,
    /// The embedder's side of the world (page tables, files, allocation).
    pub env: E,
    /// Process state beside the VMAs (mmap base, brk, `def_flags`, pkeys):
    /// read with [`Mm::process`], replaced through [`Mm::set_process`],
    /// which refuses values the VMAs' counters could not follow.
    pub(crate) process: crate::sys::Process,
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
            set: VmaSet::default(),
            config,
            env,
            process,
            guards: crate::sys::GuardMap::default(),
            shared_policies: Default::default(),
            pages: Default::default(),
        }
    }

    /// The core's operations on this address space's VMAs.
    pub(crate) fn core(&mut self) -> Core<'_, E> {
        let Mm {
            set,
            config,
            env,
            guards,
            pages,
            ..
        } = self;
        Core::new(set, config, env, pages, guards)
    }

    /// Number of VMAs (`mm->map_count`).
    pub fn map_count(&self) -> usize {
        self.set.map_count()
    }

    /// The address space's page counters.
    pub fn stats(&self) -> VmStats {
        self.set.stats()
    }

    /// The VMA with this id, if it is still alive (ids of freed VMAs are
    /// never reused for another VMA).
    pub fn get(&self, id: VmaId) -> Option<&Vma> {
        self.set.get(id)
    }

    /// The VMA with this id. Internal: every id the core holds names a live
    /// VMA (the invariant `validate` checks).
    #[inline]
    pub(crate) fn vma(&self, id: VmaId) -> &Vma {
        self.set.vma(id)
    }

    #[inline]
    pub(crate) fn vma_mut(&mut self, id: VmaId) -> &mut Vma {
        self.set.vma_mut(id)
    }

    /// The VMA containing `addr`.
    pub fn vma_at(&self, addr: u64) -> Option<VmaId> {
        self.set.vma_at(addr)
    }

    /// `find_vma`: the first VMA ending above `addr`.
    pub fn find_vma(&self, addr: u64) -> Option<VmaId> {
        self.set.find_vma(addr)
    }

    /// `find_vma_intersection`: the first VMA intersecting `[start, end)`.
    pub fn find_vma_intersection(&self, start: u64, end: u64) -> Option<VmaId> {
        self.set.find_vma_intersection(start, end)
    }

    /// An iterator for a range walk (see `VmaSet::find_at`).
    pub(crate) fn vma_mark(&self, addr: u64) -> maple::Mark {
        self.set.mark(addr)
    }

    /// `find_vma_intersection(addr, end)` through a kept iterator.
    #[inline]
    pub(crate) fn find_vma_at(&self, m: &mut maple::Mark, addr: u64, end: u64) -> Option<VmaId> {
        self.set.find_at(m, addr, end)
    }

    /// The VMA before the one a kept iterator stands for.
    #[inline]
    pub(crate) fn vma_prev_at(&self, m: &mut maple::Mark) -> Option<VmaId> {
        self.set.prev_at(m)
    }

    /// The last VMA ending at or below `addr` (`find_vma_prev`'s prev).
    pub fn vma_prev_of(&self, addr: u64) -> Option<VmaId> {
        self.set.vma_prev_of(addr)
    }

    /// The VMA starting exactly at `addr`.
    pub(crate) fn vma_starting_at(&self, addr: u64) -> Option<VmaId> {
        self.set.vma_starting_at(addr)
    }

    /// All VMAs in address order.
    pub fn vmas(&self) -> impl DoubleEndedIterator<Item = (VmaId, &Vma)> + '_ {
        self.set.iter()
    }

    /// Asks the environment for an allocation; ENOMEM if it refuses.
    pub(crate) fn alloc(&mut self, site: AllocSite) -> KResult<()> {
        self.core().alloc(site)
    }

    /// `vma_iter_prealloc`: reserve tree nodes so the following store cannot fail.
    pub(crate) fn tree_prealloc(&mut self) -> KResult<()> {
        self.core().tree_prealloc()
    }

    /// `may_expand_vm`: would `npages` more pages with `flags` stay within
    /// `RLIMIT_AS` and, for data mappings, `RLIMIT_DATA`?
    pub(crate) fn may_expand_vm(&self, flags: crate::flags::VmFlags, npages: u64) -> bool {
        self.set.may_expand_vm(&self.config, flags, npages)
    }

    /// The process state beside the VMAs (layout bases, brk, `def_flags`,
    /// protection keys).
    pub fn process(&self) -> &crate::sys::Process {
        &self.process
    }

    /// Replaces the process state, as a loader or a restore would set it
    /// (`mm->mmap_base`, `mm->brk`, ...). Any layout is accepted -- a
    /// layout no loader makes only makes calls fail -- but not state the
    /// system calls alone keep consistent with the VMAs: EINVAL if
    /// `def_flags` holds anything but `VM_LOCKED` (optionally with
    /// `VM_LOCKONFAULT`) and `VM_NOHUGEPAGE`, if `execute_only_pkey` is
    /// not a key (0-15), or if a key's rights have bits beyond
    /// access-disable (1) and write-disable (2).
    pub fn set_process(&mut self, process: crate::sys::Process) -> KResult<()> {
        use crate::flags::VmFlags;
        let allowed = VmFlags::LOCKED_MASK | VmFlags::NOHUGEPAGE;
        let def = process.def_flags;
        if def & !allowed != VmFlags::NONE
            || (def.contains(VmFlags::LOCKONFAULT) && !def.contains(VmFlags::LOCKED))
            || process.execute_only_pkey.is_some_and(|k| k >= 16)
            || process.pkey_rights.iter().any(|&r| r > 3)
        {
            return Err(crate::errno::Errno::EINVAL);
        }
        self.process = process;
        Ok(())
    }

    /// Checks every structural invariant (the kernel's `validate_mm`, and more).
    pub fn validate(&self) -> Result<(), Invariant> {
        self.set.validate()?;
        self.validate_guards()
    }
}

impl Mm<NullEnv> {
    /// An empty address space of the default kernel with no environment.
    pub fn new(config: Config) -> Self {
        Mm::with_env(config, NullEnv)
    }
}
