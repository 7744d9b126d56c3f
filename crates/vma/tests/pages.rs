//! Page presence: kept as ranges (populating terabytes is one insertion),
//! fault-around, and what reclaim advice settles and leaves open;
//! mirrors scenarios/uffd/ and scenarios/madvise/, checked on Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Signal, UffdCtx};

const C: UffdCtx = UffdCtx(1);

/// MAP_POPULATE of 2^32 pages (16 TiB of zero pages) is one range: the
/// model answers at once and holds one entry, not four billion.
#[test]
fn populating_four_billion_pages_is_one_range() {
    let mut m = mm();
    let len = (1u64 << 32) * P;
    let flags = ANON | MAP_POPULATE | MAP_NORESERVE;
    assert_eq!(m.mmap(pg(0), len, PROT_READ, flags, None, 0), Ok(pg(0)));
    assert_eq!(m.pages().mapped().iter().count(), 1);
    assert!(m.pages().is_mapped(pg(0)) && m.pages().is_mapped(pg(0) + len - P));
    assert_eq!(
        m.madvise(pg(0), len, MADV_POPULATE_WRITE),
        Err(vma::Errno::EINVAL)
    );
    m.mprotect(pg(0), len, RW).unwrap();
    assert_eq!(m.madvise(pg(0), len, MADV_POPULATE_WRITE), Ok(()));
    assert_eq!(m.pages().mapped().iter().count(), 1);
    m.madvise(pg(1), P, MADV_DONTNEED).unwrap();
    assert_eq!(m.pages().mapped().iter().count(), 2);
}

/// A read fault on a shmem-backed VMA maps the cached pages of its
/// aligned 16-page block (do_fault_around): a later minor registration
/// sees them mapped; the next block's cached page still faults.
#[test]
fn fault_around_maps_the_cached_block() {
    let mut m = mm();
    let f = memfd(24, true);
    let shared = MAP_SHARED | MAP_FIXED;
    m.mmap(pg(0), 24 * P, RW, shared, Some(&f), 0).unwrap();
    for page in [1, 3, 17] {
        m.fault(pg(page), Access::Write).unwrap();
    }
    m.munmap(pg(0), 24 * P).unwrap();
    m.mmap(
        pg(0),
        24 * P,
        PROT_READ,
        MAP_PRIVATE | MAP_FIXED,
        Some(&f),
        0,
    )
    .unwrap();
    m.fault(pg(5), Access::Read).unwrap();
    m.uffd_register(C, pg(0), 24 * P, UFFDIO_REGISTER_MODE_MINOR)
        .unwrap();
    assert_eq!(m.fault(pg(1), Access::Read), Ok(()));
    assert_eq!(m.fault(pg(3), Access::Read), Ok(()));
    assert_eq!(m.fault(pg(17), Access::Read), Err(Signal::Bus));
    assert_eq!(m.fault(pg(8), Access::Read), Ok(()));
}

/// MADV_PAGEOUT frees droppable pages (not the zero page) and leaves
/// private anonymous ones alone; neither leaves anything undetermined.
#[test]
fn pageout_drops_droppable_pages_only() {
    let mut m = mm();
    let drop = MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED;
    m.mmap(pg(0), 4 * P, RW, drop, None, 0).unwrap();
    map(&mut m, 4, 4, RW);
    for page in [0, 4] {
        m.fault(pg(page), Access::Write).unwrap();
    }
    m.fault(pg(1), Access::Read).unwrap();
    m.madvise(pg(0), 8 * P, MADV_PAGEOUT).unwrap();
    assert!(!m.pages().is_mapped(pg(0)));
    assert!(m.pages().is_mapped(pg(1)) && m.pages().is_mapped(pg(4)));
    assert!(!m.take_undetermined());
}

/// Page-cache pages may or may not be unmapped by MADV_PAGEOUT: a
/// userfaultfd fault on them is undetermined, one elsewhere is not, and
/// an ordinary access settles them again.
#[test]
fn pageout_leaves_page_cache_pages_unsettled() {
    let mut m = mm();
    let f = memfd(8, true);
    m.mmap(pg(0), 8 * P, RW, MAP_SHARED | MAP_FIXED, Some(&f), 0)
        .unwrap();
    m.fault(pg(1), Access::Write).unwrap();
    m.fault(pg(2), Access::Write).unwrap();
    m.madvise(pg(0), 8 * P, MADV_PAGEOUT).unwrap();
    assert!(m.pages().unsettled_in(pg(1), pg(2)));
    m.fault(pg(2), Access::Read).unwrap();
    assert!(!m.pages().unsettled_in(pg(2), pg(3)));
    m.uffd_register(C, pg(0), 8 * P, UFFDIO_REGISTER_MODE_MINOR)
        .unwrap();
    m.take_undetermined();
    let _ = m.fault(pg(1), Access::Read);
    assert!(m.take_undetermined());
    assert_eq!(m.fault(pg(3), Access::Read), Ok(()));
    assert!(!m.take_undetermined());
    assert_eq!(m.fault(pg(2), Access::Read), Ok(()));
    assert!(!m.take_undetermined());
}

/// A populate for writing copies a private file mapping's pages, as a
/// write fault does; a discard drops the copies again.
#[test]
fn write_populate_copies_private_file_pages() {
    let mut m = mm();
    let f = memfd(8, true);
    let flags = MAP_PRIVATE | MAP_FIXED | MAP_POPULATE;
    m.mmap(pg(8), 4 * P, RW, flags, Some(&f), 3 * P).unwrap();
    let copied: Vec<(u64, u64)> = m.pages().copied().iter().collect();
    assert_eq!(copied, vec![(pg(8), pg(12))]);
    m.madvise(pg(9), P, MADV_DONTNEED).unwrap();
    assert!(!m.pages().copied().contains(pg(9)));
    m.fault(pg(9), Access::Read).unwrap();
    assert!(!m.pages().copied().contains(pg(9)));
    m.fault(pg(9), Access::Write).unwrap();
    assert!(m.pages().copied().contains(pg(9)));
}

/// A read past EOF raises SIGBUS after do_read_fault mapped the cached
/// pages around it.
#[test]
fn read_past_eof_faults_around_first() {
    let mut m = mm();
    let f = memfd(8, true);
    m.mmap(
        pg(0),
        8 * P,
        RW,
        MAP_PRIVATE | MAP_FIXED | MAP_POPULATE,
        Some(&f),
        0,
    )
    .unwrap();
    m.mmap(pg(17), 7 * P, RW, MAP_SHARED | MAP_FIXED, Some(&f), 6 * P)
        .unwrap();
    assert_eq!(m.fault(pg(21), Access::Read), Err(Signal::Bus));
    assert!(m.pages().is_mapped(pg(17)) && m.pages().is_mapped(pg(18)));
    m.uffd_register(C, pg(18), 3 * P, UFFDIO_REGISTER_MODE_MINOR)
        .unwrap();
    assert_eq!(m.fault(pg(18), Access::Read), Ok(()));
}

/// MADV_FREE makes exclusive anonymous pages lazily freeable: reclaim
/// advice discards them unless written since; pages shared with a fork
/// parent are left alone.
#[test]
fn pageout_discards_lazily_freed_pages() {
    let mut m = mm();
    map(&mut m, 0, 4, RW);
    for page in 0..3 {
        m.fault(pg(page), Access::Write).unwrap();
    }
    m.madvise(pg(0), 4 * P, MADV_FREE).unwrap();
    m.fault(pg(1), Access::Write).unwrap();
    m.madvise(pg(0), 4 * P, MADV_PAGEOUT).unwrap();
    assert!(!m.pages().is_mapped(pg(0)) && !m.pages().is_mapped(pg(2)));
    assert!(m.pages().is_mapped(pg(1)));

    map(&mut m, 8, 4, RW);
    m.fault(pg(8), Access::Write).unwrap();
    m.fault(pg(9), Access::Write).unwrap();
    let mut child = m.fork().unwrap();
    child.fault(pg(9), Access::Write).unwrap();
    child.madvise(pg(8), 4 * P, MADV_FREE).unwrap();
    child.madvise(pg(8), 4 * P, MADV_PAGEOUT).unwrap();
    assert!(child.pages().is_mapped(pg(8)));
    assert!(!child.pages().is_mapped(pg(9)));
}

/// The fault-around window starts at the VMA's start when that is later
/// than the aligned block's, and spans 16 pages from there; a populate's
/// read faults fault around too.
#[test]
fn fault_around_window_follows_the_vma_start() {
    let mut m = mm();
    let f = memfd(24, true);
    m.mmap(pg(0), 24 * P, RW, MAP_SHARED | MAP_FIXED, Some(&f), 0)
        .unwrap();
    for page in [1, 3, 5, 20] {
        m.fault(pg(page), Access::Write).unwrap();
    }
    m.munmap(pg(0), 24 * P).unwrap();
    let shared = MAP_SHARED | MAP_FIXED;
    m.mmap(pg(14), 6 * P, PROT_READ, shared, Some(&f), 0)
        .unwrap();
    m.fault(pg(14), Access::Read).unwrap();
    assert!(m.pages().is_mapped(pg(17)) && m.pages().is_mapped(pg(19)));
    m.mmap(pg(32), 24 * P, PROT_READ, shared, Some(&f), 0)
        .unwrap();
    m.madvise(pg(32), P, MADV_POPULATE_READ).unwrap();
    assert!(m.pages().is_mapped(pg(35)) && !m.pages().is_mapped(pg(52)));
}
