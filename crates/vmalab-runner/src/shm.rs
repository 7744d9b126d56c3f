// SPDX-License-Identifier: GPL-2.0-or-later
//! The scenario's SysV shared memory segments on the kernel's side.
//!
//! A segment is made with `shmget(IPC_PRIVATE, size, 0700)` and at once
//! attached once, out of the way, and removed (`IPC_RMID`): a segment
//! removed while attached lives on until its last attach goes, and Linux
//! still lets its id be attached. So the segment ends with the runner
//! however the runner ends (a crash or a timeout's kill included), and no
//! segment is ever left behind in the machine.
//!
//! The out-of-the-way attach also tells the segment's identity as smaps
//! shows it (device and inode, which is the segment's id). It is cut to
//! one PROT_NONE page, so `mlockall` populates none of the segment's pages
//! behind the scenario's back; it sits among the runner's own mappings,
//! made before the far region is claimed, so it counts among the VMAs the
//! runner brings itself up to.

use super::{errno, raw, L};
use vmalab_lang::scenario::names::errno_name;
use vmalab_lang::smaps::FileKey;

/// Makes a segment of `size` bytes; returns its id and its identity.
pub fn make_segment(size: u64, ps: u64) -> Result<(i32, FileKey), String> {
    let flags = libc::IPC_CREAT | 0o700;
    let id = raw(
        libc::SYS_shmget,
        &[libc::IPC_PRIVATE as L, size as L, flags as L],
    )
    .map_err(|e| format!("shmget: {}", errno_name(e)))? as i32;
    let kept = keep_alive(id, size, ps);
    // Removed now: it goes with its last attach.
    let _ = raw(libc::SYS_shmctl, &[id as L, libc::IPC_RMID as L, 0]);
    kept.map(|key| (id, key))
}

/// Attaches the segment where the kernel likes, reads its identity, and
/// cuts the attach down to one inaccessible page.
fn keep_alive(id: i32, size: u64, ps: u64) -> Result<FileKey, String> {
    let at = raw(libc::SYS_shmat, &[id as L, 0, 0])
        .map_err(|e| format!("shmat: {}", errno_name(e)))? as u64;
    let key = identity(at).ok_or("cannot find the segment in /proc/self/maps")?;
    let len = size.div_ceil(ps) * ps;
    // SAFETY: the range is the attach just made, which nothing else uses.
    let rc = unsafe { libc::mprotect(at as *mut libc::c_void, len as usize, libc::PROT_NONE) };
    if rc != 0 {
        return Err(format!("mprotect: {}", errno_name(errno())));
    }
    if len > ps {
        // SAFETY: as above: the tail of the attach just made.
        unsafe { libc::munmap((at + ps) as *mut libc::c_void, (len - ps) as usize) };
    }
    Ok(key)
}

/// The device and inode of the mapping that starts at `at`.
fn identity(at: u64) -> Option<FileKey> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps
        .lines()
        .find(|l| l.split('-').next() == Some(&format!("{at:x}")))?;
    let mut w = line.split_whitespace().skip(3);
    let (ma, mi) = w.next()?.split_once(':')?;
    let ino = w.next()?.parse().ok()?;
    Some((
        u32::from_str_radix(ma, 16).ok()?,
        u32::from_str_radix(mi, 16).ok()?,
        ino,
    ))
}
