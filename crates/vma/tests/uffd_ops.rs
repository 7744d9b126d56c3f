// SPDX-License-Identifier: GPL-2.0-or-later
//! The userfaultfd fill, write-protect and move ioctls through the public
//! API; mirrors scenarios/uffd/ (copy, zeropage, writeprotect, move,
//! poison), checked on Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::sys::UffdFill;
use vma::{Access, Errno, Mm, Signal, UffdCtx};

const C: UffdCtx = UffdCtx(1);

#[test]
fn copy_fills_missing_pages_and_stops_at_a_present_one() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 8, 4, RW);
    assert_eq!(m.fault(pg(8), Access::Write), Ok(()));
    let copy = UffdFill::Copy(pg(8));
    assert_eq!(m.uffd_fill(copy, pg(0), 2 * P, 0, None), Err(Errno::ENOENT));
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 1), Ok(()));
    assert_eq!(m.uffd_fill(copy, pg(0), 2 * P, 0, None), Ok(2 * P));
    assert!(m.pages().is_mapped(pg(1)));
    assert_eq!(m.fault(pg(2), Access::Read), Err(Signal::Bus));
    // Page 1 is there: the copy of 0 fails at once, of 2.. after one page.
    assert_eq!(m.uffd_fill(copy, pg(1), P, 0, None), Err(Errno::EEXIST));
    assert_eq!(m.uffd_fill(UffdFill::Zeropage, pg(3), P, 0, None), Ok(P));
    assert_eq!(m.uffd_fill(copy, pg(2), 2 * P, 0, None), Ok(P));
    assert_eq!(
        m.uffd_fill(copy, pg(2), P, UFFDIO_COPY_MODE_WP, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.uffd_fill(copy, pg(0) + 1, P, 0, None), Err(Errno::EINVAL));
}

#[test]
fn a_copy_from_nowhere_is_efault() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 1), Ok(()));
    let from_hole = UffdFill::Copy(pg(20));
    assert_eq!(
        m.uffd_fill(from_hole, pg(0), P, 0, None),
        Err(Errno::EFAULT)
    );
    // Reading a missing page of the range itself faults into the
    // userfaultfd.
    let from_self = UffdFill::Copy(pg(1));
    assert_eq!(
        m.uffd_fill(from_self, pg(0), P, 0, None),
        Err(Errno::EFAULT)
    );
}

#[test]
fn writeprotect_blocks_writes_to_present_pages() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    assert_eq!(m.fault(pg(0), Access::Write), Ok(()));
    assert_eq!(m.uffd_writeprotect(pg(0), 4 * P, true), Err(Errno::ENOENT));
    assert_eq!(
        m.uffd_register(C, pg(0), 4 * P, UFFDIO_REGISTER_MODE_WP),
        Ok(())
    );
    assert_eq!(m.uffd_writeprotect(pg(0), 4 * P, true), Ok(()));
    assert_eq!(m.fault(pg(0), Access::Write), Err(Signal::Bus));
    assert_eq!(m.fault(pg(0), Access::Read), Ok(()));
    // Not mapped when protected: anonymous memory has no marker there.
    assert_eq!(m.fault(pg(1), Access::Write), Ok(()));
    assert_eq!(m.uffd_writeprotect(pg(0), P, false), Ok(()));
    assert_eq!(m.fault(pg(0), Access::Write), Ok(()));
}

#[test]
fn poison_raises_sigbus_and_a_copy_replaces_it() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 8, 1, RW);
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 1), Ok(()));
    assert_eq!(
        m.uffd_fill(UffdFill::Poison, pg(0), 2 * P, 0, None),
        Ok(2 * P)
    );
    assert_eq!(m.fault(pg(0), Access::Read), Err(Signal::BusMceerr));
    assert_eq!(
        m.uffd_fill(UffdFill::Zeropage, pg(0), P, 0, None),
        Err(Errno::EEXIST)
    );
    assert_eq!(m.uffd_fill(UffdFill::Copy(pg(8)), pg(0), P, 0, None), Ok(P));
    assert_eq!(m.fault(pg(0), Access::Read), Ok(()));
    assert_eq!(m.madvise(pg(1), P, MADV_DONTNEED), Ok(()));
    assert_eq!(m.uffd_fill(UffdFill::Zeropage, pg(1), P, 0, None), Ok(P));
}

#[test]
fn move_takes_exclusive_pages_between_like_vmas() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 8, 4, RW);
    assert_eq!(m.fault(pg(8), Access::Write), Ok(()));
    assert_eq!(m.fault(pg(9), Access::Read), Ok(()));
    let mv = |m: &mut Mm, d: u64, s: u64, n: u64, mode: u64| {
        m.uffd_move(C, pg(d), pg(s), n * P, mode, false)
    };
    assert_eq!(mv(&mut m, 0, 8, 1, 0), Err(Errno::EINVAL));
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 1), Ok(()));
    assert_eq!(mv(&mut m, 0, 8, 3, 0), Ok(2 * P));
    assert!(!m.pages().is_mapped(pg(8)));
    assert!(m.pages().is_mapped(pg(1)));
    assert_eq!(
        mv(&mut m, 2, 10, 2, UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES),
        Ok(2 * P)
    );
    assert_eq!(mv(&mut m, 0, 8, 1, 0), Err(Errno::EEXIST));
    assert_eq!(m.mprotect(pg(8), P, PROT_READ), Ok(()));
    assert_eq!(m.fault(pg(9), Access::Write), Ok(()));
    assert_eq!(m.uffd_unregister(C, pg(0), 4 * P), Ok(()));
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 1), Ok(()));
    assert_eq!(m.munmap(pg(0), P), Ok(()));
    assert_eq!(m.uffd_register(C, pg(1), 3 * P, 1), Ok(()));
    assert_eq!(mv(&mut m, 3, 8, 1, 0), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(3), P, MADV_DONTNEED), Ok(()));
    assert_eq!(mv(&mut m, 3, 9, 1, 0), Ok(P));
    assert_eq!(mv(&mut m, 3, 9, 1, 0x4), Err(Errno::EINVAL));
    assert_eq!(m.uffd_move(C, pg(3), pg(9), P, 0, true), Err(Errno::EINVAL));
}
