//! mseal(2) and what a seal blocks, through the public API; mirrors
//! scenarios/mseal/, checked on Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Errno, UffdCtx};

#[test]
fn argument_checks_and_holes() {
    let mut m = mm();
    map(&mut m, 0, 2, PROT_READ);
    map(&mut m, 4, 2, PROT_READ);
    assert_eq!(m.mseal(pg(0), 2 * P, 1), Err(Errno::EINVAL));
    assert_eq!(m.mseal(pg(0) + 1, P, 0), Err(Errno::EINVAL));
    assert_eq!(m.mseal(pg(0), u64::MAX, 0), Err(Errno::EINVAL));
    assert_eq!(m.mseal(pg(0), 6 * P, 0), Err(Errno::ENOMEM));
    assert_layout(&m, "0-2 r--p [rd mr mw me]\n4-6 r--p [rd mr mw me]");
    assert_eq!(m.mseal(pg(0), 0, 0), Ok(()));
    assert_eq!(m.mseal(pg(0), 2 * P, 0), Ok(()));
    assert_eq!(m.mseal(pg(0), 2 * P, 0), Ok(()));
    assert_layout(&m, "0-2 r--p [rd mr mw me sl]\n4-6 r--p [rd mr mw me]");
}

#[test]
fn merge_and_split() {
    let mut m = mm();
    map(&mut m, 0, 8, PROT_READ);
    m.mseal(pg(2), 2 * P, 0).unwrap();
    assert_layout(
        &m,
        "0-2 r--p [rd mr mw me]\n2-4 r--p [rd mr mw me sl]\n4-8 r--p [rd mr mw me]",
    );
    m.mseal(pg(4), 2 * P, 0).unwrap();
    assert_layout(
        &m,
        "0-2 r--p [rd mr mw me]\n2-6 r--p [rd mr mw me sl]\n6-8 r--p [rd mr mw me]",
    );
    map(&mut m, 10, 2, PROT_READ);
    assert_eq!(m.mseal(pg(0), 12 * P, 0), Err(Errno::ENOMEM));
    assert_eq!(m.mseal(pg(6), 6 * P, 0), Err(Errno::ENOMEM));
    assert_eq!(m.mseal(pg(0), 8 * P, 0), Ok(()));
    assert_layout(&m, "0-8 r--p [rd mr mw me sl]\n10-12 r--p [rd mr mw me]");
}

#[test]
fn sealed_memory_refuses_unmapping_and_remapping() {
    let mut m = mm();
    map(&mut m, 0, 12, RW);
    m.mseal(pg(4), 4 * P, 0).unwrap();
    assert_eq!(m.munmap(pg(0), 12 * P), Err(Errno::EPERM));
    assert_eq!(m.munmap(pg(2), 4 * P), Err(Errno::EPERM));
    assert_eq!(m.munmap(pg(6), 4 * P), Err(Errno::EPERM));
    assert_eq!(
        m.mmap(pg(7), 2 * P, PROT_READ, ANON, None, 0),
        Err(Errno::EPERM)
    );
    // The split at the start of `munmap 2 4` stays, as in the kernel.
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me ac]
         4-8 rw-p [rd wr mr mw me ac sl]
         8-12 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.munmap(pg(0), 4 * P), Ok(()));
    assert_eq!(m.munmap(pg(8), 4 * P), Ok(()));
    assert_layout(&m, "4-8 rw-p [rd wr mr mw me ac sl]");
    assert_eq!(m.mprotect(pg(4), 4 * P, RW), Err(Errno::EPERM));
    assert_eq!(m.mprotect(pg(4), 4 * P, PROT_READ), Err(Errno::EPERM));
    assert_eq!(
        m.pkey_mprotect(pg(4), 4 * P, PROT_READ, -1),
        Err(Errno::EPERM)
    );
    assert_eq!(m.stats().total_vm, 4);
}

#[test]
fn discard_advice_on_read_only_anon() {
    let mut m = mm();
    map(&mut m, 0, 8, PROT_READ);
    m.mseal(pg(2), 2 * P, 0).unwrap();
    for advice in [
        MADV_DONTNEED,
        MADV_DONTNEED_LOCKED,
        MADV_WIPEONFORK,
        MADV_GUARD_INSTALL,
    ] {
        assert_eq!(m.madvise(pg(2), 2 * P, advice), Err(Errno::EPERM));
    }
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DONTNEED), Err(Errno::EPERM));
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_FREE), Err(Errno::EPERM));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DONTFORK), Err(Errno::EPERM));
    assert_layout(
        &m,
        "0-2 r--p [rd mr mw me dc]\n2-4 r--p [rd mr mw me sl]\n4-8 r--p [rd mr mw me]",
    );
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_COLD), Ok(()));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_DONTDUMP), Ok(()));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_DOFORK), Ok(()));
    assert_layout(
        &m,
        "0-2 r--p [rd mr mw me dc]\n2-4 r--p [rd mr mw me dd sl]\n4-8 r--p [rd mr mw me]",
    );
}

#[test]
fn discard_advice_allowed_on_writable_and_file_memory() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    let f = memfd(4, true);
    m.mmap(
        pg(4),
        4 * P,
        PROT_READ,
        MAP_PRIVATE | MAP_FIXED,
        Some(&f),
        0,
    )
    .unwrap();
    m.mseal(pg(0), 8 * P, 0).unwrap();
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_DONTNEED), Ok(()));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DONTFORK), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-p [rd wr mr mw me dc ac sl]\n4-8 r--p [rd mr mw me sl]",
    );
}

#[test]
fn attributes_still_change_on_sealed_memory() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    m.mseal(pg(0), 8 * P, 0).unwrap();
    assert_eq!(m.mlock(pg(2), 2 * P), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac sl]
         2-4 rw-p [rd wr mr mw me lo ac sl]
         4-8 rw-p [rd wr mr mw me ac sl]",
    );
    m.munlock(pg(0), 8 * P).unwrap();
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me ac sl]");
    assert_eq!(m.mbind(pg(0), 2 * P, MPOL_BIND, 1, 0), Ok(()));
    assert_eq!(m.uffd_register(UffdCtx(1), pg(6), 2 * P, 1), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p mpol=bind:0 [rd wr mr mw me ac sl]
         2-6 rw-p [rd wr mr mw me ac sl]
         6-8 rw-p [rd wr mr mw me ac um sl]",
    );
}
