//! The Linux (x86-64) values of the system-call arguments.

/// No access.
pub const PROT_NONE: u32 = 0x0;
/// Pages may be read.
pub const PROT_READ: u32 = 0x1;
/// Pages may be written.
pub const PROT_WRITE: u32 = 0x2;
/// Pages may be executed.
pub const PROT_EXEC: u32 = 0x4;
/// Accepted and ignored on x86 (atomic operations work anyway).
pub const PROT_SEM: u32 = 0x8;
/// mprotect: extend the change down to the start of a growsdown stack VMA.
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
/// mprotect: extend the change up (no growsup VMAs exist on x86).
pub const PROT_GROWSUP: u32 = 0x0200_0000;

/// Changes are shared with every mapper and reach the file.
pub const MAP_SHARED: u32 = 0x01;
/// Copy-on-write private mapping.
pub const MAP_PRIVATE: u32 = 0x02;
/// `MAP_SHARED` that refuses unknown flags (EOPNOTSUPP).
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
/// Private memory the kernel may drop under pressure (6.11).
pub const MAP_DROPPABLE: u32 = 0x08;
/// The mask of the mapping type (shared, private, ...).
pub const MAP_TYPE: u32 = 0x0f;
/// Place exactly at the address, replacing what is there.
pub const MAP_FIXED: u32 = 0x10;
/// No file: zero-filled memory.
pub const MAP_ANONYMOUS: u32 = 0x20;
/// Place in the first 2 GiB (x86-64).
pub const MAP_32BIT: u32 = 0x40;
/// Place above 4 GiB.
pub const MAP_ABOVE4G: u32 = 0x80;
/// A stack that grows down on faults below it (`VM_GROWSDOWN`).
pub const MAP_GROWSDOWN: u32 = 0x0100;
/// Ignored (historical).
pub const MAP_DENYWRITE: u32 = 0x0800;
/// Ignored (historical).
pub const MAP_EXECUTABLE: u32 = 0x1000;
/// Lock the pages (`VM_LOCKED`), populating them.
pub const MAP_LOCKED: u32 = 0x2000;
/// No swap reservation (`VM_NORESERVE`, no commit charge).
pub const MAP_NORESERVE: u32 = 0x4000;
/// Fault the pages in at once.
pub const MAP_POPULATE: u32 = 0x8000;
/// With `MAP_POPULATE`: do not populate.
pub const MAP_NONBLOCK: u32 = 0x1_0000;
/// A thread stack: no transparent huge pages since 6.7.
pub const MAP_STACK: u32 = 0x2_0000;
/// Back with hugetlbfs pages.
pub const MAP_HUGETLB: u32 = 0x4_0000;
/// Synchronous page faults on DAX files (`MAP_SHARED_VALIDATE` only).
pub const MAP_SYNC: u32 = 0x8_0000;
/// Place exactly at the address, or fail with EEXIST.
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
/// Ignored unless the kernel allows uninitialised anonymous pages.
pub const MAP_UNINITIALIZED: u32 = 0x400_0000;
/// Where the log2 of the huge page size sits in the flags.
pub const MAP_HUGE_SHIFT: u32 = 26;
/// The width of the huge page size field.
pub const MAP_HUGE_MASK: u32 = 0x3f;
/// `MAP_HUGETLB` size fields for 2 MiB and 1 GiB pages.
pub const MAP_HUGE_2MB: u32 = 21 << MAP_HUGE_SHIFT;
/// `MAP_HUGETLB` with 1 GiB pages.
pub const MAP_HUGE_1GB: u32 = 30 << MAP_HUGE_SHIFT;
/// Flags `MAP_SHARED` accepts (and `MAP_SHARED_VALIDATE` accepts without
/// `EOPNOTSUPP`): `LEGACY_MAP_MASK`.
pub const LEGACY_MAP_MASK: u32 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_HUGE_2MB
    | MAP_HUGE_1GB;

/// The mapping may move if it cannot grow in place.
pub const MREMAP_MAYMOVE: u32 = 1;
/// Move to the given new address (with `MREMAP_MAYMOVE`).
pub const MREMAP_FIXED: u32 = 2;
/// Move, leaving the old range mapped but empty.
pub const MREMAP_DONTUNMAP: u32 = 4;

/// No special treatment (clears `VM_SEQ_READ`/`VM_RAND_READ`).
pub const MADV_NORMAL: i32 = 0;
/// Random access (`VM_RAND_READ`).
pub const MADV_RANDOM: i32 = 1;
/// Sequential access (`VM_SEQ_READ`).
pub const MADV_SEQUENTIAL: i32 = 2;
/// Read ahead.
pub const MADV_WILLNEED: i32 = 3;
/// Drop the pages: private memory reads zero afterwards.
pub const MADV_DONTNEED: i32 = 4;
/// The pages may be freed lazily unless written again.
pub const MADV_FREE: i32 = 8;
/// Punch a hole in the backing shmem file.
pub const MADV_REMOVE: i32 = 9;
/// Not inherited by fork (`VM_DONTCOPY`).
pub const MADV_DONTFORK: i32 = 10;
/// Undo `MADV_DONTFORK`.
pub const MADV_DOFORK: i32 = 11;
/// KSM may merge the pages (`VM_MERGEABLE`).
pub const MADV_MERGEABLE: i32 = 12;
/// Undo `MADV_MERGEABLE`.
pub const MADV_UNMERGEABLE: i32 = 13;
/// Prefer transparent huge pages (`VM_HUGEPAGE`).
pub const MADV_HUGEPAGE: i32 = 14;
/// No transparent huge pages (`VM_NOHUGEPAGE`).
pub const MADV_NOHUGEPAGE: i32 = 15;
/// Leave out of core dumps (`VM_DONTDUMP`).
pub const MADV_DONTDUMP: i32 = 16;
/// Undo `MADV_DONTDUMP`.
pub const MADV_DODUMP: i32 = 17;
/// The child of a fork sees zeroes (`VM_WIPEONFORK`).
pub const MADV_WIPEONFORK: i32 = 18;
/// Undo `MADV_WIPEONFORK`.
pub const MADV_KEEPONFORK: i32 = 19;
/// Deactivate the pages.
pub const MADV_COLD: i32 = 20;
/// Reclaim the pages now.
pub const MADV_PAGEOUT: i32 = 21;
/// Fault the pages in for reading.
pub const MADV_POPULATE_READ: i32 = 22;
/// Fault the pages in for writing (breaking COW).
pub const MADV_POPULATE_WRITE: i32 = 23;
/// `MADV_DONTNEED` that also applies to locked pages.
pub const MADV_DONTNEED_LOCKED: i32 = 24;
/// Collapse into transparent huge pages now.
pub const MADV_COLLAPSE: i32 = 25;
/// Poison the pages (CAP_SYS_ADMIN; testing).
pub const MADV_HWPOISON: i32 = 100;
/// Soft-offline the pages (CAP_SYS_ADMIN; testing).
pub const MADV_SOFT_OFFLINE: i32 = 101;
/// Install guard markers: accesses raise SIGSEGV (6.13).
pub const MADV_GUARD_INSTALL: i32 = 102;
/// Remove guard markers (6.13).
pub const MADV_GUARD_REMOVE: i32 = 103;

/// mlock2: lock pages as they fault in (`VM_LOCKONFAULT`).
pub const MLOCK_ONFAULT: u32 = 1;

// pkey_alloc(2) access rights.
/// pkey_alloc: the key forbids every access.
pub const PKEY_DISABLE_ACCESS: u64 = 0x1;
/// pkey_alloc: the key forbids writes.
pub const PKEY_DISABLE_WRITE: u64 = 0x2;
/// msync: start writing back, return at once.
pub const MS_ASYNC: u32 = 1;
/// msync: invalidate other mappings of the same file.
pub const MS_INVALIDATE: u32 = 2;
/// msync: write back and wait.
pub const MS_SYNC: u32 = 4;

// fcntl(2) memfd seals (F_ADD_SEALS).
/// No further seal may be added.
pub const F_SEAL_SEAL: u32 = 0x1;
/// The file may not shrink.
pub const F_SEAL_SHRINK: u32 = 0x2;
/// The file may not grow.
pub const F_SEAL_GROW: u32 = 0x4;
/// No writes, no new shared writable mappings; refused while one exists.
pub const F_SEAL_WRITE: u32 = 0x8;
/// As `F_SEAL_WRITE` for what comes later; existing mappings keep writing.
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
/// The execute bits of the mode may not change.
pub const F_SEAL_EXEC: u32 = 0x20;
/// Every seal `F_ADD_SEALS` knows.
pub const F_ALL_SEALS: u32 =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

// fallocate(2) modes.
/// fallocate: do not change the file size.
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x1;
/// fallocate: free the range (needs `FALLOC_FL_KEEP_SIZE`).
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x2;
/// fallocate: remove the range, shifting the rest down.
pub const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x8;
/// fallocate: zero the range.
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
/// fallocate: insert a hole, shifting the rest up.
pub const FALLOC_FL_INSERT_RANGE: u32 = 0x20;
/// fallocate: unshare the range's shared extents.
pub const FALLOC_FL_UNSHARE_RANGE: u32 = 0x40;

/// mlockall: lock what is mapped now.
pub const MCL_CURRENT: u32 = 1;
/// mlockall: lock what is mapped later (`def_flags`).
pub const MCL_FUTURE: u32 = 2;
/// mlockall: lock on fault rather than populate.
pub const MCL_ONFAULT: u32 = 4;

/// `PMD_SIZE`: the transparent huge page size on x86-64.
pub const PMD_SIZE: u64 = 2 << 20;
/// `DEFAULT_MAP_WINDOW` with 4-level paging: the top of the user address space.
pub const DEFAULT_MAP_WINDOW: u64 = (1 << 47) - crate::config::PAGE_SIZE;

/// mbind: the process default policy.
pub const MPOL_DEFAULT: u32 = 0;
/// mbind: prefer one node.
pub const MPOL_PREFERRED: u32 = 1;
/// mbind: only these nodes.
pub const MPOL_BIND: u32 = 2;
/// mbind: interleave over the nodes.
pub const MPOL_INTERLEAVE: u32 = 3;
/// mbind: the faulting CPU's node.
pub const MPOL_LOCAL: u32 = 4;
/// mbind: prefer any of these nodes.
pub const MPOL_PREFERRED_MANY: u32 = 5;
/// mbind: interleave by node weights.
pub const MPOL_WEIGHTED_INTERLEAVE: u32 = 6;
/// One past the last mode (`MPOL_MAX`).
pub const MPOL_MAX: u32 = 7;
/// Mode flag: NUMA balancing may move pages (with `MPOL_BIND`).
pub const MPOL_F_NUMA_BALANCING: u32 = 1 << 13;
/// Mode flag: nodes relative to the allowed set.
pub const MPOL_F_RELATIVE_NODES: u32 = 1 << 14;
/// Mode flag: nodes as given, not remapped.
pub const MPOL_F_STATIC_NODES: u32 = 1 << 15;
/// The mode flags user space may OR into the mode (`MPOL_MODE_FLAGS`).
pub const MPOL_MODE_FLAGS: u32 =
    MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;
/// mbind: fail if pages are on other nodes.
pub const MPOL_MF_STRICT: u32 = 1;
/// mbind: move this process's pages.
pub const MPOL_MF_MOVE: u32 = 2;
/// mbind: move every page (CAP_SYS_NICE).
pub const MPOL_MF_MOVE_ALL: u32 = 4;
/// The flags mbind accepts (`MPOL_MF_VALID`).
pub const MPOL_MF_VALID: u32 = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL;
/// get_mempolicy: report a node instead of the mode.
pub const MPOL_F_NODE: u64 = 1;
/// get_mempolicy: the policy of the VMA at the address.
pub const MPOL_F_ADDR: u64 = 2;
/// get_mempolicy: the nodes the task may use.
pub const MPOL_F_MEMS_ALLOWED: u64 = 4;

/// userfaultfd: report faults on missing pages (`VM_UFFD_MISSING`).
pub const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
/// userfaultfd: report writes to write-protected pages (`VM_UFFD_WP`).
pub const UFFDIO_REGISTER_MODE_WP: u64 = 2;
/// userfaultfd: report minor faults on cached pages (`VM_UFFD_MINOR`).
pub const UFFDIO_REGISTER_MODE_MINOR: u64 = 4;
/// UFFDIO_COPY/ZEROPAGE/CONTINUE/POISON: do not wake blocked faulters.
pub const UFFDIO_COPY_MODE_DONTWAKE: u64 = 1;
/// UFFDIO_COPY/CONTINUE: map the pages write-protected.
pub const UFFDIO_COPY_MODE_WP: u64 = 2;
/// UFFDIO_WRITEPROTECT: protect (set) or resolve (clear).
pub const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1;
/// UFFDIO_WRITEPROTECT: do not wake blocked faulters.
pub const UFFDIO_WRITEPROTECT_MODE_DONTWAKE: u64 = 2;
/// UFFDIO_MOVE: do not wake blocked faulters.
pub const UFFDIO_MOVE_MODE_DONTWAKE: u64 = 1;
/// UFFDIO_MOVE: holes in the source count as moved.
pub const UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES: u64 = 2;

/// `ANON_VMA_NAME_MAX_LEN`: names are shorter than this (NUL included).
pub const ANON_VMA_NAME_MAX_LEN: usize = 80;

/// shmat: attach read-only (the attach's file is opened `O_RDONLY`).
pub const SHM_RDONLY: u32 = 0o10000;
/// shmat: round an unaligned address down to `SHMLBA` (a page on x86).
pub const SHM_RND: u32 = 0o20000;
/// shmat: replace what is mapped at the address (`MAP_FIXED`).
pub const SHM_REMAP: u32 = 0o40000;
/// shmat: map executable too.
pub const SHM_EXEC: u32 = 0o100000;
