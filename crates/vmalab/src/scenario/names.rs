// SPDX-License-Identifier: GPL-2.0-or-later
//! Symbolic names accepted in scenarios: flag tables per argument kind
//! (x86_64 Linux UAPI values), errno and signal names.

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
    UffdMode,
    PkeyAlloc,
    PkeyAccess,
    Mseal,
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
            FlagKind::UffdMode => "userfaultfd modes (MISSING|WP|MINOR)",
            FlagKind::PkeyAlloc => "pkey_alloc flags (0)",
            FlagKind::PkeyAccess => "pkey access rights (PKEY_DISABLE_*)",
            FlagKind::Mseal => "mseal flags (0)",
        }
    }

    /// The names of this kind and their values.
    pub fn table(self) -> &'static [(&'static str, u64)] {
        match self {
            FlagKind::Prot => PROT,
            FlagKind::Map => MAP,
            FlagKind::Mremap => MREMAP,
            FlagKind::Madv => MADV,
            FlagKind::Mlock2 => &[("MLOCK_ONFAULT", 1)],
            FlagKind::Mcl => &[("MCL_CURRENT", 1), ("MCL_FUTURE", 2), ("MCL_ONFAULT", 4)],
            FlagKind::Mpol => MPOL,
            FlagKind::MbindFlags => &[
                ("MPOL_MF_STRICT", 1),
                ("MPOL_MF_MOVE", 2),
                ("MPOL_MF_MOVE_ALL", 4),
            ],
            FlagKind::UffdMode => &[("MISSING", 1), ("WP", 2), ("MINOR", 4)],
            FlagKind::PkeyAlloc => &[],
            FlagKind::PkeyAccess => &[("PKEY_DISABLE_ACCESS", 1), ("PKEY_DISABLE_WRITE", 2)],
            FlagKind::Mseal => &[],
        }
    }
}

const PROT: &[(&str, u64)] = &[
    ("PROT_NONE", 0),
    ("PROT_READ", 1),
    ("PROT_WRITE", 2),
    ("PROT_EXEC", 4),
    ("PROT_SEM", 8),
    ("PROT_GROWSDOWN", 0x0100_0000),
    ("PROT_GROWSUP", 0x0200_0000),
];

const MAP: &[(&str, u64)] = &[
    ("MAP_SHARED", 0x01),
    ("MAP_PRIVATE", 0x02),
    ("MAP_SHARED_VALIDATE", 0x03),
    ("MAP_DROPPABLE", 0x08),
    ("MAP_FIXED", 0x10),
    ("MAP_ANONYMOUS", 0x20),
    ("MAP_ANON", 0x20),
    ("MAP_32BIT", 0x40),
    ("MAP_GROWSDOWN", 0x100),
    ("MAP_DENYWRITE", 0x800),
    ("MAP_EXECUTABLE", 0x1000),
    ("MAP_LOCKED", 0x2000),
    ("MAP_NORESERVE", 0x4000),
    ("MAP_POPULATE", 0x8000),
    ("MAP_NONBLOCK", 0x1_0000),
    ("MAP_STACK", 0x2_0000),
    ("MAP_HUGETLB", 0x4_0000),
    ("MAP_SYNC", 0x8_0000),
    ("MAP_FIXED_NOREPLACE", 0x10_0000),
    ("MAP_UNINITIALIZED", 0x400_0000),
    // MAP_HUGETLB page sizes: log2 of the size in the top six bits.
    ("MAP_HUGE_2MB", 21 << 26),
    ("MAP_HUGE_1GB", 30 << 26),
];

const MREMAP: &[(&str, u64)] = &[
    ("MREMAP_MAYMOVE", 1),
    ("MREMAP_FIXED", 2),
    ("MREMAP_DONTUNMAP", 4),
];

const MADV: &[(&str, u64)] = &[
    ("MADV_NORMAL", 0),
    ("MADV_RANDOM", 1),
    ("MADV_SEQUENTIAL", 2),
    ("MADV_WILLNEED", 3),
    ("MADV_DONTNEED", 4),
    ("MADV_FREE", 8),
    ("MADV_REMOVE", 9),
    ("MADV_DONTFORK", 10),
    ("MADV_DOFORK", 11),
    ("MADV_MERGEABLE", 12),
    ("MADV_UNMERGEABLE", 13),
    ("MADV_HUGEPAGE", 14),
    ("MADV_NOHUGEPAGE", 15),
    ("MADV_DONTDUMP", 16),
    ("MADV_DODUMP", 17),
    ("MADV_WIPEONFORK", 18),
    ("MADV_KEEPONFORK", 19),
    ("MADV_COLD", 20),
    ("MADV_PAGEOUT", 21),
    ("MADV_POPULATE_READ", 22),
    ("MADV_POPULATE_WRITE", 23),
    ("MADV_DONTNEED_LOCKED", 24),
    ("MADV_COLLAPSE", 25),
    ("MADV_HWPOISON", 100),
    ("MADV_SOFT_OFFLINE", 101),
    ("MADV_GUARD_INSTALL", 102),
    ("MADV_GUARD_REMOVE", 103),
];

const MPOL: &[(&str, u64)] = &[
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
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
    (1..4096).any(|n| {
        let e = nix::errno::Errno::from_raw(n);
        e != nix::errno::Errno::UnknownErrno && format!("{e:?}") == name
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
