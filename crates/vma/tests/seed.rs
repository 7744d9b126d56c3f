//! Seeding an address space from a snapshot of a real process, and
//! reporting faults the model could not see.

mod common;
use common::*;
use vma::sys::consts::*;
use vma::{Errno, SeedProcess, SeedVma, VmFlags};

fn seed_vma(start: u64, end: u64, flags: VmFlags, faulted: bool) -> SeedVma {
    SeedVma {
        start: pg(start),
        end: pg(end),
        pgoff: (pg(start)) / P,
        flags,
        file: None,
        faulted,
    }
}

fn rw_private() -> VmFlags {
    VmFlags::READ
        | VmFlags::WRITE
        | VmFlags::MAYREAD
        | VmFlags::MAYWRITE
        | VmFlags::MAYEXEC
        | VmFlags::ACCOUNT
}

#[test]
fn a_seeded_address_space_is_kept_as_given_and_behaves_normally() {
    let mut m = mm();
    let vmas = [
        seed_vma(0, 4, rw_private(), true),
        seed_vma(4, 8, rw_private(), false),
    ];
    let heap = SeedProcess {
        start_brk: pg(0),
        brk: pg(4),
        ..SeedProcess::default()
    };
    assert_eq!(m.seed(&vmas, heap), Ok(()));
    // Not merged: seeding keeps the snapshot's boundaries.
    assert_eq!(m.map_count(), 2);
    assert_eq!(m.stats().total_vm, 8);
    assert_eq!(m.stats().committed, 8);
    assert_eq!(m.maps().0[0].name, "[heap]");
    // A call that modifies both merges them as the kernel would (an
    // unfaulted VMA merges with a faulted neighbour since 6.16).
    assert_eq!(m.mprotect(pg(0), 8 * P, RW | PROT_EXEC), Ok(()));
    assert_eq!(m.map_count(), 1);
    m.validate().expect("invariants");
}

#[test]
fn bad_snapshots_are_refused() {
    let mut m = mm();
    let overlap = [
        seed_vma(0, 4, rw_private(), false),
        seed_vma(3, 8, rw_private(), false),
    ];
    assert_eq!(m.seed(&overlap, SeedProcess::default()), Err(Errno::EINVAL));
    let mut unaligned = seed_vma(0, 4, rw_private(), false);
    unaligned.end += 1;
    assert_eq!(
        m.seed(&[unaligned], SeedProcess::default()),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.map_count(), 0);
    map(&mut m, 0, 1, RW);
    let one = [seed_vma(8, 9, rw_private(), false)];
    assert_eq!(m.seed(&one, SeedProcess::default()), Err(Errno::EBUSY));
}

#[test]
fn an_unseen_fault_gives_the_vma_its_anon_vma() {
    let mut m = mm();
    assert_eq!(
        m.seed(
            &[seed_vma(0, 4, rw_private(), false)],
            SeedProcess::default()
        ),
        Ok(())
    );
    let id = m.vma_at(pg(1)).unwrap();
    assert!(m.get(id).unwrap().anon_vma.is_none());
    assert_eq!(m.note_anon_fault(pg(1)), Ok(()));
    assert!(m.get(id).unwrap().anon_vma.is_some());
    assert_eq!(m.note_anon_fault(pg(9)), Err(Errno::EFAULT));
    m.validate().expect("invariants");
}

#[test]
fn a_seeded_locked_vma_is_counted_once() {
    let mut m = mm();
    let vmas = [seed_vma(0, 4, rw_private() | VmFlags::LOCKED, true)];
    assert_eq!(m.seed(&vmas, SeedProcess::default()), Ok(()));
    assert_eq!(m.stats().locked_vm, 4);
    m.validate().unwrap();
}
