// SPDX-License-Identifier: GPL-2.0-or-later
//! `process_madvise(2)` on the caller's own pidfd (mm/madvise.c,
//! lib/iov_iter.c): a vector of ranges advised one after another with the
//! ordinary `madvise`, answering how many bytes the ranges it finished
//! cover.
//!
//! The vector is read as the kernel imports an iovec: more than
//! `UIO_MAXIOV` entries or any length that is negative as a signed value is
//! EINVAL, then any range user access would reject is EFAULT, and the
//! lengths are cut so that they sum to at most `MAX_RW_COUNT`. The walk
//! starts at the first entry, whatever its length, but moving past an
//! entry also moves past every empty entry after it: those are never
//! advised (an unaligned address there is no error). The first failing
//! range ends the walk; the answer is the bytes of the ranges before it,
//! or its errno when there are none.

use alloc::vec::Vec;

use super::consts::*;
use crate::config::PAGE_SIZE;
use crate::env::Env;
use crate::errno::{Errno, KResult};
use crate::mm::Mm;

/// `UIO_MAXIOV`: the longest vector the kernel imports.
pub const UIO_MAXIOV: usize = 1024;

/// `MAX_RW_COUNT` with 4 KiB pages: `INT_MAX` rounded down to a page.
pub const MAX_RW_COUNT: u64 = (i32::MAX as u64) & !(PAGE_SIZE - 1);

/// `process_madvise_remote_valid` (before 6.13 the only advice allowed at
/// all): the advice that does not destroy data.
fn remote_valid(advice: i32) -> bool {
    matches!(
        advice,
        MADV_COLD | MADV_PAGEOUT | MADV_WILLNEED | MADV_COLLAPSE
    )
}

/// `access_ok` of x86-64 for a user range: it must not wrap and must stay
/// below the non-canonical half (the window rule keeps scenario ranges
/// away from the stretch between `TASK_SIZE` and 2^63, where kernel
/// versions disagree).
fn access_ok(start: u64, len: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= 1 << 63)
}

impl<E: Env> Mm<E> {
    /// `process_madvise(pidfd_open(getpid()), vec, vec.len(), advice,
    /// flags)`: `vec` holds `(start, len)` pairs. Returns the bytes
    /// advised (the lengths of the entries done, as cut to `MAX_RW_COUNT`).
    ///
    /// Before 6.13 only COLD, PAGEOUT, WILLNEED and COLLAPSE are accepted
    /// (EINVAL otherwise, even for an empty vector); since then a process
    /// advising itself may use any advice `madvise` takes, checked per
    /// range (since 6.19 the advice must exist even for an empty vector).
    /// Before 6.12 the caller needed `CAP_SYS_NICE` even for its
    /// own address space (EPERM).
    pub fn process_madvise(&mut self, vec: &[(u64, u64)], advice: i32, flags: u32) -> KResult<u64> {
        if flags != 0 || vec.len() > UIO_MAXIOV {
            return Err(Errno::EINVAL);
        }
        if vec.iter().any(|&(_, len)| (len as i64) < 0) {
            return Err(Errno::EINVAL);
        }
        if vec.iter().any(|&(start, len)| !access_ok(start, len)) {
            return Err(Errno::EFAULT);
        }
        let mut total = 0u64;
        let cut: Vec<(u64, u64)> = vec
            .iter()
            .map(|&(start, len)| {
                let len = len.min(MAX_RW_COUNT - total);
                total += len;
                (start, len)
            })
            .collect();
        if self.config.process_madvise_advice_checked_first_6_19()
            && !self.madvise_behavior_valid(advice)
        {
            return Err(Errno::EINVAL);
        }
        if !self.config.process_madvise_self_any_advice_6_13() && !remote_valid(advice) {
            return Err(Errno::EINVAL);
        }
        if !self.config.process_madvise_self_without_cap_6_12() && !self.config.cap_sys_nice {
            return Err(Errno::EPERM);
        }
        let mut done = 0u64;
        let mut i = 0;
        let mut result = Ok(());
        while done < total {
            let Some(&(start, len)) = cut.get(i) else {
                break;
            };
            result = self.madvise(start, len, advice);
            if result.is_err() {
                break;
            }
            done += len;
            i += 1;
            while cut.get(i).is_some_and(|&(_, l)| l == 0) {
                i += 1;
            }
        }
        match result {
            Err(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, KernelVersion};
    use crate::errno::Errno;
    use crate::sys::consts::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_READ, PROT_WRITE};

    const P: u64 = PAGE_SIZE;
    const BASE: u64 = 0x1000_0000_0000;

    fn mm(version: KernelVersion, cap_sys_nice: bool) -> Mm {
        let mut config = Config::linux(version);
        config.cap_sys_nice = cap_sys_nice;
        let mut mm = Mm::new(config);
        mm.mmap(
            BASE,
            16 * P,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
        mm.munmap(BASE + 4 * P, P).unwrap();
        mm
    }

    #[test]
    fn answers_bytes_of_the_ranges_done() {
        let mut mm = mm(KernelVersion(6, 18, 0), false);
        let v = [(BASE, 2 * P), (BASE + 2 * P, 4 * P), (BASE + 8 * P, P)];
        assert_eq!(mm.process_madvise(&v[..1], MADV_COLD, 0), Ok(2 * P));
        // The hole in the second range stops the walk after it.
        assert_eq!(mm.process_madvise(&v, MADV_COLD, 0), Ok(2 * P));
        assert_eq!(
            mm.process_madvise(&v[1..], MADV_COLD, 0),
            Err(Errno::ENOMEM)
        );
        assert_eq!(mm.process_madvise(&v, MADV_COLD, 1), Err(Errno::EINVAL));
        // Empty entries after a range are skipped, an empty first one is
        // advised (and its address checked).
        let z = [(BASE, P), (BASE + 1, 0), (BASE + P, P)];
        assert_eq!(mm.process_madvise(&z, MADV_COLD, 0), Ok(2 * P));
        let z = [(BASE + 1, 0), (BASE, P)];
        assert_eq!(mm.process_madvise(&z, MADV_COLD, 0), Err(Errno::EINVAL));
        let k = [(BASE, P), (1 << 63, P)];
        assert_eq!(mm.process_madvise(&k, MADV_COLD, 0), Err(Errno::EFAULT));
        let n = [(BASE, P), (BASE, u64::MAX)];
        assert_eq!(mm.process_madvise(&n, MADV_COLD, 0), Err(Errno::EINVAL));
        assert_eq!(mm.process_madvise(&[], 999, 0), Ok(0));
        let mut newer = super::tests::mm(KernelVersion(7, 2, 0), false);
        assert_eq!(newer.process_madvise(&[], 999, 0), Err(Errno::EINVAL));
        assert_eq!(newer.process_madvise(&[], MADV_COLD, 0), Ok(0));
        assert_eq!(mm.process_madvise(&v[..1], 999, 0), Err(Errno::EINVAL));
        // Since 6.13 a process may give itself any advice.
        assert_eq!(mm.process_madvise(&v[..1], MADV_DONTFORK, 0), Ok(2 * P));
        assert_eq!(mm.vmas().count(), 3);
    }

    #[test]
    fn older_kernels_allow_four_advices_and_want_cap_sys_nice() {
        let mut mm = mm(KernelVersion(6, 12, 0), false);
        let v = [(BASE, 2 * P)];
        assert_eq!(mm.process_madvise(&v, MADV_DONTFORK, 0), Err(Errno::EINVAL));
        assert_eq!(
            mm.process_madvise(&[], MADV_DONTFORK, 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(mm.process_madvise(&v, MADV_PAGEOUT, 0), Ok(2 * P));
        let mut old = super::tests::mm(KernelVersion(6, 1, 0), false);
        assert_eq!(old.process_madvise(&v, MADV_COLD, 0), Err(Errno::EPERM));
        assert_eq!(old.process_madvise(&v, MADV_FREE, 0), Err(Errno::EINVAL));
        let mut old = super::tests::mm(KernelVersion(6, 1, 0), true);
        assert_eq!(old.process_madvise(&v, MADV_COLD, 0), Ok(2 * P));
    }
}
