// SPDX-License-Identifier: GPL-2.0-or-later
//! Symbolic names accepted in scenarios: flag tables per argument kind
//! (x86_64 Linux UAPI values), errno and signal names.

use std::collections::HashMap;
use std::sync::OnceLock;

use vma::sys::consts as uapi;

/// Which table a flag argument draws its names from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    Prot,
    Map,
    Mremap,
    Madv,
    Mlock2,
    Mcl,
    Mpol,
    MbindFlags,
    GetMempolicy,
    HomeNode,
    UffdMode,
    UffdCopy,
    UffdMove,
    PkeyAlloc,
    PkeyAccess,
    Mseal,
    Rlimit,
    Cap,
    Sysctl,
    Status,
    Smaps,
    Msync,
    Seal,
    Falloc,
    ProcessMadvise,
    ProcessMrelease,
    Shmat,
}

impl FlagKind {
    /// What the argument is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            FlagKind::Prot => "protection (PROT_*)",
            FlagKind::Map => "mmap flags (MAP_*)",
            FlagKind::Mremap => "mremap flags (MREMAP_*)",
            FlagKind::Madv => "advice (MADV_*)",
            FlagKind::Mlock2 => "mlock2 flags (MLOCK_*)",
            FlagKind::Mcl => "mlockall flags (MCL_*)",
            FlagKind::Mpol => "memory policy mode (MPOL_* and MPOL_F_*)",
            FlagKind::MbindFlags => "mbind flags (MPOL_MF_*)",
            FlagKind::GetMempolicy => {
                "get_mempolicy flags (MPOL_F_NODE|MPOL_F_ADDR|MPOL_F_MEMS_ALLOWED)"
            }
            FlagKind::HomeNode => "set_mempolicy_home_node flags (0)",
            FlagKind::UffdMode => "userfaultfd modes (MISSING|WP|MINOR)",
            FlagKind::UffdCopy => "userfaultfd fill modes (DONTWAKE|WP)",
            FlagKind::UffdMove => "UFFDIO_MOVE modes (DONTWAKE|ALLOW_SRC_HOLES)",
            FlagKind::PkeyAlloc => "pkey_alloc flags (0)",
            FlagKind::PkeyAccess => "pkey access rights (PKEY_DISABLE_*)",
            FlagKind::Mseal => "mseal flags (0)",
            FlagKind::Rlimit => "resource (RLIMIT_AS, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_MEMLOCK)",
            FlagKind::Cap => "capability (CAP_*)",
            FlagKind::Status => "/proc/self/status field (VmLck)",
            FlagKind::Msync => "msync flags (MS_*)",
            FlagKind::Seal => "memfd seals (F_SEAL_*)",
            FlagKind::Falloc => "fallocate mode (FALLOC_FL_*)",
            FlagKind::ProcessMadvise => "process_madvise flags (0)",
            FlagKind::ProcessMrelease => "process_mrelease flags (0)",
            FlagKind::Shmat => "shmat flags (SHM_*)",
            FlagKind::Smaps => "smaps field (Size, Rss, Anonymous)",
            FlagKind::Sysctl => {
                "sysctl (vm.max_map_count, vm.overcommit_memory, vm.overcommit_ratio, \
                 vm.mmap_min_addr)"
            }
        }
    }

    /// The names of this kind and their values.
    pub fn table(self) -> &'static [(&'static str, u64)] {
        match self {
            FlagKind::Prot => PROT,
            FlagKind::Map => MAP,
            FlagKind::Mremap => MREMAP,
            FlagKind::Madv => MADV,
            FlagKind::Mlock2 => MLOCK2,
            FlagKind::Mcl => MCL,
            FlagKind::Mpol => MPOL,
            FlagKind::MbindFlags => MBIND_FLAGS,
            FlagKind::GetMempolicy => GET_MEMPOLICY,
            FlagKind::HomeNode => &[],
            FlagKind::UffdMode => UFFD_MODE,
            FlagKind::UffdCopy => UFFD_COPY,
            FlagKind::UffdMove => UFFD_MOVE,
            FlagKind::PkeyAlloc => &[],
            FlagKind::PkeyAccess => PKEY_ACCESS,
            FlagKind::Mseal => &[],
            FlagKind::Rlimit => RLIMIT,
            FlagKind::Cap => CAPS,
            FlagKind::Sysctl => SYSCTL,
            FlagKind::Status => STATUS,
            FlagKind::Msync => MSYNC,
            FlagKind::Seal => SEAL,
            FlagKind::Falloc => FALLOC,
            FlagKind::ProcessMadvise | FlagKind::ProcessMrelease => &[],
            FlagKind::Shmat => SHMAT,
            FlagKind::Smaps => SMAPS,
        }
    }
}

/// A table row named as the UAPI constant it reads from `vma`.
macro_rules! uapi {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), uapi::$name as u64)),*]
    };
}

/// The resource limits the VMA layer checks (x86-64 numbers).
const RLIMIT: &[(&str, u64)] = &[
    ("RLIMIT_DATA", 2),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_AS", 9),
];

/// Capabilities by bit number (include/uapi/linux/capability.h).
const CAPS: &[(&str, u64)] = &[
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_DAC_READ_SEARCH", 2),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_LINUX_IMMUTABLE", 9),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_BROADCAST", 11),
    ("CAP_NET_ADMIN", 12),
    ("CAP_NET_RAW", 13),
    ("CAP_IPC_LOCK", 14),
    ("CAP_IPC_OWNER", 15),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_PACCT", 20),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_TIME", 25),
    ("CAP_SYS_TTY_CONFIG", 26),
    ("CAP_MKNOD", 27),
    ("CAP_LEASE", 28),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_AUDIT_CONTROL", 30),
    ("CAP_SETFCAP", 31),
    ("CAP_MAC_OVERRIDE", 32),
    ("CAP_MAC_ADMIN", 33),
    ("CAP_SYSLOG", 34),
    ("CAP_WAKE_ALARM", 35),
    ("CAP_BLOCK_SUSPEND", 36),
    ("CAP_AUDIT_READ", 37),
    ("CAP_PERFMON", 38),
    ("CAP_BPF", 39),
    ("CAP_CHECKPOINT_RESTORE", 40),
];

/// The sysctls that change VMA behaviour and may be written (a value is
/// an index, not a kernel number).
pub const SYSCTL: &[(&str, u64)] = &[
    ("vm.max_map_count", 0),
    ("vm.overcommit_memory", 1),
    ("vm.overcommit_ratio", 2),
    ("vm.mmap_min_addr", 3),
];

/// The /proc/self/status fields the model knows exactly: those that count
/// only what the scenario did (the runner's own mappings count in VmSize,
/// VmData, VmStk...). Values are indices.
pub const STATUS: &[(&str, u64)] = &[("VmLck", 0)];

/// The smaps fields of one VMA the model knows exactly (values are
/// indices).
pub const SMAPS: &[(&str, u64)] = &[("Size", 0), ("Rss", 1), ("Anonymous", 2)];

const PROT: &[(&str, u64)] = uapi![
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    PROT_EXEC,
    PROT_SEM,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
];

const MAP: &[(&str, u64)] = &[
    ("MAP_SHARED", uapi::MAP_SHARED as u64),
    ("MAP_PRIVATE", uapi::MAP_PRIVATE as u64),
    ("MAP_SHARED_VALIDATE", uapi::MAP_SHARED_VALIDATE as u64),
    ("MAP_DROPPABLE", uapi::MAP_DROPPABLE as u64),
    ("MAP_FIXED", uapi::MAP_FIXED as u64),
    ("MAP_ANONYMOUS", uapi::MAP_ANONYMOUS as u64),
    ("MAP_ANON", uapi::MAP_ANONYMOUS as u64),
    ("MAP_32BIT", uapi::MAP_32BIT as u64),
    ("MAP_GROWSDOWN", uapi::MAP_GROWSDOWN as u64),
    ("MAP_DENYWRITE", uapi::MAP_DENYWRITE as u64),
    ("MAP_EXECUTABLE", uapi::MAP_EXECUTABLE as u64),
    ("MAP_LOCKED", uapi::MAP_LOCKED as u64),
    ("MAP_NORESERVE", uapi::MAP_NORESERVE as u64),
    ("MAP_POPULATE", uapi::MAP_POPULATE as u64),
    ("MAP_NONBLOCK", uapi::MAP_NONBLOCK as u64),
    ("MAP_STACK", uapi::MAP_STACK as u64),
    ("MAP_HUGETLB", uapi::MAP_HUGETLB as u64),
    ("MAP_SYNC", uapi::MAP_SYNC as u64),
    ("MAP_FIXED_NOREPLACE", uapi::MAP_FIXED_NOREPLACE as u64),
    ("MAP_UNINITIALIZED", uapi::MAP_UNINITIALIZED as u64),
    // MAP_HUGETLB page sizes: log2 of the size in the top six bits.
    ("MAP_HUGE_2MB", uapi::MAP_HUGE_2MB as u64),
    ("MAP_HUGE_1GB", uapi::MAP_HUGE_1GB as u64),
];

const MSYNC: &[(&str, u64)] = uapi![MS_ASYNC, MS_INVALIDATE, MS_SYNC];

const SEAL: &[(&str, u64)] = uapi![
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_GROW,
    F_SEAL_WRITE,
    F_SEAL_FUTURE_WRITE,
    F_SEAL_EXEC,
];

const FALLOC: &[(&str, u64)] = uapi![
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_COLLAPSE_RANGE,
    FALLOC_FL_ZERO_RANGE,
    FALLOC_FL_INSERT_RANGE,
    FALLOC_FL_UNSHARE_RANGE,
];

const SHMAT: &[(&str, u64)] = uapi![SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC];

const MREMAP: &[(&str, u64)] = uapi![MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP];

const MADV: &[(&str, u64)] = uapi![
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MADV_DONTNEED,
    MADV_FREE,
    MADV_REMOVE,
    MADV_DONTFORK,
    MADV_DOFORK,
    MADV_MERGEABLE,
    MADV_UNMERGEABLE,
    MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,
    MADV_DONTDUMP,
    MADV_DODUMP,
    MADV_WIPEONFORK,
    MADV_KEEPONFORK,
    MADV_COLD,
    MADV_PAGEOUT,
    MADV_POPULATE_READ,
    MADV_POPULATE_WRITE,
    MADV_DONTNEED_LOCKED,
    MADV_COLLAPSE,
    MADV_HWPOISON,
    MADV_SOFT_OFFLINE,
    MADV_GUARD_INSTALL,
    MADV_GUARD_REMOVE,
];

const MPOL: &[(&str, u64)] = uapi![
    MPOL_DEFAULT,
    MPOL_PREFERRED,
    MPOL_BIND,
    MPOL_INTERLEAVE,
    MPOL_LOCAL,
    MPOL_PREFERRED_MANY,
    MPOL_WEIGHTED_INTERLEAVE,
    MPOL_F_NUMA_BALANCING,
    MPOL_F_RELATIVE_NODES,
    MPOL_F_STATIC_NODES,
];

const MLOCK2: &[(&str, u64)] = uapi![MLOCK_ONFAULT];
const MCL: &[(&str, u64)] = uapi![MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT];
const MBIND_FLAGS: &[(&str, u64)] = uapi![MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL];
const GET_MEMPOLICY: &[(&str, u64)] = uapi![MPOL_F_NODE, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED];
const PKEY_ACCESS: &[(&str, u64)] = uapi![PKEY_DISABLE_ACCESS, PKEY_DISABLE_WRITE];
/// The scenario spells userfaultfd modes without their long prefix.
const UFFD_MODE: &[(&str, u64)] = &[
    ("MISSING", uapi::UFFDIO_REGISTER_MODE_MISSING),
    ("WP", uapi::UFFDIO_REGISTER_MODE_WP),
    ("MINOR", uapi::UFFDIO_REGISTER_MODE_MINOR),
];

/// The mode bits of UFFDIO_COPY, ZEROPAGE, CONTINUE and POISON (WP is
/// COPY's and CONTINUE's).
const UFFD_COPY: &[(&str, u64)] = &[
    ("DONTWAKE", uapi::UFFDIO_COPY_MODE_DONTWAKE),
    ("WP", uapi::UFFDIO_COPY_MODE_WP),
];

/// The mode bits of UFFDIO_MOVE.
const UFFD_MOVE: &[(&str, u64)] = &[
    ("DONTWAKE", uapi::UFFDIO_MOVE_MODE_DONTWAKE),
    ("ALLOW_SRC_HOLES", uapi::UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES),
];

/// Looks a name up in a table.
pub fn lookup(kind: FlagKind, name: &str) -> Option<u64> {
    kind.table()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
}

/// `SEGV_*` / `BUS_*` si_code names by signal.
pub fn signal_codes(signal: &str) -> &'static [(&'static str, i32)] {
    match signal {
        "SIGSEGV" => &[
            ("SEGV_MAPERR", 1),
            ("SEGV_ACCERR", 2),
            ("SEGV_BNDERR", 3),
            ("SEGV_PKUERR", 4),
            ("SEGV_ACCADI", 5),
            ("SEGV_ADIDERR", 6),
            ("SEGV_ADIPERR", 7),
            ("SEGV_MTEAERR", 8),
            ("SEGV_MTESERR", 9),
            ("SEGV_CPERR", 10),
        ],
        "SIGBUS" => &[
            ("BUS_ADRALN", 1),
            ("BUS_ADRERR", 2),
            ("BUS_OBJERR", 3),
            ("BUS_MCEERR_AR", 4),
            ("BUS_MCEERR_AO", 5),
        ],
        _ => &[],
    }
}

/// The name of an si_code for a signal, or the number as text.
pub fn signal_code_name(signal: &str, code: i32) -> String {
    signal_codes(signal)
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// The symbolic name of an errno value (`ENOMEM`), or `E<n>` if unknown.
pub fn errno_name(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    if e == nix::errno::Errno::UnknownErrno {
        format!("E{errno}")
    } else {
        format!("{e:?}")
    }
}

/// True if `name` is an errno name this platform knows.
pub fn is_errno_name(name: &str) -> bool {
    errno_numbers().contains_key(name)
}

/// The name of row `value` of a lab table (`STATUS`, `SMAPS`, `SYSCTL`).
pub fn table_name(table: &'static [(&'static str, u64)], value: u64) -> Option<&'static str> {
    table.iter().find(|(_, v)| *v == value).map(|(n, _)| *n)
}

/// The number of the errno called `name` (`ENOMEM` is 12).
pub fn errno_number(name: &str) -> Option<i32> {
    errno_numbers().get(name).copied()
}

/// The number of the signal called `name` (`SIGSEGV` is 11).
pub fn signal_number(name: &str) -> Option<i32> {
    name.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

/// The si_code called `code` of signal `signal` (`SEGV_ACCERR` is 2), or
/// a number written as one.
pub fn signal_code_number(signal: &str, code: &str) -> Option<i32> {
    signal_codes(signal)
        .iter()
        .find(|(n, _)| *n == code)
        .map(|(_, c)| *c)
        .or_else(|| code.parse().ok())
}

/// Every errno name the platform knows, with its number: built once, so
/// checking a name is a lookup rather than formatting every number.
fn errno_numbers() -> &'static HashMap<String, i32> {
    static NAMES: OnceLock<HashMap<String, i32>> = OnceLock::new();
    NAMES.get_or_init(|| {
        (1..4096)
            .filter(|&n| nix::errno::Errno::from_raw(n) != nix::errno::Errno::UnknownErrno)
            .map(|n| (errno_name(n), n))
            .collect()
    })
}

/// The symbolic name of a signal number (`SIGSEGV`), or `SIG<n>`.
pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{sig}"))
}

/// True if `name` is a signal name this platform knows.
pub fn is_signal_name(name: &str) -> bool {
    name.parse::<nix::sys::signal::Signal>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_looked_up() {
        assert!(is_errno_name("ENOMEM") && is_errno_name("EHWPOISON"));
        assert!(!is_errno_name("ENOPE") && !is_errno_name("E12"));
        assert_eq!(
            lookup(FlagKind::Map, "MAP_FIXED_NOREPLACE"),
            Some(0x10_0000)
        );
        assert_eq!(lookup(FlagKind::Madv, "MADV_GUARD_REMOVE"), Some(103));
        assert_eq!(lookup(FlagKind::UffdMode, "MINOR"), Some(4));
    }
}
