//! mlock, mlock2, munlock, mlockall, munlockall through the public API;
//! mirrors scenarios/mlock/, checked on Linux 6.18, plus the
//! RLIMIT_MEMLOCK rules the root-run oracle cannot show.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Errno, VmFlags};

#[test]
fn mlock_splits_counts_and_populates() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mlock(pg(2) + 100, P), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me lo ac]
         4-8 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.stats().locked_vm, 2);
    // The populate write-faulted the private writable range.
    assert!(m.get(m.vma_at(pg(2)).unwrap()).unwrap().anon_vma.is_some());
    assert_eq!(m.munlock(pg(2), 2 * P), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me ac]");
    assert_eq!(m.stats().locked_vm, 0);
}

#[test]
fn onfault_does_not_populate() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mlock2(pg(0), 8 * P, MLOCK_ONFAULT), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me lo ac lf]");
    assert!(m.get(m.vma_at(pg(0)).unwrap()).unwrap().anon_vma.is_none());
    assert_eq!(m.mlock(pg(0), 2 * P), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me lo ac]\n2-8 rw-p [rd wr mr mw me lo ac lf]",
    );
    assert_eq!(m.stats().locked_vm, 8);
    assert_eq!(m.mlock2(pg(0), P, 2), Err(Errno::EINVAL));
}

#[test]
fn vma_management() {
    let mut m = mm();
    map(&mut m, 0, 3, RW);
    m.mlock2(pg(0), 3 * P, MLOCK_ONFAULT).unwrap();
    assert_eq!(m.munlock(pg(1), P), Ok(()));
    assert_layout(
        &m,
        "0-1 rw-p [rd wr mr mw me lo ac lf]
         1-2 rw-p [rd wr mr mw me ac]
         2-3 rw-p [rd wr mr mw me lo ac lf]",
    );
    assert_eq!(m.stats().locked_vm, 2);
    m.mlock2(pg(1), P, MLOCK_ONFAULT).unwrap();
    assert_layout(&m, "0-3 rw-p [rd wr mr mw me lo ac lf]");
    m.munlock(pg(0), 3 * P).unwrap();
    m.mlock(pg(0), 3 * P).unwrap();
    assert_layout(&m, "0-3 rw-p [rd wr mr mw me lo ac]");
    m.munlock(pg(0), 3 * P).unwrap();
    assert_layout(&m, "0-3 rw-p [rd wr mr mw me ac]");
    assert_eq!(m.stats().locked_vm, 0);
}

#[test]
fn prot_none_locks_but_fails_to_populate() {
    let mut m = mm();
    map(&mut m, 0, 2, RW);
    map(&mut m, 4, 2, PROT_NONE);
    assert_eq!(m.mlock(pg(4), 2 * P), Err(Errno::ENOMEM));
    assert_layout(&m, "0-2 rw-p [rd wr mr mw me ac]\n4-6 ---p [mr mw me lo]");
    assert_eq!(m.stats().locked_vm, 2);
    m.munlock(pg(4), 2 * P).unwrap();
    assert_eq!(m.mlock2(pg(4), 2 * P, MLOCK_ONFAULT), Ok(()));
    m.munlock(pg(4), 2 * P).unwrap();
    assert_eq!(m.mlockall(MCL_CURRENT), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me lo ac]\n4-6 ---p [mr mw me lo]",
    );
    assert_eq!(m.stats().locked_vm, 4);
    assert_eq!(m.munlockall(), Ok(()));
    assert_layout(&m, "0-2 rw-p [rd wr mr mw me ac]\n4-6 ---p [mr mw me]");
    assert_eq!(m.stats().locked_vm, 0);
}

#[test]
fn holes() {
    let mut m = mm();
    map(&mut m, 2, 4, RW);
    assert_eq!(m.mlock(pg(0), 4 * P), Err(Errno::ENOMEM));
    assert_layout(&m, "2-6 rw-p [rd wr mr mw me ac]");
    assert_eq!(m.mlock(pg(4), 4 * P), Err(Errno::ENOMEM));
    assert_layout(
        &m,
        "2-4 rw-p [rd wr mr mw me ac]\n4-6 rw-p [rd wr mr mw me lo ac]",
    );
    assert_eq!(m.munlock(pg(0), 8 * P), Err(Errno::ENOMEM));
    assert_eq!(m.munlock(pg(2), 6 * P), Err(Errno::ENOMEM));
    assert_layout(&m, "2-6 rw-p [rd wr mr mw me ac]");
    assert_eq!(m.mlock(pg(2), 0), Ok(()));
    assert_eq!(m.mlock2(pg(2), 4 * P, 0), Ok(()));
    assert_layout(&m, "2-6 rw-p [rd wr mr mw me lo ac]");
    assert_eq!(m.stats().locked_vm, 4);
    // A length that wraps to zero when page-aligned is a no-op.
    assert_eq!(m.mlock(pg(2), u64::MAX), Ok(()));
}

#[test]
fn mlockall_flags() {
    let mut m = mm();
    map(&mut m, 0, 2, RW);
    assert_eq!(m.mlockall(MCL_ONFAULT), Err(Errno::EINVAL));
    assert_eq!(m.mlockall(8), Err(Errno::EINVAL));
    assert_eq!(m.mlockall(0), Err(Errno::EINVAL));
    assert_eq!(m.mlockall(MCL_FUTURE | MCL_ONFAULT), Ok(()));
    map(&mut m, 4, 2, RW);
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]\n4-6 rw-p [rd wr mr mw me lo ac lf]",
    );
    assert_eq!(m.mlockall(MCL_CURRENT | MCL_ONFAULT), Ok(()));
    assert_eq!(m.process().def_flags & VmFlags::LOCKED_MASK, VmFlags::NONE);
    map(&mut m, 8, 2, RW);
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me lo ac lf]
         4-6 rw-p [rd wr mr mw me lo ac lf]
         8-10 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.stats().locked_vm, 4);
    assert_eq!(m.munlockall(), Ok(()));
    assert_eq!(m.stats().locked_vm, 0);
    assert_eq!(m.mlockall(MCL_CURRENT | MCL_FUTURE), Ok(()));
    map(&mut m, 10, 2, RW);
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me lo ac]
         4-6 rw-p [rd wr mr mw me lo ac]
         8-12 rw-p [rd wr mr mw me lo ac]",
    );
    assert_eq!(m.stats().locked_vm, 8);
}

#[test]
fn rlimit_memlock() {
    let mut m = mm();
    m.config.rlimits.memlock = 4 * P;
    map(&mut m, 0, 8, RW);
    assert_eq!(m.mlock(pg(0), 6 * P), Err(Errno::ENOMEM));
    assert_eq!(m.mlock(pg(0), 4 * P), Ok(()));
    // Already locked pages do not count twice.
    assert_eq!(m.mlock(pg(0), 4 * P), Ok(()));
    assert_eq!(m.mlock(pg(4), P), Err(Errno::ENOMEM));
    assert_eq!(m.mlockall(MCL_CURRENT), Err(Errno::ENOMEM));
    assert_eq!(m.mlockall(MCL_FUTURE), Ok(()));
    assert_eq!(m.mmap(pg(8), P, RW, ANON, None, 0), Err(Errno::EAGAIN));
    m.munlockall().unwrap();
    m.config.cap_ipc_lock = true;
    assert_eq!(m.mlock(pg(0), 8 * P), Ok(()));
    assert_eq!(m.stats().locked_vm, 8);
    m.config.cap_ipc_lock = false;
    m.config.rlimits.memlock = 0;
    assert_eq!(m.mlock(pg(0), P), Err(Errno::EPERM));
    assert_eq!(m.mlockall(MCL_CURRENT), Err(Errno::EPERM));
    assert_eq!(m.munlock(pg(0), 8 * P), Ok(()));
    assert_eq!(m.stats().locked_vm, 0);
    layout(&m);
}

#[test]
fn locked_vm_follows_munmap_and_fork() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    m.mlock(pg(0), 8 * P).unwrap();
    m.munmap(pg(2), 2 * P).unwrap();
    assert_eq!(m.stats().locked_vm, 6);
    let c = m.fork().unwrap();
    assert_eq!(c.stats().locked_vm, 0);
    assert_layout(
        &c,
        "0-2 rw-p [rd wr mr mw me ac]\n4-8 rw-p [rd wr mr mw me ac]",
    );
}

#[test]
fn locked_vmas_survive_mprotect_splits() {
    let mut m = mm();
    map(&mut m, 0, 6, RW);
    m.mlock(pg(0), 6 * P).unwrap();
    m.mprotect(pg(2), 2 * P, PROT_READ).unwrap();
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me lo ac]
         2-4 r--p [rd mr mw me lo ac]
         4-6 rw-p [rd wr mr mw me lo ac]",
    );
    m.mprotect(pg(2), 2 * P, RW).unwrap();
    assert_layout(&m, "0-6 rw-p [rd wr mr mw me lo ac]");
    m.munlock(pg(0), 2 * P).unwrap();
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]\n2-6 rw-p [rd wr mr mw me lo ac]",
    );
    assert_eq!(m.stats().locked_vm, 4);
}
