//! The kernel an address space reproduces: version, build options, sysctls
//! and rlimits that change VMA behaviour. Every version- or option-dependent
//! decision in the crate reads it from here, in one visible place.

use crate::flags::VmFlags;
use alloc::vec;
use alloc::vec::Vec;

/// log2 of the base page size (x86-64: 4 KiB pages).
pub const PAGE_SHIFT: u32 = 12;
/// The base page size in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// A kernel version `major.minor.patch`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub struct KernelVersion(pub u16, pub u16, pub u16);

impl KernelVersion {
    /// Parses `6.18.44-whatever` (the `uname -r` form).
    pub fn parse(s: &str) -> Option<KernelVersion> {
        let mut it = s.split(|c: char| !c.is_ascii_digit());
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(KernelVersion(major, minor, patch))
    }
}

impl core::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Resource limits (soft values) that the VMA layer checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Rlimits {
    /// `RLIMIT_AS`: the most address space the process may map.
    pub address_space: u64,
    /// `RLIMIT_DATA`: the most private writable (data) memory.
    pub data: u64,
    /// `RLIMIT_STACK`: the most a stack may grow to.
    pub stack: u64,
    /// `RLIMIT_MEMLOCK`: the most memory that may be locked without
    /// `CAP_IPC_LOCK`.
    pub memlock: u64,
}

/// CPU features that change what the memory system calls answer, named as
/// x86-64's /proc/cpuinfo spells them. A kernel built with a feature's
/// support still behaves as without it on a CPU that lacks the feature.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CpuFeatures {
    /// `pku` (with `ospke`): protection keys. Without it `pkey_alloc`
    /// answers EINVAL, no key but -1 is accepted, execute-only memory gets
    /// no key and faults never report `SEGV_PKUERR`.
    pub pku: bool,
    /// `user_shstk`: user-space shadow stacks (`map_shadow_stack(2)`).
    pub user_shstk: bool,
    /// `la57`: 5-level paging. With it a 64-bit task may map above 47 bits
    /// when it asks to (`TASK_SIZE` becomes 56 bits).
    pub la57: bool,
}

impl CpuFeatures {
    /// The features' names, as /proc/cpuinfo spells them.
    pub const NAMES: [&'static str; 3] = ["pku", "user_shstk", "la57"];

    /// The feature called `name` (one of [`Self::NAMES`]).
    pub fn get(&self, name: &str) -> Option<bool> {
        match name {
            "pku" => Some(self.pku),
            "user_shstk" => Some(self.user_shstk),
            "la57" => Some(self.la57),
            _ => None,
        }
    }

    /// A CPU with every feature above.
    pub const ALL: CpuFeatures = CpuFeatures {
        pku: true,
        user_shstk: true,
        la57: true,
    };
    /// A CPU with none of them.
    pub const NONE: CpuFeatures = CpuFeatures {
        pku: false,
        user_shstk: false,
        la57: false,
    };
}

/// `TASK_SIZE` of a 64-bit x86 task with 4-level paging (47-bit addresses).
pub const TASK_SIZE_4_LEVEL: u64 = (1 << 47) - PAGE_SIZE;
/// `TASK_SIZE` of a 64-bit x86 task with 5-level paging (56-bit addresses).
pub const TASK_SIZE_5_LEVEL: u64 = (1 << 56) - PAGE_SIZE;

/// One huge page size the kernel has (an `hstate`) and its pool, as
/// /sys/kernel/mm/hugepages/hugepages-SIZEkB/ shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HugePool {
    /// log2 of the huge page size in bytes (21 for 2 MiB, 30 for 1 GiB).
    pub shift: u32,
    /// `nr_hugepages`: pages in the pool.
    pub nr: u64,
    /// `free_hugepages`: pages not in use.
    pub free: u64,
    /// `resv_hugepages`: free pages promised to existing mappings.
    pub resv: u64,
}

impl HugePool {
    /// An empty pool of `1 << shift`-byte pages (`nr_hugepages = 0`).
    pub const fn empty(shift: u32) -> HugePool {
        HugePool {
            shift,
            nr: 0,
            free: 0,
            resv: 0,
        }
    }

    /// The huge page size in bytes (a `shift` past 63, which no machine
    /// has, counts as 63).
    pub const fn size(&self) -> u64 {
        let shift = if self.shift > 63 { 63 } else { self.shift };
        1 << shift
    }

    /// Free pages nobody has reserved yet.
    pub fn unreserved(&self) -> u64 {
        self.free.saturating_sub(self.resv)
    }
}

/// log2 of x86-64's 2 MiB huge page size.
pub const HUGE_SHIFT_2M: u32 = 21;
/// log2 of x86-64's 1 GiB huge page size.
pub const HUGE_SHIFT_1G: u32 = 30;

/// `vm.overcommit_memory`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Overcommit {
    /// 0: heuristic; only obviously excessive commits fail.
    Guess = 0,
    /// 1: every commit succeeds.
    Always = 1,
    /// 2: commits beyond swap plus `overcommit_ratio`% of RAM fail.
    Never = 2,
}

/// Whether an `MREMAP_DONTUNMAP` copy placed right beside its own source
/// VMA merges there. The kernels measured differ by build, not by version,
/// and the reason is not pinned down: the lab probes the kernel it checks
/// (a tail moved to just past its source, with a fresh compatible VMA
/// after the destination).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DontunmapBesideSource {
    /// The source is a merge candidate like any neighbour (a 6.18.44 build
    /// without soft-dirty): the copy may join it.
    Merges,
    /// The copy never joins its source but may join the other neighbour
    /// (Debian's 6.12 and 7.2 builds).
    SkipsSource,
    /// A copy beside its source merges with nothing (Debian's 6.1 build).
    MergesNothing,
}

/// Everything about the reproduced kernel that VMA behaviour depends on.
#[derive(Clone, Debug)]
pub struct Config {
    /// The kernel release reproduced; every version switch reads it.
    pub version: KernelVersion,
    /// `CONFIG_ANON_VMA_NAME`: `PR_SET_VMA_ANON_NAME` works (EINVAL without).
    pub anon_vma_name: bool,
    /// `CONFIG_USERFAULTFD`.
    pub userfaultfd: bool,
    /// `CONFIG_TRANSPARENT_HUGEPAGE`.
    pub transparent_hugepage: bool,
    /// `CONFIG_KSM`.
    pub ksm: bool,
    /// `CONFIG_MEM_SOFT_DIRTY`: `VM_SOFTDIRTY` exists, is sticky and is set on new VMAs.
    pub soft_dirty: bool,
    /// `CONFIG_MEMORY_FAILURE`: an access to a poisoned page raises SIGBUS
    /// with `BUS_MCEERR_AR` (plain `BUS_ADRERR` without).
    pub memory_failure: bool,
    /// `CONFIG_NUMA`.
    pub numa: bool,
    /// `CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS`: the `pkey_*` system calls
    /// exist (ENOSYS without). They work only if the CPU has `pku` too; see
    /// [`Config::pkeys_enabled`].
    pub pkeys: bool,
    /// Without `pku`, the kernel's key allocation map starts full, so
    /// every `pkey_alloc` answers ENOSPC; otherwise the first one answers
    /// EINVAL and takes key 0 for good. A property of the kernel build,
    /// measured rather than derived from the version: Debian's 6.1, 6.12
    /// and 7.2 images (under qemu, with or without other CPU features)
    /// start full; a 6.18 build on an AMD EPYC does not. The lab probes
    /// the kernel it checks.
    pub pkeys_exhausted_without_pku: bool,
    /// What an `MREMAP_DONTUNMAP` copy beside its source merges with; a
    /// property of the build, probed (see [`DontunmapBesideSource`]).
    pub dontunmap_beside_source: DontunmapBesideSource,
    /// `memfd_secret` mappings are `VM_LOCKED` (counted in VmLck, checked
    /// against RLIMIT_MEMLOCK at mmap), as mainline's secretmem has done
    /// since 5.14; newer builds leave them unlocked and charge each page
    /// the file faults in to the user's locked memory instead. Measured:
    /// 6.18.44 locks; Debian's 6.12.118 and 7.2.13 charge pages. Which
    /// release (and stable sublevels) brought the change is not known
    /// here, so the lab probes the kernel it checks, as for
    /// [`Config::dontunmap_beside_source`].
    pub secretmem_locks_vma: bool,
    /// The CPU's features that change VMA behaviour.
    pub cpu: CpuFeatures,
    /// NUMA nodes with memory that the task may use (bit n = node n):
    /// `cpuset_current_mems_allowed & node_states[N_MEMORY]`. mbind drops
    /// nodes outside it and fails if none is left.
    pub numa_nodes: u64,
    /// `vm.max_map_count`.
    pub max_map_count: usize,
    /// `vm.mmap_min_addr`.
    pub mmap_min_addr: u64,
    /// `vm.overcommit_memory`.
    pub overcommit: Overcommit,
    /// `vm.overcommit_ratio` (percent).
    pub overcommit_ratio: u64,
    /// Pages of RAM and swap, for the overcommit heuristics.
    pub total_ram_pages: u64,
    /// Pages of swap.
    pub total_swap_pages: u64,
    /// `stack_guard_gap` in bytes (boot parameter; 256 pages by default).
    pub stack_guard_gap: u64,
    /// The process's resource limits.
    pub rlimits: Rlimits,
    /// `TASK_SIZE` of a 64-bit task: [`TASK_SIZE_4_LEVEL`], or
    /// [`TASK_SIZE_5_LEVEL`] on a `la57` CPU (see [`Config::with_cpu`]).
    pub task_size: u64,
    /// Holds `CAP_IPC_LOCK` (mlock beyond `RLIMIT_MEMLOCK`).
    pub cap_ipc_lock: bool,
    /// Holds `CAP_SYS_RAWIO` (may map below `mmap_min_addr`).
    pub cap_sys_rawio: bool,
    /// Holds `CAP_SYS_NICE` (`mbind(MPOL_MF_MOVE_ALL)`).
    pub cap_sys_nice: bool,
    /// The huge page sizes (`hstates`) and their pools, as the process
    /// starts. Empty without `CONFIG_HUGETLBFS`: `MAP_HUGETLB` then fails
    /// with EINVAL.
    pub huge_pools: Vec<HugePool>,
    /// log2 of the default huge page size (`default_hugepagesz`, the
    /// `Hugepagesize` of /proc/meminfo): what `MAP_HUGETLB` without a
    /// `MAP_HUGE_*` size gets.
    pub default_huge_shift: u32,
}

impl Config {
    /// The kernel on this project's machines: Linux 6.18 (x86-64) with
    /// `CONFIG_ANON_VMA_NAME` and `CONFIG_MEM_SOFT_DIRTY` off, default sysctls
    /// and a shell's default rlimits.
    pub fn linux_6_18() -> Config {
        Config::linux(KernelVersion(6, 18, 44))
    }

    /// Linux `version` (x86-64) with the build options of this project's
    /// machines, default sysctls and a shell's default rlimits. Behaviour
    /// that changed between versions follows `version` through the
    /// switches below (`mseal_6_10` ...).
    pub fn linux(version: KernelVersion) -> Config {
        Config {
            version,
            anon_vma_name: false,
            userfaultfd: true,
            transparent_hugepage: true,
            ksm: true,
            soft_dirty: false,
            memory_failure: true,
            numa: true,
            pkeys: true,
            pkeys_exhausted_without_pku: false,
            dontunmap_beside_source: DontunmapBesideSource::Merges,
            secretmem_locks_vma: true,
            cpu: CpuFeatures {
                pku: true,
                user_shstk: false,
                la57: false,
            },
            numa_nodes: 1,
            max_map_count: 65530,
            mmap_min_addr: 4096,
            overcommit: Overcommit::Guess,
            overcommit_ratio: 50,
            total_ram_pages: 6 << 20,
            total_swap_pages: 0,
            stack_guard_gap: 256 << PAGE_SHIFT,
            rlimits: Rlimits {
                address_space: RLIM_INFINITY,
                data: RLIM_INFINITY,
                stack: 8 << 20,
                memlock: 8 << 20,
            },
            task_size: TASK_SIZE_4_LEVEL,
            cap_ipc_lock: false,
            cap_sys_rawio: false,
            cap_sys_nice: false,
            huge_pools: vec![
                HugePool::empty(HUGE_SHIFT_2M),
                HugePool::empty(HUGE_SHIFT_1G),
            ],
            default_huge_shift: HUGE_SHIFT_2M,
        }
    }

    /// This configuration on a CPU with `cpu`'s features: also sets
    /// `TASK_SIZE`, which follows 5-level paging.
    pub fn with_cpu(mut self, cpu: CpuFeatures) -> Config {
        self.cpu = cpu;
        self.task_size = if cpu.la57 {
            TASK_SIZE_5_LEVEL
        } else {
            TASK_SIZE_4_LEVEL
        };
        self
    }

    /// Protection keys work: the kernel supports them and the CPU has them
    /// (x86's `arch_pkeys_enabled`, i.e. `X86_FEATURE_OSPKE`).
    pub fn pkeys_enabled(&self) -> bool {
        self.pkeys && self.cpu.pku
    }

    /// Since 6.13 hugetlb mappings find their address through the generic
    /// `arch_get_unmapped_area`, and a hint is rounded up to a huge page;
    /// x86's own `hugetlb_get_unmapped_area` before that rounded it down.
    pub fn hugetlb_hint_rounds_up(&self) -> bool {
        self.version >= KernelVersion(6, 13, 0)
    }

    /// Since 6.12 (`__mmap_region` gathering what it replaces) an mmap
    /// that cannot unmap the old range returns that error -- EINVAL from a
    /// split a hugetlb VMA refuses, say. Before, every such failure was
    /// ENOMEM, but for mseal's EPERM (6.10, 6.11).
    pub fn mmap_passes_unmap_errors(&self) -> bool {
        self.version >= KernelVersion(6, 12, 0)
    }

    /// `hstate_sizelog`: the pool a `MAP_HUGETLB` mmap with size field
    /// `log` (`(flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK`, 0 for the
    /// default size) draws from; `None` if no such size exists.
    pub fn huge_pool(&self, log: u32) -> Option<&HugePool> {
        let shift = if log == 0 {
            self.default_huge_shift
        } else {
            log
        };
        self.huge_pools.iter().find(|p| p.shift == shift)
    }

    /// Flags that never block a merge and are OR-ed into the merged VMA
    /// (`VM_STICKY`, which is also `VM_IGNORE_MERGE`).
    pub fn sticky_flags(&self) -> VmFlags {
        let mut f = VmFlags::NONE;
        if self.soft_dirty {
            f |= VmFlags::SOFTDIRTY;
        }
        if self.maybe_guard_6_18_37() {
            f |= VmFlags::MAYBE_GUARD;
        }
        f
    }

    /// `mremap(MREMAP_DONTUNMAP)` of part of a locked VMA unlocks just the
    /// moved range, splitting the source VMA as munlock would. The 6.17
    /// rewrite of `move_vma` unlocked the whole source VMA in place
    /// instead, until a later release went back: seen on 6.1 and 6.12
    /// (range), 6.18.44 (whole VMA) and 7.2.13 (range); the end of the
    /// window is not pinned down (7.0 is assumed).
    pub fn dontunmap_unlocks_moved_range(&self) -> bool {
        !self.since(6, 17, 0) || self.since(7, 0, 0)
    }

    /// The memfd seals `F_ADD_SEALS` accepts: `F_SEAL_EXEC` since 6.3
    /// ("mm/memfd: add F_SEAL_EXEC"); an unknown seal is EINVAL.
    pub fn memfd_seals(&self) -> u32 {
        use crate::sys::consts::{F_ALL_SEALS, F_SEAL_EXEC};
        if self.since(6, 3, 0) {
            F_ALL_SEALS
        } else {
            F_ALL_SEALS & !F_SEAL_EXEC
        }
    }

    /// `do_mmap` checks a memfd's write seals before it changes anything
    /// (`memfd_check_seals_mmap`, "mm: reinstate ability to map
    /// write-sealed memfd mappings read-only", 6.13, backported to 6.12
    /// stable): a shared writable mapping is EPERM, a shared read-only
    /// one loses `VM_MAYWRITE`. Before, `shmem_mmap` applied the same rule
    /// from `mmap_region` -- after a `MAP_FIXED` mapping had unmapped what
    /// it replaced, and not at all when the new range merged into a
    /// neighbour -- as 6.1 stable does since the series was backported
    /// there in 2025. Measured: 6.1.158 (`shmem_mmap`), 6.12.118, 6.18 and
    /// 7.2 (`do_mmap`). Not modelled: sublevels before those backports,
    /// where `F_SEAL_WRITE` refused shared read-only mappings too.
    pub fn memfd_seals_checked_in_do_mmap_6_12(&self) -> bool {
        self.since(6, 12, 0)
    }

    /// `/dev/zero` sets its mappings up in `mmap_prepare` since the 6.19
    /// conversion of drivers from `mmap`, so a private mapping of it gets
    /// `VM_MERGEABLE` (`PR_SET_MEMORY_MERGE`) before its merge attempt, as
    /// anonymous memory does since 6.16. Measured: 6.18.44 (after), 7.2.13
    /// (before).
    pub fn dev_zero_mmap_prepare_6_19(&self) -> bool {
        self.since(6, 19, 0)
    }

    /// Whether this kernel is `major.minor.patch` or newer.
    fn since(&self, major: u16, minor: u16, patch: u16) -> bool {
        self.version >= KernelVersion(major, minor, patch)
    }

    /// mprotect making an unfaulted private anonymous VMA read-only drops
    /// its `VM_ACCOUNT` (and commit charge) (6.7, "mm/mprotect: allow
    /// unfaulted VMAs to be unaccounted on mprotect()"); before, it stayed
    /// accounted.
    pub fn mprotect_unaccounts_unfaulted_6_7(&self) -> bool {
        self.since(6, 7, 0)
    }

    /// A new mapping between two VMAs it could each join, whose
    /// `anon_vma`s differ, joins the previous one (6.12, `mmap_region`
    /// merging through `vma_merge_new_range`); before, `next` was tried
    /// first and won.
    pub fn new_vma_merges_prev_first_6_12(&self) -> bool {
        self.since(6, 12, 0)
    }

    /// `MADV_POPULATE_READ` / `MADV_POPULATE_WRITE` fault the range in
    /// from its start on their own and stop at the first problem, a hole
    /// (ENOMEM) included (6.10, "mm/madvise: don't perform madvise VMA walk
    /// for MADV_POPULATE_(READ|WRITE)", with 631426ba1d45 on top). Before,
    /// they went through madvise's walk like other advice: holes were
    /// skipped and answered ENOMEM only once every VMA was populated,
    /// while a VMA refusing the access stopped the walk with EINVAL.
    /// Measured: 6.1.158 (walk), 6.12.118, 6.18.44, 7.2.13 (no walk).
    pub fn populate_without_walk_6_10(&self) -> bool {
        self.since(6, 10, 0)
    }

    /// The kernel's internal pseudo filesystems (sockfs, pipefs) execute
    /// nothing (`SB_I_NOEXEC`): do_mmap answers `PROT_EXEC` on a socket or
    /// a pipe with EPERM before it looks for the file's mmap hook. Before,
    /// a pipe answered ENODEV there and a socket reached its hook (ENODEV
    /// after clearing the range). Measured: 6.1.158 and 6.12.118 (old),
    /// 6.18.44 and 7.2.13 (new); the change lies between 6.12 and 6.18
    /// and is named for the first release measured with it, its commit
    /// not identified.
    pub fn pseudo_fs_noexec_6_18(&self) -> bool {
        self.since(6, 18, 0)
    }

    /// userfaultfd registration and unregistration hand the merge the
    /// page offset of the range's start (6.3, "mm/uffd: fix vma operation
    /// where start addr cuts part of vma"). Before, they passed the VMA's
    /// own offset, so a range starting inside a VMA never merged with the
    /// next one. Measured: 6.1.158 (old; the fix is not in that stable
    /// line), 6.12.118, 6.18.44 and 7.2.13 (new).
    pub fn uffd_merge_pgoff_6_3(&self) -> bool {
        self.since(6, 3, 0)
    }

    /// `MPOL_WEIGHTED_INTERLEAVE` exists (6.9, "mm/mempolicy: introduce
    /// MPOL_WEIGHTED_INTERLEAVE for weighted interleaving"): before, mode 6
    /// was past `MPOL_MAX` and mbind and set_mempolicy answered EINVAL.
    /// Measured: 6.1.158 (EINVAL), 6.12.118, 6.18.44 (taken).
    pub fn weighted_interleave_6_9(&self) -> bool {
        self.since(6, 9, 0)
    }

    /// `MPOL_F_NUMA_BALANCING` is taken with `MPOL_PREFERRED_MANY` as well
    /// as with `MPOL_BIND` (6.10, "mm/numa_balancing: allow migrate on
    /// protnone reference with MPOL_PREFERRED_MANY policy"; the version is
    /// that series' release). Before, set_mempolicy and mbind answered
    /// EINVAL. Measured: 6.1.158 (EINVAL), 6.12.118, 6.18.44 (taken).
    pub fn numa_balancing_preferred_many_6_10(&self) -> bool {
        self.since(6, 10, 0)
    }

    /// `do_mmap` works out the new VMA's flags, the execute-only
    /// protection key of a `PROT_EXEC`-only mapping included, before it
    /// chooses the address (6.10, "mm: use get_unmapped_area_vmflags()"):
    /// an mmap that then fails to find room or meets `MAP_FIXED_NOREPLACE`'s
    /// EEXIST has still taken the key. Before, the key was taken after
    /// those checks. Measured: 6.1.158 (after), 6.12.118 and 7.2.13
    /// (before).
    pub fn exec_pkey_before_placement_6_10(&self) -> bool {
        self.since(6, 10, 0)
    }

    /// On a sealed VMA, discarding advice is refused for read-only
    /// anonymous memory judged by `vma_is_anonymous` (6.17, "mm/mseal:
    /// update madvise() logic"), so a private `/dev/zero` mapping counts;
    /// before (6.10 to 6.16) any VMA with a file, `/dev/zero` included,
    /// was let through. Measured: 6.12.118 (file), 6.18.44 and 7.2.13
    /// (anonymous).
    pub fn mseal_discard_checks_vma_anonymous_6_17(&self) -> bool {
        self.since(6, 17, 0)
    }

    /// `prctl(PR_SET_MEMORY_MERGE)` exists (6.4, commit d7597f59d1d3);
    /// older kernels answer EINVAL.
    pub fn memory_merge_prctl_6_4(&self) -> bool {
        self.since(6, 4, 0)
    }

    /// A VMA with a `vm_ops->close` hook (a SysV attach, hugetlb) merges
    /// with a neighbour as long as the merge does not remove it (6.4,
    /// "mm/mmap: start distinguishing if vma can be removed in
    /// mergeability test"). Before, `is_mergeable_vma` refused any such
    /// VMA as a neighbour, though mremap still grew one in place.
    /// Measured with SysV attaches: 6.1.158 refuses, 6.12.118, 6.18.44 and
    /// 7.2.13 merge.
    pub fn close_hook_merges_unless_removed_6_4(&self) -> bool {
        self.since(6, 4, 0)
    }

    /// `mseal(2)` exists (6.10, commit 8be7258aad44); older kernels answer
    /// ENOSYS and have no `VM_SEALED`.
    pub fn mseal_6_10(&self) -> bool {
        self.since(6, 10, 0)
    }

    /// `MAP_STACK` asks for no transparent huge pages: the mapping gets
    /// `VM_NOHUGEPAGE` ("nh"); 6.7, commit c4608d1bf7c6. Before, the flag
    /// was ignored.
    pub fn map_stack_nohugepage_6_7(&self) -> bool {
        self.since(6, 7, 0)
    }

    /// `MAP_DROPPABLE` exists (6.11, commit 9651fcedf7b9); older kernels
    /// reject the mapping type with EINVAL.
    pub fn map_droppable_6_11(&self) -> bool {
        self.since(6, 11, 0)
    }

    /// `MADV_GUARD_INSTALL` / `MADV_GUARD_REMOVE` exist (6.13, commit
    /// 662df3e5c376); older kernels reject the advice with EINVAL.
    pub fn guard_regions_6_13(&self) -> bool {
        self.since(6, 13, 0)
    }

    /// Guard regions mark their VMA with the sticky `VM_MAYBE_GUARD`
    /// ("gu"), which never blocks a merge and survives splits and merges:
    /// mainline 6.19, backported to 6.18.y in 6.18.37.
    pub fn maybe_guard_6_18_37(&self) -> bool {
        self.since(6, 18, 37)
    }

    /// Since 6.16 an unfaulted VMA may merge with a faulted neighbour (and
    /// vice versa) unless the faulted one is a fork child.
    pub fn anon_merge_6_16(&self) -> bool {
        self.since(6, 16, 0)
    }

    /// Since 6.16 a new mapping of a process with `PR_SET_MEMORY_MERGE` is
    /// made `VM_MERGEABLE` before it tries to merge with its neighbours;
    /// before, the flag was added after the merge attempt, so a new mapping
    /// never merged with an older mergeable neighbour. A file whose driver
    /// still uses an `mmap` hook (rather than `mmap_prepare`) keeps the old
    /// order, as `/dev/zero` did until 6.19 (see
    /// [`Config::dev_zero_mmap_prepare_6_19`]).
    pub fn ksm_flags_before_merge_6_16(&self) -> bool {
        self.since(6, 16, 0)
    }

    /// Since 6.17 a same-size `MREMAP_FIXED` move may span several VMAs
    /// and the holes between them, and mremap checks all its arguments
    /// (a new length above `TASK_SIZE` is EINVAL) before it looks up the
    /// VMA. Before, the range had to lie in one VMA (EFAULT otherwise),
    /// and a move unmapped its destination before checking that.
    pub fn mremap_multi_vma_6_17(&self) -> bool {
        self.since(6, 17, 0)
    }

    /// userfaultfd refuses to register (and unregister) droppable memory
    /// (6.17, "userfaultfd: correctly prevent registering VM_DROPPABLE
    /// regions"); the check that 6.11 added never fired before, as it
    /// looked at the requested modes instead of the VMA's flags.
    pub fn uffd_refuses_droppable_6_17(&self) -> bool {
        self.since(6, 17, 0)
    }

    /// `UFFDIO_WRITEPROTECT` works on every VMA of its range (holes
    /// skipped), stopping with ENOENT at the first one not registered for
    /// write-protection (6.4, "mm/userfaultfd: support WP on multiple
    /// VMAs"); before, the range had to lie in one registered VMA.
    pub fn uffd_wp_spans_vmas_6_4(&self) -> bool {
        self.since(6, 4, 0)
    }

    /// `UFFDIO_CONTINUE` takes `UFFDIO_CONTINUE_MODE_WP` (6.4, "mm:
    /// userfaultfd: add UFFDIO_CONTINUE_MODE_WP to install WP PTEs").
    pub fn uffd_continue_mode_wp_6_4(&self) -> bool {
        self.since(6, 4, 0)
    }

    /// `UFFDIO_POISON` exists (6.6, "mm: userfaultfd: add new
    /// UFFDIO_POISON ioctl"; an unknown ioctl is EINVAL before). The same
    /// series made every fill check the size of any file behind the VMA
    /// (`mfill_file_over_size`), not only shmem's: a private `/dev/zero`
    /// mapping, whose file has no size, refuses every page (EFAULT).
    pub fn uffd_poison_6_6(&self) -> bool {
        self.since(6, 6, 0)
    }

    /// `UFFDIO_MOVE` exists (6.8, "userfaultfd: UFFDIO_MOVE uABI"). The
    /// same series made `UFFDIO_COPY` check its source range as it checks
    /// the destination (EINVAL), except for alignment; before, only a
    /// source that wraps was refused.
    pub fn uffd_move_6_8(&self) -> bool {
        self.since(6, 8, 0)
    }

    /// The fill ioctls look the destination VMA up and give a private one
    /// its `anon_vma` before they check that the range fits in it and is
    /// registered (6.9, "userfaultfd: use per-vma locks in userfaultfd
    /// operations"); before, only a VMA that passed every check got one.
    pub fn uffd_fill_prepares_anon_vma_first_6_9(&self) -> bool {
        self.since(6, 9, 0)
    }

    /// `UFFDIO_COPY` and `UFFDIO_CONTINUE` refuse a page holding a guard
    /// marker (EEXIST) instead of replacing it as they replace other
    /// markers. 6.18.44 replaces it, 7.2.13 refuses; taken to be 6.19,
    /// whose rework of non-present entries ("softleaf") changed which
    /// markers count as empty.
    pub fn uffd_fill_keeps_guard_6_19(&self) -> bool {
        self.since(6, 19, 0)
    }

    /// `UFFDIO_CONTINUE` past the end of the file is EFAULT, as for a hole
    /// in it; before, the file's lookup refused the offset with EINVAL.
    /// 6.18.44 answers EINVAL, 7.2.13 EFAULT; taken to be 6.19, like
    /// [`Config::uffd_fill_keeps_guard_6_19`].
    pub fn uffd_continue_past_eof_efault_6_19(&self) -> bool {
        self.since(6, 19, 0)
    }

    /// A hugetlb `UFFDIO_COPY` that finds no huge page to take answers
    /// EEXIST (its page table is there by then); before, ENOMEM. 6.12.118
    /// answers ENOMEM, 6.18.44 and 7.2.13 EEXIST; taken to be 6.13.
    pub fn uffd_hugetlb_copy_without_page_eexist_6_13(&self) -> bool {
        self.since(6, 13, 0)
    }

    /// `process_madvise` on the caller's own address space takes any
    /// advice `madvise` does (6.13, "mm/madvise: unrestrict
    /// process_madvise() for current process"); before, only
    /// `MADV_COLD`, `MADV_PAGEOUT`, `MADV_WILLNEED` and `MADV_COLLAPSE`,
    /// the advice it allows on another process to this day.
    pub fn process_madvise_self_any_advice_6_13(&self) -> bool {
        self.since(6, 13, 0)
    }

    /// `process_madvise` on the caller's own address space needs no
    /// `CAP_SYS_NICE` (6.12, "mm/madvise: process_madvise() drop
    /// capability check if same mm"); before, it answered EPERM without
    /// it.
    pub fn process_madvise_self_without_cap_6_12(&self) -> bool {
        self.since(6, 12, 0)
    }

    /// `process_madvise` checks that the advice exists before it walks
    /// the vector, so an unknown advice is EINVAL even for an empty
    /// vector; before, a process advising itself had it checked range by
    /// range, and an empty vector answered 0. Measured: 6.18.44 (per
    /// range), 7.2.13 (first); the madvise rework after 6.18 is taken to
    /// have brought it, in 6.19.
    pub fn process_madvise_advice_checked_first_6_19(&self) -> bool {
        self.since(6, 19, 0)
    }

    /// smaps names `VM_LOCKONFAULT` "lf" since 6.2; 6.1 prints "??".
    pub fn smaps_lockonfault_6_2(&self) -> bool {
        self.since(6, 2, 0)
    }

    /// What this kernel's smaps prints for the flag that the newest kernel
    /// calls `m` (`"??"` for a flag it has no name for).
    pub fn smaps_mnemonic(&self, m: &'static str) -> &'static str {
        match m {
            "lf" if !self.smaps_lockonfault_6_2() => "??",
            _ => m,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::linux_6_18()
    }
}

/// Page-aligns `len`; `None` on overflow.
pub(crate) fn page_align(len: u64) -> Option<u64> {
    len.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uname_release() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v769"),
            Some(KernelVersion(6, 18, 44))
        );
        assert_eq!(KernelVersion::parse("6.1"), Some(KernelVersion(6, 1, 0)));
        assert_eq!(KernelVersion::parse("x"), None);
    }

    #[test]
    fn switches_follow_the_version() {
        let on = |v: KernelVersion| {
            let c = Config::linux(v);
            [
                c.smaps_lockonfault_6_2(),
                c.memory_merge_prctl_6_4(),
                c.mprotect_unaccounts_unfaulted_6_7(),
                c.map_stack_nohugepage_6_7(),
                c.new_vma_merges_prev_first_6_12(),
                c.mseal_6_10(),
                c.map_droppable_6_11(),
                c.guard_regions_6_13(),
                c.anon_merge_6_16(),
                c.ksm_flags_before_merge_6_16(),
                c.mremap_multi_vma_6_17(),
                c.uffd_refuses_droppable_6_17(),
                c.maybe_guard_6_18_37(),
                c.memfd_seals_checked_in_do_mmap_6_12(),
                c.dev_zero_mmap_prepare_6_19(),
                c.populate_without_walk_6_10(),
                c.exec_pkey_before_placement_6_10(),
                c.mseal_discard_checks_vma_anonymous_6_17(),
                c.close_hook_merges_unless_removed_6_4(),
                c.uffd_wp_spans_vmas_6_4(),
                c.uffd_continue_mode_wp_6_4(),
                c.uffd_poison_6_6(),
                c.uffd_move_6_8(),
                c.uffd_fill_prepares_anon_vma_first_6_9(),
                c.uffd_fill_keeps_guard_6_19(),
                c.uffd_continue_past_eof_efault_6_19(),
                c.uffd_hugetlb_copy_without_page_eexist_6_13(),
                c.weighted_interleave_6_9(),
                c.numa_balancing_preferred_many_6_10(),
                c.pseudo_fs_noexec_6_18(),
                c.uffd_merge_pgoff_6_3(),
            ]
        };
        let count = |v| on(v).iter().filter(|&&b| b).count();
        assert_eq!(count(KernelVersion(6, 1, 158)), 0);
        assert_eq!(count(KernelVersion(6, 12, 118)), 19);
        assert!(!Config::linux(KernelVersion(6, 11, 0)).memfd_seals_checked_in_do_mmap_6_12());
        assert_eq!(count(KernelVersion(6, 18, 36)), 27);
        assert_eq!(count(KernelVersion(6, 18, 44)), 28);
        assert_eq!(count(KernelVersion(7, 2, 13)), 31);
        use crate::sys::consts::F_SEAL_EXEC;
        assert_eq!(
            Config::linux(KernelVersion(6, 1, 0)).memfd_seals() & F_SEAL_EXEC,
            0
        );
        assert_ne!(Config::default().memfd_seals() & F_SEAL_EXEC, 0);
        let c = Config::linux(KernelVersion(6, 1, 0));
        assert_eq!(c.smaps_mnemonic("lf"), "??");
        assert_eq!(Config::default().smaps_mnemonic("lf"), "lf");
    }
}
