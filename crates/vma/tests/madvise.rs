//! madvise(2) through the public API; every case mirrors a scenario in
//! scenarios/madvise/ that was checked against Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Errno, Signal};

#[test]
fn read_ahead_hints_split_and_merge() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    map(&mut m, 8, 4, PROT_READ);
    assert_eq!(m.madvise(pg(2), 8 * P, MADV_SEQUENTIAL), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-8 rw-p [rd wr mr mw me sr ac]
         8-10 r--p [rd mr mw me sr]
         10-12 r--p [rd mr mw me]",
    );
    assert_eq!(m.madvise(pg(4), 2 * P, MADV_RANDOM), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me sr ac]
         4-6 rw-p [rd wr mr mw me rr ac]
         6-8 rw-p [rd wr mr mw me sr ac]
         8-10 r--p [rd mr mw me sr]
         10-12 r--p [rd mr mw me]",
    );
    assert_eq!(m.madvise(pg(0), 12 * P, MADV_NORMAL), Ok(()));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me ac]\n8-12 r--p [rd mr mw me]");
}

#[test]
fn dontdump_and_dodump_on_anon_and_file() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    let f = memfd(4, true);
    m.mmap(pg(4), 4 * P, RW, MAP_SHARED | MAP_FIXED, Some(&f), 0)
        .unwrap();
    assert_eq!(m.madvise(pg(2), 4 * P, MADV_DONTDUMP), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me ac dd]
         4-6 rw-s [rd wr sh mr mw me ms dd]
         6-8 rw-s [rd wr sh mr mw me ms]",
    );
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_DODUMP), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-p [rd wr mr mw me ac]\n4-8 rw-s [rd wr sh mr mw me ms]",
    );
}

#[test]
fn hugepage_flags_replace_each_other() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_HUGEPAGE), Ok(()));
    assert_eq!(m.madvise(pg(2), 4 * P, MADV_NOHUGEPAGE), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac hg]
         2-6 rw-p [rd wr mr mw me ac nh]
         6-8 rw-p [rd wr mr mw me ac]",
    );
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_HUGEPAGE), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-p [rd wr mr mw me ac hg]
         4-6 rw-p [rd wr mr mw me ac nh]
         6-8 rw-p [rd wr mr mw me ac]",
    );
    m.fault(pg(4), Access::Write).unwrap();
    assert_eq!(m.madvise(pg(4), 2 * P, MADV_COLLAPSE), Err(Errno::EINVAL));
}

#[test]
fn collapse_needs_an_anon_vma_and_a_pmd() {
    let mut m = mm();
    map(&mut m, 0, 1024, RW);
    assert_eq!(m.madvise(pg(0), 512 * P, MADV_COLLAPSE), Err(Errno::EINVAL));
    m.fault(pg(0), Access::Write).unwrap();
    assert_eq!(m.madvise(pg(0), 512 * P, MADV_COLLAPSE), Ok(()));
    m.munmap(pg(512), 512 * P).unwrap();
    map(&mut m, 600, 8, RW);
    m.fault(pg(600), Access::Write).unwrap();
    assert_eq!(m.madvise(pg(600), 8 * P, MADV_COLLAPSE), Err(Errno::EINVAL));
    m.mmap(pg(700), 8 * P, RW, SHARED_ANON, None, 0).unwrap();
    assert_eq!(m.madvise(pg(700), 8 * P, MADV_COLLAPSE), Err(Errno::EINVAL));
    layout(&m);
}

#[test]
fn mergeable_ignores_shared_memory() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.mmap(pg(4), 4 * P, RW, SHARED_ANON, None, 0).unwrap();
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_MERGEABLE), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-p [rd wr mr mw me ac mg]\n4-8 rw-s [rd wr sh mr mw me ms]",
    );
    assert_eq!(m.madvise(pg(1), 2 * P, MADV_UNMERGEABLE), Ok(()));
    assert_layout(
        &m,
        "0-1 rw-p [rd wr mr mw me ac mg]
         1-3 rw-p [rd wr mr mw me ac]
         3-4 rw-p [rd wr mr mw me ac mg]
         4-8 rw-s [rd wr sh mr mw me ms]",
    );
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_UNMERGEABLE), Ok(()));
    assert_layout(
        &m,
        "0-4 rw-p [rd wr mr mw me ac]\n4-8 rw-s [rd wr sh mr mw me ms]",
    );
}

#[test]
fn droppable_memory_refuses_keeponfork_and_dodump() {
    let mut m = mm();
    m.mmap(
        pg(0),
        4 * P,
        RW,
        MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED,
        None,
        0,
    )
    .unwrap();
    assert_layout(&m, "0-4 rw-p [rd wr mr mw me nr wf dd dp]");
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_KEEPONFORK), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DODUMP), Err(Errno::EINVAL));
    assert_eq!(m.mlock(pg(0), 4 * P), Ok(()));
    assert_eq!(m.stats().locked_vm, 0);
    assert_eq!(m.madvise(pg(0), 2 * P, MADV_DONTFORK), Ok(()));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me dc nr wf dd dp]
         2-4 rw-p [rd wr mr mw me nr wf dd dp]",
    );
}

#[test]
fn page_advice_checks_the_vma() {
    let mut m = mm();
    let f = memfd(4, true);
    let ro = memfd(4, false);
    map(&mut m, 0, 4, RW);
    m.mlock(pg(0), 2 * P).unwrap();
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DONTNEED), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DONTNEED_LOCKED), Ok(()));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_COLD), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_PAGEOUT), Ok(()));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_FREE), Ok(()));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_WILLNEED), Ok(()));
    m.mmap(pg(4), 4 * P, RW, MAP_SHARED | MAP_FIXED, Some(&f), 0)
        .unwrap();
    assert_eq!(m.madvise(pg(4), 4 * P, MADV_FREE), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(4), 4 * P, MADV_REMOVE), Ok(()));
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_REMOVE), Err(Errno::EINVAL));
    m.mmap(pg(8), 4 * P, RW, MAP_PRIVATE | MAP_FIXED, Some(&f), 0)
        .unwrap();
    assert_eq!(m.madvise(pg(8), 4 * P, MADV_REMOVE), Err(Errno::EACCES));
    m.mmap(
        pg(12),
        4 * P,
        PROT_READ,
        MAP_SHARED | MAP_FIXED,
        Some(&ro),
        0,
    )
    .unwrap();
    assert_eq!(m.madvise(pg(12), 4 * P, MADV_REMOVE), Err(Errno::EACCES));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me lo ac]
         2-4 rw-p [rd wr mr mw me ac]
         4-8 rw-s [rd wr sh mr mw me ms]
         8-12 rw-p [rd wr mr mw me ac]
         12-16 r--s [rd mr me ms]",
    );
    assert_eq!(m.stats().locked_vm, 2);
}

#[test]
fn populate_stops_at_the_first_problem() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    map(&mut m, 4, 4, PROT_READ);
    map(&mut m, 8, 2, PROT_NONE);
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_POPULATE_WRITE), Ok(()));
    assert!(m.get(m.vma_at(pg(0)).unwrap()).unwrap().anon_vma.is_some());
    assert_eq!(
        m.madvise(pg(0), 8 * P, MADV_POPULATE_WRITE),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.madvise(pg(0), 8 * P, MADV_POPULATE_READ), Ok(()));
    assert!(m.get(m.vma_at(pg(4)).unwrap()).unwrap().anon_vma.is_none());
    assert_eq!(
        m.madvise(pg(8), 2 * P, MADV_POPULATE_READ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.madvise(pg(4), 8 * P, MADV_POPULATE_READ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        m.madvise(pg(10), 2 * P, MADV_POPULATE_READ),
        Err(Errno::ENOMEM)
    );
    m.madvise(pg(2), P, MADV_GUARD_INSTALL).unwrap();
    assert_eq!(
        m.madvise(pg(0), 4 * P, MADV_POPULATE_READ),
        Err(Errno::EFAULT)
    );
    assert_eq!(m.madvise(pg(3), P, MADV_POPULATE_WRITE), Ok(()));
    layout(&m);
}

#[test]
fn a_vma_error_stops_the_walk_a_hole_does_not() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.mmap(pg(4), 4 * P, RW, SHARED_ANON, None, 0).unwrap();
    map(&mut m, 8, 4, PROT_READ);
    assert_eq!(m.madvise(pg(2), 8 * P, MADV_WIPEONFORK), Err(Errno::EINVAL));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me ac wf]
         4-8 rw-s [rd wr sh mr mw me ms]
         8-12 r--p [rd mr mw me]",
    );
    m.munmap(pg(5), P).unwrap();
    assert_eq!(m.madvise(pg(2), 8 * P, MADV_DONTFORK), Err(Errno::ENOMEM));
    assert_layout(
        &m,
        "0-2 rw-p [rd wr mr mw me ac]
         2-4 rw-p [rd wr mr mw me dc ac wf]
         4-5 rw-s [rd wr sh mr mw me ms dc]
         6-8 rw-s [rd wr sh mr mw me ms dc]
         8-10 r--p [rd mr mw me dc]
         10-12 r--p [rd mr mw me]",
    );
}

#[test]
fn range_checks_come_in_the_kernel_order() {
    let mut m = mm();
    assert_eq!(m.madvise(pg(0), 0, 999), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(0) + 1, 0, MADV_NORMAL), Err(Errno::EINVAL));
    assert_eq!(
        m.madvise(0xffff_ffff_ffff_f000, 0x2000, MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.madvise(pg(0), u64::MAX, MADV_NORMAL), Err(Errno::EINVAL));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_NORMAL), Err(Errno::ENOMEM));
    assert_eq!(m.madvise(pg(0), 4 * P, MADV_DONTNEED), Err(Errno::ENOMEM));
    assert_eq!(m.madvise(pg(0), 0, MADV_DONTNEED), Ok(()));
    assert_eq!(m.madvise(pg(0), P, MADV_HWPOISON), Err(Errno::EPERM));
}

#[test]
fn map_count_limit_is_eagain() {
    let mut m = mm();
    map(&mut m, 0, 8, RW);
    m.config.max_map_count = 1;
    assert_eq!(m.madvise(pg(2), 2 * P, MADV_DONTFORK), Err(Errno::EAGAIN));
    assert_layout(&m, "0-8 rw-p [rd wr mr mw me ac]");
}

#[test]
fn options_off_make_advice_invalid() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    m.config.ksm = false;
    m.config.transparent_hugepage = false;
    m.config.version = vma::config::KernelVersion(6, 12, 0);
    for advice in [
        MADV_MERGEABLE,
        MADV_HUGEPAGE,
        MADV_COLLAPSE,
        MADV_GUARD_INSTALL,
    ] {
        assert_eq!(m.madvise(pg(0), P, advice), Err(Errno::EINVAL));
    }
    assert_eq!(m.fault(pg(0), Access::Read), Ok(()));
    let _ = Signal::SegvMaperr;
}
