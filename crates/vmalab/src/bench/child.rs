// SPDX-License-Identifier: GPL-2.0-or-later
//! The live kernel's side of a benchmark: a forked child process makes the
//! real system calls inside a window it reserved, reports its timings
//! through a pipe, then waits while the parent reads its /proc/PID/maps
//! (read from outside, so reading it cannot add a mapping to the window).
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use anyhow::{bail, Context, Result};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe, ForkResult};

/// What the child reported, and how many VMAs lay inside its window when
/// it finished.
pub struct ChildReport {
    pub values: Vec<f64>,
    pub vmas_in_window: usize,
}

/// Reserves `pages` pages of address space and returns the base: the window
/// the child's fixed mappings go in. The reservation stays until
/// [`run_in_child`] is done, so nothing else the parent maps meanwhile can
/// land in it; the child frees it before its job starts.
pub fn reserve_window(pages: u64, page: u64) -> Result<u64> {
    let len = (pages * page) as usize;
    // SAFETY: a fresh PROT_NONE reservation wherever the kernel chooses;
    // nothing refers to it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        bail!("cannot reserve a {pages}-page window");
    }
    Ok(p as u64)
}

/// Runs `job` in a forked child and returns what it returned, with the
/// number of VMAs inside `[base, end)` when it was done. The window is a
/// reservation from [`reserve_window`]: the child frees it first, the
/// parent when the child is gone. `job` must only map memory in that
/// window (and allocate little: it runs in a copy of this process).
pub fn run_in_child(base: u64, end: u64, job: impl FnOnce() -> Vec<f64>) -> Result<ChildReport> {
    let (report_r, report_w) = pipe().context("pipe")?;
    let (go_r, go_w) = pipe().context("pipe")?;
    // SAFETY: the benchmark runs on the command's only thread, so the child
    // is a consistent copy; it runs `job`, writes to a pipe and exits with
    // `_exit`, never returning into the parent's code.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop(report_r);
            drop(go_w);
            sys::unmap(base, end - base);
            let values = job();
            let mut out = std::fs::File::from(report_w);
            let mut bytes = Vec::with_capacity(values.len() * 8);
            for v in &values {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            let _ = out.write_all(&bytes);
            drop(out);
            // Wait for the parent to read our maps (it closes `go` then).
            let mut b = [0u8; 1];
            let _ = std::fs::File::from(go_r).read(&mut b);
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(report_w);
            drop(go_r);
            let bytes = read_all(report_r)?;
            let maps = std::fs::read_to_string(format!("/proc/{child}/maps"));
            drop(go_w);
            waitpid(child, None).context("waitpid")?;
            sys::unmap(base, end - base);
            if bytes.is_empty() || bytes.len() % 8 != 0 {
                bail!("the benchmark child died before reporting");
            }
            let values = bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            let maps = maps.context("reading the child's maps")?;
            Ok(ChildReport {
                values,
                vmas_in_window: count_in_window(&maps, base, end),
            })
        }
    }
}

fn read_all(fd: OwnedFd) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut v)?;
    Ok(v)
}

/// Lines of a maps file whose range lies inside `[base, end)`.
pub fn count_in_window(maps: &str, base: u64, end: u64) -> usize {
    maps.lines()
        .filter_map(|l| {
            let (range, _) = l.split_once(' ')?;
            let (s, e) = range.split_once('-')?;
            Some((
                u64::from_str_radix(s, 16).ok()?,
                u64::from_str_radix(e, 16).ok()?,
            ))
        })
        .filter(|&(s, e)| s >= base && e <= end)
        .count()
}

/// The kernel's calls, made directly (no wrapper in the timed loop).
pub mod sys {
    #![allow(unsafe_code)]

    /// `mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED)`; the
    /// caller owns the window `addr` is in.
    pub fn map_fixed(addr: u64, len: u64, prot: i32) -> bool {
        // SAFETY: a fixed mapping inside the benchmark's own window, which
        // holds nothing but the benchmark's mappings.
        let p = unsafe {
            libc::mmap(
                addr as *mut _,
                len as usize,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        p != libc::MAP_FAILED
    }

    /// `mmap(NULL, len, prot, MAP_PRIVATE|MAP_ANONYMOUS)`.
    pub fn map_anywhere(len: u64, prot: i32) -> u64 {
        // SAFETY: a new mapping wherever the kernel chooses.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        p as u64
    }

    /// `mprotect`; its result is the benchmark's business only.
    pub fn protect(addr: u64, len: u64, prot: i32) -> bool {
        // SAFETY: changes protections inside the benchmark's window only.
        unsafe { libc::mprotect(addr as *mut _, len as usize, prot) == 0 }
    }

    /// `munmap` of a range the benchmark mapped.
    pub fn unmap(addr: u64, len: u64) -> bool {
        // SAFETY: the range lies in the benchmark's window (or was mapped
        // by it) and nothing refers to it.
        unsafe { libc::munmap(addr as *mut _, len as usize) == 0 }
    }

    /// `madvise(MADV_DONTNEED)`: the next touch faults again.
    pub fn drop_pages(addr: u64, len: u64) {
        // SAFETY: discards pages of the benchmark's own anonymous mapping.
        unsafe { libc::madvise(addr as *mut _, len as usize, libc::MADV_DONTNEED) };
    }

    /// Reads (or writes) one byte at `addr`, which the caller mapped readable
    /// (writable).
    pub fn touch(addr: u64, write: bool) {
        let p = addr as *mut u8;
        // SAFETY: the caller just mapped this page with the needed access.
        unsafe {
            if write {
                std::ptr::write_volatile(p, 1);
            } else {
                std::ptr::read_volatile(p);
            }
        }
    }
}
