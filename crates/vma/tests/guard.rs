//! Guard regions (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE) through the public
//! API; mirrors scenarios/madvise/guard_*.scenario, checked on Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Errno, Signal};

#[test]
fn install_marks_the_vma_without_splitting() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_GUARD_INSTALL), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me gu ac]");
    assert!(m.get(m.vma_at(pg(0)).unwrap()).unwrap().anon_vma.is_some());
    assert_eq!(m.fault(pg(2), Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(m.fault(pg(4), Access::Write), Ok(()));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_GUARD_REMOVE), Ok(()));
    assert_eq!(m.fault(pg(2), Access::Read), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me gu ac]");
    map(&mut m, 8, 2, RW);
    assert_layout(&m, "0-10 rw-p [rd wr mr mw me gu ac]");
}

#[test]
fn markers_are_copied_on_fork_but_not_for_wipeonfork() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 8, 4, RW);
    m.madvise(pg(8), 4 * P, MADV_WIPEONFORK).unwrap();
    assert_eq!(m.madvise(pg(1), P, MADV_GUARD_INSTALL), Ok(()));
    assert_eq!(m.madvise(pg(9), P, MADV_GUARD_INSTALL), Ok(()));
    let mut c = m.fork().unwrap();
    assert_eq!(c.fault(pg(1), Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(c.fault(pg(0), Access::Read), Ok(()));
    assert_eq!(c.fault(pg(9), Access::Read), Ok(()));
    assert_layout(
        &c,
        "0-4 rw-p [rd wr mr mw me gu ac]\n8-12 rw-p [rd wr mr mw me gu ac wf]",
    );
    assert_eq!(m.fault(pg(9), Access::Read), Err(Signal::SegvMaperr));
}

#[test]
fn markers_survive_dontneed_free_and_mprotect_but_not_munmap() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    m.madvise(pg(2), 2 * P, MADV_GUARD_INSTALL).unwrap();
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_DONTNEED), Ok(()));
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_FREE), Ok(()));
    assert_eq!(m.fault(pg(2), Access::Write), Err(Signal::SegvMaperr));
    assert_eq!(m.mprotect(pg(0), 3 * P, PROT_READ), Ok(()));
    assert_layout(
        &m,
        "0-3 r--p [rd mr mw me gu ac]\n3-8 rw-p [rd wr mr mw me gu ac]",
    );
    assert_eq!(m.fault(pg(2), Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(m.fault(pg(3), Access::Read), Err(Signal::SegvMaperr));
    m.munmap(pg(0), 4 * P).unwrap();
    assert!(m.guards().is_empty());
    map(&mut m, 0, 4, RW);
    assert_eq!(m.fault(pg(2), Access::Read), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me gu ac]");
}

#[test]
fn map_fixed_over_markers_drops_them() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.madvise(pg(0), 4 * P, MADV_GUARD_INSTALL).unwrap();
    map(&mut m, 1, 2, PROT_READ);
    assert_eq!(
        m.guards().iter().collect::<Vec<_>>(),
        vec![(pg(0), pg(1)), (pg(3), pg(4))]
    );
    assert_eq!(m.fault(pg(1), Access::Read), Ok(()));
    layout(&m);
}

#[test]
fn locked_vmas_refuse_install_but_allow_remove() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.madvise(pg(1), P, MADV_GUARD_INSTALL).unwrap();
    assert_eq!(m.mlock(pg(0), 4 * P), Err(Errno::ENOMEM));
    assert_layout(&m, "0-4 rw-p [rd wr mr mw me gu lo ac]");
    assert_eq!(m.stats().locked_vm, 4);
    assert_eq!(m.fault(pg(1), Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(m.madvise(pg(2), P, MADV_GUARD_INSTALL), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_GUARD_REMOVE), Ok(()));
    assert_eq!(m.fault(pg(1), Access::Read), Ok(()));
    m.munlock(pg(0), 4 * P).unwrap();
    assert_eq!(m.mlock2(pg(0), 4 * P, MLOCK_ONFAULT), Ok(()));
    assert_eq!(
        m.madvise(pg(0), 4 * P, MADV_GUARD_INSTALL),
        Err(Errno::EINVAL)
    );
}

#[test]
fn file_shared_and_droppable_memory_take_guards() {
    let mut m = mm();
    let f = memfd(4, true);
    m.mmap(pg(0), 4 * P, RW, MAP_SHARED | MAP_FIXED, Some(&f), 0)
        .unwrap();
    assert_eq!(m.madvise(pg(0), 2 * P, MADV_GUARD_INSTALL), Ok(()));
    assert_eq!(m.fault(pg(0), Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(m.fault(pg(2), Access::Read), Ok(()));
    m.mmap(
        pg(4),
        4 * P,
        PROT_READ,
        MAP_PRIVATE | MAP_FIXED,
        Some(&f),
        0,
    )
    .unwrap();
    assert_eq!(m.madvise(pg(5), P, MADV_GUARD_INSTALL), Ok(()));
    assert!(m.get(m.vma_at(pg(4)).unwrap()).unwrap().anon_vma.is_none());
    m.mmap(
        pg(8),
        2 * P,
        RW,
        MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED,
        None,
        0,
    )
    .unwrap();
    assert_eq!(m.madvise(pg(8), P, MADV_GUARD_INSTALL), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-s [rd wr sh mr mw me ms gu]
         4-8 r--p [rd mr mw me gu]
         8-10 rw-p [rd wr mr mw me gu nr wf dd dp]",
    );
    assert_eq!(m.madvise(pg(0), 10 * P, MADV_GUARD_REMOVE), Ok(()));
    assert!(m.guards().is_empty());
}

#[test]
fn protection_is_checked_before_the_marker() {
    let mut m = mm();
    map(&mut m, 0, 4, PROT_NONE);
    assert_eq!(m.madvise(pg(0), 2 * P, MADV_GUARD_INSTALL), Ok(()));
    assert_layout(&m, "0-4 ---p [mr mw me gu]");
    assert_eq!(m.fault(pg(0), Access::Read), Err(Signal::SegvAccerr));
    m.mprotect(pg(0), 4 * P, PROT_READ).unwrap();
    assert_eq!(m.fault(pg(0), Access::Read), Err(Signal::SegvMaperr));
    assert_eq!(m.fault(pg(2), Access::Read), Ok(()));
}

#[test]
fn sealed_read_only_anon_refuses_install() {
    let mut m = mm();
    map(&mut m, 0, 4, PROT_READ);
    m.mseal(pg(0), 4 * P, 0).unwrap();
    assert_eq!(m.madvise(pg(0), P, MADV_GUARD_INSTALL), Err(Errno::EPERM));
    assert_eq!(m.madvise(pg(0), P, MADV_GUARD_REMOVE), Ok(()));
}

#[test]
fn markers_move_with_a_relocated_stack() {
    // exec's stack move carries page tables, markers included: the
    // markers land `shift` lower, none stays behind in the vacated range.
    for shift in [2, 8] {
        let mut m = mm();
        map(&mut m, 16, 4, RW);
        assert_eq!(m.madvise(pg(17), P, MADV_GUARD_INSTALL), Ok(()));
        assert_eq!(m.relocate_stack(pg(16), shift * P), Ok(()));
        let at = 16 - shift;
        assert_layout(&m, &format!("{at}-{} rw-p [rd wr mr mw me gu ac]", at + 4));
        assert_eq!(m.fault(pg(at + 1), Access::Read), Err(Signal::SegvMaperr));
        assert_eq!(m.fault(pg(at), Access::Read), Ok(()));
        assert_eq!(m.fault(pg(at + 2), Access::Read), Ok(()));
    }
}
