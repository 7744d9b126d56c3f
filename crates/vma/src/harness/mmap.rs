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
