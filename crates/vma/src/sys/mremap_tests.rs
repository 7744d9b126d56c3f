//! mremap cases that need VMA states the public API cannot make yet
//! (sealed, `VM_DONTEXPAND`, `VM_PFNMAP`, `VM_IO`, userfaultfd-registered):
//! the flags are set directly, as the kernel's userland tests do.

use super::consts::*;
use crate::config::{Config, PAGE_SIZE as P};
use crate::errno::Errno;
use crate::flags::VmFlags;
use crate::mm::Mm;
use crate::vma::UffdCtx;
use alloc::vec::Vec;

const BASE: u64 = 0x1000_0000_0000;
const RW: u32 = PROT_READ | PROT_WRITE;
const MOVE: u32 = MREMAP_MAYMOVE | MREMAP_FIXED;

fn pg(n: u64) -> u64 {
    BASE + n * P
}

fn map(m: &mut Mm, start: u64, pages: u64, prot: u32) {
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    assert_eq!(
        m.mmap(pg(start), pages * P, prot, flags, None, 0),
        Ok(pg(start))
    );
}

fn set_flags(m: &mut Mm, page: u64, flags: VmFlags) {
    let id = m.vma_at(pg(page)).unwrap();
    m.vma_mut(id).flags |= flags;
}

/// `(start page, end page, flags)` of every VMA, after validating.
fn ranges(m: &Mm) -> Vec<(u64, u64, VmFlags)> {
    m.validate().unwrap();
    m.vmas()
        .map(|(_, v)| ((v.start - BASE) / P, (v.end - BASE) / P, v.flags))
        .collect()
}

#[test]
fn sealed_vma_refuses_every_mremap() {
    let mut m = Mm::new(Config::default());
    map(&mut m, 0, 4, RW);
    set_flags(&mut m, 0, VmFlags::SEALED);
    let before = ranges(&m);
    for (old, new, flags, to) in [
        (4 * P, 4 * P, 0, 0),
        (4 * P, 2 * P, 0, 0),
        (4 * P, 8 * P, MREMAP_MAYMOVE, 0),
        (4 * P, 4 * P, MOVE, pg(16)),
        (4 * P, 4 * P, MOVE | MREMAP_DONTUNMAP, pg(16)),
    ] {
        assert_eq!(m.mremap(pg(0), old, new, flags, to), Err(Errno::EPERM));
        assert_eq!(ranges(&m), before);
    }
}

#[test]
fn sealed_destination_refuses_the_fixed_unmap() {
    let mut m = Mm::new(Config::default());
    map(&mut m, 0, 4, RW);
    map(&mut m, 10, 4, PROT_READ);
    set_flags(&mut m, 10, VmFlags::SEALED);
    let before = ranges(&m);
    assert_eq!(
        m.mremap(pg(0), 4 * P, 4 * P, MOVE, pg(8)),
        Err(Errno::EPERM)
    );
    assert_eq!(ranges(&m), before);
}

#[test]
fn multi_vma_move_stops_at_a_sealed_vma() {
    let mut m = Mm::new(Config::default());
    map(&mut m, 80, 2, RW);
    map(&mut m, 82, 2, PROT_READ);
    set_flags(&mut m, 82, VmFlags::SEALED);
    assert_eq!(
        m.mremap(pg(80), 4 * P, 4 * P, MOVE, pg(100)),
        Err(Errno::EPERM)
    );
    let r = ranges(&m);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].0, r[0].1), (82, 84));
    assert_eq!((r[1].0, r[1].1), (100, 102));
}

#[test]
fn dontexpand_and_pfnmap_cannot_grow_or_stay() {
    for flag in [VmFlags::DONTEXPAND, VmFlags::PFNMAP] {
        let mut m = Mm::new(Config::default());
        map(&mut m, 0, 4, RW);
        set_flags(&mut m, 0, flag);
        assert_eq!(m.mremap(pg(0), 4 * P, 8 * P, 0, 0), Err(Errno::EFAULT));
        assert_eq!(
            m.mremap(pg(0), 4 * P, 8 * P, MOVE, pg(16)),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            m.mremap(pg(0), 4 * P, 4 * P, MOVE | MREMAP_DONTUNMAP, pg(16)),
            Err(Errno::EINVAL)
        );
        // Moving or shrinking is allowed.
        assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, MOVE, pg(16)), Ok(pg(16)));
        assert_eq!(m.mremap(pg(16), 4 * P, 2 * P, 0, 0), Ok(pg(16)));
        let r = ranges(&m);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].0, r[0].1), (16, 18));
        assert!(r[0].2.contains(flag));
    }
}

#[test]
fn io_mapping_cannot_grow_in_place_nor_fall_back_to_a_move() {
    let mut m = Mm::new(Config::default());
    map(&mut m, 0, 4, RW);
    set_flags(&mut m, 0, VmFlags::IO);
    // The merge that extends the VMA refuses special mappings.
    assert_eq!(
        m.mremap(pg(0), 4 * P, 8 * P, MREMAP_MAYMOVE, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(m.stats().committed, 4);
    assert_eq!(ranges(&m).len(), 1);
}

fn register_uffd(m: &mut Mm, page: u64) {
    let id = m.vma_at(pg(page)).unwrap();
    let v = m.vma_mut(id);
    v.flags |= VmFlags::UFFD_MISSING;
    v.uffd_ctx = Some(UffdCtx(1));
}

#[test]
fn moved_vma_loses_its_userfaultfd_registration() {
    let mut m = Mm::new(Config::default());
    map(&mut m, 4, 4, PROT_READ);
    register_uffd(&mut m, 4);
    assert_eq!(m.mremap(pg(4), 4 * P, 4 * P, MOVE, pg(60)), Ok(pg(60)));
    let id = m.vma_at(pg(60)).unwrap();
    assert!(!m.vma(id).flags.intersects(VmFlags::UFFD_FLAGS));
    assert_eq!(m.vma(id).uffd_ctx, None);
    // With MREMAP_DONTUNMAP the source keeps it.
    register_uffd(&mut m, 60);
    let flags = MOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(60), 4 * P, 4 * P, flags, pg(70)), Ok(pg(70)));
    let src = m.vma_at(pg(60)).unwrap();
    let dst = m.vma_at(pg(70)).unwrap();
    assert!(m.vma(src).flags.contains(VmFlags::UFFD_MISSING));
    assert!(!m.vma(dst).flags.contains(VmFlags::UFFD_MISSING));
    m.validate().unwrap();
}

#[test]
fn userfaultfd_vma_moves_only_alone() {
    let mut m = Mm::new(Config::default());
    map(&mut m, 0, 4, RW);
    map(&mut m, 4, 4, PROT_READ);
    register_uffd(&mut m, 4);
    // Second in the range: the first has moved when the move stops.
    assert_eq!(
        m.mremap(pg(0), 8 * P, 8 * P, MOVE, pg(40)),
        Err(Errno::EFAULT)
    );
    let r = ranges(&m);
    assert_eq!(
        r.iter().map(|v| (v.0, v.1)).collect::<Vec<_>>(),
        [(4, 8), (40, 44)]
    );
    let before = ranges(&m);
    // First, with more after it, or with the range ending in a hole after
    // it: refused before anything moves.
    map(&mut m, 8, 4, RW);
    let with_next = ranges(&m);
    assert_eq!(
        m.mremap(pg(4), 8 * P, 8 * P, MOVE, pg(60)),
        Err(Errno::EFAULT)
    );
    assert_eq!(ranges(&m), with_next);
    m.munmap(pg(8), 4 * P).unwrap();
    assert_eq!(
        m.mremap(pg(4), 6 * P, 6 * P, MOVE, pg(60)),
        Err(Errno::EFAULT)
    );
    assert_eq!(ranges(&m), before);
    assert_eq!(m.mremap(pg(4), 4 * P, 4 * P, MOVE, pg(60)), Ok(pg(60)));
}

#[test]
fn dontunmap_leaves_the_unlocked_source_counted_and_validate_knows() {
    let mut m = Mm::new(Config::default());
    m.config.cap_ipc_lock = true;
    map(&mut m, 0, 4, RW);
    m.mlock(pg(0), 4 * P).unwrap();
    let flags = MOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(0), 4 * P, 4 * P, flags, pg(8)), Ok(pg(8)));
    // Source unlocked, destination locked, both counted.
    assert_eq!(m.stats().locked_vm, 8);
    m.validate().unwrap();
    // validate recounts locked_vm: a counter off by one page is caught.
    m.set.add_locked(-1);
    assert!(m.validate().is_err());
}

#[test]
fn dontunmap_of_part_of_a_locked_vma_after_7_0_leaves_the_part_counted() {
    let mut m = Mm::new(Config {
        version: crate::config::KernelVersion(7, 2, 0),
        cap_ipc_lock: true,
        ..Config::default()
    });
    map(&mut m, 0, 4, RW);
    m.mlock(pg(0), 4 * P).unwrap();
    let flags = MOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(pg(1), 2 * P, 2 * P, flags, pg(8)), Ok(pg(8)));
    // [1, 3) unlocked but counted; [0, 1), [3, 4) and the copy locked.
    assert_eq!(m.stats().locked_vm, 6);
    m.validate().unwrap();
}
