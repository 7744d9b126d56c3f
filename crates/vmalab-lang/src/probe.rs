// SPDX-License-Identifier: GPL-2.0-or-later
//! Facts of the running kernel that no file shows and that only a system
//! call can reveal, asked in a throwaway child so the asking changes
//! nothing in the process that runs scenarios.

/// What a fresh process's first `pkey_alloc(0, 0)` answers: the key, or
/// the negative errno; `None` if the probe itself could not run. Asked
/// once per process: the answer is the kernel's, it cannot change.
pub fn first_pkey_alloc() -> Option<i64> {
    static ANSWER: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(probe_pkey_alloc)
}

/// Calls `pkey_alloc(0, 0)` in a child and reads its answer from the exit
/// status.
fn probe_pkey_alloc() -> Option<i64> {
    match in_child(pkey_alloc_errno)? {
        0 => Some(0),
        e => Some(-i64::from(e)),
    }
}

/// `pkey_alloc(0, 0)`: 0 if it gave a key, else its errno.
fn pkey_alloc_errno() -> i32 {
    // SAFETY: pkey_alloc takes two integers; reading this thread's errno.
    unsafe {
        let r = libc::syscall(libc::SYS_pkey_alloc, 0, 0);
        if r >= 0 {
            0
        } else {
            *libc::__errno_location()
        }
    }
}

/// Whether `memfd_secret` gives a file here (Debian's 6.1 leaves it off:
/// `secretmem.enable=0`, ENOSYS). Asked once per process.
pub fn memfd_secret() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| in_child(memfd_secret_errno) == Some(0))
}

/// Whether a `memfd_secret` mapping is `VM_LOCKED` here (see
/// `vma::Config::secretmem_locks_vma`); `None` where memfd_secret makes no
/// file or the probe could not run. Asked once per process.
pub fn secretmem_locks_vma() -> Option<bool> {
    static ANSWER: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| match in_child(secretmem_dontneed)? {
        0 => Some(false),
        e if e == libc::EINVAL => Some(true),
        _ => None,
    })
}

/// Maps one page of a new memfd_secret file shared and answers what
/// `MADV_DONTNEED` there does: 0, or EINVAL on a locked VMA (another
/// errno if a call before it failed).
fn secretmem_dontneed() -> i32 {
    // SAFETY: raw system calls on integers and on the page just mapped;
    // the child exits right after.
    unsafe {
        let fd = libc::syscall(SYS_MEMFD_SECRET, 0);
        if fd < 0 || libc::ftruncate(fd as libc::c_int, 4096) != 0 {
            return 255;
        }
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd as libc::c_int,
            0,
        );
        if p == libc::MAP_FAILED {
            return 254;
        }
        if libc::madvise(p, 4096, libc::MADV_DONTNEED) == 0 {
            0
        } else {
            *libc::__errno_location()
        }
    }
}

/// The system call number of `memfd_secret` on x86-64.
pub const SYS_MEMFD_SECRET: libc::c_long = 447;

/// `memfd_secret(0)`: 0 if it gave a file, else its errno.
fn memfd_secret_errno() -> i32 {
    // SAFETY: memfd_secret takes one integer; reading this thread's errno.
    unsafe {
        let r = libc::syscall(SYS_MEMFD_SECRET, 0);
        if r >= 0 {
            0
        } else {
            *libc::__errno_location()
        }
    }
}

/// What an `MREMAP_DONTUNMAP` copy placed right beside its source merges
/// with on this kernel (see [`vma::DontunmapBesideSource`]); `None` if the
/// probe could not run. Asked once per process.
pub fn dontunmap_beside_source() -> Option<vma::DontunmapBesideSource> {
    static ANSWER: std::sync::OnceLock<Option<vma::DontunmapBesideSource>> =
        std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        use vma::DontunmapBesideSource::*;
        match in_child(dontunmap_layout) {
            Some(10) => Some(Merges),
            Some(11) => Some(SkipsSource),
            Some(12) => Some(MergesNothing),
            _ => None,
        }
    })
}

/// In a fresh reservation of 13 pages (all `PROT_NONE`, so nothing outside
/// can join): a source `S` at pages 1..8 and a compatible VMA `N` at
/// 10..12, both fresh private anonymous memory; then `S`'s tail 6..8 moved
/// with `MREMAP_DONTUNMAP` to 8..10, between them. Exit code 10 if 1..12 is
/// one VMA (the copy joined both), 11 if 8..12 is (it joined `N` only), 12
/// if 8..10 stands alone, 1 if a call failed.
fn dontunmap_layout() -> i32 {
    const P: usize = 4096;
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    // SAFETY: raw mmap/mremap calls on a reservation this child owns; no
    // memory is touched through the returned addresses.
    unsafe {
        let base = libc::mmap(std::ptr::null_mut(), 13 * P, libc::PROT_NONE, anon, -1, 0);
        if base == libc::MAP_FAILED {
            return 1;
        }
        let at = |page: usize| (base as usize + page * P) as *mut libc::c_void;
        let fixed = anon | libc::MAP_FIXED;
        if libc::mmap(at(1), 7 * P, rw, fixed, -1, 0) != at(1)
            || libc::mmap(at(10), 2 * P, rw, fixed, -1, 0) != at(10)
        {
            return 1;
        }
        let flags = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP;
        if libc::mremap(at(6), 2 * P, 2 * P, flags, at(8)) != at(8) {
            return 1;
        }
        // Growing a range in place that spans more than one VMA fails with
        // EFAULT; within one VMA it fails with ENOMEM here (there is no room
        // to grow), and changes nothing either way.
        let one_vma = |page: usize, pages: usize| {
            let r = libc::mremap(at(page), pages * P, (pages + 1) * P, 0);
            r == libc::MAP_FAILED && *libc::__errno_location() == libc::ENOMEM
        };
        if one_vma(1, 11) {
            10
        } else if one_vma(8, 4) {
            11
        } else if one_vma(8, 2) {
            12
        } else {
            1
        }
    }
}

/// Runs `f` in a forked child and returns its exit code; `None` if the
/// child could not be made or did not exit normally. `f` must make only
/// async-signal-safe calls (the parent may have threads).
fn in_child(f: fn() -> i32) -> Option<i32> {
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::ForkResult;
    // SAFETY: see the contract above; the child leaves with _exit.
    let child = match unsafe { nix::unistd::fork() }.ok()? {
        ForkResult::Child => {
            // SAFETY: _exit never returns and is async-signal-safe.
            unsafe { libc::_exit(f().clamp(0, 255)) }
        }
        ForkResult::Parent { child } => child,
    };
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Some(code),
            Ok(WaitStatus::Signaled(..)) => return None,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        }
    }
}
