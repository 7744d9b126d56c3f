//! Faults that change merge decisions; mirrors scenarios/fault/, checked
//! on Linux 6.18.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Access, Errno, Signal};

const PRIVATE_FILE: u32 = MAP_PRIVATE | MAP_FIXED;

/// A private write past EOF ends in SIGBUS after do_cow_fault prepared
/// the anon_vma: the tail then differs from its locked neighbour's.
#[test]
fn cow_past_eof_prepares_anon_vma_before_sigbus() {
    let mut m = mm();
    let ro = memfd(4, false);
    m.mmap(pg(7), 7 * P, RW, PRIVATE_FILE, Some(&ro), P)
        .unwrap();
    assert_eq!(m.mlock(pg(8), 5 * P), Err(Errno::ENOMEM));
    assert_eq!(m.fault(pg(13), Access::Write), Err(Signal::Bus));
    m.munlockall().unwrap();
    assert_layout(
        &m,
        "7-13 rw-p [rd wr mr mw me ac]
         13-14 rw-p [rd wr mr mw me ac]",
    );
}

/// The same anon_vma, inherited as separate ones by the child's pieces,
/// keeps them apart after fork.
#[test]
fn cow_past_eof_anon_vma_keeps_child_pieces_apart() {
    let mut m = mm();
    let ro = memfd(4, false);
    m.mmap(pg(23), 8 * P, RW, PRIVATE_FILE, Some(&ro), 2 * P)
        .unwrap();
    assert_eq!(m.fault(pg(27), Access::Write), Err(Signal::Bus));
    m.mprotect(pg(24), 7 * P, PROT_NONE).unwrap();
    let mut child = m.fork().unwrap();
    child
        .mprotect(pg(23), 7 * P, PROT_READ | PROT_EXEC)
        .unwrap();
    assert_layout(
        &child,
        "23-24 r-xp [rd ex mr mw me ac]
         24-30 r-xp [rd ex mr mw me ac]
         30-31 ---p [mr mw me ac]",
    );
}

/// A read past EOF prepares nothing: the pieces merge back.
#[test]
fn read_past_eof_leaves_no_anon_vma() {
    let mut m = mm();
    let ro = memfd(4, false);
    m.mmap(pg(0), 8 * P, RW, PRIVATE_FILE, Some(&ro), 0)
        .unwrap();
    assert_eq!(m.fault(pg(6), Access::Read), Err(Signal::Bus));
    m.mprotect(pg(2), 2 * P, PROT_READ).unwrap();
    let mut child = m.fork().unwrap();
    child.mprotect(pg(2), 2 * P, RW).unwrap();
    assert_layout(&child, "0-8 rw-p [rd wr mr mw me ac]");
}
