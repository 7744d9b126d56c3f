// SPDX-License-Identifier: GPL-2.0-or-later
//! The step table: every scenario step declared once -- its keyword, its
//! parameters in order, which of them form memory ranges (the window rule),
//! what it returns, and which [`Machine`] method runs it. The parser, the
//! canonical display, window admission and the runners all read this table,
//! so a new call is one entry here plus its method on the [`Machine`] trait
//! and that method's two implementations (the model's in
//! `vmalab/src/model/machine.rs`, the kernel's in `vmalab-runner/src/calls.rs`). The
//! fuzzer generates it too (`--weight KEYWORD=N`), and the table's tests
//! run it on the model.

use super::names::FlagKind as K;
use crate::machine::{Args, Machine, Reply};
use vma::sys::consts as uapi;

/// One step's declaration.
pub struct Spec {
    /// The word that starts the step's line.
    pub keyword: &'static str,
    /// The parameters, in the order they are written.
    pub params: &'static [Param],
    /// The window rule: checked in order, the first failing rule decides.
    pub rules: &'static [Rule],
    /// How a successful return value reads.
    pub returns: Returns,
    /// Runs the step's resolved arguments on a machine.
    pub call: fn(&mut dyn Machine, &Args) -> Reply,
}

/// A parameter of a step.
#[derive(Clone, Copy, Debug)]
pub enum Param {
    /// An address: window pages, or `abs:NUMBER`.
    Addr,
    /// A trailing address that may be left out (resolves to 0).
    OptAddr,
    /// A length in pages (and bytes), described as `what` in messages.
    Len(&'static str),
    /// A flag set drawn from a table.
    Flags(K),
    /// A flag set that may be left out, with the value and spelling it
    /// then takes.
    OptFlags(K, u64, &'static str),
    /// A signed integer, described as `what`.
    Int(&'static str),
    /// One of two words: `no` reads as false, `yes` as true.
    Choice {
        what: &'static str,
        no: &'static str,
        yes: &'static str,
    },
    /// A trailing word that may be left out.
    OptWord,
    /// A trailing byte value (0 to 255) that may be left out, with its
    /// default (which the canonical text leaves out).
    OptByte(&'static str, i64),
    /// A resource limit in bytes (an amount), or `unlimited`.
    Limit(&'static str),
    /// `KEY=VALUE`, optional; consecutive keys may come in any order.
    Key(&'static str, KeyKind),
    /// A file declared with `file NAME`, by its name.
    File,
    /// `ADDR LEN` pairs up to the end of the line or its first `KEY=`
    /// word: an iovec, possibly empty.
    Ranges,
}

/// The value of a `KEY=VALUE` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `fd=NAME` (a declared file) or `fd=N`; -1 when absent.
    Fd,
    /// `off=AMOUNT`; 0 when absent.
    Offset,
    /// `nodes=N,N,...`; a NULL mask when absent.
    Nodes,
    /// `flags=NAME|...`; 0 when absent.
    Flags(K),
}

/// A window rule (see `window.rs` for why ranges are confined).
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// Parameters `addr` and `len` form a range that must lie inside the
    /// window or be absurd; `label` names it in messages.
    Range {
        label: &'static str,
        addr: usize,
        len: usize,
    },
    /// As `Range`, but only when the flags parameter `flags` has a bit of
    /// `mask` (a fixed placement); otherwise both need only resolve.
    RangeIf {
        label: &'static str,
        addr: usize,
        len: usize,
        flags: usize,
        mask: u64,
    },
    /// The one byte at parameter `addr` must be inside the window (an
    /// optional address left out passes).
    Inside { addr: usize, why: &'static str },
    /// The flags parameter `arg` must not be one of `values`.
    Forbid {
        arg: usize,
        values: &'static [u64],
        why: &'static str,
    },
    /// The amount parameter `arg` must fit a 64-bit `off_t`.
    FitsOffT { arg: usize },
    /// The flags parameter `arg` must be spelled as exactly one name of
    /// table `kind` (no raw number, no combination): calls that would change the
    /// runner itself in ways the model cannot follow.
    Known { arg: usize, kind: K },
    /// The amount parameter `len` (with address `addr`) must be at most
    /// `pages` pages, unless the range is absurd (the kernel rejects it
    /// before it writes any result).
    MaxPages {
        addr: usize,
        len: usize,
        pages: u64,
        why: &'static str,
    },
    /// Every `ADDR LEN` pair of the ranges parameter `arg` must lie
    /// inside the window or be absurd, as for `Range`.
    Ranges { label: &'static str, arg: usize },
    /// A SysV attach of the segment named by the file parameter `file` at
    /// the address parameter `addr` (rounded down to a page under
    /// `SHM_RND` in flags parameter `flags`): a non-zero address and the
    /// segment's size form a range that must lie inside the window or be
    /// absurd; 0 lets the kernel choose, as a hint does. Checked where the
    /// scenario's files are known (`machine::run_step`).
    Segment {
        file: usize,
        addr: usize,
        flags: usize,
    },
    /// The step never runs here.
    Skip(&'static str),
}

/// What a successful step returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    /// An integer (0 for most calls).
    Int,
    /// An address: `expect = N` means window page N.
    Address,
}

const ADDR: Param = Param::Addr;
const LEN: Param = Param::Len("a length");
const PROT: Param = Param::Flags(K::Prot);
const PKEY: Param = Param::Int("a protection key");

/// The common rule: the step's range `[arg 0, + arg 1)` stays in the window.
const fn range(label: &'static str) -> Rule {
    Rule::Range {
        label,
        addr: 0,
        len: 1,
    }
}

/// A step of the common shape `KEYWORD ADDR LEN`.
macro_rules! addr_len {
    ($kw:literal, $method:ident) => {
        Spec {
            keyword: $kw,
            params: &[ADDR, LEN],
            rules: &[range($kw)],
            returns: Returns::Int,
            call: |m, a| m.$method(a.word(0), a.word(1)),
        }
    };
}

/// Every step, in the order the parser's message lists them.
pub static STEPS: &[Spec] = &[
    Spec {
        keyword: "mmap",
        params: &[
            ADDR,
            LEN,
            PROT,
            Param::Flags(K::Map),
            Param::Key("fd", KeyKind::Fd),
            Param::Key("off", KeyKind::Offset),
        ],
        rules: &[
            Rule::FitsOffT { arg: 5 },
            Rule::RangeIf {
                label: "mmap",
                addr: 0,
                len: 1,
                flags: 3,
                mask: (uapi::MAP_FIXED | uapi::MAP_FIXED_NOREPLACE) as u64,
            },
        ],
        returns: Returns::Address,
        call: |m, a| {
            m.mmap(
                a.word(0),
                a.word(1),
                a.word(2),
                a.word(3),
                a.fd(4),
                a.word(5),
            )
        },
    },
    addr_len!("munmap", munmap),
    Spec {
        keyword: "mprotect",
        params: &[ADDR, LEN, PROT],
        rules: &[range("mprotect")],
        returns: Returns::Int,
        call: |m, a| m.mprotect(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "pkey_mprotect",
        params: &[ADDR, LEN, PROT, PKEY],
        rules: &[range("pkey_mprotect")],
        returns: Returns::Int,
        call: |m, a| m.pkey_mprotect(a.word(0), a.word(1), a.word(2), a.int(3)),
    },
    Spec {
        keyword: "pkey_alloc",
        params: &[
            Param::OptFlags(K::PkeyAlloc, 0, "0"),
            Param::OptFlags(K::PkeyAccess, 0, "0"),
        ],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.pkey_alloc(a.word(0), a.word(1)),
    },
    Spec {
        keyword: "pkey_free",
        params: &[PKEY],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.pkey_free(a.int(0)),
    },
    Spec {
        keyword: "mremap",
        params: &[
            ADDR,
            Param::Len("the old length"),
            Param::Len("the new length"),
            Param::OptFlags(K::Mremap, 0, "0"),
            Param::OptAddr,
        ],
        rules: &[
            Rule::Range {
                label: "mremap old",
                addr: 0,
                len: 1,
            },
            Rule::RangeIf {
                label: "mremap new",
                addr: 4,
                len: 2,
                flags: 3,
                mask: uapi::MREMAP_FIXED as u64,
            },
        ],
        returns: Returns::Address,
        call: |m, a| m.mremap(a.word(0), a.word(1), a.word(2), a.word(3), a.word(4)),
    },
    Spec {
        keyword: "madvise",
        params: &[ADDR, LEN, Param::Flags(K::Madv)],
        rules: &[
            Rule::Forbid {
                arg: 2,
                values: &[uapi::MADV_HWPOISON as u64, uapi::MADV_SOFT_OFFLINE as u64],
                why: "MADV_HWPOISON/MADV_SOFT_OFFLINE would retire host memory",
            },
            range("madvise"),
        ],
        returns: Returns::Int,
        call: |m, a| m.madvise(a.word(0), a.word(1), a.word(2)),
    },
    addr_len!("mlock", mlock),
    Spec {
        keyword: "mlock2",
        params: &[ADDR, LEN, Param::OptFlags(K::Mlock2, 0, "0")],
        rules: &[range("mlock2")],
        returns: Returns::Int,
        call: |m, a| m.mlock2(a.word(0), a.word(1), a.word(2)),
    },
    addr_len!("munlock", munlock),
    Spec {
        keyword: "mlockall",
        params: &[Param::Flags(K::Mcl)],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.mlockall(a.word(0)),
    },
    Spec {
        keyword: "munlockall",
        params: &[],
        rules: &[],
        returns: Returns::Int,
        call: |m, _| m.munlockall(),
    },
    Spec {
        keyword: "mseal",
        params: &[ADDR, LEN, Param::OptFlags(K::Mseal, 0, "0")],
        rules: &[range("mseal")],
        returns: Returns::Int,
        call: |m, a| m.mseal(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "mbind",
        params: &[
            ADDR,
            LEN,
            Param::Flags(K::Mpol),
            Param::Key("nodes", KeyKind::Nodes),
            Param::Key("flags", KeyKind::Flags(K::MbindFlags)),
        ],
        rules: &[range("mbind")],
        returns: Returns::Int,
        call: |m, a| m.mbind(a.word(0), a.word(1), a.word(2), a.nodes(3), a.word(4)),
    },
    Spec {
        keyword: "set_mempolicy",
        params: &[Param::Flags(K::Mpol), Param::Key("nodes", KeyKind::Nodes)],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.set_mempolicy(a.word(0), a.nodes(1)),
    },
    Spec {
        keyword: "get_mempolicy",
        params: &[
            Param::Choice {
                what: "`mode` or `nodes` (which output to answer with)",
                no: "mode",
                yes: "nodes",
            },
            Param::OptFlags(K::GetMempolicy, 0, "0"),
            Param::OptAddr,
        ],
        rules: &[Rule::Inside {
            addr: 2,
            why: "get_mempolicy: an address given must be inside the window",
        }],
        returns: Returns::Int,
        call: |m, a| m.get_mempolicy(a.bool(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "set_mempolicy_home_node",
        params: &[
            ADDR,
            LEN,
            Param::Int("a home node"),
            Param::OptFlags(K::HomeNode, 0, "0"),
        ],
        rules: &[range("set_mempolicy_home_node")],
        returns: Returns::Int,
        call: |m, a| m.set_mempolicy_home_node(a.word(0), a.word(1), a.int(2) as u64, a.word(3)),
    },
    Spec {
        keyword: "brk",
        params: &[ADDR],
        rules: &[Rule::Skip("brk: the heap is outside the window")],
        returns: Returns::Address,
        // Never reached: the Skip rule stops the step before it runs.
        call: |_, _| Err(crate::outcome::Outcome::Skipped("brk: not run".into())),
    },
    Spec {
        keyword: "uffd-register",
        params: &[ADDR, LEN, Param::OptFlags(K::UffdMode, 1, "MISSING")],
        rules: &[range("uffd-register")],
        returns: Returns::Int,
        call: |m, a| m.uffd_register(a.word(0), a.word(1), a.word(2)),
    },
    addr_len!("uffd-unregister", uffd_unregister),
    Spec {
        keyword: "uffd-copy",
        params: &[ADDR, ADDR, LEN, Param::OptFlags(K::UffdCopy, 0, "0")],
        rules: &[
            Rule::Range {
                label: "uffd-copy destination",
                addr: 0,
                len: 2,
            },
            Rule::Range {
                label: "uffd-copy source",
                addr: 1,
                len: 2,
            },
        ],
        returns: Returns::Int,
        call: |m, a| m.uffd_copy(a.word(0), a.word(1), a.word(2), a.word(3)),
    },
    Spec {
        keyword: "uffd-zeropage",
        params: &[ADDR, LEN, Param::OptFlags(K::UffdCopy, 0, "0")],
        rules: &[range("uffd-zeropage")],
        returns: Returns::Int,
        call: |m, a| m.uffd_zeropage(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "uffd-wp",
        params: &[
            ADDR,
            LEN,
            Param::Choice {
                what: "on or off",
                no: "off",
                yes: "on",
            },
        ],
        rules: &[range("uffd-wp")],
        returns: Returns::Int,
        call: |m, a| m.uffd_writeprotect(a.word(0), a.word(1), a.bool(2)),
    },
    Spec {
        keyword: "uffd-continue",
        params: &[ADDR, LEN, Param::OptFlags(K::UffdCopy, 0, "0")],
        rules: &[range("uffd-continue")],
        returns: Returns::Int,
        call: |m, a| m.uffd_continue(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "uffd-move",
        params: &[ADDR, ADDR, LEN, Param::OptFlags(K::UffdMove, 0, "0")],
        rules: &[
            Rule::Range {
                label: "uffd-move destination",
                addr: 0,
                len: 2,
            },
            Rule::Range {
                label: "uffd-move source",
                addr: 1,
                len: 2,
            },
        ],
        returns: Returns::Int,
        call: |m, a| m.uffd_move(a.word(0), a.word(1), a.word(2), a.word(3)),
    },
    Spec {
        keyword: "uffd-poison",
        params: &[ADDR, LEN, Param::OptFlags(K::UffdCopy, 0, "0")],
        rules: &[range("uffd-poison")],
        returns: Returns::Int,
        call: |m, a| m.uffd_poison(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "set-anon-name",
        params: &[ADDR, LEN, Param::OptWord],
        rules: &[range("set-anon-name")],
        returns: Returns::Int,
        call: |m, a| m.set_anon_name(a.word(0), a.word(1), a.name(2)),
    },
    Spec {
        keyword: "memory-merge",
        params: &[Param::Choice {
            what: "on or off",
            no: "off",
            yes: "on",
        }],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.memory_merge(a.bool(0)),
    },
    Spec {
        keyword: "touch",
        params: &[
            Param::Choice {
                what: "read or write",
                no: "read",
                yes: "write",
            },
            ADDR,
            Param::OptByte("the byte a write stores", 1),
        ],
        rules: &[Rule::Inside {
            addr: 1,
            why: "touch must be inside the window or the far region",
        }],
        returns: Returns::Int,
        call: |m, a| {
            let value = a.int(2) as u8;
            m.touch(a.word(1), a.bool(0).then_some(value))
        },
    },
    Spec {
        keyword: "touch exec",
        params: &[ADDR],
        rules: &[Rule::Inside {
            addr: 0,
            why: "touch must be inside the window or the far region",
        }],
        returns: Returns::Int,
        call: |m, a| m.touch_exec(a.word(0)),
    },
    Spec {
        keyword: "msync",
        params: &[ADDR, LEN, Param::Flags(K::Msync)],
        rules: &[range("msync")],
        returns: Returns::Int,
        call: |m, a| m.msync(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "memory-merge-get",
        params: &[],
        rules: &[],
        returns: Returns::Int,
        call: |m, _| m.memory_merge_get(),
    },
    Spec {
        keyword: "mincore",
        params: &[ADDR, LEN],
        rules: &[
            range("mincore"),
            Rule::MaxPages {
                addr: 0,
                len: 1,
                pages: 63,
                why: "mincore: at most 63 pages (the answer is a bit mask)",
            },
        ],
        returns: Returns::Int,
        call: |m, a| m.mincore(a.word(0), a.word(1)),
    },
    Spec {
        keyword: "status",
        params: &[Param::Flags(K::Status)],
        rules: &[Rule::Known {
            arg: 0,
            kind: K::Status,
        }],
        returns: Returns::Int,
        call: |m, a| m.status(a.word(0)),
    },
    Spec {
        keyword: "smaps",
        params: &[ADDR, Param::Flags(K::Smaps)],
        rules: &[
            Rule::Inside {
                addr: 0,
                why: "smaps must name a page inside the window",
            },
            Rule::Known {
                arg: 1,
                kind: K::Smaps,
            },
        ],
        returns: Returns::Int,
        call: |m, a| m.smaps(a.word(0), a.word(1)),
    },
    Spec {
        keyword: "ftruncate",
        params: &[Param::File, Param::Len("a file size")],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.ftruncate(a.fd(0), a.word(1)),
    },
    Spec {
        keyword: "add-seals",
        params: &[Param::File, Param::Flags(K::Seal)],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.add_seals(a.fd(0), a.word(1)),
    },
    Spec {
        keyword: "pwrite",
        params: &[
            Param::File,
            Param::Len("a file offset"),
            Param::OptByte("the byte written", 1),
        ],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.pwrite(a.fd(0), a.word(1), a.int(2) as u8),
    },
    Spec {
        keyword: "fallocate",
        params: &[
            Param::File,
            Param::Flags(K::Falloc),
            Param::Len("a file offset"),
            Param::Len("a length"),
        ],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.fallocate(a.fd(0), a.word(1), a.word(2), a.word(3)),
    },
    Spec {
        keyword: "setrlimit",
        params: &[
            Param::Flags(K::Rlimit),
            Param::Limit("a soft limit"),
            Param::Limit("a hard limit"),
        ],
        rules: &[Rule::Known {
            arg: 0,
            kind: K::Rlimit,
        }],
        returns: Returns::Int,
        call: |m, a| m.setrlimit(a.word(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "drop-cap",
        params: &[Param::Flags(K::Cap)],
        rules: &[Rule::Known {
            arg: 0,
            kind: K::Cap,
        }],
        returns: Returns::Int,
        call: |m, a| m.drop_cap(a.word(0)),
    },
    Spec {
        keyword: "sysctl",
        params: &[Param::Flags(K::Sysctl), Param::Int("a value")],
        rules: &[Rule::Known {
            arg: 0,
            kind: K::Sysctl,
        }],
        returns: Returns::Int,
        call: |m, a| m.sysctl(a.word(0), a.int(1)),
    },
    Spec {
        keyword: "repeat",
        params: &[
            Param::Int("an iteration count"),
            Param::Key("stride", KeyKind::Offset),
        ],
        rules: &[],
        returns: Returns::Int,
        // Never reached: `machine::run_step` runs the block's body itself.
        call: |_, _| {
            Err(crate::outcome::Outcome::Refused(
                "repeat: empty block".into(),
            ))
        },
    },
    Spec {
        keyword: "process_madvise",
        params: &[
            Param::Flags(K::Madv),
            Param::Ranges,
            Param::Key("flags", KeyKind::Flags(K::ProcessMadvise)),
        ],
        rules: &[
            Rule::Forbid {
                arg: 0,
                values: &[uapi::MADV_HWPOISON as u64, uapi::MADV_SOFT_OFFLINE as u64],
                why: "MADV_HWPOISON/MADV_SOFT_OFFLINE would retire host memory",
            },
            Rule::Ranges {
                label: "process_madvise",
                arg: 1,
            },
        ],
        returns: Returns::Int,
        call: |m, a| m.process_madvise(a.word(0), a.ranges(1), a.word(2)),
    },
    Spec {
        keyword: "process_mrelease",
        params: &[Param::OptFlags(K::ProcessMrelease, 0, "0")],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.process_mrelease(a.word(0)),
    },
    Spec {
        keyword: "remap_file_pages",
        params: &[
            ADDR,
            LEN,
            PROT,
            Param::Int("a file offset in pages"),
            Param::OptFlags(K::Map, 0, "0"),
        ],
        rules: &[range("remap_file_pages")],
        returns: Returns::Int,
        call: |m, a| {
            m.remap_file_pages(a.word(0), a.word(1), a.word(2), a.int(3) as u64, a.word(4))
        },
    },
    Spec {
        keyword: "shmat",
        params: &[Param::File, Param::Addr, Param::OptFlags(K::Shmat, 0, "0")],
        rules: &[Rule::Segment {
            file: 0,
            addr: 1,
            flags: 2,
        }],
        returns: Returns::Address,
        call: |m, a| m.shmat(a.fd(0), a.word(1), a.word(2)),
    },
    Spec {
        keyword: "shmdt",
        params: &[ADDR],
        rules: &[Rule::Inside {
            addr: 0,
            why: "shmdt must name a page inside the window or the far region",
        }],
        returns: Returns::Int,
        call: |m, a| m.shmdt(a.word(0)),
    },
    Spec {
        keyword: "fork",
        params: &[],
        rules: &[],
        returns: Returns::Int,
        call: |m, _| m.fork(),
    },
    Spec {
        keyword: "wait",
        params: &[],
        rules: &[],
        returns: Returns::Int,
        call: |m, _| m.wait(),
    },
    Spec {
        keyword: "in",
        params: &[Param::Choice {
            what: "parent or child",
            no: "child",
            yes: "parent",
        }],
        rules: &[],
        returns: Returns::Int,
        call: |m, a| m.switch(a.bool(0)),
    },
];

/// The step whose keyword is `word` (one word, or two: `touch exec`).
pub fn spec(word: &str) -> Option<&'static Spec> {
    STEPS.iter().find(|s| s.keyword == word)
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.keyword)
    }
}

impl PartialEq for Spec {
    fn eq(&self, other: &Spec) -> bool {
        self.keyword == other.keyword
    }
}

impl Eq for Spec {}
