//! Ported from the kernel's `tools/testing/vma/tests/vma.c` (`copy_vma`; the
//! `vma_flags_t` bitmap tests there test a kernel data type this crate does
//! not have: `VmFlags` is one 64-bit word, tested in `flags.rs`).

use super::fixture::{Ctx, F};
use super::Failure;
use crate::config::DontunmapBesideSource::Merges;

pub(crate) fn copy_vma() -> Result<(), Failure> {
    let mut t = Ctx::new();

    //    VV  -> NN VV: copied backwards, no merge.
    let vma = t.alloc_and_link(0x3000, 0x5000, 3, F)?;
    let copied = t.mm.core().copy_vma(vma, (0, 0x2000), 0, Merges);
    t.validate()?;
    check!(copied.is_some());
    let new = copied.unwrap().new;
    check!(new != vma);
    check_eq!(
        (t.vma(new).start, t.vma(new).end, t.vma(new).pgoff),
        (0, 0x2000, 0)
    );
    check_eq!(t.cleanup()?, 2);

    // VV    NN -> VV  NNNN: copied next to N, merged into it.
    let vma = t.alloc_and_link(0, 0x2000, 0, F)?;
    let next = t.alloc_and_link(0x6000, 0x8000, 6, F)?;
    let copied = t.mm.core().copy_vma(vma, (0x4000, 0x2000), 4, Merges);
    t.validate()?;
    check_eq!(copied.map(|c| c.new), Some(next));
    check_eq!(
        (t.vma(next).start, t.vma(next).end, t.vma(next).pgoff),
        (0x4000, 0x8000, 4)
    );
    t.cleanup()?;
    Ok(())
}
