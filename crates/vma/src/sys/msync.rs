// SPDX-License-Identifier: GPL-2.0-or-later
//! `msync(2)` (mm/msync.c) as far as VMAs decide it: the argument checks,
//! holes in the range, and MS_INVALIDATE on locked memory. Writing back
//! shared file pages changes no VMA and cannot fail for the files the
//! model has (shmem), so MS_SYNC only walks.

use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::flags::VmFlags;
use crate::mm::Mm;

use super::consts::{MS_ASYNC, MS_INVALIDATE, MS_SYNC};

impl<E: Env> Mm<E> {
    /// `msync(start, len, flags)`: EINVAL for unknown flags, an unaligned
    /// start or MS_ASYNC with MS_SYNC; ENOMEM when the page-rounded range
    /// wraps or meets a hole (at once for a plain MS_ASYNC, after walking
    /// the rest otherwise); EBUSY at a locked VMA under MS_INVALIDATE.
    pub fn msync(&self, start: u64, len: u64, flags: u32) -> KResult<()> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 || start % PAGE_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MS_ASYNC != 0 && flags & MS_SYNC != 0 {
            return Err(Errno::EINVAL);
        }
        let rounded = len.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1));
        let end = match rounded.and_then(|l| start.checked_add(l)) {
            Some(end) => end,
            // The kernel's rounding wraps to a small length or its end
            // wraps below the start: ENOMEM either way, or nothing to do.
            None if rounded.is_none() => start,
            None => return Err(Errno::ENOMEM),
        };
        if end == start {
            return Ok(());
        }
        let mut at = start;
        let mut hole = false;
        loop {
            let Some(id) = self.find_vma_intersection(at, u64::MAX) else {
                return Err(Errno::ENOMEM);
            };
            let v = self.get(id).ok_or(Errno::ENOMEM)?;
            if at < v.start {
                if flags == MS_ASYNC || v.start >= end {
                    return Err(Errno::ENOMEM);
                }
                hole = true;
            }
            if flags & MS_INVALIDATE != 0 && v.flags.contains(VmFlags::LOCKED) {
                return Err(Errno::EBUSY);
            }
            at = v.end;
            if at >= end {
                return if hole { Err(Errno::ENOMEM) } else { Ok(()) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sys::consts::*;
    use crate::{Config, Errno, Mm};

    const P: u64 = crate::config::PAGE_SIZE;

    #[test]
    fn holes_flags_and_locked_memory() {
        let mut mm = Mm::new(Config::linux_6_18());
        let anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        let rw = PROT_READ | PROT_WRITE;
        mm.mmap(0x10000, 4 * P, rw, anon, None, 0).unwrap();
        mm.mmap(0x10000 + 8 * P, 4 * P, rw, anon, None, 0).unwrap();
        assert_eq!(mm.msync(0x10000, 4 * P, MS_SYNC), Ok(()));
        assert_eq!(mm.msync(0x10000, P, MS_SYNC | MS_ASYNC), Err(Errno::EINVAL));
        assert_eq!(mm.msync(0x10001, P, MS_ASYNC), Err(Errno::EINVAL));
        assert_eq!(mm.msync(0x10000, 12 * P, MS_ASYNC), Err(Errno::ENOMEM));
        assert_eq!(mm.msync(0x10000 + 4 * P, 0, 0), Ok(()));
        assert_eq!(mm.msync(0x10000, u64::MAX, 0), Ok(()));
        mm.mlock(0x10000 + 8 * P, 4 * P).unwrap();
        // The hole is passed over; the locked VMA after it decides.
        assert_eq!(mm.msync(0x10000, 12 * P, MS_INVALIDATE), Err(Errno::EBUSY));
        assert_eq!(mm.msync(0x10000, 12 * P, MS_SYNC), Err(Errno::ENOMEM));
    }
}
