// SPDX-License-Identifier: GPL-2.0-or-later
//! A userfaultfd for `uffd-register`: opened lazily, with
//! `UFFD_FEATURE_SIGBUS` so a fault in a registered range raises SIGBUS (the
//! runner has no fault-handling thread; without it a touch would block).
//! No event features: fork/remap/unmap events would block those calls until
//! a reader consumed them.
//!
//! The range ioctls (copy, zeropage, writeprotect, continue, move, poison)
//! take structures of 64-bit words; those that fill pages write the bytes
//! they did back into their last word.

const UFFD_API: u64 = 0xAA;
/// _IOWR(0xAA, 0x3F, struct uffdio_api)
const UFFDIO_API: u64 = 0xc018_aa3f;
/// _IOWR(0xAA, 0x00, struct uffdio_register)
const UFFDIO_REGISTER: u64 = 0xc020_aa00;
/// _IOR(0xAA, 0x01, struct uffdio_range)
const UFFDIO_UNREGISTER: u64 = 0x8010_aa01;
/// _IOWR(0xAA, 0x03, struct uffdio_copy)
pub const UFFDIO_COPY: u64 = 0xc028_aa03;
/// _IOWR(0xAA, 0x04, struct uffdio_zeropage)
pub const UFFDIO_ZEROPAGE: u64 = 0xc020_aa04;
/// _IOWR(0xAA, 0x05, struct uffdio_move)
pub const UFFDIO_MOVE: u64 = 0xc028_aa05;
/// _IOWR(0xAA, 0x06, struct uffdio_writeprotect)
pub const UFFDIO_WRITEPROTECT: u64 = 0xc018_aa06;
/// _IOWR(0xAA, 0x07, struct uffdio_continue)
pub const UFFDIO_CONTINUE: u64 = 0xc020_aa07;
/// _IOWR(0xAA, 0x08, struct uffdio_poison)
pub const UFFDIO_POISON: u64 = 0xc020_aa08;
const UFFD_USER_MODE_ONLY: libc::c_long = 1;

/// Features asked for when the kernel offers them: SIGBUS plus the
/// shmem/hugetlb registration modes; no events, no async WP.
const WANTED: u64 = (1 << 0) // PAGEFAULT_FLAG_WP
    | (1 << 4) // MISSING_HUGETLBFS
    | (1 << 5) // MISSING_SHMEM
    | (1 << 7) // SIGBUS
    | (1 << 9) // MINOR_HUGETLBFS
    | (1 << 10) // MINOR_SHMEM
    | (1 << 12); // WP_HUGETLBFS_SHMEM

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

/// Why a guard installation over write-protected entries is not run: the
/// kernel (6.18 at least) zaps them, a file mapping registered for
/// write-protection puts markers back, and the installation retries for
/// ever. The model answers the same.
pub const GUARD_OVER_WP: &str = vma::sys::GUARD_OVER_WP;

/// Whether a page of `[addr, addr + len)` (at most 2^20 pages are looked
/// at) carries the userfaultfd write-protect bit, as /proc/self/pagemap
/// shows it (bit 57, present pages and markers alike).
pub fn write_protected_in(addr: u64, len: u64) -> bool {
    use std::os::unix::fs::FileExt;
    const PAGE: u64 = 4096;
    let first = addr / PAGE;
    let Some(end) = addr.checked_add(len).map(|e| e.div_ceil(PAGE)) else {
        return false;
    };
    if end <= first || end - first > 1 << 20 || addr >= 1 << 63 {
        return false;
    }
    let Ok(f) = std::fs::File::open("/proc/self/pagemap") else {
        return false;
    };
    let mut page = first;
    let mut buf = vec![0u8; 8 * 512];
    while page < end {
        let n = (end - page).min(512) as usize;
        let chunk = &mut buf[..8 * n];
        if f.read_exact_at(chunk, page * 8).is_err() {
            return false;
        }
        if chunk
            .chunks_exact(8)
            .any(|e| u64::from_le_bytes(e.try_into().unwrap_or([0; 8])) & (1 << 57) != 0)
        {
            return true;
        }
        page += n as u64;
    }
    false
}

/// An initialised userfaultfd.
pub struct Uffd(libc::c_int);

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Opens a raw userfaultfd (retrying user-mode-only if refused).
fn open_raw() -> Result<libc::c_int, i32> {
    let flags = libc::c_long::from(libc::O_CLOEXEC | libc::O_NONBLOCK);
    // SAFETY: userfaultfd takes only a flags argument and returns an fd.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) };
    if fd >= 0 {
        return Ok(fd as libc::c_int);
    }
    // SAFETY: as above.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY) };
    if fd >= 0 {
        Ok(fd as libc::c_int)
    } else {
        Err(errno())
    }
}

/// UFFDIO_API handshake; returns the features the kernel reports.
fn api(fd: libc::c_int, features: u64) -> Result<u64, i32> {
    let mut a = UffdioApi {
        api: UFFD_API,
        features,
        ioctls: 0,
    };
    // SAFETY: UFFDIO_API reads and writes a struct uffdio_api, which `a` is.
    let rc = unsafe { libc::ioctl(fd, UFFDIO_API as _, &mut a as *mut UffdioApi) };
    if rc == 0 {
        Ok(a.features)
    } else {
        Err(errno())
    }
}

fn close(fd: libc::c_int) {
    // SAFETY: closing an fd this module opened and owns.
    unsafe { libc::close(fd) };
}

impl Uffd {
    /// Opens and initialises a userfaultfd with the wanted features.
    pub fn open() -> Result<Uffd, i32> {
        let probe = open_raw()?;
        let offered = api(probe, 0);
        close(probe);
        let fd = open_raw()?;
        match api(fd, offered? & WANTED) {
            Ok(_) => Ok(Uffd(fd)),
            Err(e) => {
                close(fd);
                Err(e)
            }
        }
    }

    /// UFFDIO_REGISTER with `mode` (MISSING=1, WP=2, MINOR=4).
    pub fn register(&self, start: u64, len: u64, mode: u64) -> Result<(), i32> {
        let mut r = UffdioRegister {
            range: UffdioRange { start, len },
            mode,
            ioctls: 0,
        };
        // SAFETY: UFFDIO_REGISTER reads and writes a struct uffdio_register.
        let rc =
            unsafe { libc::ioctl(self.0, UFFDIO_REGISTER as _, &mut r as *mut UffdioRegister) };
        if rc == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }

    /// UFFDIO_UNREGISTER.
    pub fn unregister(&self, start: u64, len: u64) -> Result<(), i32> {
        let mut r = UffdioRange { start, len };
        // SAFETY: UFFDIO_UNREGISTER reads a struct uffdio_range.
        let rc = unsafe { libc::ioctl(self.0, UFFDIO_UNREGISTER as _, &mut r as *mut UffdioRange) };
        if rc == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }

    /// A range ioctl `cmd` on the words of its structure. With `count`
    /// (the index of the word the kernel writes the bytes done into): the
    /// count whenever it is positive (a partial fill fails with EAGAIN
    /// but did that much), else the ioctl's errno; without: 0 or errno.
    pub fn range_ioctl(
        &self,
        cmd: u64,
        words: &mut [u64],
        count: Option<usize>,
    ) -> Result<i64, i32> {
        if let Some(i) = count {
            if let Some(w) = words.get_mut(i) {
                *w = 0;
            }
        }
        // SAFETY: `cmd` is one of the userfaultfd range ioctls, each of which
        // reads (and may write) a structure of as many 64-bit words as
        // `words` holds (the callers pass the right number).
        let rc = unsafe { libc::ioctl(self.0, cmd as _, words.as_mut_ptr()) };
        let e = errno();
        let done = count.and_then(|i| words.get(i)).map_or(0, |&w| w as i64);
        if done > 0 {
            Ok(done)
        } else if rc == 0 {
            Ok(0)
        } else {
            Err(e)
        }
    }
}
