//! Which pages of a private file mapping hold the process's own copy: a
//! write fault copies the file page, whether a touch or a populate made
//! it; read faults and shared mappings never copy.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Mm};

const PRIVATE: u32 = MAP_PRIVATE | MAP_FIXED;

fn copies(m: &Mm) -> Vec<u64> {
    m.pages().private_copies().map(|a| (a - BASE) / P).collect()
}

#[test]
fn populate_of_private_writable_memory_copies_pages() {
    let f = memfd(8, true);
    let mut m = mm();
    let populate = PRIVATE | MAP_POPULATE;
    assert_eq!(m.mmap(pg(0), 2 * P, RW, populate, Some(&f), 0), Ok(pg(0)));
    assert_eq!(
        m.mmap(pg(4), P, PROT_READ, populate, Some(&f), 0),
        Ok(pg(4))
    );
    assert_eq!(
        m.mmap(
            pg(6),
            P,
            RW,
            MAP_SHARED | MAP_FIXED | MAP_POPULATE,
            Some(&f),
            0
        ),
        Ok(pg(6))
    );
    assert_eq!(copies(&m), [0, 1]);
    assert!(m.pages().is_mapped(pg(4)) && !m.pages().is_private_copy(pg(4)));
    assert!(m.pages().is_mapped(pg(6)) && !m.pages().is_private_copy(pg(6)));
}

#[test]
fn every_populate_path_copies() {
    let f = memfd(8, true);
    let mut m = mm();
    assert_eq!(
        m.mmap(pg(0), P, RW, PRIVATE | MAP_LOCKED, Some(&f), 0),
        Ok(pg(0))
    );
    assert_eq!(m.mmap(pg(2), P, RW, PRIVATE, Some(&f), 0), Ok(pg(2)));
    assert_eq!(m.madvise(pg(2), P, MADV_POPULATE_WRITE), Ok(()));
    assert_eq!(m.mmap(pg(4), P, RW, PRIVATE, Some(&f), 0), Ok(pg(4)));
    assert_eq!(m.mlock(pg(4), P), Ok(()));
    assert_eq!(m.mmap(pg(6), P, RW, PRIVATE, Some(&f), 0), Ok(pg(6)));
    assert_eq!(m.madvise(pg(6), P, MADV_POPULATE_READ), Ok(()));
    assert_eq!(copies(&m), [0, 2, 4]);
    m.validate().expect("invariants hold");
}

#[test]
fn copies_follow_touches_unmaps_and_moves() {
    let f = memfd(8, true);
    let mut m = mm();
    assert_eq!(m.mmap(pg(0), 4 * P, RW, PRIVATE, Some(&f), 0), Ok(pg(0)));
    assert_eq!(m.fault(pg(1), Access::Read), Ok(()));
    assert_eq!(m.fault(pg(2), Access::Write), Ok(()));
    assert_eq!(m.fault(pg(3), Access::Write), Ok(()));
    assert_eq!(copies(&m), [2, 3]);
    assert_eq!(m.madvise(pg(3), P, MADV_DONTNEED), Ok(()));
    assert_eq!(copies(&m), [2]);
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, flags, pg(10)), Ok(pg(10)));
    assert_eq!(copies(&m), [12]);
    assert_eq!(m.munmap(pg(12), P), Ok(()));
    assert!(copies(&m).is_empty());
    m.validate().expect("invariants hold");
}
