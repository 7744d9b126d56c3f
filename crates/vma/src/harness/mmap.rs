//! Ported from the kernel's `tools/testing/vma/tests/mmap.c`.

use super::fixture::{Ctx, F};
use super::Failure;

pub(crate) fn mmap_region_basic() -> Result<(), Failure> {
    let mut t = Ctx::new();
    for (addr, pgoff) in [
        (0x300000u64, 0x300u64),
        (0x250000, 0x250),
        (0x303000, 0x303),
        (0x24d000, 0x24d),
    ] {
        let got = ok!(t.mm.core().mmap_region(None, addr, 0x3000, F, pgoff));
        t.validate()?;
        check_eq!(got, addr);
    }
    check_eq!(t.mm.map_count(), 2);
    for (_, vma) in t.mm.vmas() {
        match vma.start {
            0x300000 => check_eq!((vma.end, vma.pgoff), (0x306000, 0x300)),
            0x24d000 => check_eq!((vma.end, vma.pgoff), (0x253000, 0x24d)),
            other => check_eq!(other, u64::MAX),
        }
    }
    t.cleanup()?;
    Ok(())
}

/// Two mappings with a three-page hole between them, then a mapping that
/// fills the hole exactly: with the same flags all three become one VMA,
/// with one flag more (`VM_EXEC`) the filler stays apart from both.
fn mmap_region_fill_hole(merge: bool) -> Result<(), Failure> {
    let mut t = Ctx::new();
    let flags = F | crate::VmFlags::MAYEXEC;
    let middle = if merge {
        flags
    } else {
        flags | crate::VmFlags::EXEC
    };
    for (addr, pgoff) in [(0x300000u64, 0x300u64), (0x306000, 0x306)] {
        let got = ok!(t.mm.core().mmap_region(None, addr, 0x3000, flags, pgoff));
        t.validate()?;
        check_eq!(got, addr);
    }
    check_eq!(t.mm.map_count(), 2);
    check!(t.mm.find_vma_intersection(0x303000, 0x306000).is_none());
    let got = ok!(t
        .mm
        .core()
        .mmap_region(None, 0x303000, 0x3000, middle, 0x303));
    t.validate()?;
    check_eq!(got, 0x303000);
    check_eq!(t.mm.map_count(), if merge { 1 } else { 3 });
    let vmas: alloc::vec::Vec<(u64, u64, u64)> =
        t.mm.vmas()
            .map(|(_, v)| (v.start, v.end, v.pgoff))
            .collect();
    if merge {
        check_eq!(vmas, [(0x300000, 0x309000, 0x300)]);
    } else {
        check_eq!(
            vmas,
            [
                (0x300000, 0x303000, 0x300),
                (0x303000, 0x306000, 0x303),
                (0x306000, 0x309000, 0x306)
            ]
        );
    }
    t.cleanup()?;
    Ok(())
}

pub(crate) fn mmap_region_fill_hole_merge() -> Result<(), Failure> {
    mmap_region_fill_hole(true)
}

pub(crate) fn mmap_region_fill_hole_no_merge() -> Result<(), Failure> {
    mmap_region_fill_hole(false)
}
