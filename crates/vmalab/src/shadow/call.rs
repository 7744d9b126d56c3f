// SPDX-License-Identifier: GPL-2.0-or-later
//! The memory system calls shadowing understands: decoded from a syscall
//! stop's registers, applied to the model, and shown as text.

use std::fmt;

use vma::sys::consts::{
    MADV_COLD, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_PAGEOUT, MADV_POPULATE_READ,
    MADV_POPULATE_WRITE, MADV_REMOVE, MADV_WILLNEED,
};
use vma::{Errno, File, Mm};

/// x86-64 system call numbers.
mod nr {
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    pub const MUNMAP: u64 = 11;
    pub const BRK: u64 = 12;
    pub const MREMAP: u64 = 25;
    pub const MADVISE: u64 = 28;
    pub const MLOCK: u64 = 149;
    pub const MUNLOCK: u64 = 150;
    pub const MLOCKALL: u64 = 151;
    pub const MUNLOCKALL: u64 = 152;
    pub const MLOCK2: u64 = 325;
    pub const PKEY_MPROTECT: u64 = 329;
    pub const MSEAL: u64 = 462;
    // Calls that change the address space in ways not modelled call by
    // call: the layout is taken from the kernel after them.
    pub const SHMAT: u64 = 30;
    pub const SHMDT: u64 = 67;
    pub const MBIND: u64 = 237;
    pub const PRCTL: u64 = 157;
    pub const PROCESS_MADVISE: u64 = 440;
    pub const IOCTL: u64 = 16;
}

/// The number of the modelled call named `name` (as strace and
/// syzkaller spell it).
pub fn nr_of(name: &str) -> Option<u64> {
    Some(match name {
        "mmap" => nr::MMAP,
        "mprotect" => nr::MPROTECT,
        "munmap" => nr::MUNMAP,
        "brk" => nr::BRK,
        "mremap" => nr::MREMAP,
        "madvise" => nr::MADVISE,
        "mlock" => nr::MLOCK,
        "munlock" => nr::MUNLOCK,
        "mlockall" => nr::MLOCKALL,
        "munlockall" => nr::MUNLOCKALL,
        "mlock2" => nr::MLOCK2,
        "pkey_mprotect" => nr::PKEY_MPROTECT,
        "mseal" => nr::MSEAL,
        _ => return None,
    })
}

/// A system call's number and arguments.
#[derive(Clone, Copy, Debug)]
pub struct Raw {
    pub nr: u64,
    pub args: [u64; 6],
}

/// A call shadowing knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Mmap {
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        fd: i32,
        off: u64,
    },
    Munmap {
        addr: u64,
        len: u64,
    },
    Mprotect {
        addr: u64,
        len: u64,
        prot: u32,
        pkey: Option<i32>,
    },
    Mremap {
        addr: u64,
        old: u64,
        new: u64,
        flags: u32,
        to: u64,
    },
    Brk {
        addr: u64,
    },
    Madvise {
        addr: u64,
        len: u64,
        advice: i32,
    },
    Mlock {
        addr: u64,
        len: u64,
        flags: u32,
    },
    Munlock {
        addr: u64,
        len: u64,
    },
    Mlockall {
        flags: u32,
    },
    Munlockall,
    Mseal {
        addr: u64,
        len: u64,
        flags: u64,
    },
    /// A call that changes the address space but is not modelled here.
    Unmodelled(u64),
}

impl Call {
    /// The call at a syscall stop, if it touches the address space.
    pub fn decode(r: &Raw) -> Option<Call> {
        let a = r.args;
        Some(match r.nr {
            nr::MMAP => Call::Mmap {
                addr: a[0],
                len: a[1],
                prot: a[2] as u32,
                flags: a[3] as u32,
                fd: a[4] as i32,
                off: a[5],
            },
            nr::MUNMAP => Call::Munmap {
                addr: a[0],
                len: a[1],
            },
            nr::MPROTECT => Call::Mprotect {
                addr: a[0],
                len: a[1],
                prot: a[2] as u32,
                pkey: None,
            },
            nr::PKEY_MPROTECT => Call::Mprotect {
                addr: a[0],
                len: a[1],
                prot: a[2] as u32,
                pkey: Some(a[3] as i32),
            },
            nr::MREMAP => Call::Mremap {
                addr: a[0],
                old: a[1],
                new: a[2],
                flags: a[3] as u32,
                to: a[4],
            },
            nr::BRK => Call::Brk { addr: a[0] },
            nr::MADVISE => Call::Madvise {
                addr: a[0],
                len: a[1],
                advice: a[2] as i32,
            },
            nr::MLOCK => Call::Mlock {
                addr: a[0],
                len: a[1],
                flags: 0,
            },
            nr::MLOCK2 => Call::Mlock {
                addr: a[0],
                len: a[1],
                flags: a[2] as u32,
            },
            nr::MUNLOCK => Call::Munlock {
                addr: a[0],
                len: a[1],
            },
            nr::MLOCKALL => Call::Mlockall { flags: a[0] as u32 },
            nr::MUNLOCKALL => Call::Munlockall,
            nr::MSEAL => Call::Mseal {
                addr: a[0],
                len: a[1],
                flags: a[2],
            },
            nr::SHMAT | nr::SHMDT | nr::MBIND | nr::PROCESS_MADVISE => Call::Unmodelled(r.nr),
            nr::PRCTL if a[0] == 0x5356_4d41 => Call::Unmodelled(r.nr), // PR_SET_VMA
            nr::IOCTL if a[1] & 0xff00 == 0xaa00 => Call::Unmodelled(r.nr), // userfaultfd
            _ => return None,
        })
    }

    /// The address ranges the call looks at, for fault synchronisation.
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let r = |a: u64, l: u64| (a, a.saturating_add(l));
        match *self {
            Call::Mmap { addr, len, .. } => vec![r(addr, len)],
            Call::Munmap { addr, len }
            | Call::Mprotect { addr, len, .. }
            | Call::Madvise { addr, len, .. }
            | Call::Mlock { addr, len, .. }
            | Call::Munlock { addr, len }
            | Call::Mseal { addr, len, .. } => vec![r(addr, len)],
            Call::Mremap {
                addr, old, new, to, ..
            } => vec![r(addr, old.max(new)), r(to, new)],
            Call::Brk { .. } | Call::Mlockall { .. } | Call::Munlockall | Call::Unmodelled(_) => {
                Vec::new()
            }
        }
    }

    /// Whether the call may change VmFlags that /proc/PID/maps does not
    /// show (beyond the permissions): locking, sealing, madvise's flag
    /// advice, mremap's moves. After such a call the comparison reads
    /// smaps; after the others maps is enough for the call's own effect
    /// (mmap, munmap and mprotect change ranges and permissions, and
    /// VM_ACCOUNT, which the periodic full comparison covers).
    pub fn changes_hidden_flags(&self) -> bool {
        match *self {
            Call::Mmap { .. } | Call::Munmap { .. } | Call::Mprotect { .. } | Call::Brk { .. } => {
                false
            }
            // These change pages, not flags.
            Call::Madvise { advice, .. } => !matches!(
                advice,
                MADV_DONTNEED
                    | MADV_DONTNEED_LOCKED
                    | MADV_FREE
                    | MADV_REMOVE
                    | MADV_WILLNEED
                    | MADV_COLD
                    | MADV_PAGEOUT
                    | MADV_POPULATE_READ
                    | MADV_POPULATE_WRITE
            ),
            _ => true,
        }
    }

    /// The range a call that chooses its address placed its mapping at
    /// (`kernel` is the call's result), whose neighbours' faults matter
    /// to the merge the model is about to decide.
    pub fn placed_range(&self, kernel: i64) -> Option<(u64, u64)> {
        let len = match *self {
            Call::Mmap { len, .. } => len,
            Call::Mremap { new, .. } => new,
            _ => return None,
        };
        (kernel >= 0).then(|| (kernel as u64, (kernel as u64).saturating_add(len)))
    }

    /// Runs the call on the model; `file` is what its descriptor names.
    /// The result as the kernel's register would hold it.
    pub fn apply(&self, mm: &mut Mm, file: Option<&File>) -> Option<i64> {
        let unit = |r: Result<(), Errno>| r.map(|()| 0);
        let res: Result<u64, Errno> = match *self {
            Call::Mmap {
                addr,
                len,
                prot,
                flags,
                off,
                ..
            } => mm.mmap(addr, len, prot, flags, file, off),
            Call::Munmap { addr, len } => unit(mm.munmap(addr, len)),
            Call::Mprotect {
                addr,
                len,
                prot,
                pkey: None,
            } => unit(mm.mprotect(addr, len, prot)),
            Call::Mprotect {
                addr,
                len,
                prot,
                pkey: Some(k),
            } => unit(mm.pkey_mprotect(addr, len, prot, k)),
            Call::Mremap {
                addr,
                old,
                new,
                flags,
                to,
            } => mm.mremap(addr, old, new, flags, to),
            Call::Brk { addr } => Ok(mm.brk(addr)),
            Call::Madvise { addr, len, advice } => unit(mm.madvise(addr, len, advice)),
            Call::Mlock {
                addr,
                len,
                flags: 0,
            } => unit(mm.mlock(addr, len)),
            Call::Mlock { addr, len, flags } => unit(mm.mlock2(addr, len, flags)),
            Call::Munlock { addr, len } => unit(mm.munlock(addr, len)),
            Call::Mlockall { flags } => unit(mm.mlockall(flags)),
            Call::Munlockall => unit(mm.munlockall()),
            Call::Mseal { addr, len, flags } => unit(mm.mseal(addr, len, flags)),
            Call::Unmodelled(_) => return None,
        };
        Some(match res {
            Ok(v) => v as i64,
            Err(e) => -i64::from(e.0),
        })
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Call::Mmap {
                addr,
                len,
                prot,
                flags,
                fd,
                off,
            } => {
                write!(
                    f,
                    "mmap({addr:#x}, {len:#x}, {prot:#x}, {flags:#x}, {fd}, {off:#x})"
                )
            }
            Call::Munmap { addr, len } => write!(f, "munmap({addr:#x}, {len:#x})"),
            Call::Mprotect {
                addr,
                len,
                prot,
                pkey: None,
            } => {
                write!(f, "mprotect({addr:#x}, {len:#x}, {prot:#x})")
            }
            Call::Mprotect {
                addr,
                len,
                prot,
                pkey: Some(k),
            } => {
                write!(f, "pkey_mprotect({addr:#x}, {len:#x}, {prot:#x}, {k})")
            }
            Call::Mremap {
                addr,
                old,
                new,
                flags,
                to,
            } => {
                write!(
                    f,
                    "mremap({addr:#x}, {old:#x}, {new:#x}, {flags:#x}, {to:#x})"
                )
            }
            Call::Brk { addr } => write!(f, "brk({addr:#x})"),
            Call::Madvise { addr, len, advice } => {
                write!(f, "madvise({addr:#x}, {len:#x}, {advice})")
            }
            Call::Mlock { addr, len, flags } => write!(f, "mlock2({addr:#x}, {len:#x}, {flags})"),
            Call::Munlock { addr, len } => write!(f, "munlock({addr:#x}, {len:#x})"),
            Call::Mlockall { flags } => write!(f, "mlockall({flags})"),
            Call::Munlockall => write!(f, "munlockall()"),
            Call::Mseal { addr, len, flags } => write!(f, "mseal({addr:#x}, {len:#x}, {flags})"),
            Call::Unmodelled(n) => write!(f, "syscall {n} (not modelled)"),
        }
    }
}

/// A result register as text: a value or an errno name.
pub fn show_result(v: i64) -> String {
    if (-4095..0).contains(&v) {
        crate::scenario::names::errno_name(-v as i32)
    } else {
        format!("{v:#x}")
    }
}
