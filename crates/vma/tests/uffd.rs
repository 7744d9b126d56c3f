//! userfaultfd range registration through the public API; mirrors
//! scenarios/uffd/, checked on Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Errno, Signal, UffdCtx};

const C: UffdCtx = UffdCtx(1);
const MISSING: u64 = UFFDIO_REGISTER_MODE_MISSING;
const WP: u64 = UFFDIO_REGISTER_MODE_WP;
const MINOR: u64 = UFFDIO_REGISTER_MODE_MINOR;

#[test]
fn register_splits_and_unregister_merges() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.uffd_register(C, pg(2), 2 * P, MISSING), Ok(()));
    // A missing-page fault goes to the userfaultfd: SIGBUS with
    // UFFD_FEATURE_SIGBUS.
    assert_eq!(m.fault(pg(2), Access::Read), Err(Signal::Bus));
    assert_eq!(m.fault(pg(4), Access::Read), Ok(()));
    assert_eq!(m.uffd_register(C, pg(4), 2 * P, WP), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me ac um]
         4-6 rw-p [rd wr mr mw me ac uw]
         6-8 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.uffd_unregister(C, pg(0), 8 * P), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me ac]");
    assert_eq!(
        m.uffd_register(C, pg(1) + 1, P, MISSING),
        Err(Errno::EINVAL)
    );
}

#[test]
fn reregistering_skips_or_replaces_modes() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    m.uffd_register(C, pg(0), 2 * P, MISSING | WP).unwrap();
    m.uffd_register(C, pg(0), 4 * P, MISSING).unwrap();
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac um uw]
         2-4 rw-p [rd wr mr mw me ac um]
         4-8 rw-p [rd wr mr mw me ac]",
    );
    m.uffd_register(C, pg(0), 4 * P, WP).unwrap();
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac um uw]
         2-4 rw-p [rd wr mr mw me ac uw]
         4-8 rw-p [rd wr mr mw me ac]",
    );
    m.uffd_register(C, pg(2), 6 * P, WP).unwrap();
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac um uw]\n2-8 rw-p [rd wr mr mw me ac uw]",
    );
}

#[test]
fn refusals_change_nothing() {
    let mut m = mm();
    let ro = memfd(4, false);
    map(&mut m, 0, 4, RW);
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 0), Err(Errno::EINVAL));
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, 8), Err(Errno::EINVAL));
    assert_eq!(
        m.uffd_register(C, pg(8), 4 * P, MISSING),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, MINOR), Err(Errno::EINVAL));
    assert_eq!(m.uffd_register(C, pg(0), 1, MISSING), Err(Errno::EINVAL));
    assert_eq!(m.uffd_register(C, pg(0), 0, MISSING), Err(Errno::EINVAL));
    m.mmap(
        pg(4),
        4 * P,
        RW,
        MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED,
        None,
        0,
    )
    .unwrap();
    assert_eq!(
        m.uffd_register(C, pg(0), 8 * P, MISSING),
        Err(Errno::EINVAL)
    );
    m.mmap(
        pg(12),
        4 * P,
        PROT_READ,
        MAP_SHARED | MAP_FIXED,
        Some(&ro),
        0,
    )
    .unwrap();
    assert_eq!(
        m.uffd_register(C, pg(12), 4 * P, MISSING),
        Err(Errno::EPERM)
    );
    assert_layout(
        &m,
        "0-4 rw-p [rd wr mr mw me ac]
         4-8 rw-p [rd wr mr mw me nr wf dd dp]
         12-16 r--s [rd mr me ms]",
    );
    m.uffd_register(UffdCtx(2), pg(0), 2 * P, MISSING).unwrap();
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, MISSING), Err(Errno::EBUSY));
}

#[test]
fn holes_are_allowed() {
    let mut m = mm();
    let ro = memfd(4, false);
    m.mmap(
        pg(0),
        4 * P,
        PROT_READ,
        MAP_PRIVATE | MAP_FIXED,
        Some(&ro),
        0,
    )
    .unwrap();
    map(&mut m, 8, 4, RW);
    assert_eq!(m.uffd_register(C, pg(0), 16 * P, MISSING), Ok(()));
    assert_layout(
        &m,
        "0-4 r--p [rd mr mw me um]\n8-12 rw-p [rd wr mr mw me ac um]",
    );
    assert_eq!(m.uffd_unregister(C, pg(2), 8 * P), Ok(()));
    assert_layout(
        &m,
        "0-2 r--p [rd mr mw me um]
         2-4 r--p [rd mr mw me]
         8-10 rw-p [rd wr mr mw me ac]
         10-12 rw-p [rd wr mr mw me ac um]",
    );
    assert_eq!(m.uffd_unregister(C, pg(4), 4 * P), Err(Errno::EINVAL));
    assert_eq!(m.uffd_unregister(C, pg(0), P + 1), Err(Errno::EINVAL));
    assert_eq!(m.uffd_unregister(C, pg(0), 32 * P), Ok(()));
    assert_layout(&m, "0-4 r--p [rd mr mw me]\n8-12 rw-p [rd wr mr mw me ac]");
}

#[test]
fn minor_needs_shmem() {
    let mut m = mm();
    let f = memfd(4, true);
    m.mmap(pg(0), 4 * P, RW, SHARED_ANON, None, 0).unwrap();
    assert_eq!(m.uffd_register(C, pg(0), 4 * P, MINOR), Ok(()));
    assert_eq!(m.uffd_register(C, pg(0), 2 * P, WP), Ok(()));
    m.mmap(pg(4), 4 * P, RW, MAP_PRIVATE | MAP_FIXED, Some(&f), 0)
        .unwrap();
    assert_eq!(m.uffd_register(C, pg(4), 4 * P, MINOR | MISSING), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-s [rd wr sh mr mw me ms uw]
         2-4 rw-s [rd wr sh mr mw me ms ui]
         4-8 rw-p [rd wr mr mw me ac um ui]",
    );
    m.mmap(
        pg(8),
        2 * P,
        RW,
        MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED,
        None,
        0,
    )
    .unwrap();
    assert_eq!(m.uffd_unregister(C, pg(0), 10 * P), Err(Errno::EINVAL));
    assert_eq!(m.uffd_unregister(C, pg(0), 8 * P), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-s [rd wr sh mr mw me ms]
         4-8 rw-p [rd wr mr mw me ac]
         8-10 rw-p [rd wr mr mw me nr wf dd dp]",
    );
}

#[test]
fn fork_drops_the_registration() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    m.uffd_register(C, pg(2), 2 * P, MISSING).unwrap();
    let c = m.fork().unwrap();
    assert_layout(
        &c,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me ac]
         4-8 rw-p [rd wr mr mw me ac]",
    );
}
