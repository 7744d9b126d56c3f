// SPDX-License-Identifier: GPL-2.0-or-later
//! A C ABI for [`vma`]: Linux's VMA rules for emulators, sandboxes and
//! kernels written in C or C++.
//!
//! An address space is a handle (`vma_mm_t`, a number), created from a
//! kernel version and CPU features and freed with [`vma_mm_free`]. Every
//! system call returns what the kernel returns -- a value >= 0, or a
//! negative errno -- and no input can crash the library: a bad handle is
//! `-EBADF`, a null output pointer `-EFAULT`, and a panic inside the
//! model (a bug) is caught and reported as `-EFAULT` rather than
//! unwinding into C. The header is `include/vma.h`.
//!
//! Beyond the system calls: [`vma_dry_run`] answers calls without making
//! them, and [`vma_merge_verdict`] says whether two neighbouring VMAs
//! would merge and, if not, which rule refused ([`vma_verdict_name`]
//! names the code).

#![warn(missing_docs)]

mod out;
mod registry;
mod verdict;

pub use verdict::*;

use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use vma::config::CpuFeatures;
use vma::{Access, Config, Errno, File, FileKind, KResult, KernelVersion, Mm, Signal};

/// An address space: a handle from [`vma_mm_new`] or [`vma_fork`]; 0 is
/// never valid.
#[allow(non_camel_case_types)]
pub type vma_mm_t = u64;

/// A file that can be mapped: a handle from [`vma_file_new`]; 0 means no
/// file (anonymous memory).
#[allow(non_camel_case_types)]
pub type vma_file_t = u64;

/// [`vma_mm_new`]'s `cpu` bit: the CPU has protection keys (`pku`).
pub const VMA_CPU_PKU: u32 = 1;
/// [`vma_mm_new`]'s `cpu` bit: 5-level paging (`la57`).
pub const VMA_CPU_LA57: u32 = 2;
/// [`vma_mm_new`]'s `cpu` bit: user shadow stacks (`user_shstk`).
pub const VMA_CPU_USER_SHSTK: u32 = 4;

/// One VMA, as /proc/PID/maps shows it plus its flags.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct vma_entry {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// File offset in bytes (0 for anonymous memory).
    pub offset: u64,
    /// The file's inode number (0 for anonymous memory).
    pub ino: u64,
    /// The kernel's `vm_flags` bits (`VM_READ` = 1, ...).
    pub flags: u64,
    /// `rwxp` or `rwxs`, NUL-terminated.
    pub perms: [c_char; 5],
}

/// Runs `f`, turning a panic into `-EFAULT`: nothing unwinds into C.
fn guarded(f: impl FnOnce() -> i64) -> i64 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(-i64::from(Errno::EFAULT.0))
}

/// A result as C sees it: the value, or the negative errno.
fn ret<T: Into<i64>>(r: KResult<T>) -> i64 {
    match r {
        Ok(v) => v.into(),
        Err(e) => -i64::from(e.0),
    }
}

/// Runs `f` on the address space `mm`; `-EBADF` if there is none.
fn on_mm(mm: vma_mm_t, f: impl FnOnce(&mut Mm) -> i64) -> i64 {
    guarded(|| {
        registry::with(|r| match r.mms.get_mut(&mm) {
            Some(m) => f(m),
            None => -i64::from(Errno::EBADF.0),
        })
    })
}

/// A result carrying an address: addresses above `i64::MAX` cannot be
/// returned beside negative errnos, and no user address is that high.
fn addr(r: KResult<u64>) -> i64 {
    ret(r.map(|a| i64::try_from(a).unwrap_or(i64::MAX)))
}

/// A new, empty address space behaving like Linux `major.minor.patch`
/// on a CPU with the `cpu` features (`VMA_CPU_*` bits). Returns its
/// handle, or 0 if the version is not one the library knows how to
/// reproduce (before 6.1).
#[no_mangle]
pub extern "C" fn vma_mm_new(major: u16, minor: u16, patch: u16, cpu: u32) -> vma_mm_t {
    let version = KernelVersion(major, minor, patch);
    if version < KernelVersion(6, 1, 0) {
        return 0;
    }
    let features = CpuFeatures {
        pku: cpu & VMA_CPU_PKU != 0,
        la57: cpu & VMA_CPU_LA57 != 0,
        user_shstk: cpu & VMA_CPU_USER_SHSTK != 0,
    };
    let config = Config::linux(version).with_cpu(features);
    let r = guarded(|| {
        registry::with(|r| {
            let h = r.handle();
            r.mms.insert(h, Mm::new(config));
            h as i64
        })
    });
    u64::try_from(r).unwrap_or(0)
}

/// Frees an address space. 0, or `-EBADF` if `mm` is not a live handle.
#[no_mangle]
pub extern "C" fn vma_mm_free(mm: vma_mm_t) -> i64 {
    guarded(|| {
        registry::with(|r| match r.mms.remove(&mm) {
            Some(_) => 0,
            None => -i64::from(Errno::EBADF.0),
        })
    })
}

/// A scratch copy of `mm` for dry runs: calls on the returned handle
/// answer what they would answer on `mm`, and leave `mm` as it is. Read
/// the copy afterwards (`vma_find`, `vma_render_maps`) to see the layout
/// the calls would leave, and free it with [`vma_mm_free`]. Copying costs
/// time and memory linear in the size of `mm` (about 0.4 ms at 1 000
/// VMAs). The copy's handle, or a negative errno (`-EBADF` for a bad
/// handle).
#[no_mangle]
pub extern "C" fn vma_dry_run(mm: vma_mm_t) -> i64 {
    guarded(|| {
        registry::with(|r| {
            let Some(m) = r.mms.get(&mm) else {
                return -i64::from(Errno::EBADF.0);
            };
            let copy = m.dry_run(|s| std::mem::replace(s, Mm::new(s.config.clone())));
            let h = r.handle();
            r.mms.insert(h, copy);
            h as i64
        })
    })
}

/// `fork()`: a copy of `mm` as the child sees it. The child's handle, or
/// a negative errno.
#[no_mangle]
pub extern "C" fn vma_fork(mm: vma_mm_t) -> i64 {
    guarded(|| {
        registry::with(|r| {
            let Some(parent) = r.mms.get_mut(&mm) else {
                return -i64::from(Errno::EBADF.0);
            };
            match parent.fork() {
                Ok(child) => {
                    let h = r.handle();
                    r.mms.insert(h, child);
                    h as i64
                }
                Err(e) => -i64::from(e.0),
            }
        })
    })
}

/// A new file of `pages` pages, like a memfd (`shmem`) opened read-write
/// or, with `writable` 0, read-only. Returns its handle (> 0).
#[no_mangle]
pub extern "C" fn vma_file_new(pages: u64, writable: u32) -> i64 {
    guarded(|| {
        registry::with(|r| {
            let h = r.handle();
            let f = File::new("/memfd:vma", pages, FileKind::Shmem, true, writable != 0);
            r.files.insert(h, f);
            h as i64
        })
    })
}

/// Closes a file handle (mappings of it stay). 0, or `-EBADF`.
#[no_mangle]
pub extern "C" fn vma_file_free(file: vma_file_t) -> i64 {
    guarded(|| {
        registry::with(|r| match r.files.remove(&file) {
            Some(_) => 0,
            None => -i64::from(Errno::EBADF.0),
        })
    })
}

/// `mmap(addr, len, prot, flags, fd, offset)` with `file` for the
/// descriptor (0: none). The address, or a negative errno; a `file` that
/// is not a live handle is `-EBADF`, as for a closed descriptor.
#[no_mangle]
pub extern "C" fn vma_mmap(
    mm: vma_mm_t,
    addr_hint: u64,
    len: u64,
    prot: u32,
    flags: u32,
    file: vma_file_t,
    offset: u64,
) -> i64 {
    guarded(|| {
        registry::with(|r| {
            let f = match file {
                0 => None,
                h => match r.files.get(&h) {
                    Some(f) => Some(f.clone()),
                    None => return -i64::from(Errno::EBADF.0),
                },
            };
            match r.mms.get_mut(&mm) {
                Some(m) => addr(m.mmap(addr_hint, len, prot, flags, f.as_ref(), offset)),
                None => -i64::from(Errno::EBADF.0),
            }
        })
    })
}

/// `munmap(addr, len)`.
#[no_mangle]
pub extern "C" fn vma_munmap(mm: vma_mm_t, addr: u64, len: u64) -> i64 {
    on_mm(mm, |m| ret(m.munmap(addr, len).map(|()| 0)))
}

/// `mprotect(addr, len, prot)`.
#[no_mangle]
pub extern "C" fn vma_mprotect(mm: vma_mm_t, addr: u64, len: u64, prot: u32) -> i64 {
    on_mm(mm, |m| ret(m.mprotect(addr, len, prot).map(|()| 0)))
}

/// `pkey_mprotect(addr, len, prot, pkey)`.
#[no_mangle]
pub extern "C" fn vma_pkey_mprotect(
    mm: vma_mm_t,
    addr: u64,
    len: u64,
    prot: u32,
    pkey: i32,
) -> i64 {
    on_mm(mm, |m| {
        ret(m.pkey_mprotect(addr, len, prot, pkey).map(|()| 0))
    })
}

/// `mremap(old_addr, old_len, new_len, flags, new_addr)`: the new address.
#[no_mangle]
pub extern "C" fn vma_mremap(
    mm: vma_mm_t,
    old_addr: u64,
    old_len: u64,
    new_len: u64,
    flags: u32,
    new_addr: u64,
) -> i64 {
    on_mm(mm, |m| {
        addr(m.mremap(old_addr, old_len, new_len, flags, new_addr))
    })
}

/// `madvise(addr, len, advice)`.
#[no_mangle]
pub extern "C" fn vma_madvise(mm: vma_mm_t, addr: u64, len: u64, advice: i32) -> i64 {
    on_mm(mm, |m| ret(m.madvise(addr, len, advice).map(|()| 0)))
}

/// `mlock2(addr, len, flags)` (`flags` 0 is `mlock`).
#[no_mangle]
pub extern "C" fn vma_mlock2(mm: vma_mm_t, addr: u64, len: u64, flags: u32) -> i64 {
    on_mm(mm, |m| ret(m.mlock2(addr, len, flags).map(|()| 0)))
}

/// `munlock(addr, len)`.
#[no_mangle]
pub extern "C" fn vma_munlock(mm: vma_mm_t, addr: u64, len: u64) -> i64 {
    on_mm(mm, |m| ret(m.munlock(addr, len).map(|()| 0)))
}

/// `mlockall(flags)`.
#[no_mangle]
pub extern "C" fn vma_mlockall(mm: vma_mm_t, flags: u32) -> i64 {
    on_mm(mm, |m| ret(m.mlockall(flags).map(|()| 0)))
}

/// `munlockall()`.
#[no_mangle]
pub extern "C" fn vma_munlockall(mm: vma_mm_t) -> i64 {
    on_mm(mm, |m| ret(m.munlockall().map(|()| 0)))
}

/// `mseal(addr, len, flags)`.
#[no_mangle]
pub extern "C" fn vma_mseal(mm: vma_mm_t, addr: u64, len: u64, flags: u64) -> i64 {
    on_mm(mm, |m| ret(m.mseal(addr, len, flags).map(|()| 0)))
}

/// `msync(addr, len, flags)`.
#[no_mangle]
pub extern "C" fn vma_msync(mm: vma_mm_t, addr: u64, len: u64, flags: u32) -> i64 {
    on_mm(mm, |m| ret(m.msync(addr, len, flags).map(|()| 0)))
}

/// `mincore(addr, len, vec)`: one byte per page into `vec` (bit 0 set
/// where the page is resident), which must hold `len` rounded up to pages
/// bytes. `-EFAULT` if `vec` is null where there is a page to report.
#[no_mangle]
pub extern "C" fn vma_mincore(mm: vma_mm_t, addr: u64, len: u64, vec: *mut u8) -> i64 {
    on_mm(mm, |m| match m.mincore(addr, len) {
        Ok(pages) => {
            let bytes: Vec<u8> = pages.iter().map(|&on| u8::from(on)).collect();
            if out::store_bytes(&bytes, vec) {
                0
            } else {
                -i64::from(Errno::EFAULT.0)
            }
        }
        Err(e) => -i64::from(e.0),
    })
}

/// One range of a [`vma_process_madvise`] vector (a `struct iovec`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct vma_iovec {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
}

/// `process_madvise` of the address space on itself (a pidfd of its own
/// process) over the `n` ranges at `iov`: the bytes advised. `-EFAULT` if
/// `iov` is null while `n` is not 0 (after the flags and `UIO_MAXIOV`
/// checks).
#[no_mangle]
pub extern "C" fn vma_process_madvise(
    mm: vma_mm_t,
    iov: *const vma_iovec,
    n: usize,
    advice: i32,
    flags: u32,
) -> i64 {
    on_mm(mm, |m| {
        // Too long a vector is EINVAL before the kernel reads it: the
        // model hears only that it is too long.
        let vec: Vec<(u64, u64)> = if n > vma::sys::UIO_MAXIOV {
            vec![(0, 0); vma::sys::UIO_MAXIOV + 1]
        } else {
            match out::load_array(iov, n) {
                Some(ranges) => ranges.iter().map(|r| (r.base, r.len)).collect(),
                // The flags are checked before the vector is read.
                None if flags != 0 => return -i64::from(Errno::EINVAL.0),
                None => return -i64::from(Errno::EFAULT.0),
            }
        };
        ret(m
            .process_madvise(&vec, advice, flags)
            .map(|b| i64::try_from(b).unwrap_or(i64::MAX)))
    })
}

/// `remap_file_pages(addr, size, prot, pgoff, flags)`.
#[no_mangle]
pub extern "C" fn vma_remap_file_pages(
    mm: vma_mm_t,
    addr: u64,
    size: u64,
    prot: u64,
    pgoff: u64,
    flags: u64,
) -> i64 {
    on_mm(mm, |m| {
        ret(m
            .remap_file_pages(addr, size, prot, pgoff, flags)
            .map(|()| 0))
    })
}

/// `mbind(addr, len, mode, nodes, flags)` with the node mask's first 64
/// bits as `nodes` (0 is an empty or absent mask); the library models
/// machines of at most 64 nodes.
#[no_mangle]
pub extern "C" fn vma_mbind(
    mm: vma_mm_t,
    addr: u64,
    len: u64,
    mode: u32,
    nodes: u64,
    flags: u32,
) -> i64 {
    on_mm(mm, |m| {
        ret(m.mbind(addr, len, mode, nodes, flags).map(|()| 0))
    })
}

/// `set_mempolicy(mode, nodes)`, the node mask as for [`vma_mbind`].
#[no_mangle]
pub extern "C" fn vma_set_mempolicy(mm: vma_mm_t, mode: u32, nodes: u64) -> i64 {
    on_mm(mm, |m| ret(m.set_mempolicy(mode, nodes).map(|()| 0)))
}

/// `get_mempolicy(policy, nodes, addr, flags)`: the policy word into
/// `policy` and the node mask's first 64 bits into `nodes`, each only if
/// not null. With `MPOL_F_NODE | MPOL_F_ADDR` the page is faulted in.
#[no_mangle]
pub extern "C" fn vma_get_mempolicy(
    mm: vma_mm_t,
    policy: *mut i32,
    nodes: *mut u64,
    addr: u64,
    flags: u64,
) -> i64 {
    on_mm(mm, |m| match m.get_mempolicy(addr, flags) {
        Ok(r) => {
            if !policy.is_null() {
                out::store(policy, r.policy);
            }
            if !nodes.is_null() {
                out::store(nodes, r.nodes);
            }
            0
        }
        Err(e) => -i64::from(e.0),
    })
}

/// `set_mempolicy_home_node(addr, len, home_node, flags)`.
#[no_mangle]
pub extern "C" fn vma_set_mempolicy_home_node(
    mm: vma_mm_t,
    addr: u64,
    len: u64,
    home_node: u64,
    flags: u64,
) -> i64 {
    on_mm(mm, |m| {
        ret(m
            .set_mempolicy_home_node(addr, len, home_node, flags)
            .map(|()| 0))
    })
}

/// `brk(addr)`: the new break (the old one if refused), as the raw
/// system call answers.
#[no_mangle]
pub extern "C" fn vma_brk(mm: vma_mm_t, brk: u64) -> i64 {
    on_mm(mm, |m| addr(Ok(m.brk(brk))))
}

/// `pkey_alloc(flags, access)`: the key.
#[no_mangle]
pub extern "C" fn vma_pkey_alloc(mm: vma_mm_t, flags: u64, access: u64) -> i64 {
    on_mm(mm, |m| ret(m.pkey_alloc(flags, access)))
}

/// `pkey_free(pkey)`.
#[no_mangle]
pub extern "C" fn vma_pkey_free(mm: vma_mm_t, pkey: i64) -> i64 {
    on_mm(mm, |m| ret(m.pkey_free(pkey).map(|()| 0)))
}

/// A user access to `addr` (`write` non-zero for a write): 0 if it
/// succeeds, else the signal it raises as `signo * 256 + si_code`
/// (`SIGSEGV`/`SEGV_MAPERR` is 11 * 256 + 1).
#[no_mangle]
pub extern "C" fn vma_touch(mm: vma_mm_t, addr: u64, write: u32) -> i64 {
    let access = if write != 0 {
        Access::Write
    } else {
        Access::Read
    };
    on_mm(mm, |m| match m.fault(addr, access) {
        Ok(()) => 0,
        Err(s) => signal_code(s),
    })
}

/// An instruction fetch at `addr`: 0 if it may run, else the signal as
/// [`vma_touch`] encodes it. On x86 a missing page is brought in as for a
/// read first (SIGBUS past a file's end, a guard marker), then a VMA
/// without `PROT_EXEC` refuses the fetch; protection keys do not apply.
#[no_mangle]
pub extern "C" fn vma_fetch(mm: vma_mm_t, addr: u64) -> i64 {
    on_mm(mm, |m| match m.fault(addr, Access::Exec) {
        Ok(()) => 0,
        Err(s) => signal_code(s),
    })
}

/// `signo * 256 + si_code` for a fault's signal.
fn signal_code(s: Signal) -> i64 {
    const SIGBUS: i64 = 7;
    const SIGSEGV: i64 = 11;
    match s {
        Signal::SegvMaperr => SIGSEGV * 256 + 1,
        Signal::SegvAccerr => SIGSEGV * 256 + 2,
        Signal::SegvPkuerr => SIGSEGV * 256 + 4,
        Signal::Bus => SIGBUS * 256 + 2,
        Signal::BusMceerr => SIGBUS * 256 + 4,
        #[allow(unreachable_patterns)]
        _ => SIGBUS * 256,
    }
}

/// How many VMAs `mm` has.
#[no_mangle]
pub extern "C" fn vma_count(mm: vma_mm_t) -> i64 {
    on_mm(mm, |m| i64::try_from(m.map_count()).unwrap_or(i64::MAX))
}

/// The first VMA that ends above `addr` (the kernel's `find_vma`), into
/// `out`: 1 if there is one, 0 if none, `-EFAULT` if `out` is null.
/// Walk every VMA by starting at 0 and going on from each `end`.
#[no_mangle]
pub extern "C" fn vma_find(mm: vma_mm_t, addr: u64, out: *mut vma_entry) -> i64 {
    on_mm(mm, |m| {
        let Some(id) = m.find_vma(addr) else {
            return 0;
        };
        let Some(v) = m.get(id) else {
            return 0;
        };
        let e = m.map_entry(v);
        let mut perms = [0 as c_char; 5];
        for (d, s) in perms.iter_mut().zip(e.perms) {
            *d = s as c_char;
        }
        let entry = vma_entry {
            start: e.start,
            end: e.end,
            offset: e.offset,
            ino: e.ino,
            flags: e.flags.0,
            perms,
        };
        if out::store(out, entry) {
            1
        } else {
            -i64::from(Errno::EFAULT.0)
        }
    })
}

/// `mm` as /proc/PID/maps prints it, NUL-terminated in `buf` of `len`
/// bytes (cut short if it does not fit). Returns the length of the whole
/// text without the NUL, so a call with `len` 0 sizes the buffer;
/// `-EFAULT` if `buf` is null and `len` is not 0.
#[no_mangle]
pub extern "C" fn vma_render_maps(mm: vma_mm_t, buf: *mut c_char, len: usize) -> i64 {
    on_mm(mm, |m| {
        let text = m.maps().to_string();
        if out::copy_str(&text, buf, len) {
            i64::try_from(text.len()).unwrap_or(i64::MAX)
        } else {
            -i64::from(Errno::EFAULT.0)
        }
    })
}

/// Checks the kernel's invariants on `mm` (`validate_mm`): 0, or
/// `-EUCLEAN` (117) if one is broken, which is a bug in the library.
#[no_mangle]
pub extern "C" fn vma_validate(mm: vma_mm_t) -> i64 {
    on_mm(mm, |m| match m.validate() {
        Ok(()) => 0,
        Err(_) => -117,
    })
}
